//! Card top-ups through the acquirer: one row per order, inserted once per `(holder_phone,
//! idempotency_key)` (`ON CONFLICT DO NOTHING RETURNING`, so a repeat never aborts a PostgreSQL
//! transaction), its status moved `created → paid | failed` by compare-and-set only.

use crate::Result;
use crate::db::{Executor, Row, query};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopUpRow {
    pub id: String,
    pub holder_phone: String,
    pub idempotency_key: String,
    pub card_number: String,
    pub amount_tiyn: i64,
    pub acquirer: String,
    pub status: String,
    pub payment_url: Option<String>,
    pub acquirer_reference: Option<String>,
    pub failure: Option<String>,
    pub transfer_id: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

const COLUMNS: &str = "id, holder_phone, idempotency_key, card_number, amount_tiyn, acquirer, status, \
     payment_url, acquirer_reference, failure, transfer_id, created_at_ms, updated_at_ms";

fn top_up(r: Row) -> Result<TopUpRow> {
    Ok(TopUpRow {
        id: r.try_get(0)?,
        holder_phone: r.try_get(1)?,
        idempotency_key: r.try_get(2)?,
        card_number: r.try_get(3)?,
        amount_tiyn: r.try_get(4)?,
        acquirer: r.try_get(5)?,
        status: r.try_get(6)?,
        payment_url: r.try_get(7)?,
        acquirer_reference: r.try_get(8)?,
        failure: r.try_get(9)?,
        transfer_id: r.try_get(10)?,
        created_at_ms: r.try_get(11)?,
        updated_at_ms: r.try_get(12)?,
    })
}

/// Inserts the order unless the passenger's key was used already; `false` then.
pub async fn insert(conn: &mut dyn Executor, t: &TopUpRow) -> Result<bool> {
    let inserted = query(
        "INSERT INTO card_top_ups (id, holder_phone, idempotency_key, card_number, amount_tiyn, acquirer, status, \
         payment_url, acquirer_reference, failure, transfer_id, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (holder_phone, idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(&t.id)
    .bind(&t.holder_phone)
    .bind(&t.idempotency_key)
    .bind(&t.card_number)
    .bind(t.amount_tiyn)
    .bind(&t.acquirer)
    .bind(&t.status)
    .bind(&t.payment_url)
    .bind(&t.acquirer_reference)
    .bind(&t.failure)
    .bind(&t.transfer_id)
    .bind(t.created_at_ms)
    .bind(t.updated_at_ms)
    .try_map(|r: Row| r.try_get::<String>(0))
    .fetch_optional(conn)
    .await?;
    Ok(inserted.is_some())
}

pub async fn by_id(conn: &mut dyn Executor, id: &str) -> Result<Option<TopUpRow>> {
    query(format!("SELECT {COLUMNS} FROM card_top_ups WHERE id = $1"))
        .bind(id)
        .try_map(top_up)
        .fetch_optional(conn)
        .await
}

pub async fn by_key(
    conn: &mut dyn Executor,
    holder_phone: &str,
    idempotency_key: &str,
) -> Result<Option<TopUpRow>> {
    query(format!(
        "SELECT {COLUMNS} FROM card_top_ups WHERE holder_phone = $1 AND idempotency_key = $2"
    ))
    .bind(holder_phone)
    .bind(idempotency_key)
    .try_map(top_up)
    .fetch_optional(conn)
    .await
}

/// Records the acquirer's payment page of a created order.
pub async fn set_payment_url(
    conn: &mut dyn Executor,
    id: &str,
    url: &str,
    now_ms: i64,
) -> Result<()> {
    query("UPDATE card_top_ups SET payment_url = $1, updated_at_ms = $2 WHERE id = $3")
        .bind(url)
        .bind(now_ms)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The one move to `paid`; `false` when the order was not `created` (paid or failed already).
pub async fn mark_paid(
    conn: &mut dyn Executor,
    id: &str,
    reference: &str,
    transfer_id: &str,
    now_ms: i64,
) -> Result<bool> {
    let done = query(
        "UPDATE card_top_ups SET status = 'paid', acquirer_reference = $1, transfer_id = $2, updated_at_ms = $3 \
         WHERE id = $4 AND status = 'created'",
    )
    .bind(reference)
    .bind(transfer_id)
    .bind(now_ms)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The one move to `failed`; `false` when the order was not `created`.
pub async fn mark_failed(
    conn: &mut dyn Executor,
    id: &str,
    failure: &str,
    now_ms: i64,
) -> Result<bool> {
    let done = query(
        "UPDATE card_top_ups SET status = 'failed', failure = $1, updated_at_ms = $2 \
         WHERE id = $3 AND status = 'created'",
    )
    .bind(failure)
    .bind(now_ms)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Orders still `created` and untouched since `idle_since_ms`, oldest first.
pub async fn open(
    conn: &mut dyn Executor,
    idle_since_ms: i64,
    limit: i64,
) -> Result<Vec<TopUpRow>> {
    query(format!(
        "SELECT {COLUMNS} FROM card_top_ups WHERE status = 'created' AND updated_at_ms <= $1 \
         ORDER BY updated_at_ms LIMIT $2"
    ))
    .bind(idle_since_ms)
    .bind(limit)
    .try_map(top_up)
    .fetch_all(conn)
    .await
}

/// Counts an attempt of the recovery on an order left open.
pub async fn touch(conn: &mut dyn Executor, id: &str, now_ms: i64) -> Result<()> {
    query("UPDATE card_top_ups SET updated_at_ms = $1 WHERE id = $2 AND status = 'created'")
        .bind(now_ms)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Paid orders of an acquirer created in `[from_ms, to_ms)`: what its settlement report should
/// list.
pub async fn paid_between(
    conn: &mut dyn Executor,
    acquirer: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<TopUpRow>> {
    query(format!(
        "SELECT {COLUMNS} FROM card_top_ups WHERE acquirer = $1 AND status = 'paid' \
         AND created_at_ms >= $2 AND created_at_ms < $3 ORDER BY created_at_ms, id"
    ))
    .bind(acquirer)
    .bind(from_ms)
    .bind(to_ms)
    .try_map(top_up)
    .fetch_all(conn)
    .await
}

/// An acquirer's orders created since `since_ms`, counted by status (`created`, `paid`,
/// `failed`): what the system operator's console shows of its recent day.
pub async fn counts_since(
    conn: &mut dyn Executor,
    acquirer: &str,
    since_ms: i64,
) -> Result<Vec<(String, i64)>> {
    query(
        "SELECT status, COUNT(*) FROM card_top_ups WHERE acquirer = $1 AND created_at_ms >= $2 \
         GROUP BY status ORDER BY status",
    )
    .bind(acquirer)
    .bind(since_ms)
    .try_map(|r: Row| Ok((r.try_get(0)?, r.try_get(1)?)))
    .fetch_all(conn)
    .await
}
