//! The carrier's desk and the reports over HTTP: replies to feedback and its status, the
//! carrier's vehicles (add, suspend, resume, move), its QR stickers (SVG, PDF), the ride and
//! revenue report (JSON or CSV; admins and the office at `/v1/reports/rides`, a carrier at its
//! own path) and a carrier's month of settlement (JSON, CSV or PDF). Thin handlers over
//! `service::feedback`, `service::fleet` and `service::reports`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::catalogue::{CarrierId, RouteId};
use domain::{ErrorCode, Language};
use serde::{Deserialize, Serialize};
use service::fleet::Change;
use service::reports::{Report, ReportQuery};
use utoipa_axum::routes;

use super::feedback::FeedbackDto;
use super::wire::Money;
use crate::documents::{self, Sticker};
use crate::extract::{ApiJson, ApiQuery, Lang, Staff};
use crate::problem::{ApiResult, Problem};

pub(crate) fn routes(table: super::Table) -> super::Table {
    table
        .op(routes!(reply_to_feedback))
        .op(routes!(feedback_status))
        .op(routes!(add_vehicle))
        .op(routes!(suspend_vehicle))
        .op(routes!(resume_vehicle))
        .op(routes!(move_vehicle))
        .op(routes!(stickers))
        .op(routes!(carrier_report))
        .op(routes!(settlement))
        .op(routes!(report))
}

/// The carrier of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct CarrierPath {
    #[param(min_length = 1, max_length = 64, example = "astana-avtobus-park-1")]
    pub(crate) carrier: String,
}

/// A feedback of the carrier of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct FeedbackPath {
    #[param(min_length = 1, max_length = 64, example = "astana-avtobus-park-1")]
    carrier: String,
    #[param(minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64, example = 1)]
    id: i64,
}

/// A vehicle of the carrier of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct VehiclePath {
    #[param(min_length = 1, max_length = 64, example = "astana-avtobus-park-1")]
    carrier: String,
    /// Its transport code
    #[param(min_length = 1, max_length = 64, example = "10101")]
    code: String,
}

/// A carrier's month of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct MonthPath {
    #[param(min_length = 1, max_length = 64, example = "astana-avtobus-park-1")]
    carrier: String,
    /// `YYYY-MM`
    #[param(pattern = "^[0-9]{4}-[0-9]{2}$", example = "2026-01")]
    month: String,
}

/// The feedback answered, with its `status` and `replies`.
const FEEDBACK_ANSWER: &str = "The feedback with its `status` and `replies`";

fn refused(language: Language) -> impl Fn(service::ServiceError) -> Problem {
    move |e| Problem::from_service(e, language)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FeedbackReplyBody)]
pub(crate) struct ReplyBody {
    /// What the passenger gets by SMS, after a head in their language.
    #[schema(min_length = 1, max_length = 300)]
    text: String,
}

#[utoipa::path(post, path = "/v1/carriers/{carrier}/feedback/{id}/reply",
    summary = "Reply to a passenger's feedback: the text goes to them by SMS (headed in their language); a `new` feedback moves to `in_work`",
    security(("bearer" = [])), params(FeedbackPath, crate::apidoc::LangQuery), request_body = ReplyBody,
    responses((status = 200, description = FEEDBACK_ANSWER, body = FeedbackDto),
        (status = 404, description = "NOT_FOUND: no such feedback of the carrier", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn reply_to_feedback(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(FeedbackPath { carrier, id }): Path<FeedbackPath>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> ApiResult<Json<FeedbackDto>> {
    let f = service::feedback::reply(&state.app, &caller.actor, &carrier, id, &body.text)
        .await
        .map_err(refused(language))?;
    Ok(Json(FeedbackDto::of(f)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FeedbackStatusBody)]
pub(crate) struct StatusBody {
    /// `new`, `in_work` or `resolved`.
    #[schema(schema_with = feedback_status_name)]
    status: String,
}

fn feedback_status_name() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(service::feedback::STATUSES)
}

#[utoipa::path(post, path = "/v1/carriers/{carrier}/feedback/{id}/status",
    summary = "Set a feedback's status",
    security(("bearer" = [])), params(FeedbackPath, crate::apidoc::LangQuery), request_body = StatusBody,
    responses((status = 200, description = FEEDBACK_ANSWER, body = FeedbackDto),
        (status = 404, description = "NOT_FOUND: no such feedback of the carrier", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM),
        (status = 409, description = "FEEDBACK_STATUS_STALE: the status changed meanwhile", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn feedback_status(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(FeedbackPath { carrier, id }): Path<FeedbackPath>,
    ApiJson(body): ApiJson<StatusBody>,
) -> ApiResult<Json<FeedbackDto>> {
    let f = service::feedback::set_status(&state.app, &caller.actor, &carrier, id, &body.status)
        .await
        .map_err(refused(language))?;
    Ok(Json(FeedbackDto::of(f)))
}

/// A carrier's vehicle.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CarrierVehicle)]
pub(crate) struct VehicleDto {
    transport_code: String,
    plate: String,
    route: String,
    active: bool,
}

async fn apply(
    state: &crate::State,
    caller: &Staff,
    language: Language,
    carrier: &str,
    change: Change,
) -> ApiResult<Json<VehicleDto>> {
    let row = service::fleet::change(&state.app, &caller.actor, carrier, &change)
        .await
        .map_err(refused(language))?;
    Ok(Json(VehicleDto {
        transport_code: row.transport_code,
        plate: row.plate,
        route: row.route_id,
        active: row.active,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewVehicle {
    /// Read as the SMS reads it (`domain::TransportCode`).
    #[schema(pattern = "^[0-9]{3,8}$")]
    transport_code: String,
    #[schema(max_length = 16)]
    plate: String,
    /// A route id of the carrier's city (`astana-10`).
    #[schema(max_length = 64)]
    route: String,
}

#[utoipa::path(post, path = "/v1/carriers/{carrier}/vehicles",
    summary = "Add a vehicle to one of the carrier's city's routes",
    security(("bearer" = [])), params(CarrierPath, crate::apidoc::LangQuery), request_body = NewVehicle,
    responses((status = 201, description = "The vehicle, added", body = VehicleDto),
        (status = 409, description = "VEHICLE_TAKEN: the code or the plate is another vehicle's",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM),
        (status = 422, description = "VEHICLE_ROUTE_INVALID: not a route of the carrier's city",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn add_vehicle(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(CarrierPath { carrier }): Path<CarrierPath>,
    ApiJson(body): ApiJson<NewVehicle>,
) -> ApiResult<(StatusCode, Json<VehicleDto>)> {
    let change = Change::Add {
        code: body.transport_code,
        plate: body.plate,
        route: body.route,
    };
    let vehicle = apply(&state, &caller, language, &carrier, change).await?;
    Ok((StatusCode::CREATED, vehicle))
}

#[utoipa::path(post, path = "/v1/carriers/{carrier}/vehicles/{code}/suspend",
    summary = "Take a vehicle out of service: it cannot be paid for (`VEHICLE_SUSPENDED`)",
    security(("bearer" = [])), params(VehiclePath, crate::apidoc::LangQuery),
    responses((status = 200, description = "The vehicle, suspended", body = VehicleDto),
        (status = 404, description = "NOT_FOUND: no such vehicle of the carrier", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn suspend_vehicle(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(VehiclePath { carrier, code }): Path<VehiclePath>,
) -> ApiResult<Json<VehicleDto>> {
    apply(&state, &caller, language, &carrier, Change::Suspend(code)).await
}

#[utoipa::path(post, path = "/v1/carriers/{carrier}/vehicles/{code}/resume",
    summary = "Put a suspended vehicle back in service",
    security(("bearer" = [])), params(VehiclePath, crate::apidoc::LangQuery),
    responses((status = 200, description = "The vehicle, in service", body = VehicleDto),
        (status = 404, description = "NOT_FOUND: no such vehicle of the carrier", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn resume_vehicle(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(VehiclePath { carrier, code }): Path<VehiclePath>,
) -> ApiResult<Json<VehicleDto>> {
    apply(&state, &caller, language, &carrier, Change::Resume(code)).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MoveVehicleBody)]
pub(crate) struct MoveBody {
    /// A route id of the carrier's city.
    #[schema(max_length = 64)]
    route: String,
}

#[utoipa::path(post, path = "/v1/carriers/{carrier}/vehicles/{code}/move",
    summary = "Move a vehicle to another route of the carrier's city",
    security(("bearer" = [])), params(VehiclePath, crate::apidoc::LangQuery), request_body = MoveBody,
    responses((status = 200, description = "The vehicle, on its new route", body = VehicleDto),
        (status = 404, description = "NOT_FOUND: no such vehicle of the carrier", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM),
        (status = 422, description = "VEHICLE_ROUTE_INVALID: not a route of the carrier's city",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn move_vehicle(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(VehiclePath { carrier, code }): Path<VehiclePath>,
    ApiJson(body): ApiJson<MoveBody>,
) -> ApiResult<Json<VehicleDto>> {
    let change = Change::Move {
        code,
        route: body.route,
    };
    apply(&state, &caller, language, &carrier, change).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FormatQuery {
    /// `svg` (default) or `pdf` for stickers; `json` (default), `csv` or `pdf` for settlement.
    #[serde(default)]
    format: Option<String>,
    /// Only this vehicle's sticker.
    #[serde(default)]
    vehicle: Option<String>,
    /// The language (read by the `Lang` extractor; named so the strict query accepts it).
    #[serde(default, rename = "lang")]
    _lang: Option<String>,
}

/// The stickers' query, for the document (read as [`FormatQuery`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read as `FormatQuery`; here for its documentation
pub(crate) struct StickersQuery {
    #[param(schema_with = sticker_format)]
    format: Option<String>,
    /// One vehicle's sticker only (its transport code)
    vehicle: Option<String>,
}

/// The settlement's query, for the document (read as [`FormatQuery`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read as `FormatQuery`; here for its documentation
pub(crate) struct SettlementQuery {
    #[param(schema_with = settlement_format)]
    format: Option<String>,
}

/// One of these formats, the first by default.
fn formats(values: &[&str]) -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .default(values.first().map(|value| serde_json::Value::from(*value)))
        .into()
}

fn sticker_format() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    formats(&["svg", "pdf"])
}

fn settlement_format() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    formats(&["json", "csv", "pdf"])
}

fn report_format() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    formats(&["json", "csv"])
}

fn download(content_type: &'static str, name: &str, body: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The carrier's stickers, every vehicle's (or one): a print-ready SVG page or a PDF.
#[utoipa::path(get, path = "/v1/carriers/{carrier}/stickers",
    summary = "The carrier's QR stickers (code, plate, the passenger app's link for the bus, 'send the code to 2505' in kk and ru): a print-ready SVG page or a PDF",
    security(("bearer" = [])), params(CarrierPath, StickersQuery, crate::apidoc::LangQuery),
    responses((status = 200, description = "SVG or PDF", content(
            (String = "image/svg+xml"), (inline(crate::apidoc::Binary) = "application/pdf"))),
        (status = 404, description = "NOT_FOUND: no such carrier, or no such vehicle of it",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn stickers(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
    Path(CarrierPath { carrier }): Path<CarrierPath>,
    ApiQuery(query): ApiQuery<FormatQuery>,
) -> ApiResult<Response> {
    let catalogue = state.app.catalogue();
    let id = CarrierId::parse(&carrier)
        .ok()
        .filter(|id| catalogue.carriers.contains_key(id))
        .ok_or_else(|| Problem::new(ErrorCode::NotFound, language).detail("no such carrier"))?;
    let stickers: Vec<Sticker> = catalogue
        .vehicles
        .values()
        .filter(|v| v.carrier == id)
        .filter(|v| {
            query
                .vehicle
                .as_deref()
                .is_none_or(|c| c == v.code.as_str())
        })
        .map(|v| Sticker {
            transport_code: v.code.as_str().to_owned(),
            plate: v.plate.as_str().to_owned(),
            route_number: RouteId::parse(v.route.as_str())
                .ok()
                .and_then(|r| catalogue.routes.get(&r))
                .map_or_else(|| v.route.as_str().to_owned(), |r| r.number.clone()),
        })
        .collect();
    if stickers.is_empty() {
        return Err(Problem::new(ErrorCode::NotFound, language).detail("no such vehicle"));
    }
    let base = &state.app.settings.public_base_url;
    match query.format.as_deref().unwrap_or("svg") {
        "svg" => {
            let svg = documents::stickers_svg(base, &stickers);
            let mut response = (StatusCode::OK, svg).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml; charset=utf-8"),
            );
            Ok(response)
        }
        "pdf" => Ok(download(
            "application/pdf",
            &format!("stickers-{carrier}.pdf"),
            documents::stickers_pdf(base, &stickers).map_err(unwritable(language))?,
        )),
        _ => Err(Problem::new(ErrorCode::BadRequest, language).detail("format is svg or pdf")),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportParams {
    /// First local day, `YYYY-MM-DD`
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    from: String,
    /// Last local day, inclusive (at most 366 days)
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    to: String,
    /// One city
    #[serde(default)]
    city: Option<String>,
    /// One carrier (at a carrier's path: that carrier, or 400)
    #[serde(default)]
    carrier: Option<String>,
    /// `json` (default) or `csv`.
    #[serde(default)]
    #[param(schema_with = report_format)]
    format: Option<String>,
    /// The language (read by the `Lang` extractor; named so the strict query accepts it).
    #[serde(default, rename = "lang")]
    #[param(ignore)]
    _lang: Option<String>,
}

/// The rides of a day, city, carrier, route, vehicle, source and rider category.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ReportLine)]
pub(crate) struct LineDto {
    /// `YYYY-MM-DD`, the city's local day.
    #[schema(format = Date)]
    day: String,
    city: String,
    carrier: String,
    route: String,
    route_number: String,
    transport_code: String,
    source: String,
    category: String,
    rides: i64,
    refunds: i64,
    fares: Money,
    refunded: Money,
    payable: Money,
    subsidy: Money,
    /// Part of the subsidy is estimated at today's regular fare: rides written before the
    /// ride recorded its regular fare.
    subsidy_estimated: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Owed {
    /// An operator, `card`, a bank or a carrier.
    party: String,
    amount: Money,
}

/// What preferential fares cost against the regular fare, per city and category.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Subsidy)]
pub(crate) struct SubsidyDto {
    city: String,
    category: String,
    amount: Money,
    /// Part of it is estimated (see the lines' `subsidy_estimated`).
    estimated: bool,
}

/// A subsidy is the regular fare each ride recorded when it was written less what was paid,
/// `estimated` (today's catalogue fare) for rides written before fares were recorded.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = RideReport)]
pub(crate) struct ReportDto {
    #[schema(format = Date)]
    from: String,
    #[schema(format = Date)]
    to: String,
    lines: Vec<LineDto>,
    /// What each operator owes us for its subscribers' fares (and the cards' share).
    by_source: Vec<Owed>,
    /// What we owe each carrier: the fares whole, less refunds.
    by_carrier: Vec<Owed>,
    /// What each bank owes us for card top-ups (an unscoped admin report only).
    by_bank: Vec<Owed>,
    subsidy: Vec<SubsidyDto>,
    total_payable: Money,
}

fn report_dto(report: Report, language: Language) -> ApiResult<ReportDto> {
    let total = report
        .total_payable()
        .map_err(|e| Problem::from_service(e, language))?;
    let owed = |list: Vec<(String, domain::Tenge)>| {
        list.into_iter()
            .map(|(party, amount)| Owed {
                party,
                amount: Money::of(amount),
            })
            .collect()
    };
    Ok(ReportDto {
        from: report.from.to_string(),
        to: report.to.to_string(),
        by_source: owed(
            report
                .by_source
                .iter()
                .map(|(s, t)| (s.as_str().to_owned(), *t))
                .collect(),
        ),
        by_carrier: owed(report.by_carrier.clone().into_iter().collect()),
        by_bank: owed(report.by_bank.clone().into_iter().collect()),
        subsidy: report
            .subsidy_by_category
            .iter()
            .map(|((city, category), amount)| SubsidyDto {
                estimated: report
                    .subsidy_estimated
                    .contains(&(city.clone(), category.clone())),
                city: city.clone(),
                category: category.clone(),
                amount: Money::of(*amount),
            })
            .collect(),
        total_payable: Money::of(total),
        lines: report
            .lines
            .into_iter()
            .map(|l| LineDto {
                day: l.day.to_string(),
                city: l.city,
                carrier: l.carrier,
                route: l.route,
                route_number: l.route_number,
                transport_code: l.transport_code,
                source: l.source.as_str().to_owned(),
                category: l.category,
                rides: l.rides,
                refunds: l.refunds,
                fares: Money::of(l.fares),
                refunded: Money::of(l.refunded),
                payable: Money::of(l.payable),
                subsidy: Money::of(l.subsidy),
                subsidy_estimated: l.subsidy_estimated,
            })
            .collect(),
    })
}

async fn answer_report(
    state: &crate::State,
    caller: &Staff,
    language: Language,
    params: ReportParams,
    carrier: Option<String>,
) -> ApiResult<Response> {
    let query = ReportQuery {
        from: service::reports::parse_date(&params.from).map_err(refused(language))?,
        to: service::reports::parse_date(&params.to).map_err(refused(language))?,
        city: params.city,
        carrier: carrier.or(params.carrier),
    };
    let report = service::reports::rides(&state.app, &caller.actor, &query)
        .await
        .map_err(refused(language))?;
    match params.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(report_dto(report, language)?).into_response()),
        "csv" => Ok(download(
            "text/csv; charset=utf-8",
            &format!("rides-{}-{}.csv", params.from, params.to),
            documents::report_csv(&report).into_bytes(),
        )),
        _ => Err(Problem::new(ErrorCode::BadRequest, language).detail("format is json or csv")),
    }
}

/// Admins (everything) and the office (its cities): the ride and revenue report.
#[utoipa::path(get, path = "/v1/reports/rides",
    summary = "Rides and revenue of every carrier (an office clerk: its cities), with what each operator and bank owes and what we owe each carrier, off the ledger",
    security(("bearer" = [])), params(ReportParams, crate::apidoc::LangQuery),
    responses((status = 200, description = "The report, or its CSV", content(
        (ReportDto = "application/json"), (String = "text/csv")))))]
pub(crate) async fn report(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    answer_report(&state, &caller, language, params, None).await
}

/// A carrier's own report (another carrier's is `SCOPE_FORBIDDEN`).
#[utoipa::path(get, path = "/v1/carriers/{carrier}/reports/rides",
    summary = "A carrier's rides and revenue per day, route, vehicle, source and rider category, off the ledger",
    security(("bearer" = [])), params(CarrierPath, ReportParams, crate::apidoc::LangQuery),
    responses((status = 200, description = "The report, or its CSV", content(
        (ReportDto = "application/json"), (String = "text/csv")))))]
pub(crate) async fn carrier_report(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(CarrierPath { carrier }): Path<CarrierPath>,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    if params.carrier.as_ref().is_some_and(|c| *c != carrier) {
        return Err(Problem::new(ErrorCode::BadRequest, language)
            .detail("the carrier is the one of the path"));
    }
    answer_report(&state, &caller, language, params, Some(carrier)).await
}

/// A PDF that could not be written (its font is a defect of the build, never of the request).
fn unwritable(language: Language) -> impl Fn(crate::pdf_font::FontError) -> Problem {
    move |error| Problem::new(ErrorCode::Internal, language).detail(error.to_string())
}

/// A carrier's month (`YYYY-MM`): JSON, CSV or the PDF to sign.
#[utoipa::path(get, path = "/v1/carriers/{carrier}/settlement/{month}",
    summary = "A carrier's month of settlement: JSON, CSV or PDF",
    security(("bearer" = [])), params(MonthPath, SettlementQuery, crate::apidoc::LangQuery),
    responses((status = 200, description = "The month's report, its CSV, or the PDF to sign", content(
        (ReportDto = "application/json"), (String = "text/csv"),
        (inline(crate::apidoc::Binary) = "application/pdf")))))]
pub(crate) async fn settlement(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(MonthPath { carrier, month }): Path<MonthPath>,
    ApiQuery(query): ApiQuery<FormatQuery>,
) -> ApiResult<Response> {
    let (report, name) = service::reports::settlement(&state.app, &caller.actor, &carrier, &month)
        .await
        .map_err(refused(language))?;
    match query.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(report_dto(report, language)?).into_response()),
        "csv" => Ok(download(
            "text/csv; charset=utf-8",
            &format!("settlement-{carrier}-{month}.csv"),
            documents::report_csv(&report).into_bytes(),
        )),
        "pdf" => Ok(download(
            "application/pdf",
            &format!("settlement-{carrier}-{month}.pdf"),
            documents::settlement_pdf(&report, &carrier, &name, language)
                .map_err(unwritable(language))?,
        )),
        _ => {
            Err(Problem::new(ErrorCode::BadRequest, language).detail("format is json, csv or pdf"))
        }
    }
}
