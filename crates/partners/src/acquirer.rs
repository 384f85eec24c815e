//! The card acquirer that takes passengers' bank cards for top-ups (Halyk ePay is the local
//! model): we obtain a token (OAuth 2.0 client credentials), create an order under our own id
//! with its amount in KZT, a description, the links the payment page returns to and the URL of
//! our callback, and send the passenger to the acquirer's hosted payment page — we never see a
//! card number. The acquirer then calls our callback, signed with HMAC-SHA256 over the exact
//! body under the secret we share ([`verify_callback`]), and answers a status query
//! ([`Acquirer::status`]) for an order whose callback never came.
//!
//! Wire format: `POST /oauth2/token` (form: `grant_type=client_credentials`, `client_id`,
//! `client_secret`) → `{access_token, expires_in}`; `POST /orders` (JSON `{invoice_id, amount,
//! currency, description, back_link, failure_back_link, post_link}`, the amount as the decimal
//! text `500.00`) → `{invoice_id, status, payment_url}`, the same order for a repeated
//! `invoice_id`; `GET /orders/{invoice_id}` → `{invoice_id, status, amount, currency,
//! reference, reason}` where status is `new`, `charged`, `declined` or `expired`; the callback's
//! body is `{invoice_id, status, amount, currency, reference, card_mask, reason}` with the
//! header `X-Signature: sha256=<hex>`. Errors are sorted as the operator client's are:
//! [`AcquirerError::OutcomeUnknown`] means look the order up before deciding anything.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::Tenge;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::health::{CallHealth, FailureKind};
use crate::operator::BoxFuture;

/// The header carrying the callback's signature.
pub const SIGNATURE_HEADER: &str = "x-signature";
/// A callback body is at most this many bytes.
pub const CALLBACK_BODY_BYTES_MAX: usize = 4_096;
/// An answer of the acquirer is read up to this many bytes.
pub const RESPONSE_BODY_BYTES_MAX: usize = 64 * 1024;
/// A token is renewed this long before the acquirer says it expires.
pub const TOKEN_RENEW_BEFORE_S: u64 = 30;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AcquirerError {
    /// No order was made (refused before it reached the acquirer, or the acquirer said no).
    #[error("the acquirer is unavailable: {0}")]
    Unavailable(String),
    /// The request may or may not have been acted on: ask the order's status.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// The acquirer does not know the order.
    #[error("the acquirer does not know order {0}")]
    UnknownOrder(String),
    /// Our request or its answer broke the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
}

/// An order to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// Our id, the acquirer's `invoice_id`: a repeat makes no second order.
    pub invoice_id: String,
    pub amount: Tenge,
    pub description: String,
    pub back_link: String,
    pub failure_back_link: String,
    pub post_link: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    /// Created, not paid yet.
    New,
    /// The card was charged.
    Charged,
    Declined,
    /// Never paid, and now it cannot be.
    Expired,
}

impl OrderStatus {
    pub fn parse(text: &str) -> Option<OrderStatus> {
        match text {
            "new" => Some(OrderStatus::New),
            "charged" => Some(OrderStatus::Charged),
            "declined" => Some(OrderStatus::Declined),
            "expired" => Some(OrderStatus::Expired),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "new",
            OrderStatus::Charged => "charged",
            OrderStatus::Declined => "declined",
            OrderStatus::Expired => "expired",
        }
    }
}

/// An order as the acquirer holds it (from a status query or a callback).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub invoice_id: String,
    pub status: OrderStatus,
    pub amount: Tenge,
    /// The acquirer's reference of the charge (its settlement report names it).
    pub reference: Option<String>,
    /// Why it was declined (`insufficient_funds`, `declined`).
    pub reason: Option<String>,
}

/// An order just created: where to send the passenger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedOrder {
    pub invoice_id: String,
    pub payment_url: String,
}

/// What the use cases see of the acquirer.
pub trait Acquirer: Send + Sync {
    /// Our id of this acquirer (`halyk-epay`): its ledger account and its callback's path.
    fn id(&self) -> &str;
    fn create_order<'a>(
        &'a self,
        order: &'a OrderRequest,
    ) -> BoxFuture<'a, Result<CreatedOrder, AcquirerError>>;
    fn status<'a>(&'a self, invoice_id: &'a str) -> BoxFuture<'a, Result<Order, AcquirerError>>;
    /// Reads a callback if its signature is the acquirer's.
    fn verify_callback(&self, body: &[u8], signature: &str) -> Result<Order, AcquirerError>;
}

/// HMAC-SHA256 of the body under the shared secret, as the header carries it: `sha256=<hex>`.
pub fn sign_callback(secret: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(7 + digest.len() * 2);
    hex.push_str("sha256=");
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[derive(Serialize, Deserialize)]
pub struct OrderWire {
    pub invoice_id: String,
    pub status: String,
    pub amount: String,
    pub currency: String,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub card_mask: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

fn order_of(wire: OrderWire) -> Result<Order, AcquirerError> {
    let protocol =
        |what: &str| AcquirerError::Protocol(format!("order {}: {what}", wire.invoice_id));
    if wire.currency != "KZT" {
        return Err(protocol("currency is not KZT"));
    }
    Ok(Order {
        status: OrderStatus::parse(&wire.status).ok_or_else(|| protocol("unknown status"))?,
        amount: Tenge::parse_decimal(&wire.amount).map_err(|_| protocol("amount"))?,
        invoice_id: wire.invoice_id,
        reference: wire.reference,
        reason: wire.reason,
    })
}

/// Checks a callback's signature (in constant time) and reads its body.
pub fn verify_callback(
    secret: &[u8],
    body: &[u8],
    signature: &str,
) -> Result<Order, AcquirerError> {
    let bad = || AcquirerError::Protocol("callback signature".into());
    if body.len() > CALLBACK_BODY_BYTES_MAX {
        return Err(AcquirerError::Protocol("callback body too large".into()));
    }
    let hex = signature.trim().strip_prefix("sha256=").ok_or_else(bad)?;
    let tag = unhex(hex).ok_or_else(bad)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| bad())?;
    mac.update(body);
    mac.verify_slice(&tag).map_err(|_| bad())?;
    let wire: OrderWire = serde_json::from_slice(body)
        .map_err(|e| AcquirerError::Protocol(format!("callback body: {e}")))?;
    order_of(wire)
}

/// Where the acquirer is and who we are there.
#[derive(Clone, Debug)]
pub struct AcquirerConfig {
    pub id: String,
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// The secret the callbacks are signed with.
    pub callback_secret: String,
}

/// The acquirer over HTTP.
pub struct AcquirerClient {
    config: AcquirerConfig,
    http: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
    health: Arc<CallHealth>,
}

/// The acquirer as the client reaches it, without its secrets, and how its calls have gone.
#[derive(Clone, Debug)]
pub struct AcquirerDescription {
    pub id: String,
    pub base_url: String,
    /// Our merchant's client id there (not a secret; the secrets are never described).
    pub client_id: String,
    pub health: Arc<CallHealth>,
}

/// What a failed call says of the link (an unknown order is an answer, not a failure).
fn failure_kind(error: &AcquirerError) -> Option<FailureKind> {
    match error {
        AcquirerError::Unavailable(_) => Some(FailureKind::Unreachable),
        AcquirerError::OutcomeUnknown(_) => Some(FailureKind::NoAnswer),
        AcquirerError::Protocol(_) => Some(FailureKind::Protocol),
        AcquirerError::UnknownOrder(_) => None,
    }
}

#[derive(Deserialize)]
struct TokenWire {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Serialize)]
struct CreateWire<'a> {
    invoice_id: &'a str,
    amount: String,
    currency: &'static str,
    description: &'a str,
    back_link: &'a str,
    failure_back_link: &'a str,
    post_link: &'a str,
}

#[derive(Deserialize)]
struct CreatedWire {
    invoice_id: String,
    payment_url: String,
}

impl AcquirerClient {
    pub fn new(config: AcquirerConfig, timeout: Duration) -> Result<AcquirerClient, AcquirerError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| AcquirerError::Protocol(e.to_string()))?;
        Ok(AcquirerClient {
            config,
            http,
            token: Mutex::new(None),
            health: Arc::new(CallHealth::default()),
        })
    }

    /// Where the acquirer is and who we are there (no secret), with the live counters.
    pub fn describe(&self) -> AcquirerDescription {
        AcquirerDescription {
            id: self.config.id.clone(),
            base_url: self.config.base_url.clone(),
            client_id: self.config.client_id.clone(),
            health: Arc::clone(&self.health),
        }
    }

    fn counted<T>(
        &self,
        started: std::time::Instant,
        outcome: Result<T, AcquirerError>,
    ) -> Result<T, AcquirerError> {
        self.health.took(started.elapsed());
        match outcome.as_ref().err().map(failure_kind) {
            Some(Some(kind)) => self.health.failed(kind),
            Some(None) | None => self.health.succeeded(),
        }
        outcome
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn cached_token(&self) -> Option<String> {
        let guard = self.token.lock().ok()?;
        let (token, until) = guard.as_ref()?;
        (Instant::now() < *until).then(|| token.clone())
    }

    async fn token(&self) -> Result<String, AcquirerError> {
        if let Some(token) = self.cached_token() {
            return Ok(token);
        }
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("client_secret", &self.config.client_secret)
            .append_pair("scope", "payment")
            .finish();
        let response = self
            .http
            .post(self.url("/oauth2/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| AcquirerError::Unavailable(format!("token: {e}")))?;
        if !response.status().is_success() {
            return Err(AcquirerError::Unavailable(format!(
                "token: HTTP {}",
                response.status()
            )));
        }
        let token: TokenWire = read_json(response).await?;
        let lifetime_s = token
            .expires_in
            .unwrap_or(300)
            .saturating_sub(TOKEN_RENEW_BEFORE_S);
        if let Ok(mut guard) = self.token.lock() {
            *guard = Some((
                token.access_token.clone(),
                Instant::now() + Duration::from_secs(lifetime_s),
            ));
        }
        Ok(token.access_token)
    }

    fn forget_token(&self) {
        if let Ok(mut guard) = self.token.lock() {
            *guard = None;
        }
    }

    async fn create(&self, order: &OrderRequest) -> Result<CreatedOrder, AcquirerError> {
        let token = self.token().await?;
        let body = CreateWire {
            invoice_id: &order.invoice_id,
            amount: order.amount.to_decimal(),
            currency: "KZT",
            description: &order.description,
            back_link: &order.back_link,
            failure_back_link: &order.failure_back_link,
            post_link: &order.post_link,
        };
        let response = self
            .http
            .post(self.url("/orders"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    AcquirerError::Unavailable(format!("create order: {e}"))
                } else {
                    AcquirerError::OutcomeUnknown(format!("create order: {e}"))
                }
            })?;
        let status = response.status().as_u16();
        match status {
            200 | 201 => {
                let created: CreatedWire = read_json(response).await?;
                Ok(CreatedOrder {
                    invoice_id: created.invoice_id,
                    payment_url: created.payment_url,
                })
            }
            401 => {
                self.forget_token();
                Err(AcquirerError::Unavailable(
                    "create order: token refused".into(),
                ))
            }
            500..=599 => Err(AcquirerError::OutcomeUnknown(format!(
                "create order: HTTP {status}"
            ))),
            _ => Err(AcquirerError::Protocol(format!(
                "create order: HTTP {status}"
            ))),
        }
    }

    async fn query(&self, invoice_id: &str) -> Result<Order, AcquirerError> {
        let token = self.token().await?;
        let response = self
            .http
            .get(self.url(&format!("/orders/{invoice_id}")))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| AcquirerError::Unavailable(format!("status: {e}")))?;
        let status = response.status().as_u16();
        match status {
            200 => order_of(read_json(response).await?),
            404 => Err(AcquirerError::UnknownOrder(invoice_id.to_owned())),
            401 => {
                self.forget_token();
                Err(AcquirerError::Unavailable("status: token refused".into()))
            }
            _ => Err(AcquirerError::Unavailable(format!("status: HTTP {status}"))),
        }
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, AcquirerError> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| AcquirerError::OutcomeUnknown(format!("answer: {e}")))?;
    if bytes.len() > RESPONSE_BODY_BYTES_MAX {
        return Err(AcquirerError::Protocol("answer too large".into()));
    }
    serde_json::from_slice(&bytes).map_err(|e| AcquirerError::Protocol(format!("answer: {e}")))
}

impl Acquirer for AcquirerClient {
    fn id(&self) -> &str {
        &self.config.id
    }

    fn create_order<'a>(
        &'a self,
        order: &'a OrderRequest,
    ) -> BoxFuture<'a, Result<CreatedOrder, AcquirerError>> {
        Box::pin(async move {
            let started = std::time::Instant::now();
            self.counted(started, self.create(order).await)
        })
    }

    fn status<'a>(&'a self, invoice_id: &'a str) -> BoxFuture<'a, Result<Order, AcquirerError>> {
        Box::pin(async move {
            let started = std::time::Instant::now();
            self.counted(started, self.query(invoice_id).await)
        })
    }

    fn verify_callback(&self, body: &[u8], signature: &str) -> Result<Order, AcquirerError> {
        verify_callback(self.config.callback_secret.as_bytes(), body, signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_verifies_only_with_its_own_signature() {
        let body = br#"{"invoice_id":"a1","status":"charged","amount":"500.00","currency":"KZT","reference":"r1"}"#;
        let signature = sign_callback(b"secret-secret-secret", body);
        let order = verify_callback(b"secret-secret-secret", body, &signature).unwrap();
        assert_eq!(order.status, OrderStatus::Charged);
        assert_eq!(order.amount, Tenge::from_whole(500));
        assert!(verify_callback(b"another-secret-0000", body, &signature).is_err());
        let mut tampered = body.to_vec();
        tampered[40] ^= 1;
        assert!(verify_callback(b"secret-secret-secret", &tampered, &signature).is_err());
        assert!(verify_callback(b"secret-secret-secret", body, "sha256=00").is_err());
        assert!(verify_callback(b"secret-secret-secret", body, "").is_err());
    }
}
