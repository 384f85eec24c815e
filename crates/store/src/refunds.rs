//! Refunds of phone-balance rides through the passenger's operator: one row per ride, its
//! state (`requested` → `processing` → `succeeded` | `denied`) moved by compare-and-set, the
//! open ones read by the recovery loop.

use domain::ride::RideId;
use domain::ticket::TicketNumber;

use crate::Result;
use crate::db::{Executor, Row, query};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorRefundRow {
    pub ride_id: RideId,
    pub ticket_number: TicketNumber,
    pub operator: String,
    pub operator_payment_id: String,
    pub attempt: i64,
    pub status: String,
    pub operator_refund_id: Option<String>,
    pub reason: String,
    pub requested_by: String,
    pub denial: Option<String>,
    pub tries: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

const COLUMNS: &str = "ride_id, ticket_number, operator, operator_payment_id, attempt, status, operator_refund_id, \
     reason, requested_by, denial, tries, created_at_ms, updated_at_ms";

fn row(r: Row) -> Result<OperatorRefundRow> {
    Ok(OperatorRefundRow {
        ride_id: r.try_get(0)?,
        ticket_number: r.try_get(1)?,
        operator: r.try_get(2)?,
        operator_payment_id: r.try_get(3)?,
        attempt: r.try_get(4)?,
        status: r.try_get(5)?,
        operator_refund_id: r.try_get(6)?,
        reason: r.try_get(7)?,
        requested_by: r.try_get(8)?,
        denial: r.try_get(9)?,
        tries: r.try_get(10)?,
        created_at_ms: r.try_get(11)?,
        updated_at_ms: r.try_get(12)?,
    })
}

/// Writes a new request; `false` when the ride has one already (nothing is written).
pub async fn insert(conn: &mut dyn Executor, r: &OperatorRefundRow) -> Result<bool> {
    let done = query(
        "INSERT INTO operator_refunds (ride_id, ticket_number, operator, operator_payment_id, attempt, status, \
         operator_refund_id, reason, requested_by, denial, tries, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (ride_id) DO NOTHING",
    )
    .bind(&r.ride_id)
    .bind(r.ticket_number)
    .bind(&r.operator)
    .bind(&r.operator_payment_id)
    .bind(r.attempt)
    .bind(&r.status)
    .bind(r.operator_refund_id.as_deref())
    .bind(&r.reason)
    .bind(&r.requested_by)
    .bind(r.denial.as_deref())
    .bind(r.tries)
    .bind(r.created_at_ms)
    .bind(r.updated_at_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn by_ride(
    conn: &mut dyn Executor,
    ride_id: &RideId,
) -> Result<Option<OperatorRefundRow>> {
    query(format!(
        "SELECT {COLUMNS} FROM operator_refunds WHERE ride_id = $1"
    ))
    .bind(ride_id)
    .try_map(row)
    .fetch_optional(conn)
    .await
}

/// A denied request asked again: the next attempt, with its own correlator. `false` when the
/// row was not denied (someone else asked again first).
pub async fn ask_again(
    conn: &mut dyn Executor,
    ride_id: &RideId,
    reason: &str,
    requested_by: &str,
    now_ms: i64,
) -> Result<bool> {
    let done = query(
        "UPDATE operator_refunds SET attempt = attempt + 1, status = 'requested', operator_refund_id = NULL, \
         denial = NULL, reason = $1, requested_by = $2, tries = 0, updated_at_ms = $3 \
         WHERE ride_id = $4 AND status = 'denied'",
    )
    .bind(reason)
    .bind(requested_by)
    .bind(now_ms)
    .bind(ride_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves a request from `from` to `to` (compare-and-set), keeping what the operator said.
pub async fn transition(
    conn: &mut dyn Executor,
    ride_id: &RideId,
    from: &str,
    to: &str,
    operator_refund_id: Option<&str>,
    denial: Option<&str>,
    now_ms: i64,
) -> Result<bool> {
    let done = query(
        "UPDATE operator_refunds SET status = $1, operator_refund_id = COALESCE($2, operator_refund_id), \
         denial = $3, tries = tries + 1, updated_at_ms = $4 WHERE ride_id = $5 AND status = $6",
    )
    .bind(to)
    .bind(operator_refund_id)
    .bind(denial)
    .bind(now_ms)
    .bind(ride_id)
    .bind(from)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Open requests untouched since `idle_before_ms`, oldest first.
pub async fn open(
    conn: &mut dyn Executor,
    idle_before_ms: i64,
    limit: i64,
) -> Result<Vec<OperatorRefundRow>> {
    query(format!(
        "SELECT {COLUMNS} FROM operator_refunds WHERE status IN ('requested', 'processing') \
         AND updated_at_ms <= $1 ORDER BY updated_at_ms LIMIT $2"
    ))
    .bind(idle_before_ms)
    .bind(limit)
    .try_map(row)
    .fetch_all(conn)
    .await
}
