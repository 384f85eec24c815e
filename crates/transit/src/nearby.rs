//! "Stops near a point", the one way: a feed's placed stops projected once ([`Projection`]
//! centred on them) and held in a [`GridIndex`]. The timetable answers the planner's access
//! and egress walks with it; the server answers "stops near me" with it, for every service
//! date alike (placing stops does not depend on the date).

use crate::geo::{Coordinate, GridIndex, Projection, Xy};
use crate::gtfs::Feed;
use crate::ids::StopIdx;

/// Cell size of the stop grid, metres.
const STOP_GRID_CELL_M: f64 = 250.0;

/// A feed's stops in plane metres, with a grid over those that have a coordinate.
#[derive(Clone, Debug)]
pub struct StopLocator {
    projection: Projection,
    /// By stop index; `None` for a stop without a coordinate.
    points: Vec<Option<Xy>>,
    grid: GridIndex,
}

impl StopLocator {
    /// Projects every placed stop of `feed` and indexes them.
    pub fn new(feed: &Feed) -> StopLocator {
        let projection = Projection::centred_on(feed.stops.iter().filter_map(|s| s.coordinate));
        let points: Vec<Option<Xy>> = feed
            .stops
            .iter()
            .map(|s| s.coordinate.map(|c| projection.project(c)))
            .collect();
        let grid = GridIndex::new(&located(&points), STOP_GRID_CELL_M);
        StopLocator {
            projection,
            points,
            grid,
        }
    }

    /// The projection every distance here is measured in.
    pub fn projection(&self) -> &Projection {
        &self.projection
    }

    /// `(stop index, plane point)` of every placed stop, in stop order.
    pub fn located(&self) -> Vec<(u32, Xy)> {
        located(&self.points)
    }

    /// Straight-line distance between two placed stops, metres.
    pub fn distance_between(&self, a: StopIdx, b: StopIdx) -> Option<f64> {
        let a = self.points.get(a.index()).copied().flatten()?;
        let b = self.points.get(b.index()).copied().flatten()?;
        Some(a.distance_m(b))
    }

    /// Stops within `radius_m` of `point` (inclusive) that `keep` accepts, nearest first (ties
    /// by stop index), at most `limit`, each with its distance in metres.
    pub fn stops_near(
        &self,
        point: Coordinate,
        radius_m: f64,
        limit: usize,
        keep: impl Fn(StopIdx) -> bool,
    ) -> Vec<(StopIdx, f64)> {
        let mut found = Vec::new();
        let p = self.projection.project(point);
        self.grid.for_each_within(p, radius_m, |stop, distance_m| {
            let stop = StopIdx::new(stop);
            if keep(stop) {
                found.push((stop, distance_m));
            }
        });
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found.truncate(limit);
        found
    }
}

fn located(points: &[Option<Xy>]) -> Vec<(u32, Xy)> {
    points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((u32::try_from(i).ok()?, (*p)?)))
        .collect()
}
