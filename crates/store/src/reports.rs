//! Reports read off the ledger: the posted entries on carriers' payables, each with the
//! account on the other side of its transfer (an operator's receivable, a card's balance) and
//! the ride it belongs to, summed per local day, city, carrier, route, vehicle, source and
//! rider category (with the regular fares the rides recorded, what the subsidy is counted
//! from); and the posted movements of any account kind per owner and day. The sums
//! are the ledger's own, so a report agrees with the accounts to the tiyn.

use crate::Result;
use crate::db::{Executor, Row, query};

/// A day is this many milliseconds; local days are computed with the city's offset.
pub const DAY_MS: i64 = 86_400_000;

/// What the carriers' payables moved in one group of rides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RideTotalsRow {
    /// Days since 1970-01-01 in the city's local time.
    pub local_day: i64,
    pub city_id: String,
    pub carrier_id: String,
    pub route_id: String,
    pub transport_code: String,
    /// The account kind the fare came from (`operator_receivable`, `card_balance`).
    pub source_kind: String,
    /// The operator for `operator_receivable`; empty for cards.
    pub source_owner: String,
    pub rider_category: String,
    pub zone: Option<i64>,
    /// `ride` (a fare posted) or `reversal` (a refund or a revocation).
    pub transfer_kind: String,
    pub transfers: i64,
    /// The carrier's payable moved by this much, credits negative (what we owe is negative).
    pub payable_tiyn: i64,
    /// The regular fares the rides recorded when they were written, summed over the
    /// transfers; `None` for a group of rides written before the fare was recorded (each
    /// group holds either kind only).
    pub regular_fares_tiyn: Option<i64>,
}

/// The ride totals of one city from `from_ms` (inclusive) to `to_ms` (exclusive), of one
/// carrier or all; `offset_ms` is the city's UTC offset, which makes the local day.
pub async fn ride_totals(
    conn: &mut dyn Executor,
    city: &str,
    carrier: Option<&str>,
    from_ms: i64,
    to_ms: i64,
    offset_ms: i64,
) -> Result<Vec<RideTotalsRow>> {
    query(
        "SELECT (t.created_at_ms + $1) / $2, r.city_id, r.carrier_id, r.route_id, r.transport_code, \
         sa.kind, CASE WHEN sa.kind = 'operator_receivable' THEN sa.owner ELSE '' END, \
         r.rider_category, r.zone, t.kind, CASE WHEN r.regular_fare_tiyn IS NULL THEN 0 ELSE 1 END, \
         COUNT(*), CAST(SUM(e.amount_tiyn) AS BIGINT), CAST(SUM(r.regular_fare_tiyn) AS BIGINT) \
         FROM ledger_entries e \
         JOIN ledger_accounts a ON a.id = e.account_id \
         JOIN ledger_transfers t ON t.id = e.transfer_id \
         JOIN rides r ON r.id = t.ride_id \
         JOIN ledger_entries s ON s.transfer_id = e.transfer_id AND s.layer = 'posted' AND s.id <> e.id \
         JOIN ledger_accounts sa ON sa.id = s.account_id \
         WHERE a.kind = 'carrier_payable' AND e.layer = 'posted' \
         AND r.city_id = $3 AND ($4 IS NULL OR r.carrier_id = $4) \
         AND t.created_at_ms >= $5 AND t.created_at_ms < $6 \
         GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11",
    )
    .bind(offset_ms)
    .bind(DAY_MS)
    .bind(city)
    .bind(carrier)
    .bind(from_ms)
    .bind(to_ms)
    .try_map(|r: Row| {
        Ok(RideTotalsRow {
            local_day: r.try_get(0)?,
            city_id: r.try_get(1)?,
            carrier_id: r.try_get(2)?,
            route_id: r.try_get(3)?,
            transport_code: r.try_get(4)?,
            source_kind: r.try_get(5)?,
            source_owner: r.try_get(6)?,
            rider_category: r.try_get(7)?,
            zone: r.try_get(8)?,
            transfer_kind: r.try_get(9)?,
            transfers: r.try_get(11)?,
            payable_tiyn: r.try_get(12)?,
            regular_fares_tiyn: r.try_get(13)?,
        })
    })
    .fetch_all(conn)
    .await
}

/// The posted movement of every account of `kind` per owner and day (UTC shifted by
/// `offset_ms`) from `from_ms` to `to_ms`: `(local day, owner, transfers, sum of entries)`.
pub async fn account_movements(
    conn: &mut dyn Executor,
    kind: &str,
    from_ms: i64,
    to_ms: i64,
    offset_ms: i64,
) -> Result<Vec<(i64, String, i64, i64)>> {
    query(
        "SELECT (t.created_at_ms + $1) / $2, a.owner, COUNT(*), CAST(SUM(e.amount_tiyn) AS BIGINT) \
         FROM ledger_entries e \
         JOIN ledger_accounts a ON a.id = e.account_id \
         JOIN ledger_transfers t ON t.id = e.transfer_id \
         WHERE a.kind = $3 AND e.layer = 'posted' AND t.created_at_ms >= $4 AND t.created_at_ms < $5 \
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .bind(offset_ms)
    .bind(DAY_MS)
    .bind(kind)
    .bind(from_ms)
    .bind(to_ms)
    .try_map(|r: Row| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
    .fetch_all(conn)
    .await
}
