//! A stop's next arrivals (public): the routes serving it, the timetable's next departures
//! and, for a bus already on its way, when it is expected.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use service::arrivals::{Arrival, StopArrivals};
use utoipa_axum::routes;

use super::transit::StopDto;
use crate::extract::Lang;
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

pub(crate) fn routes(table: super::Table) -> super::Table {
    table.op(routes!(arrivals))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StopArrivals)]
struct ArrivalsDto {
    stop: StopDto,
    /// The numbers of the routes serving the stop.
    routes: Vec<String>,
    arrivals: Vec<ArrivalDto>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Arrival)]
struct ArrivalDto {
    route_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    headsign: Option<String>,
    #[schema(format = DateTime)]
    scheduled_at: String,
    /// A live bus on its way: when it is expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    expected_at: Option<String>,
    live: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    transport_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plate: Option<String>,
}

impl ArrivalDto {
    fn of(a: &Arrival) -> ArrivalDto {
        ArrivalDto {
            route_number: a.route_number.clone(),
            headsign: a.headsign.clone(),
            scheduled_at: rfc3339_ms(a.scheduled_ms),
            expected_at: a.expected_ms.map(rfc3339_ms),
            live: a.expected_ms.is_some(),
            transport_code: a.transport_code.clone(),
            plate: a.plate.clone(),
        }
    }
}

impl ArrivalsDto {
    fn of(s: &StopArrivals) -> ArrivalsDto {
        ArrivalsDto {
            stop: StopDto {
                id: s.stop_id.clone(),
                name: s.name.clone(),
                lat: s.lat,
                lon: s.lon,
            },
            routes: s.routes.clone(),
            arrivals: s.arrivals.iter().map(ArrivalDto::of).collect(),
        }
    }
}

/// A stop of a city's path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct StopPath {
    #[param(example = "astana")]
    city: String,
    /// The GTFS stop id.
    stop: String,
}

#[utoipa::path(get, path = "/v1/cities/{city}/stops/{stop}/arrivals",
    summary = "A stop's routes and next arrivals: the timetable's departures within two hours (at most 12) and, for a bus on its way, when it is expected (`live`, `expected_at`)",
    params(StopPath, crate::apidoc::LangQuery),
    responses((status = 200, description = "The stop, its routes and next arrivals", body = ArrivalsDto)))]
async fn arrivals(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Path(StopPath { city, stop }): Path<StopPath>,
) -> ApiResult<Json<ArrivalsDto>> {
    let found = service::arrivals::at_stop(&state.app, &city, &stop)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(ArrivalsDto::of(&found)))
}
