//! How a partner link has been doing, counted by its client as calls go: how many calls,
//! how many failed, when the last one succeeded and when the last one failed and why (a
//! stable word: [`FailureKind`]). The system operator's console reads it through
//! [`CallHealth::snapshot`]; nothing here decides anything. Times are the wall clock's, in
//! milliseconds since the epoch, as a person reads them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Why a call failed, for people: what to look at first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// No connection could be made (refused, no route, DNS).
    Unreachable,
    /// Sent, but no whole answer came in time (or the connection broke meanwhile).
    NoAnswer,
    /// Our credentials were refused, or no token could be had.
    Auth,
    /// The partner answered 5xx.
    ServerError,
    /// The partner asked us to slow down (429, an SMSC's throttling or full queue).
    Throttled,
    /// An answer we could not read, or a refusal of a request we should not have sent.
    Protocol,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Unreachable => "unreachable",
            FailureKind::NoAnswer => "no_answer",
            FailureKind::Auth => "auth",
            FailureKind::ServerError => "server_error",
            FailureKind::Throttled => "throttled",
            FailureKind::Protocol => "protocol",
        }
    }

    /// The kind an HTTP status stands for, `None` for an answer the partner gave as meant.
    pub fn of_status(status: u16) -> Option<FailureKind> {
        match status {
            401 => Some(FailureKind::Auth),
            429 => Some(FailureKind::Throttled),
            500..=599 => Some(FailureKind::ServerError),
            _ => None,
        }
    }
}

/// The counters of one link; shared (`Arc`) by the client that counts and the console.
#[derive(Debug, Default)]
pub struct CallHealth {
    calls: AtomicU64,
    failures: AtomicU64,
    /// 0: never.
    last_success_ms: AtomicI64,
    last_failure: Mutex<Option<(i64, FailureKind)>>,
}

/// The counters as read at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthSnapshot {
    pub calls: u64,
    pub failures: u64,
    pub last_success_ms: Option<i64>,
    pub last_failure: Option<(i64, FailureKind)>,
}

impl HealthSnapshot {
    /// The last call failed (or none succeeded after a failure).
    pub fn failing(&self) -> bool {
        match (self.last_success_ms, self.last_failure) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(ok), Some((failed, _))) => failed >= ok,
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl CallHealth {
    pub fn succeeded(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.last_success_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub fn failed(&self, kind: FailureKind) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.failures.fetch_add(1, Ordering::Relaxed);
        let at = Some((now_ms(), kind));
        match self.last_failure.lock() {
            Ok(mut last) => *last = at,
            Err(poisoned) => *poisoned.into_inner() = at,
        }
    }

    pub fn snapshot(&self) -> HealthSnapshot {
        let last_failure = match self.last_failure.lock() {
            Ok(last) => *last,
            Err(poisoned) => *poisoned.into_inner(),
        };
        let last_success_ms = self.last_success_ms.load(Ordering::Relaxed);
        HealthSnapshot {
            calls: self.calls.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            last_success_ms: (last_success_ms != 0).then_some(last_success_ms),
            last_failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_and_remembers_the_last_failure() {
        let health = CallHealth::default();
        assert_eq!(health.snapshot().calls, 0);
        assert!(!health.snapshot().failing());
        health.succeeded();
        health.failed(FailureKind::ServerError);
        let seen = health.snapshot();
        assert_eq!((seen.calls, seen.failures), (2, 1));
        assert_eq!(
            seen.last_failure.map(|f| f.1),
            Some(FailureKind::ServerError)
        );
        assert!(seen.failing());
        assert_eq!(FailureKind::of_status(503), Some(FailureKind::ServerError));
        assert_eq!(FailureKind::of_status(403), None);
    }
}
