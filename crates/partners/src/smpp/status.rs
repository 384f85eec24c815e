//! The live state of one bind, as its supervisor and session see it: bound, connecting or
//! down (since when, and the last reason a connection ended), and counters of what went over
//! it — parts submitted and refused, messages and receipts delivered. Shared (`Arc`) with the
//! system operator's console; the bind's configuration is described with it, never its
//! password ([`SmscDescription`]).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use domain::OperatorId;

use crate::health::now_ms;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindState {
    /// Connecting and binding (at start, and again after a drop).
    Connecting,
    Bound,
    /// The connection ended; waiting before the next attempt.
    Down,
    /// Unbound on shutdown.
    Stopped,
}

impl BindState {
    pub fn as_str(self) -> &'static str {
        match self {
            BindState::Connecting => "connecting",
            BindState::Bound => "bound",
            BindState::Down => "down",
            BindState::Stopped => "stopped",
        }
    }
}

#[derive(Debug)]
struct State {
    state: BindState,
    since_ms: i64,
    last_error: Option<(i64, String)>,
}

/// The state and counters of one bind.
#[derive(Debug)]
pub struct BindStatus {
    state: Mutex<State>,
    submits: AtomicU64,
    submit_failures: AtomicU64,
    deliveries: AtomicU64,
    receipts: AtomicU64,
}

impl Default for BindStatus {
    fn default() -> BindStatus {
        BindStatus {
            state: Mutex::new(State {
                state: BindState::Connecting,
                since_ms: now_ms(),
                last_error: None,
            }),
            submits: AtomicU64::new(0),
            submit_failures: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
            receipts: AtomicU64::new(0),
        }
    }
}

/// A bind's state and counters at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindSnapshot {
    pub state: BindState,
    pub since_ms: i64,
    pub last_error: Option<(i64, String)>,
    /// Parts the SMSC took (`submit_sm_resp` OK).
    pub submits: u64,
    /// Parts it refused or left unanswered.
    pub submit_failures: u64,
    /// Passengers' messages (or parts) it delivered.
    pub deliveries: u64,
    /// Delivery receipts of our replies.
    pub receipts: u64,
}

impl BindStatus {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        match self.state.lock() {
            Ok(mut state) => f(&mut state),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    pub(crate) fn enter(&self, state: BindState) {
        self.with(|s| {
            if s.state != state {
                s.state = state;
                s.since_ms = now_ms();
            }
        });
    }

    /// The connection ended (or never came up) for `why`.
    pub(crate) fn down(&self, why: &str) {
        self.with(|s| {
            s.state = BindState::Down;
            s.since_ms = now_ms();
            s.last_error = Some((s.since_ms, why.to_owned()));
        });
    }

    pub(crate) fn submitted(&self, accepted: bool) {
        let counter = if accepted {
            &self.submits
        } else {
            &self.submit_failures
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn delivered(&self, receipt: bool) {
        let counter = if receipt {
            &self.receipts
        } else {
            &self.deliveries
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> BindSnapshot {
        let (state, since_ms, last_error) =
            self.with(|s| (s.state, s.since_ms, s.last_error.clone()));
        BindSnapshot {
            state,
            since_ms,
            last_error,
            submits: self.submits.load(Ordering::Relaxed),
            submit_failures: self.submit_failures.load(Ordering::Relaxed),
            deliveries: self.deliveries.load(Ordering::Relaxed),
            receipts: self.receipts.load(Ordering::Relaxed),
        }
    }
}

/// One bind as configured — never its password — with its live status.
#[derive(Clone, Debug)]
pub struct SmscDescription {
    pub operator: OperatorId,
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub system_id: String,
    pub system_type: String,
    pub window: usize,
    pub throughput_per_s: u32,
    pub status: Arc<BindStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_keeps_its_reason_until_the_next_one() {
        let status = BindStatus::default();
        assert_eq!(status.snapshot().state, BindState::Connecting);
        status.enter(BindState::Bound);
        status.submitted(true);
        status.submitted(false);
        status.delivered(true);
        status.down("the SMSC closed the connection");
        status.enter(BindState::Connecting);
        let seen = status.snapshot();
        assert_eq!(seen.state, BindState::Connecting);
        assert_eq!(
            seen.last_error.map(|e| e.1).as_deref(),
            Some("the SMSC closed the connection")
        );
        assert_eq!(
            (
                seen.submits,
                seen.submit_failures,
                seen.receipts,
                seen.deliveries
            ),
            (1, 1, 1, 0)
        );
    }
}
