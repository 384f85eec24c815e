//! `/metrics` in the Prometheus text format: HTTP requests by route and status, their latency,
//! and the use cases' counters. Readable only with the metrics token (`Access::metrics_token`):
//! the counters tell ride volumes and failed sign-ins per route.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Latency buckets in milliseconds.
const BUCKETS_MS: [u64; 9] = [1, 2, 5, 10, 25, 50, 100, 250, 1000];

#[derive(Default)]
pub(crate) struct HttpMetrics {
    /// (route, status) → count.
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    /// Cumulative counts per bucket, plus the total count and the sum in ms.
    latency: Mutex<([u64; BUCKETS_MS.len()], u64, u64)>,
}

pub(crate) async fn record(
    State(state): State<crate::State>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let status = response.status().as_u16();
    {
        let mut requests = state
            .metrics
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *requests.entry((route, status)).or_insert(0) += 1;
    }
    let mut latency = state
        .metrics
        .latency
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    for (count, bound) in latency.0.iter_mut().zip(BUCKETS_MS) {
        if elapsed_ms <= bound {
            *count += 1;
        }
    }
    latency.1 += 1;
    latency.2 += elapsed_ms;
    response
}

#[utoipa::path(get, path = "/metrics", summary = "Prometheus metrics (Bearer metrics token)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain")))]
pub(crate) async fn render(
    State(state): State<crate::State>,
    _reader: crate::extract::MetricsReader,
) -> Response {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP smsbus_http_requests_total HTTP requests by route and status.\n# TYPE smsbus_http_requests_total counter"
    );
    for ((route, status), count) in state
        .metrics
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        let _ = writeln!(
            out,
            "smsbus_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
        );
    }
    let (buckets, count, sum) = *state
        .metrics
        .latency
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let _ = writeln!(
        out,
        "# HELP smsbus_http_request_duration_ms Request latency.\n# TYPE smsbus_http_request_duration_ms histogram"
    );
    for (bound, n) in BUCKETS_MS.iter().zip(buckets) {
        let _ = writeln!(
            out,
            "smsbus_http_request_duration_ms_bucket{{le=\"{bound}\"}} {n}"
        );
    }
    let _ = writeln!(
        out,
        "smsbus_http_request_duration_ms_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        out,
        "smsbus_http_request_duration_ms_sum {sum}\nsmsbus_http_request_duration_ms_count {count}"
    );
    let live = state.app.live.counters.snapshot();
    for (name, help, value) in state.app.metrics.snapshot().into_iter().chain(live) {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
