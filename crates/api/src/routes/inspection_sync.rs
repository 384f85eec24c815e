//! A controller's device syncs the checks it made (often offline): each is checked again as of
//! when it was shown and recorded once per device id; the answer names the server's verdict
//! and the flags. And the shift summary of the signed-in controller's recorded checks.

use axum::Json;
use axum::extract::State;
use domain::TransportCode;
use serde::{Deserialize, Serialize};

use super::inspections::{InspectionReply, reply_of};
use crate::extract::{ApiJson, ApiQuery, Lang, Staff};
use crate::problem::{ApiResult, Problem};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyncBody {
    inspections: Vec<SyncItemIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncItemIn {
    /// The device's id for this check (a UUID): sending it again records nothing.
    id: String,
    token: String,
    transport_code: String,
    scanned_at_ms: i64,
    /// The verdict the device showed.
    result: String,
    offline: bool,
}

#[derive(Serialize)]
pub(crate) struct SyncReply {
    results: Vec<SyncResult>,
}

#[derive(Serialize)]
struct SyncResult {
    id: String,
    /// `recorded` (checked now), `already_recorded` (by an earlier sync) or `refused`.
    status: &'static str,
    /// The verdict the device showed, as sent.
    device_result: String,
    /// The server's verdict (absent when refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<String>,
    /// Whether the device's verdict is the server's (`RUN_ENDED` on the device is `EXPIRED`
    /// here).
    agrees: bool,
    flagged_shared: bool,
    flag_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inspection: Option<InspectionReply>,
    /// Why the check was not recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<Refused>,
}

#[derive(Serialize)]
struct Refused {
    code: &'static str,
    /// In the caller's language.
    message: &'static str,
    detail: String,
}

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
    device == server || (device == "RUN_ENDED" && server == "EXPIRED")
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShiftQuery {
    /// When the shift began (unix ms); 12 hours ago when absent.
    since_ms: Option<i64>,
}

/// A shift began this long ago when the device does not say.
const SHIFT_DEFAULT_MS: i64 = 12 * 60 * 60 * 1000;

#[derive(Serialize)]
pub(crate) struct ShiftReply {
    since_ms: i64,
    checked: i64,
    invalid: i64,
    /// Checks not valid, by verdict (`EXPIRED`: 2, …).
    invalid_by_result: std::collections::BTreeMap<String, i64>,
    flagged: i64,
    flagged_by_reason: std::collections::BTreeMap<String, i64>,
}

/// What the signed-in controller's recorded checks found since the shift began.
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

#[derive(Serialize)]
pub(crate) struct VehicleList {
    vehicles: Vec<VehicleOut>,
}

#[derive(Serialize)]
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
