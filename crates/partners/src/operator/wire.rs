//! The CAMARA JSON bodies, as serde types private to this crate, and the exact conversion of
//! amounts between the wire's decimal numbers and our integer tiyn.
//!
//! An amount is a JSON number (`90.00`). It is written from `Tenge::to_decimal` and read from
//! the number's own text through `RawValue`, so it never passes through an f64.

use domain::Tenge;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{OperatorPaymentId, Payment, PaymentStatus, Refund, RefundStatus};

/// The only currency a Kazakh operator charges in.
pub const CURRENCY: &str = "KZT";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepareBody<'a> {
    pub amount_transaction: AmountTransactionOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmountTransactionOut<'a> {
    pub phone_number: &'a str,
    pub client_correlator: &'a str,
    pub payment_amount: PaymentAmountOut<'a>,
    /// Our own reference for disputes; we use the client correlator.
    pub reference_code: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAmountOut<'a> {
    pub charging_information: ChargingInformationOut<'a>,
    pub charging_meta_data: ChargingMetaDataOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingInformationOut<'a> {
    pub amount: Box<RawValue>,
    pub currency: &'static str,
    pub description: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingMetaDataOut<'a> {
    pub merchant_identifier: &'a str,
}

/// The body of confirm and cancel: the spec's `PhoneNumber` object, empty because our
/// two-legged token names no subscriber and the payment id already does.
#[derive(Serialize)]
pub struct EmptyBody {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimSwapCheckBody<'a> {
    pub phone_number: &'a str,
    pub max_age: u32,
}

#[derive(Deserialize)]
pub struct SimSwapCheckReply {
    pub swapped: bool,
}

/// `Payment`, `PaymentCreated` and `BodyAmountReservationTransactionForReserve` share these fields.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentIn {
    pub payment_id: String,
    pub payment_status: String,
    pub amount_transaction: AmountTransactionIn,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmountTransactionIn {
    pub client_correlator: Option<String>,
    pub payment_amount: PaymentAmountIn,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAmountIn {
    pub charging_information: ChargingInformationIn,
}

#[derive(Deserialize)]
pub struct ChargingInformationIn {
    pub amount: Box<RawValue>,
    pub currency: String,
}

/// Carrier Billing Refund 0.3.0 `CreateTotalRefund`: the whole payment back.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TotalRefundBody<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub reason: &'a str,
    pub amount_transaction: TotalRefundTransactionOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TotalRefundTransactionOut<'a> {
    pub client_correlator: &'a str,
    /// `RefundAmountTotalRefund`: nothing to say, the operator refunds what it captured.
    pub refund_amount: EmptyBody,
    pub reference_code: &'a str,
}

/// `Refund`: the fields we read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundIn {
    pub refund_id: String,
    pub refund_status: String,
    pub amount_transaction: Option<RefundTransactionIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundTransactionIn {
    pub client_correlator: Option<String>,
}

impl RefundIn {
    pub fn into_refund(self) -> Result<Refund, String> {
        let status = match self.refund_status.as_str() {
            "processing" => RefundStatus::Processing,
            "succeeded" => RefundStatus::Succeeded,
            "denied" => RefundStatus::Denied,
            other => {
                return Err(format!(
                    "unknown refundStatus {:?}",
                    other.chars().take(32).collect::<String>()
                ));
            }
        };
        Ok(Refund {
            id: self.refund_id,
            status,
            client_correlator: self.amount_transaction.and_then(|t| t.client_correlator),
        })
    }
}

/// CAMARA `ErrorInfo`; every field optional because a proxy in between may answer instead.
#[derive(Deserialize, Default)]
pub struct ErrorInfo {
    pub code: Option<String>,
    pub message: Option<String>,
}

pub fn amount_to_wire(amount: Tenge) -> Result<Box<RawValue>, String> {
    if !amount.is_positive() {
        return Err(format!("amount {} is not positive", amount.to_decimal()));
    }
    RawValue::from_string(amount.to_decimal()).map_err(|error| format!("amount: {error}"))
}

/// Reads a JSON number's text as tenge, exact to the tiyn. CAMARA allows three decimals; a third
/// decimal other than zero (or trailing zeros beyond it) is not a tiyn amount and is refused, as
/// are exponents and signs.
pub fn amount_from_wire(text: &str) -> Result<Tenge, String> {
    let refuse = || {
        format!(
            "amount {} is not an exact sum of tiyn",
            text.chars().take(32).collect::<String>()
        )
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let kept = fraction.get(..2).unwrap_or(fraction);
    let dropped = fraction.get(2..).unwrap_or("");
    if !dropped.bytes().all(|b| b == b'0') {
        return Err(refuse());
    }
    let decimal = if kept.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{kept}")
    };
    Tenge::parse_decimal(&decimal).map_err(|_| refuse())
}

pub fn payment_status(text: &str) -> Option<PaymentStatus> {
    Some(match text {
        "processing" => PaymentStatus::Processing,
        "pending_validation" => PaymentStatus::PendingValidation,
        "reserved" => PaymentStatus::Reserved,
        "succeeded" => PaymentStatus::Succeeded,
        "denied" => PaymentStatus::Denied,
        "cancelled" => PaymentStatus::Cancelled,
        _ => return None,
    })
}

impl PaymentIn {
    pub fn into_payment(self) -> Result<Payment, String> {
        let status = payment_status(&self.payment_status).ok_or_else(|| {
            format!(
                "unknown paymentStatus {:?}",
                self.payment_status.chars().take(32).collect::<String>()
            )
        })?;
        let charging = self.amount_transaction.payment_amount.charging_information;
        if charging.currency != CURRENCY {
            return Err(format!(
                "payment in {:?}, not {CURRENCY}",
                charging.currency.chars().take(8).collect::<String>()
            ));
        }
        Ok(Payment {
            id: OperatorPaymentId::new(self.payment_id),
            status,
            client_correlator: self.amount_transaction.client_correlator,
            amount: amount_from_wire(charging.amount.get())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_both_ways() {
        assert_eq!(
            amount_to_wire(Tenge::from_tiyn(9050)).unwrap().get(),
            "90.50"
        );
        assert_eq!(amount_to_wire(Tenge::from_tiyn(1)).unwrap().get(), "0.01");
        assert!(amount_to_wire(Tenge::ZERO).is_err());
        for (text, tiyn) in [
            ("90", 9000),
            ("90.5", 9050),
            ("90.50", 9050),
            ("90.500", 9050),
            ("0.01", 1),
            ("999999.99", 99_999_999),
        ] {
            assert_eq!(amount_from_wire(text), Ok(Tenge::from_tiyn(tiyn)), "{text}");
        }
        for text in ["90.505", "9E1", "-90", "1e-2", "", "1000000.01"] {
            assert!(amount_from_wire(text).is_err(), "{text}");
        }
    }
}
