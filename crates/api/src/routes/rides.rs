//! The passenger's rides: see the fare and its source before paying, pay a ride by transport
//! code or plate, follow a pending one, list valid tickets and trip history.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::catalogue::Zone;
use domain::phone::PhoneError;
use domain::ride::{RideId, RideStatus};
use domain::sms::VehicleRef;
use domain::{ErrorCode, Language, PhoneNumber, PlateNumber, TransportCode};
use serde::{Deserialize, Serialize};
use service::paging::PageCursor;
use service::payment::Payer;
use service::rides::{
    Channel, IdempotencyKey, RideOutcome, RideRequest, buy_ticket, settled_answer,
};
use service::tickets::{history as history_page, valid_tickets as valid};

use super::wire::{Money, Ticket};
use crate::extract::{ApiJson, ApiQuery, IdempotencyKeyHeader, Lang, Passenger};
use crate::problem::{ApiResult, Problem};

/// Exactly one of `transport_code` and `plate`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BuyBody {
    #[serde(default)]
    #[schema(pattern = "^[0-9]{3,8}$")]
    transport_code: Option<String>,
    #[serde(default)]
    #[schema(pattern = "^[0-9]{3}[A-Z]{2,3}[0-9]{2}$", example = "310EKX01")]
    plate: Option<String>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 9)]
    zone: Option<u32>,
    /// One more ticket on a bus the passenger already holds a valid ticket for (a companion's).
    #[serde(default)]
    #[schema(default = false)]
    additional: bool,
    /// Pay from this transport card of the passenger's (its 16 digits); without it the phone
    /// balance pays.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{16}$")]
    card: Option<String>,
}

/// A ride that ended without a ticket, read back: final, with why.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = FailedRide)]
struct Failed {
    ride_id: String,
    #[schema(schema_with = failed)]
    status: &'static str,
    code: &'static str,
    message: &'static str,
}

/// A ride whose payment is being confirmed: ask again.
#[derive(Serialize, utoipa::ToSchema)]
struct Pending {
    ride_id: String,
    #[schema(schema_with = pending)]
    status: &'static str,
    #[schema(schema_with = payment_pending)]
    code: &'static str,
    message: &'static str,
}

fn failed() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["failed"])
}
fn pending() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["pending"])
}
fn payment_pending() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&[ErrorCode::PaymentPending.code()])
}

/// A ride read back: its ticket, or its final failure.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum RideRead {
    Ticket(Box<Ticket>),
    Failed(Failed),
}

pub(crate) fn phone(text: &str, language: Language) -> Result<PhoneNumber, Problem> {
    PhoneNumber::parse(text).map_err(|e| match e {
        PhoneError::OtherCountry => Problem::new(ErrorCode::PhoneForeign, language),
        PhoneError::Malformed => Problem::new(ErrorCode::PhoneMalformed, language),
    })
}

/// The bus named by exactly one of a transport code and a plate.
fn vehicle_of(
    code: Option<&str>,
    plate: Option<&str>,
    language: Language,
) -> Result<VehicleRef, Problem> {
    match (code, plate) {
        (Some(code), None) => Ok(VehicleRef::Code(TransportCode::parse(code).map_err(
            |e| Problem::new(ErrorCode::TransportCodeMalformed, language).detail(e.to_string()),
        )?)),
        (None, Some(plate)) => Ok(VehicleRef::Plate(PlateNumber::parse(plate).map_err(
            |e| Problem::new(ErrorCode::TransportCodeMalformed, language).detail(e.to_string()),
        )?)),
        _ => Err(Problem::new(ErrorCode::BadRequest, language)
            .detail("give exactly one of transport_code and plate")),
    }
}

fn zone_of(zone: Option<u32>, language: Language) -> Result<Option<Zone>, Problem> {
    zone.map(Zone::new)
        .transpose()
        .map_err(|e| Problem::new(ErrorCode::BadRequest, language).detail(e.to_string()))
}

/// Exactly one of `transport_code` and `plate`; `zone` on a zone-priced route (without it:
/// 422 ZONE_REQUIRED with the zones and their fares).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuoteQuery {
    #[serde(default)]
    #[param(pattern = "^[0-9]{3,8}$")]
    transport_code: Option<String>,
    #[serde(default)]
    #[param(pattern = "^[0-9]{3}[A-Z]{2,3}[0-9]{2}$")]
    plate: Option<String>,
    #[serde(default)]
    #[param(minimum = 1, maximum = 9)]
    zone: Option<u32>,
}

/// What a ride would cost and who pays.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Quote)]
pub(crate) struct QuoteReply {
    transport_code: String,
    plate: String,
    city: String,
    route_id: String,
    route_number: String,
    route_name: String,
    rider_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    zone: Option<u8>,
    fare: Money,
    /// The fare before the city's caps and transfers; equal to `fare` unless `fare_basis` is
    /// `transfer` or `capped` (card rides).
    full_fare: Money,
    /// Which rule priced the ride: a card ride's transfer window or daily cap lowers `fare`
    /// below `full_fare`.
    #[schema(schema_with = crate::apidoc::fare_basis)]
    fare_basis: &'static str,
    /// The card's daily cap and what its rides of the day cost so far, where a cap is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    daily_cap: Option<Money>,
    spent_today: Money,
    /// Who pays: `phone_balance` (the operator's balance of the signed-in number).
    #[schema(schema_with = source)]
    source: &'static str,
    operator: String,
    /// The passenger's active cards priced for this ride: each its own fare (a preferential
    /// card's), what it holds, and why it cannot pay now when it cannot.
    cards: Vec<CardSourceDto>,
}

fn source() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["phone_balance", "card"])
}

/// One of the passenger's active cards priced for this ride (pay from one with `card` in
/// `POST /v1/rides`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = QuoteCard)]
struct CardSourceDto {
    number: String,
    number_grouped: String,
    last_four: String,
    #[schema(schema_with = card_kind)]
    kind: &'static str,
    rider_category: &'static str,
    fare: Money,
    /// The card's fare before the city's caps and transfers, and which rule priced it.
    full_fare: Money,
    #[schema(schema_with = crate::apidoc::fare_basis)]
    fare_basis: &'static str,
    available: Money,
    /// Why this card cannot pay the fare now.
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<SourceRefusal>,
}

fn card_kind() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["regular", "school", "preferential"])
}

#[derive(Serialize, utoipa::ToSchema)]
struct SourceRefusal {
    code: &'static str,
    message: &'static str,
}

impl CardSourceDto {
    fn of(source: &service::cards::CardSource, language: Language) -> CardSourceDto {
        CardSourceDto {
            number: source.card.number.as_str().to_owned(),
            number_grouped: source.card.number.grouped(),
            last_four: source.card.number.last_four().to_owned(),
            kind: source.card.kind.as_str(),
            rider_category: source.quote.rider_category.as_str(),
            fare: Money::of(source.quote.amount),
            full_fare: Money::of(source.quote.full_amount),
            fare_basis: source.quote.fare_basis.as_str(),
            available: Money::of(source.card.available()),
            refusal: source.refusal.map(|code| SourceRefusal {
                code: code.code(),
                message: code.message(language),
            }),
        }
    }
}

/// What a ride on this bus would cost the signed-in passenger and who pays: nothing is
/// written or charged; it refuses as a purchase would.
#[utoipa::path(get, path = "/v1/rides/quote",
    summary = "What a ride on a bus would cost the signed-in passenger, and who pays (nothing is written or charged; refused as a purchase would be)",
    // No `lang`: the query is read strictly (`lang` there is refused, 400).
    security(("bearer" = [])), params(QuoteQuery),
    responses((status = 200, description = "The fare and its source", body = QuoteReply)))]
pub(crate) async fn quote(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    ApiQuery(query): ApiQuery<QuoteQuery>,
) -> ApiResult<Json<QuoteReply>> {
    let vehicle = vehicle_of(
        query.transport_code.as_deref(),
        query.plate.as_deref(),
        language,
    )?;
    let zone = zone_of(query.zone, language)?;
    let quote = service::rides::quote(
        &state.app,
        &Payer::PhoneBalance(phone.clone()),
        &vehicle,
        zone,
    )
    .await
    .map_err(|e| Problem::from_service(e, language))?;
    let cards = service::cards::ride_sources(&state.app, &phone, &vehicle, quote.zone)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(QuoteReply {
        transport_code: quote.transport_code,
        plate: quote.plate,
        city: quote.city_id,
        route_id: quote.route_id,
        route_number: quote.route_number,
        route_name: quote.route_name,
        rider_category: quote.rider_category.as_str(),
        zone: quote.zone.map(|z| z.number()),
        fare: Money::of(quote.amount),
        full_fare: Money::of(quote.full_amount),
        fare_basis: quote.fare_basis.as_str(),
        daily_cap: quote.daily_cap.map(Money::of),
        spent_today: Money::of(quote.spent_today),
        source: quote.source,
        operator: quote.operator,
        cards: cards
            .iter()
            .map(|c| CardSourceDto::of(c, language))
            .collect(),
    }))
}

#[utoipa::path(post, path = "/v1/rides",
    summary = "Pay a ride from the signed-in passenger's phone balance or one of their transport cards (`card`)",
    security(("bearer" = [])), params(crate::apidoc::IdempotencyKeyHeader, crate::apidoc::LangQuery),
    request_body = BuyBody,
    responses((status = 201, description = "Paid; the ticket", body = Ticket),
        (status = 202, description = "Payment being confirmed", body = Pending),
        (status = 503, description = crate::apidoc::REFUSED, body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn buy(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    ApiJson(body): ApiJson<BuyBody>,
) -> ApiResult<Response> {
    let vehicle = vehicle_of(
        body.transport_code.as_deref(),
        body.plate.as_deref(),
        language,
    )?;
    let zone = zone_of(body.zone, language)?;
    let idempotency = IdempotencyKey::new(format!("api:{}", phone.as_e164()), &key)
        .map_err(|e| Problem::from_service(e, language))?;
    let payer = match body.card.as_deref() {
        Some(card) => super::cards::ride_payer(&state, &phone, card, language).await?,
        None => Payer::PhoneBalance(phone),
    };
    let request = RideRequest {
        payer,
        vehicle,
        zone,
        additional: body.additional,
        channel: Channel::Api,
        idempotency,
        language,
    };
    let outcome = buy_ticket(&state.app, request)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(outcome_response(&state, outcome, language))
}

fn outcome_response(state: &crate::State, outcome: RideOutcome, language: Language) -> Response {
    match outcome {
        RideOutcome::Issued(ticket) => (
            StatusCode::CREATED,
            Json(Ticket::of(&ticket, state.app.now_ms())),
        )
            .into_response(),
        RideOutcome::Pending { ride_id } => {
            let body = Pending {
                ride_id: ride_id.to_string(),
                status: "pending",
                code: ErrorCode::PaymentPending.code(),
                message: ErrorCode::PaymentPending.message(language),
            };
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
    }
}

#[utoipa::path(get, path = "/v1/rides/{ride_id}", summary = "A ride's outcome",
    security(("bearer" = [])), params(("ride_id" = String, Path), crate::apidoc::LangQuery),
    responses((status = 200, description = "The ticket, or the ride's final failure", body = RideRead),
        (status = 202, description = "Still pending", body = Pending)))]
pub(crate) async fn status(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    Path(ride_id): Path<String>,
) -> ApiResult<Response> {
    let Ok(ride_id) = RideId::parse(&ride_id) else {
        return Err(Problem::new(ErrorCode::NotFound, language));
    };
    let owner = service::rides::ride_holder(&state.app, &ride_id)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    if owner.as_ref() != Some(&phone) {
        return Err(Problem::new(ErrorCode::NotFound, language));
    }
    match settled_answer(&state.app, &ride_id)
        .await
        .map_err(|e| Problem::from_service(e, language))?
    {
        // Reading a ride creates nothing: 200, not 201.
        Some(Ok(RideOutcome::Issued(ticket))) => Ok(Json(RideRead::Ticket(Box::new(Ticket::of(
            &ticket,
            state.app.now_ms(),
        ))))
        .into_response()),
        Some(Ok(outcome)) => Ok(outcome_response(&state, outcome, language)),
        Some(Err(refused)) => {
            // A settled failure reads back as the ride's final state, never as "try again".
            let failure = refused.code;
            let shown = service::rides::final_failure(refused).code;
            let body = RideRead::Failed(Failed {
                ride_id: ride_id.to_string(),
                status: RideStatus::Failed.as_str(),
                code: failure.code(),
                message: shown.message(language),
            });
            Ok((StatusCode::OK, Json(body)).into_response())
        }
        None => Ok(outcome_response(
            &state,
            RideOutcome::Pending { ride_id },
            language,
        )),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// the `next_cursor` of the previous page
    #[serde(default)]
    #[param(pattern = "^[0-9]{1,18}[.-][0-9]{1,11}$")]
    cursor: Option<String>,
    #[serde(default)]
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TicketList {
    tickets: Vec<Ticket>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/tickets/valid", summary = "The signed-in passenger's valid tickets",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "Tickets", body = TicketList)))]
pub(crate) async fn valid_tickets(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
) -> ApiResult<Json<TicketList>> {
    let tickets = valid(&state.app, &phone)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let now_ms = state.app.now_ms();
    Ok(Json(TicketList {
        tickets: tickets.iter().map(|t| Ticket::of(t, now_ms)).collect(),
        next_cursor: None,
    }))
}

#[utoipa::path(get, path = "/v1/tickets/history", summary = "Trip details, newest first",
    security(("bearer" = [])), params(PageQuery, crate::apidoc::LangQuery),
    responses((status = 200, description = "One page", body = TicketList)))]
pub(crate) async fn history(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<TicketList>> {
    let cursor = query
        .cursor
        .as_deref()
        .map(PageCursor::parse)
        .transpose()
        .map_err(|e| Problem::from_service(e, language))?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=service::tickets::HISTORY_PAGE_MAX).contains(&limit) {
        return Err(
            Problem::new(ErrorCode::BadRequest, language).detail(format!(
                "limit must be 1..={}",
                service::tickets::HISTORY_PAGE_MAX
            )),
        );
    }
    let page = history_page(&state.app, &phone, cursor, limit)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let now_ms = state.app.now_ms();
    Ok(Json(TicketList {
        tickets: page.tickets.iter().map(|t| Ticket::of(t, now_ms)).collect(),
        next_cursor: page.next.map(|c| c.render()),
    }))
}
