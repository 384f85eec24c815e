//! The planner's view of a timetable: dense indices and seconds, nothing else
//! (after OpenTripPlanner's `raptor/spi`). [`crate::Timetable`] implements it; a test or a
//! live-data overlay may implement it too.
//!
//! Contract: within one route every trip visits the same stops, and trips are sorted so that
//! none overtakes another (departures and arrivals at every stop are non-decreasing in trip
//! order). Events are stored trip-major: `events[trip * stops.len() + position]`.

use crate::ids::{RouteIdx, StopIdx};

/// Arrival and departure of one trip at one stop of its route, seconds on the service day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopEvent {
    /// Arrival.
    pub arrival_s: i32,
    /// Departure.
    pub departure_s: i32,
}

/// Whether passengers may board or alight at a stop of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StopFlags(u8);

impl StopFlags {
    const BOARD: u8 = 1;
    const ALIGHT: u8 = 2;

    /// Flags from the two permissions.
    pub fn new(pickup: bool, drop_off: bool) -> Self {
        Self((u8::from(pickup) * Self::BOARD) | (u8::from(drop_off) * Self::ALIGHT))
    }

    /// Boarding allowed.
    pub fn can_board(self) -> bool {
        self.0 & Self::BOARD != 0
    }

    /// Alighting allowed.
    pub fn can_alight(self) -> bool {
        self.0 & Self::ALIGHT != 0
    }

    pub(crate) fn bits(self) -> u8 {
        self.0
    }
}

/// One route as the planner sees it.
#[derive(Clone, Copy, Debug)]
pub struct RoutePattern<'a> {
    /// Stops in order.
    pub stops: &'a [StopIdx],
    /// Permissions per stop, parallel to `stops`.
    pub flags: &'a [StopFlags],
    /// Events, trip-major.
    pub events: &'a [StopEvent],
    /// Number of trips.
    pub trip_count: usize,
}

/// A route serving a stop, and where the stop is on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteAtStop {
    /// The route.
    pub route: RouteIdx,
    /// Position of the stop on the route.
    pub position: u32,
}

/// A walk between two stops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WalkEdge {
    /// Destination stop.
    pub to: StopIdx,
    /// Duration at the timetable's walking speed (or the feed's `min_transfer_time`).
    pub duration_s: u32,
    /// Straight-line distance, metres (0 for a transfers.txt entry without coordinates).
    pub distance_m: f32,
}

/// A timetable the planner can search.
pub trait TransitData: Send + Sync {
    /// Number of stops; stop indices are `0..stop_count()`.
    fn stop_count(&self) -> usize;
    /// Number of routes; route indices are `0..route_count()`.
    fn route_count(&self) -> usize;
    /// Routes serving a stop.
    fn routes_at(&self, stop: StopIdx) -> &[RouteAtStop];
    /// A route; an empty pattern for an index out of range.
    fn route(&self, route: RouteIdx) -> RoutePattern<'_>;
    /// Walks starting at a stop.
    fn walks_from(&self, stop: StopIdx) -> &[WalkEdge];
}
