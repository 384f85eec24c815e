//! Controllers check tickets; every check is recorded.

use axum::Json;
use axum::extract::{Path, State};
use domain::{ErrorCode, TransportCode};
use serde::{Deserialize, Serialize};

use super::wire::Money;
use crate::extract::{Admin, ApiJson, ApiQuery, Controller, Lang};
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InspectBody {
    token: String,
    /// The vehicle the controller is in.
    transport_code: String,
    inspector: String,
}

#[derive(Serialize)]
pub(crate) struct InspectionReply {
    result: &'static str,
    valid: bool,
    flagged_shared: bool,
    seen_in_vehicles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<Facts>,
}

#[derive(Serialize)]
struct Facts {
    check_number: String,
    city: String,
    route_number: String,
    transport_code: String,
    plate: String,
    fare: Money,
    rider_category: String,
    bought_at: String,
    valid_until: String,
}

pub(crate) async fn inspect(
    State(state): State<crate::State>,
    _caller: Controller,
    Lang(language): Lang,
    ApiJson(body): ApiJson<InspectBody>,
) -> ApiResult<Json<InspectionReply>> {
    let vehicle = TransportCode::parse(&body.transport_code).map_err(|e| {
        Problem::new(ErrorCode::TransportCodeMalformed, language).detail(e.to_string())
    })?;
    let inspection = service::inspect::inspect(&state.app, &body.token, &vehicle, &body.inspector)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(InspectionReply {
        result: inspection.verdict.code(),
        valid: inspection.verdict == service::inspect::Verdict::Valid,
        flagged_shared: inspection.flagged_shared,
        seen_in_vehicles: inspection.seen_in_vehicles,
        ticket: inspection.ticket.map(|t| Facts {
            check_number: t.check_number,
            city: t.city,
            route_number: t.route_number,
            transport_code: t.vehicle,
            plate: t.plate,
            fare: Money::of(t.fare),
            rider_category: t.rider_category,
            bought_at: rfc3339_ms(t.bought_at_ms),
            valid_until: rfc3339_ms(t.valid_until_ms),
        }),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeBody {
    reason: String,
}

#[derive(Serialize)]
pub(crate) struct RevokeReply {
    number: i64,
    check_number: String,
    status: &'static str,
}

/// The system operator takes a valid ticket out of use.
pub(crate) async fn revoke(
    State(state): State<crate::State>,
    _caller: Admin,
    Lang(language): Lang,
    Path(check_number): Path<String>,
    ApiJson(body): ApiJson<RevokeBody>,
) -> ApiResult<Json<RevokeReply>> {
    let revoked = service::revocations::revoke(&state.app, &check_number, &body.reason)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(RevokeReply {
        number: revoked.number,
        check_number: revoked.check_number,
        status: "revoked",
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvalidationsQuery {
    after: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize)]
pub(crate) struct Invalidations {
    invalidations: Vec<InvalidationOut>,
    /// Ask with `after=<next>` to get only what is newer.
    next: String,
}

#[derive(Serialize)]
struct InvalidationOut {
    number: i64,
    check_number: String,
    /// `revoked`, `refunded` or `run_ended`.
    why: String,
    at: String,
    /// The controller may forget the entry after this: the ticket has expired anyway.
    not_after: String,
}

/// What a controller's device syncs to refuse invalidated tickets while offline.
pub(crate) async fn invalidations(
    State(state): State<crate::State>,
    _caller: Controller,
    Lang(language): Lang,
    ApiQuery(query): ApiQuery<InvalidationsQuery>,
) -> ApiResult<Json<Invalidations>> {
    let after = query
        .after
        .as_deref()
        .map(service::revocations::Cursor::parse)
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
            number: i.number,
            check_number: u64::try_from(i.number)
                .ok()
                .and_then(|n| domain::ticket::TicketNumber::new(n).ok())
                .map_or_else(|| i.number.to_string(), |n| n.check_form()),
            why: if i.status == "valid" && i.ended {
                "run_ended".into()
            } else {
                i.status
            },
            at: rfc3339_ms(i.invalidated_at_ms),
            not_after: rfc3339_ms(i.not_after_ms),
        })
        .collect();
    Ok(Json(Invalidations {
        invalidations,
        next: next.render(),
    }))
}
