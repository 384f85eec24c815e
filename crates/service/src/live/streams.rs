//! The live stream's subscribers: the stream is public and long-lived, so each one takes a
//! slot (at most [`STREAMS_MAX`] open, [`STREAMS_PER_ADDRESS_MAX`] from one client address)
//! and lasts at most [`STREAM_LIFETIME_MS`] by our clock, after which the client reconnects
//! (an `EventSource` does by itself) and is counted again.

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use domain::ErrorCode;

use super::slots::{Slot, SlotLimits, SlotRefusal};
use crate::{App, ServiceError};

/// Live streams open at once at most.
pub const STREAMS_MAX: usize = 2_000;
/// Live streams open at once from one client address at most (a household or an office
/// behind one address watching a few maps).
pub const STREAMS_PER_ADDRESS_MAX: usize = 8;
/// A stream is closed this long after it opened; the client reconnects.
pub const STREAM_LIFETIME_MS: u64 = 30 * 60_000;
/// A refused client is told to try again after this long.
pub const STREAM_RETRY_AFTER_S: u64 = 30;

pub(super) const STREAM_LIMITS: SlotLimits = SlotLimits {
    total_max: STREAMS_MAX,
    per_address_max: STREAMS_PER_ADDRESS_MAX,
};

/// An open stream's place; the stream ends when the clock passes `ends_at_ms`.
#[derive(Debug)]
pub struct StreamSlot {
    pub ends_at_ms: i64,
    _slot: Slot,
}

impl StreamSlot {
    /// Whether the stream has lived its time.
    pub fn expired(&self, app: &App) -> bool {
        app.now_ms() >= self.ends_at_ms
    }
}

/// A place for one more stream of `city` from `address`; `RateLimited` beyond the caps (the
/// caller says when to retry: [`STREAM_RETRY_AFTER_S`]).
pub fn open_stream(
    app: &App,
    city: &str,
    address: Option<IpAddr>,
) -> Result<StreamSlot, ServiceError> {
    app.live.network(city)?;
    let slot = app.live.streams.take(address).map_err(|refusal| {
        app.live
            .counters
            .streams_refused
            .fetch_add(1, Ordering::Relaxed);
        let detail = match refusal {
            SlotRefusal::Full => "too many live streams are open; try again later",
            SlotRefusal::AddressFull => "too many live streams are open from your address",
        };
        ServiceError::new(ErrorCode::RateLimited, detail)
    })?;
    let lifetime_ms = app.live.stream_lifetime_ms.load(Ordering::Relaxed);
    Ok(StreamSlot {
        ends_at_ms: app
            .now_ms()
            .saturating_add(i64::try_from(lifetime_ms).unwrap_or(i64::MAX)),
        _slot: slot,
    })
}

impl super::LiveHub {
    /// Changes the stream caps and lifetime for streams opened from now on (tests, operators).
    pub fn set_stream_limits(&self, limits: SlotLimits, lifetime_ms: u64) {
        self.streams.set_limits(limits);
        self.stream_lifetime_ms
            .store(lifetime_ms, Ordering::Relaxed);
    }
}
