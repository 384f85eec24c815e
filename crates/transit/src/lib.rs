//! `transit`: the pure transit core of SMSBUS. GTFS feeds are parsed from bytes into a
//! [`gtfs::Feed`]; a [`Timetable`] of one service date is built from it; the [`Planner`]
//! answers journey questions over it with RAPTOR; [`search`] finds stops and addresses typed
//! in Kazakh, Russian or Latin spelling.
//!
//! No IO beyond reading the bytes handed in, no clock, no randomness without a seed, no SQL,
//! no HTTP. Everything built is immutable and `Send + Sync`: share it with `Arc`.
//!
//! Typical use by the edges:
//!
//! ```no_run
//! # fn demo(bytes: Vec<u8>) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use transit::{Place, PlanOptions, Planner, ServiceTime, Timetable, TimetableOptions};
//!
//! let feed = Arc::new(transit::gtfs::read_feed(std::io::Cursor::new(bytes))?);
//! let date = jiff::civil::date(2025, 9, 10);
//! let timetable = Arc::new(Timetable::build(feed.clone(), date, TimetableOptions::default())?);
//! let planner = Planner::new(timetable);
//! let from = feed.stop_idx("6001").map(Place::Stop).ok_or("unknown stop")?;
//! let to = feed.stop_idx("6002").map(Place::Stop).ok_or("unknown stop")?;
//! let departure = ServiceTime::from_hms(8, 0, 0).ok_or("bad time")?;
//! let journeys = planner.plan(from, to, departure, &PlanOptions::default())?;
//! # let _ = journeys; Ok(()) }
//! ```

#[doc(hidden)]
pub mod fuzz_checks;
pub mod geo;
pub mod gtfs;
pub mod ids;
pub mod journey;
pub mod nearby;
pub mod network;
pub mod planner;
pub mod raptor;
pub mod sampling;
pub mod search;
pub mod spi;
pub mod time;
pub mod timetable;

pub use geo::Coordinate;
pub use ids::{GtfsRouteId, GtfsStopId, GtfsTripId, LineIdx, RouteIdx, StopIdx, TripIdx};
/// A service date (re-exported so callers need not name `jiff`).
pub use jiff::civil::Date;
pub use journey::{FareRide, FareRules, Journey, Leg, Place, RideLeg, WalkLeg};
pub use nearby::StopLocator;
pub use planner::{EarliestArrival, PlanError, PlanOptions, Planner};
pub use spi::TransitData;
pub use time::ServiceTime;
pub use timetable::{PreviousDay, Timetable, TimetableError, TimetableOptions};
