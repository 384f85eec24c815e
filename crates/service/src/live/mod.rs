//! Live buses in the server: per-city [`LiveState`] behind a lock, the registry that ties
//! trackers and feed vehicles to catalogue vehicles, the bounded queue the Wialon IPS
//! listener (`api::serve_wialon`) feeds (applied in batches by one worker task), the end of
//! tickets when a run reaches its final stop, and a broadcast of position changes for the
//! live stream. No socket is opened here.
//!
//! The pure work (matching, plausibility, detection, codecs) is the `live` crate; this
//! module only owns the shared state and the side effects. Every vehicle id is unique across
//! cities, so a position names its city through the registry. By concern:
//! - [`feeds`]: feed tokens and their scope (which catalogue buses a partner may report, and
//!   whether it may end their runs), the JSON and GTFS-RT pushes;
//! - [`trackers`]: Wialon IPS trackers (each stands for one catalogue bus and may end its
//!   runs): their credentials and the bus a logged-in tracker stands for;
//! - [`streams`]: the caps and lifetime of the live stream's subscribers;
//! - [`slots`]: the open-connection table both listeners count against;
//! - [`refusals`]: what a push did, why positions were refused, the `/metrics` counters;
//! - [`networks`]: the network (of one service date) each city's live state lies over;
//! - [`queue`]: the listener's bounded queue and the worker that applies it in batches;
//! - [`views`]: what the public and the passenger read (vehicles, arrivals, detection, our
//!   GTFS-Realtime feed).
//!
//! **Who may end a run** (and so the tickets bought in a bus for it): a position counts as
//! evidence only from the bus's own tracker, or from a feed token registered for that bus
//! (listed, or by its carrier) with the *authoritative* flag. The `live` crate then ends the
//! run only after such positions approach the final stop along the run's shape and one
//! reaches it (`live::state`'s module doc has the numbers). A trip switch by the source
//! ("superseded") ends no ticket: they end at the next final stop instead.

pub mod feeds;
pub mod networks;
pub mod queue;
pub mod refusals;
pub mod slots;
pub mod streams;
pub mod trackers;
pub mod views;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

pub use ::live as engine;
use ::live::network::Network;
use ::live::session::SessionCounters;
use ::live::state::{LiveConfig, LiveEvent, LiveState, Position, RunEndReason, VehicleState};
use ::live::{DetectionParams, RunIdx, TimeMs, VehicleId};
use ::transit::ids::GtfsRouteId;
use domain::{ErrorCode, TransportCode};
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, broadcast, mpsc};

pub use feeds::{
    FeedScope, FeedToken, FeedTokenView, NewFeedToken, Report, create_feed_token, feed_token,
    feed_tokens, push_gtfs_rt, push_reports,
};
pub use networks::{
    install_from_transit, keep_networks_current, network_from_feed, network_from_gtfs,
};
pub use queue::{position_queue, settle};
pub use refusals::{LiveCounters, PushSummary, Refusals};
pub use streams::{StreamSlot, open_stream};
pub use trackers::{TrackerView, load_credentials, register_tracker, tracker_digest, trackers};
pub use views::{
    Approaching, DetectedBus, DetectionView, approaching, detect, gtfs_rt_feed, track, vehicle,
    vehicles_in_box,
};

use crate::{App, ServiceError};

/// Positions waiting for the worker at most; a full queue slows the trackers down.
pub const QUEUE_CAPACITY: usize = 65_536;
/// Positions applied under one lock at most.
pub const APPLY_BATCH_MAX: usize = 4_096;
/// Position changes a slow stream subscriber may fall behind by before it skips.
pub const CHANGES_CAPACITY: usize = 8_192;
/// Positions in one push (JSON or GTFS-RT) at most.
pub const PUSH_POSITIONS_MAX: usize = 20_000;
/// The worker drops stale vehicles this often even when nothing reports.
pub const SWEEP_PERIOD_S: u64 = 10;
/// `settle` gives up waiting for the worker after this long.
pub const SETTLE_WAIT_MS: u64 = 5_000;

/// A catalogue or feed vehicle as the public sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct VehicleView {
    pub id: u64,
    pub city: String,
    pub transport_code: Option<String>,
    pub plate: Option<String>,
    /// The vehicle id in the partner's feed, when it came from one.
    pub feed_vehicle: Option<String>,
    pub route_id: Option<String>,
    pub route_number: Option<String>,
    pub trip_id: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub speed_mps: Option<f64>,
    pub heading_deg: Option<f64>,
    pub at_ms: i64,
    pub next_stop_id: Option<String>,
    pub next_stop_name: Option<String>,
    pub delay_s: Option<i64>,
    pub progress_m: Option<f64>,
}

/// One entry of the live stream.
#[derive(Clone, Debug, PartialEq)]
pub enum VehicleChange {
    Moved(Box<VehicleView>),
    Removed {
        id: u64,
        city: String,
        route_number: Option<String>,
    },
}

impl VehicleChange {
    pub fn city(&self) -> &str {
        match self {
            VehicleChange::Moved(view) => &view.city,
            VehicleChange::Removed { city, .. } => city,
        }
    }

    pub fn route_number(&self) -> Option<&str> {
        match self {
            VehicleChange::Moved(view) => view.route_number.as_deref(),
            VehicleChange::Removed { route_number, .. } => route_number.as_deref(),
        }
    }
}

struct CityLive {
    state: LiveState,
    /// Catalogue route number → the feed's route, for trackers that only know their bus.
    routes_by_number: HashMap<String, GtfsRouteId>,
}

#[derive(Clone, Debug)]
struct VehicleEntry {
    city: String,
    transport_code: Option<TransportCode>,
    feed_vehicle: Option<String>,
    /// Tickets bought in this vehicle since then belong to its current run.
    run_since_ms: i64,
}

#[derive(Clone, Debug)]
struct TrackerEntry {
    password_sha256: String,
    transport_code: TransportCode,
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    vehicles: HashMap<VehicleId, VehicleEntry>,
    by_code: HashMap<TransportCode, VehicleId>,
    /// (feed token digest, the partner's vehicle id): a partner's own vehicles are its own,
    /// out of every other token's reach.
    by_feed_key: HashMap<(String, String), VehicleId>,
    trackers: HashMap<String, TrackerEntry>,
    /// Token digest → token.
    feed_tokens: HashMap<String, FeedToken>,
}

impl Registry {
    fn allocate(&mut self, entry: VehicleEntry) -> VehicleId {
        self.next_id += 1;
        let id = VehicleId(self.next_id);
        self.vehicles.insert(id, entry);
        id
    }

    fn catalogue_vehicle(&mut self, code: &TransportCode, city: &str) -> VehicleId {
        if let Some(id) = self.by_code.get(code) {
            return *id;
        }
        let entry = VehicleEntry {
            city: city.to_owned(),
            transport_code: Some(code.clone()),
            feed_vehicle: None,
            run_since_ms: 0,
        };
        let id = self.allocate(entry);
        self.by_code.insert(code.clone(), id);
        id
    }

    fn feed_vehicle(&mut self, city: &str, token_digest: &str, key: &str) -> VehicleId {
        let slot = (token_digest.to_owned(), key.to_owned());
        if let Some(id) = self.by_feed_key.get(&slot) {
            return *id;
        }
        let entry = VehicleEntry {
            city: city.to_owned(),
            transport_code: None,
            feed_vehicle: Some(key.to_owned()),
            run_since_ms: 0,
        };
        let id = self.allocate(entry);
        self.by_feed_key.insert(slot, id);
        id
    }
}

/// The live side of the server.
pub struct LiveHub {
    config: LiveConfig,
    detection: DetectionParams,
    cities: RwLock<HashMap<String, Arc<Mutex<CityLive>>>>,
    registry: Mutex<Registry>,
    changes: broadcast::Sender<Arc<VehicleChange>>,
    queue: Mutex<Option<mpsc::Sender<Position>>>,
    applied_from_queue: AtomicU64,
    applied_notify: Notify,
    /// Counters of the Wialon IPS listener's sessions.
    pub wialon: SessionCounters,
    pub counters: LiveCounters,
    /// The live stream's open subscribers.
    pub streams: Arc<slots::SlotTable>,
    /// How long one live stream stays open before the client must reconnect.
    stream_lifetime_ms: AtomicU64,
}

impl Default for LiveHub {
    fn default() -> LiveHub {
        LiveHub::new(LiveConfig::default(), DetectionParams::default())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn sha256_hex(text: &str) -> String {
    crate::hex(&Sha256::digest(text.as_bytes()))
}

fn no_city(city: &str) -> ServiceError {
    ServiceError::new(
        ErrorCode::NotFound,
        format!("no live data for city {city:?}"),
    )
}

impl LiveHub {
    pub fn new(config: LiveConfig, detection: DetectionParams) -> LiveHub {
        let (changes, _) = broadcast::channel(CHANGES_CAPACITY);
        LiveHub {
            config,
            detection,
            cities: RwLock::new(HashMap::new()),
            registry: Mutex::new(Registry::default()),
            changes,
            queue: Mutex::new(None),
            applied_from_queue: AtomicU64::new(0),
            applied_notify: Notify::new(),
            wialon: SessionCounters::default(),
            counters: LiveCounters::default(),
            streams: slots::SlotTable::new(streams::STREAM_LIMITS),
            stream_lifetime_ms: AtomicU64::new(streams::STREAM_LIFETIME_MS),
        }
    }

    /// Lays a city's live state over this network (of one service date), replacing any.
    pub fn install_network(&self, city: &str, network: Arc<Network>) {
        let mut routes_by_number = HashMap::new();
        for run in network.runs() {
            routes_by_number
                .entry(run.route_short_name.clone())
                .or_insert_with(|| run.route_id.clone());
        }
        let live = CityLive {
            state: LiveState::new(network, self.config),
            routes_by_number,
        };
        let mut cities = self
            .cities
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cities.insert(city.to_owned(), Arc::new(Mutex::new(live)));
    }

    pub fn cities(&self) -> Vec<String> {
        let cities = self
            .cities
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut names: Vec<String> = cities.keys().cloned().collect();
        names.sort();
        names
    }

    fn city(&self, city: &str) -> Result<Arc<Mutex<CityLive>>, ServiceError> {
        let cities = self
            .cities
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cities.get(city).cloned().ok_or_else(|| no_city(city))
    }

    /// The network of a city's live state.
    pub fn network(&self, city: &str) -> Result<Arc<Network>, ServiceError> {
        let live = self.city(city)?;
        let network = Arc::clone(lock(&live).state.network());
        Ok(network)
    }

    /// Subscribes to position changes of every city.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<VehicleChange>> {
        self.changes.subscribe()
    }

    fn view(
        &self,
        registry: &Registry,
        network: &Network,
        vehicle: &VehicleState,
    ) -> Option<VehicleView> {
        let entry = registry.vehicles.get(&vehicle.vehicle)?;
        let run = vehicle
            .run
            .as_ref()
            .and_then(|progress| Some((progress, network.run(progress.run)?)));
        let next_stop = run.and_then(|(progress, run)| run.stops.get(progress.next_stop?));
        Some(VehicleView {
            id: vehicle.vehicle.0,
            city: entry.city.clone(),
            transport_code: entry
                .transport_code
                .as_ref()
                .map(|code| code.as_str().to_owned()),
            plate: None,
            feed_vehicle: entry.feed_vehicle.clone(),
            route_id: run
                .map(|(_, run)| run.route_id.as_str().to_owned())
                .or_else(|| vehicle.route.as_ref().map(|r| r.as_str().to_owned())),
            route_number: run.map(|(_, run)| run.route_short_name.clone()),
            trip_id: run.map(|(_, run)| run.trip_id.as_str().to_owned()),
            lat: vehicle.point.lat(),
            lon: vehicle.point.lon(),
            speed_mps: vehicle.speed_mps,
            heading_deg: vehicle.heading_deg,
            at_ms: vehicle.at.0,
            next_stop_id: next_stop.map(|stop| stop.stop_id.as_str().to_owned()),
            next_stop_name: next_stop.map(|stop| stop.name.clone()),
            delay_s: run.map(|(progress, _)| progress.delay_s),
            progress_m: run.map(|(progress, _)| progress.along_m),
        })
    }
}

/// Fills what the catalogue knows (plate, route number of a parked bus).
fn with_catalogue(app: &App, mut view: VehicleView) -> VehicleView {
    let catalogue = app.catalogue();
    let vehicle = view
        .transport_code
        .as_deref()
        .and_then(|code| TransportCode::parse(code).ok())
        .and_then(|code| catalogue.vehicles.get(&code).cloned());
    if let Some(vehicle) = vehicle {
        view.plate = Some(vehicle.plate.display());
        if view.route_number.is_none() {
            view.route_number = catalogue
                .routes
                .get(&vehicle.route)
                .map(|route| route.number.clone());
        }
    }
    view
}

/// Applies one batch of a city's positions, publishes the changes and acts on the events.
pub async fn apply(
    app: &App,
    city: &str,
    positions: &[Position],
) -> Result<PushSummary, ServiceError> {
    let live = app.live.city(city)?;
    let now = TimeMs(app.now_ms());
    let mut events = Vec::new();
    let (stats, network) = {
        let mut guard = lock(&live);
        let stats = guard.state.apply_batch(positions, now, &mut events);
        guard.state.drop_stale(now, &mut events);
        publish_moves(app, &guard, positions);
        (stats, Arc::clone(guard.state.network()))
    };
    let refused = Refusals::of(&stats);
    app.live.counters.count(&refused);
    if stats.implausible + stats.future > 0 {
        tracing::info!(
            city,
            implausible = stats.implausible,
            future = stats.future,
            "live positions refused"
        );
    }
    let mut summary = PushSummary {
        received: u64::try_from(positions.len()).unwrap_or(u64::MAX),
        applied: stats.applied,
        rejected: refused.total(),
        refused,
        ..PushSummary::default()
    };
    let (runs_ended, tickets_ended) = handle_events(app, city, &network, &events).await?;
    summary.runs_ended = runs_ended;
    summary.tickets_ended = tickets_ended;
    Ok(summary)
}

fn publish_moves(app: &App, city: &CityLive, positions: &[Position]) {
    if app.live.changes.receiver_count() == 0 {
        return;
    }
    let registry = lock(&app.live.registry);
    let mut seen = std::collections::HashSet::new();
    for position in positions.iter().rev() {
        if !seen.insert(position.vehicle) {
            continue;
        }
        let view = city
            .state
            .vehicle(position.vehicle)
            .and_then(|v| app.live.view(&registry, city.state.network(), v));
        if let Some(view) = view {
            let _receivers = app
                .live
                .changes
                .send(Arc::new(VehicleChange::Moved(Box::new(with_catalogue(
                    app, view,
                )))));
        }
    }
}

/// Ends the tickets of runs that reached their final stop; returns (runs ended, tickets
/// ended).
async fn handle_events(
    app: &App,
    city: &str,
    network: &Network,
    events: &[LiveEvent],
) -> Result<(u64, u64), ServiceError> {
    let (mut runs, mut tickets) = (0, 0);
    for event in events {
        match event {
            // A trip switch is no evidence that anyone's ride is over: the tickets of the
            // superseded run end at the next final stop the bus reaches.
            LiveEvent::RunEnded {
                reason: RunEndReason::Superseded,
                ..
            } => {}
            LiveEvent::RunEnded { vehicle, .. } => {
                runs += 1;
                let now_ms = app.now_ms();
                let ending = {
                    let mut registry = lock(&app.live.registry);
                    registry.vehicles.get_mut(vehicle).and_then(|entry| {
                        let since = std::mem::replace(&mut entry.run_since_ms, now_ms);
                        entry.transport_code.clone().map(|code| (code, since))
                    })
                };
                if let Some((code, since_ms)) = ending {
                    tickets += crate::tickets::end_run(app, &code, since_ms).await?;
                    tracing::info!(transport_code = %code, "run ended at its final stop; its tickets ended");
                }
            }
            LiveEvent::VehicleDropped {
                vehicle,
                run,
                route,
                ..
            } => {
                let route_number = dropped_route_number(app, network, *vehicle, *run, route);
                let change = VehicleChange::Removed {
                    id: vehicle.0,
                    city: city.to_owned(),
                    route_number,
                };
                let _receivers = app.live.changes.send(Arc::new(change));
            }
            LiveEvent::RunStarted { .. } => {}
        }
    }
    Ok((runs, tickets))
}

/// The route number a dropped vehicle was shown with, so that a stream filtered by route
/// hears of its removal: its run's, else its route's, else its catalogue route's.
fn dropped_route_number(
    app: &App,
    network: &Network,
    vehicle: VehicleId,
    run: Option<RunIdx>,
    route: &Option<GtfsRouteId>,
) -> Option<String> {
    let of_run = |index: &RunIdx| network.run(*index).map(|r| r.route_short_name.clone());
    run.as_ref()
        .and_then(of_run)
        .or_else(|| {
            route
                .as_ref()
                .and_then(|route| network.runs_of_route(route).first())
                .and_then(of_run)
        })
        .or_else(|| {
            let code = lock(&app.live.registry)
                .vehicles
                .get(&vehicle)
                .and_then(|entry| entry.transport_code.clone())?;
            let catalogue = app.catalogue();
            let bus = catalogue.vehicles.get(&code)?;
            catalogue.routes.get(&bus.route).map(|r| r.number.clone())
        })
}

/// Drops the stale vehicles of every city.
pub async fn sweep(app: &App) -> Result<(), ServiceError> {
    for city in app.live.cities() {
        apply(app, &city, &[]).await?;
    }
    Ok(())
}
