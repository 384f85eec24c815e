//! Charging a passenger's phone balance through the mobile operator, refunding such a charge,
//! and asking the operator whether the SIM card was swapped recently.
//!
//! The traits [`CarrierBilling`] and [`SimSwap`] are what the use cases see; [`CamaraClient`]
//! implements both over HTTP with the CAMARA wire format (Carrier Billing 0.5.0 with its
//! Refund 0.3.0, SIM Swap 2.1.0). Every error is sorted into what the caller must do next: [`OperatorError`] says
//! whether money may have moved (`OutcomeUnknown`: look the payment up), surely did not
//! (`Unavailable`, `Denied`), or our request was wrong (`Protocol`).
//!
//! # The denial-reason convention
//!
//! CAMARA refuses a payment with `403 {"code": "CARRIER_BILLING.PAYMENT_DENIED", "message": …}`
//! and leaves the reason free text. Kazakh operators put a reason token first in `message`,
//! followed by a colon and a human text, e.g.
//! `"SIM_SWAPPED_RECENTLY: SIM card replaced less than 24 hours ago."`. The tokens are:
//!
//! | token | [`DenialReason`] |
//! |---|---|
//! | `CORPORATE_NUMBER` | `CorporateNumber` |
//! | `UNPAID_TRUST_PAYMENT` | `UnpaidTrustPayment` |
//! | `NEVER_TOPPED_UP` | `NeverToppedUp` |
//! | `STARTING_BALANCE_ONLY` | `StartingBalanceOnly` |
//! | `SIM_SWAPPED_RECENTLY` | `SimSwappedRecently` |
//! | `INSUFFICIENT_BALANCE` | `InsufficientBalance` |
//!
//! Any other message becomes `DenialReason::Other(message)`. The other business refusals of the
//! spec (`404 IDENTIFIER_NOT_FOUND` for a number the operator does not serve, `422
//! CARRIER_BILLING.UNAUTHORIZED_AMOUNT`, `…USER_AMOUNT_THRESHOLD_OVERPASSED`,
//! `SERVICE_NOT_APPLICABLE`) are `Denied(Other("<CODE>: <message>"))`, from `prepare` and from
//! `swapped_within` alike: nothing was charged and the operator will not serve the request.

mod camara;
pub mod oauth;
mod reply;
mod wire;

use std::future::Future;
use std::pin::Pin;

use domain::{OperatorId, PhoneNumber, Tenge};

pub use camara::{
    AuthDescription, CONNECT_TIMEOUT_MS, CamaraClient, CamaraDescription, FIND_NEAR_S,
    FIND_PAGES_MAX, FIND_PER_PAGE, FIND_WINDOW_S, OperatorEndpoint, RESPONSE_BODY_BYTES_MAX,
    TIMEOUT_MS,
};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The operator's id of a payment (`paymentId`), opaque to us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorPaymentId(String);

impl OperatorPaymentId {
    pub fn new(id: String) -> OperatorPaymentId {
        OperatorPaymentId(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A charge to reserve on a phone balance.
#[derive(Clone, Debug)]
pub struct PaymentRequest {
    /// Our idempotency key for this charge: a retry with the same correlator never charges twice.
    pub client_correlator: String,
    pub phone: PhoneNumber,
    /// Positive; sent as a decimal number of tenge, exact to the tiyn.
    pub amount: Tenge,
    /// Shown on the subscriber's bill.
    pub description: String,
    pub merchant_id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    Processing,
    PendingValidation,
    Reserved,
    Succeeded,
    Denied,
    Cancelled,
}

/// Why the operator refused to charge. See the module docs for how it travels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DenialReason {
    CorporateNumber,
    UnpaidTrustPayment,
    NeverToppedUp,
    StartingBalanceOnly,
    SimSwappedRecently,
    InsufficientBalance,
    /// The operator has no subscriber with this number (`404 IDENTIFIER_NOT_FOUND`): not theirs,
    /// or ported to another operator.
    NumberUnknown,
    Other(String),
}

const DENIAL_TOKENS: [(&str, DenialReason); 6] = [
    ("CORPORATE_NUMBER", DenialReason::CorporateNumber),
    ("UNPAID_TRUST_PAYMENT", DenialReason::UnpaidTrustPayment),
    ("NEVER_TOPPED_UP", DenialReason::NeverToppedUp),
    ("STARTING_BALANCE_ONLY", DenialReason::StartingBalanceOnly),
    ("SIM_SWAPPED_RECENTLY", DenialReason::SimSwappedRecently),
    ("INSUFFICIENT_BALANCE", DenialReason::InsufficientBalance),
];

impl DenialReason {
    /// Reads the reason token at the start of a `PAYMENT_DENIED` message; anything else is
    /// `Other` with the message kept for the logs.
    pub fn from_operator_message(message: &str) -> DenialReason {
        let message = message.trim();
        let token = message.split(':').next().unwrap_or_default().trim();
        DENIAL_TOKENS
            .iter()
            .find(|(known, _)| *known == token)
            .map(|(_, reason)| reason.clone())
            .unwrap_or_else(|| DenialReason::Other(message.to_owned()))
    }

    /// The reason token of the convention, `None` for `Other`.
    pub fn token(&self) -> Option<&'static str> {
        DENIAL_TOKENS
            .iter()
            .find(|(_, reason)| reason == self)
            .map(|(token, _)| *token)
    }
}

/// A refund of a captured payment, in full (Carrier Billing Refund 0.3.0, `type: total`).
#[derive(Clone, Debug)]
pub struct RefundRequest {
    /// Our idempotency key for this refund: a retry with the same correlator never refunds twice.
    pub client_correlator: String,
    /// Shown to the subscriber and kept for disputes.
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundStatus {
    /// Accepted, not yet given back (an operator that refunds asynchronously): read it again.
    Processing,
    Succeeded,
    Denied,
}

/// A refund as the operator sees it.
#[derive(Clone, Debug)]
pub struct Refund {
    pub id: String,
    pub status: RefundStatus,
    pub client_correlator: Option<String>,
}

/// A payment as the operator sees it.
#[derive(Clone, Debug)]
pub struct Payment {
    pub id: OperatorPaymentId,
    pub status: PaymentStatus,
    pub client_correlator: Option<String>,
    pub amount: Tenge,
}

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The operator refused the charge (`403 CARRIER_BILLING.PAYMENT_DENIED` and the like):
    /// nothing was charged.
    #[error("the operator refused the payment: {0:?}")]
    Denied(DenialReason),
    /// The request may have been carried out (timeout, 5xx, connection lost after sending,
    /// `400 "clientCorrelator already exist"`): look the payment up before deciding anything.
    #[error("the outcome at the operator is unknown: {0}")]
    OutcomeUnknown(String),
    /// Nothing happened at the operator (could not connect, 503 or 429 before processing, or a
    /// read failed): safe to retry.
    #[error("the operator is unavailable: {0}")]
    Unavailable(String),
    /// The operator does not know this payment id.
    #[error("the operator does not know this payment")]
    NotFound,
    /// A reply we cannot understand, or a 4xx that says our request or our configuration was wrong.
    #[error("protocol error with the operator: {0}")]
    Protocol(String),
    #[error("no endpoint is configured for operator {0}")]
    UnknownOperator(OperatorId),
}

pub trait CarrierBilling: Send + Sync {
    /// `POST /payments/prepare`: reserves the amount. `Ok` carries status `Reserved` (or
    /// `PendingValidation`/`Processing` at an operator that validates or works asynchronously);
    /// a refusal is always `Err(Denied)`.
    fn prepare<'a>(
        &'a self,
        operator: &'a OperatorId,
        request: &'a PaymentRequest,
    ) -> BoxFuture<'a, Result<Payment, OperatorError>>;

    /// `POST /payments/{id}/confirm`: captures the reservation. A confirm that was already done
    /// (`409 PAYMENT_CONFIRMED`, e.g. a retry after a lost reply) returns the payment as it is
    /// now, as does one for a payment already cancelled: the caller checks `status`.
    fn confirm<'a>(
        &'a self,
        operator: &'a OperatorId,
        id: &'a OperatorPaymentId,
    ) -> BoxFuture<'a, Result<Payment, OperatorError>>;

    /// `POST /payments/{id}/cancel`: releases the reservation. Like `confirm`, a second cancel or
    /// a cancel that came too late returns the payment as it is: check `status`.
    fn cancel<'a>(
        &'a self,
        operator: &'a OperatorId,
        id: &'a OperatorPaymentId,
    ) -> BoxFuture<'a, Result<Payment, OperatorError>>;

    /// `GET /payments/{id}`. Never `OutcomeUnknown`: a failed read changed nothing.
    fn get<'a>(
        &'a self,
        operator: &'a OperatorId,
        id: &'a OperatorPaymentId,
    ) -> BoxFuture<'a, Result<Payment, OperatorError>>;

    /// Finds our payment by its clientCorrelator when the prepare reply was lost (GET /payments
    /// with a creation-date window of ±[`FIND_WINDOW_S`] around `created_around_unix_s`, paged,
    /// matched on clientCorrelator; the seconds around the request first — [`FIND_NEAR_S`]
    /// before, the timeout and as much after —, then the rest). `Ok(None)` means the operator
    /// surely has no such payment in the window; a part holding more than [`FIND_PAGES_MAX`]
    /// pages, with the payment found nowhere, is `Unavailable`.
    fn find_by_correlator<'a>(
        &'a self,
        operator: &'a OperatorId,
        client_correlator: &'a str,
        created_around_unix_s: i64,
    ) -> BoxFuture<'a, Result<Option<Payment>, OperatorError>>;

    /// `POST /payments/{id}/refunds` (Carrier Billing Refund 0.3.0), a total refund. A refusal
    /// (`403 …REFUND_DENIED`, `…PAYMENT_NOT_ELIGIBLE_FOR_REFUND`, `422 …`) is `Denied`; a lost
    /// reply or `409 ALREADY_EXISTS` is `OutcomeUnknown`: look it up with [`Self::refunds`].
    fn refund<'a>(
        &'a self,
        operator: &'a OperatorId,
        payment: &'a OperatorPaymentId,
        request: &'a RefundRequest,
    ) -> BoxFuture<'a, Result<Refund, OperatorError>>;

    /// `GET /payments/{id}/refunds`: every refund of the payment. Never `OutcomeUnknown`.
    fn refunds<'a>(
        &'a self,
        operator: &'a OperatorId,
        payment: &'a OperatorPaymentId,
    ) -> BoxFuture<'a, Result<Vec<Refund>, OperatorError>>;
}

pub trait SimSwap: Send + Sync {
    /// CAMARA SIM Swap 2.1.0 POST /check {phoneNumber, maxAge} → swapped. `max_age_hours` is
    /// 1 to 2400. A number the operator does not serve is `Denied(Other(…))`.
    fn swapped_within<'a>(
        &'a self,
        operator: &'a OperatorId,
        phone: &'a PhoneNumber,
        max_age_hours: u32,
    ) -> BoxFuture<'a, Result<bool, OperatorError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_reason_token_and_keeps_unknown_text() {
        for (token, reason) in DENIAL_TOKENS.iter() {
            let message = format!("{token}: some human text");
            assert_eq!(&DenialReason::from_operator_message(&message), reason);
            assert_eq!(reason.token(), Some(*token));
        }
        assert_eq!(
            DenialReason::from_operator_message("CORPORATE_NUMBER"),
            DenialReason::CorporateNumber
        );
        assert_eq!(
            DenialReason::from_operator_message("Payment denied by business."),
            DenialReason::Other("Payment denied by business.".to_owned())
        );
        assert_eq!(
            DenialReason::from_operator_message("corporate_number: x"),
            DenialReason::Other("corporate_number: x".to_owned())
        );
    }
}
