//! GTFS static feeds: reading a zip (from bytes or any `Read + Seek`) into a [`Feed`].
//!
//! Reading streams each CSV file once, by header name. Fatal problems (a required file or
//! column missing, a file that is not UTF-8, broken CSV, a bad time in stop_times.txt or
//! frequencies.txt) return a [`GtfsError`]; recoverable ones (an unknown reference, a
//! duplicate id, an out-of-range coordinate, a malformed optional value) skip the row or the
//! trip and are counted in [`ImportReport`].

mod error;
mod files;
mod model;
mod stop_times;
mod table;

use std::collections::HashMap;
use std::io::{Read, Seek};

pub use error::{FieldProblem, GtfsError, ImportReport, PROBLEMS_KEPT_MAX, Position, Problem};
pub use model::{
    Agency, Feed, Frequency, Line, LocationKind, RouteKind, Service, Shape, Stop, StopTime,
    Transfer, TransferKind, Trip,
};

use table::Table;

/// Most data rows read from one file.
pub const ROWS_PER_FILE_MAX: usize = 50_000_000;

/// Reads a GTFS zip.
pub fn read_feed<R: Read + Seek>(input: R) -> Result<Feed, GtfsError> {
    let mut archive = Archive::open(input)?;
    let mut feed = Feed::default();
    files::read_agencies(&mut feed, archive.required("agency.txt")?)?;
    files::read_stops(&mut feed, archive.required("stops.txt")?)?;
    files::read_lines(&mut feed, archive.required("routes.txt")?)?;
    let mut services = files::Services::default();
    let mut calendars = 0;
    if let Some(table) = archive.optional("calendar.txt")? {
        files::read_calendar(&mut feed, &mut services, table)?;
        calendars += 1;
    }
    if let Some(table) = archive.optional("calendar_dates.txt")? {
        files::read_calendar_dates(&mut feed, &mut services, table)?;
        calendars += 1;
    }
    if calendars == 0 {
        return Err(GtfsError::MissingCalendar);
    }
    let shape_by_id = match archive.optional("shapes.txt")? {
        Some(table) => files::read_shapes(&mut feed, table)?,
        None => HashMap::new(),
    };
    let trip_by_id = files::read_trips(
        &mut feed,
        &services,
        &shape_by_id,
        archive.required("trips.txt")?,
    )?;
    stop_times::read_stop_times(&mut feed, &trip_by_id, archive.required("stop_times.txt")?)?;
    if let Some(table) = archive.optional("frequencies.txt")? {
        files::read_frequencies(&mut feed, &trip_by_id, table)?;
    }
    if let Some(table) = archive.optional("transfers.txt")? {
        files::read_transfers(&mut feed, table)?;
    }
    Ok(feed)
}

/// The zip, with entries found by file name (also inside one top-level folder).
struct Archive<R: Read + Seek> {
    zip: zip::ZipArchive<R>,
    index_by_name: HashMap<String, usize>,
}

impl<R: Read + Seek> Archive<R> {
    fn open(input: R) -> Result<Self, GtfsError> {
        let zip = zip::ZipArchive::new(input).map_err(|e| GtfsError::Archive(e.to_string()))?;
        let mut index_by_name = HashMap::new();
        for index in 0..zip.len() {
            let Some(name) = zip.name_for_index(index) else {
                continue;
            };
            let base = name.rsplit('/').next().unwrap_or(name);
            let depth = name.matches('/').count();
            if depth <= 1 && !base.is_empty() {
                index_by_name.entry(base.to_owned()).or_insert(index);
            }
        }
        Ok(Self { zip, index_by_name })
    }

    fn required(
        &mut self,
        file: &'static str,
    ) -> Result<Table<zip::read::ZipFile<'_, R>>, GtfsError> {
        self.optional(file)?.ok_or(GtfsError::MissingFile(file))
    }

    fn optional(
        &mut self,
        file: &'static str,
    ) -> Result<Option<Table<zip::read::ZipFile<'_, R>>>, GtfsError> {
        let Some(&index) = self.index_by_name.get(file) else {
            return Ok(None);
        };
        let entry = self
            .zip
            .by_index(index)
            .map_err(|e| GtfsError::Archive(format!("{file}: {e}")))?;
        Table::open(file, entry).map(Some)
    }
}
