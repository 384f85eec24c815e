//! Streaming reader of one GTFS CSV file: columns found by header name, tolerant of a BOM,
//! spaces around values, extra columns, quoted fields, CRLF and short rows; errors carry the
//! file and line.

use std::io::Read;

use super::ROWS_PER_FILE_MAX;
use super::error::{FieldProblem, GtfsError, Position};

/// A column of a table, found in its header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Column {
    index: usize,
    name: &'static str,
}

/// One CSV file being read row by row.
pub(crate) struct Table<R: Read> {
    file: &'static str,
    reader: csv::Reader<R>,
    headers: Vec<String>,
    record: csv::StringRecord,
    line: u64,
    rows: u64,
}

impl<R: Read> Table<R> {
    pub(crate) fn open(file: &'static str, input: R) -> Result<Self, GtfsError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .buffer_capacity(1 << 16)
            .from_reader(input);
        let headers = reader
            .headers()
            .map_err(|e| csv_error(file, &e))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
            .collect();
        Ok(Self {
            file,
            reader,
            headers,
            record: csv::StringRecord::new(),
            line: 1,
            rows: 0,
        })
    }

    pub(crate) fn file(&self) -> &'static str {
        self.file
    }

    /// A column that must be in the header.
    pub(crate) fn column(&self, name: &'static str) -> Result<Column, GtfsError> {
        self.optional_column(name).ok_or(GtfsError::MissingColumn {
            file: self.file,
            column: name,
        })
    }

    /// A column that may be absent; absent columns read as empty values.
    pub(crate) fn optional_column(&self, name: &'static str) -> Option<Column> {
        let index = self.headers.iter().position(|h| h == name)?;
        Some(Column { index, name })
    }

    /// Moves to the next data row; `false` at the end of the file.
    pub(crate) fn next_row(&mut self) -> Result<bool, GtfsError> {
        loop {
            let more = self
                .reader
                .read_record(&mut self.record)
                .map_err(|e| csv_error(self.file, &e))?;
            if !more {
                return Ok(false);
            }
            self.line = self.record.position().map_or(self.line + 1, |p| p.line());
            if self.record.iter().all(str::is_empty) {
                continue;
            }
            self.rows += 1;
            if self.rows > ROWS_PER_FILE_MAX as u64 {
                return Err(GtfsError::TooLarge {
                    file: self.file,
                    limit: ROWS_PER_FILE_MAX,
                });
            }
            return Ok(true);
        }
    }

    /// Data rows read so far.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// The value of `column` in the current row ("" when absent).
    pub(crate) fn get(&self, column: Column) -> &str {
        self.record.get(column.index).unwrap_or("")
    }

    /// The value of an optional column, `None` when the column or the value is absent.
    pub(crate) fn get_optional(&self, column: Option<Column>) -> Option<&str> {
        column.map(|c| self.get(c)).filter(|v| !v.is_empty())
    }

    /// Where `column` of the current row is.
    pub(crate) fn at(&self, column: Column) -> Position {
        Position {
            file: self.file,
            line: self.line,
            field: column.name,
        }
    }

    /// Where the current row is.
    pub(crate) fn at_row(&self) -> Position {
        Position {
            file: self.file,
            line: self.line,
            field: "",
        }
    }

    /// A fatal error about `column` of the current row.
    pub(crate) fn fatal(&self, column: Column, problem: FieldProblem) -> GtfsError {
        GtfsError::Field {
            at: self.at(column),
            problem,
        }
    }
}

fn csv_error(file: &'static str, error: &csv::Error) -> GtfsError {
    let line = error.position().map_or(1, csv::Position::line);
    match error.kind() {
        csv::ErrorKind::Utf8 { pos, .. } => GtfsError::Encoding {
            file,
            line: pos.as_ref().map_or(line, csv::Position::line),
        },
        csv::ErrorKind::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            GtfsError::Encoding { file, line }
        }
        _ => GtfsError::Csv {
            file,
            line,
            reason: error.to_string(),
        },
    }
}
