//! A simulated city: every run of the network driven along its shape on its timetable,
//! with per-run delay, stop-and-go speed variation and GPS noise, from a seed. Pure and
//! deterministic: the true position of a run is a function of (seed, run, time), and the
//! noise comes from a [`SplitMix64`] the caller owns.
//!
//! Motion model: schedule time `τ = t − delay − A·sin(2πt/P + φ)` with `A < P/2π`, so `τ`
//! never runs backwards: the bus alternately crawls (dwell, traffic lights) and catches
//! up, around a per-run delay. Stops that share one timetable minute are smoothed into
//! one anchor so the bus never jumps between them.

use std::f64::consts::TAU;

use transit::geo::{Coordinate, Xy};

use crate::ids::{RunIdx, TimeMs, VehicleId};
use crate::network::Network;
use crate::state::{Authority, Position};

/// SplitMix64: tiny, fast, and good enough for simulation (not for keys or tokens).
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Uniform in `[0, bound)`; `0` when `bound` is `0`.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// Standard normal (Box–Muller).
    pub fn gaussian(&mut self) -> f64 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
    }
}

fn mix(value: u64) -> u64 {
    let mut z = value;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in `[0, 1)` fixed by (seed, run, salt).
fn hashed_unit(seed: u64, run: u32, salt: u64) -> f64 {
    let mixed = mix(seed ^ mix(u64::from(run).wrapping_add(salt.wrapping_mul(0x1000_0000_01B3))));
    (mixed >> 11) as f64 / (1_u64 << 53) as f64
}

/// Knobs of the simulation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimConfig {
    /// Per-run delay is uniform in this range, seconds (negative = early).
    pub delay_min_s: f64,
    pub delay_max_s: f64,
    /// Period range of the stop-and-go cycle, seconds.
    pub cycle_min_s: f64,
    pub cycle_max_s: f64,
    /// Tracker GPS error per axis.
    pub vehicle_noise_m: f64,
    /// Vehicle ids are `first_vehicle_id + run index`.
    pub first_vehicle_id: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            delay_min_s: -60.0,
            delay_max_s: 300.0,
            cycle_min_s: 60.0,
            cycle_max_s: 180.0,
            vehicle_noise_m: 5.0,
            first_vehicle_id: 1,
        }
    }
}

/// Where a simulated bus truly is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimVehicle {
    pub vehicle: VehicleId,
    pub run: RunIdx,
    pub xy: Xy,
    pub point: Coordinate,
    pub along_m: f64,
    pub heading_deg: f64,
    pub speed_mps: f64,
}

struct SimRun {
    /// (schedule time in seconds since the Unix epoch, metres along), strictly increasing.
    anchors: Vec<(f64, f64)>,
    delay_s: f64,
    amplitude_s: f64,
    period_s: f64,
    phase: f64,
}

/// The simulated city over one [`Network`].
pub struct CitySimulator<'a> {
    network: &'a Network,
    config: SimConfig,
    runs: Vec<SimRun>,
}

impl<'a> CitySimulator<'a> {
    pub fn new(network: &'a Network, seed: u64, config: SimConfig) -> Self {
        let runs = network
            .runs()
            .iter()
            .enumerate()
            .map(|(index, run)| {
                let index = u32::try_from(index).unwrap_or(u32::MAX);
                let unit = |salt| hashed_unit(seed, index, salt);
                let period_s =
                    config.cycle_min_s + (config.cycle_max_s - config.cycle_min_s) * unit(2);
                SimRun {
                    anchors: anchors(run),
                    delay_s: config.delay_min_s
                        + (config.delay_max_s - config.delay_min_s) * unit(1),
                    amplitude_s: 0.8 * period_s / TAU,
                    period_s,
                    phase: TAU * unit(3),
                }
            })
            .collect();
        Self {
            network,
            config,
            runs,
        }
    }

    pub fn vehicle_of(&self, run: RunIdx) -> VehicleId {
        VehicleId(self.config.first_vehicle_id + u64::from(run.0))
    }

    /// Runs whose bus is on the road at `at`.
    pub fn in_service(&self, at: TimeMs) -> Vec<RunIdx> {
        (0..self.runs.len())
            .filter_map(|index| {
                let run = RunIdx(u32::try_from(index).ok()?);
                self.along_at(run, at).map(|_| run)
            })
            .collect()
    }

    fn schedule_time_s(&self, sim: &SimRun, at: TimeMs) -> f64 {
        let t = at.seconds_f64();
        t - sim.delay_s - sim.amplitude_s * (TAU * t / sim.period_s + sim.phase).sin()
    }

    fn along_at(&self, run: RunIdx, at: TimeMs) -> Option<f64> {
        let sim = self.runs.get(run.index())?;
        let tau = self.schedule_time_s(sim, at);
        let next = sim.anchors.partition_point(|(time, _)| *time <= tau);
        let (before, after) = (
            sim.anchors.get(next.checked_sub(1)?)?,
            sim.anchors.get(next)?,
        );
        let fraction = (tau - before.0) / (after.0 - before.0);
        Some(before.1 + (after.1 - before.1) * fraction)
    }

    /// The true (noise-free) state of a run's bus, or `None` when not on the road.
    pub fn true_position(&self, run: RunIdx, at: TimeMs) -> Option<SimVehicle> {
        let along_m = self.along_at(run, at)?;
        let shape = &self.network.run(run)?.shape;
        let xy = shape.point_at(along_m)?;
        let earlier_m = self.along_at(run, at.plus_ms(-1000)).unwrap_or(along_m);
        Some(SimVehicle {
            vehicle: self.vehicle_of(run),
            run,
            xy,
            point: self.network.projection().unproject(xy)?,
            along_m,
            heading_deg: shape.bearing_at_deg(along_m).unwrap_or(0.0),
            speed_mps: (along_m - earlier_m).max(0.0),
        })
    }

    /// A noisy report as a tracker would send it.
    pub fn report(
        &self,
        run: RunIdx,
        at: TimeMs,
        rng: &mut SplitMix64,
        with_trip: bool,
    ) -> Option<Position> {
        let truth = self.true_position(run, at)?;
        let noise_m = self.config.vehicle_noise_m;
        let noisy = Xy::new(
            truth.xy.x + noise_m * rng.gaussian(),
            truth.xy.y + noise_m * rng.gaussian(),
        );
        let network_run = self.network.run(run)?;
        Some(Position {
            vehicle: truth.vehicle,
            point: self.network.projection().unproject(noisy)?,
            speed_mps: Some(truth.speed_mps),
            heading_deg: Some(truth.heading_deg),
            at,
            trip: with_trip.then(|| network_run.trip_id.clone()),
            route: Some(network_run.route_id.clone()),
            authority: Authority::EndsRuns,
        })
    }
}

/// Timetable anchors of a run: one per distinct time, at the mean position of the stops
/// sharing it.
fn anchors(run: &crate::network::Run) -> Vec<(f64, f64)> {
    let mut anchors: Vec<(f64, f64, u32)> = Vec::new();
    for stop in &run.stops {
        add_anchor(&mut anchors, stop.arrival.seconds_f64(), stop.along_m);
        if stop.departure > stop.arrival {
            anchors.push((stop.departure.seconds_f64(), stop.along_m, 1));
        }
    }
    let mut smoothed: Vec<(f64, f64)> = Vec::with_capacity(anchors.len());
    for (time, sum, count) in anchors {
        let along = sum / f64::from(count.max(1));
        let along = smoothed.last().map_or(along, |last| along.max(last.1));
        smoothed.push((time, along));
    }
    smoothed
}

/// Merges a stop into the last anchor when it shares its time, else starts a new one.
fn add_anchor(anchors: &mut Vec<(f64, f64, u32)>, seconds: f64, along_m: f64) {
    match anchors.last_mut() {
        Some(last) if (last.0 - seconds).abs() < 0.5 => {
            last.1 += along_m;
            last.2 += 1;
        }
        Some(last) if seconds < last.0 => {}
        _ => anchors.push((seconds, along_m, 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_deterministic_and_roughly_normal() {
        let mut a = SplitMix64::new(9);
        let mut b = SplitMix64::new(9);
        assert_eq!(a.next_u64(), b.next_u64());
        let samples: Vec<f64> = (0..20_000).map(|_| a.gaussian()).collect();
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        let variance =
            samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / samples.len() as f64;
        assert!(
            mean.abs() < 0.03 && (variance - 1.0).abs() < 0.05,
            "{mean} {variance}"
        );
        assert!((0..1000).all(|_| a.below(7) < 7));
    }
}
