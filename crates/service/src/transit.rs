//! Transit data per city (GTFS timetables, stops, addresses) for the public list, the map and
//! the journey planner. Filled in by the GTFS/planner work.

#[derive(Default)]
pub struct TransitHub {}
