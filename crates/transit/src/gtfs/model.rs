//! The parsed feed: plain records with dense indices in place of string references, so that
//! everything built on top (timetable, network queries, search) never looks up a string.

use std::collections::HashMap;

use jiff::civil::Date;

use super::error::ImportReport;
use crate::geo::Coordinate;
use crate::ids::{
    GtfsRouteId, GtfsStopId, GtfsTripId, LineIdx, ServiceIdx, ShapeIdx, StopIdx, TripIdx,
};

/// An agency (`agency.txt`).
#[derive(Clone, Debug, PartialEq)]
pub struct Agency {
    /// `agency_id`, optional when the feed has one agency.
    pub id: Option<String>,
    /// `agency_name`.
    pub name: String,
    /// `agency_timezone`, an IANA zone name.
    pub timezone: String,
}

/// `location_type` of a stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocationKind {
    /// 0 or empty: a stop or platform where vehicles stop.
    Stop,
    /// 1: a station grouping stops.
    Station,
    /// 2..=4: entrance, generic node or boarding area.
    Other,
}

/// A stop (`stops.txt`).
#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    /// `stop_id`.
    pub id: GtfsStopId,
    /// `stop_code`, the number shown to passengers.
    pub code: Option<String>,
    /// `stop_name`.
    pub name: String,
    /// Position; `None` when missing or out of range (the problem is in the report).
    pub coordinate: Option<Coordinate>,
    /// `location_type`.
    pub kind: LocationKind,
    /// `parent_station` as written.
    pub parent_station: Option<String>,
    /// `zone_id` as written (fare zones of suburban routes).
    pub zone_id: Option<String>,
}

/// Kind of vehicle of a route (`route_type`, basic and extended values folded together).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteKind {
    /// Tram, streetcar, light rail.
    Tram,
    /// Metro.
    Subway,
    /// Rail.
    Rail,
    /// Bus, including express and minibus.
    Bus,
    /// Ferry.
    Ferry,
    /// Cable tram.
    CableTram,
    /// Aerial lift, gondola.
    AerialLift,
    /// Funicular.
    Funicular,
    /// Trolleybus.
    Trolleybus,
    /// Monorail.
    Monorail,
    /// Shared taxi (marshrutka) and any other value.
    Other(u16),
}

impl RouteKind {
    /// Folds a `route_type` value.
    pub fn from_route_type(value: u16) -> Self {
        match value {
            0 | 900..=999 => Self::Tram,
            12 | 405 => Self::Monorail,
            1 | 400..=499 => Self::Subway,
            2 | 100..=199 => Self::Rail,
            3 | 200..=299 | 700..=799 => Self::Bus,
            4 | 1000..=1099 | 1200..=1299 => Self::Ferry,
            5 => Self::CableTram,
            6 | 1300..=1399 => Self::AerialLift,
            7 | 1400..=1499 => Self::Funicular,
            11 | 800..=899 => Self::Trolleybus,
            other => Self::Other(other),
        }
    }
}

/// A GTFS route (`routes.txt`): a line as passengers know it.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// `route_id`.
    pub id: GtfsRouteId,
    /// `agency_id`.
    pub agency_id: Option<String>,
    /// `route_short_name`, the number on the bus ("10A").
    pub short_name: String,
    /// `route_long_name`.
    pub long_name: String,
    /// `route_type`.
    pub kind: RouteKind,
    /// `route_color` without `#`.
    pub color: Option<String>,
}

/// A trip (`trips.txt`), its stop times in [`Feed::stop_times_of`].
#[derive(Clone, Debug, PartialEq)]
pub struct Trip {
    /// `trip_id`.
    pub id: GtfsTripId,
    /// Its route.
    pub line: LineIdx,
    /// Its service.
    pub service: ServiceIdx,
    /// `trip_headsign`.
    pub headsign: Option<String>,
    /// `direction_id` (0 or 1).
    pub direction: Option<u8>,
    /// Its shape.
    pub shape: Option<ShapeIdx>,
    pub(crate) stop_times_start: u32,
    pub(crate) stop_times_len: u32,
}

/// One call of a trip at a stop (`stop_times.txt`); times interpolated where the feed left
/// them empty.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StopTime {
    /// The stop.
    pub stop: StopIdx,
    /// Arrival, seconds on the service day.
    pub arrival_s: i32,
    /// Departure, seconds on the service day.
    pub departure_s: i32,
    /// Passengers may board here.
    pub pickup: bool,
    /// Passengers may alight here.
    pub drop_off: bool,
    /// `shape_dist_traveled`, when given.
    pub shape_dist: Option<f32>,
}

/// A service (`calendar.txt` and `calendar_dates.txt`).
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    /// `service_id`.
    pub id: String,
    /// Runs Monday..Sunday inside `[start, end]`.
    pub weekdays: [bool; 7],
    /// First date of the regular pattern.
    pub start: Option<Date>,
    /// Last date of the regular pattern.
    pub end: Option<Date>,
    /// Extra dates (exception_type 1).
    pub added: Vec<Date>,
    /// Removed dates (exception_type 2).
    pub removed: Vec<Date>,
}

impl Service {
    pub(crate) fn empty(id: String) -> Self {
        Self {
            id,
            weekdays: [false; 7],
            start: None,
            end: None,
            added: Vec::new(),
            removed: Vec::new(),
        }
    }

    /// Whether the service runs on `date`.
    pub fn runs_on(&self, date: Date) -> bool {
        if self.removed.contains(&date) {
            return false;
        }
        if self.added.contains(&date) {
            return true;
        }
        let (Some(start), Some(end)) = (self.start, self.end) else {
            return false;
        };
        let weekday = usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0);
        start <= date && date <= end && self.weekdays.get(weekday).copied().unwrap_or(false)
    }
}

/// A shape (`shapes.txt`): points in sequence order.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    /// `shape_id`.
    pub id: String,
    /// The polyline.
    pub points: Vec<Coordinate>,
    /// `shape_dist_traveled` per point, when every point has one.
    pub distances: Option<Vec<f32>>,
}

/// A headway-based trip (`frequencies.txt`): the template trip repeats every `headway_s`
/// from `start_s` until before `end_s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frequency {
    /// The template trip.
    pub trip: TripIdx,
    /// First departure of the template's first stop.
    pub start_s: i32,
    /// End of the period (exclusive).
    pub end_s: i32,
    /// Seconds between departures.
    pub headway_s: u32,
}

/// `transfer_type` of `transfers.txt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferKind {
    /// 0: recommended.
    Recommended,
    /// 1: timed.
    Timed,
    /// 2: needs `min_transfer_time`.
    MinimumTime,
    /// 3: not possible.
    Impossible,
    /// 4, 5: in-seat transfers (not used by the planner).
    InSeat,
}

/// A transfer between stops (`transfers.txt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// From.
    pub from: StopIdx,
    /// To.
    pub to: StopIdx,
    /// Kind.
    pub kind: TransferKind,
    /// `min_transfer_time`, seconds.
    pub min_time_s: Option<u32>,
}

/// A parsed GTFS feed.
#[derive(Clone, Debug, Default)]
pub struct Feed {
    /// `agency.txt`.
    pub agencies: Vec<Agency>,
    /// `stops.txt`, indexed by [`StopIdx`].
    pub stops: Vec<Stop>,
    /// `routes.txt`, indexed by [`LineIdx`].
    pub lines: Vec<Line>,
    /// `trips.txt`, indexed by [`TripIdx`]; trips skipped for a problem have no stop times.
    pub trips: Vec<Trip>,
    /// `calendar.txt` + `calendar_dates.txt`, indexed by [`ServiceIdx`].
    pub services: Vec<Service>,
    /// `shapes.txt`, indexed by [`ShapeIdx`].
    pub shapes: Vec<Shape>,
    /// `frequencies.txt`.
    pub frequencies: Vec<Frequency>,
    /// `transfers.txt`.
    pub transfers: Vec<Transfer>,
    /// What was read and skipped.
    pub report: ImportReport,
    pub(crate) stop_times: Vec<StopTime>,
    pub(crate) stop_by_id: HashMap<String, StopIdx>,
    pub(crate) line_by_id: HashMap<String, LineIdx>,
}

impl Feed {
    /// The stop with a GTFS id.
    pub fn stop_idx(&self, id: &str) -> Option<StopIdx> {
        self.stop_by_id.get(id).copied()
    }

    /// A stop.
    pub fn stop(&self, stop: StopIdx) -> Option<&Stop> {
        self.stops.get(stop.index())
    }

    /// The GTFS route with a GTFS id.
    pub fn line_idx(&self, id: &str) -> Option<LineIdx> {
        self.line_by_id.get(id).copied()
    }

    /// A GTFS route.
    pub fn line(&self, line: LineIdx) -> Option<&Line> {
        self.lines.get(line.index())
    }

    /// A trip.
    pub fn trip(&self, trip: TripIdx) -> Option<&Trip> {
        self.trips.get(trip.index())
    }

    /// The stop times of a trip, in order (empty for a skipped trip).
    pub fn stop_times_of(&self, trip: TripIdx) -> &[StopTime] {
        let Some(trip) = self.trips.get(trip.index()) else {
            return &[];
        };
        let start = trip.stop_times_start as usize;
        let end = start + trip.stop_times_len as usize;
        self.stop_times.get(start..end).unwrap_or(&[])
    }

    /// Number of stop times kept.
    pub fn stop_time_count(&self) -> usize {
        self.stop_times.len()
    }
}
