//! The SMS that a preferential status is about to end (issue 12): a periodic pass finds the
//! cards whose status ends within [`ReminderPolicy::days_before`] days and tells each holder,
//! in their language, once per card and end date. The reminder row
//! (`card_status_reminders`, keyed by card and end date) and the SMS are written in one
//! transaction, and the row is inserted `ON CONFLICT DO NOTHING`: a pass that crashes before
//! committing tells nobody and the next pass tells them; two passes at once (two servers) tell
//! them once; a renewal sets a new end date, which is reminded of again in its turn. After the
//! end the card pays the regular fare ([`crate::cards::payer`]).

use std::time::Duration;

use domain::Language;
use domain::card::CardNumber;

use crate::{App, ServiceError};

/// How many days before its end a status is reminded of, unless configured otherwise.
pub const REMINDER_DAYS_BEFORE_DEFAULT: u32 = 14;
/// The longest lead a configuration may ask for.
pub const REMINDER_DAYS_BEFORE_MAX: u32 = 90;
/// A pass tells at most this many holders; the rest wait for the next pass.
pub const REMINDER_BATCH_MAX: i64 = 500;
/// How often the server's worker makes a pass.
pub const REMINDER_PERIOD_S: u64 = 600;
const DAY_MS: i64 = 86_400_000;

/// When holders are told: data passed in by the binary, not a constant in the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReminderPolicy {
    pub days_before: u32,
}

impl Default for ReminderPolicy {
    fn default() -> ReminderPolicy {
        ReminderPolicy {
            days_before: REMINDER_DAYS_BEFORE_DEFAULT,
        }
    }
}

impl ReminderPolicy {
    /// A lead of 1..=[`REMINDER_DAYS_BEFORE_MAX`] days.
    pub fn new(days_before: u32) -> Result<ReminderPolicy, ServiceError> {
        if (1..=REMINDER_DAYS_BEFORE_MAX).contains(&days_before) {
            Ok(ReminderPolicy { days_before })
        } else {
            Err(ServiceError::new(
                domain::ErrorCode::BadRequest,
                format!("the reminder lead is 1..={REMINDER_DAYS_BEFORE_MAX} days"),
            ))
        }
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReminderReport {
    /// Cards found due.
    pub due: usize,
    /// Holders told in this pass.
    pub told: usize,
}

/// The last day of a status ending at `until_ms`, as the SMS writes it (`DD.MM.YYYY`).
fn last_day(until_ms: i64) -> Result<String, ServiceError> {
    // The calendar an end date is written in: the country's.
    let zone = crate::catalogue::country_time_zone();
    let date = jiff::Timestamp::from_millisecond(until_ms)
        .map_err(|e| ServiceError::internal(format!("end date {until_ms}: {e}")))?
        .to_zoned(zone)
        .date();
    Ok(format!(
        "{:02}.{:02}.{:04}",
        date.day(),
        date.month(),
        date.year()
    ))
}

/// One pass: every holder whose card's status ends within the policy's lead and who was not
/// told of that end date is told now.
pub async fn remind_ending(
    app: &App,
    policy: ReminderPolicy,
) -> Result<ReminderReport, ServiceError> {
    let now_ms = app.now_ms();
    let horizon_ms = now_ms.saturating_add(i64::from(policy.days_before) * DAY_MS);
    let due = {
        let mut conn = app.store.reader().await?;
        store::cards::statuses_ending(&mut conn, now_ms, horizon_ms, REMINDER_BATCH_MAX).await?
    };
    let mut report = ReminderReport {
        due: due.len(),
        told: 0,
    };
    for card in &due {
        let Some(until_ms) = card.category_until_ms else {
            continue;
        };
        let number = CardNumber::parse(&card.number)
            .map_err(|e| ServiceError::internal(format!("card {}: {e}", card.number)))?;
        let mut tx = app.store.begin().await?;
        if !store::cards::record_status_reminder(&mut tx, &card.number, until_ms, now_ms).await? {
            // Told already, by an earlier pass or one running beside this one.
            continue;
        }
        let language = store::passengers::get(&mut tx, &card.holder_phone)
            .await?
            .and_then(|p| Language::from_code(&p.language))
            .unwrap_or_default();
        let text =
            domain::card::status_ending_text(language, number.last_four(), &last_day(until_ms)?);
        store::sms::enqueue(&mut tx, &card.holder_phone, &text, None, now_ms).await?;
        tx.commit().await?;
        report.told += 1;
    }
    Ok(report)
}

/// Runs a pass every `period` until the process ends.
pub async fn run_forever(app: std::sync::Arc<App>, policy: ReminderPolicy, period: Duration) {
    let mut ticker = tokio::time::interval(period);
    loop {
        ticker.tick().await;
        match remind_ending(&app, policy).await {
            Ok(report) if report.told > 0 => tracing::info!(?report, "status reminders sent"),
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "status reminder pass failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_day_is_written_in_kazakhstan() {
        // 2027-06-30 23:59:59.999 at UTC+5 is 18:59:59.999 UTC.
        let until = jiff::Timestamp::from_second(1_814_381_999).map(|t| t.as_millisecond());
        assert_eq!(
            last_day(until.unwrap_or(0) + 999).ok().as_deref(),
            Some("30.06.2027")
        );
    }

    #[test]
    fn the_lead_is_bounded() {
        assert!(ReminderPolicy::new(0).is_err());
        assert!(ReminderPolicy::new(REMINDER_DAYS_BEFORE_MAX + 1).is_err());
        assert_eq!(
            ReminderPolicy::new(14).ok(),
            Some(ReminderPolicy::default())
        );
    }
}
