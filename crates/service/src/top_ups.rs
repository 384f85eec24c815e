//! Top-ups in the app with a bank card, through the card acquirer ([`partners::acquirer`]): the
//! passenger asks for a top-up of one of their cards ([`create`], under their Idempotency-Key),
//! gets the acquirer's payment page, pays there, and the acquirer's signed callback
//! ([`callback`]) credits the card. A callback that never comes is settled by [`settle_open`]
//! (the recovery loop) asking the acquirer the order's status.
//!
//! An order moves `created → paid | failed` by compare-and-set only, and only the move to
//! `paid` books the `top_up` transfer `top-up.acquirer.<id>` (acquirer's receivable → card), in
//! the same transaction: a repeated or concurrent callback, or a callback racing the recovery,
//! credits a card once. Crash points: after the row is inserted but before the acquirer made
//! the order (the passenger's retry with the same key asks again — the acquirer makes one order
//! per id; the recovery fails an order the acquirer never heard of once it is old); after the
//! acquirer charged but before the callback committed (the acquirer's retries, then the
//! recovery's status query).

use domain::card::{CardNumber, CardStatus, TOP_UP_MAX, TOP_UP_MIN, TopUpStatus};
use domain::ledger::{Account, CardAccountId, Movement, TransferId, TransferKind};
use domain::{ErrorCode, PhoneNumber, Tenge};
use partners::acquirer::{Acquirer, AcquirerError, Order, OrderRequest, OrderStatus};
use store::top_ups::TopUpRow;

/// The callback's limits, for the HTTP edge.
pub use partners::acquirer::{CALLBACK_BODY_BYTES_MAX, SIGNATURE_HEADER};

use crate::{App, ServiceError};

/// The recovery asks the acquirer about an order nobody has heard of for this long.
pub const TOP_UP_SETTLE_AFTER_MS: i64 = 60_000;
/// An order the acquirer does not know after this long was never made: it fails.
pub const TOP_UP_UNKNOWN_FAIL_AFTER_MS: i64 = 30 * 60_000;
/// Orders examined per recovery pass.
pub const TOP_UP_BATCH_MAX: i64 = 200;
/// An Idempotency-Key is at most this long.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopUpView {
    pub id: String,
    pub card: CardNumber,
    pub amount: Tenge,
    pub status: TopUpStatus,
    pub payment_url: Option<String>,
    /// Why it failed: `declined`, `insufficient_funds`, `expired`, `amount_mismatch`, ….
    pub failure: Option<String>,
    pub created_at_ms: i64,
}

fn view(row: &TopUpRow) -> Result<TopUpView, ServiceError> {
    Ok(TopUpView {
        id: row.id.clone(),
        card: CardNumber::parse(&row.card_number)
            .map_err(|e| ServiceError::internal(format!("top-up {}: {e}", row.id)))?,
        amount: Tenge::from_tiyn(row.amount_tiyn),
        status: TopUpStatus::parse(&row.status)
            .map_err(|e| ServiceError::internal(format!("top-up {}: {e}", row.id)))?,
        payment_url: row.payment_url.clone(),
        failure: row.failure.clone(),
        created_at_ms: row.created_at_ms,
    })
}

/// The least and the most a top-up of this card may bring now: the protocol's limits, and no
/// more than the card's kind may hold.
pub fn limits(card: &crate::cards::CardView) -> (Tenge, Tenge) {
    let room = card
        .kind
        .balance_max()
        .tiyn()
        .saturating_sub(card.balance.tiyn());
    (
        TOP_UP_MIN,
        Tenge::from_tiyn(room.clamp(0, TOP_UP_MAX.tiyn())),
    )
}

fn acquirer(app: &App) -> Result<std::sync::Arc<dyn Acquirer>, ServiceError> {
    app.acquirer().ok_or_else(|| {
        ServiceError::new(
            ErrorCode::AcquirerUnavailable,
            "no card acquirer is configured",
        )
    })
}

/// Starts a top-up of one of the holder's cards; a repeat with the same key returns the same
/// top-up (and asks the acquirer again for a page it never gave).
pub async fn create(
    app: &App,
    holder: &PhoneNumber,
    number: &CardNumber,
    amount: Tenge,
    idempotency_key: &str,
) -> Result<TopUpView, ServiceError> {
    if idempotency_key.is_empty() || idempotency_key.len() > IDEMPOTENCY_KEY_CHARS_MAX {
        return Err(ErrorCode::IdempotencyKeyMissing.into());
    }
    let acquirer = acquirer(app)?;
    let existing = {
        let mut conn = app.store.reader().await?;
        store::top_ups::by_key(&mut conn, holder.as_e164(), idempotency_key).await?
    };
    let row = match existing {
        Some(row) => same_request(row, number, amount)?,
        None => {
            let card = crate::cards::get(app, holder, number).await?;
            match card.status {
                CardStatus::Active => {}
                CardStatus::Blocked => return Err(ErrorCode::CardBlocked.into()),
                CardStatus::Closed => return Err(ErrorCode::CardClosed.into()),
                CardStatus::Open => return Err(ErrorCode::CardNotActive.into()),
            }
            if amount < TOP_UP_MIN || amount > TOP_UP_MAX {
                return Err(ErrorCode::TopUpAmountOutOfRange.into());
            }
            if amount > limits(&card).1 {
                return Err(ErrorCode::TopUpBalanceTooLarge.into());
            }
            let now_ms = app.now_ms();
            let row = TopUpRow {
                id: crate::hex(&crate::random_bytes::<8>()?),
                holder_phone: holder.as_e164().to_owned(),
                idempotency_key: idempotency_key.to_owned(),
                card_number: number.as_str().to_owned(),
                amount_tiyn: amount.tiyn(),
                acquirer: acquirer.id().to_owned(),
                status: TopUpStatus::Created.as_str().to_owned(),
                payment_url: None,
                acquirer_reference: None,
                failure: None,
                transfer_id: None,
                created_at_ms: now_ms,
                updated_at_ms: now_ms,
            };
            let mut tx = app.store.begin().await?;
            let inserted = store::top_ups::insert(&mut tx, &row).await?;
            tx.commit().await?;
            if inserted {
                row
            } else {
                // A concurrent repeat inserted it first.
                let mut conn = app.store.reader().await?;
                let row = store::top_ups::by_key(&mut conn, holder.as_e164(), idempotency_key)
                    .await?
                    .ok_or_else(|| ServiceError::internal("top-up conflict without a row"))?;
                same_request(row, number, amount)?
            }
        }
    };
    if row.status != TopUpStatus::Created.as_str() || row.payment_url.is_some() {
        return view(&row);
    }
    make_order(app, acquirer.as_ref(), row).await
}

fn same_request(
    row: TopUpRow,
    number: &CardNumber,
    amount: Tenge,
) -> Result<TopUpRow, ServiceError> {
    if row.card_number == number.as_str() && row.amount_tiyn == amount.tiyn() {
        Ok(row)
    } else {
        Err(ErrorCode::IdempotencyKeyReused.into())
    }
}

/// Where the acquirer `acquirer_id` posts its callbacks.
pub fn callback_url(app: &App, acquirer_id: &str) -> String {
    format!(
        "{}/v1/acquirer/{acquirer_id}/callback",
        app.settings.public_base_url.trim_end_matches('/')
    )
}

async fn make_order(
    app: &App,
    acquirer: &dyn Acquirer,
    mut row: TopUpRow,
) -> Result<TopUpView, ServiceError> {
    let base = app.settings.public_base_url.trim_end_matches('/');
    let back = format!(
        "{base}/#/cards/{}/top-up?top_up={}",
        row.card_number, row.id
    );
    let request = OrderRequest {
        invoice_id: row.id.clone(),
        amount: Tenge::from_tiyn(row.amount_tiyn),
        description: format!("SMSBUS card top-up {}", row.card_number),
        back_link: back.clone(),
        failure_back_link: back,
        post_link: callback_url(app, acquirer.id()),
    };
    match acquirer.create_order(&request).await {
        Ok(created) => {
            let mut tx = app.store.begin().await?;
            store::top_ups::set_payment_url(&mut tx, &row.id, &created.payment_url, app.now_ms())
                .await?;
            tx.commit().await?;
            row.payment_url = Some(created.payment_url);
            view(&row)
        }
        Err(error @ (AcquirerError::Unavailable(_) | AcquirerError::Protocol(_))) => {
            // Surely no order: the top-up ends here and nothing was charged.
            let mut tx = app.store.begin().await?;
            store::top_ups::mark_failed(&mut tx, &row.id, "acquirer_unavailable", app.now_ms())
                .await?;
            tx.commit().await?;
            Err(ServiceError::new(
                ErrorCode::AcquirerUnavailable,
                error.to_string(),
            ))
        }
        Err(error) => {
            // Perhaps an order: a retry with the same key asks again; the recovery settles it.
            Err(ServiceError::new(
                ErrorCode::AcquirerUnavailable,
                error.to_string(),
            ))
        }
    }
}

/// One of the holder's top-ups of this card; anyone else's is not found.
pub async fn get(
    app: &App,
    holder: &PhoneNumber,
    number: &CardNumber,
    id: &str,
) -> Result<TopUpView, ServiceError> {
    let mut conn = app.store.reader().await?;
    let row = store::top_ups::by_id(&mut conn, id)
        .await?
        .filter(|r| r.holder_phone == holder.as_e164() && r.card_number == number.as_str())
        .ok_or(ErrorCode::TopUpNotFound)?;
    view(&row)
}

/// The acquirer's callback, its signature checked before anything is read.
pub async fn callback(
    app: &App,
    acquirer_id: &str,
    body: &[u8],
    signature: &str,
) -> Result<TopUpView, ServiceError> {
    let acquirer = app
        .acquirer()
        .filter(|a| a.id() == acquirer_id)
        .ok_or(ErrorCode::NotFound)?;
    let refused = || {
        app.partners
            .callback(crate::partners::CallbackOutcome::Refused, app.now_ms());
    };
    let order = acquirer.verify_callback(body, signature).map_err(|e| {
        refused();
        ServiceError::new(ErrorCode::CallbackSignatureInvalid, e.to_string())
    })?;
    let row = {
        let mut conn = app.store.reader().await?;
        store::top_ups::by_id(&mut conn, &order.invoice_id).await?
    }
    .filter(|r| r.acquirer == acquirer_id)
    .ok_or_else(|| {
        refused();
        ServiceError::from(ErrorCode::TopUpNotFound)
    })?;
    app.partners
        .callback(crate::partners::CallbackOutcome::Accepted, app.now_ms());
    apply(app, &row, &order).await
}

/// Moves an order to what the acquirer says of it; a `charged` order credits the card once.
async fn apply(app: &App, row: &TopUpRow, order: &Order) -> Result<TopUpView, ServiceError> {
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    match order.status {
        OrderStatus::New => {}
        OrderStatus::Charged if order.amount.tiyn() != row.amount_tiyn => {
            // Charged another sum than ordered: nothing is credited here; reconciliation
            // lists the charge and an admin resolves it.
            tracing::error!(top_up = %row.id, charged = %order.amount, "acquirer charged another amount");
            store::top_ups::mark_failed(&mut tx, &row.id, "amount_mismatch", now_ms).await?;
        }
        OrderStatus::Charged => {
            let transfer_id = format!("top-up.acquirer.{}", row.id);
            let reference = order.reference.as_deref().unwrap_or_default();
            if store::top_ups::mark_paid(&mut tx, &row.id, reference, &transfer_id, now_ms).await? {
                let movement = Movement {
                    debit: Account::AcquirerReceivable(CardAccountId::parse(&row.acquirer)?),
                    credit: Account::CardBalance(CardAccountId::parse(&row.card_number)?),
                    amount: Tenge::from_tiyn(row.amount_tiyn),
                };
                let transfer = movement.posted_transfer(
                    TransferId::parse(&transfer_id)?,
                    TransferKind::TopUp,
                    now_ms,
                )?;
                crate::ledger::book(&mut tx, &transfer).await?;
            }
        }
        OrderStatus::Declined | OrderStatus::Expired => {
            let reason = match (order.status, order.reason.as_deref()) {
                (OrderStatus::Expired, _) => "expired",
                (_, Some("insufficient_funds")) => "insufficient_funds",
                _ => "declined",
            };
            store::top_ups::mark_failed(&mut tx, &row.id, reason, now_ms).await?;
        }
    }
    tx.commit().await?;
    let mut conn = app.store.reader().await?;
    let row = store::top_ups::by_id(&mut conn, &row.id)
        .await?
        .ok_or(ErrorCode::TopUpNotFound)?;
    view(&row)
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopUpRecovery {
    pub examined: usize,
    pub paid: usize,
    pub failed: usize,
    pub still_open: usize,
}

/// One pass over the orders nobody heard of for `idle_ms`: each is settled by the acquirer's
/// status of it.
pub async fn settle_open(app: &App, idle_ms: i64) -> Result<TopUpRecovery, ServiceError> {
    let Some(acquirer) = app.acquirer() else {
        return Ok(TopUpRecovery::default());
    };
    let now_ms = app.now_ms();
    let rows = {
        let mut conn = app.store.reader().await?;
        store::top_ups::open(&mut conn, now_ms - idle_ms, TOP_UP_BATCH_MAX).await?
    };
    let mut report = TopUpRecovery {
        examined: rows.len(),
        ..TopUpRecovery::default()
    };
    for row in rows.iter().filter(|r| r.acquirer == acquirer.id()) {
        let settled = match acquirer.status(&row.id).await {
            Ok(order) => Some(apply(app, row, &order).await?),
            Err(AcquirerError::UnknownOrder(_))
                if now_ms - row.created_at_ms >= TOP_UP_UNKNOWN_FAIL_AFTER_MS =>
            {
                let mut tx = app.store.begin().await?;
                store::top_ups::mark_failed(&mut tx, &row.id, "never_created", now_ms).await?;
                tx.commit().await?;
                Some(view(row).map(|mut v| {
                    v.status = TopUpStatus::Failed;
                    v
                })?)
            }
            Err(error) => {
                tracing::warn!(top_up = %row.id, %error, "top-up status not known yet");
                None
            }
        };
        match settled.map(|v| v.status) {
            Some(TopUpStatus::Paid) => report.paid += 1,
            Some(TopUpStatus::Failed) => report.failed += 1,
            _ => {
                let mut tx = app.store.begin().await?;
                store::top_ups::touch(&mut tx, &row.id, now_ms).await?;
                tx.commit().await?;
                report.still_open += 1;
            }
        }
    }
    Ok(report)
}
