//! The journey planner: turns a passenger's question (from a stop or a point, to a stop or a
//! point, leaving at a time, with options) into a few good journeys, by running RAPTOR over a
//! shared [`Timetable`] and dressing the result in GTFS ids, walks and geometry.
//!
//! "Good" means: the Pareto set of arrival time and transfers, where an extra transfer must
//! save at least [`TRANSFER_SAVING_S_MIN`]; a pure walk is offered when it is faster than the
//! fastest ride, or when it is short (within the query's walking limit) and at most
//! [`PURE_WALK_SLACK_S`] slower; any journey the walk beats is dropped.

use std::sync::Arc;

use crate::geo::Coordinate;
use crate::ids::{RouteIdx, StopIdx};
use crate::journey::{Journey, Leg, Place, RideLeg, WalkLeg};
use crate::network::ride_geometry;
use crate::raptor::{self, OriginWalks, ParetoArrival, RaptorQuery, RawJourney, RawLeg, WalkLimit};
use crate::spi::TransitData;
use crate::time::{DAY_S, ServiceTime};
use crate::timetable::{Timetable, walk_duration_s};

/// Default most transfers.
pub const MAX_TRANSFERS_DEFAULT: u32 = 8;
/// Most transfers a query may ask for.
pub const MAX_TRANSFERS_LIMIT: u32 = 12;
/// Default longest walk of one leg (to the first stop, between stops, from the last stop).
pub const MAX_WALK_M_DEFAULT: u32 = 800;
/// Longest walk of one leg a query may ask for.
pub const MAX_WALK_M_LIMIT: u32 = 2_000;
/// Longest walk offered as a journey on its own.
pub const DIRECT_WALK_M_MAX: u32 = 3_000;
/// Default search window: journeys arriving later than departure + this are not searched.
pub const SEARCH_WINDOW_S_DEFAULT: u32 = 4 * 3600;
/// Largest search window a query may ask for.
pub const SEARCH_WINDOW_S_LIMIT: u32 = 24 * 3600;
/// Default number of journeys returned.
pub const RESULTS_DEFAULT: usize = 5;
/// Most journeys a query may ask for.
pub const RESULTS_LIMIT: usize = 10;
/// Most stops considered around an origin or destination point.
pub const ACCESS_STOPS_MAX: usize = 40;
/// A pure walk is offered when it arrives at most this much later than the fastest ride.
pub const PURE_WALK_SLACK_S: i32 = 300;
/// An extra transfer must save at least this much.
pub const TRANSFER_SAVING_S_MIN: i32 = 120;
/// Walking speeds accepted, m/s.
pub const WALK_SPEED_M_PER_S_RANGE: (f64, f64) = (0.5, 2.5);

/// Why a plan request was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// An option is out of its range.
    #[error("{option} must be within {min}..={max}")]
    OptionOutOfRange {
        /// Which option.
        option: &'static str,
        /// Lowest allowed.
        min: f64,
        /// Highest allowed.
        max: f64,
    },
    /// A stop index is not in this timetable.
    #[error("unknown stop {0}")]
    UnknownStop(StopIdx),
    /// An endpoint has no stop within the walking distance.
    #[error("no stop within {walk_m} m of the {end}")]
    NoStopNearby {
        /// "origin" or "destination".
        end: &'static str,
        /// The walking limit used.
        walk_m: u32,
    },
}

/// Options of one plan request, each checked against its limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlanOptions {
    max_transfers: u32,
    max_walk_m: u32,
    walk_speed_m_per_s: f64,
    search_window_s: u32,
    max_results: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            max_transfers: MAX_TRANSFERS_DEFAULT,
            max_walk_m: MAX_WALK_M_DEFAULT,
            walk_speed_m_per_s: crate::timetable::WALK_SPEED_M_PER_S_DEFAULT,
            search_window_s: SEARCH_WINDOW_S_DEFAULT,
            max_results: RESULTS_DEFAULT,
        }
    }
}

fn check<T: Into<f64> + Copy>(
    option: &'static str,
    value: T,
    min: T,
    max: T,
) -> Result<(), PlanError> {
    let (v, low, high) = (value.into(), min.into(), max.into());
    if (low..=high).contains(&v) {
        Ok(())
    } else {
        Err(PlanError::OptionOutOfRange {
            option,
            min: low,
            max: high,
        })
    }
}

impl PlanOptions {
    /// Sets the most transfers (0..=[`MAX_TRANSFERS_LIMIT`]).
    pub fn with_max_transfers(mut self, transfers: u32) -> Result<Self, PlanError> {
        check("max_transfers", transfers, 0, MAX_TRANSFERS_LIMIT)?;
        self.max_transfers = transfers;
        Ok(self)
    }

    /// Sets the longest walk of one leg (0..=[`MAX_WALK_M_LIMIT`] metres).
    pub fn with_max_walk_m(mut self, metres: u32) -> Result<Self, PlanError> {
        check("max_walk_m", metres, 0, MAX_WALK_M_LIMIT)?;
        self.max_walk_m = metres;
        Ok(self)
    }

    /// Sets the walking speed (within [`WALK_SPEED_M_PER_S_RANGE`]).
    pub fn with_walk_speed_m_per_s(mut self, speed: f64) -> Result<Self, PlanError> {
        let (low, high) = WALK_SPEED_M_PER_S_RANGE;
        check("walk_speed_m_per_s", speed, low, high)?;
        self.walk_speed_m_per_s = speed;
        Ok(self)
    }

    /// Sets the search window (1..=[`SEARCH_WINDOW_S_LIMIT`] seconds).
    pub fn with_search_window_s(mut self, seconds: u32) -> Result<Self, PlanError> {
        check("search_window_s", seconds, 1, SEARCH_WINDOW_S_LIMIT)?;
        self.search_window_s = seconds;
        Ok(self)
    }

    /// Sets how many journeys to return (1..=[`RESULTS_LIMIT`]).
    pub fn with_max_results(mut self, results: usize) -> Result<Self, PlanError> {
        check("max_results", results as u32, 1, RESULTS_LIMIT as u32)?;
        self.max_results = results;
        Ok(self)
    }

    /// Most transfers.
    pub fn max_transfers(&self) -> u32 {
        self.max_transfers
    }

    /// Longest walk of one leg, metres.
    pub fn max_walk_m(&self) -> u32 {
        self.max_walk_m
    }
}

/// The earliest arrival at a stop and the fewest transfers that reach it then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EarliestArrival {
    /// Arrival.
    pub arrival: ServiceTime,
    /// Transfers (rides - 1, or 0 when no ride is needed).
    pub transfers: u32,
}

/// Plans journeys over one timetable. Cheap to clone; holds no per-query state.
#[derive(Clone, Debug)]
pub struct Planner {
    timetable: Arc<Timetable>,
}

impl Planner {
    /// A planner over a timetable.
    pub fn new(timetable: Arc<Timetable>) -> Self {
        Self { timetable }
    }

    /// The timetable.
    pub fn timetable(&self) -> &Arc<Timetable> {
        &self.timetable
    }

    /// Stop to stop, earliest arrival only: the fast path used by `plan-batch` and the bench.
    /// Walks between stops use the timetable's radius; there is no search window.
    pub fn earliest_arrival(
        &self,
        from: StopIdx,
        to: StopIdx,
        departure: ServiceTime,
        max_transfers: u32,
    ) -> Option<EarliestArrival> {
        let origins = [(from, departure.seconds())];
        let targets = [(to, 0)];
        let query = RaptorQuery {
            origins: &origins,
            targets: &targets,
            max_rides: max_transfers.min(MAX_TRANSFERS_LIMIT) as usize + 1,
            walk: WalkLimit {
                max_m: f32::MAX,
                speed_m_per_s: None,
            },
            walk_from_origins: OriginWalks::Allowed,
            arrival_limit_s: departure.seconds().saturating_add(2 * DAY_S),
        };
        let front = raptor::pareto_arrivals(self.timetable.as_ref(), &query);
        let last = front.last()?;
        Some(EarliestArrival {
            arrival: ServiceTime::from_seconds(last.arrival_s)?,
            transfers: last.rides.saturating_sub(1) as u32,
        })
    }

    /// Journeys from `from` to `to` leaving at `departure`.
    pub fn plan(
        &self,
        from: Place,
        to: Place,
        departure: ServiceTime,
        options: &PlanOptions,
    ) -> Result<Vec<Journey>, PlanError> {
        let speed = options.walk_speed_m_per_s;
        let dep = departure.seconds();
        let origins: Vec<(StopIdx, i32)> = self
            .endpoint_stops(from, options, "origin")?
            .into_iter()
            .map(|(stop, walk_s)| (stop, dep + walk_s as i32))
            .collect();
        let targets = self.endpoint_stops(to, options, "destination")?;
        let tt_options = self.timetable.options();
        let query = RaptorQuery {
            origins: &origins,
            targets: &targets,
            max_rides: options.max_transfers as usize + 1,
            walk: WalkLimit {
                max_m: options.max_walk_m as f32,
                speed_m_per_s: (speed != tt_options.walk_speed_m_per_s).then_some(speed),
            },
            walk_from_origins: match from {
                Place::Stop(_) => OriginWalks::Allowed,
                Place::Point(_) => OriginWalks::Forbidden,
            },
            arrival_limit_s: dep.saturating_add(options.search_window_s as i32),
        };
        let raw = raptor::pareto_journeys(self.timetable.as_ref(), &query);
        let mut journeys: Vec<Journey> = Vec::new();
        let mut last_kept: Option<i32> = None;
        for journey in raw.iter().filter(|j| j.arrival.rides > 0) {
            let saves_enough = last_kept
                .is_none_or(|kept| journey.arrival.arrival_s + TRANSFER_SAVING_S_MIN <= kept);
            if saves_enough {
                last_kept = Some(journey.arrival.arrival_s);
                journeys.push(self.dress(journey, from, to, departure));
            }
        }
        if let Some(walk) = self.direct_walk(from, to, departure, speed) {
            let fastest_ride = journeys.iter().map(|j| j.arrival).min();
            let short = walk.walk_distance_m() <= options.max_walk_m;
            let comparable = |ride: ServiceTime| {
                walk.arrival <= ride
                    || (short && walk.arrival.seconds() <= ride.seconds() + PURE_WALK_SLACK_S)
            };
            if fastest_ride.is_none_or(comparable) {
                journeys.retain(|j| j.arrival < walk.arrival);
                journeys.push(walk);
            }
        }
        journeys.sort_by_key(|j| (j.arrival, j.transfers));
        journeys.truncate(options.max_results);
        Ok(journeys)
    }

    /// Stops of an endpoint with the walk between them and the endpoint, seconds.
    fn endpoint_stops(
        &self,
        place: Place,
        options: &PlanOptions,
        end: &'static str,
    ) -> Result<Vec<(StopIdx, u32)>, PlanError> {
        match place {
            Place::Stop(stop) if stop.index() < self.timetable.stop_count() => Ok(vec![(stop, 0)]),
            Place::Stop(stop) => Err(PlanError::UnknownStop(stop)),
            Place::Point(point) => {
                let near = self.timetable.stops_near(
                    point,
                    f64::from(options.max_walk_m),
                    ACCESS_STOPS_MAX * 4,
                );
                let stops: Vec<(StopIdx, u32)> = near
                    .into_iter()
                    .filter(|(stop, _)| self.timetable.is_served(*stop))
                    .take(ACCESS_STOPS_MAX)
                    .map(|(stop, d)| (stop, walk_duration_s(d, options.walk_speed_m_per_s)))
                    .collect();
                if stops.is_empty() {
                    return Err(PlanError::NoStopNearby {
                        end,
                        walk_m: options.max_walk_m,
                    });
                }
                Ok(stops)
            }
        }
    }

    fn coordinate_of(&self, place: Place) -> Option<Coordinate> {
        match place {
            Place::Point(c) => Some(c),
            Place::Stop(stop) => self.timetable.feed().stop(stop)?.coordinate,
        }
    }

    fn direct_walk(
        &self,
        from: Place,
        to: Place,
        departure: ServiceTime,
        speed: f64,
    ) -> Option<Journey> {
        let (a, b) = (self.coordinate_of(from)?, self.coordinate_of(to)?);
        let distance_m = self.timetable.projection().distance_m(a, b);
        if distance_m > f64::from(DIRECT_WALK_M_MAX) {
            return None;
        }
        let duration_s = walk_duration_s(distance_m, speed);
        let arrival = ServiceTime::from_seconds(departure.seconds() + duration_s as i32)?;
        let leg = WalkLeg {
            from,
            to,
            distance_m: distance_m.round() as u32,
            duration_s,
            departure,
            arrival,
        };
        Some(Journey {
            legs: vec![Leg::Walk(leg)],
            departure,
            arrival,
            transfers: 0,
        })
    }

    /// Turns a raw journey into legs with ids, times and geometry.
    fn dress(&self, raw: &RawJourney, from: Place, to: Place, departure: ServiceTime) -> Journey {
        let mut legs = Vec::with_capacity(raw.legs.len() + 2);
        let (origin, ready_s) = raw.origin;
        if let Place::Point(_) = from {
            let walk_s = (ready_s - departure.seconds()).max(0) as u32;
            legs.push(Leg::Walk(self.walk_leg(
                from,
                Place::Stop(origin),
                departure.seconds(),
                walk_s,
            )));
        }
        for leg in &raw.legs {
            match *leg {
                RawLeg::Walk {
                    from,
                    to,
                    duration_s,
                    arrival_s,
                } => {
                    let start = arrival_s - duration_s as i32;
                    legs.push(Leg::Walk(self.walk_leg(
                        Place::Stop(from),
                        Place::Stop(to),
                        start,
                        duration_s,
                    )));
                }
                RawLeg::Ride {
                    route,
                    trip_position,
                    board_position,
                    alight_position,
                } => {
                    if let Some(ride) =
                        self.ride_leg(route, trip_position, board_position, alight_position)
                    {
                        legs.push(Leg::Ride(ride));
                    }
                }
            }
        }
        let arrival_s = raw.arrival.arrival_s;
        if let Place::Point(_) = to {
            let ParetoArrival {
                target, egress_s, ..
            } = raw.arrival;
            let start = arrival_s - egress_s as i32;
            legs.push(Leg::Walk(self.walk_leg(
                Place::Stop(target),
                to,
                start,
                egress_s,
            )));
        }
        let departure = leave_as_late_as_possible(&mut legs, departure);
        Journey {
            legs,
            departure,
            arrival: ServiceTime::from_seconds(arrival_s).unwrap_or(departure),
            transfers: raw.arrival.rides.saturating_sub(1) as u32,
        }
    }

    fn walk_leg(&self, from: Place, to: Place, start_s: i32, duration_s: u32) -> WalkLeg {
        let distance_m = match (self.coordinate_of(from), self.coordinate_of(to)) {
            (Some(a), Some(b)) => self.timetable.projection().distance_m(a, b).round() as u32,
            _ => 0,
        };
        let departure = ServiceTime::from_seconds(start_s).unwrap_or(ServiceTime::MIDNIGHT);
        let arrival = ServiceTime::from_seconds(start_s + duration_s as i32).unwrap_or(departure);
        WalkLeg {
            from,
            to,
            distance_m,
            duration_s,
            departure,
            arrival,
        }
    }

    fn ride_leg(
        &self,
        route: RouteIdx,
        trip_position: u32,
        board: u32,
        alight: u32,
    ) -> Option<RideLeg> {
        let run = self.timetable.run(route, trip_position)?;
        let pattern = self.timetable.route(route);
        let width = pattern.stops.len();
        let event = |position: u32| {
            pattern
                .events
                .get(trip_position as usize * width + position as usize)
        };
        let feed = self.timetable.feed();
        let trip = feed.trip(run.trip)?;
        let line = feed.line(trip.line)?;
        Some(RideLeg {
            line: trip.line,
            route_id: line.id.clone(),
            route_short_name: line.short_name.clone(),
            trip_id: trip.id.clone(),
            from: *pattern.stops.get(board as usize)?,
            to: *pattern.stops.get(alight as usize)?,
            departure: ServiceTime::from_seconds(event(board)?.departure_s)?,
            arrival: ServiceTime::from_seconds(event(alight)?.arrival_s)?,
            stop_count: alight.saturating_sub(board),
            geometry: ride_geometry(feed, run.trip, board as usize, alight as usize),
        })
    }
}

/// The passenger need not set off at the query's time and wait at the stop: the walks before
/// the first ride are moved to end when that ride leaves, and the journey starts then.
fn leave_as_late_as_possible(legs: &mut [Leg], departure: ServiceTime) -> ServiceTime {
    let Some(first_ride) = legs.iter().position(|leg| matches!(leg, Leg::Ride(_))) else {
        return departure;
    };
    let (before, rest) = legs.split_at_mut(first_ride);
    let Some(Leg::Ride(ride)) = rest.first() else {
        return departure;
    };
    let walking_s: i32 = before
        .iter()
        .map(|leg| match leg {
            Leg::Walk(walk) => walk.duration_s as i32,
            Leg::Ride(_) => 0,
        })
        .sum();
    let slack_s = ride.departure.seconds() - walking_s - departure.seconds();
    if slack_s <= 0 {
        return departure;
    }
    let mut at = departure.seconds() + slack_s;
    for leg in before.iter_mut() {
        if let Leg::Walk(walk) = leg {
            walk.departure = ServiceTime::from_seconds(at).unwrap_or(walk.departure);
            at += walk.duration_s as i32;
            walk.arrival = ServiceTime::from_seconds(at).unwrap_or(walk.arrival);
        }
    }
    ServiceTime::from_seconds(departure.seconds() + slack_s).unwrap_or(departure)
}
