//! From the `transit` crate's parsed GTFS feed to our [`NetworkInput`]: the runs of one
//! service date with absolute times, plus the previous date's runs still on the road
//! after midnight.
//!
//! GTFS times count from "noon minus 12 h" of the service date in the agency's time zone
//! (so they stay right across daylight-saving changes); that is the only place a time zone
//! matters to live data, and it is resolved here once.

use std::collections::HashSet;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use transit::TripIdx;
use transit::gtfs::Feed;

use crate::ids::TimeMs;
use crate::network::{NetworkInput, RunInput, RunStopInput};

/// GTFS service days may run past midnight; previous-day runs later than this are kept.
const DAY_S: i32 = 86_400;

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("the feed names no agency time zone")]
    NoTimeZone,
    #[error("unknown time zone {name:?}: {source}")]
    TimeZone { name: String, source: jiff::Error },
    #[error("service date {date} cannot be placed in time: {source}")]
    Date { date: Date, source: jiff::Error },
}

/// The feed's time zone (its first agency's).
pub fn feed_time_zone(feed: &Feed) -> Result<TimeZone, AdapterError> {
    let name = feed
        .agencies
        .first()
        .map(|agency| agency.timezone.clone())
        .ok_or(AdapterError::NoTimeZone)?;
    TimeZone::get(&name).map_err(|source| AdapterError::TimeZone { name, source })
}

/// The moment a service day's times count from: noon minus twelve hours, local time.
pub fn service_day_origin(date: Date, zone: &TimeZone) -> Result<TimeMs, AdapterError> {
    let noon = date
        .at(12, 0, 0, 0)
        .to_zoned(zone.clone())
        .map_err(|source| AdapterError::Date { date, source })?;
    Ok(TimeMs(noon.timestamp().as_millisecond() - 12 * 3_600_000))
}

/// Runs of `date` and the previous date's runs that are still running after midnight.
pub fn network_input(feed: &Feed, date: Date) -> Result<NetworkInput, AdapterError> {
    let zone = feed_time_zone(feed)?;
    let today = service_day_origin(date, &zone)?;
    let yesterday_date = date
        .yesterday()
        .map_err(|source| AdapterError::Date { date, source })?;
    let yesterday = service_day_origin(yesterday_date, &zone)?;
    let shapes = feed
        .shapes
        .iter()
        .map(|shape| shape.points.clone())
        .collect();
    let mut runs = Vec::new();
    let mut seen: HashSet<TripIdx> = HashSet::new();
    for (index, trip) in feed.trips.iter().enumerate() {
        let Ok(raw) = u32::try_from(index) else { break };
        let trip_idx = TripIdx::new(raw);
        let runs_today = feed
            .services
            .get(trip.service.index())
            .is_some_and(|s| s.runs_on(date));
        if runs_today && let Some(run) = run_input(feed, trip_idx, today, 0) {
            seen.insert(trip_idx);
            runs.push(run);
        }
    }
    for (index, trip) in feed.trips.iter().enumerate() {
        let Ok(raw) = u32::try_from(index) else { break };
        let trip_idx = TripIdx::new(raw);
        let ran_yesterday = feed
            .services
            .get(trip.service.index())
            .is_some_and(|s| s.runs_on(yesterday_date));
        if ran_yesterday
            && !seen.contains(&trip_idx)
            && let Some(run) = run_input(feed, trip_idx, yesterday, DAY_S)
        {
            runs.push(run);
        }
    }
    Ok(NetworkInput { shapes, runs })
}

/// One run, or `None` when the trip has fewer than two usable stops or (for yesterday's
/// runs) ends before `ends_after_s`.
fn run_input(
    feed: &Feed,
    trip_idx: TripIdx,
    origin: TimeMs,
    ends_after_s: i32,
) -> Option<RunInput> {
    let trip = feed.trip(trip_idx)?;
    let stop_times = feed.stop_times_of(trip_idx);
    if stop_times.last()?.arrival_s <= ends_after_s {
        return None;
    }
    let line = feed.line(trip.line)?;
    let at = |seconds: i32| origin.plus_ms(i64::from(seconds) * 1000);
    let stops: Vec<RunStopInput> = stop_times
        .iter()
        .filter_map(|call| {
            let stop = feed.stop(call.stop)?;
            let coordinate = stop.coordinate?;
            Some(RunStopInput {
                stop_id: stop.id.clone(),
                name: stop.name.clone(),
                point: coordinate,
                arrival: at(call.arrival_s),
                departure: at(call.departure_s),
            })
        })
        .collect();
    (stops.len() >= 2).then(|| RunInput {
        trip_id: trip.id.clone(),
        route_id: line.id.clone(),
        route_short_name: line.short_name.clone(),
        stops,
        shape: trip.shape.map(|shape| shape.index()),
    })
}
