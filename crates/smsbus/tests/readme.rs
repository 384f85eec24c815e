//! The README's examples, run as a new user pastes them: `smsbus demo` started as the README
//! says, then every ```sh block of the README in order, in one bash session, from a fresh
//! folder that sees the repository's `crates/` (the demo's data files). A line that ends in
//! `#→ TEXT` must print TEXT (its exit status may be a refusal's); every other line must
//! succeed. The demo's addresses (`localhost:8080`, the simulator's `localhost:8081`) are
//! replaced by the free ports the test starts it on.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// What marks the text a line's output must contain.
const EXPECT_MARK: &str = "#→";
/// The demo must be ready within this many lines of its output (it prints the guide when it is).
const DEMO_STARTUP_LINES_MAX: usize = 2_000;

struct Demo {
    child: Child,
    dir: PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The runnable blocks: fenced with exactly ```sh.
fn sh_blocks(readme: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (number, line) in readme.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some((number + 2, String::new())),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some((_, text)), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// One bash script of every block: each command once, checked where the README says what it
/// prints. Continuation lines (`\` at the end) are joined first.
fn script(blocks: &[(usize, String)]) -> String {
    let mut script = String::from("set -uo pipefail\nsmsbus() { \"$SMSBUS_BIN\" \"$@\"; }\n");
    for (first_line, block) in blocks {
        let mut joined: Vec<(usize, String)> = Vec::new();
        let mut pending: Option<(usize, String)> = None;
        for (offset, line) in block.lines().enumerate() {
            let (start, mut text) = pending
                .take()
                .unwrap_or((first_line + offset, String::new()));
            match line.strip_suffix('\\') {
                Some(head) => {
                    text.push_str(head);
                    pending = Some((start, text));
                }
                None => {
                    text.push_str(line);
                    joined.push((start, text));
                }
            }
        }
        for (line_number, line) in joined {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let at = format!("README.md:{line_number}");
            match line.split_once(EXPECT_MARK) {
                Some((command, expected)) => {
                    let expected = expected.trim();
                    script.push_str(&format!(
                        "echo {at_q}; out=$( {command} 2>&1 ); printf '%s\\n' \"$out\"\n\
                         grep -qF -- {expected_q} <<<\"$out\" || {{ echo \"{at}: expected {expected_e}\"; exit 1; }}\n",
                        at_q = single_quoted(&format!("$ {}", command.trim())),
                        expected_q = single_quoted(expected),
                        expected_e = expected.replace(['"', '$', '`', '\\'], "."),
                    ));
                }
                None => {
                    script.push_str(&format!(
                        "echo {at_q}\n{line}\nstatus=$?; [ $status -eq 0 ] || {{ echo \"{at}: exit $status\"; exit 1; }}\n",
                        at_q = single_quoted(&format!("$ {trimmed}")),
                    ));
                }
            }
        }
    }
    script.push_str("echo 'readme: every example did what it says'\n");
    script
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the demo as the README does, in a fresh folder; returns once it prints its guide,
/// with the simulator's address it printed.
fn start_demo(port: u16) -> (Demo, String) {
    let dir = std::env::temp_dir().join(format!("smsbus-readme-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(repository().join("crates"), dir.join("crates")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_smsbus"))
        .args(["demo", "--addr", &format!("127.0.0.1:{port}")])
        .args(["--simulator-addr", "127.0.0.1:0"])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let demo = Demo { child, dir };
    let mut lines = BufReader::new(stdout).lines();
    for _ in 0..DEMO_STARTUP_LINES_MAX {
        let line = lines
            .next()
            .expect("the demo stopped before it was ready")
            .unwrap();
        if let Some(rest) = line.split("operator simulator at http://").nth(1) {
            let simulator = rest
                .split(|c: char| c == ';' || c.is_whitespace())
                .next()
                .unwrap()
                .to_owned();
            // Keep draining the guide so the demo never blocks on a full pipe.
            std::thread::spawn(move || for _line in lines {});
            return (demo, simulator);
        }
    }
    panic!("the demo printed no guide");
}

#[test]
fn every_readme_example_does_what_it_says() {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let blocks = sh_blocks(&readme);
    assert!(blocks.len() >= 5, "the README has its runnable examples");
    let port = free_port();
    let (demo, simulator) = start_demo(port);
    let base = format!("127.0.0.1:{port}");
    let script = script(&blocks)
        .replace("http://localhost:8080", &format!("http://{base}"))
        .replace("localhost:8080", &base)
        .replace("127.0.0.1:8080", &base)
        .replace("localhost:8081", &simulator);
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&demo.dir)
        .env("SMSBUS_BIN", env!("CARGO_BIN_EXE_smsbus"))
        .env("SMSBUS_SERVER", format!("http://{base}"))
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        printed.contains("every example did what it says"),
        "{printed}"
    );
}

#[test]
fn the_script_checks_what_a_line_promises() {
    let blocks = sh_blocks("text\n```sh\necho hello   #→ bye\n```\n");
    let output = Command::new("bash")
        .arg("-c")
        .arg(script(&blocks))
        .output()
        .unwrap();
    assert!(!output.status.success(), "a broken promise fails the test");
    assert!(String::from_utf8_lossy(&output.stdout).contains("README.md:3: expected bye"));
    let blocks = sh_blocks("```sh\nfalse\n```\n");
    let output = Command::new("bash")
        .arg("-c")
        .arg(script(&blocks))
        .output()
        .unwrap();
    assert!(!output.status.success(), "a failing command fails the test");
}
