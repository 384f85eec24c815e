//! The compact in-memory timetable of one service date, built from a [`Feed`]: trips grouped
//! into RAPTOR routes (identical stop sequences, none overtaking another), times in flat
//! trip-major arrays, walking transfers from stop coordinates plus transfers.txt.
//!
//! Built once, immutable, `Send + Sync`: share it with `Arc` and swap the `Arc` to publish a
//! new import while queries keep running on the old one.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::civil::Date;

use crate::geo::{Coordinate, GridIndex, Projection, Xy};
use crate::gtfs::{Feed, TransferKind};
use crate::ids::{RouteIdx, StopIdx, TripIdx};
use crate::nearby::StopLocator;
use crate::spi::{RouteAtStop, RoutePattern, StopEvent, StopFlags, TransitData, WalkEdge};
use crate::time::DAY_S;

/// Default radius of walking transfers between stops, metres.
pub const TRANSFER_WALK_M_DEFAULT: f64 = 400.0;
/// Largest radius of walking transfers between stops, metres.
pub const TRANSFER_WALK_M_MAX: f64 = 2_000.0;
/// Default walking speed, metres per second (about 5 km/h).
pub const WALK_SPEED_M_PER_S_DEFAULT: f64 = 1.4;

/// How to build a timetable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimetableOptions {
    /// Stops closer than this (straight line) get a walking transfer; 0 = none.
    pub transfer_walk_m: f64,
    /// Walking speed for transfer durations.
    pub walk_speed_m_per_s: f64,
    /// Also load the previous service day's trips that run past midnight.
    pub previous_day: PreviousDay,
}

/// Whether trips of the day before the service date are loaded (those still running after
/// midnight, so a journey at 00:30 can use them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreviousDay {
    /// Load them.
    Include,
    /// Only the service date itself.
    Exclude,
}

impl Default for TimetableOptions {
    fn default() -> Self {
        Self {
            transfer_walk_m: TRANSFER_WALK_M_DEFAULT,
            walk_speed_m_per_s: WALK_SPEED_M_PER_S_DEFAULT,
            previous_day: PreviousDay::Include,
        }
    }
}

/// Why a timetable could not be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TimetableError {
    /// Walking radius or speed out of range.
    #[error(
        "walking options out of range: radius {radius_m} m (0..={TRANSFER_WALK_M_MAX}), speed {speed_m_per_s} m/s (0.3..=3)"
    )]
    Walking {
        /// Radius given.
        radius_m: f64,
        /// Speed given.
        speed_m_per_s: f64,
    },
    /// The date has no previous day in the calendar range.
    #[error("date out of range")]
    Date,
}

/// Bookkeeping of one RAPTOR route.
#[derive(Clone, Copy, Debug)]
struct RouteRecord {
    stops_start: u32,
    stop_count: u32,
    trips_start: u32,
    trip_count: u32,
    events_start: u32,
}

/// One run of a feed trip on this timetable: the trip, shifted by whole days and, for a
/// frequency-based trip, by its headway slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TripRun {
    /// The feed trip.
    pub trip: TripIdx,
    /// Seconds added to the feed's times.
    pub shift_s: i32,
}

/// The timetable of one service date.
#[derive(Debug)]
pub struct Timetable {
    feed: Arc<Feed>,
    date: Date,
    options: TimetableOptions,
    stops: StopLocator,
    routes: Vec<RouteRecord>,
    route_stops: Vec<StopIdx>,
    route_flags: Vec<StopFlags>,
    events: Vec<StopEvent>,
    runs: Vec<TripRun>,
    stop_routes_start: Vec<u32>,
    stop_routes: Vec<RouteAtStop>,
    walks_start: Vec<u32>,
    walks: Vec<WalkEdge>,
}

/// A run waiting to be placed into a route.
#[derive(Clone, Copy)]
struct PendingRun {
    run: TripRun,
    first_departure_s: i32,
    last_arrival_s: i32,
}

impl Timetable {
    /// Builds the timetable of `date`.
    pub fn build(
        feed: Arc<Feed>,
        date: Date,
        options: TimetableOptions,
    ) -> Result<Self, TimetableError> {
        let walk_ok = (0.0..=TRANSFER_WALK_M_MAX).contains(&options.transfer_walk_m)
            && (0.3..=3.0).contains(&options.walk_speed_m_per_s);
        if !walk_ok {
            return Err(TimetableError::Walking {
                radius_m: options.transfer_walk_m,
                speed_m_per_s: options.walk_speed_m_per_s,
            });
        }
        let stops = StopLocator::new(&feed);
        let located = stops.located();
        let patterns = group_runs(&feed, date, options.previous_day)?;
        let mut timetable = Self {
            feed,
            date,
            options,
            stops,
            routes: Vec::new(),
            route_stops: Vec::new(),
            route_flags: Vec::new(),
            events: Vec::new(),
            runs: Vec::new(),
            stop_routes_start: Vec::new(),
            stop_routes: Vec::new(),
            walks_start: Vec::new(),
            walks: Vec::new(),
        };
        for (key, runs) in patterns {
            timetable.add_pattern(&key, runs);
        }
        timetable.index_stop_routes();
        timetable.build_walks(&located);
        Ok(timetable)
    }

    /// Splits one stop pattern's runs into non-overtaking routes and stores them.
    fn add_pattern(&mut self, key: &[u32], mut runs: Vec<PendingRun>) {
        runs.sort_by_key(|r| (r.first_departure_s, r.last_arrival_s, r.run.trip));
        let mut bins: Vec<Vec<PendingRun>> = Vec::new();
        for run in runs {
            let fits = |bin: &Vec<PendingRun>| {
                bin.last()
                    .is_some_and(|last| !self.overtakes(last.run, run.run))
            };
            match bins.iter_mut().find(|bin| fits(bin)) {
                Some(bin) => bin.push(run),
                None => bins.push(vec![run]),
            }
        }
        for bin in bins {
            let record = RouteRecord {
                stops_start: self.route_stops.len() as u32,
                stop_count: key.len() as u32,
                trips_start: self.runs.len() as u32,
                trip_count: bin.len() as u32,
                events_start: self.events.len() as u32,
            };
            for &entry in key {
                self.route_stops.push(StopIdx::new(entry >> 2));
                self.route_flags
                    .push(StopFlags::new(entry & 1 != 0, entry & 2 != 0));
            }
            for pending in bin {
                let run = pending.run;
                let calls = self.feed.stop_times_of(run.trip);
                self.events.extend(calls.iter().map(|c| StopEvent {
                    arrival_s: c.arrival_s + run.shift_s,
                    departure_s: c.departure_s + run.shift_s,
                }));
                self.runs.push(run);
            }
            self.routes.push(record);
        }
    }

    /// Whether `later` (sorted after `earlier`) departs or arrives earlier at some stop.
    fn overtakes(&self, earlier: TripRun, later: TripRun) -> bool {
        let a = self.feed.stop_times_of(earlier.trip);
        let b = self.feed.stop_times_of(later.trip);
        a.iter().zip(b).any(|(x, y)| {
            y.departure_s + later.shift_s < x.departure_s + earlier.shift_s
                || y.arrival_s + later.shift_s < x.arrival_s + earlier.shift_s
        })
    }

    fn index_stop_routes(&mut self) {
        let mut entries: Vec<(StopIdx, RouteAtStop)> = Vec::with_capacity(self.route_stops.len());
        for (r, record) in self.routes.iter().enumerate() {
            let start = record.stops_start as usize;
            let stops = self
                .route_stops
                .get(start..start + record.stop_count as usize);
            for (position, &stop) in stops.unwrap_or(&[]).iter().enumerate() {
                let route = RouteIdx::new(r as u32);
                entries.push((
                    stop,
                    RouteAtStop {
                        route,
                        position: position as u32,
                    },
                ));
            }
        }
        entries.sort_by_key(|(stop, at)| (*stop, at.route, at.position));
        entries.dedup_by_key(|(stop, at)| (*stop, at.route));
        let (start, items) = compress(self.feed.stops.len(), entries);
        self.stop_routes_start = start;
        self.stop_routes = items;
    }

    fn build_walks(&mut self, located: &[(u32, Xy)]) {
        let radius = self.options.transfer_walk_m;
        let speed = self.options.walk_speed_m_per_s;
        let mut edges: HashMap<(StopIdx, StopIdx), WalkEdge> = HashMap::new();
        if radius > 0.0 {
            let grid = GridIndex::new(located, radius);
            for &(from, point) in located {
                grid.for_each_within(point, radius, |to, distance_m| {
                    if to != from {
                        let edge = WalkEdge {
                            to: StopIdx::new(to),
                            duration_s: walk_duration_s(distance_m, speed),
                            distance_m: distance_m as f32,
                        };
                        edges.insert((StopIdx::new(from), StopIdx::new(to)), edge);
                    }
                });
            }
        }
        for transfer in &self.feed.transfers {
            let key = (transfer.from, transfer.to);
            if transfer.from == transfer.to || transfer.kind == TransferKind::InSeat {
                continue;
            }
            if transfer.kind == TransferKind::Impossible {
                edges.remove(&key);
                continue;
            }
            let distance_m = self
                .distance_between(transfer.from, transfer.to)
                .unwrap_or(0.0);
            let walk_s = walk_duration_s(distance_m, speed);
            let duration_s = transfer.min_time_s.map_or(walk_s, |min| min.max(walk_s));
            let edge = WalkEdge {
                to: transfer.to,
                duration_s,
                distance_m: distance_m as f32,
            };
            edges.insert(key, edge);
        }
        let mut list: Vec<(StopIdx, WalkEdge)> = edges
            .into_iter()
            .map(|((from, _), edge)| (from, edge))
            .collect();
        list.sort_by_key(|(from, edge)| (*from, edge.duration_s, edge.to));
        let (start, items) = compress(self.feed.stops.len(), list);
        self.walks_start = start;
        self.walks = items;
    }

    /// The feed this timetable was built from.
    pub fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }

    /// The service date.
    pub fn date(&self) -> Date {
        self.date
    }

    /// The options it was built with.
    pub fn options(&self) -> TimetableOptions {
        self.options
    }

    /// The projection used for distances.
    pub fn projection(&self) -> &Projection {
        self.stops.projection()
    }

    /// Straight-line distance between two stops with coordinates, metres.
    pub fn distance_between(&self, a: StopIdx, b: StopIdx) -> Option<f64> {
        self.stops.distance_between(a, b)
    }

    /// Stops within `radius_m` of a point, nearest first, at most `limit`.
    pub fn stops_near(
        &self,
        point: Coordinate,
        radius_m: f64,
        limit: usize,
    ) -> Vec<(StopIdx, f64)> {
        self.stops.stops_near(point, radius_m, limit, |_| true)
    }

    /// The run of a trip position on a route.
    pub fn run(&self, route: RouteIdx, trip_position: u32) -> Option<TripRun> {
        let record = self.routes.get(route.index())?;
        if trip_position >= record.trip_count {
            return None;
        }
        self.runs
            .get((record.trips_start + trip_position) as usize)
            .copied()
    }

    /// Number of trip runs loaded (frequency runs and previous-day runs included).
    pub fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// Number of walking transfers.
    pub fn walk_count(&self) -> usize {
        self.walks.len()
    }

    /// Whether some route serves the stop.
    pub fn is_served(&self, stop: StopIdx) -> bool {
        !self.routes_at(stop).is_empty()
    }
}

/// Walking time for a distance, whole seconds rounded up.
pub fn walk_duration_s(distance_m: f64, speed_m_per_s: f64) -> u32 {
    (distance_m / speed_m_per_s).ceil().max(0.0) as u32
}

/// Turns `(key, item)` pairs sorted by key into CSR offsets and items.
fn compress<T>(key_count: usize, sorted: Vec<(StopIdx, T)>) -> (Vec<u32>, Vec<T>) {
    let mut start = vec![0u32; key_count + 1];
    for (key, _) in &sorted {
        if let Some(count) = start.get_mut(key.index() + 1) {
            *count += 1;
        }
    }
    for i in 1..start.len() {
        let previous = start.get(i - 1).copied().unwrap_or(0);
        if let Some(count) = start.get_mut(i) {
            *count += previous;
        }
    }
    (start, sorted.into_iter().map(|(_, item)| item).collect())
}

type PatternKey = Vec<u32>;

/// Runs of every trip active around `date`, grouped by stop pattern (stop and permissions
/// per call), in a deterministic order.
fn group_runs(
    feed: &Feed,
    date: Date,
    previous_day: PreviousDay,
) -> Result<Vec<(PatternKey, Vec<PendingRun>)>, TimetableError> {
    let mut days = vec![(date, 0)];
    if previous_day == PreviousDay::Include {
        days.push((date.yesterday().map_err(|_| TimetableError::Date)?, -DAY_S));
    }
    let mut frequencies: HashMap<TripIdx, Vec<usize>> = HashMap::new();
    for (i, f) in feed.frequencies.iter().enumerate() {
        frequencies.entry(f.trip).or_default().push(i);
    }
    let mut pattern_of: HashMap<PatternKey, usize> = HashMap::new();
    let mut patterns: Vec<(PatternKey, Vec<PendingRun>)> = Vec::new();
    for (day, day_shift) in days {
        let running: Vec<bool> = feed.services.iter().map(|s| s.runs_on(day)).collect();
        for (t, trip) in feed.trips.iter().enumerate() {
            let trip_idx = TripIdx::new(t as u32);
            let calls = feed.stop_times_of(trip_idx);
            let (Some(first), Some(last)) = (calls.first(), calls.last()) else {
                continue;
            };
            if !running.get(trip.service.index()).copied().unwrap_or(false) {
                continue;
            }
            let shifts = run_shifts(feed, frequencies.get(&trip_idx), first.departure_s);
            let key: PatternKey = calls
                .iter()
                .map(|c| c.stop.get() << 2 | u32::from(StopFlags::new(c.pickup, c.drop_off).bits()))
                .collect();
            let slot = match pattern_of.get(&key) {
                Some(&slot) => slot,
                None => {
                    pattern_of.insert(key.clone(), patterns.len());
                    patterns.push((key, Vec::new()));
                    patterns.len() - 1
                }
            };
            let Some((_, runs)) = patterns.get_mut(slot) else {
                continue;
            };
            for shift in shifts {
                let shift_s = shift + day_shift;
                if last.arrival_s + shift_s < 0 {
                    continue;
                }
                runs.push(PendingRun {
                    run: TripRun {
                        trip: trip_idx,
                        shift_s,
                    },
                    first_departure_s: first.departure_s + shift_s,
                    last_arrival_s: last.arrival_s + shift_s,
                });
            }
        }
    }
    patterns.retain(|(_, runs)| !runs.is_empty());
    Ok(patterns)
}

/// Shifts of a trip's runs: one run as scheduled, or one per headway slot.
fn run_shifts(feed: &Feed, frequencies: Option<&Vec<usize>>, first_departure_s: i32) -> Vec<i32> {
    let Some(entries) = frequencies else {
        return vec![0];
    };
    let mut shifts = Vec::new();
    for f in entries.iter().filter_map(|&i| feed.frequencies.get(i)) {
        let mut start = f.start_s;
        while start < f.end_s {
            shifts.push(start - first_departure_s);
            start += f.headway_s.max(1) as i32;
        }
    }
    shifts
}

impl TransitData for Timetable {
    fn stop_count(&self) -> usize {
        self.feed.stops.len()
    }

    fn route_count(&self) -> usize {
        self.routes.len()
    }

    fn routes_at(&self, stop: StopIdx) -> &[RouteAtStop] {
        let start = self
            .stop_routes_start
            .get(stop.index())
            .copied()
            .unwrap_or(0) as usize;
        let end = self
            .stop_routes_start
            .get(stop.index() + 1)
            .copied()
            .unwrap_or(0) as usize;
        self.stop_routes.get(start..end).unwrap_or(&[])
    }

    fn route(&self, route: RouteIdx) -> RoutePattern<'_> {
        let Some(record) = self.routes.get(route.index()) else {
            return RoutePattern {
                stops: &[],
                flags: &[],
                events: &[],
                trip_count: 0,
            };
        };
        let stops = record.stops_start as usize..(record.stops_start + record.stop_count) as usize;
        let events_len = record.stop_count as usize * record.trip_count as usize;
        let events = record.events_start as usize..record.events_start as usize + events_len;
        RoutePattern {
            stops: self.route_stops.get(stops.clone()).unwrap_or(&[]),
            flags: self.route_flags.get(stops).unwrap_or(&[]),
            events: self.events.get(events).unwrap_or(&[]),
            trip_count: record.trip_count as usize,
        }
    }

    fn walks_from(&self, stop: StopIdx) -> &[WalkEdge] {
        let start = self.walks_start.get(stop.index()).copied().unwrap_or(0) as usize;
        let end = self.walks_start.get(stop.index() + 1).copied().unwrap_or(0) as usize;
        self.walks.get(start..end).unwrap_or(&[])
    }
}
