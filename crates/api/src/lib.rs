//! The HTTP edge of SMSBUS: JSON in and out, problem+json errors with a stable code and a
//! message in the caller's language, limits on body size and request rate, Prometheus metrics
//! and the OpenAPI document. Only this crate knows JSON and HTTP; it converts wire types to
//! domain types on the first line of every handler and calls the `service` use cases.

mod extract;
pub mod keys_wire;
mod limits;
mod metrics;
mod openapi;
mod problem;
mod routes;
mod ticket_page;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use service::App;
use tokio::net::TcpListener;

pub use problem::Problem;

/// Bodies larger than this are refused with 413 (the catalogue upload has its own limit).
pub const BODY_BYTES_MAX: usize = 64 * 1024;
pub const CATALOGUE_BODY_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Who may call the protected endpoints; each is a bearer token from configuration.
#[derive(Clone, Debug)]
pub struct Access {
    pub admin_token: String,
    pub controller_token: String,
    pub sms_gateway_token: String,
}

#[derive(Clone, Debug)]
pub struct ApiSettings {
    pub access: Access,
    /// Requests per second one client address may make on average, and the burst allowed.
    pub rate_per_s: u32,
    pub rate_burst: u32,
}

#[derive(Clone)]
pub(crate) struct State {
    pub app: Arc<App>,
    pub settings: Arc<ApiSettings>,
    pub limiter: Arc<limits::RateLimiter>,
    pub metrics: Arc<metrics::HttpMetrics>,
}

pub fn router(app: Arc<App>, settings: ApiSettings) -> Router {
    let state = State {
        app,
        limiter: Arc::new(limits::RateLimiter::new(
            settings.rate_per_s,
            settings.rate_burst,
        )),
        settings: Arc::new(settings),
        metrics: Arc::new(metrics::HttpMetrics::default()),
    };
    routes::all()
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::rate_limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(state)
}

/// Serves until the future is dropped or the process ends.
pub async fn serve(listener: TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
