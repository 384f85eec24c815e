//! Controllers check tickets (every check is recorded), sync the invalidation list and the
//! holder keys for offline checks; the system operator revokes tickets.

use axum::Json;
use axum::extract::{Path, State};
use domain::{ErrorCode, TransportCode};
use serde::{Deserialize, Serialize};

use super::wire::Money;
use crate::extract::{ApiJson, ApiQuery, Lang, Staff};
use crate::keys_wire::{HolderKeyListDto, rfc3339_local_ms, rfc3339_ms};
use crate::problem::{ApiResult, Problem};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InspectBody {
    token: String,
    /// The vehicle the controller is in.
    #[schema(pattern = "^[0-9]{3,8}$")]
    transport_code: String,
    #[schema(min_length = 1, max_length = 64)]
    inspector: String,
    /// The number the passenger says the ticket was bought from, for a ticket bound to a phone
    /// (`ticket.holder` = `phone`); the answer's `holder` says whether it was.
    #[serde(default)]
    #[schema(pattern = "^\\+7[67][0-9]{9}$")]
    holder_phone: Option<String>,
    /// The transport card the passenger says paid, for a ticket bound to a card
    /// (`ticket.holder` = `card`); not with `holder_phone`.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{16}$")]
    holder_card: Option<String>,
}

/// A check's verdict (`service::inspect::Verdict::code`).
pub(crate) fn verdict() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&service::inspect::Verdict::codes())
}

/// Why a ticket is flagged as shared (`service::inspect::FlagReason::code`), or null.
pub(crate) fn flag_reason() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of_or_null(&["SHOWN_IN_TWO_VEHICLES", "SHOWN_TWICE_IN_VEHICLE"])
}

fn holder() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["MATCHES", "DOES_NOT_MATCH", "NOT_CHECKED"])
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Inspection)]
pub(crate) struct InspectionReply {
    #[schema(schema_with = verdict)]
    result: &'static str,
    valid: bool,
    flagged_shared: bool,
    /// `SHOWN_IN_TWO_VEHICLES` or `SHOWN_TWICE_IN_VEHICLE` when flagged, else null.
    #[schema(schema_with = flag_reason)]
    flag_reason: Option<&'static str>,
    /// The earlier showing that, with this one, makes the flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    flagged_because_of: Option<EarlierShowing>,
    seen_in_vehicles: Vec<String>,
    /// `MATCHES`, `DOES_NOT_MATCH`, or `NOT_CHECKED` (no holder given, a holder of another kind
    /// than the ticket's `holder`, or nothing to check it against).
    #[schema(schema_with = holder)]
    holder: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<Facts>,
}

/// The earlier showing that, with this one, makes the flag.
#[derive(Serialize, utoipa::ToSchema)]
struct EarlierShowing {
    transport_code: String,
    inspector: String,
    #[schema(schema_with = verdict)]
    result: String,
    /// The city's local time with its offset.
    #[schema(format = DateTime)]
    at: String,
}

/// What the ticket says, for the controller's screen.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = InspectedTicket)]
struct Facts {
    check_number: String,
    city: String,
    route_number: String,
    transport_code: String,
    plate: String,
    fare: Money,
    rider_category: String,
    /// The city's local time with its offset, as on the passenger's ticket
    /// (`2026-11-24T08:15:00+05:00`).
    #[schema(format = DateTime)]
    bought_at: String,
    #[schema(format = DateTime)]
    valid_until: String,
    /// The destination zone of a zone fare; absent on flat fares.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 9)]
    zone: Option<u8>,
    /// What the ticket is bound to: `phone` (ask for the number it was bought from) or `card`
    /// (ask for the transport card's number, shown in the passenger's app).
    #[schema(schema_with = crate::apidoc::holder_kind)]
    holder: &'static str,
}

#[utoipa::path(post, path = "/v1/inspections", summary = "Controller checks a ticket",
    security(("bearer" = [])), params(crate::apidoc::LangQuery), request_body = InspectBody,
    responses((status = 200, description = "Verdict", body = InspectionReply)))]
pub(crate) async fn inspect(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    ApiJson(body): ApiJson<InspectBody>,
) -> ApiResult<Json<InspectionReply>> {
    let vehicle = TransportCode::parse(&body.transport_code).map_err(|e| {
        Problem::new(ErrorCode::TransportCodeMalformed, language).detail(e.to_string())
    })?;
    caller
        .actor
        .require_vehicle(&state.app, &vehicle)
        .map_err(|e| Problem::from_service(e, language))?;
    let holder =
        service::inspect::told_holder(body.holder_phone.as_deref(), body.holder_card.as_deref())
            .map_err(|e| Problem::from_service(e, language))?;
    let inspection = service::inspect::inspect(
        &state.app,
        &body.token,
        &vehicle,
        &body.inspector,
        holder.as_ref(),
    )
    .await
    .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(reply_of(inspection)))
}

/// The answer of a check, as `POST /v1/inspections` and a sync give it.
pub(crate) fn reply_of(inspection: service::inspect::Inspection) -> InspectionReply {
    let offset = inspection
        .ticket
        .as_ref()
        .map_or(service::catalogue::FALLBACK_UTC_OFFSET_MINUTES, |t| {
            t.utc_offset_minutes
        });
    InspectionReply {
        result: inspection.verdict.code(),
        valid: inspection.verdict == service::inspect::Verdict::Valid,
        flagged_shared: inspection.flagged_shared,
        flag_reason: inspection.flag_reason.map(|reason| reason.code()),
        flagged_because_of: inspection.flagged_because_of.map(|e| EarlierShowing {
            transport_code: e.vehicle,
            inspector: e.inspector,
            result: e.verdict,
            at: rfc3339_local_ms(e.checked_at_ms, offset),
        }),
        seen_in_vehicles: inspection.seen_in_vehicles,
        holder: inspection.holder.code(),
        ticket: inspection.ticket.map(|t| Facts {
            check_number: t.check_number,
            city: t.city,
            route_number: t.route_number,
            transport_code: t.vehicle,
            plate: t.plate,
            fare: Money::of(t.fare),
            rider_category: t.rider_category,
            bought_at: rfc3339_local_ms(t.bought_at_ms, t.utc_offset_minutes),
            valid_until: rfc3339_local_ms(t.valid_until_ms, t.utc_offset_minutes),
            zone: t.zone,
            holder: t.holder_kind.as_str(),
        }),
    }
}

/// The holder keys of the current signing keys, for a signed-in controller's device to check
/// offline that a ticket belongs to the number its passenger tells. Never public: with them a
/// ticket's holder tag can be tested against numbers.
#[utoipa::path(get, path = "/v1/controller/holder-keys",
    summary = "Holder keys of the current signing keys, for a controller's device to check offline that a ticket belongs to the number a passenger tells (never public)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The holder keys", body = HolderKeyListDto)))]
pub(crate) async fn holder_keys(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<HolderKeyListDto>> {
    let keys = service::keys::holder_keys(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(crate::keys_wire::holder_keys_to_dto(&keys)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeBody {
    #[schema(max_length = 500, pattern = "\\S")]
    reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Revoked)]
pub(crate) struct RevokeReply {
    number: i64,
    check_number: String,
    #[schema(schema_with = revoked)]
    status: &'static str,
}

fn revoked() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&[domain::ticket::TicketStatus::Revoked.as_str()])
}

/// The ticket of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct CheckNumberPath {
    /// `DDDD-DDDD-DDDC`; a wrong check digit C is refused (400)
    #[param(pattern = "^[0-9]{4}-?[0-9]{4}-?[0-9]{4}$", example = "1297-5226-7646")]
    check_number: String,
}

/// The system operator takes a valid ticket out of use.
#[utoipa::path(post, path = "/v1/admin/tickets/{check_number}/revoke",
    summary = "Revoke a valid ticket (controllers then see REVOKED)",
    security(("bearer" = [])), params(CheckNumberPath, crate::apidoc::LangQuery),
    request_body = RevokeBody,
    responses((status = 200, description = "Revoked", body = RevokeReply),
        (status = 404, description = "NOT_FOUND: no such ticket", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM),
        (status = 409, description = "The ticket is not valid (revoked, refunded or ended already)",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn revoke(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(CheckNumberPath { check_number }): Path<CheckNumberPath>,
    ApiJson(body): ApiJson<RevokeBody>,
) -> ApiResult<Json<RevokeReply>> {
    let revoked =
        service::revocations::revoke(&state.app, &caller.actor, &check_number, &body.reason)
            .await
            .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(RevokeReply {
        number: i64::from(revoked.number),
        check_number: revoked.check_number,
        status: domain::ticket::TicketStatus::Revoked.as_str(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvalidationsQuery {
    /// The `next` of the previous page
    #[param(pattern = "^[0-9]{1,18}[.-][0-9]{1,11}$")]
    after: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Invalidations {
    invalidations: Vec<InvalidationOut>,
    /// Ask with `after=<next>` to get only what is newer.
    next: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Invalidation)]
struct InvalidationOut {
    number: i64,
    check_number: String,
    /// `revoked`, `refunded` or `run_ended`.
    #[schema(schema_with = why)]
    why: &'static str,
    #[schema(format = DateTime)]
    at: String,
    /// The controller may forget the entry after this: the ticket has expired anyway.
    #[schema(format = DateTime)]
    not_after: String,
}

fn why() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["revoked", "refunded", "run_ended"])
}

/// What a controller's device syncs to refuse invalidated tickets while offline.
#[utoipa::path(get, path = "/v1/controller/invalidations",
    summary = "Tickets invalidated before their time (revoked, refunded, run ended), oldest first, for offline checks",
    // No `lang`: the query is read strictly (`lang` there is refused, 400).
    security(("bearer" = [])), params(InvalidationsQuery),
    responses((status = 200, description = "One page: pass `next` as `after` for what is newer", body = Invalidations)))]
pub(crate) async fn invalidations(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
    ApiQuery(query): ApiQuery<InvalidationsQuery>,
) -> ApiResult<Json<Invalidations>> {
    let after = query
        .after
        .as_deref()
        .map(service::paging::PageCursor::parse)
        .transpose()
        .map_err(|e| Problem::from_service(e, language))?;
    let limit = query.limit.unwrap_or(service::revocations::PAGE_MAX);
    if !(1..=service::revocations::PAGE_MAX).contains(&limit) {
        return Err(
            Problem::new(ErrorCode::BadRequest, language).detail(format!(
                "limit must be 1..={}",
                service::revocations::PAGE_MAX
            )),
        );
    }
    let (page, next) = service::revocations::after(&state.app, after, limit)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let invalidations = page
        .into_iter()
        .map(|i| InvalidationOut {
            number: i64::from(i.number),
            check_number: i.check_number,
            why: i.why,
            at: rfc3339_ms(i.invalidated_at_ms),
            not_after: rfc3339_ms(i.not_after_ms),
        })
        .collect();
    Ok(Json(Invalidations {
        invalidations,
        next: next.render(),
    }))
}
