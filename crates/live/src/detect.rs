//! Which bus is the passenger riding? A pure function of the passenger's recent GPS fixes
//! and the recent tracks of candidate vehicles.
//!
//! Each candidate is scored by how well the passenger's fixes agree with where that
//! vehicle was *at the same moments* (its track interpolated to each fix time). A person on
//! a bus stays with it: same place, same heading, same speed, minute after minute, so the
//! time-aligned distances carry heading, speed and "staying together" at once; a person
//! walking beside the road drifts away from every bus within seconds. Distances are scored
//! with a Gaussian GPS noise model with a cap (one wild fix must not decide), turned into
//! probabilities against a "none of these" hypothesis, and the answer is confident only
//! with a clear margin in both probability and metres; otherwise the passenger chooses.

use transit::geo::Xy;

use crate::ids::{TimeMs, VehicleId};

/// Fixes used at most; older ones are dropped first.
pub const FIXES_MAX: usize = 60;
/// Candidates scored at most (the nearest first when the caller has more).
pub const CANDIDATES_MAX: usize = 64;
/// Fixes further in the past than this before the newest are ignored.
pub const FIX_WINDOW_MS: i64 = 180_000;
/// A track is extended at most this far beyond its first or last point.
pub const EXTRAPOLATION_MAX_MS: i64 = 20_000;
/// Shortlist length for an ambiguous answer.
pub const SHORTLIST_MAX: usize = 5;

/// Tunable parts of the noise model and the decision rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectionParams {
    /// Passenger fix error per axis when the fix does not state its accuracy.
    pub fix_sigma_m: f64,
    /// Vehicle report error plus interpolation error between reports, per axis.
    pub vehicle_sigma_m: f64,
    /// Extra uncertainty per second of extrapolation beyond a track's ends.
    pub extrapolation_sigma_m_per_s: f64,
    /// Per-fix cost cap in units of squared sigmas (a robust, not purely Gaussian, model).
    pub outlier_cost_cap: f64,
    /// Per-fix cost of the "on none of these buses" hypothesis.
    pub none_cost_per_fix: f64,
    /// Fixes in a minute are not independent (GPS error drifts slowly); costs are divided
    /// by this before they become probabilities.
    pub temperature: f64,
    /// Confident only at or above this probability...
    pub confident_probability_min: f64,
    /// ...and when the runner-up is on average at least this much further from the fixes.
    pub confident_margin_m: f64,
    /// ...and when the passenger moved at least this far (two parked buses at one stop are
    /// indistinguishable from a passenger standing next to them).
    pub confident_travel_min_m: f64,
    /// ...and when the fixes span at least this long.
    pub confident_span_min_ms: i64,
    /// Shortlist members need at least this probability.
    pub shortlist_probability_min: f64,
    /// The best candidate must be on average this close to the fixes to be offered at all.
    pub match_mean_distance_max_m: f64,
}

impl Default for DetectionParams {
    fn default() -> Self {
        Self {
            fix_sigma_m: 15.0,
            vehicle_sigma_m: 10.0,
            extrapolation_sigma_m_per_s: 1.5,
            outlier_cost_cap: 8.0,
            none_cost_per_fix: 4.5,
            temperature: 3.0,
            confident_probability_min: 0.995,
            confident_margin_m: 25.0,
            confident_travel_min_m: 150.0,
            confident_span_min_ms: 20_000,
            shortlist_probability_min: 0.01,
            match_mean_distance_max_m: 60.0,
        }
    }
}

/// One passenger GPS fix in projected metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FixXy {
    pub at: TimeMs,
    pub xy: Xy,
    /// Stated accuracy (per axis) when the phone gives one.
    pub sigma_m: Option<f64>,
}

/// One reported vehicle position in projected metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackPoint {
    pub at: TimeMs,
    pub xy: Xy,
}

/// A candidate vehicle with its recent track, oldest point first.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    pub vehicle: VehicleId,
    pub track: &'a [TrackPoint],
}

/// How well one vehicle explains the fixes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    pub vehicle: VehicleId,
    /// Probability that this is the passenger's vehicle (including "none" in the total).
    pub probability: f64,
    /// Mean time-aligned distance between fixes and vehicle.
    pub mean_distance_m: f64,
}

/// Why an answer is not confident: what the fixes show against what the rule needs, so the
/// passenger's app can say "keep the app open a little longer" rather than guess.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shortfall {
    /// Straight distance between the first and the newest fix used.
    pub moved_m: f64,
    /// [`DetectionParams::confident_travel_min_m`].
    pub moved_min_m: f64,
    /// Time between the first and the newest fix used.
    pub span_ms: i64,
    /// [`DetectionParams::confident_span_min_ms`].
    pub span_min_ms: i64,
    /// Another bus stays within the margin of the best one (riding on tells them apart).
    pub another_bus_close: bool,
    /// The best bus is not probable enough (its track strays from the fixes).
    pub probability_low: bool,
}

impl Shortfall {
    pub fn moved_enough(&self) -> bool {
        self.moved_m >= self.moved_min_m
    }

    pub fn long_enough(&self) -> bool {
        self.span_ms >= self.span_min_ms
    }

    /// Every condition of a confident answer holds.
    pub fn is_met(&self) -> bool {
        self.moved_enough()
            && self.long_enough()
            && !self.another_bus_close
            && !self.probability_low
    }
}

/// The answer offered to the passenger (who still confirms before paying).
#[derive(Clone, Debug, PartialEq)]
pub enum Detection {
    Confident(Scored),
    /// Best first; the passenger picks, or sends more fixes (`shortfall` says what is missing).
    Ambiguous {
        candidates: Vec<Scored>,
        shortfall: Shortfall,
    },
    NoMatch,
}

impl Detection {
    /// The vehicle proposed first, if any.
    pub fn first(&self) -> Option<VehicleId> {
        match self {
            Detection::Confident(best) => Some(best.vehicle),
            Detection::Ambiguous { candidates, .. } => {
                candidates.first().map(|scored| scored.vehicle)
            }
            Detection::NoMatch => None,
        }
    }
}

struct Cost {
    vehicle: VehicleId,
    cost: f64,
    mean_distance_m: f64,
}

/// Scores every candidate against the fixes and decides.
pub fn detect(
    fixes: &[FixXy],
    candidates: &[Candidate<'_>],
    params: &DetectionParams,
) -> Detection {
    let fixes = recent_fixes(fixes);
    let (Some(first), Some(last)) = (fixes.first(), fixes.last()) else {
        return Detection::NoMatch;
    };
    let mut costs: Vec<Cost> = candidates
        .iter()
        .take(CANDIDATES_MAX)
        .filter_map(|candidate| score(fixes, candidate, params))
        .collect();
    costs.sort_by(|a, b| a.cost.total_cmp(&b.cost));
    let Some(best) = costs.first() else {
        return Detection::NoMatch;
    };
    let none_cost = params.none_cost_per_fix * fixes.len() as f64;
    let temperature = params.temperature.max(1.0);
    let weight = |cost: f64| (-(cost - best.cost) / temperature).exp();
    let total: f64 = costs.iter().map(|c| weight(c.cost)).sum::<f64>() + weight(none_cost);
    let ranked: Vec<Scored> = costs
        .iter()
        .map(|c| Scored {
            vehicle: c.vehicle,
            probability: weight(c.cost) / total,
            mean_distance_m: c.mean_distance_m,
        })
        .collect();
    let Some(top) = ranked.first().copied() else {
        return Detection::NoMatch;
    };
    if best.cost >= none_cost || top.mean_distance_m > params.match_mean_distance_max_m {
        return Detection::NoMatch;
    }
    let runner_up_distance_m = ranked.get(1).map_or(f64::INFINITY, |s| s.mean_distance_m);
    let shortfall = Shortfall {
        moved_m: first.xy.distance_m(last.xy),
        moved_min_m: params.confident_travel_min_m,
        span_ms: last.at.since_ms(first.at),
        span_min_ms: params.confident_span_min_ms,
        another_bus_close: runner_up_distance_m - top.mean_distance_m < params.confident_margin_m,
        probability_low: top.probability < params.confident_probability_min,
    };
    if shortfall.is_met() {
        return Detection::Confident(top);
    }
    let shortlist: Vec<Scored> = ranked
        .into_iter()
        .filter(|s| {
            s.probability >= params.shortlist_probability_min
                && s.mean_distance_m <= params.match_mean_distance_max_m
        })
        .take(SHORTLIST_MAX)
        .collect();
    if shortlist.is_empty() {
        Detection::NoMatch
    } else {
        Detection::Ambiguous {
            candidates: shortlist,
            shortfall,
        }
    }
}

/// The newest fixes inside the window, at most [`FIXES_MAX`], assumed sorted by time.
fn recent_fixes(fixes: &[FixXy]) -> &[FixXy] {
    let Some(newest) = fixes.last() else {
        return fixes;
    };
    let start = fixes.partition_point(|fix| newest.at.since_ms(fix.at) > FIX_WINDOW_MS);
    let start = start.max(fixes.len().saturating_sub(FIXES_MAX));
    fixes.get(start..).unwrap_or(&[])
}

/// Negative log-likelihood (robust) of the fixes given the vehicle's track, or `None`
/// when the track cannot be placed at the fix times at all.
fn score(fixes: &[FixXy], candidate: &Candidate<'_>, params: &DetectionParams) -> Option<Cost> {
    let mut cost = 0.0;
    let mut distance_sum_m = 0.0;
    let mut placed = 0_usize;
    for fix in fixes {
        let Some((vehicle_xy, extrapolated_ms)) = position_at(candidate.track, fix.at) else {
            cost += params.none_cost_per_fix + 1.0;
            continue;
        };
        let fix_sigma_m = fix.sigma_m.unwrap_or(params.fix_sigma_m);
        let extrapolation_m = params.extrapolation_sigma_m_per_s * extrapolated_ms as f64 / 1000.0;
        let variance =
            fix_sigma_m.powi(2) + params.vehicle_sigma_m.powi(2) + extrapolation_m.powi(2);
        let distance_m = fix.xy.distance_m(vehicle_xy);
        let normalized = (distance_m * distance_m / (2.0 * variance)).min(params.outlier_cost_cap);
        // The log term makes an uncertain (extrapolated) match cost something too, so that
        // a vehicle is not preferred merely because its track ends early.
        cost += normalized + 0.5 * (variance / params.fix_sigma_m.powi(2).max(1.0)).ln();
        distance_sum_m += distance_m;
        placed += 1;
    }
    (placed > 0).then(|| Cost {
        vehicle: candidate.vehicle,
        cost,
        mean_distance_m: distance_sum_m / placed as f64,
    })
}

/// The track interpolated (or briefly extrapolated) to `at`, with how far it had to be
/// extrapolated.
pub fn position_at(track: &[TrackPoint], at: TimeMs) -> Option<(Xy, i64)> {
    let after = track.partition_point(|point| point.at <= at);
    match (track.get(after.wrapping_sub(1)), track.get(after)) {
        (Some(a), Some(b)) => {
            let span_ms = b.at.since_ms(a.at);
            let t = if span_ms > 0 {
                at.since_ms(a.at) as f64 / span_ms as f64
            } else {
                0.0
            };
            Some((a.xy.lerp(b.xy, t), 0))
        }
        (Some(last), None) => extrapolate(track.get(after.wrapping_sub(2)), last, at),
        (None, Some(first)) => extrapolate(track.get(1), first, at),
        (None, None) => None,
    }
}

/// Extends the track from `end` along the velocity between `other` and `end`.
fn extrapolate(other: Option<&TrackPoint>, end: &TrackPoint, at: TimeMs) -> Option<(Xy, i64)> {
    let beyond_ms = at.since_ms(end.at);
    if beyond_ms.abs() > EXTRAPOLATION_MAX_MS {
        return None;
    }
    let Some(other) = other else {
        return Some((end.xy, beyond_ms.abs()));
    };
    let span_ms = end.at.since_ms(other.at);
    if span_ms == 0 {
        return Some((end.xy, beyond_ms.abs()));
    }
    let t = beyond_ms as f64 / span_ms as f64;
    let xy = Xy::new(
        end.xy.x + (end.xy.x - other.xy.x) * t,
        end.xy.y + (end.xy.y - other.xy.y) * t,
    );
    Some((xy, beyond_ms.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track() -> Vec<TrackPoint> {
        (0..4)
            .map(|i| TrackPoint {
                at: TimeMs(i * 10_000),
                xy: Xy::new(100.0 * i as f64, 0.0),
            })
            .collect()
    }

    #[test]
    fn tracks_are_interpolated_and_briefly_extrapolated() {
        let track = track();
        assert_eq!(
            position_at(&track, TimeMs(15_000)),
            Some((Xy::new(150.0, 0.0), 0))
        );
        assert_eq!(
            position_at(&track, TimeMs(35_000)),
            Some((Xy::new(350.0, 0.0), 5_000))
        );
        assert_eq!(
            position_at(&track, TimeMs(-5_000)),
            Some((Xy::new(-50.0, 0.0), 5_000))
        );
        assert_eq!(
            position_at(&track, TimeMs(30_000 + EXTRAPOLATION_MAX_MS + 1)),
            None
        );
        assert_eq!(position_at(&[], TimeMs(0)), None);
    }

    #[test]
    fn no_fixes_or_no_candidates_match_nothing() {
        let track = track();
        let candidates = [Candidate {
            vehicle: VehicleId(1),
            track: &track,
        }];
        let params = DetectionParams::default();
        assert_eq!(detect(&[], &candidates, &params), Detection::NoMatch);
        let fixes = [FixXy {
            at: TimeMs(0),
            xy: Xy::default(),
            sigma_m: None,
        }];
        assert_eq!(detect(&fixes, &[], &params), Detection::NoMatch);
    }

    #[test]
    fn a_lone_matching_bus_is_confident_only_after_enough_travel() {
        let track = track();
        let candidates = [Candidate {
            vehicle: VehicleId(1),
            track: &track,
        }];
        let params = DetectionParams::default();
        let fixes: Vec<FixXy> = (0..=6)
            .map(|i| FixXy {
                at: TimeMs(i * 5_000),
                xy: Xy::new(50.0 * i as f64, 3.0),
                sigma_m: None,
            })
            .collect();
        assert!(
            matches!(detect(&fixes, &candidates, &params), Detection::Confident(s) if s.vehicle == VehicleId(1))
        );
        let short = fixes.get(..2).unwrap();
        let Detection::Ambiguous {
            candidates: shortlist,
            shortfall,
        } = detect(short, &candidates, &params)
        else {
            panic!("two fixes 5 s apart are not enough");
        };
        // One bus at full confidence, and the answer says what is missing: travel and time.
        assert_eq!(shortlist.len(), 1);
        assert!(!shortfall.moved_enough() && !shortfall.long_enough());
        assert!(!shortfall.another_bus_close);
        assert_eq!((shortfall.moved_m, shortfall.span_ms), (50.0, 5_000));
        assert_eq!(
            (shortfall.moved_min_m, shortfall.span_min_ms),
            (150.0, 20_000)
        );
    }
}
