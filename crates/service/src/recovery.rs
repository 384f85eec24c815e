//! Settles rides left in doubt — by a crash between steps, a timeout or a lost reply — at
//! start-up and periodically, until both sides agree. This loop knows no payment source: each
//! ride is settled by its own ([`crate::payment::PaymentSource::settle`], against the source's
//! record, which is the truth), and an SMS passenger told "pending" is told the outcome.

use std::time::Duration;

use domain::ride::RideStatus;
use domain::{ErrorCode, Language};
use store::rides::RideRow;

use crate::metrics::Metrics;
use crate::payment::source_of;
use crate::rides::{RideOutcome, status_of};
use crate::{App, ServiceError};

/// A ride nobody has touched for this long is in doubt.
pub const RECOVERY_IDLE_MS: i64 = 15_000;
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
        let status = status_of(&row);
        let outcome = match &status {
            Ok(status) => source_of(&row.ride).settle(app, &row, *status).await,
            Err(error) => Err(ServiceError::internal(error.detail.clone())),
        };
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
    // Refunds asked of an operator that did not answer (or answered `processing`).
    if let Err(error) = crate::refunds::settle_open(app, idle_ms).await {
        tracing::error!(%error, "settling open refunds failed");
    }
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
        match crate::top_ups::settle_open(&app, crate::top_ups::TOP_UP_SETTLE_AFTER_MS).await {
            Ok(report) if report.examined > 0 => tracing::info!(?report, "top-up recovery pass"),
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "top-up recovery pass failed"),
        }
    }
}

/// Counts an attempt and leaves the ride for a later pass (`Ok(None)`).
pub(crate) async fn later(app: &App, row: &RideRow) -> Result<Option<RideOutcome>, ServiceError> {
    let mut tx = app.store.begin().await?;
    store::rides::touch(&mut tx, &row.ride.id, app.now_ms()).await?;
    tx.commit().await?;
    Ok(None)
}

/// What an outcome tells a passenger: `issued`, `failed`, or nothing final.
fn told_status(outcome: &Result<Option<RideOutcome>, ServiceError>) -> Option<&'static str> {
    let told = match outcome {
        Ok(Some(RideOutcome::Issued(_))) => RideStatus::Issued,
        Err(e) if e.code != ErrorCode::Internal => RideStatus::Failed,
        _ => return None,
    };
    Some(told.as_str())
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
    if row.ride.channel != crate::rides::Channel::Sms.as_str() {
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
