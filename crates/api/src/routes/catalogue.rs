//! Public reading of the catalogue: the cities and routes served, with their fares, and the
//! list of keys that sign tickets.

use axum::Json;
use axum::extract::State;
use domain::catalogue::RiderCategory;
use serde::Serialize;

use super::wire::Money;
use crate::extract::Lang;
use crate::keys_wire::{KeyListDto, to_dto};
use crate::problem::{ApiResult, Problem};

#[derive(Serialize)]
pub(crate) struct CityList {
    cities: Vec<City>,
}

#[derive(Serialize)]
struct City {
    id: String,
    name: String,
    timezone: String,
    routes: Vec<Route>,
}

#[derive(Serialize)]
struct Route {
    id: String,
    number: String,
    name: String,
    kind: &'static str,
    /// The regular fare; suburban routes list it per zone.
    fare: Option<Money>,
    zone_fares: Vec<ZoneFare>,
    vehicles: usize,
}

#[derive(Serialize)]
struct ZoneFare {
    zone: u8,
    fare: Money,
}

pub(crate) async fn cities(
    State(state): State<crate::State>,
    Lang(language): Lang,
) -> Json<CityList> {
    let catalogue = state.app.catalogue();
    let cities = catalogue
        .cities
        .values()
        .map(|city| City {
            id: city.id.to_string(),
            name: city.name(language).to_owned(),
            timezone: city.timezone.clone(),
            routes: catalogue
                .routes
                .values()
                .filter(|r| r.city == city.id)
                .map(|r| Route {
                    id: r.id.to_string(),
                    number: r.number.clone(),
                    name: r.name.clone(),
                    kind: r.kind.as_str(),
                    fare: catalogue
                        .fare(r, RiderCategory::Regular, None)
                        .map(Money::of),
                    zone_fares: (1..=domain::catalogue::ZONE_MAX)
                        .filter(|_| r.kind == domain::catalogue::RouteKind::Suburban)
                        .filter_map(|z| domain::catalogue::Zone::new(u32::from(z)).ok())
                        .filter_map(|zone| {
                            catalogue
                                .fare(r, RiderCategory::Regular, Some(zone))
                                .map(|f| ZoneFare {
                                    zone: zone.number(),
                                    fare: Money::of(f),
                                })
                        })
                        .collect(),
                    vehicles: catalogue
                        .vehicles
                        .values()
                        .filter(|v| v.route == r.id && v.active)
                        .count(),
                })
                .collect(),
        })
        .collect();
    Json(CityList { cities })
}

pub(crate) async fn keys(
    State(state): State<crate::State>,
    Lang(language): Lang,
) -> ApiResult<Json<KeyListDto>> {
    let keys = service::keys::published_keys(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(to_dto(&keys)))
}
