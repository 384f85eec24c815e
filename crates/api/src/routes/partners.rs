//! `GET /v1/admin/partners`: every partner the deployment is wired to, for the system
//! operator's console — the mobile operators' CAMARA APIs, the card acquirer, the SMSC binds
//! and the banks — with where each is, how we authenticate there and its live state. Never a
//! secret: tokens, client secrets, passwords and bank secrets have no field here.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use service::partners::{AuthDescription, HealthSnapshot};
use utoipa_axum::routes;

use super::admin::{BankStateOut, bank_out};
use crate::extract::{Lang, Staff};
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

pub(crate) fn routes(table: super::Table) -> super::Table {
    table.op(routes!(list))
}

fn failure_kind() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&[
        "unreachable",
        "no_answer",
        "auth",
        "server_error",
        "throttled",
        "protocol",
    ])
}

fn auth_kind() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["static_token", "client_credentials"])
}

fn callback_outcome() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["accepted", "refused"])
}

fn bind_state() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["connecting", "bound", "down", "stopped"])
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Partners)]
pub(crate) struct PartnersOut {
    operators: Vec<OperatorOut>,
    /// `null` when no acquirer is configured (top-ups in the app are then refused).
    #[schema(required = true)]
    acquirer: Option<AcquirerOut>,
    smscs: Vec<SmscOut>,
    banks: Vec<BankStateOut>,
}

/// A client's calls: how many, how many failed, the last success and the last failure.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CallHealth)]
struct HealthOut {
    calls: u64,
    failures: u64,
    /// The last call failed and none succeeded since.
    failing: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    last_success_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    last_failure_at: Option<String>,
    /// `unreachable`, `no_answer`, `auth`, `server_error`, `throttled` or `protocol`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = failure_kind)]
    last_error: Option<&'static str>,
}

fn health(h: HealthSnapshot) -> HealthOut {
    HealthOut {
        calls: h.calls,
        failures: h.failures,
        failing: h.failing(),
        last_success_at: h.last_success_ms.map(rfc3339_ms),
        last_failure_at: h.last_failure.map(|(at, _)| rfc3339_ms(at)),
        last_error: h.last_failure.map(|(_, kind)| kind.as_str()),
    }
}

/// How we authenticate at an operator: never the token or the client secret.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OperatorAuth)]
struct AuthOut {
    /// `static_token` or `client_credentials`.
    #[schema(schema_with = auth_kind)]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// A mobile operator's CAMARA APIs.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OperatorPartner)]
struct OperatorOut {
    id: String,
    carrier_billing_url: String,
    sim_swap_url: String,
    refund_url: String,
    auth: AuthOut,
    health: HealthOut,
}

/// The acquirer's orders of the last `window_hours`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AcquirerOrders)]
struct OrdersOut {
    #[schema(minimum = 0)]
    window_hours: i64,
    #[schema(minimum = 0)]
    open: i64,
    #[schema(minimum = 0)]
    paid: i64,
    #[schema(minimum = 0)]
    failed: i64,
}

/// The acquirer's callbacks since the process started.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AcquirerCallbacks)]
struct CallbacksOut {
    accepted: u64,
    refused: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    last_at: Option<String>,
    /// `accepted` or `refused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = callback_outcome)]
    last_outcome: Option<&'static str>,
}

/// The card acquirer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AcquirerPartner)]
struct AcquirerOut {
    id: String,
    base_url: String,
    /// Our merchant's client id at the acquirer.
    merchant_id: String,
    callback_url: String,
    health: HealthOut,
    orders: OrdersOut,
    callbacks: CallbacksOut,
}

/// An SMSC bind.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SmscBind)]
struct SmscOut {
    operator: String,
    host: String,
    #[schema(maximum = 65535)]
    port: u16,
    tls: bool,
    system_id: String,
    system_type: String,
    /// `connecting`, `bound`, `down` or `stopped`.
    #[schema(schema_with = bind_state)]
    state: &'static str,
    #[schema(format = DateTime)]
    since: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    last_error_at: Option<String>,
    window: usize,
    throughput_per_s: u32,
    /// Replies in the outbox waiting for this bind (not taken yet, or backing off).
    #[schema(minimum = 0)]
    backlog: i64,
    submits: u64,
    submit_failures: u64,
    deliveries: u64,
    receipts: u64,
}

fn auth(auth: AuthDescription) -> AuthOut {
    match auth {
        AuthDescription::StaticToken => AuthOut {
            kind: "static_token",
            token_url: None,
            client_id: None,
            scope: None,
        },
        AuthDescription::ClientCredentials {
            token_url,
            client_id,
            scope,
        } => AuthOut {
            kind: "client_credentials",
            token_url: Some(token_url),
            client_id: Some(client_id),
            scope,
        },
    }
}

/// Every partner and its state now (admin).
#[utoipa::path(get, path = "/v1/admin/partners",
    summary = "Every partner wired in and how it is doing: each mobile operator's CAMARA APIs (carrier billing, SIM swap, refunds), its authentication and the health of its calls; the card acquirer (merchant id, callback URL, recent orders, callbacks); each SMSC bind (address, TLS, system_id, state since when, last error, window, throughput, outbox backlog, counters); the banks. Never a secret",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "{operators, acquirer, smscs, banks}", body = PartnersOut)))]
pub(crate) async fn list(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<PartnersOut>> {
    let overview = service::partners::overview(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let operators = overview
        .operators
        .into_iter()
        .map(|o| OperatorOut {
            id: o.operator.as_str().to_owned(),
            carrier_billing_url: o.carrier_billing_url,
            sim_swap_url: o.sim_swap_url,
            refund_url: o.refund_url,
            auth: auth(o.auth),
            health: health(o.health.snapshot()),
        })
        .collect();
    let acquirer = overview.acquirer.map(|a| AcquirerOut {
        health: health(a.description.health.snapshot()),
        id: a.description.id,
        base_url: a.description.base_url,
        merchant_id: a.description.client_id,
        callback_url: a.callback_url,
        orders: OrdersOut {
            window_hours: service::partners::ORDERS_WINDOW_HOURS,
            open: a.orders.open,
            paid: a.orders.paid,
            failed: a.orders.failed,
        },
        callbacks: CallbacksOut {
            accepted: a.callbacks_accepted,
            refused: a.callbacks_refused,
            last_at: a.last_callback.map(|(at, _)| rfc3339_ms(at)),
            last_outcome: a.last_callback.map(|(_, outcome)| outcome.as_str()),
        },
    });
    let smscs = overview
        .smscs
        .into_iter()
        .map(|s| {
            let d = s.description;
            let now = d.status.snapshot();
            SmscOut {
                operator: d.operator.as_str().to_owned(),
                host: d.host,
                port: d.port,
                tls: d.tls,
                system_id: d.system_id,
                system_type: d.system_type,
                state: now.state.as_str(),
                since: rfc3339_ms(now.since_ms),
                last_error_at: now.last_error.as_ref().map(|(at, _)| rfc3339_ms(*at)),
                last_error: now.last_error.map(|(_, why)| why),
                window: d.window,
                throughput_per_s: d.throughput_per_s,
                backlog: s.backlog,
                submits: now.submits,
                submit_failures: now.submit_failures,
                deliveries: now.deliveries,
                receipts: now.receipts,
            }
        })
        .collect();
    Ok(Json(PartnersOut {
        operators,
        acquirer,
        smscs,
        banks: overview.banks.into_iter().map(bank_out).collect(),
    }))
}
