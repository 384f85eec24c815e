//! The refund endpoints of the simulated operators, CAMARA Carrier Billing Refund 0.3.0
//! (`/{operator}/carrier-billing-refund/v0.3/payments/{paymentId}/refunds…`): create a total or
//! partial refund of a captured payment, list a payment's refunds, read one refund, and the
//! amount not yet refunded. The books are in `state::refunds`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::Endpoint;
use super::camara::{CURRENCY, TEXT_BYTES_MAX, amount_from_text, rfc3339, schema_error};
use super::server::{Shared, json_response, serve};
use super::state::{CamaraError, RefundInput, RefundView};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    const REFUNDS: &str = "/{operator}/carrier-billing-refund/v0.3/payments/{id}/refunds";
    Router::new()
        .route(REFUNDS, post(create_refund).get(list_refunds))
        .route(
            &format!("{REFUNDS}/remaining-amount"),
            get(remaining_amount),
        )
        .route(&format!("{REFUNDS}/{{refund}}"), get(get_refund))
}

async fn create_refund(
    State(shared): State<Arc<Shared>>,
    Path((operator, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let input = parse_refund(&body);
    let process =
        |state: &mut super::state::State, operator: &_| state.create_refund(operator, &id, input?);
    serve(
        &shared,
        &operator,
        &headers,
        Endpoint::CreateRefund,
        process,
        |view| json_response(StatusCode::CREATED, &RefundOut::from(&view)),
    )
    .await
}

async fn list_refunds(
    State(shared): State<Arc<Shared>>,
    Path((operator, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let process = |state: &mut super::state::State, operator: &_| state.refunds_of(operator, &id);
    serve(
        &shared,
        &operator,
        &headers,
        Endpoint::GetRefunds,
        process,
        |views: Vec<RefundView>| {
            let body: Vec<RefundOut> = views.iter().map(RefundOut::from).collect();
            json_response(StatusCode::OK, &body)
        },
    )
    .await
}

async fn get_refund(
    State(shared): State<Arc<Shared>>,
    Path((operator, id, refund)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let process =
        |state: &mut super::state::State, operator: &_| state.refund(operator, &id, &refund);
    serve(
        &shared,
        &operator,
        &headers,
        Endpoint::GetRefunds,
        process,
        |view| json_response(StatusCode::OK, &RefundOut::from(&view)),
    )
    .await
}

async fn remaining_amount(
    State(shared): State<Arc<Shared>>,
    Path((operator, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let process = |state: &mut super::state::State, operator: &_| {
        let refunded: i64 = state
            .refunds_of(operator, &id)?
            .iter()
            .map(|r| r.amount.tiyn())
            .sum();
        let payment = state.payment(operator, &id)?;
        Ok(domain::Tenge::from_tiyn(payment.amount.tiyn() - refunded))
    };
    serve(
        &shared,
        &operator,
        &headers,
        Endpoint::GetRefunds,
        process,
        |left: domain::Tenge| {
            let amount = RawValue::from_string(left.to_decimal()).unwrap_or_default();
            json_response(
                StatusCode::OK,
                &serde_json::json!({ "amount": amount, "currency": CURRENCY }),
            )
        },
    )
    .await
}

// ---- bodies ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRefundIn {
    #[serde(rename = "type")]
    kind: String,
    reason: Option<String>,
    amount_transaction: RefundTransactionIn,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefundTransactionIn {
    client_correlator: Option<String>,
    refund_amount: RefundAmountIn,
    reference_code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefundAmountIn {
    charging_information: Option<ChargingInformationIn>,
}

#[derive(Deserialize)]
struct ChargingInformationIn {
    amount: Box<RawValue>,
    currency: String,
}

fn parse_refund(body: &[u8]) -> Result<RefundInput, CamaraError> {
    let body: CreateRefundIn = serde_json::from_slice(body).map_err(schema_error)?;
    let transaction = body.amount_transaction;
    let amount = match (
        body.kind.as_str(),
        transaction.refund_amount.charging_information,
    ) {
        ("total", _) => None,
        ("partial", Some(charging)) => {
            if charging.currency != CURRENCY {
                return Err(CamaraError::invalid_argument(
                    "Currency is unknown or not authorized.",
                ));
            }
            Some(amount_from_text(charging.amount.get())?)
        }
        ("partial", None) => {
            return Err(CamaraError::invalid_argument(
                "A partial refund needs refundAmount.chargingInformation.",
            ));
        }
        _ => {
            return Err(CamaraError::invalid_argument(
                "type must be total or partial.",
            ));
        }
    };
    let texts = [
        Some(&transaction.reference_code),
        transaction.client_correlator.as_ref(),
        body.reason.as_ref(),
    ];
    if texts.iter().flatten().any(|t| t.len() > TEXT_BYTES_MAX) {
        return Err(CamaraError::invalid_argument(format!(
            "A text field is longer than {TEXT_BYTES_MAX} bytes."
        )));
    }
    Ok(RefundInput {
        client_correlator: transaction.client_correlator,
        reference_code: transaction.reference_code,
        reason: body.reason,
        amount,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefundOut {
    refund_id: String,
    refund_status: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    refund_creation_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    amount_transaction: RefundTransactionOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefundTransactionOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    client_correlator: Option<String>,
    refund_amount: RefundAmountOut,
    reference_code: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefundAmountOut {
    charging_information: ChargingInformationOut,
}

#[derive(Serialize)]
struct ChargingInformationOut {
    amount: Box<RawValue>,
    currency: &'static str,
    description: String,
}

impl From<&RefundView> for RefundOut {
    fn from(view: &RefundView) -> RefundOut {
        let amount = RawValue::from_string(view.amount.to_decimal()).unwrap_or_default();
        RefundOut {
            refund_id: view.id.clone(),
            refund_status: view.status.wire(),
            kind: if view.total { "total" } else { "partial" },
            refund_creation_date: rfc3339(view.created_unix_s),
            refund_date: view.refunded_unix_s.map(rfc3339),
            reason: view.reason.clone(),
            amount_transaction: RefundTransactionOut {
                client_correlator: view.client_correlator.clone(),
                refund_amount: RefundAmountOut {
                    charging_information: ChargingInformationOut {
                        amount,
                        currency: CURRENCY,
                        description: format!("refund of payment {}", view.payment_id),
                    },
                },
                reference_code: view.reference_code.clone(),
            },
        }
    }
}
