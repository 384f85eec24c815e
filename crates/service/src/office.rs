//! The office desk: a clerk finds a passenger (by card number — its check digit caught before
//! any lookup —, phone or name), reads their record (cards, applications, the audit entries of
//! what staff did to them), blocks and unblocks a card with a reason, and closes a card paying
//! its balance out (cash at the desk or a bank transfer with its reference).
//!
//! A clerk reaches a passenger who has ridden in or applied to one of the clerk's cities
//! ([`reach`]); any other is `SCOPE_FORBIDDEN`, and a name search leaves them out. Every change
//! is one transaction with its audit entry. A payout books a `payout` transfer from the card's
//! balance to the way it was paid, writes its row (one per card) and closes the card together,
//! so a card is paid out once; a retry with the same idempotency key reads the first answer.

use domain::ErrorCode;
use domain::PhoneNumber;
use domain::card::{CardNumber, CardStatus};
use domain::ledger::{Account, CardAccountId, Movement, Transfer, TransferId, TransferKind};
use store::cards::CardRow;
pub use store::office::PayoutRow;

use crate::cards::CardView;
use crate::staff::Actor;
use crate::{App, ServiceError};

/// A name search answers at most this many holders.
pub const FOUND_MAX: i64 = 50;
/// A name searched for has at least this many characters.
pub const NAME_CHARS_MIN: usize = 3;
/// And at most this many.
pub const QUERY_CHARS_MAX: usize = 100;
/// A record shows at most this many audit entries.
pub const RECORD_AUDIT_MAX: i64 = 200;
/// The tickets whose audit entries a record looks up (the newest).
const RECORD_TICKETS_MAX: i64 = 100;
/// A reason or a transfer reference is at most this long.
pub const REASON_CHARS_MAX: usize = 200;

/// A passenger found at the desk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub phone: PhoneNumber,
    /// The name on a card or an application (empty when none names them).
    pub name: String,
    pub cards: Vec<CardView>,
}

/// A card as the office sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfficeCard {
    pub card: CardView,
    /// The end of a preferential status.
    pub category_until_ms: Option<i64>,
    /// The card a closed card's balance went to.
    pub closed_into: Option<String>,
    pub payout: Option<PayoutRow>,
}

/// What the desk shows of one passenger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub phone: PhoneNumber,
    pub cities: Vec<String>,
    pub cards: Vec<OfficeCard>,
    pub applications: Vec<store::cards::ApplicationRow>,
    /// What staff did to the passenger's cards, applications and tickets, newest first.
    pub audit: Vec<domain::audit::Entry>,
}

/// Refuses with `SCOPE_FORBIDDEN` unless the actor reaches the passenger: an admin always, an
/// office clerk when the passenger rode in or applied to one of the clerk's cities. A number
/// without any card, ride or application is `NOT_FOUND`.
pub async fn reach(
    conn: &mut dyn store::Executor,
    actor: &Actor,
    phone: &str,
) -> Result<Vec<String>, ServiceError> {
    let cities = store::office::cities_of(conn, phone).await?;
    if cities.is_empty() && store::cards::of_holder(conn, phone).await?.is_empty() {
        // Nobody by this number has a card, a ride or an application: there is no record.
        return Err(ServiceError::new(
            ErrorCode::NotFound,
            "no passenger by this number",
        ));
    }
    if actor.role == domain::staff::Role::Admin
        || cities
            .iter()
            .any(|c| actor.scope.reaches_city(actor.role, c))
    {
        Ok(cities)
    } else {
        Err(ServiceError::new(
            ErrorCode::ScopeForbidden,
            format!("{} does not work for this passenger's cities", actor.name),
        ))
    }
}

fn parse_phone(text: &str) -> Result<PhoneNumber, ServiceError> {
    PhoneNumber::parse(text)
        .map_err(|e| ServiceError::new(ErrorCode::PhoneMalformed, e.to_string()))
}

/// Finds passengers by a card number (16 digits, spaces allowed; a wrong check digit is
/// `CARD_NUMBER_MISTYPED`), a phone number, or a part of a name.
pub async fn search(app: &App, actor: &Actor, text: &str) -> Result<Vec<Found>, ServiceError> {
    let text = text.trim();
    if text.chars().count() > QUERY_CHARS_MAX {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            format!("a search is at most {QUERY_CHARS_MAX} characters"),
        ));
    }
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let all_digits = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit());
    let mut conn = app.store.reader().await?;
    if all_digits && digits.len() == 16 {
        let number = crate::cards::parse_number(&digits)?;
        let card = store::cards::by_number(&mut conn, number.as_str())
            .await?
            .ok_or(ErrorCode::CardNotFound)?;
        reach(&mut conn, actor, &card.holder_phone).await?;
        let phone = parse_phone(&card.holder_phone)?;
        return Ok(vec![found(&mut conn, phone).await?]);
    }
    if let Ok(phone) = PhoneNumber::parse(text) {
        return match reach(&mut conn, actor, phone.as_e164()).await {
            Ok(_) => Ok(vec![found(&mut conn, phone).await?]),
            Err(e) if e.code == ErrorCode::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        };
    }
    if all_digits || text.starts_with('+') {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            "digits are a card number (16) or a phone number",
        ));
    }
    if text.chars().count() < NAME_CHARS_MIN {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            format!("a name searched for has at least {NAME_CHARS_MIN} letters"),
        ));
    }
    let mut out = Vec::new();
    for named in store::office::holders_named(&mut conn, text, FOUND_MAX).await? {
        // A name search lists the passengers the clerk reaches; others are not theirs to see.
        if reach(&mut conn, actor, &named.phone).await.is_err() {
            continue;
        }
        let phone = parse_phone(&named.phone)?;
        out.push(found(&mut conn, phone).await?);
    }
    Ok(out)
}

async fn found(conn: &mut dyn store::Executor, phone: PhoneNumber) -> Result<Found, ServiceError> {
    let rows = store::cards::of_holder(conn, phone.as_e164()).await?;
    let mut cards = Vec::with_capacity(rows.len());
    for row in &rows {
        cards.push(crate::cards::view(conn, row).await?);
    }
    let mut name = rows
        .iter()
        .rev()
        .map(|r| r.holder_name.clone())
        .find(|n| !n.is_empty())
        .unwrap_or_default();
    if name.is_empty() {
        name = store::cards::applications(conn, Some(phone.as_e164()), None, None, 1)
            .await?
            .first()
            .map(|a| a.full_name.clone())
            .unwrap_or_default();
    }
    Ok(Found { phone, name, cards })
}

/// The passenger's record at the desk.
pub async fn record(app: &App, actor: &Actor, phone: &PhoneNumber) -> Result<Record, ServiceError> {
    let mut conn = app.store.reader().await?;
    let cities = reach(&mut conn, actor, phone.as_e164()).await?;
    let tickets = crate::tickets::history(app, phone, None, RECORD_TICKETS_MAX).await?;
    let rows = store::cards::of_holder(&mut conn, phone.as_e164()).await?;
    let applications =
        store::cards::applications(&mut conn, Some(phone.as_e164()), None, None, 200).await?;
    let mut objects = Vec::new();
    let mut cards = Vec::with_capacity(rows.len());
    for row in &rows {
        objects.push(format!("card:{}", row.number));
        cards.push(OfficeCard {
            card: crate::cards::view(&mut conn, row).await?,
            category_until_ms: row.category_until_ms,
            closed_into: row.closed_into.clone(),
            payout: store::office::payout(&mut conn, &row.number).await?,
        });
    }
    objects.extend(
        applications
            .iter()
            .map(|a| format!("card_application:{}", a.id)),
    );
    objects.extend(
        tickets
            .tickets
            .iter()
            .map(|t| format!("ticket:{}", t.number.value())),
    );
    // `passenger:` entries name a masked number, which two passengers may share: left out.
    let audit = store::office::audit_about(&mut conn, &objects, RECORD_AUDIT_MAX)
        .await?
        .into_iter()
        .map(crate::audit::from_row)
        .collect();
    Ok(Record {
        phone: phone.clone(),
        cities,
        cards,
        applications,
        audit,
    })
}

fn reason_text(text: &str, required: bool) -> Result<String, ServiceError> {
    let text = text.trim();
    if (required && text.is_empty())
        || text.chars().count() > REASON_CHARS_MAX
        || text.chars().any(char::is_control)
    {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            format!("a reason is 1..={REASON_CHARS_MAX} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// Locks a card the actor reaches.
async fn locked_card(
    tx: &mut dyn store::Executor,
    actor: &Actor,
    number: &CardNumber,
) -> Result<CardRow, ServiceError> {
    let row = store::cards::lock(tx, number.as_str())
        .await?
        .ok_or(ErrorCode::CardNotFound)?;
    reach(tx, actor, &row.holder_phone).await?;
    Ok(row)
}

/// Blocks a card at the office (a holder who lost their phone): nothing is paid from it and
/// nothing tops it up until unblocked.
pub async fn block(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
    reason: &str,
) -> Result<CardView, ServiceError> {
    set_status(app, actor, number, CardStatus::Blocked, reason).await
}

/// Unblocks a card blocked by its holder or the office.
pub async fn unblock(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
    reason: &str,
) -> Result<CardView, ServiceError> {
    set_status(app, actor, number, CardStatus::Active, reason).await
}

async fn set_status(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
    to: CardStatus,
    reason: &str,
) -> Result<CardView, ServiceError> {
    let reason = reason_text(reason, true)?;
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let mut row = locked_card(&mut tx, actor, number).await?;
    let from = CardStatus::parse(&row.status).map_err(|e| crate::cards::corrupt(&row.number, e))?;
    let expected = match to {
        CardStatus::Blocked => CardStatus::Active,
        _ => CardStatus::Blocked,
    };
    if from != expected {
        return Err(ServiceError::new(
            ErrorCode::CardMoveNotAllowed,
            format!("{from} → {to}"),
        ));
    }
    crate::cards::move_card(&mut tx, &row.number, from, to, None, now_ms).await?;
    let verb = if to == CardStatus::Blocked {
        "block"
    } else {
        "unblock"
    };
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: &format!("card.{verb}"),
            object: &format!("card:{}", row.number),
            before: from.as_str(),
            after: &format!("{}: {reason}", to.as_str()),
        },
        now_ms,
    )
    .await?;
    row.status = to.as_str().to_owned();
    let shown = crate::cards::view(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(shown)
}

/// How a closing card's balance was paid to its holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayoutWay {
    /// Cash at the office desk.
    Cash,
    /// A bank transfer, with its reference.
    BankTransfer,
}

impl PayoutWay {
    pub fn parse(text: &str) -> Result<PayoutWay, ServiceError> {
        match text {
            "cash" => Ok(PayoutWay::Cash),
            "bank_transfer" => Ok(PayoutWay::BankTransfer),
            _ => Err(ServiceError::new(
                ErrorCode::BadRequest,
                "way is `cash` or `bank_transfer`",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PayoutWay::Cash => "cash",
            PayoutWay::BankTransfer => "bank_transfer",
        }
    }

    /// The ledger account of what was paid out this way.
    fn account(self) -> Result<Account, ServiceError> {
        let owner = match self {
            PayoutWay::Cash => "cash",
            PayoutWay::BankTransfer => "bank-transfer",
        };
        Ok(Account::Payout(CardAccountId::parse(owner)?))
    }
}

/// What the clerk records of a payout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayoutRequest {
    pub way: PayoutWay,
    /// The bank transfer's reference (required for a transfer, none for cash).
    pub reference: String,
    pub reason: String,
}

/// A card closed and its balance paid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaidOut {
    pub card: CardView,
    pub payout: PayoutRow,
}

/// Closes the card and pays its balance out. A repeat with the same `key` answers the first
/// payout; another key on a card paid out already is `CARD_CLOSED`.
pub async fn pay_out(
    app: &App,
    actor: &Actor,
    number: &CardNumber,
    request: &PayoutRequest,
    key: &str,
) -> Result<PaidOut, ServiceError> {
    let reference = reason_text(&request.reference, request.way == PayoutWay::BankTransfer)?;
    if request.way == PayoutWay::Cash && !reference.is_empty() {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            "a cash payout has no reference",
        ));
    }
    let reason = reason_text(&request.reason, false)?;
    let key = reason_text(key, true)?;
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let mut row = locked_card(&mut tx, actor, number).await?;
    if let Some(first) = store::office::payout(&mut tx, &row.number).await? {
        if first.idempotency_key != key {
            return Err(ServiceError::new(
                ErrorCode::CardClosed,
                "the card was closed and paid out already",
            ));
        }
        let card = crate::cards::view(&mut tx, &row).await?;
        return Ok(PaidOut {
            card,
            payout: first,
        });
    }
    let status =
        CardStatus::parse(&row.status).map_err(|e| crate::cards::corrupt(&row.number, e))?;
    if !status.can_move_to(CardStatus::Closed) {
        return Err(ServiceError::new(
            ErrorCode::CardMoveNotAllowed,
            format!("{status} → closed"),
        ));
    }
    let (balance, held) = crate::cards::balances(&mut tx, &row.number).await?;
    if held.tiyn() != 0 {
        return Err(ErrorCode::CardBusy.into());
    }
    let transfer_id = format!("payout.{}", row.number);
    if balance.tiyn() > 0 {
        let movement = Movement {
            debit: Account::CardBalance(CardAccountId::parse(&row.number)?),
            credit: request.way.account()?,
            amount: balance,
        };
        let transfer = Transfer::new(
            TransferId::parse(&transfer_id)?,
            TransferKind::Payout,
            movement.posted_entries()?,
            now_ms,
        )?;
        crate::ledger::book(&mut tx, &transfer).await?;
    }
    let payout = PayoutRow {
        card_number: row.number.clone(),
        idempotency_key: key,
        way: request.way.as_str().to_owned(),
        reference,
        amount_tiyn: balance.tiyn(),
        transfer_id: if balance.tiyn() > 0 {
            transfer_id
        } else {
            String::new()
        },
        paid_by: actor.name.clone(),
        reason,
        created_at_ms: now_ms,
    };
    if !store::office::insert_payout(&mut tx, &payout).await? {
        return Err(ServiceError::new(
            ErrorCode::CardClosed,
            "the card was paid out meanwhile",
        ));
    }
    crate::cards::move_card(
        &mut tx,
        &row.number,
        status,
        CardStatus::Closed,
        None,
        now_ms,
    )
    .await?;
    let mut after = format!("closed; paid out {balance} by {}", payout.way);
    if !payout.reference.is_empty() {
        after.push_str(&format!(" ref {}", payout.reference));
    }
    if !payout.reason.is_empty() {
        after.push_str(&format!(" ({})", payout.reason));
    }
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "card.payout",
            object: &format!("card:{}", row.number),
            before: status.as_str(),
            after: &after,
        },
        now_ms,
    )
    .await?;
    row.status = CardStatus::Closed.as_str().to_owned();
    let card = crate::cards::view(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(PaidOut { card, payout })
}
