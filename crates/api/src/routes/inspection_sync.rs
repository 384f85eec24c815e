//! A controller's device syncs the checks it made (often offline): each is checked again as of
//! when it was shown and recorded once per device id; the answer names the server's verdict
//! and the flags. And the shift summary of the signed-in controller's recorded checks.

use axum::Json;
use axum::extract::State;
use domain::TransportCode;
use serde::{Deserialize, Serialize};

use super::inspections::{InspectionReply, flag_reason, reply_of, verdict};
use crate::extract::{ApiJson, ApiQuery, Lang, Staff};
use crate::problem::{ApiResult, Problem};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyncBody {
    #[schema(min_items = 1, max_items = 100)]
    inspections: Vec<SyncItemIn>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SyncedCheck)]
struct SyncItemIn {
    /// The device's id for this check (a UUID): sending it again records nothing and answers
    /// `already_recorded`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    id: String,
    /// As scanned; a ticket is at most 400 characters (`domain::ticket::TOKEN_CHARS_MAX`), and
    /// anything that is not a ticket is recorded as MALFORMED.
    #[schema(max_length = 400)]
    token: String,
    /// The vehicle the controller was in.
    #[schema(pattern = "^[0-9]{3,8}$")]
    transport_code: String,
    /// When the ticket was shown (unix ms, within the last 7 days); the ticket is judged as of
    /// then.
    #[schema(minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)]
    scanned_at_ms: i64,
    /// The verdict the device showed.
    #[schema(schema_with = device_result)]
    result: String,
    offline: bool,
}

/// The verdicts a device may report: the server's and its own `RUN_ENDED` (from the
/// invalidation list).
fn device_result() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&service::inspect::device_results())
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SyncReply {
    /// In the order sent.
    results: Vec<SyncResult>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SyncedCheckResult)]
struct SyncResult {
    id: String,
    /// `recorded` (checked now), `already_recorded` (by an earlier sync) or `refused`.
    #[schema(schema_with = sync_status)]
    status: &'static str,
    /// The verdict the device showed, as sent.
    device_result: String,
    /// The server's verdict (absent when refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = verdict)]
    result: Option<String>,
    /// Whether the device's verdict is the server's (`RUN_ENDED` on the device is `EXPIRED`
    /// here).
    agrees: bool,
    flagged_shared: bool,
    #[schema(schema_with = flag_reason)]
    flag_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inspection: Option<InspectionReply>,
    /// Why the check was not recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<Refused>,
}

fn sync_status() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["recorded", "already_recorded", "refused"])
}

/// Why a check was not recorded: a problem's stable code, message and detail.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SyncRefusal)]
struct Refused {
    code: &'static str,
    /// In the caller's language.
    message: &'static str,
    detail: String,
}

#[utoipa::path(post, path = "/v1/controller/inspections/sync",
    summary = "Sync a controller device's queue of checks: each checked again as of when it was shown, recorded once per device id, flagged when the ticket was shown in two vehicles (by any controller)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery), request_body = SyncBody,
    responses((status = 200, description = "One result per check, in the order sent", body = SyncReply),
        (status = 413, description = "BODY_TOO_LARGE: over the route's body limit (100 checks of 400-character tokens)",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn sync(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    ApiJson(body): ApiJson<SyncBody>,
) -> ApiResult<Json<SyncReply>> {
    // Every vehicle named must be the controller's before anything is recorded.
    for item in &body.inspections {
        if let Ok(vehicle) = TransportCode::parse(&item.transport_code) {
            caller
                .actor
                .require_vehicle(&state.app, &vehicle)
                .map_err(|e| Problem::from_service(e, language))?;
        }
    }
    let items: Vec<service::inspect::SyncItem> = body
        .inspections
        .into_iter()
        .map(|i| service::inspect::SyncItem {
            device_id: i.id,
            token: i.token,
            transport_code: i.transport_code,
            scanned_at_ms: i.scanned_at_ms,
            device_result: i.result,
            offline: i.offline,
        })
        .collect();
    let outcomes = service::inspect::sync(&state.app, &caller.actor, &items)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let results = items
        .into_iter()
        .zip(outcomes)
        .map(|(item, outcome)| result_of(item, outcome, language))
        .collect();
    Ok(Json(SyncReply { results }))
}

fn agrees(device: &str, server: &str) -> bool {
    device == server
        || (device == service::inspect::DEVICE_RUN_ENDED
            && server == service::inspect::Verdict::Expired.code())
}

fn result_of(
    item: service::inspect::SyncItem,
    outcome: service::inspect::SyncOutcome,
    language: domain::Language,
) -> SyncResult {
    use service::inspect::SyncOutcome;
    let mut out = SyncResult {
        id: item.device_id,
        status: "refused",
        device_result: item.device_result,
        result: None,
        agrees: false,
        flagged_shared: false,
        flag_reason: None,
        inspection: None,
        refused: None,
    };
    match outcome {
        SyncOutcome::Recorded(inspection) => {
            let verdict = inspection.verdict.code();
            out.status = "recorded";
            out.agrees = agrees(&out.device_result, verdict);
            out.result = Some(verdict.to_owned());
            out.flagged_shared = inspection.flagged_shared;
            out.flag_reason = inspection.flag_reason.map(|r| r.code());
            out.inspection = Some(reply_of(*inspection));
        }
        SyncOutcome::AlreadyRecorded {
            verdict,
            flag_reason,
        } => {
            out.status = "already_recorded";
            out.agrees = agrees(&out.device_result, &verdict);
            out.result = Some(verdict);
            out.flagged_shared = flag_reason.is_some();
            out.flag_reason = flag_reason.map(|r| r.code());
        }
        SyncOutcome::Refused(error) => {
            out.refused = Some(Refused {
                code: error.code.code(),
                message: error.code.message(language),
                detail: error.detail,
            });
        }
    }
    out
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShiftQuery {
    /// When the shift began (unix ms, within the last 24 hours); 12 hours ago when absent.
    since_ms: Option<i64>,
}

/// A shift began this long ago when the device does not say.
const SHIFT_DEFAULT_MS: i64 = 12 * 60 * 60 * 1000;

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Shift)]
pub(crate) struct ShiftReply {
    since_ms: i64,
    checked: i64,
    invalid: i64,
    /// Checks not valid, by verdict (`EXPIRED`: 2, …).
    invalid_by_result: std::collections::BTreeMap<String, i64>,
    flagged: i64,
    /// Flagged checks, by why (`SHOWN_IN_TWO_VEHICLES`: 1, …).
    flagged_by_reason: std::collections::BTreeMap<String, i64>,
}

/// What the signed-in controller's recorded checks found since the shift began.
#[utoipa::path(get, path = "/v1/controller/shift",
    summary = "The signed-in controller's shift: checks recorded since `since_ms`, those not valid by verdict, those flagged by reason",
    // No `lang`: the query is read strictly (`lang` there is refused, 400).
    security(("bearer" = [])), params(ShiftQuery),
    responses((status = 200, description = "The shift", body = ShiftReply)))]
pub(crate) async fn shift(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    ApiQuery(query): ApiQuery<ShiftQuery>,
) -> ApiResult<Json<ShiftReply>> {
    let since_ms = query
        .since_ms
        .unwrap_or_else(|| state.app.now_ms().saturating_sub(SHIFT_DEFAULT_MS));
    let shift = service::inspect::shift(&state.app, &caller.actor, since_ms)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let invalid_by_result: std::collections::BTreeMap<String, i64> =
        shift.invalid_by_verdict.into_iter().collect();
    let flagged_by_reason: std::collections::BTreeMap<String, i64> =
        shift.flagged_by_reason.into_iter().collect();
    Ok(Json(ShiftReply {
        since_ms: shift.since_ms,
        checked: shift.checked,
        invalid: invalid_by_result.values().sum(),
        invalid_by_result,
        flagged: flagged_by_reason.values().sum(),
        flagged_by_reason,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ControllerVehicleList)]
pub(crate) struct VehicleList {
    vehicles: Vec<VehicleOut>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ControllerVehicle)]
struct VehicleOut {
    transport_code: String,
    plate: String,
    /// Latin capitals and digits without spaces, as a typed plate is folded.
    plate_folded: String,
    city: String,
    /// The city's IANA time zone, for showing a ticket's times as local times.
    timezone: String,
    route_number: String,
    carrier: String,
}

/// The vehicles the signed-in controller may inspect, for its device to choose one by code or
/// plate without network.
#[utoipa::path(get, path = "/v1/controller/vehicles",
    summary = "The active vehicles of the signed-in controller's cities and carriers, for its device to choose one by transport code or plate offline",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The vehicles", body = VehicleList)))]
pub(crate) async fn vehicles(
    State(state): State<crate::State>,
    caller: Staff,
) -> ApiResult<Json<VehicleList>> {
    let vehicles = service::inspect::vehicles(&state.app, &caller.actor)
        .into_iter()
        .map(|v| VehicleOut {
            transport_code: v.transport_code,
            plate: v.plate,
            plate_folded: v.plate_folded,
            city: v.city,
            timezone: v.timezone,
            route_number: v.route_number,
            carrier: v.carrier,
        })
        .collect();
    Ok(Json(VehicleList { vehicles }))
}
