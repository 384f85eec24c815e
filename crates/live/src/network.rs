//! The static side that live data is laid over: runs (one trip on one service day, with
//! absolute times), their stops and shape, projected once into metres.
//!
//! These are our own small input types so the live core does not depend on how GTFS is
//! parsed; [`crate::transit_adapter`] fills them from the `transit` crate. The network is
//! read-only: live state refers to it by [`RunIdx`] and never mutates it.

use std::collections::HashMap;
use std::sync::Arc;

use transit::geo::{Coordinate, Projection, Xy};
use transit::ids::{GtfsRouteId, GtfsStopId, GtfsTripId};

use crate::geo::Polyline;
use crate::ids::{RunIdx, TimeMs};

/// A stop further than this from its run's shape makes the shape suspect; the run then
/// uses the straight lines between its stops instead.
pub const STOP_OFF_SHAPE_MAX_M: f64 = 150.0;
/// A stop this close to its shape is taken to be on it (first such place going forward).
pub const STOP_NEAR_SHAPE_M: f64 = 40.0;
/// Upper bound on runs in one network (a large city has ~10,000 a day).
pub const RUNS_MAX: usize = 1_000_000;

/// One stop of a run as the caller supplies it.
#[derive(Clone, Debug)]
pub struct RunStopInput {
    pub stop_id: GtfsStopId,
    pub name: String,
    pub point: Coordinate,
    pub arrival: TimeMs,
    pub departure: TimeMs,
}

/// One run (a trip on a service day) as the caller supplies it.
#[derive(Clone, Debug)]
pub struct RunInput {
    pub trip_id: GtfsTripId,
    pub route_id: GtfsRouteId,
    pub route_short_name: String,
    pub stops: Vec<RunStopInput>,
    /// Index into [`NetworkInput::shapes`]; `None` uses straight lines between stops.
    pub shape: Option<usize>,
}

/// Everything needed to build a [`Network`]. Shapes are shared by index between runs.
#[derive(Clone, Debug, Default)]
pub struct NetworkInput {
    pub shapes: Vec<Vec<Coordinate>>,
    pub runs: Vec<RunInput>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum NetworkError {
    #[error("the network has no run with at least two stops")]
    Empty,
    #[error("{count} runs is more than the limit of {RUNS_MAX}")]
    TooManyRuns { count: usize },
}

/// A stop of a run, placed along the run's shape.
#[derive(Clone, Debug)]
pub struct RunStop {
    pub stop_id: GtfsStopId,
    pub name: String,
    pub point: Coordinate,
    pub xy: Xy,
    pub arrival: TimeMs,
    pub departure: TimeMs,
    /// Distance from the start of the shape.
    pub along_m: f64,
}

/// A run ready for live matching.
#[derive(Clone, Debug)]
pub struct Run {
    pub trip_id: GtfsTripId,
    pub route_id: GtfsRouteId,
    pub route_short_name: String,
    pub stops: Vec<RunStop>,
    pub shape: Arc<Polyline>,
}

impl Run {
    pub fn first_departure(&self) -> TimeMs {
        self.stops
            .first()
            .map_or(TimeMs::default(), |stop| stop.departure)
    }

    pub fn last_arrival(&self) -> TimeMs {
        self.stops
            .last()
            .map_or(TimeMs::default(), |stop| stop.arrival)
    }

    pub fn final_stop(&self) -> Option<&RunStop> {
        self.stops.last()
    }

    /// Scheduled time at which the run passes `along_m`, interpolated between stops.
    pub fn scheduled_at(&self, along_m: f64) -> TimeMs {
        let next = self.stops.partition_point(|stop| stop.along_m <= along_m);
        let (Some(before), Some(after)) =
            (self.stops.get(next.wrapping_sub(1)), self.stops.get(next))
        else {
            return if next == 0 {
                self.first_departure()
            } else {
                self.last_arrival()
            };
        };
        let span_m = after.along_m - before.along_m;
        let fraction = if span_m > 0.0 {
            (along_m - before.along_m) / span_m
        } else {
            0.0
        };
        let span_ms = after.arrival.since_ms(before.departure) as f64;
        before.departure.plus_ms((span_ms * fraction) as i64)
    }

    /// Scheduled distance along the shape at time `at` (stopped at stops while dwelling).
    pub fn scheduled_along_m(&self, at: TimeMs) -> f64 {
        let next = self.stops.partition_point(|stop| stop.arrival <= at);
        let (Some(before), Some(after)) =
            (self.stops.get(next.wrapping_sub(1)), self.stops.get(next))
        else {
            return if next == 0 {
                0.0
            } else {
                self.shape.length_m()
            };
        };
        if at <= before.departure {
            return before.along_m;
        }
        let span_ms = after.arrival.since_ms(before.departure);
        let fraction = if span_ms > 0 {
            at.since_ms(before.departure) as f64 / span_ms as f64
        } else {
            1.0
        };
        before.along_m + (after.along_m - before.along_m) * fraction
    }

    /// Index of the first stop strictly ahead of `along_m` (with a small tolerance).
    pub fn next_stop_index(&self, along_m: f64, at_stop_m: f64) -> Option<usize> {
        let index = self
            .stops
            .partition_point(|stop| stop.along_m <= along_m + at_stop_m);
        (index < self.stops.len()).then_some(index)
    }
}

/// The runs of one city around now, with lookups by trip and by route.
#[derive(Clone, Debug)]
pub struct Network {
    projection: Projection,
    runs: Vec<Run>,
    by_trip: HashMap<GtfsTripId, RunIdx>,
    by_route: HashMap<GtfsRouteId, Vec<RunIdx>>,
}

impl Network {
    /// Projects shapes and stops and places every stop along its run's shape.
    pub fn build(input: NetworkInput) -> Result<Self, NetworkError> {
        if input.runs.len() > RUNS_MAX {
            return Err(NetworkError::TooManyRuns {
                count: input.runs.len(),
            });
        }
        let origin = input
            .runs
            .iter()
            .find_map(|run| run.stops.first())
            .map(|stop| stop.point)
            .ok_or(NetworkError::Empty)?;
        let projection = Projection::new(origin);
        let shapes: Vec<Arc<Polyline>> = input
            .shapes
            .iter()
            .map(|points| {
                Arc::new(Polyline::new(
                    points.iter().map(|p| projection.project(*p)).collect(),
                ))
            })
            .collect();
        let mut network = Self {
            projection,
            runs: Vec::new(),
            by_trip: HashMap::new(),
            by_route: HashMap::new(),
        };
        for run in input.runs {
            if run.stops.len() < 2 {
                continue;
            }
            let shape = run.shape.and_then(|index| shapes.get(index)).cloned();
            let built = build_run(&projection, run, shape);
            let index = RunIdx(u32::try_from(network.runs.len()).unwrap_or(u32::MAX));
            network.by_trip.insert(built.trip_id.clone(), index);
            network
                .by_route
                .entry(built.route_id.clone())
                .or_default()
                .push(index);
            network.runs.push(built);
        }
        if network.runs.is_empty() {
            return Err(NetworkError::Empty);
        }
        Ok(network)
    }

    pub fn projection(&self) -> &Projection {
        &self.projection
    }

    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    pub fn run(&self, index: RunIdx) -> Option<&Run> {
        self.runs.get(index.index())
    }

    pub fn run_by_trip(&self, trip: &GtfsTripId) -> Option<RunIdx> {
        self.by_trip.get(trip).copied()
    }

    pub fn runs_of_route(&self, route: &GtfsRouteId) -> &[RunIdx] {
        self.by_route.get(route).map_or(&[], Vec::as_slice)
    }
}

fn build_run(projection: &Projection, input: RunInput, shape: Option<Arc<Polyline>>) -> Run {
    let stop_points: Vec<Xy> = input
        .stops
        .iter()
        .map(|stop| projection.project(stop.point))
        .collect();
    let straight = || Arc::new(Polyline::new(stop_points.clone()));
    let shape = shape
        .filter(|shape| shape.points().len() >= 2)
        .unwrap_or_else(straight);
    let placed = place_stops(&shape, &stop_points);
    let (shape, along) = match placed {
        Some(along) => (shape, along),
        None => {
            let line = straight();
            let along =
                place_stops(&line, &stop_points).unwrap_or_else(|| vec![0.0; stop_points.len()]);
            (line, along)
        }
    };
    let stops = input
        .stops
        .into_iter()
        .zip(stop_points)
        .zip(along)
        .map(|((stop, xy), along_m)| RunStop {
            stop_id: stop.stop_id,
            name: stop.name,
            point: stop.point,
            xy,
            arrival: stop.arrival,
            departure: stop.departure.max(stop.arrival),
            along_m,
        })
        .collect();
    Run {
        trip_id: input.trip_id,
        route_id: input.route_id,
        route_short_name: input.route_short_name,
        stops,
        shape,
    }
}

/// Places stops along a shape in order (each at or after the previous one), or `None`
/// when some stop lies too far from the shape.
fn place_stops(shape: &Polyline, stops: &[Xy]) -> Option<Vec<f64>> {
    let mut along = Vec::with_capacity(stops.len());
    let mut previous_m: f64 = 0.0;
    let length_m = shape.length_m();
    for (index, stop) in stops.iter().enumerate() {
        let near_end = (index + 1 == stops.len())
            .then(|| {
                shape.project_between(
                    *stop,
                    previous_m.max(length_m - STOP_OFF_SHAPE_MAX_M),
                    length_m,
                )
            })
            .flatten()
            .filter(|hit| hit.offset_m <= STOP_NEAR_SHAPE_M);
        let hit = match near_end {
            Some(hit) => hit,
            None => shape.project_first_near(*stop, previous_m, STOP_NEAR_SHAPE_M)?,
        };
        if hit.offset_m > STOP_OFF_SHAPE_MAX_M {
            return None;
        }
        previous_m = hit.along_m.max(previous_m);
        along.push(previous_m);
    }
    Some(along)
}
