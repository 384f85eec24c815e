//! The property the `gtfs_zip` fuzz target in `fuzz/` checks, taking the raw bytes libFuzzer
//! hands over. The same function replays every file of `fuzz/corpus/gtfs_zip/` in `cargo test`
//! (`tests/transit.rs`), so a crash once found stays fixed.

use std::io::{Cursor, Write as _};
use std::sync::Arc;

use crate::gtfs::read_feed;
use crate::{Date, Place, PlanOptions, Planner, ServiceTime, StopIdx, Timetable, TimetableOptions};

/// The files a structured input is cut into, in order, at each [`FILE_SEPARATOR`].
pub const FEED_FILES: [&str; 10] = [
    "agency.txt",
    "stops.txt",
    "routes.txt",
    "calendar.txt",
    "calendar_dates.txt",
    "trips.txt",
    "stop_times.txt",
    "frequencies.txt",
    "transfers.txt",
    "shapes.txt",
];
/// Never in UTF-8, so CSV text never holds it.
pub const FILE_SEPARATOR: u8 = 0xff;
/// The service date a feed that reads is built into a timetable for.
const SERVICE_DATE: Date = jiff::civil::date(2025, 9, 10);

/// A GTFS zip never panics the reader, nor (if it reads) the timetable and the planner. The first
/// byte picks what the rest is: `0` the zip's bytes, otherwise CSV files cut at
/// [`FILE_SEPARATOR`] in the order of [`FEED_FILES`], zipped here (so the fuzzer mutates the
/// text of a feed rather than the zip's checksums).
pub fn gtfs_zip(bytes: &[u8]) {
    let Some((mode, rest)) = bytes.split_first() else {
        return;
    };
    let zip = if *mode == 0 {
        rest.to_vec()
    } else {
        match zip_files(rest) {
            Some(zip) => zip,
            None => return,
        }
    };
    let Ok(feed) = read_feed(Cursor::new(zip)) else {
        return;
    };
    let feed = Arc::new(feed);
    let Ok(timetable) = Timetable::build(feed.clone(), SERVICE_DATE, TimetableOptions::default())
    else {
        return;
    };
    let stops = u32::try_from(feed.stops.len()).unwrap_or(u32::MAX);
    if stops < 2 {
        return;
    }
    let planner = Planner::new(Arc::new(timetable));
    let from = Place::Stop(StopIdx::new(0));
    let to = Place::Stop(StopIdx::new(stops - 1));
    if let Some(departure) = ServiceTime::from_hms(8, 0, 0) {
        // Planning may refuse (no journey, no service); it must only not panic.
        if let Err(error) = planner.plan(from, to, departure, &PlanOptions::default()) {
            assert!(!error.to_string().is_empty());
        }
    }
}

/// The structured input zipped, stored without compression.
fn zip_files(text: &[u8]) -> Option<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, content) in FEED_FILES.iter().zip(text.split(|b| *b == FILE_SEPARATOR)) {
        writer.start_file(*name, options).ok()?;
        writer.write_all(content).ok()?;
    }
    writer.finish().ok().map(Cursor::into_inner)
}
