//! Sorts every way a call to the operator can fail into what the caller must do next.
//!
//! The same HTTP answer means different things for different calls: a timeout on a prepare may
//! have reserved money (outcome unknown), a timeout on a read changed nothing (unavailable).

use reqwest::StatusCode;

use super::wire::ErrorInfo;
use super::{DenialReason, OperatorError};

/// What kind of call failed, which decides what a failure means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// Creates a payment (prepare): may move money, is made retry-safe by the clientCorrelator.
    Charge,
    /// Confirm or cancel an existing payment: may move money.
    Settle,
    /// Reads a payment or a list of payments: changes nothing.
    Read,
    /// SIM swap check: changes nothing, and its subject is a phone number.
    Check,
    /// Creates a refund: may move money, made retry-safe by the clientCorrelator.
    Refund,
}

impl Call {
    fn moves_money(self) -> bool {
        matches!(self, Call::Charge | Call::Settle | Call::Refund)
    }
}

/// The spec's message for a retry that some operators refuse instead of replaying
/// (`400 INVALID_ARGUMENT "clientCorrelator already exist on server"`).
const CORRELATOR_EXISTS_TEXT: &str = "clientcorrelator already exist";

/// A request that could not be sent, or whose reply could not be read.
pub fn transport_failure(call: Call, error: &reqwest::Error) -> OperatorError {
    let text = error_chain(error);
    if error.is_connect() || error.is_builder() {
        OperatorError::Unavailable(text)
    } else if call.moves_money() {
        OperatorError::OutcomeUnknown(text)
    } else {
        OperatorError::Unavailable(text)
    }
}

/// A reply that is not a success for this call.
pub fn error_reply(call: Call, status: StatusCode, body: &[u8]) -> OperatorError {
    let info: ErrorInfo = serde_json::from_slice(body).unwrap_or_default();
    let code = info.code.as_deref().unwrap_or("");
    let message = info.message.as_deref().unwrap_or("");
    let described = || format!("{} {code}: {message}", status.as_u16());
    let business_refusal =
        || OperatorError::Denied(DenialReason::Other(format!("{code}: {message}")));
    match status.as_u16() {
        400 if call == Call::Charge && is_correlator_exists(code, message) => {
            OperatorError::OutcomeUnknown(described())
        }
        403 if code == "CARRIER_BILLING.PAYMENT_DENIED" => {
            OperatorError::Denied(DenialReason::from_operator_message(message))
        }
        403 if call == Call::Refund && code.starts_with("CARRIER_BILLING_REFUND.") => {
            business_refusal()
        }
        404 if matches!(call, Call::Settle | Call::Read | Call::Refund) => OperatorError::NotFound,
        404 if code == "IDENTIFIER_NOT_FOUND" => OperatorError::Denied(DenialReason::NumberUnknown),
        409 if matches!(call, Call::Charge | Call::Refund) => {
            OperatorError::OutcomeUnknown(described())
        }
        422 if matches!(call, Call::Charge | Call::Check | Call::Refund)
            && !code.ends_with("_IDENTIFIER")
            && !code.is_empty() =>
        {
            business_refusal()
        }
        429 | 503 => OperatorError::Unavailable(described()),
        500..=599 if call.moves_money() => OperatorError::OutcomeUnknown(described()),
        500..=599 => OperatorError::Unavailable(described()),
        _ => OperatorError::Protocol(described()),
    }
}

fn is_correlator_exists(code: &str, message: &str) -> bool {
    code == "INVALID_ARGUMENT"
        && message
            .to_ascii_lowercase()
            .contains(CORRELATOR_EXISTS_TEXT)
}

fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(call: Call, status: u16, code: &str, message: &str) -> OperatorError {
        let body =
            serde_json::json!({"status": status, "code": code, "message": message}).to_string();
        error_reply(call, StatusCode::from_u16(status).unwrap(), body.as_bytes())
    }

    #[test]
    fn sorts_replies_by_what_the_caller_must_do() {
        let denied = reply(
            Call::Charge,
            403,
            "CARRIER_BILLING.PAYMENT_DENIED",
            "CORPORATE_NUMBER: corporate",
        );
        assert!(matches!(
            denied,
            OperatorError::Denied(DenialReason::CorporateNumber)
        ));
        let exists = reply(
            Call::Charge,
            400,
            "INVALID_ARGUMENT",
            "clientCorrelator already exist on server.",
        );
        assert!(matches!(exists, OperatorError::OutcomeUnknown(_)));
        assert!(matches!(
            reply(Call::Charge, 400, "INVALID_ARGUMENT", "Currency"),
            OperatorError::Protocol(_)
        ));
        assert!(matches!(
            reply(Call::Charge, 500, "INTERNAL", ""),
            OperatorError::OutcomeUnknown(_)
        ));
        assert!(matches!(
            reply(Call::Charge, 503, "UNAVAILABLE", ""),
            OperatorError::Unavailable(_)
        ));
        assert!(matches!(
            reply(Call::Read, 504, "TIMEOUT", ""),
            OperatorError::Unavailable(_)
        ));
        assert!(matches!(
            reply(Call::Settle, 404, "NOT_FOUND", ""),
            OperatorError::NotFound
        ));
        assert!(matches!(
            reply(Call::Charge, 404, "IDENTIFIER_NOT_FOUND", "x"),
            OperatorError::Denied(DenialReason::NumberUnknown)
        ));
        assert!(matches!(
            reply(Call::Charge, 404, "NOT_FOUND", "x"),
            OperatorError::Protocol(_)
        ));
        assert!(matches!(
            reply(Call::Charge, 422, "MISSING_IDENTIFIER", "x"),
            OperatorError::Protocol(_)
        ));
        let limit = reply(
            Call::Charge,
            422,
            "CARRIER_BILLING.UNAUTHORIZED_AMOUNT",
            "x",
        );
        assert!(matches!(
            limit,
            OperatorError::Denied(DenialReason::Other(_))
        ));
        assert!(matches!(
            reply(Call::Charge, 401, "UNAUTHENTICATED", "x"),
            OperatorError::Protocol(_)
        ));
        let not_eligible = reply(
            Call::Refund,
            403,
            "CARRIER_BILLING_REFUND.PAYMENT_NOT_ELIGIBLE_FOR_REFUND",
            "x",
        );
        assert!(matches!(
            not_eligible,
            OperatorError::Denied(DenialReason::Other(_))
        ));
        assert!(matches!(
            reply(Call::Refund, 409, "ALREADY_EXISTS", "x"),
            OperatorError::OutcomeUnknown(_)
        ));
        assert!(matches!(
            reply(Call::Refund, 500, "INTERNAL", ""),
            OperatorError::OutcomeUnknown(_)
        ));
        assert!(matches!(
            reply(Call::Refund, 404, "NOT_FOUND", ""),
            OperatorError::NotFound
        ));
        let garbage = error_reply(Call::Settle, StatusCode::BAD_GATEWAY, b"<html>");
        assert!(matches!(garbage, OperatorError::OutcomeUnknown(_)));
    }
}
