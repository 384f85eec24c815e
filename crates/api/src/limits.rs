//! Request rate limit per real client (see [`crate::extract::client_addr`]): a token bucket
//! each, kept in a bounded table so a flood of addresses cannot grow memory without end — and
//! cannot reset anyone's limit either. Also the deadline on reading a request body.
//!
//! When the table is full and a client it does not know arrives, the table is swept of the
//! buckets that have refilled to the brim (forgetting them loses nothing: a new bucket starts
//! full). If every bucket is still in use, the newcomer is refused with 429 until the next
//! sweep: a flood of addresses makes new clients wait, but never gives a limited one a fresh
//! bucket. IPv6 clients are keyed by their /64, the block one subscriber gets.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::ErrorCode;

use crate::extract::{client_of, language_of, masked};
use crate::problem::Problem;

/// At most this many clients are tracked (the default of `ApiSettings::rate_clients_max`).
pub const RATE_CLIENTS_MAX: usize = 100_000;
/// A full table is swept for refilled buckets at most this often.
pub const RATE_SWEEP_INTERVAL_MS: i64 = 1_000;
/// IPv6 clients share one bucket per network of this many leading bits.
pub const IPV6_CLIENT_PREFIX_BITS: u8 = 64;

/// The key a client's limits are counted under: its address, or its /64 for IPv6.
pub(crate) fn client_key(address: IpAddr) -> IpAddr {
    let address = address.to_canonical();
    if address.is_ipv6() {
        masked(address, IPV6_CLIENT_PREFIX_BITS)
    } else {
        address
    }
}

struct Bucket {
    tokens: f64,
    last_ms: i64,
}

struct Table {
    buckets: HashMap<IpAddr, Bucket>,
    swept_at_ms: Option<i64>,
}

/// What the limiter says about one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed,
    /// Refused; a token is back after this many whole seconds.
    Limited {
        retry_after_s: u64,
    },
}

pub(crate) struct RateLimiter {
    per_s: f64,
    burst: f64,
    clients_max: usize,
    table: Mutex<Table>,
}

impl RateLimiter {
    pub(crate) fn new(per_s: u32, burst: u32, clients_max: usize) -> RateLimiter {
        RateLimiter {
            per_s: f64::from(per_s),
            burst: f64::from(burst.max(1)),
            clients_max: clients_max.max(1),
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                swept_at_ms: None,
            }),
        }
    }

    fn refilled(&self, bucket: &Bucket, now_ms: i64) -> f64 {
        let elapsed_ms = now_ms.saturating_sub(bucket.last_ms).max(0);
        // Precision is irrelevant here: a bucket is a count of requests, not money.
        #[allow(clippy::cast_precision_loss)]
        let refill = elapsed_ms as f64 * self.per_s / 1000.0;
        (bucket.tokens + refill).min(self.burst)
    }

    pub(crate) fn check(&self, client: IpAddr, now_ms: i64) -> Verdict {
        if self.per_s <= 0.0 {
            return Verdict::Allowed;
        }
        let key = client_key(client);
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if table.buckets.len() >= self.clients_max && !table.buckets.contains_key(&key) {
            let sweep_due = table
                .swept_at_ms
                .is_none_or(|at| now_ms.saturating_sub(at) >= RATE_SWEEP_INTERVAL_MS);
            if sweep_due {
                table.swept_at_ms = Some(now_ms);
                table
                    .buckets
                    .retain(|_, bucket| self.refilled(bucket, now_ms) < self.burst);
            }
            if table.buckets.len() >= self.clients_max {
                return Verdict::Limited {
                    retry_after_s: whole_seconds(RATE_SWEEP_INTERVAL_MS),
                };
            }
        }
        let burst = self.burst;
        let bucket = table.buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            last_ms: now_ms,
        });
        let tokens = self.refilled(bucket, now_ms);
        bucket.last_ms = bucket.last_ms.max(now_ms);
        if tokens >= 1.0 {
            bucket.tokens = tokens - 1.0;
            Verdict::Allowed
        } else {
            bucket.tokens = tokens;
            #[allow(clippy::cast_possible_truncation)]
            let wait_ms = ((1.0 - tokens) * 1000.0 / self.per_s).ceil() as i64;
            Verdict::Limited {
                retry_after_s: whole_seconds(wait_ms),
            }
        }
    }
}

/// Milliseconds rounded up to whole seconds, at least one (the unit of `Retry-After`).
fn whole_seconds(ms: i64) -> u64 {
    u64::try_from(ms.max(1)).unwrap_or(1).div_ceil(1000)
}

/// A 429 problem with the `Retry-After` the client should honour.
pub(crate) fn too_many(language: domain::Language, retry_after_s: u64) -> Response {
    Problem::new(ErrorCode::RateLimited, language)
        .retry_after(retry_after_s)
        .into_response()
}

pub(crate) async fn rate_limit(
    State(state): State<crate::State>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    // Banks are let in by their allowed networks and secret, and send many payments from one
    // address: the per-client rate is for people, not for them.
    let bank = parts.uri.path().starts_with("/v1/banks/");
    if !bank
        && let Some(client) = client_of(&parts, &state.settings.trusted_proxies)
        && let Verdict::Limited { retry_after_s } = state.limiter.check(client, state.app.now_ms())
    {
        return too_many(language_of(&parts), retry_after_s);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The request body must arrive whole within `body_read_timeout_ms` of the request's start;
/// a body that trickles in is cut, and reading it fails (the extractor answers 400 and the
/// connection closes), so a slow client cannot hold a handler and a connection for ever.
pub(crate) async fn body_deadline(
    State(state): State<crate::State>,
    request: Request,
    next: Next,
) -> Response {
    let timeout = Duration::from_millis(state.settings.connections.body_read_timeout_ms);
    let request = request.map(|body| {
        Body::new(DeadlineBody {
            inner: body,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        })
    });
    next.run(request).await
}

struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

/// The body did not arrive in time.
#[derive(Debug)]
pub(crate) struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimedOut {}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(context) {
            return Poll::Ready(frame);
        }
        match self.deadline.as_mut().poll(context) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn a_full_table_never_resets_a_limited_client() {
        let limiter = RateLimiter::new(1, 2, 3);
        let limited = ip("203.0.113.1");
        assert_eq!(limiter.check(limited, 0), Verdict::Allowed);
        assert_eq!(limiter.check(limited, 0), Verdict::Allowed);
        assert_eq!(
            limiter.check(limited, 0),
            Verdict::Limited { retry_after_s: 1 }
        );
        for n in 0..50u8 {
            limiter.check(IpAddr::from([198, 51, 100, n]), 10);
        }
        assert!(matches!(
            limiter.check(limited, 20),
            Verdict::Limited { .. }
        ));
        // Once every bucket has refilled, the sweep makes room without losing anything.
        assert_eq!(limiter.check(ip("192.0.2.9"), 60_000), Verdict::Allowed);
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let limiter = RateLimiter::new(1, 1, 10);
        assert_eq!(limiter.check(ip("2001:db8:1:2::1"), 0), Verdict::Allowed);
        assert!(matches!(
            limiter.check(ip("2001:db8:1:2:ffff::9"), 0),
            Verdict::Limited { .. }
        ));
        assert_eq!(limiter.check(ip("2001:db8:1:3::1"), 0), Verdict::Allowed);
    }
}
