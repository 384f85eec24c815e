//! The routes, one module per audience.

mod admin;
mod auth;
mod catalogue;
mod feedback;
mod inspections;
mod live;
mod rides;
mod sms;
mod transit;
pub(crate) mod wire;

use axum::Router;
use axum::routing::{delete, get, post, put};

use crate::State;

pub(crate) fn all() -> Router<State> {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/metrics", get(crate::metrics::render))
        .route("/openapi.json", get(crate::openapi::document))
        .route("/v1/cities", get(catalogue::cities))
        .route("/v1/keys", get(catalogue::keys))
        .route("/v1/auth/code", post(auth::request_code))
        .route(
            "/v1/auth/session",
            post(auth::open_session).delete(auth::close_session),
        )
        .route("/v1/auth/sessions", get(auth::list_sessions))
        .route("/v1/auth/sessions/{id}", delete(auth::end_session))
        .route(
            "/v1/auth/sessions/end-others",
            post(auth::end_other_sessions),
        )
        .route("/v1/rides", post(rides::buy))
        .route("/v1/rides/quote", get(rides::quote))
        .route("/v1/rides/{ride_id}", get(rides::status))
        .route("/v1/tickets/valid", get(rides::valid_tickets))
        .route("/v1/tickets/history", get(rides::history))
        .route("/v1/feedback", post(feedback::submit).get(feedback::given))
        .route("/v1/carrier/feedback", get(feedback::for_carrier))
        .route("/t/{link_code}", get(crate::ticket_page::page))
        .route("/v1/inspections", post(inspections::inspect))
        .route(
            "/v1/controller/invalidations",
            get(inspections::invalidations),
        )
        .route("/v1/controller/holder-keys", get(inspections::holder_keys))
        .route(
            "/v1/admin/tickets/{check_number}/revoke",
            post(inspections::revoke),
        )
        .route("/v1/sms/incoming", post(sms::incoming))
        .route("/v1/sms/outbox", get(sms::outbox))
        .route("/v1/sms/outbox/{id}/sent", post(sms::sent))
        .route(
            "/v1/admin/catalogue",
            put(admin::put_catalogue).layer(axum::extract::DefaultBodyLimit::max(
                crate::CATALOGUE_BODY_BYTES_MAX,
            )),
        )
        .route("/v1/admin/keys/rotate", post(admin::rotate_keys))
        .route("/v1/admin/ledger", get(admin::ledger))
        .route("/v1/admin/audit", get(admin::audit))
        .route("/v1/admin/audit/verify", get(admin::audit_verify))
        .route("/v1/admin/recovery", post(admin::run_recovery))
        .merge(transit::routes())
        .merge(live::routes())
}
