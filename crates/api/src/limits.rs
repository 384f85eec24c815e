//! Request rate limit per client address: a token bucket each, kept in a bounded table so a
//! flood of addresses cannot grow memory without end.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::ErrorCode;

use crate::extract::language_of;
use crate::problem::Problem;

/// At most this many client addresses are tracked; the table is cleared when it fills.
pub const RATE_CLIENTS_MAX: usize = 100_000;

pub(crate) struct RateLimiter {
    per_s: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    pub(crate) fn new(per_s: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_s: f64::from(per_s),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn allow(&self, client: IpAddr, now: Instant) -> bool {
        if self.per_s <= 0.0 {
            return true;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= RATE_CLIENTS_MAX && !buckets.contains_key(&client) {
            buckets.clear();
        }
        let (tokens, last) = buckets.entry(client).or_insert((self.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.per_s;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub(crate) async fn rate_limit(
    State(state): State<crate::State>,
    request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(client) = client
        && !state.limiter.allow(client, Instant::now())
    {
        let (parts, _) = request.into_parts();
        return Problem::new(ErrorCode::RateLimited, language_of(&parts)).into_response();
    }
    next.run(request).await
}
