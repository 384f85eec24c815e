//! Live state of one city's vehicles: an overlay on the static [`Network`], never a
//! mutation of it.
//!
//! Positions arrive in batches (from the bounded ingestion queue) with a clock passed in.
//! For each vehicle the table keeps the last position, speed, heading, a short track for
//! bus detection, its route and current run with progress along the shape, next stop and
//! delay. Reaching the final stop of a run emits [`LiveEvent::RunEnded`]: the hook that
//! ends the tickets bought in that vehicle for that run. Vehicles silent for longer than
//! the configured time are dropped.
//!
//! Positions are not believed blindly, because a run's end ends paid tickets:
//! - **Plausibility.** A position dated more than [`FUTURE_TOLERANCE_MS`] ahead of the clock
//!   is refused, and so is one that needs the vehicle to have moved faster than
//!   [`SPEED_MAX_MPS`] (120 km/h, a city bus's limit with room) since its last accepted
//!   position, allowing [`GPS_NOISE_M`] of noise, or that reports such a speed itself.
//!   Refused positions do not move the vehicle. A vehicle whose every position has been
//!   refused for [`REANCHOR_AFTER_MS`] (its last accepted one was the wild one) starts
//!   afresh from its newest, with no evidence of any run's end.
//! - **A run ends only on evidence a real bus gives**: at least [`APPROACH_FIXES_MIN`]
//!   positions on the run's shape within its last [`APPROACH_STRETCH_M`], then one within
//!   the final-stop radius of the final stop — and only positions whose source is allowed to
//!   end runs for that vehicle ([`Authority::EndsRuns`]: its own tracker, or a feed the
//!   operator registered for it as authoritative) count as that evidence. Other sources
//!   move the bus on the map and never end a run, nor switch it to another trip.

use std::collections::HashMap;
use std::sync::Arc;

use transit::geo::{Coordinate, Xy};
use transit::ids::{GtfsRouteId, GtfsTripId};

use crate::detect::{self, Candidate, Detection, DetectionParams, FixXy, TrackPoint};
use crate::geo::{PolylineHit, bearing_deg};
use crate::ids::{RunIdx, TimeMs, VehicleId};
use crate::network::{Network, Run};
use crate::spatial::SpatialGrid;

/// Track points kept per vehicle for detection.
pub const TRACK_POINTS_MAX: usize = 32;
/// Track points older than this (behind the vehicle's newest) are dropped.
pub const TRACK_SPAN_MS: i64 = 240_000;
/// Positions dated further than this ahead of the clock are refused (the clock skew a
/// tracker may have).
pub const FUTURE_TOLERANCE_MS: i64 = 120_000;
/// No bus moves faster than this (120 km/h); a position that needs more is refused.
pub const SPEED_MAX_MPS: f64 = 120.0 / 3.6;
/// GPS noise allowed on top of the distance [`SPEED_MAX_MPS`] allows between two positions.
pub const GPS_NOISE_M: f64 = 50.0;
/// A reported speed may exceed [`SPEED_MAX_MPS`] by this much (speedometer noise).
pub const SPEED_NOISE_MPS: f64 = 5.0;
/// A vehicle whose positions have all been refused for this long starts afresh.
pub const REANCHOR_AFTER_MS: i64 = 60_000;
/// The last stretch of a run, along its shape, in which a bus shows it approaches the end.
pub const APPROACH_STRETCH_M: f64 = 1_500.0;
/// Positions on the shape in the last stretch needed before one at the final stop ends
/// the run.
pub const APPROACH_FIXES_MIN: u32 = 2;
/// Detection looks for vehicles this close to the passenger's newest fix.
pub const CANDIDATE_RADIUS_M: f64 = 400.0;
/// Following a run, the next projection looks this far behind the last progress...
const FOLLOW_BEHIND_M: f64 = 150.0;
/// ...and this far ahead, plus what the elapsed time allows at this speed.
const FOLLOW_AHEAD_M: f64 = 500.0;
const FOLLOW_SPEED_MAX_MPS: f64 = 30.0;
/// A new run is first looked for this far either side of where its schedule puts it.
const SCHEDULE_WINDOW_M: f64 = 3_000.0;
/// Route matching considers runs from this long before their first departure...
const RUN_EARLY_MS: i64 = 20 * 60_000;
/// ...to this long after their last arrival.
const RUN_LATE_MS: i64 = 40 * 60_000;
/// Route matching trades one minute off schedule for this many metres off the shape.
const MATCH_METRES_PER_MINUTE_OFF: f64 = 10.0;
/// A vehicle that matched no run is matched again after this long.
const MATCH_RETRY_MS: i64 = 30_000;
/// Movement below this is GPS jitter, not a heading.
const HEADING_MOVE_MIN_M: f64 = 5.0;
/// A stop this close behind the vehicle still counts as the next stop (it is at it).
const AT_STOP_M: f64 = 15.0;

/// Limits the operator may tune per city.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveConfig {
    /// A vehicle silent this long drops off the map.
    pub stale_after_ms: i64,
    /// A vehicle this close to the final stop (along the shape or straight) has arrived.
    pub final_stop_radius_m: f64,
    /// Further from the run's shape than this, a shape-matched run is given up.
    pub off_route_max_m: f64,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            stale_after_ms: 300_000,
            final_stop_radius_m: 40.0,
            off_route_max_m: 80.0,
        }
    }
}

/// Whether a position's source may end the runs of the vehicle it reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Authority {
    /// The vehicle's own tracker, or a feed registered as authoritative for it.
    EndsRuns,
    /// Any other source: the bus moves on the map, no run ends, no trip is switched.
    #[default]
    ReportsOnly,
}

/// One reported vehicle position, from any source.
#[derive(Clone, Debug, PartialEq)]
pub struct Position {
    pub vehicle: VehicleId,
    pub point: Coordinate,
    pub speed_mps: Option<f64>,
    /// Compass degrees clockwise from north.
    pub heading_deg: Option<f64>,
    pub at: TimeMs,
    /// The run, when the source says which (GTFS-RT `trip_id`).
    pub trip: Option<GtfsTripId>,
    /// The route, when the source or the dispatcher says which.
    pub route: Option<GtfsRouteId>,
    pub authority: Authority,
}

/// How a vehicle's run was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunSource {
    /// The source named the trip.
    FeedTrip,
    /// Matched to the route's shapes and timetable.
    ShapeMatch,
}

/// Where a vehicle is on its current run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunProgress {
    pub run: RunIdx,
    pub source: RunSource,
    /// Metres from the start of the run's shape.
    pub along_m: f64,
    /// Metres between the vehicle and the shape.
    pub offset_m: f64,
    /// Index into the run's stops.
    pub next_stop: Option<usize>,
    /// Positive when late.
    pub delay_s: i64,
}

/// Everything known about one vehicle now.
#[derive(Clone, Debug)]
pub struct VehicleState {
    pub vehicle: VehicleId,
    pub point: Coordinate,
    pub xy: Xy,
    pub at: TimeMs,
    pub speed_mps: Option<f64>,
    pub heading_deg: Option<f64>,
    pub route: Option<GtfsRouteId>,
    pub run: Option<RunProgress>,
    /// The run that this vehicle most recently finished; it is never matched again.
    pub finished_run: Option<RunIdx>,
    track: Vec<TrackPoint>,
    /// Matching a vehicle to its route's runs scans their shapes; a vehicle that matched
    /// none (depot, detour) is not tried again before this moment.
    next_match_at: TimeMs,
    /// Positions from a source that may end runs, on the shape in the run's last stretch.
    approach_fixes: u32,
    /// The first of the positions refused in a row since the last accepted one.
    refused_since: Option<TimeMs>,
}

impl VehicleState {
    /// Recent positions, oldest first.
    pub fn track(&self) -> &[TrackPoint] {
        &self.track
    }
}

/// Why a run ended for a vehicle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunEndReason {
    ReachedFinalStop,
    /// The source switched the vehicle to another trip before the final stop was seen.
    Superseded,
}

/// Something the rest of the system must act on.
#[derive(Clone, Debug, PartialEq)]
pub enum LiveEvent {
    /// End the tickets bought in `vehicle` for this run.
    RunEnded {
        vehicle: VehicleId,
        run: RunIdx,
        trip_id: GtfsTripId,
        at: TimeMs,
        reason: RunEndReason,
    },
    RunStarted {
        vehicle: VehicleId,
        run: RunIdx,
        trip_id: GtfsTripId,
        at: TimeMs,
    },
    /// No report for longer than the stale limit; the run (if any) is left to the per-route
    /// time limit.
    VehicleDropped {
        vehicle: VehicleId,
        run: Option<RunIdx>,
        /// The route it was on (its run's, or the one its source named).
        route: Option<GtfsRouteId>,
        last_seen: TimeMs,
    },
}

/// Counts from one batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyStats {
    pub applied: u64,
    /// Not newer than the vehicle's last position.
    pub out_of_order: u64,
    /// A speed that is not a number (a `Coordinate` is on the Earth by construction; a codec
    /// counts the coordinates it could not read as one).
    pub invalid: u64,
    /// Dated beyond [`FUTURE_TOLERANCE_MS`] ahead of the clock.
    pub future: u64,
    /// A jump or a speed no bus makes.
    pub implausible: u64,
}

impl ApplyStats {
    /// Every position not applied.
    pub fn refused(&self) -> u64 {
        self.out_of_order + self.invalid + self.future + self.implausible
    }
}

/// What the plausibility check says of one position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Apply,
    Invalid,
    Future,
    OutOfOrder,
    Implausible,
    /// Implausible after the last accepted one, but every position has been for long enough.
    Reanchor,
}

/// A passenger's GPS fix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fix {
    pub at: TimeMs,
    pub point: Coordinate,
    pub accuracy_m: Option<f64>,
}

/// The vehicle table of one city.
#[derive(Clone, Debug)]
pub struct LiveState {
    network: Arc<Network>,
    config: LiveConfig,
    vehicles: HashMap<VehicleId, VehicleState>,
    grid: SpatialGrid,
}

impl LiveState {
    pub fn new(network: Arc<Network>, config: LiveConfig) -> Self {
        Self {
            network,
            config,
            vehicles: HashMap::new(),
            grid: SpatialGrid::new(),
        }
    }

    pub fn network(&self) -> &Arc<Network> {
        &self.network
    }

    pub fn config(&self) -> &LiveConfig {
        &self.config
    }

    pub fn vehicle(&self, vehicle: VehicleId) -> Option<&VehicleState> {
        self.vehicles.get(&vehicle)
    }

    pub fn vehicles(&self) -> impl Iterator<Item = &VehicleState> {
        self.vehicles.values()
    }

    pub fn len(&self) -> usize {
        self.vehicles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vehicles.is_empty()
    }

    /// The run a vehicle is on, with its static data.
    pub fn current_run(&self, vehicle: VehicleId) -> Option<(&RunProgress, &Run)> {
        let progress = self.vehicles.get(&vehicle)?.run.as_ref()?;
        Some((progress, self.network.run(progress.run)?))
    }

    /// Applies a batch of positions in order; events are appended to `events`.
    pub fn apply_batch(
        &mut self,
        batch: &[Position],
        now: TimeMs,
        events: &mut Vec<LiveEvent>,
    ) -> ApplyStats {
        let mut stats = ApplyStats::default();
        let network = Arc::clone(&self.network);
        for position in batch {
            let xy = network.projection().project(position.point);
            let existing = self.vehicles.get_mut(&position.vehicle);
            let verdict = check(existing.as_deref(), position, xy, now);
            match verdict {
                Verdict::Apply | Verdict::Reanchor => {}
                refused => {
                    if let (Some(vehicle), Verdict::Implausible) = (existing, refused) {
                        vehicle.refused_since.get_or_insert(position.at);
                    }
                    match refused {
                        Verdict::Invalid => stats.invalid += 1,
                        Verdict::Future => stats.future += 1,
                        Verdict::OutOfOrder => stats.out_of_order += 1,
                        _ => stats.implausible += 1,
                    }
                    continue;
                }
            }
            let vehicle = self
                .vehicles
                .entry(position.vehicle)
                .or_insert_with(|| new_vehicle(position, xy));
            vehicle.refused_since = None;
            if verdict == Verdict::Reanchor {
                // The last accepted position was the wild one: nothing before counts.
                vehicle.track.clear();
                vehicle.approach_fixes = 0;
            }
            move_vehicle(vehicle, position, xy);
            follow_run(vehicle, position, &network, &self.config, events);
            self.grid.upsert(position.vehicle, xy);
            stats.applied += 1;
        }
        stats
    }

    /// Drops vehicles with no report for longer than the stale limit.
    pub fn drop_stale(&mut self, now: TimeMs, events: &mut Vec<LiveEvent>) -> usize {
        let stale_after_ms = self.config.stale_after_ms;
        let stale: Vec<VehicleId> = self
            .vehicles
            .values()
            .filter(|v| now.since_ms(v.at) > stale_after_ms)
            .map(|v| v.vehicle)
            .collect();
        for vehicle in &stale {
            if let Some(state) = self.vehicles.remove(vehicle) {
                self.grid.remove(*vehicle);
                let run = state.run.map(|progress| progress.run);
                let route = run
                    .and_then(|run| self.network.run(run))
                    .map(|run| run.route_id.clone())
                    .or(state.route);
                events.push(LiveEvent::VehicleDropped {
                    vehicle: *vehicle,
                    run,
                    route,
                    last_seen: state.at,
                });
            }
        }
        stale.len()
    }

    /// Vehicles within `radius_m` of a point.
    pub fn near(&self, point: Coordinate, radius_m: f64) -> Vec<&VehicleState> {
        let center = self.network.projection().project(point);
        let mut found = Vec::new();
        self.grid.for_each_within(center, radius_m, |vehicle, _| {
            found.extend(self.vehicles.get(&vehicle))
        });
        found
    }

    /// Vehicles inside a bounding box (south-west and north-east corners).
    pub fn in_box(&self, south_west: Coordinate, north_east: Coordinate) -> Vec<&VehicleState> {
        let projection = self.network.projection();
        let ids = self.grid.in_box(
            projection.project(south_west),
            projection.project(north_east),
        );
        ids.iter().filter_map(|id| self.vehicles.get(id)).collect()
    }

    /// Which of this city's vehicles the passenger rides, from their recent fixes (oldest
    /// first).
    pub fn detect(&self, fixes: &[Fix], params: &DetectionParams) -> Detection {
        let projection = self.network.projection();
        let fixes_xy: Vec<FixXy> = fixes
            .iter()
            .map(|fix| FixXy {
                at: fix.at,
                xy: projection.project(fix.point),
                sigma_m: fix.accuracy_m,
            })
            .collect();
        let Some(newest) = fixes_xy.last() else {
            return Detection::NoMatch;
        };
        let mut nearby: Vec<(f64, Candidate<'_>)> = Vec::new();
        self.grid
            .for_each_within(newest.xy, CANDIDATE_RADIUS_M, |vehicle, xy| {
                if let Some(state) = self.vehicles.get(&vehicle) {
                    nearby.push((
                        xy.distance_squared_m2(newest.xy),
                        Candidate {
                            vehicle,
                            track: &state.track,
                        },
                    ));
                }
            });
        nearby.sort_by(|a, b| a.0.total_cmp(&b.0));
        let candidates: Vec<Candidate<'_>> = nearby
            .into_iter()
            .take(detect::CANDIDATES_MAX)
            .map(|(_, candidate)| candidate)
            .collect();
        detect::detect(&fixes_xy, &candidates, params)
    }
}

fn new_vehicle(position: &Position, xy: Xy) -> VehicleState {
    VehicleState {
        vehicle: position.vehicle,
        point: position.point,
        xy,
        at: position.at,
        speed_mps: None,
        heading_deg: None,
        route: None,
        run: None,
        finished_run: None,
        track: Vec::new(),
        next_match_at: TimeMs::default(),
        approach_fixes: 0,
        refused_since: None,
    }
}

/// Whether a position is believable after the vehicle's last accepted one.
fn check(vehicle: Option<&VehicleState>, position: &Position, xy: Xy, now: TimeMs) -> Verdict {
    let speed_valid = position.speed_mps.is_none_or(f64::is_finite);
    if !speed_valid {
        return Verdict::Invalid;
    }
    if position.at.since_ms(now) > FUTURE_TOLERANCE_MS {
        return Verdict::Future;
    }
    if position
        .speed_mps
        .is_some_and(|speed| speed.abs() > SPEED_MAX_MPS + SPEED_NOISE_MPS)
    {
        return Verdict::Implausible;
    }
    let Some(vehicle) = vehicle else {
        return Verdict::Apply;
    };
    let Some(last) = vehicle.track.last() else {
        return Verdict::Apply;
    };
    if last.at >= position.at {
        return Verdict::OutOfOrder;
    }
    // Against every recent point, not only the last: the noise allowance must not add up
    // over a run of closely spaced positions.
    let reachable = vehicle.track.iter().all(|point| {
        let seconds = position.at.since_ms(point.at) as f64 / 1000.0;
        point.xy.distance_m(xy) <= SPEED_MAX_MPS * seconds + GPS_NOISE_M
    });
    if reachable {
        return Verdict::Apply;
    }
    let refused_long_enough = vehicle
        .refused_since
        .is_some_and(|since| position.at.since_ms(since) >= REANCHOR_AFTER_MS);
    if refused_long_enough {
        Verdict::Reanchor
    } else {
        Verdict::Implausible
    }
}

/// Updates the last position, speed, heading and track.
fn move_vehicle(vehicle: &mut VehicleState, position: &Position, xy: Xy) {
    let previous = vehicle.track.last().copied();
    let derived = previous.map(|last| {
        let seconds = position.at.since_ms(last.at) as f64 / 1000.0;
        let moved_m = last.xy.distance_m(xy);
        let heading = (moved_m >= HEADING_MOVE_MIN_M).then(|| bearing_deg(last.xy, xy));
        (moved_m / seconds.max(0.001), heading)
    });
    vehicle.speed_mps = position.speed_mps.or(derived.map(|(speed, _)| speed));
    vehicle.heading_deg = position
        .heading_deg
        .or(derived.and_then(|(_, heading)| heading))
        .or(vehicle.heading_deg);
    vehicle.point = position.point;
    vehicle.xy = xy;
    vehicle.at = position.at;
    if position.route.is_some() {
        vehicle.route.clone_from(&position.route);
    }
    vehicle.track.push(TrackPoint {
        at: position.at,
        xy,
    });
    let too_old = vehicle
        .track
        .partition_point(|point| position.at.since_ms(point.at) > TRACK_SPAN_MS);
    let too_many = vehicle.track.len().saturating_sub(TRACK_POINTS_MAX);
    vehicle.track.drain(..too_old.max(too_many));
}

/// Finds or follows the vehicle's run and emits run events.
fn follow_run(
    vehicle: &mut VehicleState,
    position: &Position,
    network: &Network,
    config: &LiveConfig,
    events: &mut Vec<LiveEvent>,
) {
    let was_on = vehicle.run.map(|progress| progress.run);
    // Only a source that may end runs may switch the vehicle to another trip (which ends
    // the one it is on); others may name the run it is on, or start one.
    let named = position
        .trip
        .as_ref()
        .and_then(|trip| network.run_by_trip(trip))
        .filter(|named| {
            position.authority == Authority::EndsRuns
                || vehicle.run.is_none_or(|progress| progress.run == *named)
        });
    if let Some(named) = named.filter(|run| Some(*run) != vehicle.finished_run) {
        if vehicle.run.is_none_or(|progress| progress.run != named) {
            if let Some(old) = vehicle.run.take() {
                end_run(
                    vehicle,
                    old.run,
                    network,
                    position.at,
                    RunEndReason::Superseded,
                    events,
                );
            }
            if let Some(run) = network.run(named) {
                vehicle.route = Some(run.route_id.clone());
                let hit = first_hit(run, vehicle.xy, position.at);
                start_run(
                    vehicle,
                    named,
                    RunSource::FeedTrip,
                    hit,
                    position.at,
                    network,
                    events,
                );
            }
        }
    } else if named.is_some() {
        // The source still names the run this vehicle just finished: it waits at the terminus.
        return;
    }
    if let Some(progress) = vehicle.run {
        let Some(run) = network.run(progress.run) else {
            return;
        };
        let elapsed_s = position.at.since_ms(
            vehicle
                .track
                .iter()
                .rev()
                .nth(1)
                .map_or(position.at, |p| p.at),
        ) as f64
            / 1000.0;
        let ahead_m = FOLLOW_AHEAD_M + FOLLOW_SPEED_MAX_MPS * elapsed_s.max(0.0);
        let hit = run.shape.project_between(
            vehicle.xy,
            progress.along_m - FOLLOW_BEHIND_M,
            progress.along_m + ahead_m,
        );
        match hit {
            Some(hit)
                if hit.offset_m <= config.off_route_max_m
                    || progress.source == RunSource::FeedTrip =>
            {
                // Never move backwards along a run: GPS noise at a stop must not undo progress.
                let along_m = hit.along_m.max(progress.along_m);
                vehicle.run = Some(progress_at(
                    run,
                    progress.run,
                    progress.source,
                    along_m,
                    hit.offset_m,
                    position.at,
                ));
                if was_on == Some(progress.run) && position.authority == Authority::EndsRuns {
                    check_final_stop(vehicle, run, network, config, position.at, events);
                }
            }
            _ => vehicle.run = None,
        }
        return;
    }
    if position.at < vehicle.next_match_at {
        return;
    }
    match match_route(vehicle, network, config, position.at) {
        Some((run_index, hit)) => start_run(
            vehicle,
            run_index,
            RunSource::ShapeMatch,
            Some(hit),
            position.at,
            network,
            events,
        ),
        None => vehicle.next_match_at = position.at.plus_ms(MATCH_RETRY_MS),
    }
}

/// Projection of a vehicle onto a run it has just started, near where the schedule puts it.
fn first_hit(run: &Run, xy: Xy, at: TimeMs) -> Option<PolylineHit> {
    let scheduled_m = run.scheduled_along_m(at);
    let windowed = run.shape.project_between(
        xy,
        scheduled_m - SCHEDULE_WINDOW_M,
        scheduled_m + SCHEDULE_WINDOW_M,
    );
    let whole = run.shape.project(xy);
    match (windowed, whole) {
        (Some(w), Some(a)) => Some(if w.offset_m <= a.offset_m + 30.0 {
            w
        } else {
            a
        }),
        (w, a) => w.or(a),
    }
}

fn start_run(
    vehicle: &mut VehicleState,
    run_index: RunIdx,
    source: RunSource,
    hit: Option<PolylineHit>,
    at: TimeMs,
    network: &Network,
    events: &mut Vec<LiveEvent>,
) {
    let Some(run) = network.run(run_index) else {
        return;
    };
    let (along_m, offset_m) = hit.map_or((0.0, 0.0), |hit| (hit.along_m, hit.offset_m));
    vehicle.run = Some(progress_at(run, run_index, source, along_m, offset_m, at));
    vehicle.approach_fixes = 0;
    events.push(LiveEvent::RunStarted {
        vehicle: vehicle.vehicle,
        run: run_index,
        trip_id: run.trip_id.clone(),
        at,
    });
}

fn progress_at(
    run: &Run,
    index: RunIdx,
    source: RunSource,
    along_m: f64,
    offset_m: f64,
    at: TimeMs,
) -> RunProgress {
    RunProgress {
        run: index,
        source,
        along_m,
        offset_m,
        next_stop: run.next_stop_index(along_m, -AT_STOP_M),
        delay_s: at.since_ms(run.scheduled_at(along_m)) / 1000,
    }
}

/// Ends the run when the vehicle is at its final stop after approaching it on the shape
/// (see the module doc); called only for positions of a source that may end runs, and only
/// after the vehicle was seen on the run before, so a vehicle first heard of at the
/// terminus ends nothing it never carried.
fn check_final_stop(
    vehicle: &mut VehicleState,
    run: &Run,
    network: &Network,
    config: &LiveConfig,
    at: TimeMs,
    events: &mut Vec<LiveEvent>,
) {
    let (Some(progress), Some(final_stop)) = (vehicle.run, run.final_stop()) else {
        return;
    };
    let radius_m = config.final_stop_radius_m;
    let on_shape = progress.offset_m <= config.off_route_max_m;
    let along_to_go_m = final_stop.along_m - progress.along_m;
    let straight_m = vehicle.xy.distance_m(final_stop.xy);
    let arrived = (along_to_go_m <= radius_m && progress.offset_m <= radius_m)
        || (along_to_go_m <= 4.0 * radius_m && straight_m <= radius_m);
    if arrived && vehicle.approach_fixes >= APPROACH_FIXES_MIN {
        vehicle.run = None;
        vehicle.approach_fixes = 0;
        end_run(
            vehicle,
            progress.run,
            network,
            at,
            RunEndReason::ReachedFinalStop,
            events,
        );
    } else if !on_shape {
        vehicle.approach_fixes = 0;
    } else if !arrived && along_to_go_m <= APPROACH_STRETCH_M {
        vehicle.approach_fixes = vehicle.approach_fixes.saturating_add(1);
    }
}

fn end_run(
    vehicle: &mut VehicleState,
    run_index: RunIdx,
    network: &Network,
    at: TimeMs,
    reason: RunEndReason,
    events: &mut Vec<LiveEvent>,
) {
    vehicle.finished_run = Some(run_index);
    if let Some(run) = network.run(run_index) {
        events.push(LiveEvent::RunEnded {
            vehicle: vehicle.vehicle,
            run: run_index,
            trip_id: run.trip_id.clone(),
            at,
            reason,
        });
    }
}

/// The run of the vehicle's route that best fits its position and the clock: close to the
/// shape and close to schedule.
fn match_route(
    vehicle: &VehicleState,
    network: &Network,
    config: &LiveConfig,
    at: TimeMs,
) -> Option<(RunIdx, PolylineHit)> {
    let route = vehicle.route.as_ref()?;
    let mut best: Option<(f64, RunIdx, PolylineHit)> = None;
    for &index in network.runs_of_route(route) {
        if Some(index) == vehicle.finished_run {
            continue;
        }
        let Some(run) = network.run(index) else {
            continue;
        };
        if at.since_ms(run.first_departure()) < -RUN_EARLY_MS
            || at.since_ms(run.last_arrival()) > RUN_LATE_MS
        {
            continue;
        }
        let Some(hit) = first_hit(run, vehicle.xy, at) else {
            continue;
        };
        if hit.offset_m > config.off_route_max_m {
            continue;
        }
        let minutes_off = at.since_ms(run.scheduled_at(hit.along_m)).abs() as f64 / 60_000.0;
        let score = hit.offset_m + minutes_off * MATCH_METRES_PER_MINUTE_OFF;
        if best.as_ref().is_none_or(|(s, _, _)| score < *s) {
            best = Some((score, index, hit));
        }
    }
    best.map(|(_, index, hit)| (index, hit))
}
