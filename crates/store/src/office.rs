//! What the office desk reads and writes beyond the cards themselves: the payout of a closing
//! card's balance (one row per card, its idempotency key and the way it was paid), the cities a
//! passenger has dealt with (their rides and applications: what scopes an office clerk), a
//! search of holders by name, and the audit entries about a set of objects.

use crate::Result;
use crate::audit::AuditRow;
use crate::db::{Executor, Row, query};

/// A closing card's balance paid out by the office.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayoutRow {
    pub card_number: String,
    pub idempotency_key: String,
    /// `cash` or `bank_transfer`.
    pub way: String,
    /// The bank transfer's reference; empty for cash.
    pub reference: String,
    pub amount_tiyn: i64,
    pub transfer_id: String,
    pub paid_by: String,
    pub reason: String,
    pub created_at_ms: i64,
}

const PAYOUT_COLUMNS: &str = "card_number, idempotency_key, way, reference, amount_tiyn, transfer_id, paid_by, reason, created_at_ms";

fn payout_row(r: Row) -> Result<PayoutRow> {
    Ok(PayoutRow {
        card_number: r.try_get(0)?,
        idempotency_key: r.try_get(1)?,
        way: r.try_get(2)?,
        reference: r.try_get(3)?,
        amount_tiyn: r.try_get(4)?,
        transfer_id: r.try_get(5)?,
        paid_by: r.try_get(6)?,
        reason: r.try_get(7)?,
        created_at_ms: r.try_get(8)?,
    })
}

/// Inserts the payout of a card; false when the card has one already.
pub async fn insert_payout(conn: &mut dyn Executor, p: &PayoutRow) -> Result<bool> {
    let done = query(format!(
        "INSERT INTO card_payouts ({PAYOUT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (card_number) DO NOTHING"
    ))
    .bind(&p.card_number)
    .bind(&p.idempotency_key)
    .bind(&p.way)
    .bind(&p.reference)
    .bind(p.amount_tiyn)
    .bind(&p.transfer_id)
    .bind(&p.paid_by)
    .bind(&p.reason)
    .bind(p.created_at_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn payout(conn: &mut dyn Executor, card: &str) -> Result<Option<PayoutRow>> {
    query(format!(
        "SELECT {PAYOUT_COLUMNS} FROM card_payouts WHERE card_number = $1"
    ))
    .bind(card)
    .try_map(payout_row)
    .fetch_optional(conn)
    .await
}

/// The cities a passenger has ridden in or applied to, each once.
pub async fn cities_of(conn: &mut dyn Executor, phone: &str) -> Result<Vec<String>> {
    query(
        "SELECT DISTINCT city_id FROM rides WHERE phone = $1 \
         UNION SELECT DISTINCT city FROM card_applications WHERE holder_phone = $1",
    )
    .bind(phone)
    .try_map(|r: Row| r.try_get(0))
    .fetch_all(conn)
    .await
}

/// A holder found by a name: their phone and the name that matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameMatch {
    pub phone: String,
    pub name: String,
}

/// Holders whose card (holder or pupil) or application names contain `pattern`, at most
/// `limit`, by phone. SQLite's `lower` folds ASCII only, so the name is also matched as typed
/// and with each word capitalised (how names are written), in Cyrillic as in Latin.
pub async fn holders_named(
    conn: &mut dyn Executor,
    pattern: &str,
    limit: i64,
) -> Result<Vec<NameMatch>> {
    let lower = pattern.to_lowercase();
    let capitalised: String = lower
        .split(' ')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ");
    let like = |p: &str| format!("%{p}%");
    let (lower, typed, capitalised) = (like(&lower), like(pattern), like(&capitalised));
    let matches =
        |column: &str| format!("(lower({column}) LIKE $1 OR {column} LIKE $2 OR {column} LIKE $3)");
    query(format!(
        "SELECT phone, MIN(name) FROM ( \
           SELECT holder_phone AS phone, holder_name AS name FROM cards WHERE {} \
           UNION SELECT holder_phone, pupil_name FROM cards WHERE {} \
           UNION SELECT holder_phone, full_name FROM card_applications WHERE {} \
         ) AS named GROUP BY phone ORDER BY phone LIMIT $4",
        matches("holder_name"),
        matches("pupil_name"),
        matches("full_name")
    ))
    .bind(lower.as_str())
    .bind(typed.as_str())
    .bind(capitalised.as_str())
    .bind(limit)
    .try_map(|r: Row| {
        Ok(NameMatch {
            phone: r.try_get(0)?,
            name: r.try_get(1)?,
        })
    })
    .fetch_all(conn)
    .await
}

/// The audit entries about any of `objects`, newest first, at most `limit`.
pub async fn audit_about(
    conn: &mut dyn Executor,
    objects: &[String],
    limit: i64,
) -> Result<Vec<AuditRow>> {
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (2..objects.len() + 2).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {} FROM audit_log WHERE object IN ({}) ORDER BY seq DESC LIMIT $1",
        crate::audit::COLUMNS,
        marks.join(", ")
    );
    let mut q = query(sql).bind(limit);
    for object in objects {
        q = q.bind(object.as_str());
    }
    q.try_map(crate::audit::row).fetch_all(conn).await
}
