//! stop_times.txt: the big file. Rows are read into a flat vector, sorted by trip and
//! `stop_sequence`, checked per trip (known stops, at least two calls, times that never go
//! backwards) and missing times at non-timepoints are interpolated by position.

use std::collections::HashMap;
use std::io::Read;

use super::error::{FieldProblem, GtfsError, Position};
use super::files::unknown;
use super::model::{Feed, StopTime};
use super::table::Table;
use crate::ids::{StopIdx, TripIdx};
use crate::time::ServiceTime;

struct Row {
    trip: u32,
    sequence: u32,
    line: u64,
    stop: StopIdx,
    arrival_s: Option<i32>,
    departure_s: Option<i32>,
    pickup: bool,
    drop_off: bool,
    shape_dist: Option<f32>,
}

const FILE: &str = "stop_times.txt";

pub(crate) fn read_stop_times<R: Read>(
    feed: &mut Feed,
    trip_by_id: &HashMap<String, TripIdx>,
    mut table: Table<R>,
) -> Result<(), GtfsError> {
    let trip = table.column("trip_id")?;
    let arrival = table.column("arrival_time")?;
    let departure = table.column("departure_time")?;
    let stop = table.column("stop_id")?;
    let sequence = table.column("stop_sequence")?;
    let pickup = table.optional_column("pickup_type");
    let drop_off = table.optional_column("drop_off_type");
    let dist = table.optional_column("shape_dist_traveled");
    let mut rows: Vec<Row> = Vec::new();
    let mut broken = vec![false; feed.trips.len()];
    let mut last_trip: Option<(String, TripIdx)> = None;
    while table.next_row()? {
        let trip_text = table.get(trip);
        let trip_idx = match &last_trip {
            Some((id, index)) if id == trip_text => *index,
            _ => match trip_by_id.get(trip_text) {
                Some(&index) => {
                    last_trip = Some((trip_text.to_owned(), index));
                    index
                }
                None => {
                    let problem = unknown("trips.txt", trip_text);
                    feed.report.skip(table.at(trip), problem);
                    continue;
                }
            },
        };
        let mut times = [None, None];
        for (slot, column) in times.iter_mut().zip([arrival, departure]) {
            let text = table.get(column);
            if !text.is_empty() {
                let time = ServiceTime::parse(text)
                    .map_err(|_| table.fatal(column, FieldProblem::BadTime(text.to_owned())))?;
                *slot = Some(time.seconds());
            }
        }
        let Some(stop_idx) = feed.stop_idx(table.get(stop)) else {
            let problem = unknown("stops.txt", table.get(stop));
            feed.report.skip(table.at(stop), problem);
            if let Some(flag) = broken.get_mut(trip_idx.index()) {
                *flag = true;
            }
            continue;
        };
        let Ok(seq) = table.get(sequence).parse::<u32>() else {
            let value = table.get(sequence).to_owned();
            feed.report
                .skip(table.at(sequence), FieldProblem::BadValue(value));
            if let Some(flag) = broken.get_mut(trip_idx.index()) {
                *flag = true;
            }
            continue;
        };
        let [arrival_s, departure_s] = times;
        rows.push(Row {
            trip: trip_idx.get(),
            sequence: seq,
            line: table.at_row().line,
            stop: stop_idx,
            arrival_s,
            departure_s,
            pickup: table.get_optional(pickup) != Some("1"),
            drop_off: table.get_optional(drop_off) != Some("1"),
            shape_dist: table.get_optional(dist).and_then(|d| d.parse().ok()),
        });
    }
    feed.report.rows_read.push((FILE, table.rows()));
    rows.sort_unstable_by_key(|r| (r.trip, r.sequence));
    store_trips(feed, &rows, &broken);
    Ok(())
}

/// Checks each trip's rows and copies the good ones into `feed.stop_times`.
fn store_trips(feed: &mut Feed, rows: &[Row], broken: &[bool]) {
    feed.stop_times.reserve(rows.len());
    for group in rows.chunk_by(|a, b| a.trip == b.trip) {
        let Some(first) = group.first() else {
            continue;
        };
        let trip = TripIdx::new(first.trip);
        if broken.get(trip.index()).copied().unwrap_or(true) {
            continue;
        }
        match check_trip(group) {
            Ok(times) => {
                let start = feed.stop_times.len() as u32;
                for (row, (arrival_s, departure_s)) in group.iter().zip(times) {
                    feed.stop_times.push(StopTime {
                        stop: row.stop,
                        arrival_s,
                        departure_s,
                        pickup: row.pickup,
                        drop_off: row.drop_off,
                        shape_dist: row.shape_dist,
                    });
                }
                if let Some(t) = feed.trips.get_mut(trip.index()) {
                    t.stop_times_start = start;
                    t.stop_times_len = group.len() as u32;
                }
            }
            Err((line, reason)) => {
                let id = feed
                    .trip(trip)
                    .map(|t| t.id.to_string())
                    .unwrap_or_default();
                let at = Position {
                    file: FILE,
                    line,
                    field: "",
                };
                feed.report
                    .skip(at, FieldProblem::BadTrip { trip: id, reason });
            }
        }
    }
}

/// Arrival and departure of every call, with gaps interpolated; or the line and the reason
/// the trip cannot be used.
fn check_trip(group: &[Row]) -> Result<Vec<(i32, i32)>, (u64, &'static str)> {
    let line = group.first().map_or(0, |r| r.line);
    if group.len() < 2 {
        return Err((line, "fewer than two stop times"));
    }
    if group
        .windows(2)
        .any(|w| matches!(w, [a, b] if a.sequence == b.sequence))
    {
        return Err((line, "stop_sequence repeats"));
    }
    let known: Vec<Option<(i32, i32)>> = group
        .iter()
        .map(|r| match (r.arrival_s, r.departure_s) {
            (Some(a), Some(d)) => Some((a, d)),
            (Some(t), None) | (None, Some(t)) => Some((t, t)),
            (None, None) => None,
        })
        .collect();
    if known.first().copied().flatten().is_none() || known.last().copied().flatten().is_none() {
        return Err((line, "no time at the first or last stop"));
    }
    let mut times = Vec::with_capacity(group.len());
    let mut previous: Option<(usize, i32)> = None;
    for (position, entry) in known.iter().enumerate() {
        let value = match entry {
            Some(pair) => *pair,
            None => interpolate(&known, position, previous),
        };
        times.push(value);
        previous = Some((position, value.1));
    }
    let backwards = times.windows(2).any(|w| matches!(w, [a, b] if b.0 < a.1))
        || times.iter().any(|(a, d)| d < a);
    if let Some(row) = backwards.then(|| group.first()).flatten() {
        return Err((row.line, "times go backwards"));
    }
    Ok(times)
}

/// Time at `position` by linear interpolation between the previous call and the next timed one.
fn interpolate(
    known: &[Option<(i32, i32)>],
    position: usize,
    previous: Option<(usize, i32)>,
) -> (i32, i32) {
    let (from_position, from_time) = previous.unwrap_or((0, 0));
    let next = known
        .iter()
        .enumerate()
        .skip(position + 1)
        .find_map(|(p, t)| t.map(|(arrival, _)| (p, arrival)));
    let Some((to_position, to_time)) = next else {
        return (from_time, from_time);
    };
    let span = (to_position - from_position) as i64;
    let step = (position - from_position) as i64;
    let time = i64::from(from_time) + i64::from(to_time - from_time) * step / span.max(1);
    let time = i32::try_from(time).unwrap_or(from_time);
    (time, time)
}
