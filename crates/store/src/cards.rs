//! Transport cards, the banks that top them up, and each bank payment keyed by
//! `(bank, txn_id)`. A card's balance is its ledger account (`card_balance/<number>`); its
//! status moves by compare-and-set only. A bank payment is inserted once: a repeat finds the
//! first row and so the first answer.

use domain::ride::RideId;

use crate::Result;
use crate::db::{Executor, Row, query};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardRow {
    pub number: String,
    pub holder_phone: String,
    pub kind: String,
    pub rider_category: String,
    pub status: String,
    pub holder_name: String,
    pub pupil_name: Option<String>,
    pub school: Option<String>,
    pub class_name: Option<String>,
    pub closed_into: Option<String>,
    /// A preferential category holds until then (the document's validity); the regular fare
    /// after.
    pub category_until_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

const CARD_COLUMNS: &str = "number, holder_phone, kind, rider_category, status, holder_name, pupil_name, school, \
     class_name, closed_into, created_at_ms, updated_at_ms, category_until_ms";

fn card(r: Row) -> Result<CardRow> {
    Ok(CardRow {
        number: r.try_get(0)?,
        holder_phone: r.try_get(1)?,
        kind: r.try_get(2)?,
        rider_category: r.try_get(3)?,
        status: r.try_get(4)?,
        holder_name: r.try_get(5)?,
        pupil_name: r.try_get(6)?,
        school: r.try_get(7)?,
        class_name: r.try_get(8)?,
        closed_into: r.try_get(9)?,
        created_at_ms: r.try_get(10)?,
        updated_at_ms: r.try_get(11)?,
        category_until_ms: r.try_get(12)?,
    })
}

/// Inserts a new card; a number taken already is a unique violation (draw another).
pub async fn insert(conn: &mut dyn Executor, card: &CardRow) -> Result<()> {
    query(format!(
        "INSERT INTO cards ({CARD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(&card.number)
    .bind(&card.holder_phone)
    .bind(&card.kind)
    .bind(&card.rider_category)
    .bind(&card.status)
    .bind(&card.holder_name)
    .bind(card.pupil_name.as_deref())
    .bind(card.school.as_deref())
    .bind(card.class_name.as_deref())
    .bind(card.closed_into.as_deref())
    .bind(card.created_at_ms)
    .bind(card.updated_at_ms)
    .bind(card.category_until_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn by_number(conn: &mut dyn Executor, number: &str) -> Result<Option<CardRow>> {
    query(format!(
        "SELECT {CARD_COLUMNS} FROM cards WHERE number = $1"
    ))
    .bind(number)
    .try_map(card)
    .fetch_optional(conn)
    .await
}

/// A holder's cards, oldest first.
pub async fn of_holder(conn: &mut dyn Executor, phone: &str) -> Result<Vec<CardRow>> {
    query(format!(
        "SELECT {CARD_COLUMNS} FROM cards WHERE holder_phone = $1 ORDER BY created_at_ms, number"
    ))
    .bind(phone)
    .try_map(card)
    .fetch_all(conn)
    .await
}

/// Takes the card's row lock until the transaction ends (an `UPDATE` that changes nothing, so
/// it works alike on SQLite and PostgreSQL) and reads it.
pub async fn lock(conn: &mut dyn Executor, number: &str) -> Result<Option<CardRow>> {
    query(format!(
        "UPDATE cards SET updated_at_ms = updated_at_ms WHERE number = $1 RETURNING {CARD_COLUMNS}"
    ))
    .bind(number)
    .try_map(card)
    .fetch_optional(conn)
    .await
}

/// Moves a card from `from` to `to`; false when it was not in `from`.
pub async fn transition(
    conn: &mut dyn Executor,
    number: &str,
    from: &str,
    to: &str,
    closed_into: Option<&str>,
    now_ms: i64,
) -> Result<bool> {
    let done = query(
        "UPDATE cards SET status = $1, closed_into = COALESCE($2, closed_into), updated_at_ms = $3 \
         WHERE number = $4 AND status = $5",
    )
    .bind(to)
    .bind(closed_into)
    .bind(now_ms)
    .bind(number)
    .bind(from)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One ledger entry on a card's balance, with its transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardEntry {
    /// The entry's own id: the cursor of the next page.
    pub id: i64,
    pub transfer_id: String,
    pub kind: String,
    pub ride_id: Option<RideId>,
    pub layer: String,
    /// Debits positive: a ride's fare is positive, a top-up negative.
    pub amount_tiyn: i64,
    pub at_ms: i64,
    /// A hold whose ride's hold was released on this card since (posted or voided).
    pub released: bool,
}

/// The entries of a card's balance account older than entry `before` (all when `None`),
/// newest first, at most `limit`.
pub async fn entries(
    conn: &mut dyn Executor,
    number: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<CardEntry>> {
    query(
        "SELECT e.id, t.id, t.kind, t.ride_id, e.layer, e.amount_tiyn, t.created_at_ms, \
         CAST(CASE WHEN e.layer = 'pending' AND e.amount_tiyn > 0 AND t.ride_id IS NOT NULL AND EXISTS ( \
             SELECT 1 FROM ledger_entries r JOIN ledger_transfers rt ON rt.id = r.transfer_id \
             WHERE r.account_id = e.account_id AND r.layer = 'pending' AND r.amount_tiyn < 0 \
             AND rt.ride_id = t.ride_id) THEN 1 ELSE 0 END AS BIGINT) \
         FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id \
         JOIN ledger_transfers t ON t.id = e.transfer_id \
         WHERE a.kind = 'card_balance' AND a.owner = $1 AND ($2 IS NULL OR e.id < $2) \
         ORDER BY e.id DESC LIMIT $3",
    )
    .bind(number)
    .bind(before)
    .bind(limit)
    .try_map(|r: Row| {
        let released: i64 = r.try_get(7)?;
        Ok(CardEntry {
            id: r.try_get(0)?,
            transfer_id: r.try_get(1)?,
            kind: r.try_get(2)?,
            ride_id: r.try_get(3)?,
            layer: r.try_get(4)?,
            amount_tiyn: r.try_get(5)?,
            at_ms: r.try_get(6)?,
            released: released == 1,
        })
    })
    .fetch_all(conn)
    .await
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankRow {
    pub id: String,
    pub name: String,
    /// `kaspi` or `osmp`: which result codes the bank reads.
    pub dialect: String,
    /// Comma-separated addresses and CIDR networks the bank may call from.
    pub networks: String,
    /// SHA-256 of the bank's secret, hex.
    pub secret_sha256: String,
    pub updated_at_ms: i64,
}

pub async fn upsert_bank(conn: &mut dyn Executor, bank: &BankRow) -> Result<()> {
    query(
        "INSERT INTO banks (id, name, dialect, networks, secret_sha256, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, dialect = excluded.dialect, networks = excluded.networks, \
         secret_sha256 = excluded.secret_sha256, updated_at_ms = excluded.updated_at_ms",
    )
    .bind(&bank.id)
    .bind(&bank.name)
    .bind(&bank.dialect)
    .bind(&bank.networks)
    .bind(&bank.secret_sha256)
    .bind(bank.updated_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

fn bank_row(r: Row) -> Result<BankRow> {
    Ok(BankRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        dialect: r.try_get(2)?,
        networks: r.try_get(3)?,
        secret_sha256: r.try_get(4)?,
        updated_at_ms: r.try_get(5)?,
    })
}

pub async fn bank(conn: &mut dyn Executor, id: &str) -> Result<Option<BankRow>> {
    query(
        "SELECT id, name, dialect, networks, secret_sha256, updated_at_ms FROM banks WHERE id = $1",
    )
    .bind(id)
    .try_map(bank_row)
    .fetch_optional(conn)
    .await
}

/// Every bank configured, by id.
pub async fn banks(conn: &mut dyn Executor) -> Result<Vec<BankRow>> {
    query("SELECT id, name, dialect, networks, secret_sha256, updated_at_ms FROM banks ORDER BY id")
        .try_map(bank_row)
        .fetch_all(conn)
        .await
}

/// A bank's payments: how many, and the last one's time.
pub async fn payment_totals(conn: &mut dyn Executor, bank: &str) -> Result<(i64, Option<i64>)> {
    query("SELECT COUNT(*), MAX(created_at_ms) FROM bank_payments WHERE bank = $1")
        .bind(bank)
        .try_map(|r: Row| Ok((r.try_get(0)?, r.try_get(1)?)))
        .fetch_one(conn)
        .await
}

/// One `pay` of a bank and the answer it got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankPaymentRow {
    /// Ours: the protocol's `prv_txn_id`.
    pub id: i64,
    pub bank: String,
    pub txn_id: String,
    pub txn_date: String,
    pub account: String,
    pub sum_tiyn: i64,
    /// `ok`, or why it was refused (`not_found`, `blocked`, …).
    pub outcome: String,
    pub comment: String,
    /// The top-up's ledger transfer, when it credited the card.
    pub transfer_id: Option<String>,
    pub created_at_ms: i64,
}

/// A new payment (its `id` is ignored and assigned here); `None` when `(bank, txn_id)` was
/// paid before — read it with [`payment`].
pub async fn insert_payment(conn: &mut dyn Executor, p: &BankPaymentRow) -> Result<Option<i64>> {
    query(
        "INSERT INTO bank_payments (bank, txn_id, txn_date, account, sum_tiyn, outcome, comment, transfer_id, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (bank, txn_id) DO NOTHING RETURNING id",
    )
    .bind(&p.bank)
    .bind(&p.txn_id)
    .bind(&p.txn_date)
    .bind(&p.account)
    .bind(p.sum_tiyn)
    .bind(&p.outcome)
    .bind(&p.comment)
    .bind(p.transfer_id.as_deref())
    .bind(p.created_at_ms)
    .try_map(|r: Row| r.try_get(0))
    .fetch_optional(conn)
    .await
}

/// Records the transfer a payment booked.
pub async fn set_payment_transfer(
    conn: &mut dyn Executor,
    id: i64,
    transfer_id: &str,
) -> Result<()> {
    query("UPDATE bank_payments SET transfer_id = $1 WHERE id = $2")
        .bind(transfer_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn payment(
    conn: &mut dyn Executor,
    bank: &str,
    txn_id: &str,
) -> Result<Option<BankPaymentRow>> {
    query(
        "SELECT id, bank, txn_id, txn_date, account, sum_tiyn, outcome, comment, transfer_id, created_at_ms \
         FROM bank_payments WHERE bank = $1 AND txn_id = $2",
    )
    .bind(bank)
    .bind(txn_id)
    .try_map(|r: Row| {
        Ok(BankPaymentRow {
            id: r.try_get(0)?,
            bank: r.try_get(1)?,
            txn_id: r.try_get(2)?,
            txn_date: r.try_get(3)?,
            account: r.try_get(4)?,
            sum_tiyn: r.try_get(5)?,
            outcome: r.try_get(6)?,
            comment: r.try_get(7)?,
            transfer_id: r.try_get(8)?,
            created_at_ms: r.try_get(9)?,
        })
    })
    .fetch_optional(conn)
    .await
}

/// How many top-up transfers credited a card (a check: never more than its payments).
pub async fn count_top_ups(conn: &mut dyn Executor) -> Result<i64> {
    query("SELECT COUNT(*) FROM ledger_transfers WHERE kind = 'top_up'")
        .try_map(|r: Row| r.try_get(0))
        .fetch_one(conn)
        .await
}

/// A passenger's application for a preferential card, and its decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplicationRow {
    pub id: i64,
    pub holder_phone: String,
    /// The city whose office decides it (and whose fares the status lowers).
    pub city: String,
    pub category: String,
    pub full_name: String,
    pub document_kind: String,
    pub document_number: String,
    /// `pending`, `approved`, `rejected`.
    pub status: String,
    pub language: String,
    /// The card an approval opened.
    pub card_number: Option<String>,
    pub decided_by: Option<String>,
    /// The documents seen (approved) or the reason (rejected).
    pub decision: Option<String>,
    pub created_at_ms: i64,
    pub decided_at_ms: Option<i64>,
}

const APPLICATION_COLUMNS: &str = "id, holder_phone, category, full_name, document_kind, document_number, status, \
     language, card_number, decided_by, decision, created_at_ms, decided_at_ms, city";

fn application_row(r: Row) -> Result<ApplicationRow> {
    Ok(ApplicationRow {
        id: r.try_get(0)?,
        holder_phone: r.try_get(1)?,
        category: r.try_get(2)?,
        full_name: r.try_get(3)?,
        document_kind: r.try_get(4)?,
        document_number: r.try_get(5)?,
        status: r.try_get(6)?,
        language: r.try_get(7)?,
        card_number: r.try_get(8)?,
        decided_by: r.try_get(9)?,
        decision: r.try_get(10)?,
        created_at_ms: r.try_get(11)?,
        decided_at_ms: r.try_get(12)?,
        city: r.try_get(13)?,
    })
}

/// Inserts an application (its `id` is assigned here and returned).
pub async fn insert_application(conn: &mut dyn Executor, a: &ApplicationRow) -> Result<i64> {
    query(
        "INSERT INTO card_applications (holder_phone, category, full_name, document_kind, document_number, status, language, created_at_ms, city) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(&a.holder_phone)
    .bind(&a.category)
    .bind(&a.full_name)
    .bind(&a.document_kind)
    .bind(&a.document_number)
    .bind(&a.status)
    .bind(&a.language)
    .bind(a.created_at_ms)
    .bind(&a.city)
    .try_map(|r: Row| r.try_get(0))
    .fetch_one(conn)
    .await
}

pub async fn application(conn: &mut dyn Executor, id: i64) -> Result<Option<ApplicationRow>> {
    query(format!(
        "SELECT {APPLICATION_COLUMNS} FROM card_applications WHERE id = $1"
    ))
    .bind(id)
    .try_map(application_row)
    .fetch_optional(conn)
    .await
}

/// Applications of one holder (newest first) or with one status (oldest first), matching
/// `search` in the phone, the name or the document number (any case) when given.
pub async fn applications(
    conn: &mut dyn Executor,
    holder: Option<&str>,
    status: Option<&str>,
    search: Option<&str>,
    limit: i64,
) -> Result<Vec<ApplicationRow>> {
    let order = if holder.is_some() { "DESC" } else { "ASC" };
    let pattern = search.map(|s| format!("%{}%", s.to_lowercase()));
    query(format!(
        "SELECT {APPLICATION_COLUMNS} FROM card_applications \
         WHERE ($1 IS NULL OR holder_phone = $1) AND ($2 IS NULL OR status = $2) \
         AND ($3 IS NULL OR lower(holder_phone) LIKE $3 OR lower(full_name) LIKE $3 OR lower(document_number) LIKE $3) \
         ORDER BY id {order} LIMIT $4"
    ))
    .bind(holder)
    .bind(status)
    .bind(pattern.as_deref())
    .bind(limit)
    .try_map(application_row)
    .fetch_all(conn)
    .await
}

/// Decides a pending application; false when it was decided already.
pub async fn decide(
    conn: &mut dyn Executor,
    id: i64,
    status: &str,
    decided_by: &str,
    decision: &str,
    card_number: Option<&str>,
    now_ms: i64,
) -> Result<bool> {
    let done = query(
        "UPDATE card_applications SET status = $1, decided_by = $2, decision = $3, card_number = $4, decided_at_ms = $5 \
         WHERE id = $6 AND status = 'pending'",
    )
    .bind(status)
    .bind(decided_by)
    .bind(decision)
    .bind(card_number)
    .bind(now_ms)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inserts a card unless its number is taken (then false: draw another).
pub async fn insert_if_free(conn: &mut dyn Executor, card: &CardRow) -> Result<bool> {
    let done = query(format!(
        "INSERT INTO cards ({CARD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (number) DO NOTHING"
    ))
    .bind(&card.number)
    .bind(&card.holder_phone)
    .bind(&card.kind)
    .bind(&card.rider_category)
    .bind(&card.status)
    .bind(&card.holder_name)
    .bind(card.pupil_name.as_deref())
    .bind(card.school.as_deref())
    .bind(card.class_name.as_deref())
    .bind(card.closed_into.as_deref())
    .bind(card.created_at_ms)
    .bind(card.updated_at_ms)
    .bind(card.category_until_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets a preferential card's end date anew (a renewal approved at the office); false when
/// the card is closed or missing.
pub async fn renew_category(
    conn: &mut dyn Executor,
    number: &str,
    until_ms: i64,
    now_ms: i64,
) -> Result<bool> {
    let done = query(
        "UPDATE cards SET category_until_ms = $1, updated_at_ms = $2 WHERE number = $3 AND status <> 'closed'",
    )
    .bind(until_ms)
    .bind(now_ms)
    .bind(number)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Cards not closed whose preferential status ends in `(after_ms, until_ms]` and whose holder
/// was not yet reminded of that end date, soonest first, at most `limit`.
pub async fn statuses_ending(
    conn: &mut dyn Executor,
    after_ms: i64,
    until_ms: i64,
    limit: i64,
) -> Result<Vec<CardRow>> {
    query(format!(
        "SELECT {CARD_COLUMNS} FROM cards c WHERE c.status <> 'closed' \
         AND c.category_until_ms > $1 AND c.category_until_ms <= $2 \
         AND NOT EXISTS (SELECT 1 FROM card_status_reminders r \
             WHERE r.card_number = c.number AND r.until_ms = c.category_until_ms) \
         ORDER BY c.category_until_ms, c.number LIMIT $3"
    ))
    .bind(after_ms)
    .bind(until_ms)
    .bind(limit)
    .try_map(card)
    .fetch_all(conn)
    .await
}

/// Records that the holder is being told of this end date; false when a reminder for it was
/// recorded already (by an earlier or a concurrent run), so the caller tells nobody.
pub async fn record_status_reminder(
    conn: &mut dyn Executor,
    number: &str,
    until_ms: i64,
    now_ms: i64,
) -> Result<bool> {
    let done = query(
        "INSERT INTO card_status_reminders (card_number, until_ms, told_at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (card_number, until_ms) DO NOTHING",
    )
    .bind(number)
    .bind(until_ms)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
