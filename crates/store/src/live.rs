//! Who may report live positions: trackers (Wialon IPS logins bound to a catalogue vehicle)
//! and feed tokens (a partner pushing one city's positions, of the catalogue buses in its
//! scope). Secrets are stored as digests.

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackerRow {
    pub tracker_id: String,
    pub password_sha256: String,
    pub transport_code: String,
    pub created_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedTokenRow {
    pub token_sha256: String,
    pub city_id: String,
    pub name: String,
    pub created_at_ms: i64,
    /// Every catalogue bus of this carrier is in the token's scope.
    pub carrier_id: Option<String>,
    /// Catalogue buses in the token's scope one by one (transport codes).
    pub vehicles: Vec<String>,
    /// Its positions may end the runs of the buses in its scope.
    pub ends_runs: bool,
}

/// Adds a tracker or replaces its password and vehicle.
pub async fn upsert_tracker(conn: &mut dyn Executor, t: &TrackerRow) -> Result<()> {
    query(
        "INSERT INTO live_trackers (tracker_id, password_sha256, transport_code, created_at_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tracker_id) DO UPDATE SET password_sha256 = excluded.password_sha256, \
         transport_code = excluded.transport_code",
    )
    .bind(&t.tracker_id)
    .bind(&t.password_sha256)
    .bind(&t.transport_code)
    .bind(t.created_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn all_trackers(conn: &mut dyn Executor) -> Result<Vec<TrackerRow>> {
    query("SELECT tracker_id, password_sha256, transport_code, created_at_ms FROM live_trackers ORDER BY tracker_id")
        .try_map(|r: Row| {
            Ok(TrackerRow {
                tracker_id: r.try_get(0)?,
                password_sha256: r.try_get(1)?,
                transport_code: r.try_get(2)?,
                created_at_ms: r.try_get(3)?,
            })
        })
        .fetch_all(conn)
        .await
}

/// Adds a token with its scope (the caller's transaction, so the rows land together).
pub async fn insert_feed_token(conn: &mut dyn Executor, t: &FeedTokenRow) -> Result<()> {
    query(
        "INSERT INTO live_feed_tokens (token_sha256, city_id, name, created_at_ms, carrier_id, ends_runs) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&t.token_sha256)
    .bind(&t.city_id)
    .bind(&t.name)
    .bind(t.created_at_ms)
    .bind(t.carrier_id.as_deref())
    .bind(i64::from(t.ends_runs))
    .execute(&mut *conn)
    .await?;
    for code in &t.vehicles {
        query("INSERT INTO live_feed_token_vehicles (token_sha256, transport_code) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(&t.token_sha256)
            .bind(code)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn all_feed_tokens(conn: &mut dyn Executor) -> Result<Vec<FeedTokenRow>> {
    let mut tokens = query(
        "SELECT token_sha256, city_id, name, created_at_ms, carrier_id, ends_runs FROM live_feed_tokens ORDER BY created_at_ms, token_sha256",
    )
    .try_map(|r: Row| {
        Ok(FeedTokenRow {
            token_sha256: r.try_get(0)?,
            city_id: r.try_get(1)?,
            name: r.try_get(2)?,
            created_at_ms: r.try_get(3)?,
            carrier_id: r.try_get(4)?,
            vehicles: Vec::new(),
            ends_runs: r.try_get::<i64>(5)? != 0,
        })
    })
    .fetch_all(&mut *conn)
    .await?;
    let scoped = query("SELECT token_sha256, transport_code FROM live_feed_token_vehicles ORDER BY token_sha256, transport_code")
        .try_map(|r: Row| Ok((r.try_get::<String>(0)?, r.try_get::<String>(1)?)))
        .fetch_all(&mut *conn)
        .await?;
    for (digest, code) in scoped {
        if let Some(token) = tokens.iter_mut().find(|t| t.token_sha256 == digest) {
            token.vehicles.push(code);
        }
    }
    Ok(tokens)
}
