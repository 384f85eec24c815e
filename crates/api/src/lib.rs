//! The HTTP edge of SMSBUS: JSON in and out, problem+json errors with a stable code and a
//! message in the caller's language, limits on body size and request rate, timeouts and caps
//! on connections (`server`), the headers every response carries (`harden`), Prometheus
//! metrics and the OpenAPI document; and the Wialon IPS listener for trackers (`wialon`), the
//! other socket the server listens on. Only this crate knows JSON and HTTP; it converts wire types to
//! domain types on the first line of every handler and calls the `service` use cases.

pub mod access;
mod apidoc;
mod documents;
mod extract;
mod harden;
pub mod keys_wire;
mod limits;
mod metrics;
mod pdf;
mod pdf_font;
mod problem;
mod routes;
mod run;
mod server;
mod ticket_page;
mod web;
mod wialon;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use service::App;

pub use extract::{CSRF_HEADER, ProxyNetwork, STAFF_COOKIE, TrustedProxies, client_addr};
pub use limits::RATE_CLIENTS_MAX;
pub use problem::Problem;
pub use run::{CATALOGUE_RELOAD_S, RECOVERY_PERIOD_S, start};
pub use server::{
    BODY_READ_TIMEOUT_MS, CONNECTIONS_MAX, CONNECTIONS_PER_CLIENT_MAX, ConnectionLimits,
    HEADER_READ_TIMEOUT_MS, REQUEST_HEAD_BYTES_MAX, serve,
};
pub use web::{WEB_FILE_BYTES_MAX, WebApp};
pub use wialon::{
    WIALON_CONNECTIONS_MAX, WIALON_CONNECTIONS_PER_ADDRESS_MAX, WialonLimits, serve_wialon,
};

/// Bodies larger than this are refused with 413 (the catalogue upload has its own limit).
pub const BODY_BYTES_MAX: usize = 64 * 1024;
pub const CATALOGUE_BODY_BYTES_MAX: usize = 4 * 1024 * 1024;
/// A GTFS zip uploaded by the operator's console is at most this large.
pub const GTFS_UPLOAD_BYTES_MAX: usize = 64 * 1024 * 1024;
/// A controller device's sync: its 100 checks, each token up to 400 characters however they
/// are escaped in JSON.
pub const INSPECTION_SYNC_BODY_BYTES_MAX: usize = 320 * 1024;

/// Requests per second one client may make on average, and the burst it may save up.
pub const RATE_PER_S: u32 = 50;
pub const RATE_BURST: u32 = 200;

#[derive(Clone, Debug)]
pub struct ApiSettings {
    /// Requests per second one client may make on average (0: no limit), and the burst allowed.
    pub rate_per_s: u32,
    pub rate_burst: u32,
    /// How many clients the rate table tracks (see `limits`).
    pub rate_clients_max: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: TrustedProxies,
    /// Timeouts and caps of the connections [`serve`] accepts.
    pub connections: ConnectionLimits,
    /// What `GET /v1/sms/outbox` lists besides the gateway's own messages.
    pub outbox_view: OutboxView,
    /// The web apps served at `/` (none: only the API).
    pub web: Option<WebApp>,
    /// When holders hear that a preferential status ends (the reminder worker).
    pub status_reminders: service::status_reminders::ReminderPolicy,
}

/// `GET /v1/sms/outbox` lists the messages the HTTP gateway must send; in the demo (no real
/// gateway, every operator bound over SMPP) it also shows, for reading only, what our SMPP
/// binds sent in the last [`OUTBOX_SMPP_RECENT_MS`], with each one's delivery state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutboxView {
    #[default]
    GatewayOnly,
    WithRecentSmpp,
}

pub const OUTBOX_SMPP_RECENT_MS: i64 = 10 * 60 * 1_000;

impl ApiSettings {
    /// The production limits. Who may call what is the access matrix ([`access::MATRIX`]) over
    /// the staff accounts and machine credentials in the store.
    pub fn new() -> ApiSettings {
        ApiSettings {
            rate_per_s: RATE_PER_S,
            rate_burst: RATE_BURST,
            rate_clients_max: RATE_CLIENTS_MAX,
            trusted_proxies: TrustedProxies::default(),
            connections: ConnectionLimits::default(),
            outbox_view: OutboxView::GatewayOnly,
            web: None,
            status_reminders: service::status_reminders::ReminderPolicy::default(),
        }
    }
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
            settings.rate_clients_max,
        )),
        settings: Arc::new(settings),
        metrics: Arc::new(metrics::HttpMetrics::default()),
    };
    routes::all()
        .router
        .fallback(web::serve)
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
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::body_deadline,
        ))
        .layer(axum::middleware::from_fn(harden::harden))
        .with_state(state)
}

impl Default for ApiSettings {
    fn default() -> ApiSettings {
        ApiSettings::new()
    }
}

/// Every route the router serves, as (method, path as declared): what the access matrix must
/// cover, row for row.
pub fn declared_routes() -> Vec<(&'static str, String)> {
    routes::all().declared
}
