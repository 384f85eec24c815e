//! Starting and stopping the simulator, the handle tests drive it with, and the one path every
//! simulated request takes: authenticate, count, apply the fault due, process under the lock.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{OperatorId, PhoneNumber, Tenge};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::state::{CamaraError, PaymentView, State};
use super::{Endpoint, Fault, OperatorSettings, Subscriber, admin, camara, camara_refund, oauth};

/// A hanging request gives up after this long (or when the simulator stops).
pub const HANG_LIMIT_MS: u64 = 120_000;
/// Largest request body the simulator reads.
pub const REQUEST_BODY_BYTES_MAX: usize = 64 * 1024;
/// Longest `x-correlator` echoed back, as the spec's pattern allows.
const X_CORRELATOR_BYTES_MAX: usize = 256;

static X_CORRELATOR: HeaderName = HeaderName::from_static("x-correlator");

#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    #[error("no operator {0} in the simulator")]
    UnknownOperator(OperatorId),
    #[error("too many faults waiting for operator {0}")]
    TooManyFaults(OperatorId),
    #[error("demo data: {0}")]
    DemoData(String),
}

/// What the handlers share: the books, and the stop signal that ends hanging requests.
pub(crate) struct Shared {
    state: Mutex<State>,
    stopping: watch::Receiver<bool>,
    /// Counts the requests processed, so a test can wait for one instead of polling.
    processed: watch::Sender<u64>,
    /// How long requests waited for the books' lock, and held it.
    pub(crate) timings: Timings,
}

/// How long the simulator's own work took, so a benchmark can tell a slow simulator from a
/// slow server: each CAMARA request's wait for the books' lock and its hold of it.
#[derive(Default)]
pub struct Timings {
    pub lock_wait: partners::health::CallHealth,
    pub lock_held: partners::health::CallHealth,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic under the lock leaves the books as they were before the failed step; a test
        // simulator keeps serving rather than cascading the panic into every later request.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`Shared::lock`] for a request's work, timed: the wait for the lock and the work under it.
    fn timed<T>(&self, work: impl FnOnce(&mut State) -> T) -> T {
        let asked = std::time::Instant::now();
        let mut state = self.lock();
        let got = std::time::Instant::now();
        self.timings.lock_wait.took(got - asked);
        let done = work(&mut state);
        drop(state);
        self.timings.lock_held.took(got.elapsed());
        done
    }

    async fn hang(&self) {
        let mut stopping = self.stopping.clone();
        tokio::select! {
            _stopped_or_handle_dropped = stopping.wait_for(|stop| *stop) => {}
            () = tokio::time::sleep(Duration::from_millis(HANG_LIMIT_MS)) => {}
        }
    }
}

/// The simulator of Kazakh mobile operators; see the module docs.
pub struct OperatorSimulator;

impl OperatorSimulator {
    /// Serves on `addr` (port 0 picks a free port) until the handle is shut down or dropped.
    pub async fn start(addr: SocketAddr) -> Result<SimulatorHandle, SimulatorError> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopping) = watch::channel(false);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(id_prefix())),
            stopping: stopping.clone(),
            processed: watch::Sender::new(0),
            timings: Timings::default(),
        });
        let app = Router::new()
            .merge(camara::routes())
            .merge(camara_refund::routes())
            .merge(oauth::routes())
            .merge(admin::routes())
            .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
            .with_state(shared.clone());
        let mut stopped = stopping;
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _stopped_or_handle_dropped = stopped.wait_for(|stop| *stop).await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%error, "operator simulator stopped");
            }
        });
        Ok(SimulatorHandle {
            shared,
            addr,
            stop,
            task: Some(task),
        })
    }
}

/// A running simulator. Dropping it stops the server; [`SimulatorHandle::shutdown`] also waits.
pub struct SimulatorHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl SimulatorHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CAMARA API root of one operator, e.g. `http://127.0.0.1:41234/beeline`.
    pub fn base_url(&self, operator: &OperatorId) -> String {
        format!("http://{}/{}", self.addr, operator)
    }

    /// Adds an operator, or changes the settings of one already there.
    pub fn add_operator(&self, operator: OperatorId, settings: OperatorSettings) {
        self.shared.lock().add_operator(operator, settings);
    }

    /// Adds or replaces a subscriber (what is held and captured on the number is kept).
    pub fn add_subscriber(&self, subscriber: Subscriber) -> Result<(), SimulatorError> {
        let mut state = self.shared.lock();
        if !state.has_operator(&subscriber.operator) {
            return Err(SimulatorError::UnknownOperator(subscriber.operator));
        }
        state.add_subscriber(subscriber);
        Ok(())
    }

    pub fn subscriber(&self, phone: &PhoneNumber) -> Option<Subscriber> {
        self.shared
            .lock()
            .subscriber(phone)
            .map(|(subscriber, _, _)| subscriber)
    }

    /// Changes a subscriber in place (a top-up, a SIM swap…); false if the number is unknown.
    pub fn update_subscriber(
        &self,
        phone: &PhoneNumber,
        change: impl FnOnce(&mut Subscriber),
    ) -> bool {
        self.shared.lock().update_subscriber(phone, change)
    }

    /// The whole balance, reservations not subtracted.
    pub fn balance(&self, phone: &PhoneNumber) -> Option<Tenge> {
        self.shared
            .lock()
            .subscriber(phone)
            .map(|(subscriber, _, _)| subscriber.balance)
    }

    /// Reserved by prepared payments and not yet confirmed or released.
    pub fn held(&self, phone: &PhoneNumber) -> Tenge {
        self.shared
            .lock()
            .subscriber(phone)
            .map(|(_, held, _)| held)
            .unwrap_or_default()
    }

    /// Everything ever captured from the number.
    pub fn captured_total(&self, phone: &PhoneNumber) -> Tenge {
        self.shared
            .lock()
            .subscriber(phone)
            .map(|(_, _, captured)| captured)
            .unwrap_or_default()
    }

    /// Every payment, oldest first.
    pub fn payments(&self) -> Vec<PaymentView> {
        self.shared.lock().payments()
    }

    /// Every refund, oldest first.
    pub fn refunds(&self) -> Vec<super::RefundView> {
        self.shared.lock().all_refunds()
    }

    /// The operator's settlement report of a day (`YYYY-MM-DD`): its captured payments.
    pub fn settlement_csv(&self, operator: &OperatorId, day: &str) -> String {
        super::settlement::settlement_csv(&self.payments(), operator, day)
    }

    /// Makes the next `times` requests to `endpoint` (or to any, with [`Endpoint::Any`]) of
    /// `operator` misbehave. Faults fire in the order injected.
    pub fn inject(
        &self,
        operator: &OperatorId,
        endpoint: Endpoint,
        fault: Fault,
        times: u32,
    ) -> Result<(), SimulatorError> {
        let mut state = self.shared.lock();
        if !state.has_operator(operator) {
            return Err(SimulatorError::UnknownOperator(operator.clone()));
        }
        if state.inject(operator, endpoint, fault, times) {
            Ok(())
        } else {
            Err(SimulatorError::TooManyFaults(operator.clone()))
        }
    }

    pub fn clear_faults(&self, operator: &OperatorId) {
        self.shared.lock().clear_faults(operator);
    }

    /// Authenticated requests received by `endpoint` of `operator`, faulty ones included.
    pub fn requests(&self, operator: &OperatorId, endpoint: Endpoint) -> u64 {
        self.shared.lock().requests(operator, endpoint)
    }

    /// Forgets every access token the operator's token endpoint issued, as an authorization
    /// server that restarted would: calls with them get `401`.
    pub fn revoke_tokens(&self, operator: &OperatorId) {
        self.shared.lock().revoke_tokens(operator);
    }

    /// Access tokens issued for `operator` and not yet expired or revoked.
    pub fn issued_tokens(&self, operator: &OperatorId) -> usize {
        self.shared.lock().issued_token_count(operator)
    }

    /// Waits until `ready` holds of the simulator, looking again each time a request has been
    /// processed (whatever its reply, or its lack of one).
    pub async fn wait_until(&self, ready: impl Fn(&SimulatorHandle) -> bool) {
        let mut processed = self.shared.processed.subscribe();
        while !ready(self) {
            if processed.changed().await.is_err() {
                return;
            }
        }
    }

    /// How long the simulator's own work took so far ([`Timings`]).
    pub fn timings(&self) -> &Timings {
        &self.shared.timings
    }

    /// Freezes the simulator's clock at `now_unix_s`.
    pub fn set_now(&self, now_unix_s: i64) {
        self.shared.lock().set_now(Some(now_unix_s));
    }

    pub fn use_system_clock(&self) {
        self.shared.lock().set_now(None);
    }

    pub fn now_unix_s(&self) -> i64 {
        self.shared.lock().now_unix_s()
    }

    /// Stops serving, ends hanging requests, and waits for the server to finish.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
        {
            tracing::error!(%error, "operator simulator task failed");
        }
    }
}

impl Drop for SimulatorHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// The path of every simulated CAMARA request. `process` runs under the lock and must only
/// touch the books; parsing happens before and `render` after, outside the lock.
pub(crate) async fn serve<T>(
    shared: &Shared,
    operator: &str,
    headers: &HeaderMap,
    endpoint: Endpoint,
    process: impl FnOnce(&mut State, &OperatorId) -> Result<T, CamaraError>,
    render: impl FnOnce(T) -> Response,
) -> Response {
    let authorization = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let admitted = shared.lock().admit(operator, authorization, endpoint);
    let (operator, fault) = match admitted {
        Ok(admitted) => admitted,
        Err(error) => return with_correlator(error_response(error), headers),
    };
    match fault {
        Some(Fault::Latency { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms.min(HANG_LIMIT_MS))).await
        }
        Some(Fault::Hang) => {
            shared.hang().await;
            return gateway_timeout();
        }
        Some(Fault::Status(status)) => {
            return with_correlator(error_response(server_error(status)), headers);
        }
        Some(Fault::Refuse) => {
            let refusal = CamaraError::new(
                403,
                "CARRIER_BILLING.PAYMENT_DENIED",
                "INSUFFICIENT_BALANCE: the balance is too low.",
            );
            return with_correlator(error_response(refusal), headers);
        }
        _ => {}
    }
    let outcome = shared.timed(|state| process(state, &operator));
    shared.processed.send_modify(|n| *n += 1);
    let response = match outcome {
        Ok(value) => render(value),
        Err(error) => error_response(error),
    };
    match fault {
        Some(Fault::LostReply) => gateway_timeout(),
        Some(Fault::LostReplyHang) => {
            shared.hang().await;
            gateway_timeout()
        }
        Some(Fault::LostReplyReset) => connection_reset(),
        _ => with_correlator(response, headers),
    }
}

pub(crate) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(error) => error_response(CamaraError::new(
            500,
            "INTERNAL",
            format!("cannot encode the reply: {error}"),
        )),
    }
}

pub(crate) fn error_response(error: CamaraError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body =
        serde_json::json!({"status": error.status, "code": error.code, "message": error.message});
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn server_error(status: u16) -> CamaraError {
    let code = match status {
        502 => "BAD_GATEWAY",
        503 => "UNAVAILABLE",
        504 => "TIMEOUT",
        _ => "INTERNAL",
    };
    CamaraError::new(status, code, "Simulated failure before processing.")
}

fn gateway_timeout() -> Response {
    error_response(CamaraError::new(
        504,
        "TIMEOUT",
        "Request timeout exceeded.",
    ))
}

/// A reply whose body fails at once, so the server drops the connection mid-reply.
fn connection_reset() -> Response {
    let failure = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "simulated lost reply");
    let body = futures_util::stream::once(async move { Err::<Bytes, std::io::Error>(failure) });
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response()
}

/// Echoes the caller's `x-correlator`, as CAMARA asks, when it fits the spec's pattern.
fn with_correlator(mut response: Response, headers: &HeaderMap) -> Response {
    let Some(value) = headers.get(&X_CORRELATOR) else {
        return response;
    };
    let valid = value.len() <= X_CORRELATOR_BYTES_MAX
        && value
            .as_bytes()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_:;./<>{}".contains(b));
    if valid {
        response
            .headers_mut()
            .insert(X_CORRELATOR.clone(), value.clone());
    }
    response
}

fn id_prefix() -> String {
    let mut seed = [0u8; 4];
    // Without randomness the ids are still unique within this simulator; only a restarted one
    // could repeat them.
    if getrandom::getrandom(&mut seed).is_err() {
        seed = std::process::id().to_le_bytes();
    }
    format!("pay-{:08x}-", u32::from_le_bytes(seed))
}

pub(crate) fn header_value(number: usize) -> HeaderValue {
    HeaderValue::from(number)
}
