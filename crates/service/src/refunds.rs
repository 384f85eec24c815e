//! Refunds of rides, asked by staff, back to the source that paid.
//!
//! - **A card ride**: the ticket becomes `refunded` (controllers refuse it, as a revoked one)
//!   by compare-and-set, and the ride's posted transfer is reversed in the same transaction —
//!   the card is credited, the carrier no longer owed —, so a refund asked twice refunds once.
//! - **A phone-balance ride**: the operator gives the money back (CAMARA Carrier Billing
//!   Refund, a total refund of the ride's payment). The request is written first
//!   (`operator_refunds`, one per ride, audited), then sent with a client correlator derived
//!   from the ride and the attempt, so a retry after a lost reply never refunds twice. When the
//!   operator says `succeeded` the ticket becomes `refunded` and the posted fare is reversed, in
//!   one transaction; `processing` or no answer leaves the request open, and the recovery loop
//!   ([`settle_open`]) asks again until the operator answers; a denial is recorded and the
//!   ticket stays valid (a new request may follow). The ticket stays valid while the refund is
//!   open: it is given up only for money actually returned.
//!
//! Either way the passenger is told by SMS, in the ride's language.

use domain::ErrorCode;
use domain::ledger::{RidePhase, TransferId};
use domain::ride::OperatorRefundStatus;
use domain::sms::RefundedTo;
use domain::ticket::{TicketNumber, TicketStatus};
use domain::{Language, OperatorId, Tenge};
use partners::operator::{
    DenialReason, OperatorError, OperatorPaymentId, Refund, RefundRequest, RefundStatus,
};
use store::Executor;
use store::refunds::OperatorRefundRow;
use store::rides::RideRow;
use store::tickets::TicketRow;

use crate::staff::Actor;
use crate::{App, ServiceError};

/// Open operator refunds examined per recovery pass.
pub const REFUNDS_PER_PASS_MAX: i64 = 100;

/// Where a refund stands once asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundState {
    /// The money is back with the passenger; the ticket is `refunded`.
    Refunded,
    /// The operator has not finished (or not answered): the refund completes later, by itself.
    Pending,
}

/// Where the fare goes back to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundSource {
    Card(String),
    PhoneBalance { operator: String },
}

/// A ride refunded, or on its way to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refunded {
    pub number: TicketNumber,
    pub check_number: String,
    pub source: RefundSource,
    pub amount: Tenge,
    pub state: RefundState,
}

/// Refunds the ride of the ticket with this check number to its source, for `actor` (one
/// audit entry for the request).
pub async fn refund_ride(
    app: &App,
    actor: &Actor,
    check_number: &str,
    reason: &str,
) -> Result<Refunded, ServiceError> {
    let (number, reason) = crate::revocations::staff_request(check_number, reason)?;
    let (ticket, ride) = {
        let mut conn = app.store.reader().await?;
        ticket_and_ride(&mut conn, number).await?
    };
    // An office clerk refunds the rides of its cities only.
    actor.require_city(&ride.ride.city_id)?;
    let status = TicketStatus::parse(&ticket.status)
        .map_err(|e| ServiceError::internal(format!("ticket {}: {e}", number.check_form())))?;
    if !status.can_move_to(TicketStatus::Refunded) {
        return Err(ServiceError::new(
            ErrorCode::TicketNotValid,
            format!("ticket {}", number.check_form()),
        ));
    }
    match ride.ride.card_number.clone() {
        Some(card) => refund_card_ride(app, actor, number, &card, reason).await,
        None => request_operator_refund(app, actor, &ticket, &ride, reason).await,
    }
    .map(|state| Refunded {
        number,
        check_number: number.check_form(),
        source: match ride.ride.card_number {
            Some(card) => RefundSource::Card(card),
            None => RefundSource::PhoneBalance {
                operator: ride.ride.operator.clone(),
            },
        },
        amount: Tenge::from_tiyn(ride.ride.amount_tiyn),
        state,
    })
}

async fn ticket_and_ride(
    conn: &mut dyn Executor,
    number: TicketNumber,
) -> Result<(TicketRow, RideRow), ServiceError> {
    let Some(ticket) = store::tickets::by_number(conn, number).await? else {
        return Err(ServiceError::new(
            ErrorCode::NotFound,
            format!("ticket {}", number.check_form()),
        ));
    };
    let Some(ride) = store::rides::by_id(conn, &ticket.ride_id).await? else {
        return Err(ServiceError::internal(format!(
            "ticket {} without its ride",
            number.check_form()
        )));
    };
    Ok((ticket, ride))
}

/// A card ride: the ticket refunded and the fare back on the card, in one transaction.
async fn refund_card_ride(
    app: &App,
    actor: &Actor,
    number: TicketNumber,
    card: &str,
    reason: &str,
) -> Result<RefundState, ServiceError> {
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let (ticket, ride) = ticket_and_ride(&mut tx, number).await?;
    give_up_ticket(&mut tx, &ticket, &ride, reason, now_ms).await?;
    let last_four = card.get(card.len().saturating_sub(4)..).unwrap_or(card);
    tell(&mut tx, &ride, number, RefundedTo::Card(last_four), now_ms).await?;
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "ticket.refund",
            object: &format!("ticket:{}", ticket.number.value()),
            before: &ticket.status,
            after: &format!("refunded to card {card} ({reason})"),
        },
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(RefundState::Refunded)
}

/// The ticket `refunded` and the ride's posted fare reversed, inside the caller's transaction.
async fn give_up_ticket(
    tx: &mut dyn Executor,
    ticket: &TicketRow,
    ride: &RideRow,
    reason: &str,
    now_ms: i64,
) -> Result<(), ServiceError> {
    let refunded = TicketStatus::Refunded;
    if !store::tickets::invalidate(tx, ticket.number, refunded.as_str(), reason, now_ms).await? {
        return Err(ServiceError::new(
            ErrorCode::TicketNotValid,
            format!("ticket {}", ticket.number.value()),
        ));
    }
    let ride_id = &ride.ride.id;
    let post = TransferId::of_ride(ride_id, RidePhase::Post);
    let reversal = TransferId::of_ride(ride_id, RidePhase::Reversal);
    if !crate::ledger::reverse(tx, &post, reversal, Some(ride_id.clone()), now_ms).await? {
        return Err(ServiceError::internal(format!(
            "ticket {} has no posted fare to reverse",
            ticket.number.value()
        )));
    }
    Ok(())
}

async fn tell(
    tx: &mut dyn Executor,
    ride: &RideRow,
    number: TicketNumber,
    to: RefundedTo<'_>,
    now_ms: i64,
) -> Result<(), ServiceError> {
    let language = Language::from_code(&ride.ride.language).unwrap_or_default();
    let amount = Tenge::from_tiyn(ride.ride.amount_tiyn);
    let text = domain::sms::refund_text(language, &number.check_form(), amount, to);
    // Not a reply to the ride's request (those carry its id): a notice of its own.
    store::sms::enqueue(tx, &ride.ride.phone, &text, None, now_ms).await?;
    Ok(())
}

/// A phone-balance ride: the request written (or asked again after a denial), then sent.
async fn request_operator_refund(
    app: &App,
    actor: &Actor,
    ticket: &TicketRow,
    ride: &RideRow,
    reason: &str,
) -> Result<RefundState, ServiceError> {
    let Some(payment) = ride.operator_payment_id.clone() else {
        return Err(ServiceError::internal(format!(
            "ride {} was issued without the operator's payment",
            ride.ride.id
        )));
    };
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let existing = store::refunds::by_ride(&mut tx, &ride.ride.id).await?;
    let asked = match &existing {
        None => {
            let row = OperatorRefundRow {
                ride_id: ride.ride.id.clone(),
                ticket_number: ticket.number,
                operator: ride.ride.operator.clone(),
                operator_payment_id: payment,
                attempt: 1,
                status: OperatorRefundStatus::Requested.as_str().into(),
                operator_refund_id: None,
                reason: reason.to_owned(),
                requested_by: actor.name.clone(),
                denial: None,
                tries: 0,
                created_at_ms: now_ms,
                updated_at_ms: now_ms,
            };
            store::refunds::insert(&mut tx, &row).await?
        }
        Some(row) if refund_status(row)? == OperatorRefundStatus::Denied => {
            store::refunds::ask_again(&mut tx, &ride.ride.id, reason, &actor.name, now_ms).await?
        }
        // Asked already and still open: this request joins it, and asks nothing new.
        Some(_) => false,
    };
    if asked {
        crate::audit::record(
            &mut tx,
            actor,
            &crate::audit::Change {
                action: "ticket.refund",
                object: &format!("ticket:{}", ticket.number.value()),
                before: &ticket.status,
                after: &format!(
                    "refund asked from operator {} ({reason})",
                    ride.ride.operator
                ),
            },
            now_ms,
        )
        .await?;
    }
    let row = store::refunds::by_ride(&mut tx, &ride.ride.id)
        .await?
        .ok_or_else(|| ServiceError::internal(format!("refund of {} vanished", ride.ride.id)))?;
    tx.commit().await?;
    match refund_status(&row)? {
        OperatorRefundStatus::Succeeded => Ok(RefundState::Refunded),
        _ => settle_one(app, &row).await,
    }
}

/// A refund row's status, typed.
fn refund_status(row: &OperatorRefundRow) -> Result<OperatorRefundStatus, ServiceError> {
    OperatorRefundStatus::parse(&row.status)
        .map_err(|e| ServiceError::internal(format!("refund of {}: {e}", row.ride_id)))
}

/// Moves a refund from the status it was read in to `to` by compare-and-set (to the same
/// status: only marks it tried now); false when another pass moved it meanwhile. A move the
/// table does not allow is refused before any SQL.
async fn move_refund(
    tx: &mut dyn Executor,
    row: &OperatorRefundRow,
    to: OperatorRefundStatus,
    refund_id: Option<&str>,
    denial: Option<&str>,
    now_ms: i64,
) -> Result<bool, ServiceError> {
    let from = refund_status(row)?;
    if from != to && !from.can_move_to(to) {
        return Err(ServiceError::internal(format!(
            "refund of {}: {from} cannot become {to}",
            row.ride_id
        )));
    }
    Ok(store::refunds::transition(
        tx,
        &row.ride_id,
        from.as_str(),
        to.as_str(),
        refund_id,
        denial,
        now_ms,
    )
    .await?)
}

/// The client correlator the operator sees for a refund attempt.
fn correlator(row: &OperatorRefundRow) -> String {
    format!("refund-{}-{}", row.ride_id, row.attempt)
}

/// Asks the operator about an open refund (creating it, or reading how it went) and records
/// the answer. A denial is `REFUND_DENIED`; anything not final is `Pending`.
async fn settle_one(app: &App, row: &OperatorRefundRow) -> Result<RefundState, ServiceError> {
    let operator = OperatorId::parse(&row.operator)
        .map_err(|e| ServiceError::internal(format!("refund of {}: {e}", row.ride_id)))?;
    let payment = OperatorPaymentId::new(row.operator_payment_id.clone());
    let correlator = correlator(row);
    let answer = match refund_status(row)? {
        OperatorRefundStatus::Requested => {
            let request = RefundRequest {
                client_correlator: correlator.clone(),
                reason: row.reason.clone(),
            };
            match app.billing.refund(&operator, &payment, &request).await {
                // Maybe made: what the operator has under our correlator is the truth.
                Err(OperatorError::OutcomeUnknown(_)) => {
                    look_up(app, &operator, &payment, &correlator).await
                }
                other => other.map(Some),
            }
        }
        _ => look_up(app, &operator, &payment, &correlator).await,
    };
    let now_ms = app.now_ms();
    match answer {
        Ok(Some(Refund {
            status: RefundStatus::Succeeded,
            id,
            ..
        })) => finish(app, row, &id).await,
        Ok(Some(Refund {
            status: RefundStatus::Processing,
            id,
            ..
        })) => {
            let mut tx = app.store.begin().await?;
            move_refund(
                &mut tx,
                row,
                OperatorRefundStatus::Processing,
                Some(&id),
                None,
                now_ms,
            )
            .await?;
            tx.commit().await?;
            Ok(RefundState::Pending)
        }
        Ok(Some(Refund {
            status: RefundStatus::Denied,
            ..
        })) => deny(app, row, "the operator answered denied").await,
        Err(OperatorError::Denied(reason)) => {
            let why = match reason {
                DenialReason::Other(text) => text,
                other => format!("{other:?}"),
            };
            deny(app, row, &why).await
        }
        Err(OperatorError::NotFound) => {
            deny(app, row, "the operator does not know the payment").await
        }
        // Not asked yet (the lookup found nothing), or no answer: the next pass asks again
        // with the same correlator.
        Ok(None) | Err(_) => {
            let mut tx = app.store.begin().await?;
            move_refund(&mut tx, row, refund_status(row)?, None, None, now_ms).await?;
            tx.commit().await?;
            Ok(RefundState::Pending)
        }
    }
}

/// The operator's refund under our correlator, if it made one.
async fn look_up(
    app: &App,
    operator: &OperatorId,
    payment: &OperatorPaymentId,
    correlator: &str,
) -> Result<Option<Refund>, OperatorError> {
    let refunds = app.billing.refunds(operator, payment).await?;
    Ok(refunds
        .into_iter()
        .find(|r| r.client_correlator.as_deref() == Some(correlator)))
}

/// The money is back: the request `succeeded`, the ticket `refunded`, the fare reversed and
/// the passenger told, in one transaction; done once, whoever gets here first.
async fn finish(
    app: &App,
    row: &OperatorRefundRow,
    refund_id: &str,
) -> Result<RefundState, ServiceError> {
    let now_ms = app.now_ms();
    let number = row.ticket_number;
    let mut tx = app.store.begin().await?;
    if !move_refund(
        &mut tx,
        row,
        OperatorRefundStatus::Succeeded,
        Some(refund_id),
        None,
        now_ms,
    )
    .await?
    {
        // Finished (or moved on) by another pass meanwhile.
        return Ok(RefundState::Pending);
    }
    let (ticket, ride) = ticket_and_ride(&mut tx, number).await?;
    match give_up_ticket(&mut tx, &ticket, &ride, &row.reason, now_ms).await {
        Ok(()) => {}
        // Revoked meanwhile: that reversed the fare already; the money returned stays returned.
        Err(e) if e.code == ErrorCode::TicketNotValid => {
            tracing::warn!(ride = %row.ride_id, "refunded by the operator after the ticket was invalidated");
        }
        Err(e) => return Err(e),
    }
    tell(&mut tx, &ride, number, RefundedTo::PhoneBalance, now_ms).await?;
    tx.commit().await?;
    Ok(RefundState::Refunded)
}

async fn deny(app: &App, row: &OperatorRefundRow, why: &str) -> Result<RefundState, ServiceError> {
    let mut tx = app.store.begin().await?;
    move_refund(
        &mut tx,
        row,
        OperatorRefundStatus::Denied,
        None,
        Some(why),
        app.now_ms(),
    )
    .await?;
    tx.commit().await?;
    Err(ServiceError::new(
        ErrorCode::RefundDenied,
        format!("refund of ride {}: {why}", row.ride_id),
    ))
}

/// One pass over the open operator refunds idle for `idle_ms`: each is asked about again.
/// Returns how many finished (refunded or denied).
pub async fn settle_open(app: &App, idle_ms: i64) -> Result<usize, ServiceError> {
    let rows = {
        let mut conn = app.store.reader().await?;
        store::refunds::open(&mut conn, app.now_ms() - idle_ms, REFUNDS_PER_PASS_MAX).await?
    };
    let mut finished = 0;
    for row in rows {
        match settle_one(app, &row).await {
            Ok(RefundState::Refunded) => finished += 1,
            Ok(RefundState::Pending) => {}
            Err(e) if e.code == ErrorCode::RefundDenied => finished += 1,
            Err(e) => tracing::error!(ride = %row.ride_id, error = %e, "settling a refund failed"),
        }
    }
    Ok(finished)
}
