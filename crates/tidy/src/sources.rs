//! Checks on the Rust sources as text: every module opens with a `//!` doc comment, no file is
//! over [`SOURCE_LINES_MAX`] lines, no SQL in a string literal outside `store`, no environment
//! read in a library's sources outside `smsbus`.
//!
//! The SQL and environment checks read string literals and code with comments taken out (a
//! small lexer, [`strip`]), so a doc comment that mentions `SELECT` or `env::var` is no
//! violation.

use std::path::{Path, PathBuf};

use crate::Violation;

/// No Rust source file (code, tests, examples) is longer than this.
pub const SOURCE_LINES_MAX: usize = 1_250;

/// Statement openings that make a string literal SQL (the project writes SQL in capitals).
const SQL_MARKERS: &[&str] = &[
    "SELECT ",
    "INSERT INTO ",
    "DELETE FROM ",
    "UPDATE ",
    "CREATE TABLE",
    "CREATE INDEX",
    "CREATE UNIQUE INDEX",
    "ALTER TABLE",
    "DROP TABLE",
];

/// Ways code reads the process environment at run time or at build time.
const ENV_READS: &[&str] = &[
    "env::var(",
    "env::var_os(",
    "env::vars(",
    "env::vars_os(",
    "option_env!(",
];

/// Every `.rs` file under `root`, skipping `target` folders and hidden ones, sorted.
pub fn rust_files(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    files_ending(root, ".rs")
}

/// Every file under `root` whose name ends with `suffix`, skipping `target`, `node_modules`
/// and hidden folders, sorted.
pub fn files_ending(root: &Path, suffix: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') || name == "target" || name == "node_modules" {
                continue;
            }
            if path.is_dir() {
                folders.push(path);
            } else if name.ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// A source file: its path relative to the checked root and its text.
pub struct Source {
    pub path: String,
    pub text: String,
}

/// Reads every Rust file under `root` (see [`rust_files`]).
pub fn read_tree(root: &Path) -> std::io::Result<Vec<Source>> {
    read_files(root, ".rs")
}

/// Reads every file under `root` whose name ends with `suffix` (see [`files_ending`]).
pub fn read_files(root: &Path, suffix: &str) -> std::io::Result<Vec<Source>> {
    files_ending(root, suffix)?
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)?;
            let relative = path.strip_prefix(root).unwrap_or(&path);
            Ok(Source {
                path: relative.to_string_lossy().replace('\\', "/"),
                text,
            })
        })
        .collect()
}

/// The first line that is not blank starts with `//!`.
pub fn check_module_docs(sources: &[Source]) -> Vec<Violation> {
    sources
        .iter()
        .filter(|s| {
            !s.text
                .lines()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.starts_with("//!"))
        })
        .map(|s| Violation::new(&s.path, "does not open with a `//!` doc comment"))
        .collect()
}

/// No file is longer than `lines_max` lines.
pub fn check_sizes(sources: &[Source], lines_max: usize) -> Vec<Violation> {
    sources
        .iter()
        .filter(|s| s.text.lines().count() > lines_max)
        .map(|s| {
            let lines = s.text.lines().count();
            Violation::new(
                &s.path,
                format!("has {lines} lines, over the {lines_max} allowed"),
            )
        })
        .collect()
}

/// No string literal holds SQL in a file under `crates/` outside `allowed` crate folders.
pub fn check_sql(sources: &[Source], allowed: &[&str]) -> Vec<Violation> {
    sources
        .iter()
        .filter(|s| !in_crates(&s.path, allowed))
        .filter_map(|s| {
            let (_, literals) = strip(&s.text);
            let sql = literals
                .iter()
                .find(|literal| SQL_MARKERS.iter().any(|marker| literal.contains(marker)))?;
            let head: String = sql.chars().take(40).collect();
            Some(Violation::new(
                &s.path,
                format!("holds SQL outside `store`: {head:?}"),
            ))
        })
        .collect()
}

/// No code in a library's `src/` outside `allowed` crate folders reads the environment (tests
/// and examples read their own settings).
pub fn check_env_reads(sources: &[Source], allowed: &[&str]) -> Vec<Violation> {
    let in_scope = |path: &str| path.split('/').nth(2) == Some("src") && !in_crates(path, allowed);
    check_code_absent(sources, in_scope, ENV_READS, "reads the environment")
}

/// Ways code reads the clock or the operating system's randomness.
pub const CLOCK_AND_RANDOM_READS: &[&str] = &["::now(", "thread_rng(", "OsRng", "getrandom("];

/// What code that makes a fixed UTC offset (a time zone of its own) writes.
pub const FIXED_OFFSETS: &[&str] = &["tz::offset(", "Offset::from_seconds(", "TimeZone::fixed("];

/// What code that opens a socket names.
pub const SOCKETS: &[&str] = &[
    "tokio::net",
    "std::net::TcpListener",
    "std::net::TcpStream",
    "std::net::UdpSocket",
    "TcpListener",
    "TcpStream",
    "UdpSocket",
];

/// What code that makes a type a serde wire type names.
pub const SERDE_DERIVES: &[&str] = &["Serialize", "Deserialize", "serde::", "serde_json"];

/// What code that measures the Earth itself writes: a radius (the mean 6371 km, the equatorial
/// 6378 km, with or without digit separators) or the arcsine of the haversine formula.
pub const EARTH_GEOMETRY: &[&str] = &["6371", "6_371", "6378", "6_378", ".asin()"];

/// The same in the web apps' JavaScript, where a diameter in kilometres (12742) is a radius too.
pub const EARTH_GEOMETRY_JS: &[&str] = &["6371", "6378", "12742", "12756", "Math.asin("];

/// No code (comments and literals aside) in the files `in_scope` picks holds one of `patterns`;
/// `what` names the absence for the message.
pub fn check_code_absent(
    sources: &[Source],
    in_scope: impl Fn(&str) -> bool,
    patterns: &[&str],
    what: &str,
) -> Vec<Violation> {
    check_absent(sources, in_scope, patterns, what, |text| strip(text).0)
}

/// No file `in_scope` picks holds one of `patterns` anywhere in its text (for sources the lexer
/// does not read, such as the web apps' JavaScript); `what` names the absence.
pub fn check_text_absent(
    sources: &[Source],
    in_scope: impl Fn(&str) -> bool,
    patterns: &[&str],
    what: &str,
) -> Vec<Violation> {
    check_absent(sources, in_scope, patterns, what, str::to_owned)
}

/// The first of `patterns` in the part of each file `in_scope` picks that `read` keeps.
fn check_absent(
    sources: &[Source],
    in_scope: impl Fn(&str) -> bool,
    patterns: &[&str],
    what: &str,
    read: impl Fn(&str) -> String,
) -> Vec<Violation> {
    sources
        .iter()
        .filter(|s| in_scope(&s.path))
        .filter_map(|s| {
            let kept = read(&s.text);
            let hit = patterns.iter().find(|p| kept.contains(**p))?;
            Some(Violation::new(&s.path, format!("{what} (`{hit}`)")))
        })
        .collect()
}

/// `needle` (a definition, e.g. `const EARTH_RADIUS_M`) appears in the code of exactly one
/// file: one concept, named once.
pub fn check_defined_once(sources: &[Source], needle: &str) -> Vec<Violation> {
    let places: Vec<&str> = sources
        .iter()
        .filter(|s| strip(&s.text).0.contains(needle))
        .map(|s| s.path.as_str())
        .collect();
    match places.as_slice() {
        [_] => Vec::new(),
        [] => vec![Violation::new(needle, "is defined nowhere")],
        many => vec![Violation::new(
            needle,
            format!("is defined in {}", many.join(", ")),
        )],
    }
}

/// `path` (relative to the workspace root, `crates/NAME/...`) is in one of `crates`.
fn in_crates(path: &str, crates: &[&str]) -> bool {
    let mut parts = path.split('/');
    parts.next() == Some("crates") && parts.next().is_some_and(|name| crates.contains(&name))
}

/// Splits Rust source into its code without comments and string literals, and the contents of
/// its string literals (plain, byte and raw). Char literals and lifetimes are told apart well
/// enough for the checks above.
pub fn strip(text: &str) -> (String, Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    let mut code = String::new();
    let mut literals = Vec::new();
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        let next = chars.get(at + 1).copied();
        if c == '/' && next == Some('/') {
            while chars.get(at).is_some_and(|c| *c != '\n') {
                at += 1;
            }
        } else if c == '/' && next == Some('*') {
            at = skip_block_comment(&chars, at);
        } else if c == 'r' && matches!(next, Some('"' | '#')) && raw_start(&chars, at + 1).is_some()
        {
            let (literal, end) = raw_literal(&chars, at + 1);
            literals.push(literal);
            code.push_str("\"\"");
            at = end;
        } else if c == '"' {
            let (literal, end) = plain_literal(&chars, at + 1);
            literals.push(literal);
            code.push_str("\"\"");
            at = end;
        } else if c == '\'' {
            // A char literal ('x', '\n', '"') is skipped; a lifetime ('a) is kept as code.
            let end = match (next, chars.get(at + 2)) {
                (Some('\\'), _) => chars
                    .iter()
                    .skip(at + 3)
                    .position(|c| *c == '\'')
                    .map(|p| at + 4 + p),
                (Some(_), Some('\'')) => Some(at + 3),
                _ => None,
            };
            match end {
                Some(end) => at = end,
                None => {
                    code.push(c);
                    at += 1;
                }
            }
        } else {
            code.push(c);
            at += 1;
        }
    }
    (code, literals)
}

fn skip_block_comment(chars: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    let mut at = start;
    while let Some(&c) = chars.get(at) {
        let next = chars.get(at + 1).copied();
        if c == '/' && next == Some('*') {
            depth += 1;
            at += 2;
        } else if c == '*' && next == Some('/') {
            depth = depth.saturating_sub(1);
            at += 2;
            if depth == 0 {
                return at;
            }
        } else {
            at += 1;
        }
    }
    at
}

/// The number of `#` of a raw string starting at `at` (just after the `r`), if it is one.
fn raw_start(chars: &[char], at: usize) -> Option<usize> {
    let hashes = chars.iter().skip(at).take_while(|c| **c == '#').count();
    (chars.get(at + hashes) == Some(&'"')).then_some(hashes)
}

fn raw_literal(chars: &[char], at: usize) -> (String, usize) {
    let hashes = raw_start(chars, at).unwrap_or(0);
    let mut literal = String::new();
    let mut i = at + hashes + 1;
    while let Some(&c) = chars.get(i) {
        if c == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            return (literal, i + 1 + hashes);
        }
        literal.push(c);
        i += 1;
    }
    (literal, i)
}

fn plain_literal(chars: &[char], at: usize) -> (String, usize) {
    let mut literal = String::new();
    let mut i = at;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                // `\` and a line break continue the literal on the next line, spaces skipped.
                if chars.get(i + 1) == Some(&'\n') {
                    i += 2;
                    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
                        i += 1;
                    }
                    continue;
                }
                if let Some(&escaped) = chars.get(i + 1) {
                    literal.push(escaped);
                }
                i += 2;
            }
            '"' => return (literal, i + 1),
            _ => {
                literal.push(c);
                i += 1;
            }
        }
    }
    (literal, i)
}
