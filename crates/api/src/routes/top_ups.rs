//! Top-ups of a passenger's card with a bank card, through the acquirer: start one (under an
//! Idempotency-Key; the answer carries the acquirer's payment page), read its state, and the
//! acquirer's signed callback (a public route: its signature is the credential, checked by the
//! use case before the body is read as an order).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use service::top_ups::TopUpView;

use super::wire::Money;
use crate::extract::{ApiJson, IdempotencyKeyHeader, Lang, Passenger};
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

/// A callback's body is at most this many bytes.
pub(crate) const CALLBACK_BODY_BYTES_MAX: usize = service::top_ups::CALLBACK_BODY_BYTES_MAX;

#[derive(Serialize)]
pub(crate) struct TopUp {
    top_up_id: String,
    card: String,
    amount: Money,
    /// `created` (waiting for the payment on the acquirer's page), `paid`, `failed`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    created_at: String,
}

impl TopUp {
    fn of(t: &TopUpView) -> TopUp {
        TopUp {
            top_up_id: t.id.clone(),
            card: t.card.as_str().to_owned(),
            amount: Money::of(t.amount),
            status: t.status.as_str(),
            payment_url: t.payment_url.clone(),
            failure: t.failure.clone(),
            created_at: rfc3339_ms(t.created_at_ms),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartBody {
    /// Decimal tenge, `"500.00"` or `"500"`.
    amount: String,
}

pub(crate) async fn start(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    Path(card): Path<String>,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    ApiJson(body): ApiJson<StartBody>,
) -> ApiResult<(StatusCode, Json<TopUp>)> {
    let card =
        service::cards::parse_number(&card).map_err(|e| Problem::from_service(e, language))?;
    let amount = domain::Tenge::parse_decimal(body.amount.trim())
        .map_err(|_| Problem::new(domain::ErrorCode::TopUpAmountOutOfRange, language))?;
    let top_up = service::top_ups::create(&state.app, &phone, &card, amount, &key)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok((StatusCode::CREATED, Json(TopUp::of(&top_up))))
}

pub(crate) async fn status(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    Path((card, id)): Path<(String, String)>,
) -> ApiResult<Json<TopUp>> {
    let card =
        service::cards::parse_number(&card).map_err(|e| Problem::from_service(e, language))?;
    let top_up = service::top_ups::get(&state.app, &phone, &card, &id)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(TopUp::of(&top_up)))
}

#[derive(Serialize)]
pub(crate) struct Limits {
    min: Money,
    /// The most this card may take now: the protocol's maximum, and no more than its kind
    /// may hold.
    max: Money,
}

pub(crate) async fn limits(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    Path(card): Path<String>,
) -> ApiResult<Json<Limits>> {
    let card =
        service::cards::parse_number(&card).map_err(|e| Problem::from_service(e, language))?;
    let card = service::cards::get(&state.app, &phone, &card)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let (min, max) = service::top_ups::limits(&card);
    Ok(Json(Limits {
        min: Money::of(min),
        max: Money::of(max),
    }))
}

#[derive(Serialize)]
pub(crate) struct Taken {
    status: &'static str,
}

pub(crate) async fn callback(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Path(acquirer): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Taken>> {
    let signature = headers
        .get(service::top_ups::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let top_up = service::top_ups::callback(&state.app, &acquirer, &body, signature)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Taken {
        status: top_up.status.as_str(),
    }))
}
