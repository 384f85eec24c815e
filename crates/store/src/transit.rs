//! Transit data per city: the GTFS zip exactly as validated by the import (one row per city)
//! and the address list. A re-import replaces the row inside the caller's transaction, so a
//! city always has either its old feed or its new one, never a mix.

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedRow {
    pub city_id: String,
    /// The zip bytes.
    pub feed: Vec<u8>,
    pub feed_sha256: String,
    /// What the import read and skipped, for operators.
    pub summary: String,
    pub imported_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressesRow {
    pub city_id: String,
    /// The CSV bytes (`street,house,lat,lon`).
    pub csv: Vec<u8>,
    pub address_count: i64,
    pub imported_at_ms: i64,
}

fn feed_row(r: Row) -> crate::Result<FeedRow> {
    Ok(FeedRow {
        city_id: r.try_get(0)?,
        feed: r.try_get(1)?,
        feed_sha256: r.try_get(2)?,
        summary: r.try_get(3)?,
        imported_at_ms: r.try_get(4)?,
    })
}

fn addresses_row(r: Row) -> crate::Result<AddressesRow> {
    Ok(AddressesRow {
        city_id: r.try_get(0)?,
        csv: r.try_get(1)?,
        address_count: r.try_get(2)?,
        imported_at_ms: r.try_get(3)?,
    })
}

/// Stores a city's feed, replacing the previous one.
pub async fn replace_feed(conn: &mut dyn Executor, row: &FeedRow) -> Result<()> {
    query(
        "INSERT INTO transit_feeds (city_id, feed, feed_sha256, summary, imported_at_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (city_id) DO UPDATE SET feed = excluded.feed, feed_sha256 = excluded.feed_sha256, \
         summary = excluded.summary, imported_at_ms = excluded.imported_at_ms",
    )
    .bind(&row.city_id)
    .bind(&row.feed)
    .bind(&row.feed_sha256)
    .bind(&row.summary)
    .bind(row.imported_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every city's feed.
pub async fn feeds(conn: &mut dyn Executor) -> Result<Vec<FeedRow>> {
    let rows = query("SELECT city_id, feed, feed_sha256, summary, imported_at_ms FROM transit_feeds ORDER BY city_id")
        .try_map(feed_row)
        .fetch_all(conn)
        .await?;
    Ok(rows)
}

/// One city's feed.
pub async fn feed(conn: &mut dyn Executor, city_id: &str) -> Result<Option<FeedRow>> {
    let row = query("SELECT city_id, feed, feed_sha256, summary, imported_at_ms FROM transit_feeds WHERE city_id = $1")
        .bind(city_id)
        .try_map(feed_row)
        .fetch_optional(conn)
        .await?;
    Ok(row)
}

/// Stores a city's address list, replacing the previous one.
pub async fn replace_addresses(conn: &mut dyn Executor, row: &AddressesRow) -> Result<()> {
    query(
        "INSERT INTO transit_addresses (city_id, csv, address_count, imported_at_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (city_id) DO UPDATE SET csv = excluded.csv, address_count = excluded.address_count, \
         imported_at_ms = excluded.imported_at_ms",
    )
    .bind(&row.city_id)
    .bind(&row.csv)
    .bind(row.address_count)
    .bind(row.imported_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// One city's address list.
pub async fn addresses(conn: &mut dyn Executor, city_id: &str) -> Result<Option<AddressesRow>> {
    let row = query("SELECT city_id, csv, address_count, imported_at_ms FROM transit_addresses WHERE city_id = $1")
        .bind(city_id)
        .try_map(addresses_row)
        .fetch_optional(conn)
        .await?;
    Ok(row)
}
