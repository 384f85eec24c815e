//! Transport cards as their holder uses them: open a regular or school card (free), list them
//! with their balances, read a card's history (top-ups and rides), block and unblock it, close
//! it (its balance moves to another card of the holder, booked in the ledger), and choose one
//! to pay a ride ([`payer`]). A holder (a phone account) may hold several cards. A card of
//! someone else is answered as not found, never as "not yours".

use domain::card::{
    CARD_TEXT_CHARS_MAX, CARDS_PER_HOLDER_MAX, CardError, CardKind, CardNumber, CardStatus,
};
use domain::catalogue::RiderCategory;
use domain::ledger::{Account, CardAccountId, Movement, Transfer, TransferId, TransferKind};
use domain::ride::RideId;
use domain::{ErrorCode, PhoneNumber, Tenge};
use store::cards::CardRow;

use crate::payment::Payer;
use crate::{App, ServiceError};

/// A history page holds at most this many entries.
pub const HISTORY_MAX: i64 = 100;
/// A history page reads the ledger at most this many times.
const HISTORY_SCANS_MAX: usize = 8;
/// Drawing a number already taken is retried this often.
const ISSUE_ATTEMPTS_MAX: usize = 8;

/// A card as its holder sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardView {
    pub number: CardNumber,
    pub kind: CardKind,
    pub rider_category: RiderCategory,
    pub status: CardStatus,
    /// What the card holds, fares on hold not deducted.
    pub balance: Tenge,
    /// Fares on hold for rides being paid.
    pub held: Tenge,
    pub holder_name: String,
    pub pupil_name: Option<String>,
    pub school: Option<String>,
    pub class_name: Option<String>,
    /// A preferential status holds until then; the regular fare after.
    pub category_until_ms: Option<i64>,
    pub created_at_ms: i64,
}

impl CardView {
    /// What a ride or a close may use now.
    pub fn available(&self) -> Tenge {
        Tenge::from_tiyn(self.balance.tiyn() - self.held.tiyn())
    }
}

/// What a holder asks for when opening a card.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenCard {
    pub kind: String,
    /// The holder's own name, shown masked to banks (`А*** С***`).
    pub holder_name: String,
    pub pupil_name: Option<String>,
    pub school: Option<String>,
    pub class_name: Option<String>,
}

/// A card number as typed: a mistyped digit is caught by the check digit before any lookup.
pub fn parse_number(text: &str) -> Result<CardNumber, ServiceError> {
    CardNumber::parse(text).map_err(|e| match e {
        CardError::CheckDigit => ServiceError::new(ErrorCode::CardNumberMistyped, e.to_string()),
        _ => ServiceError::new(ErrorCode::CardNumberMalformed, e.to_string()),
    })
}

pub(crate) fn corrupt(card: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(format!("card {card}: {e}"))
}

fn text_field(value: Option<&str>, required: bool) -> Result<Option<String>, ServiceError> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    match value {
        None if required => Err(ErrorCode::CardFieldsInvalid.into()),
        None => Ok(None),
        Some(v) if v.chars().count() > CARD_TEXT_CHARS_MAX || v.chars().any(char::is_control) => {
            Err(ErrorCode::CardFieldsInvalid.into())
        }
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// Balances of the card's account: (what it holds, what is on hold).
pub(crate) async fn balances(
    conn: &mut dyn store::Executor,
    number: &str,
) -> Result<(Tenge, Tenge), ServiceError> {
    let account = store::ledger::account(conn, "card_balance", number).await?;
    Ok(match account {
        // Debits positive: money held for the holder is a credit.
        Some(a) => (
            Tenge::from_tiyn(-a.posted_tiyn),
            Tenge::from_tiyn(a.pending_tiyn.max(0)),
        ),
        None => (Tenge::ZERO, Tenge::ZERO),
    })
}

pub(crate) async fn view(
    conn: &mut dyn store::Executor,
    row: &CardRow,
) -> Result<CardView, ServiceError> {
    let (balance, held) = balances(conn, &row.number).await?;
    Ok(CardView {
        number: CardNumber::parse(&row.number).map_err(|e| corrupt(&row.number, e))?,
        kind: CardKind::parse(&row.kind).map_err(|e| corrupt(&row.number, e))?,
        rider_category: RiderCategory::parse(&row.rider_category)
            .map_err(|e| corrupt(&row.number, e))?,
        status: CardStatus::parse(&row.status).map_err(|e| corrupt(&row.number, e))?,
        balance,
        held,
        holder_name: row.holder_name.clone(),
        pupil_name: row.pupil_name.clone(),
        school: row.school.clone(),
        class_name: row.class_name.clone(),
        category_until_ms: row.category_until_ms,
        created_at_ms: row.created_at_ms,
    })
}

/// Opens a regular or school card for `holder`, free and active at once. A preferential card
/// is applied for and approved at the office, not opened here.
pub async fn open(
    app: &App,
    holder: &PhoneNumber,
    request: &OpenCard,
) -> Result<CardView, ServiceError> {
    let kind = CardKind::parse(&request.kind)
        .ok()
        .filter(|k| *k != CardKind::Preferential)
        .ok_or_else(|| {
            ServiceError::new(ErrorCode::BadRequest, "kind must be `regular` or `school`")
        })?;
    let school = kind == CardKind::School;
    let holder_name = text_field(Some(&request.holder_name), false)?.unwrap_or_default();
    let pupil_name = text_field(request.pupil_name.as_deref(), school)?;
    let school_name = text_field(request.school.as_deref(), school)?;
    let class_name = text_field(request.class_name.as_deref(), school)?;
    if !school && (pupil_name.is_some() || school_name.is_some() || class_name.is_some()) {
        return Err(ServiceError::new(
            ErrorCode::CardFieldsInvalid,
            "only a school card names a pupil",
        ));
    }
    for _ in 0..ISSUE_ATTEMPTS_MAX {
        let number = CardNumber::issue(u64::from_le_bytes(crate::random_bytes()?));
        let now_ms = app.now_ms();
        let row = CardRow {
            number: number.as_str().to_owned(),
            holder_phone: holder.as_e164().to_owned(),
            kind: kind.as_str().to_owned(),
            rider_category: kind.default_category().as_str().to_owned(),
            status: CardStatus::Open.as_str().to_owned(),
            holder_name: holder_name.clone(),
            pupil_name: pupil_name.clone(),
            school: school_name.clone(),
            class_name: class_name.clone(),
            closed_into: None,
            category_until_ms: None,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        };
        let mut tx = app.store.begin().await?;
        store::rides::lock_phone(&mut tx, holder.as_e164()).await?;
        let open = store::cards::of_holder(&mut tx, holder.as_e164())
            .await?
            .iter()
            .filter(|c| c.status != CardStatus::Closed.as_str())
            .count();
        if open >= CARDS_PER_HOLDER_MAX {
            return Err(ErrorCode::CardsTooMany.into());
        }
        match store::cards::insert(&mut tx, &row).await {
            Err(e) if store::is_unique_violation(&e) => continue,
            other => other?,
        }
        move_card(
            &mut tx,
            &row.number,
            CardStatus::Open,
            CardStatus::Active,
            None,
            now_ms,
        )
        .await?;
        let mut opened = row;
        opened.status = CardStatus::Active.as_str().to_owned();
        let shown = view(&mut tx, &opened).await?;
        tx.commit().await?;
        return Ok(shown);
    }
    Err(ServiceError::internal(
        "no free card number after several draws",
    ))
}

/// Moves a card along [`domain::card::CardStatus::TRANSITIONS`] by compare-and-set; a move the table
/// has not, or a card no longer in `from`, is `CARD_MOVE_NOT_ALLOWED`.
pub(crate) async fn move_card(
    conn: &mut dyn store::Executor,
    number: &str,
    from: CardStatus,
    to: CardStatus,
    closed_into: Option<&str>,
    now_ms: i64,
) -> Result<(), ServiceError> {
    if !from.can_move_to(to) {
        return Err(ServiceError::new(
            ErrorCode::CardMoveNotAllowed,
            format!("{from} → {to}"),
        ));
    }
    if store::cards::transition(
        conn,
        number,
        from.as_str(),
        to.as_str(),
        closed_into,
        now_ms,
    )
    .await?
    {
        Ok(())
    } else {
        Err(ServiceError::new(
            ErrorCode::CardMoveNotAllowed,
            format!("card is no longer {from}"),
        ))
    }
}

/// The holder's cards with their balances, oldest first (closed ones included).
pub async fn list(app: &App, holder: &PhoneNumber) -> Result<Vec<CardView>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let rows = store::cards::of_holder(&mut conn, holder.as_e164()).await?;
    let mut cards = Vec::with_capacity(rows.len());
    for row in &rows {
        cards.push(view(&mut conn, row).await?);
    }
    Ok(cards)
}

/// One of the holder's cards; someone else's is not found.
pub async fn get(
    app: &App,
    holder: &PhoneNumber,
    number: &CardNumber,
) -> Result<CardView, ServiceError> {
    let mut conn = app.store.reader().await?;
    let row = own_card(&mut conn, holder, number).await?;
    view(&mut conn, &row).await
}

async fn own_card(
    conn: &mut dyn store::Executor,
    holder: &PhoneNumber,
    number: &CardNumber,
) -> Result<CardRow, ServiceError> {
    store::cards::by_number(conn, number.as_str())
        .await?
        .filter(|c| c.holder_phone == holder.as_e164())
        .ok_or_else(|| ErrorCode::CardNotFound.into())
}

/// One line of a card's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardMovement {
    /// `top_up`, `ride`, `reversal`, `adjustment` (a balance moved on closing), …
    pub kind: String,
    /// Positive: money came onto the card; negative: it left (a fare).
    pub amount: Tenge,
    /// True for a fare on hold while its ride is being paid.
    pub on_hold: bool,
    pub ride_id: Option<RideId>,
    pub transfer_id: String,
    pub at_ms: i64,
}

/// A page of a card's history and where the next one starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryPage {
    pub movements: Vec<CardMovement>,
    /// Pass as `before` for the older movements; `None` on the last page.
    pub next: Option<i64>,
}

/// The card's movements, newest first, older than `before` when given: top-ups, rides (their
/// holds while paid), reversals and balance moves. Releases of holds are left out, and so are
/// holds released since: the posted fare or nothing shows instead.
pub async fn history(
    app: &App,
    holder: &PhoneNumber,
    number: &CardNumber,
    before: Option<i64>,
    limit: i64,
) -> Result<HistoryPage, ServiceError> {
    if !(1..=HISTORY_MAX).contains(&limit) {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            format!("limit must be 1..={HISTORY_MAX}"),
        ));
    }
    let mut conn = app.store.reader().await?;
    own_card(&mut conn, holder, number).await?;
    let mut movements = Vec::new();
    let mut cursor = before;
    // Each scanned entry either shows or is a release/settled hold, so a page fills in a few
    // scans; the number of scans is bounded all the same.
    for _ in 0..HISTORY_SCANS_MAX {
        let entries = store::cards::entries(&mut conn, number.as_str(), cursor, limit).await?;
        let exhausted = i64::try_from(entries.len()).unwrap_or(i64::MAX) < limit;
        for e in entries {
            cursor = Some(e.id);
            let release = e.layer == "pending" && e.amount_tiyn < 0;
            if release || e.released {
                continue;
            }
            movements.push(CardMovement {
                kind: e.kind,
                amount: Tenge::from_tiyn(-e.amount_tiyn),
                on_hold: e.layer == "pending",
                ride_id: e.ride_id,
                transfer_id: e.transfer_id,
                at_ms: e.at_ms,
            });
            if i64::try_from(movements.len()).unwrap_or(i64::MAX) == limit {
                return Ok(HistoryPage {
                    movements,
                    next: cursor,
                });
            }
        }
        if exhausted {
            return Ok(HistoryPage {
                movements,
                next: None,
            });
        }
    }
    Ok(HistoryPage {
        movements,
        next: cursor,
    })
}

/// Blocks the holder's card (a lost phone): it pays nothing and takes no top-up until unblocked.
pub async fn block(
    app: &App,
    holder: &PhoneNumber,
    number: &CardNumber,
) -> Result<CardView, ServiceError> {
    set_status(app, holder, number, CardStatus::Active, CardStatus::Blocked).await
}

pub async fn unblock(
    app: &App,
    holder: &PhoneNumber,
    number: &CardNumber,
) -> Result<CardView, ServiceError> {
    set_status(app, holder, number, CardStatus::Blocked, CardStatus::Active).await
}

async fn set_status(
    app: &App,
    holder: &PhoneNumber,
    number: &CardNumber,
    from: CardStatus,
    to: CardStatus,
) -> Result<CardView, ServiceError> {
    let mut tx = app.store.begin().await?;
    let row = own_card(&mut tx, holder, number).await?;
    let now = CardStatus::parse(&row.status).map_err(|e| corrupt(&row.number, e))?;
    if now == to {
        // Blocking a blocked card is what was asked: the same answer again.
        let shown = view(&mut tx, &row).await?;
        return Ok(shown);
    }
    if now != from {
        return Err(ServiceError::new(
            ErrorCode::CardMoveNotAllowed,
            format!("{now} → {to}"),
        ));
    }
    move_card(&mut tx, &row.number, from, to, None, app.now_ms()).await?;
    let mut moved = row;
    moved.status = to.as_str().to_owned();
    let shown = view(&mut tx, &moved).await?;
    tx.commit().await?;
    Ok(shown)
}

/// Closes the holder's card for good. A balance left on it moves to `into`, another active
/// card of the same holder, in the same transaction (a ledger adjustment); a card with money
/// and no `into` is refused, and so is one with a fare on hold.
pub async fn close(
    app: &App,
    holder: &PhoneNumber,
    number: &CardNumber,
    into: Option<&CardNumber>,
) -> Result<CardView, ServiceError> {
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    own_card(&mut tx, holder, number).await?;
    let row = store::cards::lock(&mut tx, number.as_str())
        .await?
        .ok_or(ErrorCode::CardNotFound)?;
    let status = CardStatus::parse(&row.status).map_err(|e| corrupt(&row.number, e))?;
    if !status.can_move_to(CardStatus::Closed) {
        return Err(ServiceError::new(
            ErrorCode::CardMoveNotAllowed,
            format!("{status} → closed"),
        ));
    }
    let (balance, held) = balances(&mut tx, number.as_str()).await?;
    if held.tiyn() != 0 {
        return Err(ErrorCode::CardBusy.into());
    }
    let mut moved_into = None;
    if balance.tiyn() > 0 {
        let into = into.ok_or(ErrorCode::CardCloseTargetRequired)?;
        if into == number {
            return Err(ErrorCode::CardCloseTargetRequired.into());
        }
        own_card(&mut tx, holder, into).await?;
        let target = store::cards::lock(&mut tx, into.as_str())
            .await?
            .ok_or(ErrorCode::CardNotFound)?;
        if target.status != CardStatus::Active.as_str() {
            return Err(ServiceError::new(
                ErrorCode::CardCloseTargetRequired,
                "the other card is not active",
            ));
        }
        let kind = CardKind::parse(&target.kind).map_err(|e| corrupt(&target.number, e))?;
        let (target_balance, _) = balances(&mut tx, into.as_str()).await?;
        if target_balance.checked_add(balance)?.tiyn() > kind.balance_max().tiyn() {
            return Err(ServiceError::new(
                ErrorCode::CardCloseTargetRequired,
                "the other card would hold more than its maximum",
            ));
        }
        let card = |n: &CardNumber| -> Result<Account, ServiceError> {
            Ok(Account::CardBalance(CardAccountId::parse(n.as_str())?))
        };
        let movement = Movement {
            debit: card(number)?,
            credit: card(into)?,
            amount: balance,
        };
        let transfer = Transfer::new(
            TransferId::parse(&format!("card-close.{}", number.as_str()))?,
            TransferKind::Adjustment,
            movement.posted_entries()?,
            now_ms,
        )?;
        crate::ledger::book(&mut tx, &transfer).await?;
        moved_into = Some(into.as_str().to_owned());
    }
    move_card(
        &mut tx,
        number.as_str(),
        status,
        CardStatus::Closed,
        moved_into.as_deref(),
        now_ms,
    )
    .await?;
    let mut closed = row;
    closed.status = CardStatus::Closed.as_str().to_owned();
    let shown = view(&mut tx, &closed).await?;
    tx.commit().await?;
    Ok(shown)
}

/// How a passenger names the card a ride is paid from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardChoice {
    Number(CardNumber),
    /// The last four digits (the SMS command).
    LastFour(String),
}

/// The payer of a ride from one of the holder's cards: it must be theirs and active. Checked
/// again when the ride is paid (a card blocked meanwhile voids the hold).
pub async fn payer(
    app: &App,
    holder: &PhoneNumber,
    choice: &CardChoice,
) -> Result<Payer, ServiceError> {
    let mut conn = app.store.reader().await?;
    let row = match choice {
        CardChoice::Number(number) => own_card(&mut conn, holder, number).await?,
        CardChoice::LastFour(four) => {
            let mut matching: Vec<CardRow> = store::cards::of_holder(&mut conn, holder.as_e164())
                .await?
                .into_iter()
                .filter(|c| c.number.ends_with(four.as_str()))
                .collect();
            // A closed card with the same digits does not make an active one ambiguous.
            if matching.len() > 1 {
                matching.retain(|c| c.status != CardStatus::Closed.as_str());
            }
            match matching.len() {
                0 => return Err(ErrorCode::CardNotFound.into()),
                1 => matching.remove(0),
                _ => return Err(ErrorCode::CardAmbiguous.into()),
            }
        }
    };
    match CardStatus::parse(&row.status).map_err(|e| corrupt(&row.number, e))? {
        CardStatus::Active => {}
        CardStatus::Blocked => return Err(ErrorCode::CardBlocked.into()),
        CardStatus::Closed => return Err(ErrorCode::CardClosed.into()),
        CardStatus::Open => return Err(ErrorCode::CardNotActive.into()),
    }
    let mut category =
        RiderCategory::parse(&row.rider_category).map_err(|e| corrupt(&row.number, e))?;
    // A preferential status ends with its document: the regular fare after.
    if row
        .category_until_ms
        .is_some_and(|until| app.now_ms() > until)
    {
        category = RiderCategory::Regular;
    }
    Ok(Payer::Card {
        holder: holder.clone(),
        card: CardNumber::parse(&row.number).map_err(|e| corrupt(&row.number, e))?,
        category,
    })
}

/// One of the holder's active cards as a source for a ride on a bus: its fare (a preferential
/// card's own) and, when it cannot pay that fare now, why (`CARD_INSUFFICIENT_FUNDS`, …).
#[derive(Clone, Debug)]
pub struct CardSource {
    pub card: CardView,
    pub quote: crate::rides::Quote,
    pub refusal: Option<ErrorCode>,
}

/// Every active card of the holder priced for this ride, oldest first, so the passenger picks
/// the source before paying. A refusal of the ride itself (an unknown bus, a zone fare without
/// its zone) is the caller's to report from the phone balance's quote.
pub async fn ride_sources(
    app: &App,
    holder: &PhoneNumber,
    vehicle: &domain::sms::VehicleRef,
    zone: Option<domain::catalogue::Zone>,
) -> Result<Vec<CardSource>, ServiceError> {
    let mut sources = Vec::new();
    for card in list(app, holder).await? {
        if card.status != CardStatus::Active {
            continue;
        }
        let payer = payer(app, holder, &CardChoice::Number(card.number.clone())).await?;
        let quote = crate::rides::quote(app, &payer, vehicle, zone).await?;
        let refusal = (card.available().tiyn() < quote.amount.tiyn())
            .then_some(ErrorCode::CardInsufficientFunds);
        sources.push(CardSource {
            card,
            quote,
            refusal,
        });
    }
    Ok(sources)
}
