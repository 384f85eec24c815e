//! Top-ups from bank apps: the check/pay biller protocol (Kaspi's, from OSMP's). Each bank is
//! data ([`configure`]: name, result-code dialect, allowed source networks, the SHA-256 of its
//! secret); the API checks the caller against it and hands the request to [`answer`].
//!
//! `(bank, txn_id)` is the idempotency key: a `pay` is written once, with the answer it got,
//! and a repeat — also a concurrent one — reads that first answer and credits nothing new.
//! One `pay` is one transaction: the card's row lock (so two top-ups of one card cannot both
//! pass the maximum balance), the payment row, and the ledger transfer `top_up` from the bank's
//! receivable to the card's balance.

use domain::biller::{Dialect, Outcome, txn_date_valid, txn_id_valid};
use domain::card::{CardKind, CardNumber, CardStatus, SumError, masked_name, parse_top_up_sum};
use domain::ledger::{Account, CardAccountId, Movement, TransferId, TransferKind};
use domain::{ErrorCode, Tenge};
use sha2::{Digest, Sha256};
use store::cards::{BankPaymentRow, BankRow, CardRow};

use crate::staff::Actor;
use crate::{App, ServiceError};

/// A bank as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bank {
    pub id: String,
    pub name: String,
    pub dialect: Dialect,
    /// Comma-separated addresses and CIDR networks it may call from (checked by the API).
    pub networks: String,
    /// SHA-256 of its secret, hex (the API compares the digest of what is presented).
    pub secret_sha256: String,
}

/// The digest a bank's secret is kept as.
pub fn secret_digest(secret: &str) -> String {
    crate::hex(&Sha256::digest(secret.as_bytes()))
}

fn valid_id(id: &str) -> bool {
    CardAccountId::parse(id).is_ok() && id.len() <= 32
}

/// Adds or changes a bank (staff: one audit entry in the same transaction).
pub async fn configure(
    app: &App,
    actor: &Actor,
    id: &str,
    name: &str,
    dialect: Dialect,
    networks: &str,
    secret: &str,
) -> Result<Bank, ServiceError> {
    if !valid_id(id) || name.trim().is_empty() || secret.len() < 16 {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            "a bank id is 1..=32 of [a-z0-9-], a name is given and a secret has at least 16 characters",
        ));
    }
    let row = BankRow {
        id: id.to_owned(),
        name: name.trim().to_owned(),
        dialect: dialect.as_str().to_owned(),
        networks: networks.trim().to_owned(),
        secret_sha256: secret_digest(secret),
        updated_at_ms: app.now_ms(),
    };
    let mut tx = app.store.begin().await?;
    let before = store::cards::bank(&mut tx, id).await?;
    store::cards::upsert_bank(&mut tx, &row).await?;
    let describe =
        |b: &BankRow| format!("{} dialect={} networks={}", b.name, b.dialect, b.networks);
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "bank.configure",
            object: &format!("bank:{id}"),
            before: &before.as_ref().map(describe).unwrap_or_default(),
            after: &describe(&row),
        },
        app.now_ms(),
    )
    .await?;
    tx.commit().await?;
    bank_of(row)
}

fn bank_of(row: BankRow) -> Result<Bank, ServiceError> {
    Ok(Bank {
        dialect: Dialect::parse(&row.dialect).ok_or_else(|| {
            ServiceError::internal(format!("bank {}: dialect {}", row.id, row.dialect))
        })?,
        id: row.id,
        name: row.name,
        networks: row.networks,
        secret_sha256: row.secret_sha256,
    })
}

/// The bank with this id, if configured.
pub async fn bank(app: &App, id: &str) -> Result<Option<Bank>, ServiceError> {
    if !valid_id(id) {
        return Ok(None);
    }
    let mut conn = app.store.reader().await?;
    store::cards::bank(&mut conn, id)
        .await?
        .map(bank_of)
        .transpose()
}

/// A bank's configuration and state for the operator's console (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankState {
    pub bank: Bank,
    pub updated_at_ms: i64,
    pub payments: i64,
    pub last_payment_at_ms: Option<i64>,
}

/// Every bank configured, with how many payments it made and when it last did.
pub async fn list(app: &App) -> Result<Vec<BankState>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let rows = store::cards::banks(&mut conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (payments, last_payment_at_ms) =
            store::cards::payment_totals(&mut conn, &row.id).await?;
        let updated_at_ms = row.updated_at_ms;
        out.push(BankState {
            bank: bank_of(row)?,
            updated_at_ms,
            payments,
            last_payment_at_ms,
        });
    }
    Ok(out)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Check,
    Pay,
}

/// A request as the bank sent it, every field as text (validated here).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BillerRequest {
    pub command: String,
    pub txn_id: String,
    pub txn_date: String,
    pub account: String,
    pub sum: String,
}

/// The answer, the same for every repeat of a `pay`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillerAnswer {
    pub txn_id: String,
    /// Ours, for a `pay` that was recorded.
    pub prv_txn_id: Option<i64>,
    /// The sum as credited (`200.00`), or as sent when it could not be read.
    pub sum: String,
    pub outcome: Outcome,
    /// The result code in the bank's dialect.
    pub result: u16,
    pub comment: String,
    /// Shown to the bank's customer before paying: `А*** С***`, `•••• 9012`, the kind.
    pub holder: Option<String>,
    pub card: Option<String>,
    pub card_kind: Option<String>,
}

fn answer_of(
    bank: &Bank,
    request: &BillerRequest,
    outcome: Outcome,
    card: Option<&CardRow>,
) -> BillerAnswer {
    BillerAnswer {
        txn_id: request.txn_id.clone(),
        prv_txn_id: None,
        sum: request.sum.clone(),
        outcome,
        result: outcome.result_code(bank.dialect),
        comment: outcome.comment().to_owned(),
        holder: card.map(|c| masked_name(&c.holder_name)),
        card: card
            .and_then(|c| CardNumber::parse(&c.number).ok())
            .map(|n| n.masked()),
        card_kind: card.map(|c| c.kind.clone()),
    }
}

/// What may refuse a request before the card is read.
fn read_request(request: &BillerRequest) -> Result<(Command, CardNumber, Tenge), Outcome> {
    let command = match request.command.as_str() {
        "check" => Command::Check,
        "pay" => Command::Pay,
        _ => return Err(Outcome::BadRequest),
    };
    if !txn_id_valid(&request.txn_id)
        || (command == Command::Pay && !txn_date_valid(&request.txn_date))
    {
        return Err(Outcome::BadRequest);
    }
    let sum = parse_top_up_sum(&request.sum).map_err(|e| match e {
        SumError::Malformed => Outcome::SumMalformed,
        SumError::TooSmall => Outcome::SumTooSmall,
        SumError::TooLarge => Outcome::SumTooLarge,
    })?;
    // Only exactly 16 digits name a card; the check digit is tested before any lookup.
    let digits = request.account.len() == 16 && request.account.bytes().all(|b| b.is_ascii_digit());
    let account = CardNumber::parse(&request.account)
        .ok()
        .filter(|_| digits)
        .ok_or(Outcome::AccountMalformed)?;
    Ok((command, account, sum))
}

/// Whether the card may take this sum: active, and not above its kind's maximum balance.
async fn admit(
    conn: &mut dyn store::Executor,
    card: &CardRow,
    sum: Tenge,
) -> Result<Outcome, ServiceError> {
    if card.status != CardStatus::Active.as_str() {
        return Ok(Outcome::AccountForbidden);
    }
    let kind = CardKind::parse(&card.kind).map_err(|e| ServiceError::internal(e.to_string()))?;
    let balance = store::ledger::account(conn, "card_balance", &card.number)
        .await?
        .map_or(0, |a| -a.posted_tiyn);
    if balance.saturating_add(sum.tiyn()) > kind.balance_max().tiyn() {
        return Ok(Outcome::BalanceTooLarge);
    }
    Ok(Outcome::Ok)
}

/// Answers one `check` or `pay` of an authenticated bank.
pub async fn answer(
    app: &App,
    bank: &Bank,
    request: &BillerRequest,
) -> Result<BillerAnswer, ServiceError> {
    let (command, account, sum) = match read_request(request) {
        Ok(read) => read,
        Err(outcome) => return Ok(answer_of(bank, request, outcome, None)),
    };
    if command == Command::Check {
        let mut conn = app.store.reader().await?;
        let Some(card) = store::cards::by_number(&mut conn, account.as_str()).await? else {
            return Ok(answer_of(bank, request, Outcome::AccountNotFound, None));
        };
        let outcome = admit(&mut conn, &card, sum).await?;
        let mut answer = answer_of(bank, request, outcome, Some(&card));
        answer.sum = sum.to_decimal();
        return Ok(answer);
    }
    // A repeat finds its first answer without taking any lock.
    let paid = {
        let mut conn = app.store.reader().await?;
        store::cards::payment(&mut conn, &bank.id, &request.txn_id).await?
    };
    if let Some(paid) = paid {
        return recorded(app, bank, &paid).await;
    }
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let card = store::cards::lock(&mut tx, account.as_str()).await?;
    let outcome = match &card {
        None => Outcome::AccountNotFound,
        Some(card) => admit(&mut tx, card, sum).await?,
    };
    let row = BankPaymentRow {
        id: 0,
        bank: bank.id.clone(),
        txn_id: request.txn_id.clone(),
        txn_date: request.txn_date.clone(),
        account: account.as_str().to_owned(),
        sum_tiyn: sum.tiyn(),
        outcome: outcome.as_str().to_owned(),
        comment: outcome.comment().to_owned(),
        transfer_id: None,
        created_at_ms: now_ms,
    };
    let Some(id) = store::cards::insert_payment(&mut tx, &row).await? else {
        // Paid meanwhile by a concurrent repeat: its answer is the answer.
        drop(tx);
        let paid = {
            let mut conn = app.store.reader().await?;
            store::cards::payment(&mut conn, &bank.id, &request.txn_id).await?
        };
        let paid =
            paid.ok_or_else(|| ServiceError::internal("bank payment conflict without a row"))?;
        return recorded(app, bank, &paid).await;
    };
    if outcome == Outcome::Ok {
        let transfer_id = format!("top-up.{}.{id}", bank.id);
        let movement = Movement {
            debit: Account::BankReceivable(CardAccountId::parse(&bank.id)?),
            credit: Account::CardBalance(CardAccountId::parse(account.as_str())?),
            amount: sum,
        };
        let transfer = movement.posted_transfer(
            TransferId::parse(&transfer_id)?,
            TransferKind::TopUp,
            now_ms,
        )?;
        crate::ledger::book(&mut tx, &transfer).await?;
        store::cards::set_payment_transfer(&mut tx, id, &transfer_id).await?;
    }
    tx.commit().await?;
    let mut answer = answer_of(bank, request, outcome, card.as_ref());
    answer.prv_txn_id = Some(id);
    answer.sum = sum.to_decimal();
    Ok(answer)
}

/// The answer a recorded payment got, rebuilt from its row.
async fn recorded(
    app: &App,
    bank: &Bank,
    paid: &BankPaymentRow,
) -> Result<BillerAnswer, ServiceError> {
    let outcome = Outcome::parse(&paid.outcome).ok_or_else(|| {
        ServiceError::internal(format!(
            "bank payment {}: outcome {}",
            paid.id, paid.outcome
        ))
    })?;
    let card = {
        let mut conn = app.store.reader().await?;
        store::cards::by_number(&mut conn, &paid.account).await?
    };
    let request = BillerRequest {
        txn_id: paid.txn_id.clone(),
        sum: Tenge::from_tiyn(paid.sum_tiyn).to_decimal(),
        ..BillerRequest::default()
    };
    let mut answer = answer_of(bank, &request, outcome, card.as_ref());
    answer.prv_txn_id = Some(paid.id);
    Ok(answer)
}

/// Every top-up credited, counted (the checks compare it with the payments).
pub async fn top_ups_booked(app: &App) -> Result<i64, ServiceError> {
    let mut conn = app.store.reader().await?;
    Ok(store::cards::count_top_ups(&mut conn).await?)
}
