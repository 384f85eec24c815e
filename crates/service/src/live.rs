//! Live buses: positions from trackers and feeds, the live state overlay, detection of the
//! passenger's bus, and the end of tickets when a run reaches its final stop.

#[derive(Default)]
pub struct LiveHub {}
