//! A stop's next arrivals (public): the routes serving it, the timetable's next departures
//! and, for a bus already on its way, when it is expected.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use service::arrivals::{Arrival, StopArrivals};

use super::transit::StopDto;
use crate::extract::Lang;
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

pub(crate) fn routes(table: super::Table) -> super::Table {
    table.get("/v1/cities/{city}/stops/{stop}/arrivals", arrivals)
}

#[derive(Serialize)]
struct ArrivalsDto {
    stop: StopDto,
    routes: Vec<String>,
    arrivals: Vec<ArrivalDto>,
}

#[derive(Serialize)]
struct ArrivalDto {
    route_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    headsign: Option<String>,
    scheduled_at: String,
    /// A live bus on its way: when it is expected.
    #[serde(skip_serializing_if = "Option::is_none")]
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

async fn arrivals(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Path((city, stop)): Path<(String, String)>,
) -> ApiResult<Json<ArrivalsDto>> {
    let found = service::arrivals::at_stop(&state.app, &city, &stop)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(ArrivalsDto::of(&found)))
}
