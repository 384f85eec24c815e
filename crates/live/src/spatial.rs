//! A uniform grid over projected metres answering "which vehicles are near here".
//!
//! Buses move a few metres per report, so an update is a move between two small `Vec`s
//! when it crosses a cell border and nothing otherwise; a query reads the few cells that
//! the search circle touches. No tree to rebalance, no allocation on the hot path.

use std::collections::HashMap;

use transit::geo::Xy;

use crate::ids::VehicleId;

/// Cell side: about a city block, so a 300 m query reads a handful of cells.
pub const CELL_SIZE_M: f64 = 250.0;
/// Longest radius a query may ask for; bounds the cells one query reads.
pub const QUERY_RADIUS_MAX_M: f64 = 5_000.0;

type Cell = (i32, i32);

/// Vehicle positions bucketed by grid cell.
#[derive(Clone, Debug, Default)]
pub struct SpatialGrid {
    cells: HashMap<Cell, Vec<(VehicleId, Xy)>>,
    cell_of: HashMap<VehicleId, Cell>,
}

fn cell_of(point: Xy) -> Cell {
    // Saturating float-to-int casts keep absurd coordinates in an edge cell, never a panic.
    (
        (point.x / CELL_SIZE_M).floor() as i32,
        (point.y / CELL_SIZE_M).floor() as i32,
    )
}

impl SpatialGrid {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.cell_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cell_of.is_empty()
    }

    /// Inserts or moves a vehicle.
    pub fn upsert(&mut self, vehicle: VehicleId, point: Xy) {
        let cell = cell_of(point);
        if let Some(old) = self.cell_of.get(&vehicle).copied() {
            if old == cell {
                if let Some(entry) = self
                    .cells
                    .get_mut(&cell)
                    .and_then(|v| v.iter_mut().find(|(id, _)| *id == vehicle))
                {
                    entry.1 = point;
                }
                return;
            }
            self.remove_from_cell(vehicle, old);
        }
        self.cells.entry(cell).or_default().push((vehicle, point));
        self.cell_of.insert(vehicle, cell);
    }

    pub fn remove(&mut self, vehicle: VehicleId) {
        if let Some(cell) = self.cell_of.remove(&vehicle) {
            self.remove_from_cell(vehicle, cell);
        }
    }

    fn remove_from_cell(&mut self, vehicle: VehicleId, cell: Cell) {
        if let Some(members) = self.cells.get_mut(&cell) {
            members.retain(|(id, _)| *id != vehicle);
            if members.is_empty() {
                self.cells.remove(&cell);
            }
        }
    }

    /// Calls `found` for every vehicle within `radius_m` of `center`, nearest not first.
    pub fn for_each_within(&self, center: Xy, radius_m: f64, mut found: impl FnMut(VehicleId, Xy)) {
        let radius_m = radius_m.clamp(0.0, QUERY_RADIUS_MAX_M);
        let low = cell_of(Xy::new(center.x - radius_m, center.y - radius_m));
        let high = cell_of(Xy::new(center.x + radius_m, center.y + radius_m));
        let radius_squared = radius_m * radius_m;
        for cx in low.0..=high.0 {
            for cy in low.1..=high.1 {
                let Some(members) = self.cells.get(&(cx, cy)) else {
                    continue;
                };
                for (vehicle, point) in members {
                    if point.distance_squared_m2(center) <= radius_squared {
                        found(*vehicle, *point);
                    }
                }
            }
        }
    }

    pub fn within(&self, center: Xy, radius_m: f64) -> Vec<VehicleId> {
        let mut vehicles = Vec::new();
        self.for_each_within(center, radius_m, |vehicle, _| vehicles.push(vehicle));
        vehicles
    }

    /// Vehicles inside an axis-aligned box of projected metres, whatever its size: a box of
    /// more cells than are occupied reads the occupied cells instead of the box's.
    pub fn in_box(&self, low: Xy, high: Xy) -> Vec<VehicleId> {
        let (low, high) = (
            Xy::new(low.x.min(high.x), low.y.min(high.y)),
            Xy::new(low.x.max(high.x), low.y.max(high.y)),
        );
        let (low_cell, high_cell) = (cell_of(low), cell_of(high));
        let inside = |p: &Xy| p.x >= low.x && p.y >= low.y && p.x <= high.x && p.y <= high.y;
        let columns = i64::from(high_cell.0) - i64::from(low_cell.0) + 1;
        let rows = i64::from(high_cell.1) - i64::from(low_cell.1) + 1;
        let occupied = i64::try_from(self.cells.len()).unwrap_or(i64::MAX);
        let mut vehicles = Vec::new();
        let mut read = |members: &Vec<(VehicleId, Xy)>| {
            vehicles.extend(members.iter().filter(|(_, p)| inside(p)).map(|(id, _)| *id));
        };
        if columns.saturating_mul(rows) > occupied {
            let in_range = |cell: &Cell| {
                (low_cell.0..=high_cell.0).contains(&cell.0)
                    && (low_cell.1..=high_cell.1).contains(&cell.1)
            };
            self.cells
                .iter()
                .filter(|(cell, _)| in_range(cell))
                .for_each(|(_, members)| read(members));
        } else {
            for cx in low_cell.0..=high_cell.0 {
                for cy in low_cell.1..=high_cell.1 {
                    if let Some(members) = self.cells.get(&(cx, cy)) {
                        read(members);
                    }
                }
            }
        }
        vehicles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_moved_vehicles_and_forgets_removed_ones() {
        let mut grid = SpatialGrid::new();
        grid.upsert(VehicleId(1), Xy::new(10.0, 10.0));
        grid.upsert(VehicleId(2), Xy::new(900.0, 10.0));
        grid.upsert(VehicleId(1), Xy::new(600.0, 10.0));
        let mut near = grid.within(Xy::new(700.0, 0.0), 320.0);
        near.sort();
        assert_eq!(near, vec![VehicleId(1), VehicleId(2)]);
        grid.remove(VehicleId(2));
        assert_eq!(grid.within(Xy::new(700.0, 0.0), 320.0), vec![VehicleId(1)]);
        assert_eq!(
            grid.within(Xy::new(0.0, 0.0), 100.0),
            Vec::<VehicleId>::new()
        );
        assert_eq!(
            grid.in_box(Xy::new(500.0, 0.0), Xy::new(700.0, 50.0)),
            vec![VehicleId(1)]
        );
        assert_eq!(grid.len(), 1);
    }

    #[test]
    fn a_box_of_any_size_finds_every_vehicle_inside_it() {
        let mut grid = SpatialGrid::new();
        // A city 40 km across: a vehicle in each corner and one in the middle.
        let spots = [
            (1, -20_000.0, -20_000.0),
            (2, 20_000.0, -20_000.0),
            (3, -20_000.0, 20_000.0),
            (4, 20_000.0, 20_000.0),
            (5, 0.0, 0.0),
        ];
        for (id, x, y) in spots {
            grid.upsert(VehicleId(id), Xy::new(x, y));
        }
        let mut whole = grid.in_box(Xy::new(-20_000.0, -20_000.0), Xy::new(20_000.0, 20_000.0));
        whole.sort();
        assert_eq!(whole, (1..=5).map(VehicleId).collect::<Vec<_>>());
        let mut north = grid.in_box(Xy::new(-25_000.0, 1.0), Xy::new(25_000.0, 25_000.0));
        north.sort();
        assert_eq!(north, vec![VehicleId(3), VehicleId(4)]);
        // A small box reads its own cells.
        assert_eq!(
            grid.in_box(Xy::new(-10.0, -10.0), Xy::new(10.0, 10.0)),
            vec![VehicleId(5)]
        );
    }
}
