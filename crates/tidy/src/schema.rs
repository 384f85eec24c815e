//! The tables and columns a tree of migrations defines, read from its SQL, so the SQLite and
//! PostgreSQL trees can be compared: the same migration files, the same tables, the same
//! columns (types differ by dialect and are not compared).
//!
//! Understood: `CREATE TABLE`, `DROP TABLE`, `ALTER TABLE … ADD/DROP/RENAME COLUMN` and
//! `RENAME TO` (the SQLite table rebuild). Other statements leave the schema as it is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::Violation;

/// Table name → column names.
pub type Schema = BTreeMap<String, BTreeSet<String>>;

/// Words that open a table constraint rather than a column in `CREATE TABLE`.
const CONSTRAINTS: &[&str] = &[
    "PRIMARY",
    "UNIQUE",
    "CHECK",
    "FOREIGN",
    "CONSTRAINT",
    "EXCLUDE",
];

/// Applies the statements of one migration file to `schema`.
pub fn apply(sql: &str, schema: &mut Schema) {
    let without_comments: String = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    for statement in without_comments.split(';') {
        apply_statement(statement.trim(), schema);
    }
}

fn apply_statement(statement: &str, schema: &mut Schema) {
    let words: Vec<&str> = statement.split_whitespace().collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
    match upper.as_slice() {
        ["CREATE", "TABLE", ..] => create_table(statement, schema),
        ["DROP", "TABLE", "IF", "EXISTS", ..] => drop_table(words.get(4), schema),
        ["DROP", "TABLE", ..] => drop_table(words.get(2), schema),
        ["ALTER", "TABLE", ..] => alter_table(&words, &upper, schema),
        _ => {}
    }
}

fn create_table(statement: &str, schema: &mut Schema) {
    let Some(open) = statement.find('(') else {
        return;
    };
    let head: Vec<&str> = statement
        .get(..open)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let Some(name) = head.last() else { return };
    let body = statement
        .get(open + 1..statement.rfind(')').unwrap_or(statement.len()))
        .unwrap_or("");
    let mut columns = BTreeSet::new();
    for part in top_level_parts(body) {
        let Some(first) = part.split_whitespace().next() else {
            continue;
        };
        if !CONSTRAINTS.contains(&first.to_ascii_uppercase().as_str()) {
            columns.insert(unquote(first));
        }
    }
    schema.insert(unquote(name), columns);
}

fn drop_table(name: Option<&&str>, schema: &mut Schema) {
    if let Some(name) = name {
        schema.remove(&unquote(name));
    }
}

fn alter_table(words: &[&str], upper: &[&str], schema: &mut Schema) {
    let Some(table) = words.get(2).map(|w| unquote(w)) else {
        return;
    };
    let word = |i: usize| words.get(i).map(|w| unquote(w));
    // The column name follows the verb, after an optional COLUMN and IF [NOT] EXISTS.
    let column_after = |verb: usize| {
        let mut i = verb + 1;
        if upper.get(i) == Some(&"COLUMN") {
            i += 1;
        }
        while matches!(upper.get(i), Some(&"IF" | &"NOT" | &"EXISTS")) {
            i += 1;
        }
        (word(i), i)
    };
    match upper.get(3) {
        Some(&"ADD") if !upper.get(4).is_some_and(|w| CONSTRAINTS.contains(w)) => {
            if let (Some(column), _) = column_after(3) {
                schema.entry(table).or_default().insert(column);
            }
        }
        Some(&"DROP") if upper.get(4) != Some(&"CONSTRAINT") => {
            if let (Some(column), _) = column_after(3) {
                schema.entry(table).or_default().remove(&column);
            }
        }
        Some(&"RENAME") if upper.get(4) == Some(&"TO") => {
            if let (Some(columns), Some(new)) = (schema.remove(&table), word(5)) {
                schema.insert(new, columns);
            }
        }
        Some(&"RENAME") => {
            let (old, at) = column_after(3);
            if let (Some(old), Some(new)) = (old, word(at + 2)) {
                let columns = schema.entry(table).or_default();
                if columns.remove(&old) {
                    columns.insert(new);
                }
            }
        }
        _ => {}
    }
}

/// The comma-separated parts of a `CREATE TABLE` body, commas inside parentheses kept.
fn top_level_parts(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(body.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(body.get(start..).unwrap_or(""));
    parts
}

fn unquote(name: &str) -> String {
    name.trim_matches(|c| c == '"' || c == '`' || c == '(' || c == ')')
        .to_ascii_lowercase()
}

/// A migration tree: its file names in order and the schema they build.
pub fn read_tree(folder: &Path) -> std::io::Result<(Vec<String>, Schema)> {
    let mut names: Vec<String> = std::fs::read_dir(folder)?
        .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()?;
    names.retain(|n| n.ends_with(".sql"));
    names.sort();
    let mut schema = Schema::new();
    for name in &names {
        apply(&std::fs::read_to_string(folder.join(name))?, &mut schema);
    }
    Ok((names, schema))
}

/// The two trees have the same migration files and define the same tables and columns.
pub fn compare(
    left: (&str, &[String], &Schema),
    right: (&str, &[String], &Schema),
) -> Vec<Violation> {
    let (left_name, left_files, left_schema) = left;
    let (right_name, right_files, right_schema) = right;
    let mut found = Vec::new();
    for (here, files, there, others) in [
        (left_name, left_files, right_name, right_files),
        (right_name, right_files, left_name, left_files),
    ] {
        for file in files.iter().filter(|f| !others.contains(f)) {
            found.push(Violation::new(
                here,
                format!("has migration {file} that {there} lacks"),
            ));
        }
    }
    for (here, schema, there, other) in [
        (left_name, left_schema, right_name, right_schema),
        (right_name, right_schema, left_name, left_schema),
    ] {
        for (table, columns) in schema {
            let Some(other_columns) = other.get(table) else {
                found.push(Violation::new(
                    here,
                    format!("defines table {table} that {there} lacks"),
                ));
                continue;
            };
            for column in columns.difference(other_columns) {
                found.push(Violation::new(
                    here,
                    format!("defines {table}.{column} that {there} lacks"),
                ));
            }
        }
    }
    found
}
