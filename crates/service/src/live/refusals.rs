//! What a push did and why positions were refused: the push's answer and the counters
//! `/metrics` shows (positions by reason, connections over a cap by listener).

use std::sync::atomic::{AtomicU64, Ordering};

use ::live::state::ApplyStats;

/// Positions not applied, by why.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Refusals {
    /// A catalogue bus the feed token is not registered for.
    pub not_registered: u64,
    /// A jump or a speed no bus makes.
    pub implausible: u64,
    /// Dated too far ahead of our clock.
    pub future: u64,
    /// Coordinates off the Earth, a speed that is not a number, a trip or route id that is
    /// not a GTFS id.
    pub invalid: u64,
    /// Not newer than the vehicle's last position.
    pub out_of_order: u64,
    /// A GTFS-RT entity without a position or a time.
    pub without_position: u64,
}

impl Refusals {
    pub fn total(&self) -> u64 {
        self.not_registered
            + self.implausible
            + self.future
            + self.invalid
            + self.out_of_order
            + self.without_position
    }

    pub(super) fn of(stats: &ApplyStats) -> Refusals {
        Refusals {
            implausible: stats.implausible,
            future: stats.future,
            invalid: stats.invalid,
            out_of_order: stats.out_of_order,
            ..Refusals::default()
        }
    }
}

/// What one push did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PushSummary {
    pub received: u64,
    pub applied: u64,
    /// Every position not applied ([`Refusals::total`]).
    pub rejected: u64,
    pub refused: Refusals,
    pub runs_ended: u64,
    pub tickets_ended: u64,
}

/// Counters for `/metrics`: positions refused by why, connections refused by listener.
#[derive(Debug, Default)]
pub struct LiveCounters {
    pub refused_not_registered: AtomicU64,
    pub refused_implausible: AtomicU64,
    pub refused_future: AtomicU64,
    pub refused_invalid: AtomicU64,
    pub refused_out_of_order: AtomicU64,
    pub wialon_connections_refused: AtomicU64,
    pub streams_refused: AtomicU64,
}

impl LiveCounters {
    pub(super) fn count(&self, refused: &Refusals) {
        let add = |counter: &AtomicU64, by: u64| counter.fetch_add(by, Ordering::Relaxed);
        add(&self.refused_not_registered, refused.not_registered);
        add(&self.refused_implausible, refused.implausible);
        add(&self.refused_future, refused.future);
        add(
            &self.refused_invalid,
            refused.invalid + refused.without_position,
        );
        add(&self.refused_out_of_order, refused.out_of_order);
    }

    /// (name, help, value) of every counter.
    pub fn snapshot(&self) -> Vec<(&'static str, &'static str, u64)> {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        vec![
            (
                "smsbus_live_positions_refused_not_registered_total",
                "Positions of a catalogue bus the feed token is not registered for.",
                get(&self.refused_not_registered),
            ),
            (
                "smsbus_live_positions_refused_implausible_total",
                "Positions needing a jump or a speed no bus makes.",
                get(&self.refused_implausible),
            ),
            (
                "smsbus_live_positions_refused_future_total",
                "Positions dated beyond the allowed clock skew ahead.",
                get(&self.refused_future),
            ),
            (
                "smsbus_live_positions_refused_invalid_total",
                "Positions with invalid coordinates, speed or no position.",
                get(&self.refused_invalid),
            ),
            (
                "smsbus_live_positions_refused_out_of_order_total",
                "Positions not newer than the vehicle's last one.",
                get(&self.refused_out_of_order),
            ),
            (
                "smsbus_live_wialon_connections_refused_total",
                "Tracker connections closed at once: too many open overall or from one address.",
                get(&self.wialon_connections_refused),
            ),
            (
                "smsbus_live_streams_refused_total",
                "Live streams refused: too many open overall or from one address.",
                get(&self.streams_refused),
            ),
        ]
    }
}
