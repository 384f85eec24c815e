//! The office desk over HTTP (the `office` role, scoped to its cities, and admins): find a
//! passenger by card number, phone or name; read their record; block and unblock a card with
//! a reason; close a card paying its balance out. Handlers stay thin: the use cases in
//! `service::office` check the scope, take the `Actor` and write the audit entry.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use service::office::PayoutRow;
use service::office::{Found, PayoutRequest, PayoutWay};
use utoipa_axum::routes;

use super::admin::AuditEntryOut;
use super::applications::ApplicationDto;
use super::cards::{Card, CardPath};
use super::wire::Money;
use crate::extract::{ApiJson, ApiQuery, IdempotencyKeyHeader, Lang, Staff};
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

pub(crate) fn routes(table: super::Table) -> super::Table {
    table
        .op(routes!(search))
        .op(routes!(record))
        .op(routes!(block))
        .op(routes!(unblock))
        .op(routes!(payout))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// A card number (16 digits, spaces and dashes allowed), a phone number or a name
    #[param(max_length = 100)]
    q: String,
}

/// A passenger found at the desk.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = FoundPassenger)]
struct FoundDto {
    phone: String,
    /// The name on a card or an application (empty when none names them).
    name: String,
    cards: Vec<Card>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PassengerSearch)]
pub(crate) struct SearchOut {
    passengers: Vec<FoundDto>,
}

fn found_dto(f: &Found) -> FoundDto {
    FoundDto {
        phone: f.phone.as_e164().to_owned(),
        name: f.name.clone(),
        cards: f.cards.iter().map(Card::of).collect(),
    }
}

#[utoipa::path(get, path = "/v1/office/search",
    summary = "Find passengers by card number (check digit first), phone or name; a passenger outside the clerk's cities is 403 SCOPE_FORBIDDEN, a name search leaves them out",
    security(("bearer" = [])), params(SearchQuery, crate::apidoc::LangQuery),
    responses((status = 200, description = "The passengers found", body = SearchOut),
        (status = 404, description = "CARD_NOT_FOUND: no card has the number", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn search(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchOut>> {
    let found = service::office::search(&state.app, &caller.actor, &query.q)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(SearchOut {
        passengers: found.iter().map(found_dto).collect(),
    }))
}

/// A card's balance paid out at the office.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Payout)]
struct PayoutDto {
    #[schema(schema_with = payout_way)]
    way: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    reference: String,
    amount: Money,
    #[serde(skip_serializing_if = "String::is_empty")]
    transfer_id: String,
    /// The clerk who paid it.
    paid_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    reason: String,
    #[schema(format = DateTime)]
    paid_at: String,
}

fn payout_way() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&[PayoutWay::Cash.as_str(), PayoutWay::BankTransfer.as_str()])
}

fn payout_dto(p: &PayoutRow) -> PayoutDto {
    PayoutDto {
        way: p.way.clone(),
        reference: p.reference.clone(),
        amount: Money::of(domain::Tenge::from_tiyn(p.amount_tiyn)),
        transfer_id: p.transfer_id.clone(),
        paid_by: p.paid_by.clone(),
        reason: p.reason.clone(),
        paid_at: rfc3339_ms(p.created_at_ms),
    }
}

/// A card as the office sees it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OfficeCard)]
struct OfficeCardDto {
    #[serde(flatten)]
    card: Card,
    /// The end of a preferential status (`YYYY-MM-DDTHH:MM:SSZ`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    category_until: Option<String>,
    /// The card a closed card's balance went to.
    #[serde(skip_serializing_if = "Option::is_none")]
    closed_into: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payout: Option<PayoutDto>,
}

/// What the desk shows of one passenger.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PassengerRecord)]
pub(crate) struct RecordOut {
    phone: String,
    /// The cities they rode in or applied to.
    cities: Vec<String>,
    cards: Vec<OfficeCardDto>,
    applications: Vec<ApplicationDto>,
    /// What staff did to them and their cards, applications and tickets, newest first.
    audit: Vec<AuditEntryOut>,
}

/// The passenger of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct PhonePath {
    /// Their number (`+7 7XX …`, `8 7XX …`)
    #[param(example = "+77011234567")]
    phone: String,
}

#[utoipa::path(get, path = "/v1/office/passengers/{phone}",
    summary = "A passenger's record at the desk: cities, cards (with a preferential status's end and a payout), applications, and the audit entries of what staff did to them",
    security(("bearer" = [])), params(PhonePath, crate::apidoc::LangQuery),
    responses((status = 200, description = "The record", body = RecordOut)))]
pub(crate) async fn record(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(PhonePath { phone }): Path<PhonePath>,
) -> ApiResult<Json<RecordOut>> {
    let phone = domain::PhoneNumber::parse(&phone)
        .map_err(|_| Problem::new(domain::ErrorCode::PhoneMalformed, language))?;
    let record = service::office::record(&state.app, &caller.actor, &phone)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(RecordOut {
        phone: record.phone.as_e164().to_owned(),
        cities: record.cities,
        cards: record
            .cards
            .iter()
            .map(|c| OfficeCardDto {
                card: Card::of(&c.card),
                category_until: c.category_until_ms.map(rfc3339_ms),
                closed_into: c.closed_into.clone(),
                payout: c.payout.as_ref().map(payout_dto),
            })
            .collect(),
        applications: record.applications.iter().map(ApplicationDto::of).collect(),
        audit: record.audit.into_iter().map(AuditEntryOut::of).collect(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OfficeReason)]
pub(crate) struct ReasonBody {
    /// Why, for the audit trail.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    reason: String,
}

fn card_number(
    text: &str,
    language: domain::Language,
) -> Result<domain::card::CardNumber, Problem> {
    service::cards::parse_number(text).map_err(|e| Problem::from_service(e, language))
}

#[utoipa::path(post, path = "/v1/office/cards/{card}/block",
    summary = "Block a card at the office, with a reason (audited)",
    security(("bearer" = [])), params(CardPath, crate::apidoc::LangQuery), request_body = ReasonBody,
    responses((status = 200, description = "The card, blocked", body = Card),
        (status = 409, description = "CARD_MOVE_NOT_ALLOWED: the card's status does not move to blocked (`domain::card::CardStatus::TRANSITIONS`)",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn block(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(CardPath { card }): Path<CardPath>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<Card>> {
    let number = card_number(&card, language)?;
    let card = service::office::block(&state.app, &caller.actor, &number, &body.reason)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Card::of(&card)))
}

#[utoipa::path(post, path = "/v1/office/cards/{card}/unblock",
    summary = "Unblock a card at the office, with a reason (audited)",
    security(("bearer" = [])), params(CardPath, crate::apidoc::LangQuery), request_body = ReasonBody,
    responses((status = 200, description = "The card, active", body = Card),
        (status = 409, description = "CARD_MOVE_NOT_ALLOWED: the card's status does not move to active", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn unblock(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(CardPath { card }): Path<CardPath>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<Card>> {
    let number = card_number(&card, language)?;
    let card = service::office::unblock(&state.app, &caller.actor, &number, &body.reason)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Card::of(&card)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PayoutBody {
    /// `cash` (at the desk) or `bank_transfer`.
    #[schema(schema_with = payout_way)]
    way: String,
    /// Required for a bank transfer (its reference), none for cash.
    #[serde(default)]
    #[schema(max_length = 200)]
    reference: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PaidOut)]
pub(crate) struct PaidOutDto {
    card: Card,
    payout: PayoutDto,
}

/// The key that makes a payout safe to send again (as `service::office::pay_out` reads it: a
/// reason's length, `REASON_CHARS_MAX`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // read by the extractor `IdempotencyKeyHeader`; here for its documentation
pub(crate) struct PayoutKeyHeader {
    /// Chosen by the desk, one per payout: sending it again answers as the first time
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 200)]
    key: String,
}

/// Closes a card and pays its balance out; `Idempotency-Key` makes a retry answer the first.
#[utoipa::path(post, path = "/v1/office/cards/{card}/payout",
    summary = "Close a card and pay its balance out (cash at the desk, or a bank transfer with its reference): a `payout` ledger transfer and the close in one transaction, once per card; a retry with the same Idempotency-Key answers the first (audited)",
    security(("bearer" = [])), params(CardPath, PayoutKeyHeader, crate::apidoc::LangQuery),
    request_body = PayoutBody,
    responses((status = 200, description = "The card, closed, and its payout", body = PaidOutDto),
        (status = 409, description = "CARD_CLOSED (paid out already, under another key) or CARD_MOVE_NOT_ALLOWED (the card may not close)",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn payout(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    Path(CardPath { card }): Path<CardPath>,
    ApiJson(body): ApiJson<PayoutBody>,
) -> ApiResult<Json<PaidOutDto>> {
    let number = card_number(&card, language)?;
    let way = PayoutWay::parse(&body.way).map_err(|e| Problem::from_service(e, language))?;
    let request = PayoutRequest {
        way,
        reference: body.reference,
        reason: body.reason,
    };
    let paid = service::office::pay_out(&state.app, &caller.actor, &number, &request, &key)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(PaidOutDto {
        card: Card::of(&paid.card),
        payout: payout_dto(&paid.payout),
    }))
}
