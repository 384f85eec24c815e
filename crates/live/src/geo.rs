//! Geometry of runs on the city plane: compass bearings and polylines with "metres along"
//! projection. Coordinates, the projection to metres and plane points are the project's one
//! geometry, [`transit::geo`] (`Coordinate`, `Projection`, `Xy`): all hot paths
//! (detection, the spatial grid, shape projection) work in projected metres; degrees appear
//! only at the edges.

use transit::geo::Xy;

/// Compass bearing from `a` to `b` in the projection, degrees clockwise from north.
pub fn bearing_deg(a: Xy, b: Xy) -> f64 {
    let degrees = (b.x - a.x).atan2(b.y - a.y).to_degrees();
    if degrees < 0.0 {
        degrees + 360.0
    } else {
        degrees
    }
}

/// Smallest absolute difference between two compass bearings, 0..=180 degrees.
pub fn bearing_difference_deg(a: f64, b: f64) -> f64 {
    let difference = (a - b).rem_euclid(360.0);
    if difference > 180.0 {
        360.0 - difference
    } else {
        difference
    }
}

/// Where a point falls on a polyline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PolylineHit {
    /// Distance from the start of the polyline to the foot of the perpendicular.
    pub along_m: f64,
    /// Distance from the point to the polyline.
    pub offset_m: f64,
    /// Index of the segment (`points[i]..points[i + 1]`) the foot lies on.
    pub segment: usize,
}

/// A polyline in projected metres with cumulative lengths, for "metres along" queries.
#[derive(Clone, Debug, PartialEq)]
pub struct Polyline {
    points: Vec<Xy>,
    cumulative_m: Vec<f64>,
}

impl Polyline {
    pub fn new(points: Vec<Xy>) -> Self {
        let mut cumulative_m = Vec::with_capacity(points.len());
        let mut total_m = 0.0;
        let mut previous: Option<Xy> = None;
        for point in &points {
            if let Some(previous) = previous {
                total_m += previous.distance_m(*point);
            }
            cumulative_m.push(total_m);
            previous = Some(*point);
        }
        Self {
            points,
            cumulative_m,
        }
    }

    pub fn points(&self) -> &[Xy] {
        &self.points
    }

    pub fn length_m(&self) -> f64 {
        self.cumulative_m.last().copied().unwrap_or(0.0)
    }

    /// Nearest point of the whole polyline.
    pub fn project(&self, point: Xy) -> Option<PolylineHit> {
        self.project_segments(point, 0, self.points.len())
    }

    /// Nearest point among the segments whose start lies within `[from_m, to_m]` along the
    /// line (plus the segment straddling `from_m`). Used to follow a vehicle forward
    /// without jumping to the other side of a route that doubles back on itself.
    pub fn project_between(&self, point: Xy, from_m: f64, to_m: f64) -> Option<PolylineHit> {
        let first = self
            .cumulative_m
            .partition_point(|&m| m <= from_m)
            .saturating_sub(1);
        let last = self.cumulative_m.partition_point(|&m| m <= to_m);
        self.project_segments(point, first, last.saturating_add(1))
    }

    /// Follows the line forward from `from_m` and returns the first stretch that comes within
    /// `near_m` of the point (its nearest spot), else the nearest point ahead. Placing stops
    /// in order this way keeps an outbound stop off the return leg on the same street.
    pub fn project_first_near(&self, point: Xy, from_m: f64, near_m: f64) -> Option<PolylineHit> {
        let first = self
            .cumulative_m
            .partition_point(|&m| m <= from_m)
            .saturating_sub(1);
        let mut found: Option<PolylineHit> = None;
        for segment in first..self.points.len().saturating_sub(1) {
            let Some(hit) = self.project_segments(point, segment, segment + 2) else {
                break;
            };
            let hit = PolylineHit {
                along_m: hit.along_m.max(from_m),
                ..hit
            };
            if hit.offset_m <= near_m {
                if found.is_none_or(|best| hit.offset_m < best.offset_m) {
                    found = Some(hit);
                }
            } else if found.is_some() {
                break;
            }
        }
        found.or_else(|| self.project_between(point, from_m, self.length_m()))
    }

    fn project_segments(&self, point: Xy, first: usize, end: usize) -> Option<PolylineHit> {
        let end = end.min(self.points.len());
        if self.points.len() == 1 {
            let only = self.points.first()?;
            return Some(PolylineHit {
                along_m: 0.0,
                offset_m: only.distance_m(point),
                segment: 0,
            });
        }
        let mut best: Option<(f64, PolylineHit)> = None;
        let segments = self.points.get(first..end)?.windows(2).enumerate();
        for (offset, pair) in segments {
            let [a, b] = pair else { continue };
            let segment = first + offset;
            let (t, foot) = foot_on_segment(point, *a, *b);
            let distance_squared = foot.distance_squared_m2(point);
            if best.is_none_or(|(d, _)| distance_squared < d) {
                let start_m = self.cumulative_m.get(segment).copied().unwrap_or(0.0);
                let along_m = start_m + a.distance_m(*b) * t;
                let hit = PolylineHit {
                    along_m,
                    offset_m: distance_squared.sqrt(),
                    segment,
                };
                best = Some((distance_squared, hit));
            }
        }
        best.map(|(_, hit)| hit)
    }

    /// The point `along_m` metres from the start (clamped to the ends).
    pub fn point_at(&self, along_m: f64) -> Option<Xy> {
        let index = self.cumulative_m.partition_point(|&m| m <= along_m);
        if index == 0 {
            return self.points.first().copied();
        }
        if index >= self.points.len() {
            return self.points.last().copied();
        }
        let a = self.points.get(index - 1)?;
        let b = self.points.get(index)?;
        let a_m = self.cumulative_m.get(index - 1)?;
        let b_m = self.cumulative_m.get(index)?;
        let span_m = b_m - a_m;
        let t = if span_m > 0.0 {
            (along_m - a_m) / span_m
        } else {
            0.0
        };
        Some(a.lerp(*b, t))
    }

    /// Compass bearing of the line at `along_m`.
    pub fn bearing_at_deg(&self, along_m: f64) -> Option<f64> {
        let index = self
            .cumulative_m
            .partition_point(|&m| m <= along_m)
            .clamp(1, self.points.len().saturating_sub(1).max(1));
        let a = self.points.get(index - 1)?;
        let b = self.points.get(index)?;
        Some(bearing_deg(*a, *b))
    }
}

/// Foot of the perpendicular from `point` to segment `a..b`, as (fraction, point).
fn foot_on_segment(point: Xy, a: Xy, b: Xy) -> (f64, Xy) {
    let dx = b.x - a.x;
    let dy = b.y - a.y;
    let length_squared = dx * dx + dy * dy;
    if length_squared <= f64::EPSILON {
        return (0.0, a);
    }
    let t = (((point.x - a.x) * dx + (point.y - a.y) * dy) / length_squared).clamp(0.0, 1.0);
    (t, a.lerp(b, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polyline_projection_reports_metres_along() {
        let line = Polyline::new(vec![
            Xy::new(0.0, 0.0),
            Xy::new(100.0, 0.0),
            Xy::new(100.0, 100.0),
        ]);
        let hit = line.project(Xy::new(110.0, 50.0)).unwrap();
        assert!((hit.along_m - 150.0).abs() < 1e-9);
        assert!((hit.offset_m - 10.0).abs() < 1e-9);
        assert_eq!(line.point_at(50.0), Some(Xy::new(50.0, 0.0)));
        let windowed = line
            .project_between(Xy::new(50.0, 5.0), 120.0, 200.0)
            .unwrap();
        assert_eq!(windowed.segment, 1);
        assert!((bearing_difference_deg(350.0, 10.0) - 20.0).abs() < 1e-9);
    }
}
