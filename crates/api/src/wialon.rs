//! The Wialon IPS listener, beside the HTTP one (`server`): trackers log in over TCP with
//! their id and password and stream positions into the live state's bounded queue. The
//! listener caps the connections it holds open, overall and per client address (a connection
//! over the cap is closed at once and counted, so the listener keeps accepting while the cap
//! is reached), and every session has a login deadline and an idle timeout
//! (`live::session`). A tracker's password is checked here, against the digest the service
//! keeps, with the API's one secret comparison ([`crate::extract::same_secret`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use service::App;
use service::live::engine::session::{AuthOutcome, SessionLimits};
use service::live::engine::{TimeMs, TrackerId};
use service::live::slots::{SlotLimits, SlotTable};
use tokio::net::TcpListener;

use crate::extract::same_secret;

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

/// Tracker login → vehicle: the password against the tracker's stored digest, then the bus
/// it stands for.
fn authenticate(app: &App, tracker: &TrackerId, password: Option<&str>) -> AuthOutcome {
    let Some(stored) = app.live.tracker_password_digest(tracker) else {
        return AuthOutcome::UnknownTracker;
    };
    let given = service::live::tracker_digest(tracker, password.unwrap_or(""));
    if !same_secret(&given, &stored) {
        return AuthOutcome::BadPassword;
    }
    app.live.tracker_vehicle(app, tracker)
}

/// Serves Wialon IPS trackers on this listener until the task is dropped: each connection
/// logs in with its tracker id and password and its positions go through the bounded queue.
/// A connection beyond the caps is closed as soon as it is accepted (and counted), so the
/// listener keeps accepting while the cap is reached.
pub async fn serve_wialon(app: Arc<App>, listener: TcpListener, limits: WialonLimits) {
    let slots = SlotTable::new(limits.connections);
    if let Err(error) = service::live::load_credentials(&app).await {
        tracing::warn!(%error, "tracker credentials not loaded");
    }
    let queue = service::live::position_queue(&app);
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
            let authenticate =
                |tracker: &TrackerId, password: Option<&str>| authenticate(&app, tracker, password);
            let now = || TimeMs(app.now_ms());
            let counters = &app.live.wialon;
            let session = service::live::engine::run_session(
                socket,
                &authenticate,
                &queue,
                counters,
                limits.session,
                now,
            );
            match session.await {
                Ok(end) => tracing::debug!(%peer, ?end, "tracker session ended"),
                Err(error) => tracing::info!(%peer, %error, "tracker session failed"),
            }
            drop(slot);
        });
    }
}
