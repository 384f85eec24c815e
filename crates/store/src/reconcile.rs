//! Reconciliation reports (one per partner kind, partner and day) and their lines, and the
//! reads of our own records a partner's file is matched against: a bank's accepted payments by
//! its `txn_date`, the acquirer's paid orders, an operator's captured rides. A line is resolved
//! once: `UPDATE … WHERE resolution IS NULL`.

use crate::Result;
use crate::db::{Executor, Row, query};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRow {
    pub id: i64,
    pub partner_kind: String,
    pub partner: String,
    pub day: String,
    pub file_sha256: String,
    pub their_lines: i64,
    pub matched: i64,
    pub imported_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineRow {
    pub id: i64,
    pub report_id: i64,
    pub reference: String,
    pub outcome: String,
    pub account: String,
    pub their_tiyn: Option<i64>,
    pub our_tiyn: Option<i64>,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at_ms: Option<i64>,
    pub transfer_id: Option<String>,
}

const REPORT_COLUMNS: &str =
    "id, partner_kind, partner, day, file_sha256, their_lines, matched, imported_at_ms";
const LINE_COLUMNS: &str = "id, report_id, reference, outcome, account, their_tiyn, our_tiyn, resolution, \
     resolved_by, resolved_at_ms, transfer_id";

fn report(r: Row) -> Result<ReportRow> {
    Ok(ReportRow {
        id: r.try_get(0)?,
        partner_kind: r.try_get(1)?,
        partner: r.try_get(2)?,
        day: r.try_get(3)?,
        file_sha256: r.try_get(4)?,
        their_lines: r.try_get(5)?,
        matched: r.try_get(6)?,
        imported_at_ms: r.try_get(7)?,
    })
}

fn line(r: Row) -> Result<LineRow> {
    Ok(LineRow {
        id: r.try_get(0)?,
        report_id: r.try_get(1)?,
        reference: r.try_get(2)?,
        outcome: r.try_get(3)?,
        account: r.try_get(4)?,
        their_tiyn: r.try_get(5)?,
        our_tiyn: r.try_get(6)?,
        resolution: r.try_get(7)?,
        resolved_by: r.try_get(8)?,
        resolved_at_ms: r.try_get(9)?,
        transfer_id: r.try_get(10)?,
    })
}

pub async fn find_report(
    conn: &mut dyn Executor,
    partner_kind: &str,
    partner: &str,
    day: &str,
) -> Result<Option<ReportRow>> {
    query(format!(
        "SELECT {REPORT_COLUMNS} FROM reconciliation_reports WHERE partner_kind = $1 AND partner = $2 AND day = $3"
    ))
    .bind(partner_kind)
    .bind(partner)
    .bind(day)
    .try_map(report)
    .fetch_optional(conn)
    .await
}

pub async fn report_by_id(conn: &mut dyn Executor, id: i64) -> Result<Option<ReportRow>> {
    query(format!(
        "SELECT {REPORT_COLUMNS} FROM reconciliation_reports WHERE id = $1"
    ))
    .bind(id)
    .try_map(report)
    .fetch_optional(conn)
    .await
}

/// Writes the report of this partner and day (a new one, or the one a corrected file
/// replaces) and returns its id.
pub async fn save_report(conn: &mut dyn Executor, r: &ReportRow) -> Result<i64> {
    query(
        "INSERT INTO reconciliation_reports (partner_kind, partner, day, file_sha256, their_lines, matched, imported_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (partner_kind, partner, day) DO UPDATE SET \
         file_sha256 = excluded.file_sha256, their_lines = excluded.their_lines, matched = excluded.matched, \
         imported_at_ms = excluded.imported_at_ms RETURNING id",
    )
    .bind(&r.partner_kind)
    .bind(&r.partner)
    .bind(&r.day)
    .bind(&r.file_sha256)
    .bind(r.their_lines)
    .bind(r.matched)
    .bind(r.imported_at_ms)
    .try_map(|r: Row| r.try_get(0))
    .fetch_one(conn)
    .await
}

/// Removes a report's unresolved lines (a corrected file replaces them).
pub async fn delete_unresolved(conn: &mut dyn Executor, report_id: i64) -> Result<()> {
    query("DELETE FROM reconciliation_lines WHERE report_id = $1 AND resolution IS NULL")
        .bind(report_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert_line(conn: &mut dyn Executor, l: &LineRow) -> Result<()> {
    query(
        "INSERT INTO reconciliation_lines (report_id, reference, outcome, account, their_tiyn, our_tiyn) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(l.report_id)
    .bind(&l.reference)
    .bind(&l.outcome)
    .bind(&l.account)
    .bind(l.their_tiyn)
    .bind(l.our_tiyn)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn lines_of(conn: &mut dyn Executor, report_id: i64) -> Result<Vec<LineRow>> {
    query(format!(
        "SELECT {LINE_COLUMNS} FROM reconciliation_lines WHERE report_id = $1 ORDER BY id"
    ))
    .bind(report_id)
    .try_map(line)
    .fetch_all(conn)
    .await
}

pub async fn line_by_id(conn: &mut dyn Executor, id: i64) -> Result<Option<LineRow>> {
    query(format!(
        "SELECT {LINE_COLUMNS} FROM reconciliation_lines WHERE id = $1"
    ))
    .bind(id)
    .try_map(line)
    .fetch_optional(conn)
    .await
}

/// The newest reports first.
pub async fn reports(conn: &mut dyn Executor, limit: i64) -> Result<Vec<ReportRow>> {
    query(format!(
        "SELECT {REPORT_COLUMNS} FROM reconciliation_reports ORDER BY day DESC, id DESC LIMIT $1"
    ))
    .bind(limit)
    .try_map(report)
    .fetch_all(conn)
    .await
}

/// Every line that is not matched and not resolved, oldest report first.
pub async fn open_discrepancies(conn: &mut dyn Executor, limit: i64) -> Result<Vec<LineRow>> {
    query(format!(
        "SELECT {LINE_COLUMNS} FROM reconciliation_lines WHERE outcome <> 'matched' AND resolution IS NULL \
         ORDER BY report_id, id LIMIT $1"
    ))
    .bind(limit)
    .try_map(line)
    .fetch_all(conn)
    .await
}

/// Records a line's resolution; `false` when it was resolved already.
pub async fn resolve(
    conn: &mut dyn Executor,
    id: i64,
    resolution: &str,
    resolved_by: &str,
    transfer_id: Option<&str>,
    now_ms: i64,
) -> Result<bool> {
    let done = query(
        "UPDATE reconciliation_lines SET resolution = $1, resolved_by = $2, transfer_id = $3, resolved_at_ms = $4 \
         WHERE id = $5 AND resolution IS NULL",
    )
    .bind(resolution)
    .bind(resolved_by)
    .bind(transfer_id)
    .bind(now_ms)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One of our records as the matching reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OurRecord {
    pub reference: String,
    pub account: String,
    pub sum_tiyn: i64,
    /// A bank's `txn_date` (`YYYYMMDDHHMMSS`), or our time in ms.
    pub txn_date: Option<String>,
    pub at_ms: i64,
}

/// A bank's accepted payments whose `txn_date` is in `[from, to)` (`YYYYMMDD…` text).
pub async fn bank_payments(
    conn: &mut dyn Executor,
    bank: &str,
    from: &str,
    to: &str,
) -> Result<Vec<OurRecord>> {
    query(
        "SELECT txn_id, account, sum_tiyn, txn_date, created_at_ms FROM bank_payments \
         WHERE bank = $1 AND outcome = 'ok' AND txn_date >= $2 AND txn_date < $3 ORDER BY txn_date, id",
    )
    .bind(bank)
    .bind(from)
    .bind(to)
    .try_map(our_record)
    .fetch_all(conn)
    .await
}

fn our_record(r: Row) -> Result<OurRecord> {
    Ok(OurRecord {
        reference: r.try_get(0)?,
        account: r.try_get(1)?,
        sum_tiyn: r.try_get(2)?,
        txn_date: r.try_get(3)?,
        at_ms: r.try_get(4)?,
    })
}

/// The acquirer's paid orders created in `[from_ms, to_ms)`.
pub async fn acquirer_payments(
    conn: &mut dyn Executor,
    acquirer: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<OurRecord>> {
    query(
        "SELECT id, card_number, amount_tiyn, CAST(NULL AS TEXT), created_at_ms FROM card_top_ups \
         WHERE acquirer = $1 AND status = 'paid' AND created_at_ms >= $2 AND created_at_ms < $3 \
         ORDER BY created_at_ms, id",
    )
    .bind(acquirer)
    .bind(from_ms)
    .bind(to_ms)
    .try_map(our_record)
    .fetch_all(conn)
    .await
}

/// Rides an operator's subscribers paid from their phone balance that became tickets, created
/// in `[from_ms, to_ms)`: the ride id is the `clientCorrelator` the operator's report names.
pub async fn operator_payments(
    conn: &mut dyn Executor,
    operator: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<OurRecord>> {
    query(
        "SELECT id, phone, amount_tiyn, CAST(NULL AS TEXT), created_at_ms FROM rides \
         WHERE operator = $1 AND status = 'issued' AND card_number IS NULL \
         AND created_at_ms >= $2 AND created_at_ms < $3 ORDER BY created_at_ms, id",
    )
    .bind(operator)
    .bind(from_ms)
    .bind(to_ms)
    .try_map(our_record)
    .fetch_all(conn)
    .await
}
