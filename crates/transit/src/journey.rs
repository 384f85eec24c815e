//! Journeys as the passenger sees them: walk and ride legs with GTFS ids, times, distances and
//! map geometry; and the fare hook, the one place where a caller attaches its fare rules.

use crate::geo::Coordinate;
use crate::ids::{GtfsRouteId, GtfsTripId, LineIdx, StopIdx};
use crate::time::ServiceTime;

/// Where a walk starts or ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Place {
    /// A stop of the feed.
    Stop(StopIdx),
    /// A point (the passenger's position, an address, a point on the map).
    Point(Coordinate),
}

/// A walk.
#[derive(Clone, Debug, PartialEq)]
pub struct WalkLeg {
    /// From.
    pub from: Place,
    /// To.
    pub to: Place,
    /// Straight-line distance, metres.
    pub distance_m: u32,
    /// Walking time, seconds (waiting afterwards is not included).
    pub duration_s: u32,
    /// When the walk starts.
    pub departure: ServiceTime,
    /// When it ends.
    pub arrival: ServiceTime,
}

/// A ride on one trip.
#[derive(Clone, Debug, PartialEq)]
pub struct RideLeg {
    /// The GTFS route.
    pub line: LineIdx,
    /// Its `route_id`, what fares are attached to.
    pub route_id: GtfsRouteId,
    /// Its short name, the number on the bus.
    pub route_short_name: String,
    /// The trip.
    pub trip_id: GtfsTripId,
    /// Where one boards.
    pub from: StopIdx,
    /// Where one alights.
    pub to: StopIdx,
    /// Departure from `from`.
    pub departure: ServiceTime,
    /// Arrival at `to`.
    pub arrival: ServiceTime,
    /// Stops travelled (alighting stop included, boarding stop not).
    pub stop_count: u32,
    /// The line on the map: the slice of the trip's shape, or the stops' coordinates.
    pub geometry: Vec<Coordinate>,
}

/// One leg of a journey.
#[derive(Clone, Debug, PartialEq)]
pub enum Leg {
    /// Walking.
    Walk(WalkLeg),
    /// Riding.
    Ride(RideLeg),
}

/// A journey from origin to destination.
#[derive(Clone, Debug, PartialEq)]
pub struct Journey {
    /// Legs in order.
    pub legs: Vec<Leg>,
    /// When the passenger sets off (the query's departure).
    pub departure: ServiceTime,
    /// When the passenger reaches the destination.
    pub arrival: ServiceTime,
    /// Changes between vehicles (rides - 1, or 0).
    pub transfers: u32,
}

impl Journey {
    /// Total duration, seconds.
    pub fn duration_s(&self) -> i32 {
        self.arrival.seconds() - self.departure.seconds()
    }

    /// The ride legs, in order.
    pub fn rides(&self) -> impl Iterator<Item = &RideLeg> {
        self.legs.iter().filter_map(|leg| match leg {
            Leg::Ride(ride) => Some(ride),
            Leg::Walk(_) => None,
        })
    }

    /// Total walking distance, metres.
    pub fn walk_distance_m(&self) -> u32 {
        self.legs
            .iter()
            .map(|leg| match leg {
                Leg::Walk(walk) => walk.distance_m,
                Leg::Ride(_) => 0,
            })
            .sum()
    }

    /// The fare of this journey under `rules`, `None` when the rules cannot price it.
    pub fn fare<F: FareRules>(&self, rules: &F) -> Option<F::Fare> {
        let rides: Vec<FareRide<'_>> = self
            .rides()
            .map(|r| FareRide {
                route_id: &r.route_id,
                from: r.from,
                to: r.to,
                departure: r.departure,
            })
            .collect();
        rules.fare(&rides)
    }
}

/// What fare rules see of one ride.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FareRide<'a> {
    /// The GTFS route ridden; the catalogue links it to its fare.
    pub route_id: &'a GtfsRouteId,
    /// Boarding stop (for zone fares).
    pub from: StopIdx,
    /// Alighting stop.
    pub to: StopIdx,
    /// Boarding time (for transfer windows).
    pub departure: ServiceTime,
}

/// A city's fare rules, implemented outside this crate (fares are money, and money lives in
/// the domain crate).
pub trait FareRules {
    /// The price type, e.g. an integer amount of tenge.
    type Fare;
    /// The fare of a journey's rides, `None` when some ride cannot be priced.
    fn fare(&self, rides: &[FareRide<'_>]) -> Option<Self::Fare>;
}
