//! The office desk over HTTP (the `office` role, scoped to its cities, and admins): find a
//! passenger by card number, phone or name; read their record; block and unblock a card with
//! a reason; close a card paying its balance out. Handlers stay thin: the use cases in
//! `service::office` check the scope, take the `Actor` and write the audit entry.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use service::office::PayoutRow;
use service::office::{Found, PayoutRequest, PayoutWay};

use super::admin::AuditEntryOut;
use super::applications::ApplicationDto;
use super::cards::Card;
use super::wire::Money;
use crate::extract::{ApiJson, ApiQuery, IdempotencyKeyHeader, Lang, Staff};
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

pub(crate) fn routes(table: super::Table) -> super::Table {
    table
        .get("/v1/office/search", search)
        .get("/v1/office/passengers/{phone}", record)
        .post("/v1/office/cards/{card}/block", block)
        .post("/v1/office/cards/{card}/unblock", unblock)
        .post("/v1/office/cards/{card}/payout", payout)
}

#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    q: String,
}

#[derive(Serialize)]
struct FoundDto {
    phone: String,
    name: String,
    cards: Vec<Card>,
}

#[derive(Serialize)]
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

#[derive(Serialize)]
struct PayoutDto {
    way: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    reference: String,
    amount: Money,
    #[serde(skip_serializing_if = "String::is_empty")]
    transfer_id: String,
    paid_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    reason: String,
    paid_at: String,
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

#[derive(Serialize)]
struct OfficeCardDto {
    #[serde(flatten)]
    card: Card,
    /// The end of a preferential status (`YYYY-MM-DDTHH:MM:SSZ`).
    #[serde(skip_serializing_if = "Option::is_none")]
    category_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    closed_into: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payout: Option<PayoutDto>,
}

#[derive(Serialize)]
pub(crate) struct RecordOut {
    phone: String,
    cities: Vec<String>,
    cards: Vec<OfficeCardDto>,
    applications: Vec<ApplicationDto>,
    audit: Vec<AuditEntryOut>,
}

pub(crate) async fn record(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(phone): Path<String>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonBody {
    reason: String,
}

fn card_number(
    text: &str,
    language: domain::Language,
) -> Result<domain::card::CardNumber, Problem> {
    service::cards::parse_number(text).map_err(|e| Problem::from_service(e, language))
}

pub(crate) async fn block(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(card): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<Card>> {
    let number = card_number(&card, language)?;
    let card = service::office::block(&state.app, &caller.actor, &number, &body.reason)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Card::of(&card)))
}

pub(crate) async fn unblock(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(card): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<Card>> {
    let number = card_number(&card, language)?;
    let card = service::office::unblock(&state.app, &caller.actor, &number, &body.reason)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Card::of(&card)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PayoutBody {
    /// `cash` (at the desk) or `bank_transfer`.
    way: String,
    /// The bank transfer's reference; none for cash.
    #[serde(default)]
    reference: String,
    #[serde(default)]
    reason: String,
}

#[derive(Serialize)]
pub(crate) struct PaidOutDto {
    card: Card,
    payout: PayoutDto,
}

/// Closes a card and pays its balance out; `Idempotency-Key` makes a retry answer the first.
pub(crate) async fn payout(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    Path(card): Path<String>,
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
