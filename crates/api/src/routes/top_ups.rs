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

/// A top-up of a card through the acquirer.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TopUp {
    top_up_id: String,
    card: String,
    amount: Money,
    /// `created` (waiting for the payment on the acquirer's page), `paid`, `failed`.
    #[schema(schema_with = top_up_status)]
    status: &'static str,
    /// The acquirer's payment page.
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

fn top_up_status() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&domain::card::TopUpStatus::words())
}

/// The key that makes starting a top-up safe to send again: a retry returns the same top-up.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read by the extractor `IdempotencyKeyHeader`; here for its documentation
pub(crate) struct TopUpKeyHeader {
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 128)]
    key: String,
}

/// A top-up of the card of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct TopUpPath {
    #[param(pattern = "^[0-9]{16}$")]
    card: String,
    id: String,
}

/// The acquirer of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct AcquirerPath {
    #[param(example = "halyk-epay")]
    acquirer: String,
}

/// The callback's signature, checked before its body is read.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read from the headers by name (`service::top_ups::SIGNATURE_HEADER`)
pub(crate) struct SignatureHeader {
    /// `sha256=<hex>`
    #[param(rename = "X-Signature", required = false)]
    signature: String,
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartBody {
    /// Decimal tenge, `"500.00"` or `"500"`.
    #[schema(example = "500.00", pattern = "^[0-9]{1,6}(\\.[0-9]{1,2})?$")]
    amount: String,
}

#[utoipa::path(post, path = "/v1/cards/{card}/top-ups",
    summary = "Top the card up with a bank card: an order at the acquirer, whose payment page `payment_url` the passenger opens (we never see the card number). Needs an Idempotency-Key: a retry returns the same top-up",
    security(("bearer" = [])), params(super::cards::CardPath, TopUpKeyHeader, crate::apidoc::LangQuery),
    request_body = StartBody,
    responses((status = 201, description = "The top-up, created", body = TopUp),
        (status = 503, description = crate::apidoc::REFUSED, body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn start(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    Path(super::cards::CardPath { card }): Path<super::cards::CardPath>,
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

#[utoipa::path(get, path = "/v1/cards/{card}/top-ups/{id}", summary = "A top-up's state",
    security(("bearer" = [])), params(TopUpPath, crate::apidoc::LangQuery),
    responses((status = 200, description = "The top-up", body = TopUp)))]
pub(crate) async fn status(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    Path(TopUpPath { card, id }): Path<TopUpPath>,
) -> ApiResult<Json<TopUp>> {
    let card =
        service::cards::parse_number(&card).map_err(|e| Problem::from_service(e, language))?;
    let top_up = service::top_ups::get(&state.app, &phone, &card, &id)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(TopUp::of(&top_up)))
}

/// The least and the most a top-up of a card may bring now.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TopUpLimits)]
pub(crate) struct Limits {
    min: Money,
    /// The most this card may take now: the protocol's maximum, and no more than its kind
    /// may hold.
    max: Money,
}

#[utoipa::path(get, path = "/v1/cards/{card}/top-ups/limits",
    summary = "The least and the most a top-up of this card may bring now (the protocol's limits and the card's maximum balance)",
    security(("bearer" = [])), params(super::cards::CardPath, crate::apidoc::LangQuery),
    responses((status = 200, description = "The limits", body = Limits)))]
pub(crate) async fn limits(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    Path(super::cards::CardPath { card }): Path<super::cards::CardPath>,
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

/// The state of the order a callback told of.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CallbackTaken)]
pub(crate) struct Taken {
    #[schema(schema_with = top_up_status)]
    status: &'static str,
}

// The body is the acquirer's, signed byte for byte: its fields are not ours to narrow.
#[utoipa::path(post, path = "/v1/acquirer/{acquirer}/callback",
    summary = "The acquirer's callback: `X-Signature: sha256=<hex>` is HMAC-SHA256 of the body under the shared secret; a charged order credits its card once however often it comes",
    params(AcquirerPath, SignatureHeader, crate::apidoc::LangQuery),
    request_body(description = "The acquirer's JSON, signed as sent: {invoice_id, status: new|charged|declined|expired, amount (\"500.00\"), currency: KZT, reference, card_mask, reason}",
        content_type = "application/json"),
    responses((status = 200, description = "Taken", body = Taken)))]
pub(crate) async fn callback(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Path(AcquirerPath { acquirer }): Path<AcquirerPath>,
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
