//! The simulator's admin HTTP API, so a separate process (the demo) can set it up and break it.
//! Simulator only: it has no authentication, so bind the simulator to a loopback address.
//!
//! - `POST /_admin/operators` `{"operator", "access_token", "client_id", "client_secret", "token_lifetime_s", "correlator_replay": "return_existing" | "reject_already_exists", "settle_reply": "empty" | "payment"}` → 204
//! - `POST /_admin/subscribers` `{"phone", "operator", "balance_tiyn", "starting_balance_tiyn", "corporate", "unpaid_trust_payment", "topped_up_since_purchase", "last_sim_swap_unix_s"}` → 201 and the subscriber
//! - `GET /_admin/subscribers/{phone}` → the subscriber with `held_tiyn` and `captured_tiyn`
//! - `POST /_admin/faults` `{"operator", "endpoint": "prepare" | "create_payment" | "confirm" | "cancel" | "get_payment" | "list_payments" | "sim_swap_check" | "any", "fault": {"kind": "latency", "ms": 200} | {"kind": "hang"} | {"kind": "status", "status": 503} | {"kind": "lost_reply"} | {"kind": "lost_reply_hang"} | {"kind": "lost_reply_reset"} | {"kind": "duplicate_reply"} | {"kind": "refuse"}, "times": 1}` → 204
//! - `DELETE /_admin/faults/{operator}` → 204: the operator's waiting faults are dropped
//! - `GET /_admin/payments` → `{"payments": [{"id", "operator", "client_correlator", "status": "reserved" | "succeeded" | "cancelled", "amount_tiyn"}]}`, every payment, oldest first (the operator's books, for a benchmark that runs the simulator in its own process)
//! - `GET /_admin/settlement/{operator}/{YYYY-MM-DD}` → the operator's settlement report of the day (CSV)
//! - `POST /_admin/clock` `{"now_unix_s": 1700000000}` (or `null` for the system clock) → 204
//! - `GET /_admin/timings` → `{"buckets_ms": [1, 2, 5, …], "lock_wait": [counts], "lock_held": [counts]}`:
//!   the CAMARA requests so far by how long they waited for the books' lock and held it (one
//!   more count than bounds: the slower ones), for a benchmark that runs the simulator apart
//!
//! Only the flags and amounts named above exist; omitted optional fields take the values of
//! [`Subscriber::new`](super::Subscriber::new). Errors are `{"status", "code", "message"}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use domain::{OperatorId, PhoneNumber, Tenge};
use serde::{Deserialize, Serialize};

use super::server::{Shared, error_response, json_response};
use super::state::CamaraError;
use super::{CorrelatorReplay, Endpoint, Fault, OperatorSettings, SettleReply, Subscriber};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_admin/operators", post(add_operator))
        .route("/_admin/subscribers", post(add_subscriber))
        .route("/_admin/subscribers/{phone}", get(get_subscriber))
        .route("/_admin/faults", post(inject_fault))
        .route("/_admin/faults/{operator}", delete(clear_faults))
        .route("/_admin/payments", get(payments))
        .route("/_admin/clock", post(set_clock))
        .route("/_admin/timings", get(timings))
        .route("/_admin/settlement/{operator}/{day}", get(settlement))
}

/// `GET /_admin/timings`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TimingsOut {
    pub buckets_ms: Vec<u64>,
    pub lock_wait: Vec<u64>,
    pub lock_held: Vec<u64>,
}

async fn timings(State(shared): State<Arc<Shared>>) -> Response {
    let timings = &shared.timings;
    json_response(
        StatusCode::OK,
        &TimingsOut {
            buckets_ms: partners::health::CALL_TIME_BUCKETS_MS.to_vec(),
            lock_wait: timings.lock_wait.snapshot().took.to_vec(),
            lock_held: timings.lock_held.snapshot().took.to_vec(),
        },
    )
}

async fn settlement(
    State(shared): State<Arc<Shared>>,
    Path((operator, day)): Path<(String, String)>,
) -> Response {
    let Ok(operator) = OperatorId::parse(&operator) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let csv = super::settlement::settlement_csv(&shared.lock().payments(), &operator, &day);
    (
        [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        csv,
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ReplayIn {
    ReturnExisting,
    RejectAlreadyExists,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum SettleReplyIn {
    Empty,
    Payment,
}

#[derive(Deserialize)]
struct OperatorIn {
    operator: String,
    access_token: String,
    client_id: Option<String>,
    client_secret: Option<String>,
    token_lifetime_s: Option<i64>,
    correlator_replay: Option<ReplayIn>,
    settle_reply: Option<SettleReplyIn>,
}

#[derive(Deserialize)]
struct SubscriberIn {
    phone: String,
    operator: String,
    balance_tiyn: i64,
    #[serde(default)]
    starting_balance_tiyn: i64,
    #[serde(default)]
    corporate: bool,
    #[serde(default)]
    unpaid_trust_payment: bool,
    topped_up_since_purchase: Option<bool>,
    last_sim_swap_unix_s: Option<i64>,
}

#[derive(Serialize)]
struct SubscriberOut {
    phone: String,
    operator: String,
    balance_tiyn: i64,
    starting_balance_tiyn: i64,
    held_tiyn: i64,
    captured_tiyn: i64,
    corporate: bool,
    unpaid_trust_payment: bool,
    topped_up_since_purchase: bool,
    last_sim_swap_unix_s: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum EndpointIn {
    Prepare,
    CreatePayment,
    Confirm,
    Cancel,
    GetPayment,
    ListPayments,
    SimSwapCheck,
    CreateRefund,
    GetRefunds,
    Any,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultIn {
    Latency { ms: u64 },
    Hang,
    Status { status: u16 },
    LostReply,
    LostReplyHang,
    LostReplyReset,
    DuplicateReply,
    Refuse,
}

#[derive(Deserialize)]
struct FaultRuleIn {
    operator: String,
    endpoint: EndpointIn,
    fault: FaultIn,
    times: u32,
}

#[derive(Deserialize)]
struct ClockIn {
    now_unix_s: Option<i64>,
}

fn bad_request(text: impl Into<String>) -> CamaraError {
    CamaraError::invalid_argument(text)
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, CamaraError> {
    serde_json::from_slice(body).map_err(|error| bad_request(error.to_string()))
}

fn operator_id(text: &str) -> Result<OperatorId, CamaraError> {
    OperatorId::parse(text).map_err(|error| bad_request(error.to_string()))
}

fn reply(outcome: Result<Response, CamaraError>) -> Response {
    outcome.unwrap_or_else(error_response)
}

async fn add_operator(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    reply(parse::<OperatorIn>(&body).and_then(|input| {
        let mut settings = OperatorSettings::new(input.access_token);
        if let Some(ReplayIn::RejectAlreadyExists) = input.correlator_replay {
            settings.correlator_replay = CorrelatorReplay::RejectAlreadyExists;
        }
        if let Some(SettleReplyIn::Payment) = input.settle_reply {
            settings.settle_reply = SettleReply::Payment;
        }
        match (input.client_id, input.client_secret) {
            (Some(id), Some(secret)) => settings = settings.with_client(id, secret),
            (None, None) => {}
            _ => return Err(bad_request("client_id and client_secret come together")),
        }
        if let Some(lifetime) = input.token_lifetime_s {
            if lifetime <= 0 {
                return Err(bad_request("token_lifetime_s must be positive"));
            }
            settings.token_lifetime_s = lifetime;
        }
        shared
            .lock()
            .add_operator(operator_id(&input.operator)?, settings);
        Ok(StatusCode::NO_CONTENT.into_response())
    }))
}

async fn add_subscriber(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    reply(parse::<SubscriberIn>(&body).and_then(|input| {
        let phone =
            PhoneNumber::parse(&input.phone).map_err(|error| bad_request(error.to_string()))?;
        let operator = operator_id(&input.operator)?;
        let mut subscriber = Subscriber::new(
            phone.clone(),
            operator.clone(),
            Tenge::from_tiyn(input.balance_tiyn),
        );
        subscriber.starting_balance = Tenge::from_tiyn(input.starting_balance_tiyn);
        subscriber.corporate = input.corporate;
        subscriber.unpaid_trust_payment = input.unpaid_trust_payment;
        subscriber.topped_up_since_purchase = input.topped_up_since_purchase.unwrap_or(true);
        subscriber.last_sim_swap_unix_s = input.last_sim_swap_unix_s;
        let mut state = shared.lock();
        if !state.has_operator(&operator) {
            return Err(CamaraError::new(
                404,
                "NOT_FOUND",
                format!("no operator {operator}"),
            ));
        }
        state.add_subscriber(subscriber);
        subscriber_out(&state, &phone).map(|out| json_response(StatusCode::CREATED, &out))
    }))
}

async fn get_subscriber(State(shared): State<Arc<Shared>>, Path(phone): Path<String>) -> Response {
    let phone = PhoneNumber::parse(&phone).map_err(|error| bad_request(error.to_string()));
    reply(phone.and_then(|phone| {
        subscriber_out(&shared.lock(), &phone).map(|out| json_response(StatusCode::OK, &out))
    }))
}

fn subscriber_out(
    state: &super::state::State,
    phone: &PhoneNumber,
) -> Result<SubscriberOut, CamaraError> {
    let (subscriber, held, captured) =
        state.subscriber(phone).ok_or_else(CamaraError::not_found)?;
    Ok(SubscriberOut {
        phone: subscriber.phone.as_e164().to_owned(),
        operator: subscriber.operator.as_str().to_owned(),
        balance_tiyn: subscriber.balance.tiyn(),
        starting_balance_tiyn: subscriber.starting_balance.tiyn(),
        held_tiyn: held.tiyn(),
        captured_tiyn: captured.tiyn(),
        corporate: subscriber.corporate,
        unpaid_trust_payment: subscriber.unpaid_trust_payment,
        topped_up_since_purchase: subscriber.topped_up_since_purchase,
        last_sim_swap_unix_s: subscriber.last_sim_swap_unix_s,
    })
}

async fn inject_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    reply(parse::<FaultRuleIn>(&body).and_then(|input| {
        let operator = operator_id(&input.operator)?;
        let endpoint = match input.endpoint {
            EndpointIn::Prepare => Endpoint::Prepare,
            EndpointIn::CreatePayment => Endpoint::CreatePayment,
            EndpointIn::Confirm => Endpoint::Confirm,
            EndpointIn::Cancel => Endpoint::Cancel,
            EndpointIn::GetPayment => Endpoint::GetPayment,
            EndpointIn::ListPayments => Endpoint::ListPayments,
            EndpointIn::SimSwapCheck => Endpoint::SimSwapCheck,
            EndpointIn::CreateRefund => Endpoint::CreateRefund,
            EndpointIn::GetRefunds => Endpoint::GetRefunds,
            EndpointIn::Any => Endpoint::Any,
        };
        let fault = match input.fault {
            FaultIn::Latency { ms } => Fault::Latency { ms },
            FaultIn::Hang => Fault::Hang,
            FaultIn::Status { status } => Fault::Status(status),
            FaultIn::LostReply => Fault::LostReply,
            FaultIn::LostReplyHang => Fault::LostReplyHang,
            FaultIn::LostReplyReset => Fault::LostReplyReset,
            FaultIn::DuplicateReply => Fault::DuplicateReply,
            FaultIn::Refuse => Fault::Refuse,
        };
        if shared
            .lock()
            .inject(&operator, endpoint, fault, input.times)
        {
            Ok(StatusCode::NO_CONTENT.into_response())
        } else {
            Err(CamaraError::new(
                404,
                "NOT_FOUND",
                format!("no operator {operator}, or too many faults waiting"),
            ))
        }
    }))
}

async fn clear_faults(State(shared): State<Arc<Shared>>, Path(operator): Path<String>) -> Response {
    reply(operator_id(&operator).map(|operator| {
        shared.lock().clear_faults(&operator);
        StatusCode::NO_CONTENT.into_response()
    }))
}

#[derive(Serialize)]
struct PaymentOut {
    id: String,
    operator: String,
    client_correlator: Option<String>,
    status: &'static str,
    amount_tiyn: i64,
}

#[derive(Serialize)]
struct PaymentsOut {
    payments: Vec<PaymentOut>,
}

async fn payments(State(shared): State<Arc<Shared>>) -> Response {
    let views = shared.lock().payments();
    let payments = views
        .into_iter()
        .map(|view| PaymentOut {
            id: view.id,
            operator: view.operator.as_str().to_owned(),
            client_correlator: view.client_correlator,
            status: view.status.wire(),
            amount_tiyn: view.amount.tiyn(),
        })
        .collect();
    json_response(StatusCode::OK, &PaymentsOut { payments })
}

/// The body of `POST /_admin/faults` that injects `fault` on `endpoint` for `times` requests:
/// what another process sends to make a simulator misbehave.
pub fn fault_rule(
    operator: &OperatorId,
    endpoint: Endpoint,
    fault: Fault,
    times: u32,
) -> serde_json::Value {
    let endpoint = match endpoint {
        Endpoint::Prepare => "prepare",
        Endpoint::CreatePayment => "create_payment",
        Endpoint::Confirm => "confirm",
        Endpoint::Cancel => "cancel",
        Endpoint::GetPayment => "get_payment",
        Endpoint::ListPayments => "list_payments",
        Endpoint::SimSwapCheck => "sim_swap_check",
        Endpoint::CreateRefund => "create_refund",
        Endpoint::GetRefunds => "get_refunds",
        Endpoint::Any => "any",
    };
    let fault = match fault {
        Fault::Latency { ms } => serde_json::json!({"kind": "latency", "ms": ms}),
        Fault::Hang => serde_json::json!({"kind": "hang"}),
        Fault::Status(status) => serde_json::json!({"kind": "status", "status": status}),
        Fault::LostReply => serde_json::json!({"kind": "lost_reply"}),
        Fault::LostReplyHang => serde_json::json!({"kind": "lost_reply_hang"}),
        Fault::LostReplyReset => serde_json::json!({"kind": "lost_reply_reset"}),
        Fault::DuplicateReply => serde_json::json!({"kind": "duplicate_reply"}),
        Fault::Refuse => serde_json::json!({"kind": "refuse"}),
    };
    serde_json::json!({"operator": operator.as_str(), "endpoint": endpoint, "fault": fault, "times": times})
}

async fn set_clock(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    reply(parse::<ClockIn>(&body).map(|input| {
        shared.lock().set_now(input.now_unix_s);
        StatusCode::NO_CONTENT.into_response()
    }))
}
