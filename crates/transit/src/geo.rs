//! The project's one geometry of the Earth: WGS84 coordinates ([`Coordinate`]), the one Earth
//! radius ([`EARTH_RADIUS_M`]) and great-circle distance ([`haversine_m`]), the one flat
//! projection to metres ([`Projection`], points [`Xy`]) and a grid index over projected points.
//! `live` (positions, shapes, detection) and the timetable both measure with these, so a
//! distance the planner and the live state take between the same two points is the same.
//!
//! Distances on the hot paths use an equirectangular projection at one reference latitude (a
//! feed's mean stop latitude, a network's first stop): within a city it is accurate to about
//! 0.5 %, and it turns every "what is within r metres" question into cheap plane geometry.

/// Mean Earth radius, metres: the only one the project uses.
pub const EARTH_RADIUS_M: f64 = 6_371_000.0;

/// Most grid cells along one axis; a feed spanning a country gets coarser cells instead.
const GRID_CELLS_PER_AXIS_MAX: f64 = 2048.0;

/// A WGS84 position, validated on construction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coordinate {
    lat: f64,
    lon: f64,
}

/// Why a coordinate was refused.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("coordinate ({lat}, {lon}) is out of range")]
pub struct CoordinateError {
    /// Latitude as given.
    pub lat: f64,
    /// Longitude as given.
    pub lon: f64,
}

impl Coordinate {
    /// A coordinate with latitude in [-90, 90] and longitude in [-180, 180] (so neither is NaN
    /// nor infinite); (0, 0), the usual placeholder of a missing position, is refused too.
    pub fn new(lat: f64, lon: f64) -> Result<Self, CoordinateError> {
        let in_range = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
        if !in_range || (lat == 0.0 && lon == 0.0) {
            return Err(CoordinateError { lat, lon });
        }
        Ok(Self { lat, lon })
    }

    /// Latitude in degrees.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(self) -> f64 {
        self.lon
    }
}

/// Great-circle distance between two coordinates, metres (the haversine formula on a sphere
/// of [`EARTH_RADIUS_M`]); for points that need not share a projection.
pub fn haversine_m(a: Coordinate, b: Coordinate) -> f64 {
    let d_lat = (b.lat - a.lat).to_radians();
    let d_lon = (b.lon - a.lon).to_radians();
    let h = (d_lat / 2.0).sin().powi(2)
        + a.lat.to_radians().cos() * b.lat.to_radians().cos() * (d_lon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

/// A point in a [`Projection`]'s plane, metres east (`x`) and north (`y`) of its origin.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Xy {
    /// East, metres.
    pub x: f64,
    /// North, metres.
    pub y: f64,
}

impl Xy {
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }

    /// Straight-line distance in metres.
    pub fn distance_m(self, other: Xy) -> f64 {
        (self.x - other.x).hypot(self.y - other.y)
    }

    /// The square of [`Xy::distance_m`], for comparisons without the root.
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

/// Equirectangular projection: longitude scaled at one reference latitude, latitude as is,
/// both measured from an origin.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Projection {
    /// The point at (0, 0), degrees (a plain pair: `centred_on` puts it at 0°, 0°).
    origin_lat: f64,
    origin_lon: f64,
    /// Metres per radian of longitude at the reference latitude.
    lon_scale_m: f64,
}

impl Projection {
    /// A projection with `origin` at (0, 0), scaled at its latitude.
    pub fn new(origin: Coordinate) -> Self {
        Self {
            origin_lat: origin.lat,
            origin_lon: origin.lon,
            lon_scale_m: origin.lat.to_radians().cos() * EARTH_RADIUS_M,
        }
    }

    /// A projection scaled at the mean latitude of `points` (the equator if there are none),
    /// its axes through 0° latitude and 0° longitude.
    pub fn centred_on(points: impl Iterator<Item = Coordinate>) -> Self {
        let (sum, count) = points.fold((0.0, 0u64), |(sum, count), c| (sum + c.lat, count + 1));
        let mean_lat = if count == 0 { 0.0 } else { sum / count as f64 };
        Self {
            origin_lat: 0.0,
            origin_lon: 0.0,
            lon_scale_m: mean_lat.to_radians().cos() * EARTH_RADIUS_M,
        }
    }

    /// The point in plane metres.
    pub fn project(&self, c: Coordinate) -> Xy {
        Xy {
            x: (c.lon - self.origin_lon).to_radians() * self.lon_scale_m,
            y: (c.lat - self.origin_lat).to_radians() * EARTH_RADIUS_M,
        }
    }

    /// The coordinate of a plane point; `None` when it lies off the Earth's range.
    pub fn unproject(&self, point: Xy) -> Option<Coordinate> {
        let lat = self.origin_lat + (point.y / EARTH_RADIUS_M).to_degrees();
        let lon = self.origin_lon + (point.x / self.lon_scale_m).to_degrees();
        Coordinate::new(lat, lon).ok()
    }

    /// Straight-line distance between two coordinates in this plane, metres.
    pub fn distance_m(&self, a: Coordinate, b: Coordinate) -> f64 {
        self.project(a).distance_m(self.project(b))
    }
}

/// A uniform grid over plane points, answering "which items lie within r metres of p".
#[derive(Clone, Debug)]
pub struct GridIndex {
    cell_m: f64,
    min_x: f64,
    min_y: f64,
    columns: usize,
    rows: usize,
    /// `cell_start[c]..cell_start[c + 1]` are the items of cell `c` in `items`.
    cell_start: Vec<u32>,
    items: Vec<(u32, Xy)>,
}

impl GridIndex {
    /// Indexes `(id, point)` pairs with cells of about `cell_m` metres.
    pub fn new(points: &[(u32, Xy)], cell_m: f64) -> Self {
        let (mut min_x, mut min_y, mut max_x, mut max_y) = (0.0_f64, 0.0_f64, 0.0_f64, 0.0_f64);
        for (n, (_, p)) in points.iter().enumerate() {
            if n == 0 {
                (min_x, min_y, max_x, max_y) = (p.x, p.y, p.x, p.y);
            }
            min_x = min_x.min(p.x);
            min_y = min_y.min(p.y);
            max_x = max_x.max(p.x);
            max_y = max_y.max(p.y);
        }
        let extent = (max_x - min_x).max(max_y - min_y);
        let cell_m = cell_m.max(1.0).max(extent / GRID_CELLS_PER_AXIS_MAX);
        let columns = ((max_x - min_x) / cell_m) as usize + 1;
        let rows = ((max_y - min_y) / cell_m) as usize + 1;
        let mut grid = Self {
            cell_m,
            min_x,
            min_y,
            columns,
            rows,
            cell_start: Vec::new(),
            items: Vec::with_capacity(points.len()),
        };
        let mut keyed: Vec<(usize, u32, Xy)> = points
            .iter()
            .map(|&(id, p)| (grid.cell_of(p), id, p))
            .collect();
        keyed.sort_by_key(|&(cell, id, _)| (cell, id));
        let mut counts = vec![0u32; columns * rows + 1];
        for &(cell, id, p) in &keyed {
            if let Some(count) = counts.get_mut(cell + 1) {
                *count += 1;
            }
            grid.items.push((id, p));
        }
        for c in 1..counts.len() {
            let previous = counts.get(c - 1).copied().unwrap_or(0);
            if let Some(count) = counts.get_mut(c) {
                *count += previous;
            }
        }
        grid.cell_start = counts;
        grid
    }

    fn cell_of(&self, p: Xy) -> usize {
        let column = (((p.x - self.min_x) / self.cell_m).max(0.0) as usize).min(self.columns - 1);
        let row = (((p.y - self.min_y) / self.cell_m).max(0.0) as usize).min(self.rows - 1);
        row * self.columns + column
    }

    /// Calls `found(id, distance_m)` for every item within `radius_m` of `p` (inclusive).
    pub fn for_each_within(&self, p: Xy, radius_m: f64, mut found: impl FnMut(u32, f64)) {
        if self.items.is_empty() || radius_m.is_nan() || radius_m < 0.0 {
            return;
        }
        let span = |low: f64, origin: f64, count: usize| -> usize {
            (((low - origin) / self.cell_m).floor().max(0.0) as usize).min(count - 1)
        };
        let column_low = span(p.x - radius_m, self.min_x, self.columns);
        let column_high = span(p.x + radius_m, self.min_x, self.columns);
        let row_low = span(p.y - radius_m, self.min_y, self.rows);
        let row_high = span(p.y + radius_m, self.min_y, self.rows);
        for row in row_low..=row_high {
            let first = row * self.columns + column_low;
            let last = row * self.columns + column_high;
            let start = self.cell_start.get(first).copied().unwrap_or(0) as usize;
            let end = self.cell_start.get(last + 1).copied().unwrap_or(0) as usize;
            for &(id, q) in self.items.get(start..end).unwrap_or(&[]) {
                let d = p.distance_m(q);
                if d <= radius_m {
                    found(id, d);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_out_of_range_and_null_island() {
        assert!(Coordinate::new(91.0, 0.0).is_err());
        assert!(Coordinate::new(0.0, 0.0).is_err());
        assert!(Coordinate::new(51.128, 71.430).is_ok());
    }

    #[test]
    fn projection_round_trips_and_measures_metres() {
        let origin = Coordinate::new(44.65, -63.58).unwrap();
        let projection = Projection::new(origin);
        let point = Coordinate::new(44.66, -63.57).unwrap();
        let xy = projection.project(point);
        let back = projection.unproject(xy).unwrap();
        assert!((back.lat() - point.lat()).abs() < 1e-9 && (back.lon() - point.lon()).abs() < 1e-9);
        let flat_m = xy.distance_m(Xy::default());
        let sphere_m = haversine_m(origin, point);
        assert!((flat_m - sphere_m).abs() < 1.0, "{flat_m} vs {sphere_m}");
        // A projection centred on a feed measures the same distance.
        let centred = Projection::centred_on([origin, point].into_iter());
        assert!((centred.distance_m(origin, point) - sphere_m).abs() < 1.0);
        assert_eq!(projection.unproject(Xy::new(0.0, 1.0e9)), None);
    }

    #[test]
    fn grid_finds_exactly_the_points_within_the_radius() {
        let points: Vec<(u32, Xy)> = (0..100)
            .map(|n| {
                let p = Xy {
                    x: f64::from(n % 10) * 100.0,
                    y: f64::from(n / 10) * 100.0,
                };
                (n, p)
            })
            .collect();
        let grid = GridIndex::new(&points, 150.0);
        let centre = Xy { x: 450.0, y: 450.0 };
        let mut found = Vec::new();
        grid.for_each_within(centre, 160.0, |id, _| found.push(id));
        found.sort_unstable();
        let mut expected: Vec<u32> = points
            .iter()
            .filter(|(_, p)| p.distance_m(centre) <= 160.0)
            .map(|(id, _)| *id)
            .collect();
        expected.sort_unstable();
        assert_eq!(found, expected);
        assert_eq!(found.len(), 12);
    }
}
