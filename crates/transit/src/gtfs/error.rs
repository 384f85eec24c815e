//! What can be wrong in a feed: fatal errors that stop an import ([`GtfsError`]) and
//! recoverable problems that skip one row or one trip and are counted in the [`ImportReport`].
//! Both say where: file, line and field.

use std::fmt;

/// Where in the feed a problem was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    /// File name inside the zip, e.g. `stop_times.txt`.
    pub file: &'static str,
    /// 1-based line number (the header is line 1).
    pub line: u64,
    /// Column name, or empty when the whole row is concerned.
    pub field: &'static str,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.file, self.line)?;
        if !self.field.is_empty() {
            write!(f, ", field {}", self.field)?;
        }
        Ok(())
    }
}

/// What is wrong with one value or row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldProblem {
    /// A required value is empty.
    Missing,
    /// Not a GTFS time (`H:MM:SS`).
    BadTime(String),
    /// Not a GTFS date (`YYYYMMDD`).
    BadDate(String),
    /// Not a number, or not one of the allowed values.
    BadValue(String),
    /// Latitude or longitude out of range.
    CoordinateOutOfRange(String),
    /// Refers to an id not defined in the file where it should be.
    UnknownReference {
        /// The file that should define it.
        file: &'static str,
        /// The id as written.
        id: String,
    },
    /// The same id is defined twice; the later row is skipped.
    Duplicate(String),
    /// A trip's times go backwards, or it has fewer than two stops, or no time at its ends.
    BadTrip {
        /// The `trip_id`.
        trip: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => write!(f, "required value is empty"),
            Self::BadTime(v) => write!(f, "bad time {v:?} (expected H:MM:SS)"),
            Self::BadDate(v) => write!(f, "bad date {v:?} (expected YYYYMMDD)"),
            Self::BadValue(v) => write!(f, "bad value {v:?}"),
            Self::CoordinateOutOfRange(v) => write!(f, "coordinate {v:?} is out of range"),
            Self::UnknownReference { file, id } => write!(f, "{id:?} is not defined in {file}"),
            Self::Duplicate(id) => write!(f, "{id:?} is defined twice"),
            Self::BadTrip { trip, reason } => write!(f, "trip {trip:?}: {reason}"),
        }
    }
}

/// A recoverable problem: the row (or the trip) was skipped and the import went on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub at: Position,
    /// What.
    pub problem: FieldProblem,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.problem)
    }
}

/// A fatal problem: the feed cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum GtfsError {
    /// The bytes are not a zip archive, or an entry cannot be read.
    #[error("the feed is not a readable zip archive: {0}")]
    Archive(String),
    /// A required file is absent.
    #[error("required file {0} is missing from the feed")]
    MissingFile(&'static str),
    /// Neither calendar.txt nor calendar_dates.txt is present.
    #[error("the feed has neither calendar.txt nor calendar_dates.txt")]
    MissingCalendar,
    /// A required column is absent from a file's header.
    #[error("{file}: the header has no column {column}")]
    MissingColumn {
        /// The file.
        file: &'static str,
        /// The column.
        column: &'static str,
    },
    /// A file is not UTF-8.
    #[error(
        "{file} line {line}: not valid UTF-8 (GTFS files must be UTF-8; was it saved as windows-1251?)"
    )]
    Encoding {
        /// The file.
        file: &'static str,
        /// The line with the first bad byte.
        line: u64,
    },
    /// The CSV structure is broken.
    #[error("{file} line {line}: unreadable CSV: {reason}")]
    Csv {
        /// The file.
        file: &'static str,
        /// The line.
        line: u64,
        /// The CSV reader's explanation.
        reason: String,
    },
    /// A value that cannot be skipped is wrong (a bad time in stop_times.txt).
    #[error("{at}: {problem}")]
    Field {
        /// Where.
        at: Position,
        /// What.
        problem: FieldProblem,
    },
    /// A file has more rows than [`super::ROWS_PER_FILE_MAX`].
    #[error("{file} has more than {limit} rows")]
    TooLarge {
        /// The file.
        file: &'static str,
        /// The limit.
        limit: usize,
    },
}

/// Most problems kept with their position; the rest are only counted.
pub const PROBLEMS_KEPT_MAX: usize = 200;

/// What an import read and what it skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Data rows read per file, in reading order.
    pub rows_read: Vec<(&'static str, u64)>,
    /// The first [`PROBLEMS_KEPT_MAX`] recoverable problems.
    pub problems: Vec<Problem>,
    /// All recoverable problems, including those not kept.
    pub problem_count: u64,
}

impl ImportReport {
    pub(crate) fn skip(&mut self, at: Position, problem: FieldProblem) {
        self.problem_count += 1;
        if self.problems.len() < PROBLEMS_KEPT_MAX {
            self.problems.push(Problem { at, problem });
        }
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (file, rows) in &self.rows_read {
            writeln!(f, "{file}: {rows} rows")?;
        }
        writeln!(f, "skipped: {} problems", self.problem_count)?;
        for problem in &self.problems {
            writeln!(f, "  {problem}")?;
        }
        Ok(())
    }
}
