//! Settles rides left in doubt — by a crash between steps, a timeout or a lost reply — against
//! the operator, at start-up and periodically, until both sides agree. The operator's record is
//! the truth: a payment it captured becomes a ticket, one it never made or cancelled is voided,
//! and one still only reserved is confirmed while the ride is young or cancelled when it is old.

use std::time::Duration;

use domain::{ErrorCode, Language, OperatorId};
use partners::operator::{OperatorError, OperatorPaymentId, PaymentStatus};
use store::rides::RideRow;

use crate::metrics::Metrics;
use crate::rides::{RideOutcome, continue_with_payment, fail};
use crate::{App, ServiceError};

/// A ride nobody has touched for this long is in doubt.
pub const RECOVERY_IDLE_MS: i64 = 15_000;
/// A `reserving` ride younger than this may still have its prepare in flight at the operator.
pub const PREPARE_SETTLE_MS: i64 = 60_000;
/// A payment only reserved is completed while the ride is younger than this, cancelled after.
pub const COMPLETE_WINDOW_MS: i64 = 10 * 60_000;
/// Rides examined per pass.
pub const RECOVERY_BATCH_MAX: i64 = 200;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    pub examined: usize,
    pub issued: usize,
    pub failed: usize,
    pub still_open: usize,
}

/// One pass over the rides idle for at least `idle_ms` (0 at start-up: every unsettled ride).
pub async fn settle_unsettled(app: &App, idle_ms: i64) -> Result<RecoveryReport, ServiceError> {
    let rows = {
        let mut conn = app.store.reader().await?;
        store::rides::unsettled(&mut conn, app.now_ms() - idle_ms, RECOVERY_BATCH_MAX).await?
    };
    let mut report = RecoveryReport {
        examined: rows.len(),
        ..RecoveryReport::default()
    };
    for row in rows {
        let outcome = settle_one(app, &row).await;
        match &outcome {
            Ok(Some(RideOutcome::Issued(_))) => report.issued += 1,
            Err(e) if e.code != ErrorCode::Internal => report.failed += 1,
            Err(e) => {
                tracing::error!(ride = %row.ride.id, error = %e, "recovery failed");
                report.still_open += 1;
            }
            Ok(_) => report.still_open += 1,
        }
        if let Ok(Some(RideOutcome::Issued(_)))
        | Err(ServiceError {
            code: ErrorCode::PaymentDenied | ErrorCode::OperatorUnavailable,
            ..
        }) = &outcome
        {
            Metrics::add(&app.metrics.rides_recovered);
        }
        // The passenger hears the outcome unless they heard it already (a `cancelling` ride's
        // refusal was told when it was made).
        if let Some(told) = told_status(&outcome)
            && row.told_status.as_deref() != Some(told)
        {
            tell_sms_passenger(app, &row, &outcome, told).await?;
        }
    }
    tell_untold(app, app.now_ms() - RECOVERY_IDLE_MS).await?;
    Ok(report)
}

/// Runs a pass every `period` until the process ends.
pub async fn run_forever(app: std::sync::Arc<App>, period: Duration) {
    let mut ticker = tokio::time::interval(period);
    loop {
        ticker.tick().await;
        match settle_unsettled(&app, RECOVERY_IDLE_MS).await {
            Ok(report) if report.examined > 0 => tracing::info!(?report, "recovery pass"),
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "recovery pass failed"),
        }
    }
}

/// `Ok(None)`: left for a later pass.
async fn settle_one(app: &App, row: &RideRow) -> Result<Option<RideOutcome>, ServiceError> {
    let ride = &row.ride;
    let operator =
        OperatorId::parse(&ride.operator).map_err(|e| ServiceError::internal(e.to_string()))?;
    if row.status == "cancelling" {
        return release_refused(app, row, &operator).await;
    }
    let age_ms = app.now_ms() - ride.created_at_ms;
    let payment = match (&row.operator_payment_id, row.status.as_str()) {
        (None, "reserving") => match app
            .billing
            .find_by_correlator(&operator, &ride.id, ride.created_at_ms / 1000)
            .await
        {
            Ok(Some(payment)) => payment,
            Ok(None) if age_ms >= PREPARE_SETTLE_MS => {
                return fail(app, ride, "reserving", ErrorCode::OperatorUnavailable)
                    .await
                    .map(Some);
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
                return fail(app, ride, &row.status, ErrorCode::OperatorUnavailable)
                    .await
                    .map(Some);
            }
            Err(_) => return later(app, row).await,
        },
        (None, _) => {
            return Err(ServiceError::internal(format!(
                "ride {} is {} without a payment id",
                ride.id, row.status
            )));
        }
    };
    let too_old = age_ms >= COMPLETE_WINDOW_MS && row.status != "confirming";
    if payment.status == PaymentStatus::Reserved && too_old {
        if let Err(error) = app.billing.cancel(&operator, &payment.id).await {
            tracing::warn!(ride = %ride.id, %error, "cancel of a stale reservation failed");
            return later(app, row).await;
        }
        return fail(app, ride, &row.status, ErrorCode::OperatorUnavailable)
            .await
            .map(Some);
    }
    match continue_with_payment(app, ride, &row.status, &operator, payment).await {
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
                return crate::rides::issue(app, ride, "cancelling", &id)
                    .await
                    .map(Some);
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
    fail(app, ride, "cancelling", code).await.map(Some)
}

async fn later(app: &App, row: &RideRow) -> Result<Option<RideOutcome>, ServiceError> {
    let mut tx = app.store.begin().await?;
    store::rides::touch(&mut tx, &row.ride.id, app.now_ms()).await?;
    tx.commit().await?;
    Ok(None)
}

/// What an outcome tells a passenger: `issued`, `failed`, or nothing final.
fn told_status(outcome: &Result<Option<RideOutcome>, ServiceError>) -> Option<&'static str> {
    match outcome {
        Ok(Some(RideOutcome::Issued(_))) => Some("issued"),
        Err(e) if e.code != ErrorCode::Internal => Some("failed"),
        _ => None,
    }
}

/// SMS rides settled whose passengers did not hear so — a process stopped between settling a
/// ride and telling its passenger — are told now, once.
async fn tell_untold(app: &App, idle_since_ms: i64) -> Result<(), ServiceError> {
    let rows = {
        let mut conn = app.store.reader().await?;
        store::rides::untold(&mut conn, idle_since_ms, RECOVERY_BATCH_MAX).await?
    };
    for row in rows {
        let outcome = crate::rides::settled_answer(app, &row.ride.id)
            .await?
            .map(|answer| answer.map(Some))
            .unwrap_or(Ok(None));
        if let Some(told) = told_status(&outcome) {
            tell_sms_passenger(app, &row, &outcome, told).await?;
        }
    }
    Ok(())
}

/// An SMS passenger was told "pending"; now they get the ticket, or why there is none, and
/// the ride records what they were told, in the same transaction.
async fn tell_sms_passenger(
    app: &App,
    row: &RideRow,
    outcome: &Result<Option<RideOutcome>, ServiceError>,
    told: &str,
) -> Result<(), ServiceError> {
    if row.ride.channel != "sms" {
        return Ok(());
    }
    let language = Language::from_code(&row.ride.language).unwrap_or_default();
    let text = match outcome {
        Ok(Some(RideOutcome::Issued(ticket))) => crate::sms::ticket_reply(app, language, ticket),
        Err(e) if e.code != ErrorCode::Internal => e.code.message(language).to_owned(),
        _ => return Ok(()),
    };
    let ride = &row.ride;
    let mut tx = app.store.begin().await?;
    store::sms::enqueue(&mut tx, &ride.phone, &text, Some(&ride.id), app.now_ms()).await?;
    store::rides::mark_told(
        &mut tx,
        &ride.idempotency_scope,
        &ride.idempotency_key,
        told,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
