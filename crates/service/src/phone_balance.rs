//! The phone balance as a [`PaymentSource`]: the fare is charged to the passenger's mobile
//! balance through their operator (CAMARA SIM Swap, then Carrier Billing's two-phase payment:
//! `prepare` reserves, `confirm` captures, `cancel` releases). The ride id is the operator's
//! `clientCorrelator`, so a payment whose reply was lost is found again.
//!
//! Paying a ride just inserted (`reserving`): SIM swap check (`maxAge` 24 h), `prepare`, then
//! `confirm`. Nothing is written before the confirm: a crash leaves the ride `reserving`, and
//! recovery finds the payment by its correlator and finishes it the same way. Only an unknown
//! outcome is written down (`confirming` with the payment id), because then the decision to
//! capture has been sent and must be seen through. A refused confirm must be released: until
//! the operator has said so the ride waits in `cancelling`.
//!
//! Settling a ride in doubt: the operator's record is the truth. A payment it captured becomes a
//! ticket, one it never made or cancelled is voided, and one still only reserved is confirmed
//! while the ride is young or cancelled when it is old.

use domain::ledger::Account;
use domain::ride::RideStatus;
use domain::ticket::Holder;
use domain::{ErrorCode, OperatorId, PhoneNumber};
use partners::operator::{
    BoxFuture, DenialReason, OperatorError, OperatorPaymentId, Payment, PaymentRequest,
    PaymentStatus,
};
use store::rides::{NewRide, RideRow, Transition};

use crate::payment::{Payer, PaymentSource, SourceFacts};
use crate::recovery::later;
use crate::rides::{RideOutcome, fail, hold_for_release, issue, move_ride};
use crate::{App, ServiceError};

/// A SIM card replaced within this many hours may not pay (anti-fraud rule of the operators).
pub const SIM_SWAP_MAX_AGE_HOURS: u32 = 24;
/// A `reserving` ride younger than this may still have its prepare in flight at the operator.
pub const PREPARE_SETTLE_MS: i64 = 60_000;
/// A payment only reserved is completed while the ride is younger than this, cancelled after.
pub const COMPLETE_WINDOW_MS: i64 = 10 * 60_000;

/// The passenger's mobile balance, through their operator.
pub(crate) struct PhoneBalance;

impl PaymentSource for PhoneBalance {
    fn plan(&self, app: &App, payer: &Payer) -> Result<SourceFacts, ServiceError> {
        let Payer::PhoneBalance(phone) = payer else {
            return Err(ServiceError::internal("not a phone-balance payer"));
        };
        let catalogue = app.catalogue();
        let operator = catalogue
            .prefixes
            .operator_of(phone)
            .ok_or(ErrorCode::OperatorNotServed)?;
        Ok(SourceFacts {
            operator: operator.as_str().into(),
        })
    }

    fn account(&self, ride: &NewRide) -> Result<Account, ServiceError> {
        Ok(Account::OperatorReceivable(operator_of(ride)?))
    }

    /// The number that paid.
    fn holder(&self, ride: &NewRide) -> Result<Holder, ServiceError> {
        PhoneNumber::parse(&ride.phone)
            .map(Holder::Phone)
            .map_err(|e| ServiceError::internal(format!("ride {}: phone: {e}", ride.id)))
    }

    fn pay<'a>(
        &'a self,
        app: &'a App,
        ride: &'a NewRide,
    ) -> BoxFuture<'a, Result<RideOutcome, ServiceError>> {
        Box::pin(pay(app, ride))
    }

    fn settle<'a>(
        &'a self,
        app: &'a App,
        row: &'a RideRow,
        status: RideStatus,
    ) -> BoxFuture<'a, Result<Option<RideOutcome>, ServiceError>> {
        Box::pin(settle(app, row, status))
    }
}

fn operator_of(ride: &NewRide) -> Result<OperatorId, ServiceError> {
    OperatorId::parse(&ride.operator).map_err(|e| ServiceError::internal(e.to_string()))
}

fn pending(ride: &NewRide) -> Result<RideOutcome, ServiceError> {
    Ok(RideOutcome::Pending {
        ride_id: ride.id.clone(),
    })
}

const FROM_START: RideStatus = RideStatus::Reserving;

/// The ride's charge as the operator sees it; its clientCorrelator is the ride id, so asking
/// again never charges twice.
fn payment_request(app: &App, ride: &NewRide, phone: PhoneNumber) -> PaymentRequest {
    PaymentRequest {
        client_correlator: ride.id.as_str().to_owned(),
        phone,
        amount: domain::Tenge::from_tiyn(ride.amount_tiyn),
        description: format!("Bus ride {} {}", ride.route_id, ride.transport_code),
        merchant_id: app.settings.merchant_id.clone(),
    }
}

/// SIM swap, prepare, and on from what the operator says of the payment.
async fn pay(app: &App, ride: &NewRide) -> Result<RideOutcome, ServiceError> {
    let operator = operator_of(ride)?;
    let phone =
        PhoneNumber::parse(&ride.phone).map_err(|e| ServiceError::internal(e.to_string()))?;
    match app
        .sim_swap
        .swapped_within(&operator, &phone, SIM_SWAP_MAX_AGE_HOURS)
        .await
    {
        Ok(false) => {}
        Ok(true) => return fail(app, ride, FROM_START, ErrorCode::PaymentSimSwapped).await,
        Err(OperatorError::Denied(reason)) => {
            return fail(app, ride, FROM_START, denial_code(&reason)).await;
        }
        Err(error) => {
            tracing::warn!(ride = %ride.id, %error, "SIM swap check failed; nothing was reserved");
            return fail(app, ride, FROM_START, ErrorCode::OperatorUnavailable).await;
        }
    }
    let request = payment_request(app, ride, phone);
    let payment = match app.billing.prepare(&operator, &request).await {
        Ok(payment) => payment,
        Err(OperatorError::OutcomeUnknown(why)) => {
            tracing::warn!(ride = %ride.id, %why, "prepare outcome unknown; looking the payment up");
            match app
                .billing
                .find_by_correlator(&operator, ride.id.as_str(), ride.created_at_ms / 1000)
                .await
            {
                Ok(Some(payment)) => payment,
                Ok(None) | Err(_) => return pending(ride),
            }
        }
        Err(error) => return fail(app, ride, FROM_START, refusal_code(&error)).await,
    };
    continue_with_payment(app, ride, FROM_START, &operator, payment).await
}

/// Moves a ride on from what the operator says of its payment. Used by the request path and by
/// recovery alike, so both settle a payment the same way.
async fn continue_with_payment(
    app: &App,
    ride: &NewRide,
    status: RideStatus,
    operator: &OperatorId,
    payment: Payment,
) -> Result<RideOutcome, ServiceError> {
    match payment.status {
        PaymentStatus::Reserved => confirm(app, ride, status, operator, &payment.id).await,
        PaymentStatus::Succeeded => issue(app, ride, status, payment.id.as_str()).await,
        PaymentStatus::Denied | PaymentStatus::Cancelled => {
            fail(app, ride, status, ErrorCode::PaymentDenied).await
        }
        PaymentStatus::Processing | PaymentStatus::PendingValidation => {
            if status == RideStatus::Reserving {
                let change = Transition {
                    operator_payment_id: Some(payment.id.as_str()),
                    failure_code: None,
                };
                move_ride(app, ride, status, RideStatus::Reserved, change).await?;
            }
            pending(ride)
        }
    }
}

/// Confirms a reservation (see the module doc for what is written when).
async fn confirm(
    app: &App,
    ride: &NewRide,
    from: RideStatus,
    operator: &OperatorId,
    id: &OperatorPaymentId,
) -> Result<RideOutcome, ServiceError> {
    let confirmed = match app.billing.confirm(operator, id).await {
        Ok(payment) => Ok(payment),
        Err(OperatorError::OutcomeUnknown(why)) => {
            tracing::warn!(ride = %ride.id, %why, "confirm outcome unknown; asking the operator");
            match app.billing.get(operator, id).await {
                // A refused read says nothing of the confirm: it may have captured.
                Err(OperatorError::Denied(reason)) => Err(OperatorError::Unavailable(format!(
                    "reading the payment was refused: {reason:?}"
                ))),
                other => other,
            }
        }
        Err(error) => Err(error),
    };
    match confirmed {
        Ok(payment) if payment.status == PaymentStatus::Succeeded => {
            issue(app, ride, from, id.as_str()).await
        }
        Ok(payment)
            if matches!(
                payment.status,
                PaymentStatus::Denied | PaymentStatus::Cancelled
            ) =>
        {
            fail(app, ride, from, ErrorCode::PaymentDenied).await
        }
        Err(OperatorError::Denied(reason)) => {
            let code = denial_code(&reason);
            // The reservation must be released; until the operator has said so, the ride
            // waits in `cancelling` and recovery asks again.
            match app.billing.cancel(operator, id).await {
                // Captured after all (the refusal was not the operator's last word): its
                // record wins and the passenger gets the ticket they paid for.
                Ok(payment) if payment.status == PaymentStatus::Succeeded => {
                    issue(app, ride, from, id.as_str()).await
                }
                Ok(_) | Err(OperatorError::NotFound) => fail(app, ride, from, code).await,
                Err(error) => {
                    tracing::warn!(ride = %ride.id, %error, "cancel after a refused confirm failed; recovery will retry");
                    hold_for_release(app, ride, from, id.as_str(), code).await
                }
            }
        }
        outcome => {
            if let Err(error) = &outcome {
                tracing::warn!(ride = %ride.id, %error, "confirm not settled; recovery will finish it");
            }
            if from != RideStatus::Confirming {
                let change = Transition {
                    operator_payment_id: Some(id.as_str()),
                    failure_code: None,
                };
                move_ride(app, ride, from, RideStatus::Confirming, change).await?;
            }
            pending(ride)
        }
    }
}

/// Recovery of one ride; `Ok(None)`: left for a later pass.
async fn settle(
    app: &App,
    row: &RideRow,
    status: RideStatus,
) -> Result<Option<RideOutcome>, ServiceError> {
    let ride = &row.ride;
    let operator = operator_of(ride)?;
    if status == RideStatus::Cancelling {
        return release_refused(app, row, &operator).await;
    }
    let age_ms = app.now_ms() - ride.created_at_ms;
    let payment = match (&row.operator_payment_id, status) {
        (None, RideStatus::Reserving) => match app
            .billing
            .find_by_correlator(&operator, ride.id.as_str(), ride.created_at_ms / 1000)
            .await
        {
            Ok(Some(payment)) => payment,
            Ok(None) if age_ms >= PREPARE_SETTLE_MS => {
                return fail(app, ride, status, ErrorCode::OperatorUnavailable)
                    .await
                    .map(Some);
            }
            // Too many payments around it to search them all (a busy operator): ask again with
            // the same clientCorrelator, which the operator answers with the payment it made —
            // never a second charge — or makes now; a stale one is then released below.
            Err(OperatorError::Unavailable(_)) if age_ms >= PREPARE_SETTLE_MS => {
                let phone = PhoneNumber::parse(&ride.phone)
                    .map_err(|e| ServiceError::internal(e.to_string()))?;
                match app
                    .billing
                    .prepare(&operator, &payment_request(app, ride, phone))
                    .await
                {
                    Ok(payment) => payment,
                    Err(OperatorError::Denied(reason)) => {
                        return fail(app, ride, status, denial_code(&reason))
                            .await
                            .map(Some);
                    }
                    Err(_) => return later(app, row).await,
                }
            }
            Ok(None) | Err(_) => return later(app, row).await,
        },
        (Some(id), _) => match app
            .billing
            .get(&operator, &OperatorPaymentId::new(id.clone()))
            .await
        {
            Ok(payment) => payment,
            Err(OperatorError::NotFound) => {
                return fail(app, ride, status, ErrorCode::OperatorUnavailable)
                    .await
                    .map(Some);
            }
            Err(_) => return later(app, row).await,
        },
        (None, _) => {
            return Err(ServiceError::internal(format!(
                "ride {} is {status} without a payment id",
                ride.id
            )));
        }
    };
    let too_old = age_ms >= COMPLETE_WINDOW_MS && status != RideStatus::Confirming;
    if payment.status == PaymentStatus::Reserved && too_old {
        if let Err(error) = app.billing.cancel(&operator, &payment.id).await {
            tracing::warn!(ride = %ride.id, %error, "cancel of a stale reservation failed");
            return later(app, row).await;
        }
        return fail(app, ride, status, ErrorCode::OperatorUnavailable)
            .await
            .map(Some);
    }
    match continue_with_payment(app, ride, status, &operator, payment).await {
        Ok(RideOutcome::Pending { .. }) => later(app, row).await,
        other => other.map(Some),
    }
}

/// A ride refused at confirm whose reservation the operator has not released yet: ask again
/// until it has. Its passenger was told of the refusal already. Should the operator have
/// captured it after all, its record wins and the ride gets its ticket.
async fn release_refused(
    app: &App,
    row: &RideRow,
    operator: &OperatorId,
) -> Result<Option<RideOutcome>, ServiceError> {
    let ride = &row.ride;
    let from = RideStatus::Cancelling;
    let code = row
        .failure_code
        .as_deref()
        .and_then(ErrorCode::from_code)
        .unwrap_or(ErrorCode::PaymentDenied);
    let Some(id) = row.operator_payment_id.clone().map(OperatorPaymentId::new) else {
        return Err(ServiceError::internal(format!(
            "ride {} is cancelling without a payment id",
            ride.id
        )));
    };
    let released = match app.billing.get(operator, &id).await {
        Ok(payment) => match payment.status {
            PaymentStatus::Cancelled | PaymentStatus::Denied => true,
            PaymentStatus::Succeeded => {
                return issue(app, ride, from, id.as_str()).await.map(Some);
            }
            PaymentStatus::Reserved
            | PaymentStatus::Processing
            | PaymentStatus::PendingValidation => app.billing.cancel(operator, &id).await.is_ok(),
        },
        Err(OperatorError::NotFound) => true,
        Err(_) => false,
    };
    if !released {
        return later(app, row).await;
    }
    fail(app, ride, from, code).await.map(Some)
}

fn refusal_code(error: &OperatorError) -> ErrorCode {
    match error {
        OperatorError::Denied(reason) => denial_code(reason),
        OperatorError::UnknownOperator(_) => ErrorCode::OperatorNotServed,
        _ => ErrorCode::OperatorUnavailable,
    }
}

fn denial_code(reason: &DenialReason) -> ErrorCode {
    match reason {
        DenialReason::CorporateNumber => ErrorCode::PaymentCorporateNumber,
        DenialReason::UnpaidTrustPayment => ErrorCode::PaymentUnpaidTrust,
        DenialReason::NeverToppedUp => ErrorCode::PaymentNeverToppedUp,
        DenialReason::StartingBalanceOnly => ErrorCode::PaymentStartingBalance,
        DenialReason::SimSwappedRecently => ErrorCode::PaymentSimSwapped,
        DenialReason::InsufficientBalance => ErrorCode::PaymentInsufficientBalance,
        DenialReason::NumberUnknown => ErrorCode::PaymentNumberUnknown,
        DenialReason::Other(_) => ErrorCode::PaymentDenied,
    }
}
