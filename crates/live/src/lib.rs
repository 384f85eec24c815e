//! Live buses: positions in from trackers (Wialon IPS over TCP) and feeds (GTFS-Realtime),
//! live state laid over the static timetable (runs, progress, delay, run-ended events),
//! a spatial index, automatic detection of the bus a passenger rides, our own GTFS-RT
//! output, and a simulated city for benchmarks and the demo.
//!
//! The core (`geo`, `network`, `state`, `spatial`, `detect`, `simulate`) does no IO: time
//! and randomness are passed in. The codecs (`wialon`, `gtfs_rt`) turn bytes into values;
//! `session` is the only async code, generic over any byte stream, and owns no socket. The
//! Wialon codec and `session` are the `io` feature (on by default); without it the crate
//! reaches no IO crate.
//! `transit_adapter` turns the `transit` crate's parsed GTFS into our own small input
//! types (the only place that knows GTFS or time zones); coordinates, the projection to
//! metres and plane points are `transit::geo`'s, the project's one geometry. No SQL, no
//! HTTP, no JSON here.

pub mod detect;
#[doc(hidden)]
pub mod fuzz_checks;
pub mod geo;
pub mod gtfs_rt;
pub mod ids;
pub mod network;
#[cfg(feature = "io")]
pub mod session;
pub mod simulate;
pub mod spatial;
pub mod state;
pub mod transit_adapter;
#[cfg(feature = "io")]
pub mod wialon;

pub use detect::{Detection, DetectionParams, Scored};
pub use ids::{RunIdx, TimeMs, TrackerId, VehicleId};
pub use network::{Network, NetworkError, NetworkInput, Run, RunInput, RunStopInput};
#[cfg(feature = "io")]
pub use session::{
    AuthOutcome, Authenticator, SessionCounters, SessionEnd, SessionLimits, run_session,
};
pub use state::{
    Authority, Fix, LiveConfig, LiveEvent, LiveState, Position, RunEndReason, VehicleState,
};
