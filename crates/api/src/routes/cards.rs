//! The passenger's transport cards: open (free), list with balances, one card, its history,
//! block, unblock, close (the balance moves to another of their cards).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::Language;
use serde::{Deserialize, Serialize};
use service::cards::{CardMovement, CardView, OpenCard};

use super::wire::Money;
use crate::extract::{ApiJson, ApiQuery, Lang, Passenger};
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

/// A passenger's transport card.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Card {
    /// 16 digits.
    #[schema(pattern = "^[0-9]{16}$")]
    number: String,
    /// `9398 1234 5678 9012`.
    #[schema(example = "9398 1234 5678 9012")]
    number_grouped: String,
    last_four: String,
    #[schema(schema_with = card_kind)]
    kind: &'static str,
    rider_category: &'static str,
    #[schema(schema_with = card_status)]
    status: &'static str,
    balance: Money,
    /// Fares on hold while their rides are paid.
    held: Money,
    available: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pupil_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    school: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<String>,
    /// The last instant of a preferential status (the regular fare after).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    category_until: Option<String>,
    #[schema(format = DateTime)]
    opened_at: String,
}

pub(crate) fn card_kind() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["regular", "school", "preferential"])
}

fn card_status() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["open", "active", "blocked", "closed"])
}

fn open_kind() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["regular", "school"])
}

/// The card of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct CardPath {
    /// The card's 16 digits; a mistyped digit is refused by the check digit (400
    /// CARD_NUMBER_MISTYPED)
    #[param(pattern = "^[0-9]{16}$")]
    pub(crate) card: String,
}

impl Card {
    pub(crate) fn of(c: &CardView) -> Card {
        Card {
            number: c.number.as_str().to_owned(),
            number_grouped: c.number.grouped(),
            last_four: c.number.last_four().to_owned(),
            kind: c.kind.as_str(),
            rider_category: c.rider_category.as_str(),
            status: c.status.as_str(),
            balance: Money::of(c.balance),
            held: Money::of(c.held),
            available: Money::of(c.available()),
            pupil_name: c.pupil_name.clone(),
            school: c.school.clone(),
            class: c.class_name.clone(),
            category_until: c.category_until_ms.map(rfc3339_ms),
            opened_at: rfc3339_ms(c.created_at_ms),
        }
    }
}

/// A school card needs `pupil_name`, `school` and `class`; a regular one names no pupil.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpenBody {
    #[schema(schema_with = open_kind)]
    kind: String,
    #[serde(default)]
    #[schema(max_length = 80)]
    holder_name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 80)]
    pupil_name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 80)]
    school: Option<String>,
    #[serde(default)]
    #[schema(max_length = 80)]
    class: Option<String>,
}

fn number(text: &str, language: Language) -> Result<domain::card::CardNumber, Problem> {
    service::cards::parse_number(text).map_err(|e| Problem::from_service(e, language))
}

#[utoipa::path(post, path = "/v1/cards", summary = "Open a transport card (free): regular, or school for a pupil",
    security(("bearer" = [])), params(crate::apidoc::LangQuery), request_body = OpenBody,
    responses((status = 201, description = "The card, active", body = Card)))]
pub(crate) async fn open(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    ApiJson(body): ApiJson<OpenBody>,
) -> ApiResult<(StatusCode, Json<Card>)> {
    let request = OpenCard {
        kind: body.kind,
        holder_name: body.holder_name.unwrap_or_default(),
        pupil_name: body.pupil_name,
        school: body.school,
        class_name: body.class,
    };
    let card = service::cards::open(&state.app, &phone, &request)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok((StatusCode::CREATED, Json(Card::of(&card))))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CardList {
    cards: Vec<Card>,
}

#[utoipa::path(get, path = "/v1/cards", summary = "The signed-in passenger's cards with their balances",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "Cards", body = CardList)))]
pub(crate) async fn list(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
) -> ApiResult<Json<CardList>> {
    let cards = service::cards::list(&state.app, &phone)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(CardList {
        cards: cards.iter().map(Card::of).collect(),
    }))
}

#[utoipa::path(get, path = "/v1/cards/{card}", summary = "One of the passenger's cards",
    security(("bearer" = [])), params(CardPath, crate::apidoc::LangQuery),
    responses((status = 200, description = "The card", body = Card)))]
pub(crate) async fn get(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    Path(CardPath { card }): Path<CardPath>,
) -> ApiResult<Json<Card>> {
    let card = number(&card, language)?;
    let card = service::cards::get(&state.app, &phone, &card)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Card::of(&card)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    #[serde(default)]
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<i64>,
    /// The previous page's `next_cursor`.
    #[serde(default)]
    #[param(minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)]
    before: Option<i64>,
}

/// A movement on a card: a top-up, a ride, a balance move.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CardMovement)]
struct Movement {
    kind: String,
    /// Positive: onto the card; negative: a fare.
    amount: Money,
    on_hold: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ride_id: Option<String>,
    #[schema(format = DateTime)]
    at: String,
}

impl Movement {
    fn of(m: &CardMovement) -> Movement {
        Movement {
            kind: m.kind.clone(),
            amount: Money::of(m.amount),
            on_hold: m.on_hold,
            ride_id: m.ride_id.as_ref().map(ToString::to_string),
            at: rfc3339_ms(m.at_ms),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CardHistory)]
pub(crate) struct History {
    movements: Vec<Movement>,
    /// Pass as `before` for older movements; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<i64>,
}

#[utoipa::path(get, path = "/v1/cards/{card}/history",
    summary = "A card's movements, newest first: top-ups, rides, balance moves",
    security(("bearer" = [])), params(CardPath, HistoryQuery, crate::apidoc::LangQuery),
    responses((status = 200, description = "One page: pass `next_cursor` as `before` for older movements", body = History)))]
pub(crate) async fn history(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    Path(CardPath { card }): Path<CardPath>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<History>> {
    let card = number(&card, language)?;
    let page = service::cards::history(
        &state.app,
        &phone,
        &card,
        query.before,
        query.limit.unwrap_or(20),
    )
    .await
    .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(History {
        movements: page.movements.iter().map(Movement::of).collect(),
        next_cursor: page.next,
    }))
}

#[utoipa::path(post, path = "/v1/cards/{card}/block",
    summary = "Block the card (lost phone): it pays nothing and takes no top-up",
    security(("bearer" = [])), params(CardPath, crate::apidoc::LangQuery),
    responses((status = 200, description = "Blocked", body = Card)))]
pub(crate) async fn block(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    Path(CardPath { card }): Path<CardPath>,
) -> ApiResult<Json<Card>> {
    let card = number(&card, language)?;
    let card = service::cards::block(&state.app, &phone, &card)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Card::of(&card)))
}

#[utoipa::path(post, path = "/v1/cards/{card}/unblock", summary = "Unblock the card",
    security(("bearer" = [])), params(CardPath, crate::apidoc::LangQuery),
    responses((status = 200, description = "Active again", body = Card)))]
pub(crate) async fn unblock(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    Path(CardPath { card }): Path<CardPath>,
) -> ApiResult<Json<Card>> {
    let card = number(&card, language)?;
    let card = service::cards::unblock(&state.app, &phone, &card)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Card::of(&card)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CloseBody {
    /// Another active card of the holder that takes the balance.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{16}$")]
    into: Option<String>,
}

#[utoipa::path(post, path = "/v1/cards/{card}/close",
    summary = "Close the card for good; a balance on it moves to `into`, another active card of the passenger's",
    security(("bearer" = [])), params(CardPath, crate::apidoc::LangQuery), request_body = CloseBody,
    responses((status = 200, description = "Closed", body = Card)))]
pub(crate) async fn close(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    Path(CardPath { card }): Path<CardPath>,
    ApiJson(body): ApiJson<CloseBody>,
) -> ApiResult<Json<Card>> {
    let card = number(&card, language)?;
    let into = body
        .into
        .as_deref()
        .map(|n| number(n, language))
        .transpose()?;
    let card = service::cards::close(&state.app, &phone, &card, into.as_ref())
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Card::of(&card)))
}

/// The card a ride names (`"card": "…"` in `POST /v1/rides`), as its payer.
pub(crate) async fn ride_payer(
    state: &crate::State,
    phone: &domain::PhoneNumber,
    card: &str,
    language: Language,
) -> Result<service::payment::Payer, Problem> {
    let card = number(card, language)?;
    service::cards::payer(&state.app, phone, &service::cards::CardChoice::Number(card))
        .await
        .map_err(|e| Problem::from_service(e, language))
}
