//! The state names written in the store's SQL, checked against the typed states: every quoted
//! literal compared with a state column (`status`, `…_status`, `…_state`, `layer`) — `= 'x'`,
//! `<> 'x'`, `IN ('x', 'y')` — must be a name the column's enum writes, so `status = 'issud'`
//! or a state renamed in `domain` but not in SQL fails the build instead of matching no row.
//!
//! The SQL is read as tokens from the string literals of the sources ([`crate::sources::strip`]);
//! a column's table comes from its qualifier (`t.status`, with `tickets t` in the same
//! statement) or, unqualified, from the nearest `FROM`/`JOIN`/`UPDATE`/`INTO` before it.

use crate::Violation;
use crate::sources::{Source, strip};

/// The names a state column may hold, as its typed enum writes them.
pub struct StateColumn<'a> {
    pub table: &'a str,
    pub column: &'a str,
    /// Where the names come from, for the message (`domain::ride::RideStatus`).
    pub source: &'a str,
    pub names: Vec<&'a str>,
}

/// One state literal found in SQL: the column compared with it and the name written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateLiteral {
    /// `None` when the statement does not say which table the column is in.
    pub table: Option<String>,
    pub column: String,
    pub name: String,
}

/// Whether a column holds a state (by the project's naming).
fn is_state_column(column: &str) -> bool {
    column == "status"
        || column == "state"
        || column == "layer"
        || column.ends_with("_status")
        || column.ends_with("_state")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A name, maybe qualified (`t.status`), as written.
    Word(String),
    /// A quoted SQL string's contents.
    Quoted(String),
    /// Any other character that is not blank.
    Mark(char),
}

fn tokens(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        if c.is_whitespace() {
            at += 1;
        } else if c == '\'' {
            let mut text = String::new();
            at += 1;
            while let Some(&c) = chars.get(at) {
                at += 1;
                if c == '\'' {
                    if chars.get(at) == Some(&'\'') {
                        text.push('\'');
                        at += 1;
                        continue;
                    }
                    break;
                }
                text.push(c);
            }
            found.push(Token::Quoted(text));
        } else if c.is_alphanumeric() || c == '_' {
            let mut word = String::new();
            while let Some(&c) = chars.get(at) {
                if !(c.is_alphanumeric() || c == '_' || c == '.') {
                    break;
                }
                word.push(c);
                at += 1;
            }
            found.push(Token::Word(word));
        } else {
            // `<>` and `!=` become one mark: both compare.
            let pair = [Some(c), chars.get(at + 1).copied()];
            if matches!(pair, [Some('<'), Some('>')] | [Some('!'), Some('=')]) {
                found.push(Token::Mark('≠'));
                at += 2;
            } else {
                found.push(Token::Mark(c));
                at += 1;
            }
        }
    }
    found
}

fn is_word(token: Option<&Token>, keyword: &str) -> bool {
    matches!(token, Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
}

/// Words that may follow a table name where an alias would stand, and are none.
const NOT_ALIASES: &[&str] = &[
    "WHERE",
    "SET",
    "ON",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "OUTER",
    "CROSS",
    "ORDER",
    "GROUP",
    "LIMIT",
    "VALUES",
    "USING",
    "SELECT",
    "DEFAULT",
    "RETURNING",
    "UNION",
    "HAVING",
    "AND",
    "OR",
];

/// Tables named in the statement: (token index, table, alias).
fn tables(tokens: &[Token]) -> Vec<(usize, String, Option<String>)> {
    let mut found = Vec::new();
    for (at, token) in tokens.iter().enumerate() {
        let Token::Word(keyword) = token else {
            continue;
        };
        let opens = ["FROM", "JOIN", "UPDATE", "INTO"];
        if !opens.iter().any(|k| keyword.eq_ignore_ascii_case(k)) {
            continue;
        }
        let Some(Token::Word(table)) = tokens.get(at + 1) else {
            continue;
        };
        let alias_at = if is_word(tokens.get(at + 2), "AS") {
            at + 3
        } else {
            at + 2
        };
        let alias = match tokens.get(alias_at) {
            Some(Token::Word(alias))
                if !NOT_ALIASES.iter().any(|k| alias.eq_ignore_ascii_case(k)) =>
            {
                Some(alias.clone())
            }
            _ => None,
        };
        found.push((at + 1, table.clone(), alias));
    }
    found
}

/// The quoted names compared with a state column at `at` (`= 'x'`, `<> 'x'`, `IN (…)`).
fn compared_names(tokens: &[Token], at: usize) -> Vec<String> {
    let mut next = at + 1;
    if is_word(tokens.get(next), "NOT") {
        next += 1;
    }
    match tokens.get(next) {
        Some(Token::Mark('=' | '≠')) => match tokens.get(next + 1) {
            Some(Token::Quoted(name)) => vec![name.clone()],
            _ => Vec::new(),
        },
        Some(Token::Word(w)) if w.eq_ignore_ascii_case("IN") => {
            let mut names = Vec::new();
            if tokens.get(next + 1) != Some(&Token::Mark('(')) {
                return names;
            }
            for token in tokens.iter().skip(next + 2) {
                match token {
                    Token::Quoted(name) => names.push(name.clone()),
                    Token::Mark(',') => {}
                    _ => break,
                }
            }
            names
        }
        _ => Vec::new(),
    }
}

/// Every state literal in one piece of SQL.
pub fn state_literals(sql: &str) -> Vec<StateLiteral> {
    let tokens = tokens(sql);
    let tables = tables(&tokens);
    let mut found = Vec::new();
    for (at, token) in tokens.iter().enumerate() {
        let Token::Word(word) = token else {
            continue;
        };
        let (qualifier, column) = match word.rsplit_once('.') {
            Some((qualifier, column)) => (Some(qualifier), column),
            None => (None, word.as_str()),
        };
        if !is_state_column(column) {
            continue;
        }
        let table = match qualifier {
            Some(q) => tables
                .iter()
                .find(|(_, table, alias)| alias.as_deref() == Some(q) || table == q)
                .map(|(_, table, _)| table.clone()),
            None => tables
                .iter()
                .rev()
                .find(|(table_at, _, _)| *table_at < at)
                .or(tables.first())
                .map(|(_, table, _)| table.clone()),
        };
        for name in compared_names(&tokens, at) {
            found.push(StateLiteral {
                table: table.clone(),
                column: column.to_owned(),
                name,
            });
        }
    }
    found
}

/// Every state literal in the string literals of the sources under `crates/store/src/` is a
/// name of its column's enum in `known`; a state column not in `known` is a violation too, so
/// a new one is given its enum (or a written reason) here.
pub fn check_state_names(sources: &[Source], known: &[StateColumn<'_>]) -> Vec<Violation> {
    let mut found = Vec::new();
    for source in sources
        .iter()
        .filter(|s| s.path.starts_with("crates/store/src/"))
    {
        let (_, sql) = strip(&source.text);
        for literal in sql.iter().flat_map(|sql| state_literals(sql)) {
            let Some(table) = &literal.table else {
                let problem = format!(
                    "compares `{}` with '{}' in SQL that names no table",
                    literal.column, literal.name
                );
                found.push(Violation::new(&source.path, problem));
                continue;
            };
            let column = known
                .iter()
                .find(|k| k.table == table && k.column == literal.column);
            let problem = match column {
                None => format!(
                    "`{table}.{}` = '{}': no typed state is known for this column",
                    literal.column, literal.name
                ),
                Some(k) if !k.names.contains(&literal.name.as_str()) => format!(
                    "`{table}.{}` = '{}': not a name of {} ({})",
                    literal.column,
                    literal.name,
                    k.source,
                    k.names.join(", ")
                ),
                Some(_) => continue,
            };
            found.push(Violation::new(&source.path, problem));
        }
    }
    found.sort();
    found.dedup();
    found
}
