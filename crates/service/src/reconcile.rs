//! Reconciliation with the partners that hold our money: each bank's daily registry, the card
//! acquirer's settlement report and each mobile operator's daily settlement report are
//! imported ([`import`]: `smsbus reconcile …` and the admin endpoint) and matched against our
//! records by [`domain::reconcile::matching`] — matched, missing on our side, missing on
//! theirs, sum mismatch, duplicate, wrong date — into one report per partner and day.
//! Re-importing the same file changes nothing; a corrected file replaces the report's
//! unresolved lines. A discrepancy stays listed until an admin resolves it ([`resolve`]:
//! credit, reversal, write-off), once, with its ledger transfer `reconcile.<line>` where money
//! moves and an audit entry, in one transaction.
//!
//! Files are `;`-separated with a header naming the columns (a closing `total;…` line is
//! skipped): a bank's `txn_id;txn_date;account;sum[;prv_txn_id]` (`txn_date` the protocol's
//! `YYYYMMDDHHMMSS`), the acquirer's `invoice_id;reference;date;amount;currency`, an
//! operator's `payment_id;client_correlator;phone;date;amount[;status]` (dates `YYYY-MM-DD`).

use std::collections::HashMap;

use domain::ledger::{Account, CardAccountId, Movement, Transfer, TransferId, TransferKind};
use domain::reconcile::{Direction, Line, Outcome, RECONCILIATION_LINES_MAX, Record, Resolution};
use domain::{ErrorCode, OperatorId, Tenge};
use sha2::{Digest, Sha256};
use store::reconcile::{LineRow, OurRecord, ReportRow};

use crate::staff::Actor;
use crate::{App, ServiceError};

/// A reconciliation file is at most this many bytes.
pub const RECONCILIATION_FILE_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Reports and discrepancies listed at most.
pub const RECONCILIATION_LIST_MAX: i64 = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartnerKind {
    Bank,
    Acquirer,
    Operator,
}

impl PartnerKind {
    pub fn parse(text: &str) -> Option<PartnerKind> {
        match text {
            "bank" => Some(PartnerKind::Bank),
            "acquirer" => Some(PartnerKind::Acquirer),
            "operator" => Some(PartnerKind::Operator),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PartnerKind::Bank => "bank",
            PartnerKind::Acquirer => "acquirer",
            PartnerKind::Operator => "operator",
        }
    }

    /// The columns of its file: reference, date, account (if the file has it), sum.
    fn columns(
        self,
    ) -> (
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static str,
    ) {
        match self {
            PartnerKind::Bank => ("txn_id", "txn_date", Some("account"), "sum"),
            PartnerKind::Acquirer => ("invoice_id", "date", None, "amount"),
            PartnerKind::Operator => ("client_correlator", "date", Some("phone"), "amount"),
        }
    }
}

fn invalid(detail: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::ReconciliationFileInvalid, detail)
}

/// A day as `YYYY-MM-DD`.
fn parse_day(text: &str) -> Result<jiff::civil::Date, ServiceError> {
    let well_formed = text.len() == 10 && text.as_bytes().get(4) == Some(&b'-');
    text.parse::<jiff::civil::Date>()
        .ok()
        .filter(|_| well_formed)
        .ok_or_else(|| ServiceError::new(ErrorCode::BadRequest, "a day is YYYY-MM-DD"))
}

/// The day a line of their file names, as `YYYY-MM-DD`.
fn day_of_line(kind: PartnerKind, text: &str) -> Option<String> {
    let text = text.trim();
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let day = match kind {
        PartnerKind::Bank if text.len() == 14 && digits(text) => format!(
            "{}-{}-{}",
            text.get(0..4)?,
            text.get(4..6)?,
            text.get(6..8)?
        ),
        PartnerKind::Bank => return None,
        _ => text.get(0..10)?.to_owned(),
    };
    parse_day(&day).ok().map(|d| d.to_string())
}

/// Reads their file into records.
fn read_file(kind: PartnerKind, file: &[u8]) -> Result<Vec<Record>, ServiceError> {
    if file.len() > RECONCILIATION_FILE_BYTES_MAX {
        return Err(invalid(format!(
            "the file is over {RECONCILIATION_FILE_BYTES_MAX} bytes"
        )));
    }
    let text = std::str::from_utf8(file).map_err(|_| invalid("the file is not UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| invalid("the file is empty"))?
        .split(';')
        .map(str::trim)
        .collect();
    let (reference, date, account, sum) = kind.columns();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| invalid(format!("the header has no column {name}")))
    };
    let (reference, date, sum) = (column(reference)?, column(date)?, column(sum)?);
    let account = account.map(column).transpose()?;
    let mut records = Vec::new();
    for (number, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(';').map(str::trim).collect();
        if fields.first() == Some(&"total") {
            continue;
        }
        if records.len() >= RECONCILIATION_LINES_MAX {
            return Err(invalid(format!(
                "the file has over {RECONCILIATION_LINES_MAX} lines"
            )));
        }
        let bad = |what: &str| invalid(format!("line {}: {what}", number + 2));
        let field = |i: usize| fields.get(i).copied().ok_or_else(|| bad("too few columns"));
        let reference = field(reference)?;
        if reference.is_empty() || reference.len() > 96 {
            return Err(bad("the reference is empty or too long"));
        }
        let day = day_of_line(kind, field(date)?).ok_or_else(|| bad("the date"))?;
        let sum = Tenge::parse_decimal(field(sum)?).map_err(|_| bad("the sum"))?;
        records.push(Record {
            reference: reference.to_owned(),
            day,
            account: account
                .map(field)
                .transpose()?
                .unwrap_or_default()
                .to_owned(),
            sum,
        });
    }
    Ok(records)
}

fn partner_day_zone() -> jiff::tz::TimeZone {
    crate::catalogue::country_time_zone()
}

fn start_ms(day: jiff::civil::Date) -> Result<i64, ServiceError> {
    day.to_zoned(partner_day_zone())
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|e| ServiceError::internal(format!("day {day}: {e}")))
}

/// The Kazakh day of a time (partners count their days in Kazakhstan's one time zone).
fn day_of_ms(at_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(at_ms)
        .map(|t| t.to_zoned(partner_day_zone()).date().to_string())
        .unwrap_or_default()
}

/// Our records of the partner from the day before to the day after.
async fn ours(
    app: &App,
    kind: PartnerKind,
    partner: &str,
    day: jiff::civil::Date,
) -> Result<Vec<Record>, ServiceError> {
    let from = day
        .yesterday()
        .map_err(|e| ServiceError::internal(e.to_string()))?;
    let to = day
        .tomorrow()
        .and_then(|d| d.tomorrow())
        .map_err(|e| ServiceError::internal(e.to_string()))?;
    let mut conn = app.store.reader().await?;
    let rows: Vec<OurRecord> = match kind {
        PartnerKind::Bank => {
            let text = |d: jiff::civil::Date| d.strftime("%Y%m%d").to_string();
            store::reconcile::bank_payments(&mut conn, partner, &text(from), &text(to)).await?
        }
        PartnerKind::Acquirer => {
            store::reconcile::acquirer_payments(&mut conn, partner, start_ms(from)?, start_ms(to)?)
                .await?
        }
        PartnerKind::Operator => {
            store::reconcile::operator_payments(&mut conn, partner, start_ms(from)?, start_ms(to)?)
                .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|r| Record {
            day: match &r.txn_date {
                Some(date) => day_of_line(PartnerKind::Bank, date).unwrap_or_default(),
                None => day_of_ms(r.at_ms),
            },
            reference: r.reference,
            account: r.account,
            sum: Tenge::from_tiyn(r.sum_tiyn),
        })
        .collect())
}

fn check_partner(kind: PartnerKind, partner: &str) -> Result<(), ServiceError> {
    let ok = match kind {
        PartnerKind::Operator => OperatorId::parse(partner).is_ok(),
        _ => CardAccountId::parse(partner).is_ok() && partner.len() <= 32,
    };
    if ok {
        Ok(())
    } else {
        Err(ServiceError::new(
            ErrorCode::BadRequest,
            "a partner id is 1..=32 of [a-z0-9-]",
        ))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportView {
    pub id: i64,
    pub partner_kind: PartnerKind,
    pub partner: String,
    pub day: String,
    pub their_lines: i64,
    pub matched: i64,
    /// Discrepancies not resolved yet.
    pub open: i64,
    pub imported_at_ms: i64,
    pub lines: Vec<LineView>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineView {
    pub id: i64,
    pub report_id: i64,
    pub reference: String,
    pub outcome: Outcome,
    pub account: String,
    pub theirs: Option<Tenge>,
    pub ours: Option<Tenge>,
    pub resolution: Option<Resolution>,
    pub resolved_by: Option<String>,
    pub transfer_id: Option<String>,
}

fn line_view(row: &LineRow) -> Result<LineView, ServiceError> {
    let corrupt = || ServiceError::internal(format!("reconciliation line {}", row.id));
    Ok(LineView {
        id: row.id,
        report_id: row.report_id,
        reference: row.reference.clone(),
        outcome: Outcome::parse(&row.outcome).ok_or_else(corrupt)?,
        account: row.account.clone(),
        theirs: row.their_tiyn.map(Tenge::from_tiyn),
        ours: row.our_tiyn.map(Tenge::from_tiyn),
        resolution: row
            .resolution
            .as_deref()
            .map(|r| Resolution::parse(r).ok_or_else(corrupt))
            .transpose()?,
        resolved_by: row.resolved_by.clone(),
        transfer_id: row.transfer_id.clone(),
    })
}

async fn report_view(
    conn: &mut dyn store::Executor,
    row: ReportRow,
) -> Result<ReportView, ServiceError> {
    let lines = store::reconcile::lines_of(conn, row.id)
        .await?
        .iter()
        .map(line_view)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ReportView {
        id: row.id,
        partner_kind: PartnerKind::parse(&row.partner_kind)
            .ok_or_else(|| ServiceError::internal(format!("report {}: kind", row.id)))?,
        open: lines
            .iter()
            .filter(|l| l.outcome != Outcome::Matched && l.resolution.is_none())
            .count() as i64,
        partner: row.partner,
        day: row.day,
        their_lines: row.their_lines,
        matched: row.matched,
        imported_at_ms: row.imported_at_ms,
        lines,
    })
}

/// Imports a partner's file of `day` and keeps its report.
pub async fn import(
    app: &App,
    actor: &Actor,
    kind: PartnerKind,
    partner: &str,
    day: &str,
    file: &[u8],
) -> Result<ReportView, ServiceError> {
    check_partner(kind, partner)?;
    let date = parse_day(day)?;
    let day = date.to_string();
    let theirs = read_file(kind, file)?;
    let digest = crate::hex(&Sha256::digest(file));
    let ours = ours(app, kind, partner, date).await?;
    let mut matched_lines = domain::reconcile::matching(&day, &theirs, &ours);
    if kind == PartnerKind::Acquirer {
        name_cards(app, &ours, &mut matched_lines).await?;
    }
    let mut tx = app.store.begin().await?;
    let before = store::reconcile::find_report(&mut tx, kind.as_str(), partner, &day).await?;
    if let Some(before) = before.filter(|b| b.file_sha256 == digest) {
        // The same file again: nothing changes.
        let view = report_view(&mut tx, before).await?;
        drop(tx);
        return Ok(view);
    }
    let matched = matched_lines
        .iter()
        .filter(|l| l.outcome == Outcome::Matched)
        .count() as i64;
    let id = store::reconcile::save_report(
        &mut tx,
        &ReportRow {
            id: 0,
            partner_kind: kind.as_str().to_owned(),
            partner: partner.to_owned(),
            day: day.clone(),
            file_sha256: digest.clone(),
            their_lines: theirs.len() as i64,
            matched,
            imported_at_ms: app.now_ms(),
        },
    )
    .await?;
    store::reconcile::delete_unresolved(&mut tx, id).await?;
    let resolved = store::reconcile::lines_of(&mut tx, id).await?;
    for line in &matched_lines {
        // A discrepancy already resolved stays resolved; it is not listed twice.
        let done = resolved
            .iter()
            .any(|r| r.reference == line.reference && r.outcome == line.outcome.as_str());
        if !done {
            store::reconcile::insert_line(&mut tx, &line_row(id, line)).await?;
        }
    }
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "reconcile.import",
            object: &format!("reconciliation:{}:{partner}:{day}", kind.as_str()),
            before: "",
            after: &format!("sha256={digest} lines={} matched={matched}", theirs.len()),
        },
        app.now_ms(),
    )
    .await?;
    let report = store::reconcile::report_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| ServiceError::internal("report vanished"))?;
    let view = report_view(&mut tx, report).await?;
    tx.commit().await?;
    Ok(view)
}

/// The acquirer's file names no card: the order we made tells it (also for an order we did
/// not book as paid — charged another amount, a callback never applied —, which a credit needs).
async fn name_cards(app: &App, ours: &[Record], lines: &mut [Line]) -> Result<(), ServiceError> {
    let cards: HashMap<&str, &str> = ours
        .iter()
        .map(|r| (r.reference.as_str(), r.account.as_str()))
        .collect();
    let mut conn = app.store.reader().await?;
    for line in lines.iter_mut() {
        match cards.get(line.reference.as_str()) {
            Some(card) => line.account = (*card).to_owned(),
            None => {
                if let Some(row) = store::top_ups::by_id(&mut conn, &line.reference).await? {
                    line.account = row.card_number;
                }
            }
        }
    }
    Ok(())
}

fn line_row(report_id: i64, line: &Line) -> LineRow {
    LineRow {
        id: 0,
        report_id,
        reference: line.reference.clone(),
        outcome: line.outcome.as_str().to_owned(),
        account: line.account.clone(),
        their_tiyn: line.theirs.map(Tenge::tiyn),
        our_tiyn: line.ours.map(Tenge::tiyn),
        resolution: None,
        resolved_by: None,
        resolved_at_ms: None,
        transfer_id: None,
    }
}

/// The newest reports, each with its lines.
pub async fn reports(app: &App) -> Result<Vec<ReportView>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let rows = store::reconcile::reports(&mut conn, RECONCILIATION_LIST_MAX).await?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        views.push(report_view(&mut conn, row).await?);
    }
    Ok(views)
}

/// Every discrepancy not resolved yet, with its report's partner and day.
pub async fn discrepancies(app: &App) -> Result<Vec<(LineView, String)>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let rows = store::reconcile::open_discrepancies(&mut conn, RECONCILIATION_LIST_MAX).await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut names: HashMap<i64, String> = HashMap::new();
    for row in rows {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(row.report_id) {
            let name = store::reconcile::report_by_id(&mut conn, row.report_id)
                .await?
                .map(|r| format!("{}:{}:{}", r.partner_kind, r.partner, r.day))
                .unwrap_or_default();
            slot.insert(name);
        }
        let name = names.get(&row.report_id).cloned().unwrap_or_default();
        out.push((line_view(&row)?, name));
    }
    Ok(out)
}

fn not_allowed(detail: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::DiscrepancyResolutionNotAllowed, detail)
}

/// Resolves a discrepancy once: the money it moves booked, the resolution recorded and
/// audited in one transaction. The same resolution asked again answers the line as it is.
pub async fn resolve(
    app: &App,
    actor: &Actor,
    line_id: i64,
    resolution: Resolution,
) -> Result<LineView, ServiceError> {
    let mut tx = app.store.begin().await?;
    let row = store::reconcile::line_by_id(&mut tx, line_id)
        .await?
        .ok_or(ErrorCode::DiscrepancyNotFound)?;
    let line = line_view(&row)?;
    if let Some(done) = line.resolution {
        drop(tx);
        return if done == resolution {
            Ok(line)
        } else {
            Err(not_allowed(format!(
                "resolved already as {}",
                done.as_str()
            )))
        };
    }
    let report = store::reconcile::report_by_id(&mut tx, row.report_id)
        .await?
        .ok_or_else(|| ServiceError::internal("a line without its report"))?;
    let kind = PartnerKind::parse(&report.partner_kind)
        .ok_or_else(|| ServiceError::internal("report kind"))?;
    let domain_line = Line {
        reference: line.reference.clone(),
        outcome: line.outcome,
        account: line.account.clone(),
        theirs: line.theirs,
        ours: line.ours,
    };
    let booking = domain::reconcile::booking(&domain_line, resolution)
        .map_err(|e| not_allowed(e.to_string()))?;
    let now_ms = app.now_ms();
    let transfer_id = match booking {
        None => None,
        Some((direction, amount)) => {
            let transfer = transfer(kind, &report.partner, &line, direction, amount, now_ms)?;
            Some(transfer)
        }
    };
    let id = transfer_id.as_ref().map(|t| t.id().as_str().to_owned());
    if !store::reconcile::resolve(
        &mut tx,
        line_id,
        resolution.as_str(),
        &actor.name,
        id.as_deref(),
        now_ms,
    )
    .await?
    {
        return Err(not_allowed("resolved meanwhile"));
    }
    if let Some(transfer) = &transfer_id {
        crate::ledger::book(&mut tx, transfer).await?;
    }
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "reconcile.resolve",
            object: &format!("reconciliation-line:{line_id}"),
            before: line.outcome.as_str(),
            after: &format!(
                "{} {}",
                resolution.as_str(),
                id.as_deref().unwrap_or("no transfer")
            ),
        },
        now_ms,
    )
    .await?;
    let row = store::reconcile::line_by_id(&mut tx, line_id)
        .await?
        .ok_or(ErrorCode::DiscrepancyNotFound)?;
    tx.commit().await?;
    line_view(&row)
}

/// The transfer a resolution books, between the partner's receivable and the holder's card or
/// the partner's written-off account.
fn transfer(
    kind: PartnerKind,
    partner: &str,
    line: &LineView,
    direction: Direction,
    amount: Tenge,
    now_ms: i64,
) -> Result<Transfer, ServiceError> {
    let receivable = match kind {
        PartnerKind::Bank => Account::BankReceivable(CardAccountId::parse(partner)?),
        PartnerKind::Acquirer => Account::AcquirerReceivable(CardAccountId::parse(partner)?),
        PartnerKind::Operator => Account::OperatorReceivable(
            OperatorId::parse(partner).map_err(|e| ServiceError::internal(e.to_string()))?,
        ),
    };
    let holder = || -> Result<Account, ServiceError> {
        if kind == PartnerKind::Operator {
            return Err(not_allowed(
                "an operator's subscriber has no card here: only a write-off resolves it",
            ));
        }
        let card = domain::card::CardNumber::parse(&line.account)
            .map_err(|_| not_allowed("the line names no card of ours"))?;
        Ok(Account::CardBalance(CardAccountId::parse(card.as_str())?))
    };
    let (debit, credit, transfer_kind) = match direction {
        Direction::ToHolder => (receivable, holder()?, TransferKind::Adjustment),
        Direction::FromHolder => (holder()?, receivable, TransferKind::Reversal),
        Direction::ToWrittenOff => (
            Account::WrittenOff(CardAccountId::parse(partner)?),
            receivable,
            TransferKind::Adjustment,
        ),
    };
    let movement = Movement {
        debit,
        credit,
        amount,
    };
    Ok(movement.posted_transfer(
        TransferId::parse(&format!("reconcile.{}", line.id))?,
        transfer_kind,
        now_ms,
    )?)
}
