//! Counters of what the use cases did, rendered by the HTTP layer for Prometheus.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub rides_issued: AtomicU64,
    pub rides_refused: AtomicU64,
    pub rides_pending: AtomicU64,
    pub rides_recovered: AtomicU64,
    pub duplicate_requests: AtomicU64,
    pub sms_received: AtomicU64,
    pub sms_duplicates: AtomicU64,
    pub inspections: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// (name, help, value) of every counter.
    pub fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            (
                "smsbus_rides_issued_total",
                "Rides paid and ticketed.",
                get(&self.rides_issued),
            ),
            (
                "smsbus_rides_refused_total",
                "Rides refused (nothing charged).",
                get(&self.rides_refused),
            ),
            (
                "smsbus_rides_pending_total",
                "Rides answered as pending (outcome settled later).",
                get(&self.rides_pending),
            ),
            (
                "smsbus_rides_recovered_total",
                "Rides settled by the recovery worker.",
                get(&self.rides_recovered),
            ),
            (
                "smsbus_duplicate_requests_total",
                "Retries answered from an earlier request.",
                get(&self.duplicate_requests),
            ),
            (
                "smsbus_sms_received_total",
                "SMS received on the short number.",
                get(&self.sms_received),
            ),
            (
                "smsbus_sms_duplicates_total",
                "SMS delivered twice by the SMSC.",
                get(&self.sms_duplicates),
            ),
            (
                "smsbus_inspections_total",
                "Tickets checked by controllers.",
                get(&self.inspections),
            ),
        ]
    }
}
