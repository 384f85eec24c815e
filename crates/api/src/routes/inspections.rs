//! Controllers check tickets; every check is recorded.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use domain::{ErrorCode, TransportCode};
use serde::{Deserialize, Serialize};

use super::wire::Money;
use crate::extract::{ApiJson, Lang, require_bearer};
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
    headers: HeaderMap,
    Lang(language): Lang,
    ApiJson(body): ApiJson<InspectBody>,
) -> ApiResult<Json<InspectionReply>> {
    require_bearer(&headers, &state.settings.access.controller_token, language)?;
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
