//! Public reading of the catalogue: the cities and routes served, with their fares, where each
//! city is (the box around its stops) and the preferential categories it prices, and the list
//! of keys that sign tickets.

use axum::Json;
use axum::extract::State;
use domain::catalogue::RiderCategory;
use serde::Serialize;

use super::wire::Money;
use crate::extract::Lang;
use crate::keys_wire::{KeyListDto, to_dto};
use crate::problem::{ApiResult, Problem};

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CityList {
    cities: Vec<City>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CatalogueCity)]
struct City {
    id: String,
    /// In the language of the request.
    name: String,
    /// IANA time zone.
    timezone: String,
    /// The middle of the box around the city's stops (absent before its GTFS is imported).
    #[serde(skip_serializing_if = "Option::is_none")]
    centre: Option<Point>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bounds: Option<Bounds>,
    /// The preferential categories this city prices, each with its fare on a city route.
    categories: Vec<CategoryFare>,
    routes: Vec<Route>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CityCentre)]
struct Point {
    lat: f64,
    lon: f64,
}

/// The box around the city's stops, in decimal degrees.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CityBounds)]
struct Bounds {
    south: f64,
    west: f64,
    north: f64,
    east: f64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct CategoryFare {
    /// A preferential rider category.
    category: &'static str,
    /// The lowest fare of the category on the city's routes (zone fares aside).
    fare: Money,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CatalogueRoute)]
struct Route {
    id: String,
    number: String,
    name: String,
    #[schema(schema_with = route_kind)]
    kind: &'static str,
    /// The regular fare; suburban routes list it per zone.
    fare: Option<Money>,
    /// A suburban route's regular fare to each zone; empty on the others.
    zone_fares: Vec<ZoneFare>,
    /// Its active vehicles.
    vehicles: usize,
}

fn route_kind() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["regular", "express", "suburban"])
}

#[derive(Serialize, utoipa::ToSchema)]
struct ZoneFare {
    #[schema(minimum = 1, maximum = 9)]
    zone: u8,
    fare: Money,
}

#[utoipa::path(get, path = "/v1/cities",
    summary = "Cities and routes served, with fares; each city's centre and bounds (from its stops, once its GTFS is imported) and its preferential categories with their fares",
    params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The public list", body = CityList)))]
pub(crate) async fn cities(
    State(state): State<crate::State>,
    Lang(language): Lang,
) -> Json<CityList> {
    let catalogue = state.app.catalogue();
    let mut boxes = std::collections::HashMap::new();
    for id in catalogue.cities.keys() {
        if let Ok((_, data)) = service::transit::city(&state.app, id.as_str()).await
            && let Some(b) = data.bounds()
        {
            boxes.insert(id.clone(), b);
        }
    }
    let cities = catalogue
        .cities
        .values()
        .map(|city| City {
            id: city.id.to_string(),
            name: city.name(language).to_owned(),
            timezone: city.timezone.clone(),
            centre: boxes.get(&city.id).map(|(sw, ne)| Point {
                lat: (sw.lat() + ne.lat()) / 2.0,
                lon: (sw.lon() + ne.lon()) / 2.0,
            }),
            bounds: boxes.get(&city.id).map(|(sw, ne)| Bounds {
                south: sw.lat(),
                west: sw.lon(),
                north: ne.lat(),
                east: ne.lon(),
            }),
            categories: RiderCategory::ALL
                .into_iter()
                .filter(|c| c.is_preferential())
                // A category the city prices has a rule of its own.
                .filter(|c| {
                    catalogue
                        .fare_rules
                        .iter()
                        .any(|r| r.city == city.id && r.rider_category == Some(*c))
                })
                .filter_map(|category| {
                    catalogue
                        .routes
                        .values()
                        .filter(|r| r.city == city.id)
                        .filter(|r| r.kind != domain::catalogue::RouteKind::Suburban)
                        .filter_map(|r| catalogue.fare(r, category, None))
                        .min_by_key(|f| f.tiyn())
                        .map(|fare| CategoryFare {
                            category: category.as_str(),
                            fare: Money::of(fare),
                        })
                })
                .collect(),
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

#[utoipa::path(get, path = "/v1/keys", summary = "Published ticket signing keys",
    params(crate::apidoc::LangQuery),
    responses((status = 200, description = "Key list", body = KeyListDto)))]
pub(crate) async fn keys(
    State(state): State<crate::State>,
    Lang(language): Lang,
) -> ApiResult<Json<KeyListDto>> {
    let keys = service::keys::published_keys(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(to_dto(&keys)))
}
