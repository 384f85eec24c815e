//! The CAMARA endpoints of the simulated operators and their JSON bodies: Carrier Billing 0.5.0
//! (`/{operator}/carrier-billing/v0.5/payments…`) and SIM Swap 2.1.0 (`/{operator}/sim-swap/v2/check`).
//!
//! Amounts are read from and written as the JSON number's exact text, never through an f64.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::{PhoneNumber, Tenge};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::server::{Shared, header_value, json_response, serve};
use super::state::{CamaraError, ChargeInput, Kind, ListQuery, PaymentView, Settle};
use super::{Endpoint, SettleReply};

pub(super) const CURRENCY: &str = "KZT";
/// Longest clientCorrelator, referenceCode, description or merchant id accepted.
pub(super) const TEXT_BYTES_MAX: usize = 256;
/// `perPage` when the request names none, as in the spec.
const PER_PAGE_DEFAULT: u32 = 10;
/// SIM Swap's `maxAge` bounds and default, in hours.
const MAX_AGE_HOURS_MIN: i64 = 1;
const MAX_AGE_HOURS_MAX: i64 = 2400;
const MAX_AGE_HOURS_DEFAULT: i64 = 240;
/// The largest amount a simulated operator charges at once, in tiyn.
const AMOUNT_TIYN_MAX: i64 = domain::money::AMOUNT_TIYN_MAX;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    const PAYMENTS: &str = "/{operator}/carrier-billing/v0.5/payments";
    Router::new()
        .route(PAYMENTS, post(create_payment).get(list_payments))
        .route(&format!("{PAYMENTS}/prepare"), post(prepare_payment))
        .route(&format!("{PAYMENTS}/{{id}}"), get(get_payment))
        .route(&format!("{PAYMENTS}/{{id}}/confirm"), post(confirm_payment))
        .route(&format!("{PAYMENTS}/{{id}}/cancel"), post(cancel_payment))
        .route("/{operator}/sim-swap/v2/check", post(check_sim_swap))
}

async fn prepare_payment(
    State(shared): State<Arc<Shared>>,
    Path(operator): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    charge(&shared, &operator, &headers, &body, Kind::TwoStep).await
}

async fn create_payment(
    State(shared): State<Arc<Shared>>,
    Path(operator): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    charge(&shared, &operator, &headers, &body, Kind::OneStep).await
}

async fn charge(
    shared: &Shared,
    operator: &str,
    headers: &HeaderMap,
    body: &[u8],
    kind: Kind,
) -> Response {
    let endpoint = if kind == Kind::TwoStep {
        Endpoint::Prepare
    } else {
        Endpoint::CreatePayment
    };
    let input = parse_charge(body, kind);
    let process =
        |state: &mut super::state::State, operator: &_| state.charge(operator, input?, endpoint);
    serve(shared, operator, headers, endpoint, process, |view| {
        json_response(StatusCode::CREATED, &PaymentOut::from(&view))
    })
    .await
}

async fn confirm_payment(
    State(shared): State<Arc<Shared>>,
    Path((operator, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    settle(&shared, &operator, &id, &headers, &body, Settle::Confirm).await
}

async fn cancel_payment(
    State(shared): State<Arc<Shared>>,
    Path((operator, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    settle(&shared, &operator, &id, &headers, &body, Settle::Cancel).await
}

async fn settle(
    shared: &Shared,
    operator: &str,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
    action: Settle,
) -> Response {
    let endpoint = if action == Settle::Confirm {
        Endpoint::Confirm
    } else {
        Endpoint::Cancel
    };
    let phone = parse_settle(body);
    let process = |state: &mut super::state::State, operator: &_| {
        let phone = phone?;
        let view = state.settle(operator, id, phone.as_ref(), action)?;
        Ok((view, state.settle_reply(operator)))
    };
    let render = |(view, reply): (PaymentView, SettleReply)| match reply {
        SettleReply::Empty => StatusCode::ACCEPTED.into_response(),
        SettleReply::Payment => json_response(StatusCode::ACCEPTED, &PaymentOut::from(&view)),
    };
    serve(shared, operator, headers, endpoint, process, render).await
}

async fn get_payment(
    State(shared): State<Arc<Shared>>,
    Path((operator, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let process = |state: &mut super::state::State, operator: &_| state.payment(operator, &id);
    serve(
        &shared,
        &operator,
        &headers,
        Endpoint::GetPayment,
        process,
        |view| json_response(StatusCode::OK, &PaymentOut::from(&view)),
    )
    .await
}

async fn list_payments(
    State(shared): State<Arc<Shared>>,
    Path(operator): Path<String>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let query = query
        .map_err(|rejection| CamaraError::invalid_argument(rejection.body_text()))
        .and_then(|Query(pairs)| parse_list(&pairs));
    let process = |state: &mut super::state::State, operator: &_| {
        let query = query?;
        let (views, total) = state.list(operator, &query)?;
        let last_key = (query.page as usize - 1) * query.per_page as usize + views.len();
        Ok((views, total, last_key))
    };
    let render = |(views, total, last_key): (Vec<PaymentView>, usize, usize)| {
        let body: Vec<PaymentOut> = views.iter().map(PaymentOut::from).collect();
        let mut response = json_response(StatusCode::OK, &body);
        response
            .headers_mut()
            .insert("x-total-count", header_value(total));
        response
            .headers_mut()
            .insert("content-last-key", header_value(last_key));
        response
    };
    serve(
        &shared,
        &operator,
        &headers,
        Endpoint::ListPayments,
        process,
        render,
    )
    .await
}

async fn check_sim_swap(
    State(shared): State<Arc<Shared>>,
    Path(operator): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let check = parse_sim_swap(&body);
    let process = |state: &mut super::state::State, operator: &_| {
        let (phone, max_age_hours) = check?;
        state.sim_swapped(operator, &phone, max_age_hours)
    };
    let render =
        |swapped| json_response(StatusCode::OK, &serde_json::json!({ "swapped": swapped }));
    serve(
        &shared,
        &operator,
        &headers,
        Endpoint::SimSwapCheck,
        process,
        render,
    )
    .await
}

// ---- request bodies ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentBodyIn {
    amount_transaction: AmountTransactionIn,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmountTransactionIn {
    phone_number: Option<String>,
    client_correlator: Option<String>,
    payment_amount: PaymentAmountIn,
    reference_code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentAmountIn {
    charging_information: ChargingInformationIn,
    charging_meta_data: Option<ChargingMetaDataIn>,
}

#[derive(Deserialize)]
struct ChargingInformationIn {
    amount: Box<RawValue>,
    currency: String,
    description: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChargingMetaDataIn {
    merchant_identifier: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneNumberIn {
    phone_number: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SimSwapCheckIn {
    phone_number: Option<String>,
    max_age: Option<i64>,
}

pub(super) fn schema_error(error: serde_json::Error) -> CamaraError {
    CamaraError::invalid_argument(format!(
        "Client specified an invalid argument, request body or query param: {error}"
    ))
}

fn parse_charge(body: &[u8], kind: Kind) -> Result<ChargeInput, CamaraError> {
    let body: PaymentBodyIn = serde_json::from_slice(body).map_err(schema_error)?;
    let transaction = body.amount_transaction;
    let charging = transaction.payment_amount.charging_information;
    let phone = subscriber_number(transaction.phone_number.as_deref())?;
    if charging.currency != CURRENCY {
        return Err(CamaraError::invalid_argument(
            "Currency is unknown or not authorized.",
        ));
    }
    let merchant_identifier = transaction
        .payment_amount
        .charging_meta_data
        .and_then(|meta| meta.merchant_identifier);
    let texts = [
        Some(&transaction.reference_code),
        Some(&charging.description),
        transaction.client_correlator.as_ref(),
        merchant_identifier.as_ref(),
    ];
    if texts
        .iter()
        .flatten()
        .any(|text| text.len() > TEXT_BYTES_MAX)
    {
        return Err(CamaraError::invalid_argument(format!(
            "A text field is longer than {TEXT_BYTES_MAX} bytes."
        )));
    }
    Ok(ChargeInput {
        phone,
        client_correlator: transaction.client_correlator,
        reference_code: transaction.reference_code,
        amount: amount_from_text(charging.amount.get())?,
        description: charging.description,
        merchant_identifier,
        kind,
    })
}

fn parse_settle(body: &[u8]) -> Result<Option<PhoneNumber>, CamaraError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body: PhoneNumberIn = serde_json::from_slice(body).map_err(schema_error)?;
    body.phone_number
        .map(|number| subscriber_number(Some(&number)))
        .transpose()
}

fn parse_sim_swap(body: &[u8]) -> Result<(PhoneNumber, i64), CamaraError> {
    let body: SimSwapCheckIn = serde_json::from_slice(body).map_err(schema_error)?;
    let max_age_hours = body.max_age.unwrap_or(MAX_AGE_HOURS_DEFAULT);
    if !(MAX_AGE_HOURS_MIN..=MAX_AGE_HOURS_MAX).contains(&max_age_hours) {
        return Err(CamaraError::new(
            400,
            "OUT_OF_RANGE",
            "maxAge must be between 1 and 2400 hours.",
        ));
    }
    Ok((
        subscriber_number(body.phone_number.as_deref())?,
        max_age_hours,
    ))
}

/// A CAMARA `phoneNumber`: E.164 with its `+`. A well-formed number that is not Kazakh is
/// nobody this operator serves.
fn subscriber_number(number: Option<&str>) -> Result<PhoneNumber, CamaraError> {
    let number = number.ok_or_else(|| {
        CamaraError::new(
            422,
            "MISSING_IDENTIFIER",
            "The phone number cannot be identified.",
        )
    })?;
    let digits = number.strip_prefix('+').unwrap_or("");
    let e164 = (5..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if !e164 {
        return Err(CamaraError::invalid_argument(
            "phoneNumber must be in E.164 format with a leading +.",
        ));
    }
    PhoneNumber::parse(number)
        .map_err(|_| CamaraError::new(404, "IDENTIFIER_NOT_FOUND", "phoneNumber not found."))
}

/// Reads a JSON number's text as tiyn: up to three decimals (the spec's `multipleOf: 0.001`),
/// the third one zero because tenge has no smaller unit than the tiyn.
pub(super) fn amount_from_text(text: &str) -> Result<Tenge, CamaraError> {
    let invalid = || {
        CamaraError::invalid_argument(
            "amount must be a positive number of tenge with at most two decimals.",
        )
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 12
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 3
    {
        return Err(invalid());
    }
    let mut tiyn_text: String = fraction.chars().chain("00".chars()).take(2).collect();
    if fraction.len() == 3 && !fraction.ends_with('0') {
        return Err(invalid());
    }
    tiyn_text.insert_str(0, whole);
    let tiyn: i64 = tiyn_text.parse().map_err(|_| invalid())?;
    if tiyn <= 0 || tiyn > AMOUNT_TIYN_MAX {
        return Err(invalid());
    }
    Ok(Tenge::from_tiyn(tiyn))
}

fn parse_list(pairs: &[(String, String)]) -> Result<ListQuery, CamaraError> {
    let mut query = ListQuery {
        page: 1,
        per_page: PER_PAGE_DEFAULT,
        created_from_unix_s: None,
        created_until_unix_s: None,
        ascending: false,
        statuses: Vec::new(),
        merchant_identifier: None,
    };
    let number = |value: &str| {
        value
            .parse::<u32>()
            .map_err(|_| CamaraError::invalid_argument("page and perPage are whole numbers."))
    };
    for (name, value) in pairs {
        match name.as_str() {
            "page" => query.page = number(value)?,
            "perPage" => query.per_page = number(value)?,
            "paymentCreationDate.gte" => query.created_from_unix_s = Some(unix_s(value)?),
            "paymentCreationDate.lte" => query.created_until_unix_s = Some(unix_s(value)?),
            "order" if value == "asc" || value == "desc" => query.ascending = value == "asc",
            "paymentStatus" => query
                .statuses
                .extend(value.split(',').map(|status| status.trim().to_owned())),
            "merchantIdentifier" => query.merchant_identifier = Some(value.clone()),
            _ => {
                return Err(CamaraError::invalid_argument(format!(
                    "Unknown or invalid query parameter {name}."
                )));
            }
        }
    }
    Ok(query)
}

fn unix_s(text: &str) -> Result<i64, CamaraError> {
    text.parse::<jiff::Timestamp>()
        .map(|timestamp| timestamp.as_second())
        .map_err(|_| CamaraError::invalid_argument("Dates must follow RFC 3339 with a time zone."))
}

// ---- reply bodies ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaymentOut {
    payment_id: String,
    payment_status: &'static str,
    payment_creation_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_date: Option<String>,
    amount_transaction: AmountTransactionOut,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AmountTransactionOut {
    phone_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_correlator: Option<String>,
    payment_amount: PaymentAmountOut,
    reference_code: String,
    #[serde(rename = "resourceURL")]
    resource_url: String,
    server_reference_code: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaymentAmountOut {
    charging_information: ChargingInformationOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    charging_meta_data: Option<ChargingMetaDataOut>,
}

#[derive(Serialize)]
struct ChargingInformationOut {
    amount: Box<RawValue>,
    currency: &'static str,
    description: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChargingMetaDataOut {
    merchant_identifier: String,
}

impl From<&PaymentView> for PaymentOut {
    fn from(view: &PaymentView) -> PaymentOut {
        // `to_decimal` always writes a valid JSON number; `null` is the impossible fallback.
        let amount = RawValue::from_string(view.amount.to_decimal()).unwrap_or_default();
        PaymentOut {
            payment_id: view.id.clone(),
            payment_status: view.status.wire(),
            payment_creation_date: rfc3339(view.created_unix_s),
            payment_date: view.paid_unix_s.map(rfc3339),
            amount_transaction: AmountTransactionOut {
                phone_number: view.phone.as_e164().to_owned(),
                client_correlator: view.client_correlator.clone(),
                payment_amount: PaymentAmountOut {
                    charging_information: ChargingInformationOut {
                        amount,
                        currency: CURRENCY,
                        description: view.description.clone(),
                    },
                    charging_meta_data: view.merchant_identifier.clone().map(
                        |merchant_identifier| ChargingMetaDataOut {
                            merchant_identifier,
                        },
                    ),
                },
                reference_code: view.reference_code.clone(),
                resource_url: format!("urn:payments:{}", view.id),
                server_reference_code: format!("srv-{}", view.id),
            },
        }
    }
}

pub(super) fn rfc3339(unix_s: i64) -> String {
    jiff::Timestamp::from_second(unix_s)
        .map(|timestamp| timestamp.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_exactly() {
        for (text, tiyn) in [
            ("90", 9000),
            ("90.5", 9050),
            ("90.05", 9005),
            ("90.050", 9005),
            ("0.01", 1),
        ] {
            assert_eq!(amount_from_text(text), Ok(Tenge::from_tiyn(tiyn)), "{text}");
        }
        for text in [
            "0",
            "0.00",
            "90.055",
            "9E1",
            "-1",
            "1.2345",
            ".5",
            "",
            "1000000.01",
        ] {
            assert!(amount_from_text(text).is_err(), "{text}");
        }
    }
}
