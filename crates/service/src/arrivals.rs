//! A stop's next arrivals, as a passenger who tapped it on the map wants them: the routes
//! serving it, the timetable's next departures from it within [`ARRIVALS_WINDOW_S`], and for
//! each bus already on its way the time it is expected (its run's time at the stop plus its
//! delay, from `service::live`). Read only; the timetable is the service date's, built once
//! and cached by `service::transit`.

use ::transit::ids::StopIdx;
use ::transit::spi::TransitData;
use jiff::Timestamp;

use crate::{App, ServiceError};
use domain::ErrorCode;

/// At most this many arrivals are listed.
pub const ARRIVALS_MAX: usize = 12;
/// Departures this far ahead are listed.
pub const ARRIVALS_WINDOW_S: i32 = 2 * 3_600;
/// A live bus is the timetable's departure due this close to the bus's own schedule.
const MATCH_WINDOW_MS: i64 = 120_000;
/// A departure this recent is still listed (the bus may be at the stop).
const JUST_LEFT_S: i32 = 60;

/// A stop, the routes serving it, and what arrives next.
#[derive(Clone, Debug, PartialEq)]
pub struct StopArrivals {
    pub stop_id: String,
    pub name: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Route numbers serving the stop, in number order.
    pub routes: Vec<String>,
    pub arrivals: Vec<Arrival>,
}

/// One bus due at the stop.
#[derive(Clone, Debug, PartialEq)]
pub struct Arrival {
    pub route_number: String,
    pub headsign: Option<String>,
    pub trip_id: Option<String>,
    /// The timetable's time (a live bus without a timetable match: its run's).
    pub scheduled_ms: i64,
    /// When a live bus on its way is expected; `None` from the timetable alone.
    pub expected_ms: Option<i64>,
    pub transport_code: Option<String>,
    pub plate: Option<String>,
}

impl Arrival {
    fn due_ms(&self) -> i64 {
        self.expected_ms.unwrap_or(self.scheduled_ms)
    }
}

/// The stop's routes and next arrivals; an unknown city or stop is `NOT_FOUND`.
pub async fn at_stop(app: &App, city: &str, stop_id: &str) -> Result<StopArrivals, ServiceError> {
    let (catalogue_city, data) = crate::transit::city(app, city).await?;
    let (idx, stop) = data.stop(stop_id).ok_or_else(|| {
        ServiceError::new(ErrorCode::NotFound, format!("unknown stop {stop_id:?}"))
    })?;
    let (name, point) = (stop.name.clone(), stop.coordinate);
    let now = Timestamp::from_millisecond(app.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH);
    let zone = catalogue_city.time_zone(now);
    let local = now.to_zoned(zone.clone());
    let date = local.date();
    let midnight_ms = date
        .to_zoned(zone)
        .map_err(|e| ServiceError::internal(format!("midnight of {date}: {e}")))?
        .timestamp()
        .as_millisecond();
    let now_s = i32::from(local.hour()) * 3_600
        + i32::from(local.minute()) * 60
        + i32::from(local.second());
    let planning = std::sync::Arc::clone(&data);
    let (routes, mut arrivals) = tokio::task::spawn_blocking(move || -> Result<_, ServiceError> {
        let timetable = planning.timetable(date)?;
        Ok(scheduled(&timetable, idx, now_s, midnight_ms))
    })
    .await
    .map_err(|e| ServiceError::internal(format!("arrivals worker: {e}")))??;
    let live = match crate::live::approaching(app, city, stop_id).await {
        Ok(live) => live,
        // A city without live data still has its timetable.
        Err(e) if e.code == ErrorCode::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    for bus in live {
        let v = bus.vehicle;
        // The timetable's departure this bus runs: its trip, else the same route and
        // direction due within a minute or two of the bus's own schedule (frequency-based
        // trips share one feed trip).
        let matched = arrivals
            .iter_mut()
            .filter(|a| a.expected_ms.is_none())
            .filter(|a| {
                (a.trip_id.is_some() && a.trip_id == v.trip_id)
                    || (Some(&a.route_number) == v.route_number.as_ref()
                        && (a.headsign.is_none() || a.headsign == bus.headsign)
                        && (a.scheduled_ms - bus.scheduled_ms).abs() <= MATCH_WINDOW_MS)
            })
            .min_by_key(|a| (a.scheduled_ms - bus.scheduled_ms).abs());
        match matched {
            Some(a) => {
                a.expected_ms = Some(bus.expected_ms);
                a.transport_code = v.transport_code;
                a.plate = v.plate;
            }
            None => arrivals.push(Arrival {
                route_number: v.route_number.unwrap_or_default(),
                headsign: bus.headsign,
                trip_id: v.trip_id,
                scheduled_ms: bus.scheduled_ms,
                expected_ms: Some(bus.expected_ms),
                transport_code: v.transport_code,
                plate: v.plate,
            }),
        }
    }
    arrivals.sort_by(|a, b| {
        a.due_ms()
            .cmp(&b.due_ms())
            .then_with(|| a.route_number.cmp(&b.route_number))
    });
    arrivals.truncate(ARRIVALS_MAX);
    Ok(StopArrivals {
        stop_id: stop_id.to_owned(),
        name,
        lat: point.map(|p| p.lat()),
        lon: point.map(|p| p.lon()),
        routes,
        arrivals,
    })
}

/// The route numbers at a stop and the departures a passenger may board there from `now_s`
/// on, within the window, on the timetable's service date.
fn scheduled(
    timetable: &::transit::Timetable,
    stop: StopIdx,
    now_s: i32,
    midnight_ms: i64,
) -> (Vec<String>, Vec<Arrival>) {
    let feed = timetable.feed();
    let mut routes = Vec::new();
    let mut arrivals = Vec::new();
    for at in timetable.routes_at(stop) {
        let pattern = timetable.route(at.route);
        let position = at.position as usize;
        let boards = pattern.flags.get(position).is_some_and(|f| f.can_board());
        // The last stop of a pattern is where its buses end, not where they leave from.
        if !boards || position + 1 >= pattern.stops.len() {
            continue;
        }
        for trip in 0..pattern.trip_count {
            let Some(event) = pattern.events.get(trip * pattern.stops.len() + position) else {
                continue;
            };
            let Some(run) = u32::try_from(trip)
                .ok()
                .and_then(|t| timetable.run(at.route, t))
            else {
                continue;
            };
            let Some(feed_trip) = feed.trip(run.trip) else {
                continue;
            };
            let number = feed
                .line(feed_trip.line)
                .map(|l| l.short_name.clone())
                .unwrap_or_default();
            if !routes.contains(&number) {
                routes.push(number.clone());
            }
            let due = event.departure_s;
            if due < now_s - JUST_LEFT_S || due > now_s + ARRIVALS_WINDOW_S {
                continue;
            }
            arrivals.push(Arrival {
                route_number: number,
                headsign: feed_trip.headsign.clone(),
                trip_id: Some(feed_trip.id.as_str().to_owned()),
                scheduled_ms: midnight_ms + i64::from(due) * 1_000,
                expected_ms: None,
                transport_code: None,
                plate: None,
            });
        }
    }
    routes.sort_by_key(|r| natural(r));
    (routes, arrivals)
}

/// Route numbers in number order: 2 before 10, 10 before 10A.
fn natural(number: &str) -> (u64, String) {
    let digits: String = number.chars().take_while(char::is_ascii_digit).collect();
    (digits.parse().unwrap_or(u64::MAX), number.to_owned())
}
