//! The network as the passenger's map shows it, independent of dates: each route's variants
//! (stops in order and shape, per distinct stop sequence) and the geometry of a ride.

use std::collections::HashMap;

use crate::geo::{Coordinate, Projection, Xy};
use crate::gtfs::Feed;
use crate::ids::{LineIdx, StopIdx, TripIdx};

/// One variant of a route: a distinct stop sequence and how often it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct LineVariant {
    /// `direction_id` of its trips.
    pub direction: Option<u8>,
    /// Headsign of its first trip.
    pub headsign: Option<String>,
    /// Stops in order.
    pub stops: Vec<StopIdx>,
    /// The shape of its first trip with one, or the stops' coordinates.
    pub shape: Vec<Coordinate>,
    /// Trips in the feed following it (all dates).
    pub trip_count: u32,
}

/// Variants of a route, most frequent first.
pub fn line_variants(feed: &Feed, line: LineIdx) -> Vec<LineVariant> {
    let mut by_stops: HashMap<Vec<StopIdx>, (TripIdx, u32)> = HashMap::new();
    for (t, trip) in feed.trips.iter().enumerate() {
        if trip.line != line {
            continue;
        }
        let trip_idx = TripIdx::new(t as u32);
        let stops: Vec<StopIdx> = feed
            .stop_times_of(trip_idx)
            .iter()
            .map(|c| c.stop)
            .collect();
        if stops.is_empty() {
            continue;
        }
        let entry = by_stops.entry(stops).or_insert((trip_idx, 0));
        entry.1 += 1;
        if entry_shape_missing(feed, entry.0) && !entry_shape_missing(feed, trip_idx) {
            entry.0 = trip_idx;
        }
    }
    let mut variants: Vec<LineVariant> = by_stops
        .into_iter()
        .filter_map(|(stops, (trip_idx, trip_count))| {
            let trip = feed.trip(trip_idx)?;
            let last = stops.len().saturating_sub(1);
            Some(LineVariant {
                direction: trip.direction,
                headsign: trip.headsign.clone(),
                shape: ride_geometry(feed, trip_idx, 0, last),
                stops,
                trip_count,
            })
        })
        .collect();
    variants.sort_by(|a, b| b.trip_count.cmp(&a.trip_count).then(a.stops.cmp(&b.stops)));
    variants
}

fn entry_shape_missing(feed: &Feed, trip: TripIdx) -> bool {
    feed.trip(trip).is_none_or(|t| t.shape.is_none())
}

/// The map line of a ride on `trip` from call `board` to call `alight`: the matching slice of
/// the trip's shape (by `shape_dist_traveled`, else by nearest points), or the stops'
/// coordinates when there is no shape.
pub fn ride_geometry(feed: &Feed, trip: TripIdx, board: usize, alight: usize) -> Vec<Coordinate> {
    let calls = feed.stop_times_of(trip);
    let Some(calls) = calls.get(board..=alight) else {
        return Vec::new();
    };
    let stop_points: Vec<Coordinate> = calls
        .iter()
        .filter_map(|c| feed.stop(c.stop).and_then(|s| s.coordinate))
        .collect();
    let shape = feed
        .trip(trip)
        .and_then(|t| t.shape)
        .and_then(|s| feed.shapes.get(s.index()));
    let Some(shape) = shape.filter(|s| s.points.len() >= 2) else {
        return stop_points;
    };
    let by_distance = match (&shape.distances, calls.first(), calls.last()) {
        (Some(distances), Some(first), Some(last)) => match (first.shape_dist, last.shape_dist) {
            (Some(d0), Some(d1)) if d0 <= d1 => Some(
                shape
                    .points
                    .iter()
                    .zip(distances)
                    .filter(|(_, d)| (d0..=d1).contains(*d))
                    .map(|(p, _)| *p)
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        },
        _ => None,
    };
    if let Some(points) = by_distance.filter(|p| p.len() >= 2) {
        return points;
    }
    let (Some(&start), Some(&end)) = (stop_points.first(), stop_points.last()) else {
        return stop_points;
    };
    let first = nearest_point(&shape.points, start, 0);
    let last = nearest_point(&shape.points, end, first);
    shape
        .points
        .get(first..=last)
        .map(<[Coordinate]>::to_vec)
        .unwrap_or(stop_points)
}

/// Index of the shape point nearest to `target`, searching from `from` on.
fn nearest_point(points: &[Coordinate], target: Coordinate, from: usize) -> usize {
    let around = Projection::new(target);
    let squared = |p: &Coordinate| around.project(*p).distance_squared_m2(Xy::default());
    points
        .iter()
        .enumerate()
        .skip(from)
        .min_by(|a, b| squared(a.1).total_cmp(&squared(b.1)))
        .map_or(from, |(i, _)| i)
}
