//! Who may report live positions: trackers (Wialon IPS logins bound to a catalogue vehicle)
//! and feed tokens (a partner pushing one city's positions). Secrets are stored as digests.

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

pub async fn insert_feed_token(conn: &mut dyn Executor, t: &FeedTokenRow) -> Result<()> {
    query("INSERT INTO live_feed_tokens (token_sha256, city_id, name, created_at_ms) VALUES ($1, $2, $3, $4)")
        .bind(&t.token_sha256)
        .bind(&t.city_id)
        .bind(&t.name)
        .bind(t.created_at_ms)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn all_feed_tokens(conn: &mut dyn Executor) -> Result<Vec<FeedTokenRow>> {
    query("SELECT token_sha256, city_id, name, created_at_ms FROM live_feed_tokens ORDER BY created_at_ms")
        .try_map(|r: Row| {
            Ok(FeedTokenRow { token_sha256: r.try_get(0)?, city_id: r.try_get(1)?, name: r.try_get(2)?, created_at_ms: r.try_get(3)? })
        })
        .fetch_all(conn)
        .await
}
