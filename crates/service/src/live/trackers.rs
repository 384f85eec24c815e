//! Wialon IPS trackers: each is registered for one catalogue bus (its password kept as a
//! digest) and — being on the bus — may end that bus's runs. The TCP listener that logs them
//! in is the API's (`api::serve_wialon`, with its connection caps and session deadlines); this
//! module keeps the credentials and says which bus a logged-in tracker stands for.

use ::live::TrackerId;
use ::live::session::AuthOutcome;
use domain::{ErrorCode, TransportCode};

use super::{FeedToken, LiveHub, TrackerEntry, lock, sha256_hex};
use crate::{App, ServiceError};

/// How a tracker's password is kept and compared: the SHA-256 of `<tracker>:<password>`.
pub fn tracker_digest(tracker: &TrackerId, password: &str) -> String {
    sha256_hex(&format!("{}:{password}", tracker.as_str()))
}

impl LiveHub {
    /// The digest a tracker's password must match ([`tracker_digest`]); `None` for a tracker
    /// nobody registered. The comparison is the caller's, in constant time.
    pub fn tracker_password_digest(&self, tracker: &TrackerId) -> Option<String> {
        let registry = lock(&self.registry);
        let entry = registry.trackers.get(tracker.as_str())?;
        Some(entry.password_sha256.clone())
    }

    /// The bus a tracker whose password matched stands for, and the feed's route of its
    /// catalogue route; `UnknownTracker` when it is registered for no bus in the catalogue.
    pub fn tracker_vehicle(&self, app: &App, tracker: &TrackerId) -> AuthOutcome {
        let mut registry = lock(&self.registry);
        let Some(entry) = registry.trackers.get(tracker.as_str()).cloned() else {
            return AuthOutcome::UnknownTracker;
        };
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
        password_sha256: tracker_digest(tracker, password),
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
