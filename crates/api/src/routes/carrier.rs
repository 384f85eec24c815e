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

use super::feedback::FeedbackDto;
use super::wire::Money;
use crate::documents::{self, Sticker};
use crate::extract::{ApiJson, ApiQuery, Lang, Staff};
use crate::problem::{ApiResult, Problem};

pub(crate) fn routes(table: super::Table) -> super::Table {
    table
        .post(
            "/v1/carriers/{carrier}/feedback/{id}/reply",
            reply_to_feedback,
        )
        .post(
            "/v1/carriers/{carrier}/feedback/{id}/status",
            feedback_status,
        )
        .post("/v1/carriers/{carrier}/vehicles", add_vehicle)
        .post(
            "/v1/carriers/{carrier}/vehicles/{code}/suspend",
            suspend_vehicle,
        )
        .post(
            "/v1/carriers/{carrier}/vehicles/{code}/resume",
            resume_vehicle,
        )
        .post("/v1/carriers/{carrier}/vehicles/{code}/move", move_vehicle)
        .get("/v1/carriers/{carrier}/stickers", stickers)
        .get("/v1/carriers/{carrier}/reports/rides", carrier_report)
        .get("/v1/carriers/{carrier}/settlement/{month}", settlement)
        .get("/v1/reports/rides", report)
}

fn refused(language: Language) -> impl Fn(service::ServiceError) -> Problem {
    move |e| Problem::from_service(e, language)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplyBody {
    /// What the passenger gets by SMS, after a head in their language.
    text: String,
}

pub(crate) async fn reply_to_feedback(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path((carrier, id)): Path<(String, i64)>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> ApiResult<Json<FeedbackDto>> {
    let f = service::feedback::reply(&state.app, &caller.actor, &carrier, id, &body.text)
        .await
        .map_err(refused(language))?;
    Ok(Json(FeedbackDto::of(f)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    /// `new`, `in_work` or `resolved`.
    status: String,
}

pub(crate) async fn feedback_status(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path((carrier, id)): Path<(String, i64)>,
    ApiJson(body): ApiJson<StatusBody>,
) -> ApiResult<Json<FeedbackDto>> {
    let f = service::feedback::set_status(&state.app, &caller.actor, &carrier, id, &body.status)
        .await
        .map_err(refused(language))?;
    Ok(Json(FeedbackDto::of(f)))
}

#[derive(Serialize)]
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewVehicle {
    transport_code: String,
    plate: String,
    /// A route id of the carrier's city (`astana-10`).
    route: String,
}

pub(crate) async fn add_vehicle(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(carrier): Path<String>,
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

pub(crate) async fn suspend_vehicle(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path((carrier, code)): Path<(String, String)>,
) -> ApiResult<Json<VehicleDto>> {
    apply(&state, &caller, language, &carrier, Change::Suspend(code)).await
}

pub(crate) async fn resume_vehicle(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path((carrier, code)): Path<(String, String)>,
) -> ApiResult<Json<VehicleDto>> {
    apply(&state, &caller, language, &carrier, Change::Resume(code)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveBody {
    route: String,
}

pub(crate) async fn move_vehicle(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path((carrier, code)): Path<(String, String)>,
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
pub(crate) async fn stickers(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
    Path(carrier): Path<String>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportParams {
    /// First local day, `YYYY-MM-DD`.
    from: String,
    /// Last local day, inclusive.
    to: String,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    carrier: Option<String>,
    /// `json` (default) or `csv`.
    #[serde(default)]
    format: Option<String>,
    /// The language (read by the `Lang` extractor; named so the strict query accepts it).
    #[serde(default, rename = "lang")]
    _lang: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct LineDto {
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

#[derive(Serialize)]
pub(crate) struct Owed {
    /// An operator, `card`, a bank or a carrier.
    party: String,
    amount: Money,
}

#[derive(Serialize)]
pub(crate) struct SubsidyDto {
    city: String,
    category: String,
    amount: Money,
    /// Part of it is estimated (see the lines' `subsidy_estimated`).
    estimated: bool,
}

#[derive(Serialize)]
pub(crate) struct ReportDto {
    from: String,
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
pub(crate) async fn report(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    answer_report(&state, &caller, language, params, None).await
}

/// A carrier's own report (another carrier's is `SCOPE_FORBIDDEN`).
pub(crate) async fn carrier_report(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(carrier): Path<String>,
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
pub(crate) async fn settlement(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path((carrier, month)): Path<(String, String)>,
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
