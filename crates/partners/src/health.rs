//! How a partner link has been doing, counted by its client as calls go: how many calls,
//! how many failed, when the last one succeeded and when the last one failed and why (a
//! stable word: [`FailureKind`]), and how long the calls took (counted in buckets,
//! [`CALL_TIME_BUCKETS_MS`], so a reader can tell a slow partner from a slow server). The system operator's console reads it through
//! [`CallHealth::snapshot`]; nothing here decides anything. Times are the wall clock's, in
//! milliseconds since the epoch, as a person reads them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// The upper bounds of the buckets a call's time is counted in, in ms; a last bucket counts
/// the slower ones.
pub const CALL_TIME_BUCKETS_MS: [u64; 12] =
    [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000];
/// The buckets, with the last one for calls slower than every bound.
pub const CALL_TIME_BUCKETS: usize = CALL_TIME_BUCKETS_MS.len() + 1;

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
    /// Calls by how long they took ([`CALL_TIME_BUCKETS_MS`]).
    took: [AtomicU64; CALL_TIME_BUCKETS],
}

/// The counters as read at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthSnapshot {
    pub calls: u64,
    pub failures: u64,
    pub last_success_ms: Option<i64>,
    pub last_failure: Option<(i64, FailureKind)>,
    /// Calls by how long they took: `took[i]` took at most `CALL_TIME_BUCKETS_MS[i]` (and more
    /// than the bound before); the last one, longer than every bound.
    pub took: [u64; CALL_TIME_BUCKETS],
}

/// The bucket bound under which a share `q` (0 to 1) of the calls counted in `took` finished:
/// an upper bound of that quantile, in ms; `None` when no call is counted, or when they fall
/// in the last bucket (slower than every bound).
pub fn quantile_bound_ms(took: &[u64; CALL_TIME_BUCKETS], q: f64) -> Option<u64> {
    let total: u64 = took.iter().sum();
    if total == 0 {
        return None;
    }
    // The rank of the call at the quantile, 1-based, rounded up.
    let rank = ((total as f64) * q.clamp(0.0, 1.0)).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (count, bound) in took.iter().zip(CALL_TIME_BUCKETS_MS) {
        seen += count;
        if seen >= rank {
            return Some(bound);
        }
    }
    None
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
    /// Counts how long a call took (whatever its outcome).
    pub fn took(&self, took: Duration) {
        let ms = took.as_millis();
        let bucket = CALL_TIME_BUCKETS_MS
            .iter()
            .position(|bound| ms <= u128::from(*bound))
            .unwrap_or(CALL_TIME_BUCKETS_MS.len());
        if let Some(counter) = self.took.get(bucket) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

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
            took: std::array::from_fn(|i| {
                self.took.get(i).map_or(0, |c| c.load(Ordering::Relaxed))
            }),
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

    #[test]
    fn call_times_fall_in_their_buckets_and_give_quantile_bounds() {
        let health = CallHealth::default();
        assert_eq!(quantile_bound_ms(&health.snapshot().took, 0.99), None);
        for ms in [0, 1, 3, 3, 7, 40, 40, 40, 40, 90] {
            health.took(Duration::from_millis(ms));
        }
        let took = health.snapshot().took;
        assert_eq!(took[..7], [2, 0, 2, 1, 0, 4, 1]);
        assert_eq!(took.iter().sum::<u64>(), 10);
        assert_eq!(
            quantile_bound_ms(&took, 0.5),
            Some(10),
            "the 5th of 10 took 7 ms"
        );
        assert_eq!(quantile_bound_ms(&took, 0.2), Some(1));
        assert_eq!(quantile_bound_ms(&took, 0.99), Some(100));
        health.took(Duration::from_secs(60));
        assert_eq!(health.snapshot().took[CALL_TIME_BUCKETS - 1], 1);
        assert_eq!(
            quantile_bound_ms(&health.snapshot().took, 1.0),
            None,
            "beyond every bound"
        );
    }
}
