//! Rides: one row per payment attempt, keyed by the caller's idempotency key. The row is the
//! state machine of the payment (`reserving → reserved → confirming → issued`, or `failed`,
//! through `cancelling` when a refused reservation still has to be released);
//! every transition is a compare-and-set so the request path and the recovery worker can never
//! both move the same ride.

use domain::ride::RideId;
use domain::ticket::TicketNumber;

use crate::db::{Executor, Row, Target, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRide {
    pub id: RideId,
    pub idempotency_scope: String,
    pub idempotency_key: String,
    pub request_hash: String,
    pub channel: String,
    pub phone: String,
    pub operator: String,
    pub transport_code: String,
    pub route_id: String,
    pub city_id: String,
    pub carrier_id: String,
    pub rider_category: String,
    pub zone: Option<i64>,
    pub amount_tiyn: i64,
    pub language: String,
    pub created_at_ms: i64,
    /// 1 for the passenger's only live ride on this bus, 2 for a deliberate second one, …
    pub ordinal_on_vehicle: i64,
    /// The transport card that pays it; `None`: the phone balance.
    pub card_number: Option<String>,
    /// Which rule priced it: `full`, `transfer`, `capped` (`None`: a full fare, as every ride
    /// before fare rules).
    pub fare_basis: Option<String>,
    /// The regular (full) fare of its route and zone when it was written, what the city's
    /// preferential subsidy is counted from (`None`: a ride written before it was recorded).
    pub regular_fare_tiyn: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RideRow {
    pub ride: NewRide,
    pub status: String,
    pub operator_payment_id: Option<String>,
    pub failure_code: Option<String>,
    pub attempts: i64,
    pub updated_at_ms: i64,
    /// What an SMS passenger was told of it: `issued`, `failed`, or nothing yet.
    pub told_status: Option<String>,
}

pub enum Inserted {
    New,
    /// A ride with this idempotency key exists already.
    Existing(Box<RideRow>),
}

const COLUMNS: &str = "id, idempotency_scope, idempotency_key, request_hash, channel, phone, operator, transport_code, \
     route_id, city_id, carrier_id, rider_category, zone, amount_tiyn, language, created_at_ms, status, \
     operator_payment_id, failure_code, attempts, updated_at_ms, ordinal_on_vehicle, told_status, card_number, fare_basis, regular_fare_tiyn";

fn row(r: Row) -> crate::Result<RideRow> {
    Ok(RideRow {
        ride: NewRide {
            id: r.try_get(0)?,
            idempotency_scope: r.try_get(1)?,
            idempotency_key: r.try_get(2)?,
            request_hash: r.try_get(3)?,
            channel: r.try_get(4)?,
            phone: r.try_get(5)?,
            operator: r.try_get(6)?,
            transport_code: r.try_get(7)?,
            route_id: r.try_get(8)?,
            city_id: r.try_get(9)?,
            carrier_id: r.try_get(10)?,
            rider_category: r.try_get(11)?,
            zone: r.try_get(12)?,
            amount_tiyn: r.try_get(13)?,
            language: r.try_get(14)?,
            created_at_ms: r.try_get(15)?,
            ordinal_on_vehicle: r.try_get(21)?,
            card_number: r.try_get(23)?,
            fare_basis: r.try_get(24)?,
            regular_fare_tiyn: r.try_get(25)?,
        },
        status: r.try_get(16)?,
        operator_payment_id: r.try_get(17)?,
        failure_code: r.try_get(18)?,
        attempts: r.try_get(19)?,
        updated_at_ms: r.try_get(20)?,
        told_status: r.try_get(22)?,
    })
}

/// Inserts the ride in status `reserving` unless its idempotency key was seen before.
pub async fn insert(conn: &mut dyn Executor, ride: &NewRide) -> Result<Inserted> {
    let inserted = query(
        "INSERT INTO rides (id, idempotency_scope, idempotency_key, request_hash, channel, phone, operator, transport_code, \
         route_id, city_id, carrier_id, rider_category, zone, amount_tiyn, language, created_at_ms, status, attempts, updated_at_ms, \
         ordinal_on_vehicle, card_number, fare_basis, regular_fare_tiyn) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'reserving', 0, $16, $17, $18, $19, $20) \
         ON CONFLICT (idempotency_scope, idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(&ride.id)
    .bind(&ride.idempotency_scope)
    .bind(&ride.idempotency_key)
    .bind(&ride.request_hash)
    .bind(&ride.channel)
    .bind(&ride.phone)
    .bind(&ride.operator)
    .bind(&ride.transport_code)
    .bind(&ride.route_id)
    .bind(&ride.city_id)
    .bind(&ride.carrier_id)
    .bind(&ride.rider_category)
    .bind(ride.zone)
    .bind(ride.amount_tiyn)
    .bind(&ride.language)
    .bind(ride.created_at_ms)
    .bind(ride.ordinal_on_vehicle)
    .bind(ride.card_number.as_deref())
    .bind(ride.fare_basis.as_deref())
    .bind(ride.regular_fare_tiyn)
    .fetch_optional(conn)
    .await?;
    if inserted.is_some() {
        return Ok(Inserted::New);
    }
    match by_key(conn, &ride.idempotency_scope, &ride.idempotency_key).await? {
        Some(existing) => Ok(Inserted::Existing(Box::new(existing))),
        None => Err(crate::StoreError::Corrupt {
            column: "rides.idempotency_key",
            detail: "conflict without a row".into(),
        }),
    }
}

/// One of a card's rides of the day, as its fare rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardDayRide {
    pub created_at_ms: i64,
    pub route_id: String,
    pub amount_tiyn: i64,
    pub fare_basis: Option<String>,
}

/// At most this many of a card's rides of a day are read (caps and transfers look at them).
pub const CARD_DAY_RIDES_MAX: i64 = 1_000;

/// The card's rides since `since_ms` that cost (or may yet cost) what they say: neither failed
/// nor refunded.
pub async fn card_rides_since(
    conn: &mut dyn Executor,
    card: &str,
    since_ms: i64,
) -> Result<Vec<CardDayRide>> {
    query(
        "SELECT r.created_at_ms, r.route_id, r.amount_tiyn, r.fare_basis FROM rides r \
         LEFT JOIN tickets t ON t.ride_id = r.id \
         WHERE r.card_number = $1 AND r.created_at_ms >= $2 AND r.status <> 'failed' \
         AND (t.status IS NULL OR t.status <> 'refunded') ORDER BY r.created_at_ms LIMIT $3",
    )
    .bind(card)
    .bind(since_ms)
    .bind(CARD_DAY_RIDES_MAX)
    .try_map(|r: Row| {
        Ok(CardDayRide {
            created_at_ms: r.try_get(0)?,
            route_id: r.try_get(1)?,
            amount_tiyn: r.try_get(2)?,
            fare_basis: r.try_get(3)?,
        })
    })
    .fetch_all(conn)
    .await
}

/// At most this many of a passenger's live rides on one bus are read back (the count on a
/// ticket stops there).
pub const HELD_RIDES_MAX: i64 = 100;

/// A ride of the passenger's on a bus that still holds (or may yet give) a valid ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldRide {
    pub ride_id: RideId,
    pub status: String,
    pub created_at_ms: i64,
    /// The ticket, once issued.
    pub ticket_number: Option<TicketNumber>,
}

/// Serialises the ride decisions of one phone number until the transaction ends, so that two
/// requests a second apart cannot both find "no ticket on this bus yet". SQLite's one writer
/// already runs write transactions one at a time; PostgreSQL takes a transaction-scoped
/// advisory lock keyed by the number (the one statement here that only it runs).
pub async fn lock_phone(conn: &mut dyn Executor, phone: &str) -> Result<()> {
    if matches!(conn.target(), Target::Postgres(_)) {
        query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(phone)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The passenger's rides on this vehicle since `since_ms` that are still in flight or whose
/// ticket is still valid at `now_ms`, oldest first; a ride under the given idempotency key (a
/// retry of the request being decided) is left out.
pub async fn held_on_vehicle(
    conn: &mut dyn Executor,
    phone: &str,
    transport_code: &str,
    since_ms: i64,
    now_ms: i64,
    except: (&str, &str),
) -> Result<Vec<HeldRide>> {
    query(
        "SELECT r.id, r.status, r.created_at_ms, t.number FROM rides r LEFT JOIN tickets t ON t.ride_id = r.id \
         WHERE r.phone = $1 AND r.transport_code = $2 AND r.created_at_ms >= $3 \
         AND NOT (r.idempotency_scope = $5 AND r.idempotency_key = $6) \
         AND (r.status IN ('reserving', 'reserved', 'confirming') \
              OR (r.status = 'issued' AND t.status = 'valid' AND t.ended_at_ms IS NULL AND t.not_after_ms > $4)) \
         ORDER BY r.created_at_ms, r.id LIMIT $7",
    )
    .bind(phone)
    .bind(transport_code)
    .bind(since_ms)
    .bind(now_ms)
    .bind(except.0)
    .bind(except.1)
    .bind(HELD_RIDES_MAX)
    .try_map(|r: Row| {
        Ok(HeldRide {
            ride_id: r.try_get(0)?,
            status: r.try_get(1)?,
            created_at_ms: r.try_get(2)?,
            ticket_number: r.try_get(3)?,
        })
    })
    .fetch_all(conn)
    .await
}

pub async fn by_key(conn: &mut dyn Executor, scope: &str, key: &str) -> Result<Option<RideRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM rides WHERE idempotency_scope = $1 AND idempotency_key = $2"
    );
    query(&sql)
        .bind(scope)
        .bind(key)
        .try_map(row)
        .fetch_optional(conn)
        .await
}

pub async fn by_id(conn: &mut dyn Executor, id: &RideId) -> Result<Option<RideRow>> {
    let sql = format!("SELECT {COLUMNS} FROM rides WHERE id = $1");
    query(&sql).bind(id).try_map(row).fetch_optional(conn).await
}

/// What a transition writes besides the status.
#[derive(Clone, Debug, Default)]
pub struct Transition<'a> {
    pub operator_payment_id: Option<&'a str>,
    pub failure_code: Option<&'a str>,
}

/// Moves the ride from `from` to `to`; false when it was not in `from` (someone else moved it).
pub async fn transition(
    conn: &mut dyn Executor,
    id: &RideId,
    from: &str,
    to: &str,
    change: Transition<'_>,
    now_ms: i64,
) -> Result<bool> {
    let done = query(
        "UPDATE rides SET status = $1, operator_payment_id = COALESCE($2, operator_payment_id), \
         failure_code = COALESCE($3, failure_code), updated_at_ms = $4 WHERE id = $5 AND status = $6",
    )
    .bind(to)
    .bind(change.operator_payment_id)
    .bind(change.failure_code)
    .bind(now_ms)
    .bind(id)
    .bind(from)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Rides whose payment is not settled (or, `cancelling`, whose refused reservation is not
/// released yet) and that nobody touched since `idle_since_ms`.
pub async fn unsettled(
    conn: &mut dyn Executor,
    idle_since_ms: i64,
    limit: i64,
) -> Result<Vec<RideRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM rides WHERE status IN ('reserving', 'reserved', 'confirming', 'cancelling') AND updated_at_ms <= $1 \
         ORDER BY updated_at_ms LIMIT $2"
    );
    query(&sql)
        .bind(idle_since_ms)
        .bind(limit)
        .try_map(row)
        .fetch_all(conn)
        .await
}

/// Records what an SMS ride's passenger was told: `told` is the settled status they heard
/// (`issued`, or `failed` for a refusal); "pending" is not recorded.
pub async fn mark_told(conn: &mut dyn Executor, scope: &str, key: &str, told: &str) -> Result<()> {
    query(
        "UPDATE rides SET told_status = $1 WHERE idempotency_scope = $2 AND idempotency_key = $3",
    )
    .bind(told)
    .bind(scope)
    .bind(key)
    .execute(conn)
    .await?;
    Ok(())
}

/// SMS rides settled (issued or failed) whose passenger has not been told so, idle since
/// `idle_since_ms`: the recovery pass tells them.
pub async fn untold(
    conn: &mut dyn Executor,
    idle_since_ms: i64,
    limit: i64,
) -> Result<Vec<RideRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM rides WHERE channel = 'sms' AND (told_status IS NULL OR told_status <> status) \
         AND status IN ('issued', 'failed') AND updated_at_ms <= $1 ORDER BY updated_at_ms LIMIT $2"
    );
    query(&sql)
        .bind(idle_since_ms)
        .bind(limit)
        .try_map(row)
        .fetch_all(conn)
        .await
}

/// Counts a recovery attempt and pushes the ride back in the queue.
pub async fn touch(conn: &mut dyn Executor, id: &RideId, now_ms: i64) -> Result<()> {
    query("UPDATE rides SET attempts = attempts + 1, updated_at_ms = $1 WHERE id = $2")
        .bind(now_ms)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Rides by status, for reports and tests.
pub async fn count_by_status(conn: &mut dyn Executor) -> Result<Vec<(String, i64)>> {
    query("SELECT status, COUNT(*) FROM rides GROUP BY status ORDER BY status")
        .try_map(|r: Row| Ok((r.try_get(0)?, r.try_get(1)?)))
        .fetch_all(conn)
        .await
}

/// Makes rides look as written before their regular fare was recorded (migration 0025), to
/// show how a report treats them (feature `tamper`, enabled only by dev-dependencies).
#[cfg(feature = "tamper")]
pub mod tamper {
    use crate::Result;
    use crate::db::{Executor, query};

    /// Forgets the regular fare of every ride written before `before_ms`; how many changed.
    pub async fn forget_regular_fares(conn: &mut dyn Executor, before_ms: i64) -> Result<u64> {
        let done = query("UPDATE rides SET regular_fare_tiyn = NULL WHERE created_at_ms < $1")
            .bind(before_ms)
            .execute(conn)
            .await?;
        Ok(done.rows_affected())
    }
}
