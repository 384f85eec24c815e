//! What the public and the passenger read of the live state: one vehicle, the vehicles in a
//! box, the buses on their way to a stop, a vehicle's recent track, the bus a passenger rides
//! (detection), and our own GTFS-Realtime feed. The listings (a box, a stop's approaching
//! buses, our feed) first drop the stale vehicles, so nothing gone is listed.

use ::live::gtfs_rt::{self, VehicleDescriptor};
use ::live::state::{Fix, VehicleState};
use ::live::{TimeMs, VehicleId};
use ::transit::geo::Coordinate;

use super::{VehicleView, apply, lock, with_catalogue};
use crate::{App, ServiceError};

/// A candidate bus of a detection.
#[derive(Clone, Debug, PartialEq)]
pub struct DetectedBus {
    pub vehicle: VehicleView,
    pub probability: f64,
    pub mean_distance_m: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DetectionView {
    Confident(Box<DetectedBus>),
    /// Best first; `shortfall` says what a confident answer still needs.
    Ambiguous {
        candidates: Vec<DetectedBus>,
        shortfall: ::live::detect::Shortfall,
    },
    NoMatch,
}

/// One vehicle by its id.
pub fn vehicle(app: &App, city: &str, id: u64) -> Result<Option<VehicleView>, ServiceError> {
    let live = app.live.city(city)?;
    let guard = lock(&live);
    let registry = lock(&app.live.registry);
    let view = guard
        .state
        .vehicle(VehicleId(id))
        .and_then(|v| app.live.view(&registry, guard.state.network(), v));
    Ok(view.map(|view| with_catalogue(app, view)))
}

/// A vehicle's recent positions, oldest first, as a passenger riding it would send them to
/// [`detect`] (the demo's way to try detection without a phone on a bus).
pub fn track(app: &App, city: &str, id: u64) -> Result<Option<Vec<Fix>>, ServiceError> {
    let live = app.live.city(city)?;
    let guard = lock(&live);
    let projection = guard.state.network().projection();
    let fixes = guard.state.vehicle(VehicleId(id)).map(|vehicle| {
        vehicle
            .track()
            .iter()
            .filter_map(|point| {
                Some(Fix {
                    at: point.at,
                    point: projection.unproject(point.xy)?,
                    accuracy_m: None,
                })
            })
            .collect()
    });
    Ok(fixes)
}

/// Vehicles inside a box (south-west, north-east), every vehicle of the city without one.
pub async fn vehicles_in_box(
    app: &App,
    city: &str,
    bounds: Option<(Coordinate, Coordinate)>,
) -> Result<Vec<VehicleView>, ServiceError> {
    apply(app, city, &[]).await?;
    let live = app.live.city(city)?;
    let guard = lock(&live);
    let registry = lock(&app.live.registry);
    let network = guard.state.network();
    let found: Vec<&VehicleState> = match bounds {
        Some((south_west, north_east)) => guard.state.in_box(south_west, north_east),
        None => guard.state.vehicles().collect(),
    };
    let mut views: Vec<VehicleView> = found
        .into_iter()
        .filter_map(|v| app.live.view(&registry, network, v))
        .map(|view| with_catalogue(app, view))
        .collect();
    views.sort_by_key(|view| view.id);
    Ok(views)
}

/// A bus on its way to a stop: what the public sees of it and when it is expected there (its
/// run's time at that stop plus the delay it runs with).
#[derive(Clone, Debug, PartialEq)]
pub struct Approaching {
    pub vehicle: VehicleView,
    /// Where its run ends (the direction it goes).
    pub headsign: Option<String>,
    pub scheduled_ms: i64,
    pub expected_ms: i64,
}

/// The live buses whose run still has `stop_id` ahead of them, soonest first.
pub async fn approaching(
    app: &App,
    city: &str,
    stop_id: &str,
) -> Result<Vec<Approaching>, ServiceError> {
    apply(app, city, &[]).await?;
    let live = app.live.city(city)?;
    let mut found: Vec<Approaching> = {
        let guard = lock(&live);
        let registry = lock(&app.live.registry);
        let network = guard.state.network();
        guard
            .state
            .vehicles()
            .filter_map(|vehicle| {
                let progress = vehicle.run.as_ref()?;
                let run = network.run(progress.run)?;
                let ahead = run.stops.get(progress.next_stop?..)?;
                let stop = ahead.iter().find(|s| s.stop_id.as_str() == stop_id)?;
                Some(Approaching {
                    vehicle: app.live.view(&registry, network, vehicle)?,
                    headsign: run.stops.last().map(|s| s.name.clone()),
                    scheduled_ms: stop.arrival.0,
                    expected_ms: stop
                        .arrival
                        .0
                        .saturating_add(progress.delay_s.saturating_mul(1_000)),
                })
            })
            .collect()
    };
    for a in &mut found {
        a.vehicle = with_catalogue(app, a.vehicle.clone());
    }
    found.sort_by_key(|a| (a.expected_ms, a.vehicle.id));
    Ok(found)
}

/// The bus the passenger rides, from their recent fixes (oldest first).
pub fn detect(app: &App, city: &str, fixes: &[Fix]) -> Result<DetectionView, ServiceError> {
    let live = app.live.city(city)?;
    let guard = lock(&live);
    let detection = guard.state.detect(fixes, &app.live.detection);
    let registry = lock(&app.live.registry);
    let bus = |scored: &::live::Scored| {
        let state = guard.state.vehicle(scored.vehicle)?;
        let view = app.live.view(&registry, guard.state.network(), state)?;
        Some(DetectedBus {
            vehicle: with_catalogue(app, view),
            probability: scored.probability,
            mean_distance_m: scored.mean_distance_m,
        })
    };
    Ok(match detection {
        ::live::Detection::Confident(best) => bus(&best).map_or(DetectionView::NoMatch, |b| {
            DetectionView::Confident(Box::new(b))
        }),
        ::live::Detection::Ambiguous {
            candidates,
            shortfall,
        } => DetectionView::Ambiguous {
            candidates: candidates.iter().filter_map(bus).collect(),
            shortfall,
        },
        ::live::Detection::NoMatch => DetectionView::NoMatch,
    })
}

/// Our own GTFS-Realtime VehiclePositions feed of a city, encoded.
pub async fn gtfs_rt_feed(app: &App, city: &str) -> Result<Vec<u8>, ServiceError> {
    apply(app, city, &[]).await?;
    let live = app.live.city(city)?;
    let guard = lock(&live);
    let registry = lock(&app.live.registry);
    let catalogue = app.catalogue();
    let describe = |vehicle: VehicleId| {
        let entry = registry.vehicles.get(&vehicle);
        let code = entry.and_then(|e| e.transport_code.clone());
        let plate = code
            .as_ref()
            .and_then(|c| catalogue.vehicles.get(c))
            .map(|v| v.plate.display());
        VehicleDescriptor {
            id: Some(vehicle.0.to_string()),
            label: code
                .map(|c| c.as_str().to_owned())
                .or_else(|| entry.and_then(|e| e.feed_vehicle.clone())),
            license_plate: plate,
        }
    };
    let feed = gtfs_rt::vehicle_positions_feed(&guard.state, TimeMs(app.now_ms()), describe);
    Ok(gtfs_rt::encode_feed(&feed))
}
