//! [`CamaraClient`]: the CAMARA Carrier Billing 0.5.0 and SIM Swap 2.1.0 client, one
//! keep-alive connection pool shared by every operator, each reached at its own base URL with
//! its own bearer token. Each operator's calls are counted ([`crate::health`]) and described
//! without their secrets ([`CamaraClient::describe`]) for the system operator's console.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use domain::{OperatorId, PhoneNumber};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;

use super::oauth::{Auth, Credentials};
use super::reply::{Call, error_reply, transport_failure};
use super::wire::{self, PaymentIn};
use super::{
    BoxFuture, CarrierBilling, DenialReason, OperatorError, OperatorPaymentId, Payment,
    PaymentRequest, PaymentStatus, Refund, RefundRequest, SimSwap,
};
use crate::health::{CallHealth, FailureKind};

/// Default limit on one whole request to an operator, from sending to the last byte of the reply.
pub const TIMEOUT_MS: u64 = 5_000;
/// Limit on opening a connection; never more than the request timeout.
pub const CONNECT_TIMEOUT_MS: u64 = 2_000;
/// Idle keep-alive connections are closed after this.
pub const POOL_IDLE_TIMEOUT_MS: u64 = 60_000;
/// Largest reply we read; a longer one is a protocol error.
pub const RESPONSE_BODY_BYTES_MAX: usize = 1024 * 1024;
/// `find_by_correlator` searches payments created this long before and after the given time.
pub const FIND_WINDOW_S: i64 = 180;
/// It searches first the seconds around the request itself (this long before it, and its
/// timeout plus this long after), where a payment made by our request is: a busy operator
/// holds far more payments in the whole window than the listing's page limit.
pub const FIND_NEAR_S: i64 = 5;
/// Page size of `find_by_correlator`'s listing.
pub const FIND_PER_PAGE: u32 = 100;
/// `find_by_correlator` gives up after this many pages.
pub const FIND_PAGES_MAX: u32 = 100;
/// CAMARA SIM Swap's bounds on `maxAge`.
pub const SIM_SWAP_MAX_AGE_HOURS_MIN: u32 = 1;
pub const SIM_SWAP_MAX_AGE_HOURS_MAX: u32 = 2400;

const CARRIER_BILLING_PATH: [&str; 2] = ["carrier-billing", "v0.5"];
const SIM_SWAP_PATH: [&str; 2] = ["sim-swap", "v2"];
const REFUND_PATH: [&str; 2] = ["carrier-billing-refund", "v0.3"];
const X_CORRELATOR: &str = "x-correlator";

/// Where one operator's CAMARA APIs live and how we authenticate there.
#[derive(Clone, Debug)]
pub struct OperatorEndpoint {
    /// API root, e.g. `http://127.0.0.1:9000/beeline`; the client appends
    /// `/carrier-billing/v0.5/…` and `/sim-swap/v2/…`.
    pub base_url: String,
    pub credentials: Credentials,
}

struct Route {
    base: Url,
    auth: Auth,
    described: AuthDescription,
    health: Arc<CallHealth>,
}

/// How we authenticate at an operator, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthDescription {
    /// A bearer token issued out of band.
    StaticToken,
    /// OAuth 2.0 client credentials at this token endpoint (or discovery document).
    ClientCredentials {
        token_url: String,
        client_id: String,
        scope: Option<String>,
    },
}

/// One operator as the client reaches it: the CAMARA APIs' roots, the authentication (never a
/// secret) and the live counters of its calls.
#[derive(Clone, Debug)]
pub struct CamaraDescription {
    pub operator: OperatorId,
    pub carrier_billing_url: String,
    pub sim_swap_url: String,
    pub refund_url: String,
    pub auth: AuthDescription,
    pub health: Arc<CallHealth>,
}

/// The production client of every mobile operator.
pub struct CamaraClient {
    http: reqwest::Client,
    routes: HashMap<OperatorId, Route>,
    /// Makes each request's `x-correlator` unique within this process.
    sequence: AtomicU64,
    instance: u64,
    /// Each request's whole limit (the near part of `find_by_correlator` spans it).
    timeout: Duration,
}

impl fmt::Debug for CamaraClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operators: Vec<_> = self
            .routes
            .iter()
            .map(|(id, route)| (id.as_str(), route.base.as_str()))
            .collect();
        f.debug_struct("CamaraClient")
            .field("operators", &operators)
            .finish_non_exhaustive()
    }
}

/// A reply we received in full.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl CamaraClient {
    /// `timeout` limits each request as a whole (see [`TIMEOUT_MS`] for the usual value).
    /// `https` endpoints are checked against the system's trusted roots.
    pub fn new(
        endpoints: HashMap<OperatorId, OperatorEndpoint>,
        timeout: Duration,
    ) -> Result<Self, OperatorError> {
        Self::with_roots(endpoints, timeout, &[])
    }

    /// Like [`CamaraClient::new`], also trusting the certificate authorities of a PEM bundle
    /// (an operator whose API certificate comes from its own CA).
    pub fn with_roots(
        endpoints: HashMap<OperatorId, OperatorEndpoint>,
        timeout: Duration,
        extra_roots_pem: &[u8],
    ) -> Result<Self, OperatorError> {
        let mut routes = HashMap::with_capacity(endpoints.len());
        for (operator, endpoint) in endpoints {
            routes.insert(operator.clone(), route(&operator, &endpoint)?);
        }
        let mut builder = reqwest::Client::builder();
        if !extra_roots_pem.is_empty() {
            let roots =
                reqwest::Certificate::from_pem_bundle(extra_roots_pem).map_err(|error| {
                    OperatorError::Protocol(format!("operator CA certificates: {error}"))
                })?;
            if roots.is_empty() {
                return Err(OperatorError::Protocol(
                    "operator CA certificates: no certificate in the PEM bundle".into(),
                ));
            }
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let http = builder
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_millis(CONNECT_TIMEOUT_MS)))
            .pool_idle_timeout(Duration::from_millis(POOL_IDLE_TIMEOUT_MS))
            .tcp_nodelay(true)
            .build()
            .map_err(|error| {
                OperatorError::Protocol(format!("cannot build the HTTP client: {error}"))
            })?;
        let mut seed = [0u8; 8];
        getrandom::getrandom(&mut seed)
            .map_err(|error| OperatorError::Protocol(format!("no randomness: {error}")))?;
        Ok(CamaraClient {
            http,
            routes,
            sequence: AtomicU64::new(0),
            instance: u64::from_le_bytes(seed),
            timeout,
        })
    }

    /// Every operator configured, sorted by id: where its APIs are, how we sign in there and
    /// how its calls have gone.
    pub fn describe(&self) -> Vec<CamaraDescription> {
        let mut described: Vec<CamaraDescription> = self
            .routes
            .iter()
            .map(|(operator, route)| {
                let api = |path: &[&str]| {
                    let mut url = route.base.clone();
                    extend_path(&mut url, path, &[]);
                    url.to_string()
                };
                CamaraDescription {
                    operator: operator.clone(),
                    carrier_billing_url: api(&CARRIER_BILLING_PATH),
                    sim_swap_url: api(&SIM_SWAP_PATH),
                    refund_url: api(&REFUND_PATH),
                    auth: route.described.clone(),
                    health: Arc::clone(&route.health),
                }
            })
            .collect();
        described.sort_by(|a, b| a.operator.as_str().cmp(b.operator.as_str()));
        described
    }

    fn route(&self, operator: &OperatorId) -> Result<&Route, OperatorError> {
        self.routes
            .get(operator)
            .ok_or_else(|| OperatorError::UnknownOperator(operator.clone()))
    }

    fn x_correlator(&self) -> String {
        format!(
            "{:016x}-{}",
            self.instance,
            self.sequence.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Sends one request and reads the whole reply, or says what the failure means for `call`.
    async fn send(
        &self,
        call: Call,
        route: &Route,
        method: Method,
        url: Url,
        body: Option<&(dyn ErasedBody + Sync)>,
    ) -> Result<Reply, OperatorError> {
        // Shared, so a retry after a refused token sends the same bytes without copying them.
        let bytes = body
            .map(|body| {
                body.to_json()
                    .map(bytes::Bytes::from)
                    .map_err(OperatorError::Protocol)
            })
            .transpose()?;
        let started = std::time::Instant::now();
        let outcome = async {
            let mut reply = self
                .send_once(call, route, &method, &url, bytes.clone())
                .await?;
            // A refused token (expired early, or the operator's authorization server
            // restarted): nothing was done with the request, so it goes again once with a
            // new token.
            if reply.0.status == StatusCode::UNAUTHORIZED && route.auth.refused(&reply.1) {
                reply = self.send_once(call, route, &method, &url, bytes).await?;
            }
            Ok(reply.0)
        }
        .await;
        route.health.took(started.elapsed());
        match &outcome {
            Ok(reply) => match FailureKind::of_status(reply.status.as_u16()) {
                Some(kind) => route.health.failed(kind),
                None => route.health.succeeded(),
            },
            Err((_, kind)) => route.health.failed(*kind),
        }
        outcome.map_err(|(error, _)| error)
    }

    async fn send_once(
        &self,
        call: Call,
        route: &Route,
        method: &Method,
        url: &Url,
        body: Option<bytes::Bytes>,
    ) -> Result<(Reply, HeaderValue), (OperatorError, FailureKind)> {
        let authorization = route
            .auth
            .header(&self.http)
            .await
            .map_err(|error| (error, FailureKind::Auth))?;
        let correlator = self.x_correlator();
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, authorization.clone())
            .header(X_CORRELATOR, &correlator);
        if let Some(bytes) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes);
        }
        let outcome = async {
            let mut response = request.send().await?;
            let status = response.status();
            let headers = std::mem::take(response.headers_mut());
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > RESPONSE_BODY_BYTES_MAX {
                    return Ok(Err(status));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Ok(Reply {
                status,
                headers,
                body,
            }))
        }
        .await;
        match outcome {
            Ok(Ok(reply)) => {
                tracing::debug!(%method, path = url.path(), x_correlator = %correlator, status = reply.status.as_u16(), "operator reply");
                Ok((reply, authorization))
            }
            Ok(Err(status)) => Err((
                OperatorError::Protocol(format!(
                    "reply {status} longer than {RESPONSE_BODY_BYTES_MAX} bytes"
                )),
                FailureKind::Protocol,
            )),
            Err(error) => {
                let failure = transport_failure(call, &error);
                tracing::warn!(%method, path = url.path(), x_correlator = %correlator, %failure, "operator call failed");
                let kind = if error.is_connect() {
                    FailureKind::Unreachable
                } else {
                    FailureKind::NoAnswer
                };
                Err((failure, kind))
            }
        }
    }

    async fn prepare_payment(
        &self,
        operator: &OperatorId,
        request: &PaymentRequest,
    ) -> Result<Payment, OperatorError> {
        let route = self.route(operator)?;
        let body = wire::PrepareBody {
            amount_transaction: wire::AmountTransactionOut {
                phone_number: request.phone.as_e164(),
                client_correlator: &request.client_correlator,
                payment_amount: wire::PaymentAmountOut {
                    charging_information: wire::ChargingInformationOut {
                        amount: wire::amount_to_wire(request.amount)
                            .map_err(OperatorError::Protocol)?,
                        currency: wire::CURRENCY,
                        description: &request.description,
                    },
                    charging_meta_data: wire::ChargingMetaDataOut {
                        merchant_identifier: &request.merchant_id,
                    },
                },
                reference_code: &request.client_correlator,
            },
        };
        let url = billing_url(route, &["payments", "prepare"]);
        let reply = self
            .send(Call::Charge, route, Method::POST, url, Some(&body))
            .await?;
        if !matches!(reply.status, StatusCode::CREATED | StatusCode::OK) {
            return Err(error_reply(Call::Charge, reply.status, &reply.body));
        }
        let payment = parse_payment(&reply.body)?;
        if payment.status == PaymentStatus::Denied {
            return Err(OperatorError::Denied(DenialReason::Other(
                "prepare answered with status denied".to_owned(),
            )));
        }
        if payment.amount != request.amount {
            return Err(OperatorError::Protocol(format!(
                "payment {} holds {}, we asked {}",
                payment.id.as_str(),
                payment.amount.to_decimal(),
                request.amount.to_decimal()
            )));
        }
        Ok(payment)
    }

    /// Confirm or cancel. Both answer `202` with no body in the spec, so the payment is read
    /// back; `409` (already confirmed or cancelled) also reads it back, so a retry is harmless.
    async fn settle(
        &self,
        operator: &OperatorId,
        id: &OperatorPaymentId,
        action: &str,
    ) -> Result<Payment, OperatorError> {
        let route = self.route(operator)?;
        let url = billing_url(route, &["payments", id.as_str(), action]);
        let reply = self
            .send(
                Call::Settle,
                route,
                Method::POST,
                url,
                Some(&wire::EmptyBody {}),
            )
            .await?;
        match reply.status {
            StatusCode::OK | StatusCode::CREATED | StatusCode::ACCEPTED | StatusCode::CONFLICT => {}
            status => return Err(error_reply(Call::Settle, status, &reply.body)),
        }
        if reply.status != StatusCode::CONFLICT
            && !reply.body.is_empty()
            && let Ok(payment) = parse_payment(&reply.body)
        {
            return Ok(payment);
        }
        self.get_payment(operator, id)
            .await
            .map_err(|error| match error {
                OperatorError::Unavailable(text) => OperatorError::OutcomeUnknown(format!(
                    "{action} accepted, then reading the payment failed: {text}"
                )),
                // The settle was accepted: a refused read is no refusal of the settle.
                OperatorError::Denied(reason) => OperatorError::OutcomeUnknown(format!(
                    "{action} accepted, then reading the payment was refused: {reason:?}"
                )),
                OperatorError::NotFound => OperatorError::Protocol(format!(
                    "{action} accepted for a payment that does not exist"
                )),
                other => other,
            })
    }

    async fn get_payment(
        &self,
        operator: &OperatorId,
        id: &OperatorPaymentId,
    ) -> Result<Payment, OperatorError> {
        let route = self.route(operator)?;
        let url = billing_url(route, &["payments", id.as_str()]);
        let reply = self.send(Call::Read, route, Method::GET, url, None).await?;
        if reply.status != StatusCode::OK {
            return Err(error_reply(Call::Read, reply.status, &reply.body));
        }
        parse_payment(&reply.body)
    }

    /// Near the request first, then the rest of the window on either side; `None` only when
    /// every part was searched to its end.
    async fn find_payment(
        &self,
        operator: &OperatorId,
        correlator: &str,
        around_unix_s: i64,
    ) -> Result<Option<Payment>, OperatorError> {
        let after_s = i64::try_from(self.timeout.as_secs())
            .unwrap_or(FIND_WINDOW_S)
            .saturating_add(FIND_NEAR_S)
            .min(FIND_WINDOW_S);
        let near = (around_unix_s - FIND_NEAR_S, around_unix_s + after_s);
        let parts = [
            near,
            (around_unix_s - FIND_WINDOW_S, near.0 - 1),
            (near.1 + 1, around_unix_s + FIND_WINDOW_S),
        ];
        let mut too_many = None;
        for (from, until) in parts {
            match self.find_in(operator, correlator, from, until).await {
                Ok(Some(payment)) => return Ok(Some(payment)),
                Ok(None) => {}
                // The rest may still hold it; the answer is "unknown" only if nothing finds it.
                Err(error @ OperatorError::Unavailable(_)) => too_many = Some(error),
                Err(error) => return Err(error),
            }
        }
        match too_many {
            Some(error) => Err(error),
            None => Ok(None),
        }
    }

    /// One creation-date range of `find_payment`, paged to its end or to [`FIND_PAGES_MAX`].
    async fn find_in(
        &self,
        operator: &OperatorId,
        correlator: &str,
        from_unix_s: i64,
        until_unix_s: i64,
    ) -> Result<Option<Payment>, OperatorError> {
        let route = self.route(operator)?;
        let from = rfc3339(from_unix_s)?;
        let until = rfc3339(until_unix_s)?;
        let mut seen: u64 = 0;
        for page in 1..=FIND_PAGES_MAX {
            let mut url = billing_url(route, &["payments"]);
            url.query_pairs_mut()
                .append_pair("paymentCreationDate.gte", &from)
                .append_pair("paymentCreationDate.lte", &until)
                .append_pair("order", "asc")
                .append_pair("page", &page.to_string())
                .append_pair("perPage", &FIND_PER_PAGE.to_string());
            let reply = self.send(Call::Read, route, Method::GET, url, None).await?;
            if reply.status != StatusCode::OK {
                return Err(error_reply(Call::Read, reply.status, &reply.body));
            }
            let payments: Vec<PaymentIn> = serde_json::from_slice(&reply.body)
                .map_err(|error| OperatorError::Protocol(format!("payment list: {error}")))?;
            let count = payments.len();
            for payment in payments {
                if payment.amount_transaction.client_correlator.as_deref() == Some(correlator) {
                    return payment
                        .into_payment()
                        .map(Some)
                        .map_err(OperatorError::Protocol);
                }
            }
            seen += count as u64;
            let total = header_number(&reply.headers, "x-total-count");
            if count < FIND_PER_PAGE as usize || total.is_some_and(|total| seen >= total) {
                return Ok(None);
            }
        }
        Err(OperatorError::Unavailable(format!(
            "more than {} payments created from {from} to {until}; not all were searched",
            FIND_PAGES_MAX * FIND_PER_PAGE
        )))
    }

    async fn create_refund(
        &self,
        operator: &OperatorId,
        payment: &OperatorPaymentId,
        request: &RefundRequest,
    ) -> Result<Refund, OperatorError> {
        let route = self.route(operator)?;
        let body = wire::TotalRefundBody {
            kind: "total",
            reason: &request.reason,
            amount_transaction: wire::TotalRefundTransactionOut {
                client_correlator: &request.client_correlator,
                refund_amount: wire::EmptyBody {},
                reference_code: &request.client_correlator,
            },
        };
        let url = refund_url(route, payment, &[]);
        let reply = self
            .send(Call::Refund, route, Method::POST, url, Some(&body))
            .await?;
        if !matches!(reply.status, StatusCode::CREATED | StatusCode::OK) {
            return Err(error_reply(Call::Refund, reply.status, &reply.body));
        }
        parse_refund(&reply.body)
    }

    async fn list_refunds(
        &self,
        operator: &OperatorId,
        payment: &OperatorPaymentId,
    ) -> Result<Vec<Refund>, OperatorError> {
        let route = self.route(operator)?;
        let url = refund_url(route, payment, &[]);
        let reply = self.send(Call::Read, route, Method::GET, url, None).await?;
        if reply.status != StatusCode::OK {
            return Err(error_reply(Call::Read, reply.status, &reply.body));
        }
        let refunds: Vec<wire::RefundIn> = serde_json::from_slice(&reply.body)
            .map_err(|error| OperatorError::Protocol(format!("refund list: {error}")))?;
        refunds
            .into_iter()
            .map(|refund| refund.into_refund().map_err(OperatorError::Protocol))
            .collect()
    }

    async fn check_sim_swap(
        &self,
        operator: &OperatorId,
        phone: &PhoneNumber,
        max_age_hours: u32,
    ) -> Result<bool, OperatorError> {
        if !(SIM_SWAP_MAX_AGE_HOURS_MIN..=SIM_SWAP_MAX_AGE_HOURS_MAX).contains(&max_age_hours) {
            return Err(OperatorError::Protocol(format!(
                "maxAge {max_age_hours} h is outside 1..=2400"
            )));
        }
        let route = self.route(operator)?;
        let mut url = route.base.clone();
        extend_path(&mut url, &SIM_SWAP_PATH, &["check"]);
        let body = wire::SimSwapCheckBody {
            phone_number: phone.as_e164(),
            max_age: max_age_hours,
        };
        let reply = self
            .send(Call::Check, route, Method::POST, url, Some(&body))
            .await?;
        if reply.status != StatusCode::OK {
            return Err(error_reply(Call::Check, reply.status, &reply.body));
        }
        serde_json::from_slice::<wire::SimSwapCheckReply>(&reply.body)
            .map(|reply| reply.swapped)
            .map_err(|error| OperatorError::Protocol(format!("SIM swap reply: {error}")))
    }
}

impl CarrierBilling for CamaraClient {
    fn prepare<'a>(
        &'a self,
        operator: &'a OperatorId,
        request: &'a PaymentRequest,
    ) -> BoxFuture<'a, Result<Payment, OperatorError>> {
        Box::pin(self.prepare_payment(operator, request))
    }

    fn confirm<'a>(
        &'a self,
        operator: &'a OperatorId,
        id: &'a OperatorPaymentId,
    ) -> BoxFuture<'a, Result<Payment, OperatorError>> {
        Box::pin(self.settle(operator, id, "confirm"))
    }

    fn cancel<'a>(
        &'a self,
        operator: &'a OperatorId,
        id: &'a OperatorPaymentId,
    ) -> BoxFuture<'a, Result<Payment, OperatorError>> {
        Box::pin(self.settle(operator, id, "cancel"))
    }

    fn get<'a>(
        &'a self,
        operator: &'a OperatorId,
        id: &'a OperatorPaymentId,
    ) -> BoxFuture<'a, Result<Payment, OperatorError>> {
        Box::pin(self.get_payment(operator, id))
    }

    fn find_by_correlator<'a>(
        &'a self,
        operator: &'a OperatorId,
        client_correlator: &'a str,
        created_around_unix_s: i64,
    ) -> BoxFuture<'a, Result<Option<Payment>, OperatorError>> {
        Box::pin(self.find_payment(operator, client_correlator, created_around_unix_s))
    }

    fn refund<'a>(
        &'a self,
        operator: &'a OperatorId,
        payment: &'a OperatorPaymentId,
        request: &'a RefundRequest,
    ) -> BoxFuture<'a, Result<Refund, OperatorError>> {
        Box::pin(async move {
            let refund = self.create_refund(operator, payment, request).await?;
            if refund.status != super::RefundStatus::Processing {
                return Ok(refund);
            }
            // An asynchronous operator: one read now, else the caller asks again later.
            match self.read_refund(operator, payment, &refund.id).await {
                Ok(read) => Ok(read),
                Err(_) => Ok(refund),
            }
        })
    }

    fn refunds<'a>(
        &'a self,
        operator: &'a OperatorId,
        payment: &'a OperatorPaymentId,
    ) -> BoxFuture<'a, Result<Vec<Refund>, OperatorError>> {
        Box::pin(self.list_refunds(operator, payment))
    }
}

impl CamaraClient {
    /// A refund's `processing` answer is read again here, by id.
    async fn read_refund(
        &self,
        operator: &OperatorId,
        payment: &OperatorPaymentId,
        refund: &str,
    ) -> Result<Refund, OperatorError> {
        let route = self.route(operator)?;
        let url = refund_url(route, payment, &[refund]);
        let reply = self.send(Call::Read, route, Method::GET, url, None).await?;
        if reply.status != StatusCode::OK {
            return Err(error_reply(Call::Read, reply.status, &reply.body));
        }
        parse_refund(&reply.body)
    }
}

impl SimSwap for CamaraClient {
    fn swapped_within<'a>(
        &'a self,
        operator: &'a OperatorId,
        phone: &'a PhoneNumber,
        max_age_hours: u32,
    ) -> BoxFuture<'a, Result<bool, OperatorError>> {
        Box::pin(self.check_sim_swap(operator, phone, max_age_hours))
    }
}

/// A request body of any of our wire types, serialized once when sent.
trait ErasedBody {
    fn to_json(&self) -> Result<Vec<u8>, String>;
}

impl<T: Serialize> ErasedBody for T {
    fn to_json(&self) -> Result<Vec<u8>, String> {
        serde_json::to_vec(self).map_err(|error| format!("cannot encode the request: {error}"))
    }
}

fn route(operator: &OperatorId, endpoint: &OperatorEndpoint) -> Result<Route, OperatorError> {
    let invalid = |why: &str| OperatorError::Protocol(format!("endpoint of {operator}: {why}"));
    let base = Url::parse(&endpoint.base_url).map_err(|error| invalid(&error.to_string()))?;
    if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
        return Err(invalid("base_url must be an http(s) URL"));
    }
    let auth = Auth::new(&endpoint.credentials).map_err(|why| invalid(&why))?;
    let described = match &endpoint.credentials {
        Credentials::Bearer(_) => AuthDescription::StaticToken,
        Credentials::ClientCredentials(client) => AuthDescription::ClientCredentials {
            token_url: client.token_url.clone(),
            client_id: client.client_id.clone(),
            scope: client.scope.clone(),
        },
    };
    Ok(Route {
        base,
        auth,
        described,
        health: Arc::new(CallHealth::default()),
    })
}

fn billing_url(route: &Route, segments: &[&str]) -> Url {
    let mut url = route.base.clone();
    extend_path(&mut url, &CARRIER_BILLING_PATH, segments);
    url
}

fn refund_url(route: &Route, payment: &OperatorPaymentId, rest: &[&str]) -> Url {
    let mut url = route.base.clone();
    let mut segments = vec!["payments", payment.as_str(), "refunds"];
    segments.extend_from_slice(rest);
    extend_path(&mut url, &REFUND_PATH, &segments);
    url
}

fn parse_refund(body: &[u8]) -> Result<Refund, OperatorError> {
    serde_json::from_slice::<wire::RefundIn>(body)
        .map_err(|error| error.to_string())
        .and_then(wire::RefundIn::into_refund)
        .map_err(|error| OperatorError::Protocol(format!("refund reply: {error}")))
}

/// Appends path segments, percent-encoding each, so an operator's payment id cannot break the path.
fn extend_path(url: &mut Url, prefix: &[&str], segments: &[&str]) {
    // `route` refused URLs that cannot be a base, so the path is always extendable here.
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(prefix).extend(segments);
    }
}

fn parse_payment(body: &[u8]) -> Result<Payment, OperatorError> {
    serde_json::from_slice::<PaymentIn>(body)
        .map_err(|error| error.to_string())
        .and_then(PaymentIn::into_payment)
        .map_err(|error| OperatorError::Protocol(format!("payment reply: {error}")))
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn rfc3339(unix_s: i64) -> Result<String, OperatorError> {
    jiff::Timestamp::from_second(unix_s)
        .map(|timestamp| timestamp.to_string())
        .map_err(|error| OperatorError::Protocol(format!("time {unix_s}: {error}")))
}
