//! Geometry on the city scale: WGS84 points, a local flat projection in metres, and
//! polylines with "metres along" projection.
//!
//! A city spans a few tens of kilometres, so an equirectangular projection around a
//! reference latitude is accurate to well under a metre there, and it turns every
//! distance into two multiplications. All hot paths (detection, the spatial grid, shape
//! projection) work in projected metres; degrees appear only at the edges.

/// The one Earth radius of the project, the timetable's (`transit::geo`), so a distance the
/// planner and the live state measure between the same two points is the same.
pub use transit::geo::EARTH_RADIUS_M;

/// A WGS84 position in decimal degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

impl LatLon {
    pub const fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }

    /// Whether the point is a plausible position on Earth (not NaN, in range, not 0/0).
    pub fn is_valid(self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
            && !(self.lat == 0.0 && self.lon == 0.0)
    }
}

/// A point in the local projection, metres east (`x`) and north (`y`) of the origin.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Xy {
    pub x: f64,
    pub y: f64,
}

impl Xy {
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }

    pub fn distance_m(self, other: Xy) -> f64 {
        (self.x - other.x).hypot(self.y - other.y)
    }

    pub fn distance_squared_m2(self, other: Xy) -> f64 {
        let dx = self.x - other.x;
        let dy = self.y - other.y;
        dx * dx + dy * dy
    }

    /// Linear interpolation: `t = 0` is `self`, `t = 1` is `other`.
    pub fn lerp(self, other: Xy, t: f64) -> Xy {
        Xy::new(
            self.x + (other.x - self.x) * t,
            self.y + (other.y - self.y) * t,
        )
    }
}

/// Equirectangular projection around an origin; good to centimetres within a city.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Projection {
    origin: LatLon,
    metres_per_degree_lon: f64,
    metres_per_degree_lat: f64,
}

impl Projection {
    pub fn new(origin: LatLon) -> Self {
        let metres_per_degree_lat = EARTH_RADIUS_M.to_radians();
        Self {
            origin,
            metres_per_degree_lat,
            metres_per_degree_lon: metres_per_degree_lat * origin.lat.to_radians().cos(),
        }
    }

    pub fn origin(&self) -> LatLon {
        self.origin
    }

    pub fn project(&self, point: LatLon) -> Xy {
        Xy::new(
            (point.lon - self.origin.lon) * self.metres_per_degree_lon,
            (point.lat - self.origin.lat) * self.metres_per_degree_lat,
        )
    }

    pub fn unproject(&self, point: Xy) -> LatLon {
        LatLon::new(
            self.origin.lat + point.y / self.metres_per_degree_lat,
            self.origin.lon + point.x / self.metres_per_degree_lon,
        )
    }
}

/// Great-circle distance; used where points may lie in different cities.
pub fn haversine_m(a: LatLon, b: LatLon) -> f64 {
    let d_lat = (b.lat - a.lat).to_radians();
    let d_lon = (b.lon - a.lon).to_radians();
    let h = (d_lat / 2.0).sin().powi(2)
        + a.lat.to_radians().cos() * b.lat.to_radians().cos() * (d_lon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

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
    fn projection_round_trips_and_measures_metres() {
        let projection = Projection::new(LatLon::new(44.65, -63.58));
        let point = LatLon::new(44.66, -63.57);
        let xy = projection.project(point);
        let back = projection.unproject(xy);
        assert!((back.lat - point.lat).abs() < 1e-9 && (back.lon - point.lon).abs() < 1e-9);
        let flat_m = xy.distance_m(Xy::default());
        let sphere_m = haversine_m(projection.origin(), point);
        assert!((flat_m - sphere_m).abs() < 1.0, "{flat_m} vs {sphere_m}");
    }

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
