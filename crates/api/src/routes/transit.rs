//! The transit endpoints of a city: its routes with fares, a route's stops and shape, stops
//! near a point, stop and address search, and journey planning. Every query parameter is read
//! as text and checked here against its limit, so a bad one is a problem+json 400 in the
//! passenger's language, never axum's plain-text rejection.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use domain::{ErrorCode, Language};
use serde::{Deserialize, Serialize};
use service::transit::{
    self as transit, CityTransit, Coordinate, Departure, Endpoint, Leg, Place, PlanOptions,
    PlanRequest, SearchTarget, StopIdx,
};
use utoipa_axum::routes;

use super::wire::{CityPath, Money};
use crate::extract::Lang;
use crate::problem::{ApiResult, Problem};

/// Default radius of "stops near a point", metres.
pub const NEAR_RADIUS_M_DEFAULT: u32 = 500;
/// Default number of stops near a point.
pub const NEAR_RESULTS_DEFAULT: usize = 10;
/// Default number of search results.
pub const SEARCH_RESULTS_DEFAULT: usize = 10;
/// Longest text accepted in a query parameter, characters.
pub const PARAM_CHARS_MAX: usize = 200;

pub(crate) fn routes(table: super::Table) -> super::Table {
    table
        .op(routes!(route_list))
        .op(routes!(route_detail))
        .op(routes!(stops_near))
        .op(routes!(search))
        .op(routes!(plan))
}

fn bad(language: Language, detail: impl Into<String>) -> Problem {
    Problem::new(ErrorCode::BadRequest, language).detail(detail)
}

fn number<T>(
    text: Option<&str>,
    name: &str,
    default: T,
    range: std::ops::RangeInclusive<T>,
    language: Language,
) -> Result<T, Problem>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Some(text) = text else {
        return Ok(default);
    };
    match text.trim().parse::<T>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(bad(
            language,
            format!(
                "{name} must be a number within {}..={}",
                range.start(),
                range.end()
            ),
        )),
    }
}

fn text_param<'a>(
    text: Option<&'a str>,
    name: &str,
    language: Language,
) -> Result<&'a str, Problem> {
    match text.map(str::trim) {
        Some(t) if !t.is_empty() && t.chars().count() <= PARAM_CHARS_MAX => Ok(t),
        Some(t) if !t.is_empty() => Err(bad(
            language,
            format!("{name} is longer than {PARAM_CHARS_MAX} characters"),
        )),
        _ => Err(bad(language, format!("{name} is required"))),
    }
}

fn coordinate(lat: &str, lon: &str, language: Language) -> Result<Coordinate, Problem> {
    let invalid =
        || Problem::new(ErrorCode::CoordinatesInvalid, language).detail(format!("{lat},{lon}"));
    let lat: f64 = lat.trim().parse().map_err(|_| invalid())?;
    let lon: f64 = lon.trim().parse().map_err(|_| invalid())?;
    Coordinate::new(lat, lon).map_err(|_| invalid())
}

async fn city_data(
    state: &crate::State,
    city: &str,
    language: Language,
) -> Result<(service::catalogue::City, Arc<CityTransit>), Problem> {
    transit::city(&state.app, city)
        .await
        .map_err(|e| Problem::from_service(e, language))
}

/// A GTFS stop; a stop without coordinates has `lat` and `lon` null.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Stop)]
pub(crate) struct StopDto {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) lat: Option<f64>,
    pub(crate) lon: Option<f64>,
}

fn stop_dto(data: &CityTransit, stop: StopIdx) -> StopDto {
    match data.feed.stop(stop) {
        Some(s) => StopDto {
            id: s.id.as_str().to_owned(),
            name: s.name.clone(),
            lat: s.coordinate.map(Coordinate::lat),
            lon: s.coordinate.map(Coordinate::lon),
        },
        None => StopDto {
            id: String::new(),
            name: String::new(),
            lat: None,
            lon: None,
        },
    }
}

/// GeoJSON `LineString`: coordinates as `[lon, lat]`.
#[derive(Serialize, utoipa::ToSchema)]
struct LineString {
    #[schema(schema_with = line_string_type)]
    r#type: &'static str,
    #[schema(schema_with = lon_lat_pairs)]
    coordinates: Vec<[f64; 2]>,
}

fn line_string_type() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["LineString"])
}

/// `[[lon, lat], …]`.
fn lon_lat_pairs() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let number = ObjectBuilder::new().schema_type(Type::Number);
    let pair = ArrayBuilder::new()
        .items(number)
        .min_items(Some(2))
        .max_items(Some(2));
    ArrayBuilder::new().items(pair).into()
}

fn line_string(points: &[Coordinate]) -> LineString {
    LineString {
        r#type: "LineString",
        coordinates: points.iter().map(|c| [c.lon(), c.lat()]).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Routes

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TransitRouteList)]
struct RouteList {
    city: String,
    routes: Vec<RouteDto>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TransitRoute)]
struct RouteDto {
    /// The GTFS route id (path of the route's detail).
    id: String,
    number: String,
    name: String,
    /// The catalogue's kind (`regular`, `express`, `suburban`) when linked, else the GTFS mode.
    kind: String,
    /// The catalogue route it is linked to by number, when there is one.
    catalogue_route_id: Option<String>,
    fare: Option<Money>,
    color: Option<String>,
}

#[utoipa::path(get, path = "/v1/cities/{city}/routes",
    summary = "A city's GTFS routes with number, name, kind and catalogue fare",
    params(CityPath, crate::apidoc::LangQuery),
    responses((status = 200, description = "Routes", body = RouteList)))]
async fn route_list(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Path(city): Path<String>,
) -> ApiResult<Json<RouteList>> {
    let (found, data) = city_data(&state, &city, language).await?;
    let catalogue = state.app.catalogue();
    let routes = transit::routes(&catalogue, &data)
        .into_iter()
        .filter_map(|listing| {
            let line = data.feed.line(listing.line)?;
            Some(RouteDto {
                id: line.id.as_str().to_owned(),
                number: line.short_name.clone(),
                name: if line.long_name.is_empty() {
                    listing
                        .catalogue_route
                        .as_ref()
                        .map(|r| r.name.clone())
                        .unwrap_or_default()
                } else {
                    line.long_name.clone()
                },
                kind: listing
                    .catalogue_route
                    .as_ref()
                    .map_or_else(|| gtfs_kind(line.kind), |r| r.kind.as_str().to_owned()),
                catalogue_route_id: listing.catalogue_route.as_ref().map(|r| r.id.to_string()),
                fare: listing.fare.map(Money::of),
                color: line.color.clone(),
            })
        })
        .collect();
    Ok(Json(RouteList {
        city: found.id.to_string(),
        routes,
    }))
}

fn gtfs_kind(kind: transit::GtfsRouteKind) -> String {
    match kind {
        transit::GtfsRouteKind::Tram => "tram".into(),
        transit::GtfsRouteKind::Subway => "subway".into(),
        transit::GtfsRouteKind::Rail => "rail".into(),
        transit::GtfsRouteKind::Bus => "bus".into(),
        transit::GtfsRouteKind::Ferry => "ferry".into(),
        transit::GtfsRouteKind::CableTram => "cable_tram".into(),
        transit::GtfsRouteKind::AerialLift => "aerial_lift".into(),
        transit::GtfsRouteKind::Funicular => "funicular".into(),
        transit::GtfsRouteKind::Trolleybus => "trolleybus".into(),
        transit::GtfsRouteKind::Monorail => "monorail".into(),
        transit::GtfsRouteKind::Other(value) => format!("other_{value}"),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TransitRouteDetail)]
struct RouteDetail {
    id: String,
    number: String,
    name: String,
    variants: Vec<VariantDto>,
}

/// One way a route runs: its stops in order and its shape.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TransitRouteVariant)]
struct VariantDto {
    direction: Option<u8>,
    headsign: Option<String>,
    trips: u32,
    stops: Vec<StopDto>,
    shape: LineString,
}

/// The route of a city's path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct RoutePath {
    #[param(example = "astana")]
    city: String,
    /// The GTFS route id.
    route_id: String,
}

#[utoipa::path(get, path = "/v1/cities/{city}/routes/{route_id}",
    summary = "A route's variants: stops in order and shape (GeoJSON LineString)",
    params(RoutePath, crate::apidoc::LangQuery),
    responses((status = 200, description = "Route", body = RouteDetail)))]
async fn route_detail(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Path(RoutePath { city, route_id }): Path<RoutePath>,
) -> ApiResult<Json<RouteDetail>> {
    let (_, data) = city_data(&state, &city, language).await?;
    let not_found = || {
        Problem::new(ErrorCode::NotFound, language).detail(format!("unknown route {route_id:?}"))
    };
    let idx = data.feed.line_idx(&route_id).ok_or_else(not_found)?;
    let line = data.feed.line(idx).ok_or_else(not_found)?;
    let variants = transit::line_variants(&data.feed, idx)
        .into_iter()
        .map(|v| VariantDto {
            direction: v.direction,
            headsign: v.headsign,
            trips: v.trip_count,
            stops: v.stops.iter().map(|s| stop_dto(&data, *s)).collect(),
            shape: line_string(&v.shape),
        })
        .collect();
    Ok(Json(RouteDetail {
        id: line.id.as_str().to_owned(),
        number: line.short_name.clone(),
        name: line.long_name.clone(),
        variants,
    }))
}

// ---------------------------------------------------------------------------------------------
// Stops near a point, search

/// Read as text and checked here, so a bad value is a problem in the passenger's language.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct NearQuery {
    #[param(value_type = f64, required = true, minimum = -90, maximum = 90)]
    lat: Option<String>,
    #[param(value_type = f64, required = true, minimum = -180, maximum = 180)]
    lon: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1, maximum = 2000, default = 500)]
    radius_m: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1, maximum = 50, default = 10)]
    limit: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = NearStopList)]
struct NearList {
    stops: Vec<NearStop>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct NearStop {
    #[serde(flatten)]
    stop: StopDto,
    distance_m: u32,
}

#[utoipa::path(get, path = "/v1/cities/{city}/stops/near",
    summary = "Stops near a point, nearest first",
    params(CityPath, crate::apidoc::LangQuery, NearQuery),
    responses((status = 200, description = "Stops", body = NearList)))]
async fn stops_near(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Path(CityPath { city }): Path<CityPath>,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<NearQuery>,
) -> ApiResult<Json<NearList>> {
    let lat = text_param(query.lat.as_deref(), "lat", language)?;
    let lon = text_param(query.lon.as_deref(), "lon", language)?;
    let point = coordinate(lat, lon, language)?;
    let radius_m = number(
        query.radius_m.as_deref(),
        "radius_m",
        NEAR_RADIUS_M_DEFAULT,
        1..=transit::STOPS_NEAR_RADIUS_M_MAX,
        language,
    )?;
    let limit = number(
        query.limit.as_deref(),
        "limit",
        NEAR_RESULTS_DEFAULT,
        1..=transit::STOPS_NEAR_RESULTS_MAX,
        language,
    )?;
    let (_, data) = city_data(&state, &city, language).await?;
    let stops = data
        .stops_near(point, radius_m, limit)
        .into_iter()
        .map(|(s, distance_m)| NearStop {
            stop: stop_dto(&data, s),
            distance_m,
        })
        .collect();
    Ok(Json(NearList { stops }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    #[param(value_type = String, required = true, max_length = 200, pattern = "\\S", example = "Абая")]
    q: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1, maximum = 50, default = 10)]
    limit: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PlaceSearch)]
struct SearchList {
    /// The city's name in the language of the request.
    city: String,
    results: Vec<SearchResult>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PlaceFound)]
struct SearchResult {
    /// What to pass as `from`/`to` of a plan: `stop:<gtfs id>` or `address:<n>`.
    id: String,
    #[schema(schema_with = search_kind)]
    kind: &'static str,
    label: String,
    lat: Option<f64>,
    lon: Option<f64>,
    score: u32,
}

fn search_kind() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["stop", "address"])
}

#[utoipa::path(get, path = "/v1/cities/{city}/search",
    summary = "Stop and address search forgiving Kazakh, Russian and Latin spellings",
    params(CityPath, crate::apidoc::LangQuery, SearchQuery),
    responses((status = 200, description = "Results; `id` is usable as `from`/`to` of a plan", body = SearchList)))]
async fn search(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Path(CityPath { city }): Path<CityPath>,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<SearchQuery>,
) -> ApiResult<Json<SearchList>> {
    let q = text_param(query.q.as_deref(), "q", language)?;
    let limit = number(
        query.limit.as_deref(),
        "limit",
        SEARCH_RESULTS_DEFAULT,
        1..=transit::SEARCH_RESULTS_MAX,
        language,
    )?;
    let (found, data) = city_data(&state, &city, language).await?;
    let results = data
        .search
        .search(q, limit)
        .into_iter()
        .map(|hit| {
            let (id, kind) = match hit.target {
                SearchTarget::Stop(s) => (
                    format!(
                        "stop:{}",
                        data.feed
                            .stop(s)
                            .map(|stop| stop.id.as_str())
                            .unwrap_or_default()
                    ),
                    "stop",
                ),
                SearchTarget::Address(n) => (format!("address:{n}"), "address"),
            };
            SearchResult {
                id,
                kind,
                label: hit.label,
                lat: hit.coordinate.map(Coordinate::lat),
                lon: hit.coordinate.map(Coordinate::lon),
                score: hit.score,
            }
        })
        .collect();
    Ok(Json(SearchList {
        city: found.name(language).to_owned(),
        results,
    }))
}

// ---------------------------------------------------------------------------------------------
// Plan

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PlanQuery {
    /// `lat,lon`, `stop:<id>` or `address:<n>` (a search result id)
    #[param(value_type = PlaceText, inline, required = true, example = "51.1282,71.4306")]
    from: Option<String>,
    #[param(value_type = PlaceText, inline, required = true, example = "stop:zhagalau")]
    to: Option<String>,
    /// `now` (default), local `HH:MM`, or RFC 3339; with `date`, a local `HH:MM`
    #[param(
        value_type = Option<String>,
        pattern = "^(now|[0-9]{2}:[0-5][0-9]|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-5][0-9]))$"
    )]
    departure: Option<String>,
    /// Service date of a local `HH:MM` (default today in the city)
    #[param(value_type = Option<String>, format = Date)]
    date: Option<String>,
    #[param(value_type = Option<u32>, minimum = 0, maximum = 12, default = 8)]
    max_transfers: Option<String>,
    #[param(value_type = Option<u32>, minimum = 0, maximum = 2000, default = 800)]
    max_walk_m: Option<String>,
    #[param(value_type = Option<f64>, minimum = 0.5, maximum = 2.5, default = 1.4)]
    walk_speed_m_per_s: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10, default = 5)]
    max_results: Option<String>,
}

/// A place a journey starts or ends at, as text: `lat,lon` in range and never (0, 0) (what a
/// GPS without a fix reports), `stop:<id>` or `address:<n>`. Only its schema: the parameters
/// are read by [`endpoint`].
struct PlaceText;

impl utoipa::ToSchema for PlaceText {}

impl utoipa::PartialSchema for PlaceText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        place()
    }
}

fn place() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    use crate::apidoc::{LAT_PATTERN, LON_PATTERN};
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .max_length(Some(PARAM_CHARS_MAX))
        .pattern(Some(format!(
            "^(stop:\\S+|address:[0-9]{{1,9}}|{LAT_PATTERN},{LON_PATTERN})$"
        )))
        // utoipa has no `not`; its extensions are written into the schema as they are.
        .extensions(Some(utoipa::openapi::extensions::Extensions::from_iter([
            (
                "not",
                serde_json::json!({"pattern": "^-?0+(\\.0+)?,-?0+(\\.0+)?$"}),
            ),
        ])))
        .into()
}

/// `lat,lon`, `stop:<id>`, `address:<n>`, or a bare GTFS stop id.
fn endpoint(text: &str, language: Language) -> Result<Endpoint, Problem> {
    if let Some(id) = text.strip_prefix("stop:") {
        return Ok(Endpoint::Stop(id.to_owned()));
    }
    if let Some(n) = text.strip_prefix("address:") {
        let n = n.parse().map_err(|_| {
            Problem::new(ErrorCode::NotFound, language).detail(format!("unknown address {n:?}"))
        })?;
        return Ok(Endpoint::Address(n));
    }
    match text.split_once(',') {
        Some((lat, lon)) => coordinate(lat, lon, language).map(Endpoint::Point),
        None => Ok(Endpoint::Stop(text.to_owned())),
    }
}

fn plan_options(query: &PlanQuery, language: Language) -> Result<PlanOptions, Problem> {
    use service::transit::planner_limits as limits;
    let mut options = PlanOptions::default();
    let refused = |e: transit::PlanError| bad(language, e.to_string());
    if let Some(n) = query.max_transfers.as_deref() {
        options = options
            .with_max_transfers(number(
                Some(n),
                "max_transfers",
                0,
                0..=limits::MAX_TRANSFERS_LIMIT,
                language,
            )?)
            .map_err(refused)?;
    }
    if let Some(n) = query.max_walk_m.as_deref() {
        options = options
            .with_max_walk_m(number(
                Some(n),
                "max_walk_m",
                0,
                0..=limits::MAX_WALK_M_LIMIT,
                language,
            )?)
            .map_err(refused)?;
    }
    if let Some(n) = query.walk_speed_m_per_s.as_deref() {
        let (low, high) = limits::WALK_SPEED_M_PER_S_RANGE;
        options = options
            .with_walk_speed_m_per_s(number(
                Some(n),
                "walk_speed_m_per_s",
                low,
                low..=high,
                language,
            )?)
            .map_err(refused)?;
    }
    if let Some(n) = query.max_results.as_deref() {
        options = options
            .with_max_results(number(
                Some(n),
                "max_results",
                1,
                1..=limits::RESULTS_LIMIT,
                language,
            )?)
            .map_err(refused)?;
    }
    Ok(options)
}

fn departure(query: &PlanQuery, language: Language) -> Result<Departure, Problem> {
    let invalid =
        |detail: String| Problem::new(ErrorCode::DepartureTimeInvalid, language).detail(detail);
    let date = match query.date.as_deref() {
        Some(d) => Some(
            d.trim()
                .parse::<transit::Date>()
                .map_err(|_| invalid(format!("date {d:?} is not YYYY-MM-DD")))?,
        ),
        None => None,
    };
    match query
        .departure
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None | Some("now") => match date {
            None => Ok(Departure::Now),
            Some(_) => Err(invalid("a date needs a departure HH:MM".into())),
        },
        Some(text) if text.chars().count() <= PARAM_CHARS_MAX => Departure::parse(text, date)
            .ok_or_else(|| invalid(format!("departure {text:?} is neither HH:MM nor RFC 3339"))),
        Some(_) => Err(invalid("departure is too long".into())),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Plan)]
struct PlanDto {
    city: String,
    /// `YYYY-MM-DD`: the timetable's day the journeys run on.
    service_date: String,
    journeys: Vec<JourneyDto>,
}

/// Times are the city's local times with their offset (`2026-11-24T08:15:00+05:00`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Journey)]
struct JourneyDto {
    departure: String,
    arrival: String,
    duration_minutes: u32,
    transfers: u32,
    walk_m: u32,
    fare: Option<Money>,
    legs: Vec<LegDto>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schema(as = Leg)]
enum LegDto {
    Walk {
        from: PlaceDto,
        to: PlaceDto,
        distance_m: u32,
        minutes: u32,
        departure: String,
        arrival: String,
    },
    Ride {
        route_id: String,
        route_number: String,
        trip_id: String,
        from: StopDto,
        to: StopDto,
        departure: String,
        arrival: String,
        stops: u32,
        geometry: LineString,
    },
}

/// Where a walk starts or ends: a stop, or a point.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = WalkPlace)]
struct PlaceDto {
    /// The stop, when the walk starts or ends at one.
    stop: Option<StopDto>,
    lat: Option<f64>,
    lon: Option<f64>,
}

fn place_dto(data: &CityTransit, place: Place) -> PlaceDto {
    match place {
        Place::Stop(s) => {
            let stop = stop_dto(data, s);
            PlaceDto {
                lat: stop.lat,
                lon: stop.lon,
                stop: Some(stop),
            }
        }
        Place::Point(c) => PlaceDto {
            stop: None,
            lat: Some(c.lat()),
            lon: Some(c.lon()),
        },
    }
}

#[utoipa::path(get, path = "/v1/cities/{city}/plan",
    summary = "Journeys: the Pareto set of arrival time and transfers, with legs and fare",
    params(CityPath, crate::apidoc::LangQuery, PlanQuery),
    responses((status = 200, description = "Journeys", body = PlanDto)))]
async fn plan(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Path(CityPath { city }): Path<CityPath>,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<PlanQuery>,
) -> ApiResult<Json<PlanDto>> {
    let from = endpoint(
        text_param(query.from.as_deref(), "from", language)?,
        language,
    )?;
    let to = endpoint(text_param(query.to.as_deref(), "to", language)?, language)?;
    let departure = departure(&query, language)?;
    let options = plan_options(&query, language)?;
    let request = PlanRequest {
        city,
        from,
        to,
        departure,
        options,
    };
    let plan = transit::plan(&state.app, request)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let time = |t: transit::ServiceTime| {
        plan.zoned(t)
            .map(|z| z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
            .unwrap_or_default()
    };
    let journeys = plan
        .journeys
        .iter()
        .map(|planned| {
            let journey = &planned.journey;
            JourneyDto {
                departure: time(journey.departure),
                arrival: time(journey.arrival),
                duration_minutes: u32::try_from(journey.duration_s())
                    .unwrap_or(0)
                    .div_ceil(60),
                transfers: journey.transfers,
                walk_m: journey.walk_distance_m(),
                fare: planned.fare.map(Money::of),
                legs: journey
                    .legs
                    .iter()
                    .map(|leg| leg_dto(&plan.data, leg, &time))
                    .collect(),
            }
        })
        .collect();
    Ok(Json(PlanDto {
        city: plan.data.city.to_string(),
        service_date: plan.service_date.to_string(),
        journeys,
    }))
}

fn leg_dto(
    data: &CityTransit,
    leg: &Leg,
    time: &impl Fn(transit::ServiceTime) -> String,
) -> LegDto {
    match leg {
        Leg::Walk(walk) => LegDto::Walk {
            from: place_dto(data, walk.from),
            to: place_dto(data, walk.to),
            distance_m: walk.distance_m,
            minutes: walk.duration_s.div_ceil(60),
            departure: time(walk.departure),
            arrival: time(walk.arrival),
        },
        Leg::Ride(ride) => LegDto::Ride {
            route_id: ride.route_id.as_str().to_owned(),
            route_number: ride.route_short_name.clone(),
            trip_id: ride.trip_id.as_str().to_owned(),
            from: stop_dto(data, ride.from),
            to: stop_dto(data, ride.to),
            departure: time(ride.departure),
            arrival: time(ride.arrival),
            stops: ride.stop_count,
            geometry: line_string(&ride.geometry),
        },
    }
}

#[cfg(test)]
mod tests {
    use service::transit::{self as transit, planner_limits as limits};
    use utoipa::IntoParams;

    /// The value of `keyword` in the schema of the parameter `name` of `P`.
    fn documented<P: IntoParams>(name: &str, keyword: &str) -> Option<f64> {
        let parameter = P::into_params(|| None)
            .into_iter()
            .find(|p| p.name == name)?;
        serde_json::to_value(parameter).ok()?["schema"][keyword].as_f64()
    }

    /// A limit is a literal in its attribute (utoipa takes no constant there): each is the one
    /// the handler checks.
    #[test]
    fn the_documented_limits_are_the_checked_ones() {
        let count = |n: usize| Some(f64::from(u32::try_from(n).unwrap()));
        let (speed_low, speed_high) = limits::WALK_SPEED_M_PER_S_RANGE;
        let near = [
            (
                "radius_m",
                "maximum",
                Some(f64::from(transit::STOPS_NEAR_RADIUS_M_MAX)),
            ),
            (
                "radius_m",
                "default",
                Some(f64::from(super::NEAR_RADIUS_M_DEFAULT)),
            ),
            ("limit", "maximum", count(transit::STOPS_NEAR_RESULTS_MAX)),
            ("limit", "default", count(super::NEAR_RESULTS_DEFAULT)),
        ];
        for (name, keyword, expected) in near {
            assert_eq!(
                documented::<super::NearQuery>(name, keyword),
                expected,
                "{name} {keyword}"
            );
        }
        let search = [
            ("q", "maxLength", count(super::PARAM_CHARS_MAX)),
            ("limit", "maximum", count(transit::SEARCH_RESULTS_MAX)),
            ("limit", "default", count(super::SEARCH_RESULTS_DEFAULT)),
        ];
        for (name, keyword, expected) in search {
            assert_eq!(
                documented::<super::SearchQuery>(name, keyword),
                expected,
                "{name} {keyword}"
            );
        }
        let plan = [
            (
                "max_transfers",
                "maximum",
                Some(f64::from(limits::MAX_TRANSFERS_LIMIT)),
            ),
            (
                "max_transfers",
                "default",
                Some(f64::from(limits::MAX_TRANSFERS_DEFAULT)),
            ),
            (
                "max_walk_m",
                "maximum",
                Some(f64::from(limits::MAX_WALK_M_LIMIT)),
            ),
            (
                "max_walk_m",
                "default",
                Some(f64::from(limits::MAX_WALK_M_DEFAULT)),
            ),
            ("walk_speed_m_per_s", "minimum", Some(speed_low)),
            ("walk_speed_m_per_s", "maximum", Some(speed_high)),
            ("max_results", "maximum", count(limits::RESULTS_LIMIT)),
            ("max_results", "default", count(limits::RESULTS_DEFAULT)),
        ];
        for (name, keyword, expected) in plan {
            assert_eq!(
                documented::<super::PlanQuery>(name, keyword),
                expected,
                "{name} {keyword}"
            );
        }
    }
}
