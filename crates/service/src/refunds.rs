//! Refunds of card rides: staff give a card ride's fare back to its card. The ticket becomes
//! `refunded` (controllers refuse it, as a revoked one) by compare-and-set, and the ride's
//! posted transfer is reversed in the same transaction — the card is credited, the carrier no
//! longer owed — so a refund asked twice refunds once. A phone-balance ride is refunded
//! through its operator, which is not built yet: it is refused here.

use domain::ErrorCode;
use domain::ledger::{RidePhase, TransferId};
use domain::ride::RideId;
use domain::ticket::TicketStatus;

use crate::staff::Actor;
use crate::{App, ServiceError};

/// A ride refunded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refunded {
    pub number: i64,
    pub check_number: String,
    pub card: String,
    pub amount: domain::Tenge,
}

/// Refunds the card ride of the ticket with this check number, for `actor` (one audit entry).
pub async fn refund_card_ride(
    app: &App,
    actor: &Actor,
    check_number: &str,
    reason: &str,
) -> Result<Refunded, ServiceError> {
    let (number, value, reason) = crate::revocations::staff_request(check_number, reason)?;
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let Some(ticket) = store::tickets::by_number(&mut tx, value).await? else {
        return Err(ServiceError::new(
            ErrorCode::NotFound,
            format!("ticket {number}"),
        ));
    };
    let Some(ride) = store::rides::by_id(&mut tx, &ticket.ride_id).await? else {
        return Err(ServiceError::internal(format!(
            "ticket {number} without its ride"
        )));
    };
    // An office clerk refunds the rides of its cities only.
    actor.require_city(&ride.ride.city_id)?;
    let Some(card) = ride.ride.card_number.clone() else {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            "not a card ride: a phone-balance ride is refunded through its operator",
        ));
    };
    let status = TicketStatus::parse(&ticket.status)
        .map_err(|e| ServiceError::internal(format!("ticket {number}: {e}")))?;
    let refunded = TicketStatus::Refunded;
    if !status.may_become(refunded)
        || !store::tickets::invalidate(&mut tx, value, refunded.as_str(), reason, now_ms).await?
    {
        return Err(ServiceError::new(
            ErrorCode::TicketNotValid,
            format!("ticket {number}"),
        ));
    }
    let ride_id =
        RideId::parse(&ticket.ride_id).map_err(|e| ServiceError::internal(e.to_string()))?;
    let post = TransferId::of_ride(&ride_id, RidePhase::Post);
    let reversal = TransferId::of_ride(&ride_id, RidePhase::Reversal);
    if !crate::ledger::reverse(&mut tx, &post, reversal, Some(ride_id), now_ms).await? {
        return Err(ServiceError::internal(format!(
            "ticket {number} has no posted fare to reverse"
        )));
    }
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "ticket.refund",
            object: &format!("ticket:{value}"),
            before: status.as_str(),
            after: &format!("{} to card {card} ({reason})", refunded.as_str()),
        },
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(Refunded {
        number: value,
        check_number: number.check_form(),
        card,
        amount: domain::Tenge::from_tiyn(ride.ride.amount_tiyn),
    })
}
