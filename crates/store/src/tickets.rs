//! Issued e-tickets. A ticket is valid while its status is `valid`, its `not_after` is ahead
//! and no live signal has ended it (`ended_at_ms`, set when its bus reached the final stop).

use domain::ride::RideId;
use domain::ticket::TicketNumber;

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketRow {
    pub number: TicketNumber,
    pub ride_id: RideId,
    pub link_code: String,
    pub token: String,
    pub key_id: String,
    pub phone: String,
    pub city_id: String,
    pub route_id: String,
    pub transport_code: String,
    pub rider_category: String,
    pub amount_tiyn: i64,
    pub issued_at_ms: i64,
    pub not_after_ms: i64,
    pub run_id: Option<String>,
    pub ended_at_ms: Option<i64>,
    pub status: String,
    /// The destination zone of a zone fare.
    pub zone: Option<i64>,
    /// 1 for the passenger's only valid ticket on this bus when it was bought, 2 for a second…
    pub ordinal_on_vehicle: i64,
    /// The route number and plate as sold (None only on rows older than these columns whose
    /// route or bus has left the catalogue).
    pub route_number: Option<String>,
    pub plate: Option<String>,
    /// The transport card that paid (read from the ride; not written with the ticket).
    pub card_number: Option<String>,
    /// Which fare rule priced the ride (read from the ride; `None`: a full fare).
    pub fare_basis: Option<String>,
}

const COLUMNS: &str = "number, ride_id, link_code, token, key_id, phone, city_id, route_id, transport_code, \
     rider_category, amount_tiyn, issued_at_ms, not_after_ms, run_id, ended_at_ms, status, zone, ordinal_on_vehicle, route_number, plate, \
     (SELECT r.card_number FROM rides r WHERE r.id = tickets.ride_id), \
     (SELECT r.fare_basis FROM rides r WHERE r.id = tickets.ride_id)";

fn row(r: Row) -> crate::Result<TicketRow> {
    Ok(TicketRow {
        number: r.try_get(0)?,
        ride_id: r.try_get(1)?,
        link_code: r.try_get(2)?,
        token: r.try_get(3)?,
        key_id: r.try_get(4)?,
        phone: r.try_get(5)?,
        city_id: r.try_get(6)?,
        route_id: r.try_get(7)?,
        transport_code: r.try_get(8)?,
        rider_category: r.try_get(9)?,
        amount_tiyn: r.try_get(10)?,
        issued_at_ms: r.try_get(11)?,
        not_after_ms: r.try_get(12)?,
        run_id: r.try_get(13)?,
        ended_at_ms: r.try_get(14)?,
        status: r.try_get(15)?,
        zone: r.try_get(16)?,
        ordinal_on_vehicle: r.try_get(17)?,
        route_number: r.try_get(18)?,
        plate: r.try_get(19)?,
        card_number: r.try_get(20)?,
        fare_basis: r.try_get(21)?,
    })
}

pub async fn insert(conn: &mut dyn Executor, t: &TicketRow) -> Result<()> {
    query(
        "INSERT INTO tickets (number, ride_id, link_code, token, key_id, phone, city_id, route_id, transport_code, \
         rider_category, amount_tiyn, issued_at_ms, not_after_ms, run_id, ended_at_ms, status, zone, ordinal_on_vehicle, route_number, plate) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    )
    .bind(t.number)
    .bind(&t.ride_id)
    .bind(&t.link_code)
    .bind(&t.token)
    .bind(&t.key_id)
    .bind(&t.phone)
    .bind(&t.city_id)
    .bind(&t.route_id)
    .bind(&t.transport_code)
    .bind(&t.rider_category)
    .bind(t.amount_tiyn)
    .bind(t.issued_at_ms)
    .bind(t.not_after_ms)
    .bind(&t.run_id)
    .bind(t.ended_at_ms)
    .bind(&t.status)
    .bind(t.zone)
    .bind(t.ordinal_on_vehicle)
    .bind(&t.route_number)
    .bind(&t.plate)
    .execute(conn)
    .await?;
    Ok(())
}

async fn one(conn: &mut dyn Executor, column: &str, value: &str) -> Result<Option<TicketRow>> {
    let sql = format!("SELECT {COLUMNS} FROM tickets WHERE {column} = $1");
    query(&sql)
        .bind(value)
        .try_map(row)
        .fetch_optional(conn)
        .await
}

pub async fn by_ride(conn: &mut dyn Executor, ride_id: &RideId) -> Result<Option<TicketRow>> {
    one(conn, "ride_id", ride_id.as_str()).await
}

pub async fn by_link_code(conn: &mut dyn Executor, link_code: &str) -> Result<Option<TicketRow>> {
    one(conn, "link_code", link_code).await
}

pub async fn by_number(conn: &mut dyn Executor, number: TicketNumber) -> Result<Option<TicketRow>> {
    let sql = format!("SELECT {COLUMNS} FROM tickets WHERE number = $1");
    query(&sql)
        .bind(number)
        .try_map(row)
        .fetch_optional(conn)
        .await
}

/// The passenger's tickets that can still be shown, newest first.
pub async fn valid_for_phone(
    conn: &mut dyn Executor,
    phone: &str,
    now_ms: i64,
) -> Result<Vec<TicketRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM tickets WHERE phone = $1 AND status = 'valid' AND not_after_ms > $2 AND ended_at_ms IS NULL \
         ORDER BY issued_at_ms DESC, number DESC LIMIT 50"
    );
    query(&sql)
        .bind(phone)
        .bind(now_ms)
        .try_map(row)
        .fetch_all(conn)
        .await
}

/// One page of the passenger's trip history, newest first, strictly older than the cursor.
pub async fn history_for_phone(
    conn: &mut dyn Executor,
    phone: &str,
    before: Option<(i64, TicketNumber)>,
    limit: i64,
) -> Result<Vec<TicketRow>> {
    let (before_ms, before_number) =
        before.map_or((i64::MAX, i64::MAX), |(ms, number)| (ms, i64::from(number)));
    let sql = format!(
        "SELECT {COLUMNS} FROM tickets WHERE phone = $1 AND (issued_at_ms < $2 OR (issued_at_ms = $2 AND number < $3)) \
         ORDER BY issued_at_ms DESC, number DESC LIMIT $4"
    );
    query(&sql)
        .bind(phone)
        .bind(before_ms)
        .bind(before_number)
        .bind(limit)
        .try_map(row)
        .fetch_all(conn)
        .await
}

/// Ends every still-open ticket bought in this vehicle since its run started: the bus reached
/// the final stop. Returns how many ended.
pub async fn end_run(
    conn: &mut dyn Executor,
    transport_code: &str,
    run_started_ms: i64,
    ended_ms: i64,
) -> Result<u64> {
    let done = query(
        "UPDATE tickets SET ended_at_ms = $1, invalidated_at_ms = COALESCE(invalidated_at_ms, $1) \
         WHERE transport_code = $2 AND issued_at_ms >= $3 AND issued_at_ms <= $1 AND ended_at_ms IS NULL",
    )
    .bind(ended_ms)
    .bind(transport_code)
    .bind(run_started_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Takes a still-valid ticket out of use (`status` e.g. `revoked`), saying why; false when it
/// was not valid any more (someone else changed it first).
pub async fn invalidate(
    conn: &mut dyn Executor,
    number: TicketNumber,
    status: &str,
    reason: &str,
    now_ms: i64,
) -> Result<bool> {
    let done = query(
        "UPDATE tickets SET status = $1, status_reason = $2, invalidated_at_ms = COALESCE(invalidated_at_ms, $3) \
         WHERE number = $4 AND status = 'valid'",
    )
    .bind(status)
    .bind(reason)
    .bind(now_ms)
    .bind(number)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A ticket that stopped being valid before its time, as controllers learn of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalidation {
    pub number: TicketNumber,
    /// `revoked`, `refunded`, or `valid` when only its run has ended.
    pub status: String,
    pub ended: bool,
    pub invalidated_at_ms: i64,
    pub not_after_ms: i64,
}

/// Invalidations after the cursor `(invalidated_at_ms, number)` and at or before `settled_ms`,
/// oldest first, of tickets that would otherwise still be valid at `now_ms`.
pub async fn invalidations_after(
    conn: &mut dyn Executor,
    after: (i64, TicketNumber),
    now_ms: i64,
    limit: i64,
) -> Result<Vec<Invalidation>> {
    query(
        "SELECT number, status, ended_at_ms, invalidated_at_ms, not_after_ms FROM tickets \
         WHERE invalidated_at_ms IS NOT NULL AND (invalidated_at_ms > $1 OR (invalidated_at_ms = $1 AND number > $2)) \
         AND not_after_ms > $3 ORDER BY invalidated_at_ms, number LIMIT $4",
    )
    .bind(after.0)
    .bind(after.1)
    .bind(now_ms)
    .bind(limit)
    .try_map(|r: Row| {
        Ok(Invalidation {
            number: r.try_get(0)?,
            status: r.try_get(1)?,
            ended: r.try_get::<Option<i64>>(2)?.is_some(),
            invalidated_at_ms: r.try_get(3)?,
            not_after_ms: r.try_get(4)?,
        })
    })
    .fetch_all(conn)
    .await
}
