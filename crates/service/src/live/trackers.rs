//! Wialon IPS trackers: each is registered for one catalogue bus (its password kept as a
//! digest), logs in over TCP, and — being on the bus — may end that bus's runs. The listener
//! caps the connections it holds open, overall and per client address (a connection over
//! the cap is closed at once and counted), and every session has a login deadline and an
//! idle timeout (`live::session`).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ::live::session::{AuthOutcome, SessionLimits};
use ::live::{TimeMs, TrackerId};
use domain::{ErrorCode, TransportCode};

use super::slots::{SlotLimits, SlotTable};
use super::{FeedToken, LiveHub, TrackerEntry, lock, position_queue, sha256_hex};
use crate::{App, ServiceError};

/// Tracker connections open at once at most.
pub const WIALON_CONNECTIONS_MAX: usize = 10_000;
/// Tracker connections open at once from one address at most (trackers behind one mobile
/// operator's NAT share an address, so this is far above one bus's need).
pub const WIALON_CONNECTIONS_PER_ADDRESS_MAX: usize = 256;
/// After a failed `accept` (out of descriptors), the listener waits this long.
const ACCEPT_RETRY_MS: u64 = 100;

/// The caps and deadlines of the Wialon IPS listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WialonLimits {
    pub connections: SlotLimits,
    pub session: SessionLimits,
}

impl Default for WialonLimits {
    fn default() -> Self {
        Self {
            connections: SlotLimits {
                total_max: WIALON_CONNECTIONS_MAX,
                per_address_max: WIALON_CONNECTIONS_PER_ADDRESS_MAX,
            },
            session: SessionLimits::default(),
        }
    }
}

fn tracker_digest(tracker: &str, password: &str) -> String {
    sha256_hex(&format!("{tracker}:{password}"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl LiveHub {
    /// Tracker login → vehicle; backed by the credentials in memory (see [`load_credentials`]).
    pub fn authenticate(
        &self,
        app: &App,
        tracker: &TrackerId,
        password: Option<&str>,
    ) -> AuthOutcome {
        let mut registry = lock(&self.registry);
        let Some(entry) = registry.trackers.get(tracker.as_str()).cloned() else {
            return AuthOutcome::UnknownTracker;
        };
        let given = tracker_digest(tracker.as_str(), password.unwrap_or(""));
        if !constant_time_eq(given.as_bytes(), entry.password_sha256.as_bytes()) {
            return AuthOutcome::BadPassword;
        }
        let catalogue = app.catalogue();
        let Some(vehicle) = catalogue.vehicles.get(&entry.transport_code) else {
            return AuthOutcome::UnknownTracker;
        };
        let Some(route) = catalogue.routes.get(&vehicle.route) else {
            return AuthOutcome::UnknownTracker;
        };
        let city = route.city.as_str().to_owned();
        let id = registry.catalogue_vehicle(&entry.transport_code, &city);
        drop(registry);
        let feed_route = self
            .city(&city)
            .ok()
            .and_then(|live| lock(&live).routes_by_number.get(&route.number).cloned());
        AuthOutcome::Vehicle {
            vehicle: id,
            route: feed_route,
        }
    }
}

/// Reads trackers and feed tokens from the store into memory (at start-up; registering
/// one through the hub updates both).
pub async fn load_credentials(app: &App) -> Result<(), ServiceError> {
    let mut conn = app.store.reader().await?;
    let trackers = store::live::all_trackers(&mut conn).await?;
    let tokens = store::live::all_feed_tokens(&mut conn).await?;
    let mut registry = lock(&app.live.registry);
    for row in trackers {
        if let Ok(code) = TransportCode::parse(&row.transport_code) {
            registry.trackers.insert(
                row.tracker_id,
                TrackerEntry {
                    password_sha256: row.password_sha256,
                    transport_code: code,
                },
            );
        }
    }
    for row in tokens {
        let token = FeedToken::of_row(row);
        registry.feed_tokens.insert(token.digest.clone(), token);
    }
    Ok(())
}

/// A registered tracker as the operator sees it: never its password nor the digest of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackerView {
    pub tracker_id: String,
    pub transport_code: String,
    pub created_at_ms: i64,
}

/// Every registered tracker, by its id.
pub async fn trackers(app: &App) -> Result<Vec<TrackerView>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let rows = store::live::all_trackers(&mut conn).await?;
    Ok(rows
        .into_iter()
        .map(|row| TrackerView {
            tracker_id: row.tracker_id,
            transport_code: row.transport_code,
            created_at_ms: row.created_at_ms,
        })
        .collect())
}

/// Registers (or re-keys) a Wialon IPS tracker for a catalogue vehicle.
pub async fn register_tracker(
    app: &App,
    actor: &crate::staff::Actor,
    tracker: &TrackerId,
    password: &str,
    vehicle: &TransportCode,
) -> Result<(), ServiceError> {
    if !credential_fits_wialon(tracker.as_str()) || !credential_fits_wialon(password) {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            "tracker_id and password: 1-64 characters, no # ; or line breaks",
        ));
    }
    if !app.catalogue().vehicles.contains_key(vehicle) {
        return Err(ErrorCode::TransportCodeUnknown.into());
    }
    let row = store::live::TrackerRow {
        tracker_id: tracker.as_str().to_owned(),
        password_sha256: tracker_digest(tracker.as_str(), password),
        transport_code: vehicle.as_str().to_owned(),
        created_at_ms: app.now_ms(),
    };
    let mut tx = app.store.begin().await?;
    store::live::upsert_tracker(&mut tx, &row).await?;
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "tracker.register",
            object: &format!("tracker:{}", row.tracker_id),
            before: "",
            after: &format!("vehicle={} password=(new)", row.transport_code),
        },
        app.now_ms(),
    )
    .await?;
    tx.commit().await?;
    let entry = TrackerEntry {
        password_sha256: row.password_sha256,
        transport_code: vehicle.clone(),
    };
    lock(&app.live.registry)
        .trackers
        .insert(row.tracker_id, entry);
    Ok(())
}

/// A tracker id or password is at most this many characters.
pub const TRACKER_CREDENTIAL_CHARS_MAX: usize = 64;

/// A tracker id or password a Wialon IPS login line can carry: not empty, not too long, and
/// free of the protocol's separators (`#`, `;`) and line breaks.
fn credential_fits_wialon(text: &str) -> bool {
    !text.is_empty()
        && text.chars().count() <= TRACKER_CREDENTIAL_CHARS_MAX
        && !text.contains(['#', ';', '\r', '\n'])
}

/// Serves Wialon IPS trackers on this listener until the task is dropped: each connection
/// logs in with its tracker id and password and its positions go through the bounded queue.
/// A connection beyond the caps is closed as soon as it is accepted (and counted), so the
/// listener keeps accepting while the cap is reached.
pub async fn serve_wialon(app: Arc<App>, listener: tokio::net::TcpListener, limits: WialonLimits) {
    let slots = SlotTable::new(limits.connections);
    if let Err(error) = load_credentials(&app).await {
        tracing::warn!(%error, "tracker credentials not loaded");
    }
    let queue = position_queue(&app);
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "wialon accept failed");
                tokio::time::sleep(Duration::from_millis(ACCEPT_RETRY_MS)).await;
                continue;
            }
        };
        let address: IpAddr = peer.ip();
        let slot = match slots.take(Some(address)) {
            Ok(slot) => slot,
            Err(refusal) => {
                app.live
                    .counters
                    .wialon_connections_refused
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(%peer, ?refusal, "tracker connection refused: over the cap");
                drop(socket);
                continue;
            }
        };
        let (app, queue) = (Arc::clone(&app), queue.clone());
        tokio::spawn(async move {
            let authenticate = |tracker: &TrackerId, password: Option<&str>| {
                app.live.authenticate(&app, tracker, password)
            };
            let now = || TimeMs(app.now_ms());
            let counters = &app.live.wialon;
            let session =
                ::live::run_session(socket, &authenticate, &queue, counters, limits.session, now);
            match session.await {
                Ok(end) => tracing::debug!(%peer, ?end, "tracker session ended"),
                Err(error) => tracing::info!(%peer, %error, "tracker session failed"),
            }
            drop(slot);
        });
    }
}
