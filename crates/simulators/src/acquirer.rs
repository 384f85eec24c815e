//! A card acquirer as Halyk ePay works, over real HTTP, for the demo and the tests: its token
//! endpoint (`POST /oauth2/token`, client credentials), orders (`POST /orders`, one per
//! `invoice_id`; `GET /orders/{id}` its status), a **hosted payment page** (`GET /pay/{id}`: an
//! HTML form where a card number, expiry and CVC are typed; `POST /pay/{id}` charges and
//! redirects the browser back to the shop), the **signed callback** to the shop's `post_link`
//! (HMAC-SHA256 over the body, [`partners::acquirer::sign_callback`]; resent on failure), and
//! the daily settlement report (`GET /reports/{YYYY-MM-DD}`, CSV). Faults on command (`PUT
//! /faults`): callbacks never sent, late, duplicated, and 5xx answers to orders and status
//! queries; `POST /orders/{id}/expire` and `POST /orders/{id}/callback` (send the callback once
//! more) act on one order.
//!
//! Test cards: [`CARD_OK`] is charged, [`CARD_DECLINED`] is declined, [`CARD_NO_FUNDS`] has no
//! funds; any other number is declined.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use domain::Tenge;
use partners::acquirer::{OrderWire, SIGNATURE_HEADER, sign_callback};
use serde::Deserialize;

pub const CARD_OK: &str = "4405645000006150";
pub const CARD_DECLINED: &str = "4000000000000002";
pub const CARD_NO_FUNDS: &str = "4000000000009995";
/// A callback is sent at most this many times until the shop answers 2xx.
pub const CALLBACK_ATTEMPTS_MAX: u32 = 5;
/// The wait before each further attempt grows by this much.
pub const CALLBACK_RETRY_STEP_MS: u64 = 200;
/// Orders kept at most.
pub const ORDERS_MAX: usize = 100_000;

/// Who the shop is at the acquirer.
#[derive(Clone, Debug)]
pub struct AcquirerAccount {
    pub client_id: String,
    pub client_secret: String,
    pub callback_secret: String,
}

/// Misbehaviour on command.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// The next this many callbacks are never sent.
    #[serde(default)]
    pub drop_callbacks: u32,
    /// Every callback is sent this many times more, at once.
    #[serde(default)]
    pub duplicate_callbacks: u32,
    /// Each callback waits this long before it goes.
    #[serde(default)]
    pub late_callback_ms: u64,
    /// The next this many order and status requests answer 503.
    #[serde(default)]
    pub fail_requests: u32,
}

#[derive(Clone, Debug)]
struct SimOrder {
    invoice_id: String,
    amount: Tenge,
    description: String,
    back_link: String,
    failure_back_link: String,
    post_link: String,
    status: &'static str,
    reference: Option<String>,
    card_mask: Option<String>,
    reason: Option<String>,
    charged_at_ms: Option<i64>,
}

#[derive(Default)]
struct Books {
    orders: HashMap<String, SimOrder>,
    tokens: Vec<String>,
    faults: Faults,
    next_reference: u64,
    callbacks_sent: u64,
}

struct Shared {
    account: AcquirerAccount,
    base: String,
    books: Mutex<Books>,
    http: reqwest::Client,
}

impl Shared {
    fn books(&self) -> MutexGuard<'_, Books> {
        match self.books.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// A running acquirer.
#[derive(Clone)]
pub struct AcquirerSimulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl AcquirerSimulator {
    pub async fn start(
        addr: SocketAddr,
        account: AcquirerAccount,
    ) -> std::io::Result<AcquirerSimulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            account,
            base: format!("http://{addr}"),
            books: Mutex::new(Books::default()),
            http,
        });
        let router = Router::new()
            .route("/oauth2/token", post(token))
            .route("/orders", post(create_order))
            .route("/orders/{id}", get(order_status))
            .route("/orders/{id}/expire", post(expire))
            .route("/orders/{id}/callback", post(resend))
            .route("/pay/{id}", get(page).post(pay))
            .route("/reports/{day}", get(report))
            .route("/faults", put(set_faults))
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "acquirer simulator stopped");
            }
        });
        Ok(AcquirerSimulator { shared, addr })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_faults(&self, faults: Faults) {
        self.shared.books().faults = faults;
    }

    /// Callbacks sent so far (every attempt and copy).
    pub fn callbacks_sent(&self) -> u64 {
        self.shared.books().callbacks_sent
    }

    /// The settlement report of a day (`YYYY-MM-DD`), as `GET /reports/{day}` serves it.
    pub fn settlement_csv(&self, day: &str) -> String {
        settlement(&self.shared.books(), day)
    }
}

/// Kazakhstan's day of a time, as the acquirer's reports count days.
fn day_of(at_ms: i64) -> String {
    let zone = jiff::tz::Offset::from_seconds(5 * 3600)
        .map_or(jiff::tz::TimeZone::UTC, jiff::tz::TimeZone::fixed);
    jiff::Timestamp::from_millisecond(at_ms)
        .map(|t| t.to_zoned(zone).date().to_string())
        .unwrap_or_default()
}

fn settlement(books: &Books, day: &str) -> String {
    let mut charged: Vec<&SimOrder> = books
        .orders
        .values()
        .filter(|o| o.status == "charged" && o.charged_at_ms.map(day_of).as_deref() == Some(day))
        .collect();
    charged.sort_by_key(|o| (o.charged_at_ms, o.invoice_id.clone()));
    let mut csv = String::from("invoice_id;reference;date;amount;currency\n");
    for order in charged {
        csv.push_str(&format!(
            "{};{};{};{};KZT\n",
            order.invoice_id,
            order.reference.as_deref().unwrap_or_default(),
            day,
            order.amount.to_decimal()
        ));
    }
    csv
}

/// A form body's fields (`application/x-www-form-urlencoded`).
fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

async fn token(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let form = form(&body);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials"
        || field("client_id") != shared.account.client_id
        || field("client_secret") != shared.account.client_secret
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    shared.books().tokens.push(token.clone());
    Json(serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": 1200}))
        .into_response()
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    presented.is_some_and(|p| shared.books().tokens.iter().any(|t| t == p))
}

/// Takes one injected request failure, if any is left.
fn failing(shared: &Shared) -> bool {
    let mut books = shared.books();
    if books.faults.fail_requests > 0 {
        books.faults.fail_requests -= 1;
        true
    } else {
        false
    }
}

#[derive(Deserialize)]
struct CreateBody {
    invoice_id: String,
    amount: String,
    currency: String,
    description: String,
    back_link: String,
    failure_back_link: String,
    post_link: String,
}

fn wire(order: &SimOrder) -> OrderWire {
    OrderWire {
        invoice_id: order.invoice_id.clone(),
        status: order.status.to_owned(),
        amount: order.amount.to_decimal(),
        currency: "KZT".into(),
        reference: order.reference.clone(),
        card_mask: order.card_mask.clone(),
        reason: order.reason.clone(),
    }
}

async fn create_order(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<CreateBody>,
) -> Response {
    if !authorized(&shared, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if failing(&shared) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let amount = match Tenge::parse_decimal(&body.amount) {
        Ok(amount) if amount.is_positive() && body.currency == "KZT" => amount,
        _ => return StatusCode::BAD_REQUEST.into_response(),
    };
    let id_ok = !body.invoice_id.is_empty()
        && body.invoice_id.len() <= 32
        && body
            .invoice_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !id_ok {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let payment_url = format!("{}/pay/{}", shared.base, body.invoice_id);
    let mut books = shared.books();
    if books.orders.contains_key(&body.invoice_id) {
        let answer = serde_json::json!({"invoice_id": body.invoice_id, "status": "exists", "payment_url": payment_url});
        return (StatusCode::OK, Json(answer)).into_response();
    }
    if books.orders.len() >= ORDERS_MAX {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    books.orders.insert(
        body.invoice_id.clone(),
        SimOrder {
            invoice_id: body.invoice_id.clone(),
            amount,
            description: body.description,
            back_link: body.back_link,
            failure_back_link: body.failure_back_link,
            post_link: body.post_link,
            status: "new",
            reference: None,
            card_mask: None,
            reason: None,
            charged_at_ms: None,
        },
    );
    let answer = serde_json::json!({"invoice_id": body.invoice_id, "status": "new", "payment_url": payment_url});
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn order_status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&shared, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if failing(&shared) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match shared.books().orders.get(&id) {
        Some(order) => Json(wire(order)).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn expire(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let mut books = shared.books();
    match books.orders.get_mut(&id) {
        Some(order) if order.status == "new" => {
            order.status = "expired";
            StatusCode::NO_CONTENT.into_response()
        }
        Some(_) => StatusCode::CONFLICT.into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn resend(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let order = shared.books().orders.get(&id).cloned();
    match order {
        Some(order) if order.status != "new" => {
            deliver(Arc::clone(&shared), order, 0).await;
            StatusCode::NO_CONTENT.into_response()
        }
        Some(_) => StatusCode::CONFLICT.into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn page(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Some(order) = shared.books().orders.get(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><title>Not found</title><p>No such order."),
        )
            .into_response();
    };
    if order.status != "new" {
        return Redirect::to(&order.back_link).into_response();
    }
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Payment — simulated acquirer</title>\
<style>body{{font-family:sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem}}label{{display:block;margin:.8rem 0 .2rem}}\
input{{font-size:1.1rem;width:100%;padding:.4rem;box-sizing:border-box}}button{{margin-top:1.2rem;font-size:1.1rem;padding:.6rem 1.2rem}}</style></head>\
<body><main><h1>Card payment</h1><p>{description}</p><p><strong id=\"amount\">{amount} ₸</strong></p>\
<form method=\"post\" action=\"/pay/{id}\">\
<label for=\"card\">Card number</label><input id=\"card\" name=\"card_number\" inputmode=\"numeric\" autocomplete=\"cc-number\" required>\
<label for=\"expiry\">Expiry (MM/YY)</label><input id=\"expiry\" name=\"expiry\" autocomplete=\"cc-exp\" required>\
<label for=\"cvc\">CVC</label><input id=\"cvc\" name=\"cvc\" inputmode=\"numeric\" autocomplete=\"cc-csc\" required>\
<button type=\"submit\" id=\"pay\">Pay</button></form>\
<p><a href=\"{failure}\">Cancel</a></p></main></body></html>",
        description = escape(&order.description),
        amount = order.amount.to_decimal(),
        id = escape(&order.invoice_id),
        failure = escape(&order.failure_back_link),
    );
    Html(html).into_response()
}

async fn pay(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    let form = form(&body);
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let number: String = field("card_number")
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let complete = field("expiry").trim().len() >= 4 && field("cvc").trim().len() == 3;
    let order = {
        let mut books = shared.books();
        books.next_reference += 1;
        let reference = format!("{:012}", books.next_reference);
        let Some(order) = books.orders.get_mut(&id) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        if order.status != "new" {
            return Redirect::to(&order.back_link).into_response();
        }
        let last_four = number
            .get(number.len().saturating_sub(4)..)
            .unwrap_or_default();
        order.card_mask = Some(format!(
            "{}******{last_four}",
            number.get(..6).unwrap_or_default()
        ));
        match number.as_str() {
            CARD_OK if complete => {
                order.status = "charged";
                order.reference = Some(reference);
                order.charged_at_ms = Some(now_ms());
            }
            CARD_NO_FUNDS => {
                order.status = "declined";
                order.reason = Some("insufficient_funds".into());
            }
            _ => {
                order.status = "declined";
                order.reason = Some("declined".into());
            }
        }
        order.clone()
    };
    let back = if order.status == "charged" {
        order.back_link.clone()
    } else {
        order.failure_back_link.clone()
    };
    // The callback goes before the browser is sent back (so the shop knows the outcome when
    // the passenger returns), unless it is to be late: then it follows on its own.
    let late_ms = shared.books().faults.late_callback_ms;
    if late_ms == 0 {
        deliver(Arc::clone(&shared), order, 0).await;
    } else {
        tokio::spawn(deliver(Arc::clone(&shared), order, late_ms));
    }
    Redirect::to(&back).into_response()
}

/// Sends an order's callback (unless a fault drops it), with its copies, until the shop
/// answers 2xx or the attempts run out.
async fn deliver(shared: Arc<Shared>, order: SimOrder, late_ms: u64) {
    let copies = {
        let mut books = shared.books();
        if books.faults.drop_callbacks > 0 {
            books.faults.drop_callbacks -= 1;
            return;
        }
        books.faults.duplicate_callbacks
    };
    if late_ms > 0 {
        tokio::time::sleep(Duration::from_millis(late_ms)).await;
    }
    let Ok(body) = serde_json::to_vec(&wire(&order)) else {
        return;
    };
    let signature = sign_callback(shared.account.callback_secret.as_bytes(), &body);
    for attempt in 1..=CALLBACK_ATTEMPTS_MAX {
        let sends = (0..=copies).map(|_| {
            shared.books().callbacks_sent += 1;
            shared
                .http
                .post(&order.post_link)
                .header(header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, &signature)
                .body(body.clone())
                .send()
        });
        let answers = futures_util::future::join_all(sends).await;
        if answers
            .iter()
            .any(|a| a.as_ref().is_ok_and(|r| r.status().is_success()))
        {
            return;
        }
        tracing::warn!(order = %order.invoice_id, attempt, "callback not taken; sending again");
        tokio::time::sleep(Duration::from_millis(
            CALLBACK_RETRY_STEP_MS * u64::from(attempt),
        ))
        .await;
    }
}

async fn report(State(shared): State<Arc<Shared>>, Path(day): Path<String>) -> Response {
    let csv = settlement(&shared.books(), &day);
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response()
}

async fn set_faults(State(shared): State<Arc<Shared>>, Json(faults): Json<Faults>) -> StatusCode {
    shared.books().faults = faults;
    StatusCode::NO_CONTENT
}
