//! Each operator's daily settlement report: the CSV of the payments it captured from its
//! subscribers' balances on one day (Kazakhstan's, UTC+5), that its finance department sends
//! the merchant for reconciliation — `payment_id;client_correlator;phone;date;amount;status`,
//! with a closing `total;<count>;<sum>` line. Served as `GET /_admin/settlement/{operator}/{day}`
//! and by [`super::SimulatorHandle::settlement_csv`].

use domain::{OperatorId, Tenge};

use super::PaymentStatus;
use super::state::PaymentView;

/// The day (`YYYY-MM-DD`, UTC+5) of a time in Unix seconds.
fn day_of(unix_s: i64) -> String {
    let zone = jiff::tz::Offset::from_seconds(5 * 3600)
        .map_or(jiff::tz::TimeZone::UTC, jiff::tz::TimeZone::fixed);
    jiff::Timestamp::from_second(unix_s)
        .map(|t| t.to_zoned(zone).date().to_string())
        .unwrap_or_default()
}

/// The report of `operator`'s captures on `day`, in the order they were captured.
pub fn settlement_csv(payments: &[PaymentView], operator: &OperatorId, day: &str) -> String {
    let mut captured: Vec<&PaymentView> = payments
        .iter()
        .filter(|p| &p.operator == operator && p.status == PaymentStatus::Succeeded)
        .filter(|p| p.paid_unix_s.map(day_of).as_deref() == Some(day))
        .collect();
    captured.sort_by_key(|p| (p.paid_unix_s, p.id.clone()));
    let mut csv = String::from("payment_id;client_correlator;phone;date;amount;status\n");
    let mut total = Tenge::ZERO;
    for p in &captured {
        csv.push_str(&format!(
            "{};{};{};{day};{};succeeded\n",
            p.id,
            p.client_correlator.as_deref().unwrap_or_default(),
            p.phone.as_e164(),
            p.amount.to_decimal()
        ));
        total = total.checked_add(p.amount).unwrap_or(total);
    }
    csv.push_str(&format!(
        "total;{};{}\n",
        captured.len(),
        total.to_decimal()
    ));
    csv
}
