//! The live endpoints: positions in (JSON push for simple trackers, GTFS-RT VehiclePositions
//! push), vehicles in a box, detection of the passenger's bus, a server-sent-events stream of
//! position changes, our own GTFS-RT feed per city, and the operator's registration of
//! trackers and feed tokens (with the buses each token may report, see
//! `service::live::feeds`).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use domain::{ErrorCode, Language, TransportCode};
use serde::{Deserialize, Serialize};
use service::live::engine::{Authority, Fix, TimeMs, TrackerId};
use service::live::{
    DetectedBus, DetectionView, FeedScope, FeedToken, NewFeedToken, PushSummary, Refusals, Report,
    VehicleChange, VehicleView,
};
use service::transit::{Coordinate, GtfsRouteId, GtfsTripId};
use tokio::sync::broadcast::error::RecvError;

use utoipa_axum::routes;

use super::wire::CityPath;
use crate::State as AppState;
use crate::extract::{ApiJson, Lang, Staff};
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

/// A pushed GTFS-RT message may be this large (a whole city's VehiclePositions).
pub const FEED_BODY_BYTES_MAX: usize = 4 * 1024 * 1024;
/// A JSON push may be this large.
pub const PUSH_BODY_BYTES_MAX: usize = 1024 * 1024;
/// Passenger fixes per detection at most.
pub const FIXES_MAX: usize = 60;
/// The stream sends a comment this often so proxies keep it open.
pub const STREAM_KEEP_ALIVE_S: u64 = 15;
/// Identifiers in paths and bodies are at most this long.
const ID_CHARS_MAX: usize = 64;

pub(crate) fn routes(table: super::Table) -> super::Table {
    table
        .op_limited(routes!(push_json), PUSH_BODY_BYTES_MAX)
        .op_limited(routes!(push_gtfs_rt), FEED_BODY_BYTES_MAX)
        .op(routes!(vehicles))
        .op(routes!(track))
        .op(routes!(detect))
        .op(routes!(stream))
        .op(routes!(feed))
        .op(routes!(register_tracker, list_trackers))
        .op(routes!(create_feed_token, list_feed_tokens))
}

/// A live vehicle of a city's path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct TrackPath {
    #[param(example = "astana")]
    city: String,
    #[param(value_type = u64)]
    id: String,
}

/// A catalogue bus has `transport_code` and `plate`; a partner's vehicle not in the catalogue
/// has `feed_vehicle` instead.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LiveVehicle)]
pub(crate) struct Vehicle {
    id: u64,
    transport_code: Option<String>,
    plate: Option<String>,
    feed_vehicle: Option<String>,
    route_id: Option<String>,
    route_number: Option<String>,
    trip_id: Option<String>,
    lat: f64,
    lon: f64,
    speed_mps: Option<f64>,
    heading_deg: Option<f64>,
    at_ms: i64,
    next_stop_id: Option<String>,
    next_stop_name: Option<String>,
    delay_s: Option<i64>,
    progress_m: Option<f64>,
}

impl Vehicle {
    fn of(v: &VehicleView) -> Vehicle {
        Vehicle {
            id: v.id,
            transport_code: v.transport_code.clone(),
            plate: v.plate.clone(),
            feed_vehicle: v.feed_vehicle.clone(),
            route_id: v.route_id.clone(),
            route_number: v.route_number.clone(),
            trip_id: v.trip_id.clone(),
            lat: v.lat,
            lon: v.lon,
            speed_mps: v.speed_mps,
            heading_deg: v.heading_deg,
            at_ms: v.at_ms,
            next_stop_id: v.next_stop_id.clone(),
            next_stop_name: v.next_stop_name.clone(),
            delay_s: v.delay_s,
            progress_m: v.progress_m,
        }
    }
}

/// What a push applied.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PushAnswer {
    received: u64,
    applied: u64,
    /// Positions not applied: the sum of `refused`.
    rejected: u64,
    refused: RefusedAnswer,
    runs_ended: u64,
    tickets_ended: u64,
}

/// Positions not applied, by why.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PushRefused)]
pub(crate) struct RefusedAnswer {
    /// A catalogue bus this feed token is not registered for.
    not_registered: u64,
    /// A jump or a speed no bus makes (over 120 km/h, with GPS noise allowed).
    implausible_motion: u64,
    /// Dated more than the allowed clock skew ahead of ours.
    future_timestamp: u64,
    /// Invalid coordinates or speed, or no position.
    invalid: u64,
    /// Not newer than the vehicle's last position.
    out_of_order: u64,
}

impl RefusedAnswer {
    fn of(r: Refusals) -> RefusedAnswer {
        RefusedAnswer {
            not_registered: r.not_registered,
            implausible_motion: r.implausible,
            future_timestamp: r.future,
            invalid: r.invalid + r.without_position,
            out_of_order: r.out_of_order,
        }
    }
}

impl PushAnswer {
    fn of(s: PushSummary) -> PushAnswer {
        PushAnswer {
            received: s.received,
            applied: s.applied,
            rejected: s.rejected,
            refused: RefusedAnswer::of(s.refused),
            runs_ended: s.runs_ended,
            tickets_ended: s.tickets_ended,
        }
    }
}

/// A city in a path is a catalogue city id (`domain::catalogue::CityId`); anything else names
/// no city.
fn city_slug(city: &str, language: Language) -> Result<&str, Problem> {
    match domain::catalogue::CityId::parse(city) {
        Ok(_) => Ok(city),
        Err(_) => Err(Problem::new(ErrorCode::NotFound, language)),
    }
}

/// The feed token the caller holds, for the city of the path; checked before the body is
/// read, so a caller without the token learns only that (401).
pub(crate) struct FeedGrant(FeedToken);

impl axum::extract::FromRequestParts<AppState> for FeedGrant {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<FeedGrant, Problem> {
        let language = crate::extract::language_of(parts);
        let Path(city) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| Problem::new(ErrorCode::NotFound, language))?;
        let city = city_slug(&city, language)?.to_owned();
        let token = feed_token(state, &parts.headers, &city, language).await?;
        Ok(FeedGrant(token))
    }
}

/// The feed token of `Authorization: Bearer`, checked against the city of the path.
async fn feed_token(
    state: &AppState,
    headers: &HeaderMap,
    city: &str,
    language: Language,
) -> Result<FeedToken, Problem> {
    let token = crate::extract::bearer_token(headers)
        .filter(|t| !t.is_empty() && t.len() <= 2 * ID_CHARS_MAX)
        .ok_or_else(|| Problem::new(ErrorCode::Unauthorized, language))?;
    let allowed = service::live::feed_token(&state.app, token)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    if allowed.city == city {
        Ok(allowed)
    } else {
        Err(Problem::new(ErrorCode::Unauthorized, language)
            .detail("this token reports another city"))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PushBody {
    #[schema(max_items = 20000)]
    positions: Vec<PushedPosition>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PushedPosition {
    /// Transport code of a catalogue bus, or the partner's own vehicle id.
    vehicle: String,
    lat: f64,
    lon: f64,
    #[schema(minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)]
    at_ms: i64,
    #[serde(default)]
    speed_mps: Option<f64>,
    #[serde(default)]
    heading_deg: Option<f64>,
    #[serde(default)]
    trip_id: Option<String>,
    #[serde(default)]
    route_id: Option<String>,
}

fn report(p: PushedPosition, language: Language) -> Result<Report, Problem> {
    let point = Coordinate::new(p.lat, p.lon).ok();
    let too_long = [Some(&p.vehicle), p.trip_id.as_ref(), p.route_id.as_ref()]
        .into_iter()
        .flatten()
        .any(|s| s.is_empty() || s.len() > ID_CHARS_MAX);
    let trip_id = p.trip_id.as_deref().map(GtfsTripId::new).transpose();
    let route_id = p.route_id.as_deref().map(GtfsRouteId::new).transpose();
    let (Some(point), false, Ok(trip_id), Ok(route_id)) = (point, too_long, trip_id, route_id)
    else {
        return Err(
            Problem::new(ErrorCode::BadRequest, language).detail(format!(
                "position of {:?}: bad coordinates or id",
                p.vehicle
            )),
        );
    };
    Ok(Report {
        vehicle: p.vehicle,
        point,
        at_ms: p.at_ms,
        speed_mps: p.speed_mps,
        heading_deg: p.heading_deg,
        trip_id,
        route_id,
    })
}

#[utoipa::path(post, path = "/v1/live/{city}/positions",
    summary = "JSON push of vehicle positions (simple trackers); Bearer feed token of the city",
    security(("bearer" = [])), params(CityPath, crate::apidoc::LangQuery), request_body = PushBody,
    responses((status = 200, description = "What was applied", body = PushAnswer)))]
pub(crate) async fn push_json(
    State(state): State<AppState>,
    FeedGrant(token): FeedGrant,
    Lang(language): Lang,
    ApiJson(body): ApiJson<PushBody>,
) -> ApiResult<Json<PushAnswer>> {
    let reports = body
        .positions
        .into_iter()
        .map(|p| report(p, language))
        .collect::<Result<Vec<_>, _>>()?;
    let summary = service::live::push_reports(&state.app, &token, &reports)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(PushAnswer::of(summary)))
}

#[utoipa::path(post, path = "/v1/live/{city}/gtfs-rt",
    summary = "GTFS-Realtime VehiclePositions push (protobuf body, at most 4 MiB); Bearer feed token of the city",
    security(("bearer" = [])), params(CityPath, crate::apidoc::LangQuery),
    request_body(content = String, content_type = "application/x-protobuf"),
    responses((status = 200, description = "What was applied", body = PushAnswer)))]
pub(crate) async fn push_gtfs_rt(
    State(state): State<AppState>,
    FeedGrant(token): FeedGrant,
    Lang(language): Lang,
    body: Bytes,
) -> ApiResult<Json<PushAnswer>> {
    let summary = service::live::push_gtfs_rt(&state.app, &token, &body)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(PushAnswer::of(summary)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct VehiclesQuery {
    /// min_lon,min_lat,max_lon,max_lat; min ≤ max, no corner at (0, 0)
    #[serde(default)]
    #[param(
        example = "71.40,51.12,71.46,51.18",
        pattern = "^-?((1[0-7][0-9]|[0-9]?[0-9])(\\.[0-9]{1,8})?|180(\\.0{1,8})?),-?([0-8]?[0-9](\\.[0-9]{1,8})?|90(\\.0{1,8})?),-?((1[0-7][0-9]|[0-9]?[0-9])(\\.[0-9]{1,8})?|180(\\.0{1,8})?),-?([0-8]?[0-9](\\.[0-9]{1,8})?|90(\\.0{1,8})?)$"
    )]
    bbox: Option<String>,
    /// Route number
    #[serde(default)]
    route: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LiveVehicleList)]
pub(crate) struct VehicleList {
    vehicles: Vec<Vehicle>,
}

fn bbox(text: &str, language: Language) -> Result<(Coordinate, Coordinate), Problem> {
    let bad = || {
        Problem::new(ErrorCode::BadRequest, language)
            .detail("bbox is min_lon,min_lat,max_lon,max_lat")
    };
    let numbers: Vec<f64> = text
        .split(',')
        .map(|n| n.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let [min_lon, min_lat, max_lon, max_lat] = numbers.as_slice() else {
        return Err(bad());
    };
    if min_lat > max_lat || min_lon > max_lon {
        return Err(bad());
    }
    let south_west = Coordinate::new(*min_lat, *min_lon).map_err(|_| bad())?;
    let north_east = Coordinate::new(*max_lat, *max_lon).map_err(|_| bad())?;
    Ok((south_west, north_east))
}

#[utoipa::path(get, path = "/v1/live/{city}/vehicles", summary = "Live vehicles of a city, in a bounding box",
    params(CityPath, VehiclesQuery, crate::apidoc::LangQuery),
    responses((status = 200, description = "Vehicles", body = VehicleList)))]
pub(crate) async fn vehicles(
    State(state): State<AppState>,
    Path(CityPath { city }): Path<CityPath>,
    Lang(language): Lang,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<VehiclesQuery>,
) -> ApiResult<Json<VehicleList>> {
    let city = city_slug(&city, language)?;
    let bounds = query
        .bbox
        .as_deref()
        .map(|b| bbox(b, language))
        .transpose()?;
    let found = service::live::vehicles_in_box(&state.app, city, bounds)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let vehicles = found
        .iter()
        .filter(|v| query.route.is_none() || v.route_number == query.route)
        .map(Vehicle::of)
        .collect();
    Ok(Json(VehicleList { vehicles }))
}

/// A bus's recent positions in the shape `detect` takes, so they can be sent straight back.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LiveTrack)]
pub(crate) struct TrackAnswer {
    fixes: Vec<TrackFix>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TrackFix {
    lat: f64,
    lon: f64,
    at_ms: i64,
}

/// A live vehicle's recent positions, oldest first (public, like the vehicles themselves).
#[utoipa::path(get, path = "/v1/live/{city}/vehicles/{id}/track",
    summary = "A live bus's recent positions, oldest first, in the body `detect` takes (try detection with a bus's own fixes)",
    params(TrackPath, crate::apidoc::LangQuery),
    responses((status = 200, description = "Fixes", body = TrackAnswer)))]
pub(crate) async fn track(
    State(state): State<AppState>,
    Path(TrackPath { city, id }): Path<TrackPath>,
    Lang(language): Lang,
) -> ApiResult<Json<TrackAnswer>> {
    let city = city_slug(&city, language)?;
    let not_found = || Problem::new(ErrorCode::NotFound, language).detail("no such live vehicle");
    let id: u64 = id.parse().map_err(|_| not_found())?;
    let fixes = service::live::track(&state.app, city, id)
        .map_err(|e| Problem::from_service(e, language))?
        .ok_or_else(not_found)?;
    let fixes = fixes
        .iter()
        .map(|fix| TrackFix {
            lat: (fix.point.lat() * 1e7).round() / 1e7,
            lon: (fix.point.lon() * 1e7).round() / 1e7,
            at_ms: fix.at.0,
        })
        .collect();
    Ok(Json(TrackAnswer { fixes }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DetectBody {
    /// The passenger's recent fixes, oldest first.
    #[schema(min_items = 1, max_items = 60)]
    fixes: Vec<PassengerFix>,
}

/// (0, 0) is refused: it is what a GPS without a fix reports.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PassengerFix {
    #[schema(minimum = -90, maximum = 90)]
    lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    lon: f64,
    #[schema(minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)]
    at_ms: i64,
    #[serde(default)]
    accuracy_m: Option<f64>,
}

/// A bus the passenger may be riding.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = DetectedBus)]
pub(crate) struct Candidate {
    route_number: Option<String>,
    plate: Option<String>,
    transport_code: Option<String>,
    /// 0..1, including "none of these buses" in the total.
    confidence: f64,
    mean_distance_m: f64,
    vehicle: Vehicle,
}

impl Candidate {
    fn of(bus: &DetectedBus) -> Candidate {
        Candidate {
            route_number: bus.vehicle.route_number.clone(),
            plate: bus.vehicle.plate.clone(),
            transport_code: bus.vehicle.transport_code.clone(),
            confidence: bus.probability,
            mean_distance_m: bus.mean_distance_m,
            vehicle: Vehicle::of(&bus.vehicle),
        }
    }
}

/// The answer; paying still needs the passenger's confirmation.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Detection)]
pub(crate) struct DetectAnswer {
    /// `confident` (one bus, still to be confirmed by the passenger), `ambiguous` (choose from
    /// `candidates`, or send more fixes: see `needs`), `none`.
    #[schema(schema_with = detection_status)]
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    bus: Option<Candidate>,
    candidates: Vec<Candidate>,
    /// With `ambiguous`: what a confident answer needs...
    #[serde(skip_serializing_if = "Option::is_none")]
    needs: Option<Evidence>,
    /// ...what the fixes sent show...
    #[serde(skip_serializing_if = "Option::is_none")]
    has: Option<Evidence>,
    /// ...and every reason it is not confident: `moved_too_little`, `too_short`,
    /// `another_bus_close`, `fixes_far_from_the_bus`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = why)]
    why: Vec<&'static str>,
}

fn detection_status() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["confident", "ambiguous", "none"])
}

fn why() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(crate::apidoc::one_of(&[
            "moved_too_little",
            "too_short",
            "another_bus_close",
            "fixes_far_from_the_bus",
        ]))
        .into()
}

/// Travel and time covered by the passenger's fixes (first to newest).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Evidence {
    moved_m: f64,
    seconds: f64,
}

fn why_not_confident(shortfall: &service::live::engine::detect::Shortfall) -> Vec<&'static str> {
    [
        (!shortfall.moved_enough(), "moved_too_little"),
        (!shortfall.long_enough(), "too_short"),
        (shortfall.another_bus_close, "another_bus_close"),
        (shortfall.probability_low, "fixes_far_from_the_bus"),
    ]
    .into_iter()
    .filter_map(|(holds, reason)| holds.then_some(reason))
    .collect()
}

#[utoipa::path(post, path = "/v1/live/{city}/detect",
    summary = "Which bus is the passenger riding? Confident only with a clear margin; otherwise a ranked shortlist",
    params(CityPath, crate::apidoc::LangQuery), request_body = DetectBody,
    responses((status = 200, description = "The answer; paying still needs the passenger's confirmation", body = DetectAnswer)))]
pub(crate) async fn detect(
    State(state): State<AppState>,
    Path(CityPath { city }): Path<CityPath>,
    Lang(language): Lang,
    ApiJson(body): ApiJson<DetectBody>,
) -> ApiResult<Json<DetectAnswer>> {
    let city = city_slug(&city, language)?;
    if body.fixes.is_empty() || body.fixes.len() > FIXES_MAX {
        return Err(Problem::new(ErrorCode::BadRequest, language)
            .detail(format!("send 1 to {FIXES_MAX} fixes, oldest first")));
    }
    let fixes: Vec<Fix> = body
        .fixes
        .iter()
        .map(|f| {
            Some(Fix {
                at: TimeMs(f.at_ms),
                point: Coordinate::new(f.lat, f.lon).ok()?,
                accuracy_m: f.accuracy_m.filter(|a| a.is_finite() && *a > 0.0),
            })
        })
        .collect::<Option<_>>()
        .ok_or_else(|| {
            Problem::new(ErrorCode::BadRequest, language).detail("a fix has invalid coordinates")
        })?;
    let answer = match service::live::detect(&state.app, city, &fixes)
        .map_err(|e| Problem::from_service(e, language))?
    {
        DetectionView::Confident(bus) => DetectAnswer {
            status: "confident",
            candidates: vec![Candidate::of(&bus)],
            bus: Some(Candidate::of(&bus)),
            needs: None,
            has: None,
            why: Vec::new(),
        },
        DetectionView::Ambiguous {
            candidates,
            shortfall,
        } => DetectAnswer {
            status: "ambiguous",
            bus: None,
            candidates: candidates.iter().map(Candidate::of).collect(),
            needs: Some(Evidence {
                moved_m: shortfall.moved_min_m,
                seconds: shortfall.span_min_ms as f64 / 1000.0,
            }),
            has: Some(Evidence {
                moved_m: (shortfall.moved_m * 10.0).round() / 10.0,
                seconds: shortfall.span_ms as f64 / 1000.0,
            }),
            why: why_not_confident(&shortfall),
        },
        DetectionView::NoMatch => DetectAnswer {
            status: "none",
            bus: None,
            candidates: Vec::new(),
            needs: None,
            has: None,
            why: Vec::new(),
        },
    };
    Ok(Json(answer))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StreamQuery {
    /// Route number
    #[serde(default)]
    route: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct Removed<'a> {
    id: u64,
    route_number: Option<&'a str>,
}

fn event_of(change: &VehicleChange) -> Option<Event> {
    let event = match change {
        VehicleChange::Moved(view) => Event::default()
            .event("position")
            .json_data(Vehicle::of(view)),
        VehicleChange::Removed {
            id, route_number, ..
        } => Event::default().event("removed").json_data(Removed {
            id: *id,
            route_number: route_number.as_deref(),
        }),
    };
    event.ok()
}

struct StreamState {
    receiver: tokio::sync::broadcast::Receiver<std::sync::Arc<VehicleChange>>,
    city: String,
    route: Option<String>,
    app: std::sync::Arc<service::App>,
    slot: service::live::StreamSlot,
    check: tokio::time::Interval,
}

/// The next event the subscriber wants, or the end of the stream when it has lived its time.
async fn next_event(mut state: StreamState) -> Option<(Result<Event, Infallible>, StreamState)> {
    loop {
        let received = tokio::select! {
            received = state.receiver.recv() => Some(received),
            _ = state.check.tick() => None,
        };
        if state.slot.expired(&state.app) {
            return None;
        }
        match received {
            Some(Ok(change)) => {
                let wanted = change.city() == state.city
                    && (state.route.is_none() || change.route_number() == state.route.as_deref());
                if let Some(event) = wanted.then(|| event_of(&change)).flatten() {
                    return Some((Ok(event), state));
                }
            }
            // A slow client skips what it missed; the next positions bring it up to date.
            Some(Err(RecvError::Lagged(_))) | None => {}
            Some(Err(RecvError::Closed)) => return None,
        }
    }
}

/// Server-sent events: `position` (a vehicle JSON) and `removed` for the city, or one route.
/// Open streams are capped overall and per client address (429 with `Retry-After` beyond);
/// each lasts at most `service::live::streams::STREAM_LIFETIME_MS`, then the client
/// reconnects.
#[utoipa::path(get, path = "/v1/live/{city}/stream",
    summary = "Server-sent events of position changes (`position`, `removed`) for a city or one route",
    params(CityPath, StreamQuery, crate::apidoc::LangQuery),
    responses((status = 200, description = "text/event-stream; closed after 30 minutes (reconnect)",
        content_type = "text/event-stream")))]
pub(crate) async fn stream(
    State(state): State<AppState>,
    Path(CityPath { city }): Path<CityPath>,
    Lang(language): Lang,
    crate::extract::ClientAddr(client): crate::extract::ClientAddr,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<StreamQuery>,
) -> Response {
    let city = match city_slug(&city, language) {
        Ok(city) => city.to_owned(),
        Err(problem) => return problem.into_response(),
    };
    let slot = match service::live::open_stream(&state.app, &city, client) {
        Ok(slot) => slot,
        Err(error) => {
            let retry = error.code == ErrorCode::RateLimited;
            let mut response = Problem::from_service(error, language).into_response();
            if retry {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(service::live::streams::STREAM_RETRY_AFTER_S),
                );
            }
            return response;
        }
    };
    let mut check = tokio::time::interval(Duration::from_secs(STREAM_KEEP_ALIVE_S));
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let start = StreamState {
        receiver: state.app.live.subscribe(),
        city,
        route: query.route,
        app: std::sync::Arc::clone(&state.app),
        slot,
        check,
    };
    let changes = futures_util::stream::unfold(start, next_event);
    Sse::new(changes)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(STREAM_KEEP_ALIVE_S)))
        .into_response()
}

/// Our GTFS-Realtime VehiclePositions feed of the city (public).
#[utoipa::path(get, path = "/v1/live/{city}/vehicle-positions.pb",
    summary = "Our GTFS-Realtime VehiclePositions feed of the city",
    params(CityPath, crate::apidoc::LangQuery),
    responses((status = 200, description = "FeedMessage", content_type = "application/x-protobuf")))]
pub(crate) async fn feed(
    State(state): State<AppState>,
    Path(CityPath { city }): Path<CityPath>,
    Lang(language): Lang,
) -> ApiResult<Response> {
    let city = city_slug(&city, language)?;
    let bytes = service::live::gtfs_rt_feed(&state.app, city)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let mut response = (StatusCode::OK, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-protobuf"),
    );
    Ok(response)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrackerBody {
    #[schema(pattern = "^[^#;\r\n]{1,64}$")]
    tracker_id: String,
    #[schema(pattern = "^[^#;\r\n]{1,64}$")]
    password: String,
    #[schema(pattern = "^[0-9]{3,8}$")]
    transport_code: String,
}

/// A tracker registered.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TrackerAnswer {
    tracker_id: String,
    transport_code: String,
}

#[utoipa::path(post, path = "/v1/admin/live/trackers",
    summary = "Register a Wialon IPS tracker for a catalogue vehicle",
    security(("bearer" = [])), params(crate::apidoc::LangQuery), request_body = TrackerBody,
    responses((status = 201, description = "Registered", body = TrackerAnswer)))]
pub(crate) async fn register_tracker(
    State(state): State<AppState>,
    caller: Staff,
    Lang(language): Lang,
    ApiJson(body): ApiJson<TrackerBody>,
) -> ApiResult<(StatusCode, Json<TrackerAnswer>)> {
    let code = TransportCode::parse(&body.transport_code).map_err(|e| {
        Problem::new(ErrorCode::TransportCodeMalformed, language).detail(e.to_string())
    })?;
    let tracker = TrackerId::new(&body.tracker_id);
    let actor = caller.actor;
    service::live::register_tracker(&state.app, &actor, &tracker, &body.password, &code)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok((
        StatusCode::CREATED,
        Json(TrackerAnswer {
            tracker_id: body.tracker_id,
            transport_code: code.as_str().to_owned(),
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedTokenBody {
    #[schema(pattern = "^[a-z0-9-]{1,64}$")]
    city: String,
    /// Who pushes with it, for the operator's records.
    #[schema(min_length = 1, max_length = 64)]
    name: String,
    /// Catalogue buses (transport codes) the token may report.
    #[serde(default)]
    #[schema(schema_with = token_vehicles)]
    vehicles: Vec<String>,
    /// Every catalogue bus of this carrier may be reported.
    #[serde(default)]
    #[schema(pattern = "^[a-z0-9-]{1,48}$")]
    carrier: Option<String>,
    /// Its positions may end the runs (and tickets) of the buses it may report.
    #[serde(default)]
    #[schema(default = false)]
    authoritative: bool,
}

/// The transport codes a feed token may report.
fn token_vehicles() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .pattern(Some(crate::apidoc::TRANSPORT_CODE_PATTERN)),
        )
        .max_items(Some(1000))
        .description(Some(
            "Catalogue buses (transport codes) the token may report; any other catalogue bus is refused",
        ))
        .into()
}

/// A feed token made: shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct FeedTokenAnswer {
    city: String,
    /// Shown once; only its digest is kept.
    token: String,
    vehicles: Vec<String>,
    carrier: Option<String>,
    authoritative: bool,
}

fn feed_scope(body: &FeedTokenBody, language: Language) -> Result<FeedScope, Problem> {
    let vehicles = body
        .vehicles
        .iter()
        .map(|code| {
            TransportCode::parse(code).map_err(|e| {
                Problem::new(ErrorCode::TransportCodeMalformed, language).detail(e.to_string())
            })
        })
        .collect::<Result<_, _>>()?;
    let carrier = body
        .carrier
        .as_deref()
        .map(|id| {
            domain::catalogue::CarrierId::parse(id)
                .map_err(|e| Problem::new(ErrorCode::BadRequest, language).detail(e.to_string()))
        })
        .transpose()?;
    Ok(FeedScope { vehicles, carrier })
}

#[utoipa::path(post, path = "/v1/admin/live/feed-tokens",
    summary = "Make a token for a partner pushing a city's positions (shown once)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery), request_body = FeedTokenBody,
    responses((status = 201, description = "The token", body = FeedTokenAnswer)))]
pub(crate) async fn create_feed_token(
    State(state): State<AppState>,
    caller: Staff,
    Lang(language): Lang,
    ApiJson(body): ApiJson<FeedTokenBody>,
) -> ApiResult<(StatusCode, Json<FeedTokenAnswer>)> {
    let city = city_slug(&body.city, language)?;
    if body.name.is_empty() || body.name.chars().count() > ID_CHARS_MAX {
        return Err(Problem::new(ErrorCode::BadRequest, language).detail("name: 1-64 characters"));
    }
    let scope = feed_scope(&body, language)?;
    let request = NewFeedToken {
        city: city.to_owned(),
        name: body.name.clone(),
        scope,
        authority: if body.authoritative {
            Authority::EndsRuns
        } else {
            Authority::ReportsOnly
        },
    };
    let actor = caller.actor;
    let token = service::live::create_feed_token(&state.app, &actor, &request)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok((
        StatusCode::CREATED,
        Json(FeedTokenAnswer {
            city: request.city,
            token,
            vehicles: request
                .scope
                .vehicles
                .iter()
                .map(|code| code.as_str().to_owned())
                .collect(),
            carrier: request.scope.carrier.map(|c| c.as_str().to_owned()),
            authoritative: body.authoritative,
        }),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Tracker)]
pub(crate) struct TrackerItem {
    tracker_id: String,
    transport_code: String,
    #[schema(format = DateTime)]
    created_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Trackers {
    trackers: Vec<TrackerItem>,
}

/// Every registered tracker (never its password).
#[utoipa::path(get, path = "/v1/admin/live/trackers",
    summary = "Every registered tracker with its vehicle (never its password)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The trackers", body = Trackers)))]
pub(crate) async fn list_trackers(
    State(state): State<AppState>,
    _caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<Trackers>> {
    let trackers = service::live::trackers(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Trackers {
        trackers: trackers
            .into_iter()
            .map(|t| TrackerItem {
                created_at: rfc3339_ms(t.created_at_ms),
                tracker_id: t.tracker_id,
                transport_code: t.transport_code,
            })
            .collect(),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = FeedToken)]
pub(crate) struct FeedTokenItem {
    /// Names the token (a prefix of its digest, as in the audit trail); never the token.
    id: String,
    city: String,
    name: String,
    vehicles: Vec<String>,
    carrier: Option<String>,
    authoritative: bool,
    #[schema(format = DateTime)]
    created_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct FeedTokens {
    feed_tokens: Vec<FeedTokenItem>,
}

/// Every feed token with its city and scope (never the token).
#[utoipa::path(get, path = "/v1/admin/live/feed-tokens",
    summary = "Every feed token with its city and scope (never the token; its id is a prefix of its digest, as in the audit trail)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The feed tokens, oldest first", body = FeedTokens)))]
pub(crate) async fn list_feed_tokens(
    State(state): State<AppState>,
    _caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<FeedTokens>> {
    let tokens = service::live::feed_tokens(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(FeedTokens {
        feed_tokens: tokens
            .into_iter()
            .map(|t| FeedTokenItem {
                created_at: rfc3339_ms(t.created_at_ms),
                id: t.id,
                city: t.city,
                name: t.name,
                vehicles: t.vehicles,
                carrier: t.carrier,
                authoritative: t.ends_runs,
            })
            .collect(),
    }))
}
