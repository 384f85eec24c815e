//! Reconciliation for admins: upload a partner's daily file (a bank's registry, the acquirer's
//! settlement report, an operator's settlement report; the body is the file, size-limited),
//! list the reports and the open discrepancies, and resolve one (credit, reversal, write-off).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use domain::ErrorCode;
use domain::reconcile::Resolution;
use serde::{Deserialize, Serialize};
use service::reconcile::{LineView, PartnerKind, ReportView};

use super::wire::Money;
use crate::extract::{ApiJson, Lang, Staff};
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

/// A line of a report: matched, or a discrepancy until it is resolved.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ReconciliationLine)]
pub(crate) struct Discrepancy {
    id: i64,
    report_id: i64,
    /// The partner's reference: `txn_id`, the acquirer's order id, the ride id.
    reference: String,
    #[schema(schema_with = outcome)]
    outcome: &'static str,
    /// The card number or phone the line names (empty when unknown).
    account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    theirs: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ours: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = resolution)]
    resolution: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transfer_id: Option<String>,
    /// The report's partner and day (in the list of discrepancies).
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<String>,
}

fn outcome() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&domain::reconcile::Outcome::ALL.map(domain::reconcile::Outcome::as_str))
}

fn resolution() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&Resolution::ALL.map(Resolution::as_str))
}

/// The kinds of partner whose files are reconciled (`service::reconcile::PartnerKind`).
const PARTNER_KINDS: [&str; 3] = ["bank", "acquirer", "operator"];

/// A partner's kind, as the path names it (for the document only).
struct PartnerKindText;

impl utoipa::ToSchema for PartnerKindText {}

impl utoipa::PartialSchema for PartnerKindText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        crate::apidoc::one_of(&PARTNER_KINDS)
    }
}

/// A partner's daily file, as CSV (for the document only: the body is read as bytes).
struct CsvFile;

impl utoipa::ToSchema for CsvFile {}

impl utoipa::PartialSchema for CsvFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .max_length(Some(service::reconcile::RECONCILIATION_FILE_BYTES_MAX))
            .into()
    }
}

impl Discrepancy {
    fn of(l: &LineView, report: Option<String>) -> Discrepancy {
        Discrepancy {
            id: l.id,
            report_id: l.report_id,
            reference: l.reference.clone(),
            outcome: l.outcome.as_str(),
            account: l.account.clone(),
            theirs: l.theirs.map(Money::of),
            ours: l.ours.map(Money::of),
            resolution: l.resolution.map(Resolution::as_str),
            resolved_by: l.resolved_by.clone(),
            transfer_id: l.transfer_id.clone(),
            report,
        }
    }
}

/// A partner's file of a day matched with our records.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ReconciliationReport)]
pub(crate) struct Report {
    id: i64,
    #[schema(schema_with = partner_kind)]
    partner_kind: &'static str,
    partner: String,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    day: String,
    /// The lines of their file.
    their_lines: i64,
    matched: i64,
    /// Discrepancies not resolved yet.
    open: i64,
    #[schema(format = DateTime)]
    imported_at: String,
    lines: Vec<Discrepancy>,
}

fn partner_kind() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&PARTNER_KINDS)
}

impl Report {
    fn of(r: &ReportView) -> Report {
        Report {
            id: r.id,
            partner_kind: r.partner_kind.as_str(),
            partner: r.partner.clone(),
            day: r.day.clone(),
            their_lines: r.their_lines,
            matched: r.matched,
            open: r.open,
            imported_at: rfc3339_ms(r.imported_at_ms),
            lines: r.lines.iter().map(|l| Discrepancy::of(l, None)).collect(),
        }
    }
}

/// A partner's file of a day.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct FilePath {
    #[param(value_type = PartnerKindText, inline)]
    kind: String,
    #[param(pattern = "^[a-z0-9-]{1,32}$", example = "kaspi")]
    partner: String,
    #[param(format = Date, example = "2026-11-24")]
    day: String,
}

#[utoipa::path(post, path = "/v1/admin/reconciliation/{kind}/{partner}/{day}",
    summary = "Import a partner's daily file and match it with our records (audited): a bank's registry, the acquirer's settlement report, an operator's settlement report. The same file again changes nothing; a corrected one replaces the unresolved lines",
    security(("bearer" = [])), params(FilePath, crate::apidoc::LangQuery),
    request_body(content = inline(CsvFile), content_type = "text/csv"),
    responses((status = 200, description = "The report", body = Report),
        (status = 404, description = "NOT_FOUND: no such kind of partner", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM),
        (status = 413, description = "BODY_TOO_LARGE: over the file's limit",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM),
        (status = 422, description = "RECONCILIATION_FILE_INVALID: the file's first flaw; nothing was changed",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn upload(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(FilePath { kind, partner, day }): Path<FilePath>,
    body: Bytes,
) -> ApiResult<Json<Report>> {
    let kind =
        PartnerKind::parse(&kind).ok_or_else(|| Problem::new(ErrorCode::NotFound, language))?;
    let report = service::reconcile::import(&state.app, &caller.actor, kind, &partner, &day, &body)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Report::of(&report)))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ReconciliationReports)]
pub(crate) struct Reports {
    reports: Vec<Report>,
}

#[utoipa::path(get, path = "/v1/admin/reconciliation/reports",
    summary = "The reconciliation reports, newest day first, with their lines",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The reports", body = Reports)))]
pub(crate) async fn reports(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<Reports>> {
    let reports = service::reconcile::reports(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Reports {
        reports: reports.iter().map(Report::of).collect(),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Discrepancies {
    discrepancies: Vec<Discrepancy>,
}

#[utoipa::path(get, path = "/v1/admin/reconciliation/discrepancies",
    summary = "Every discrepancy not resolved yet",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The open lines, each with its report", body = Discrepancies)))]
pub(crate) async fn discrepancies(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
) -> ApiResult<Json<Discrepancies>> {
    let open = service::reconcile::discrepancies(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Discrepancies {
        discrepancies: open
            .iter()
            .map(|(l, report)| Discrepancy::of(l, Some(report.clone())))
            .collect(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveBody {
    /// `credit`, `reversal` or `write_off`.
    #[schema(schema_with = resolution)]
    resolution: String,
}

/// A line of a report.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct LinePath {
    #[param(minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)]
    id: i64,
}

#[utoipa::path(post, path = "/v1/admin/reconciliation/discrepancies/{id}/resolve",
    summary = "Resolve a discrepancy once (audited): `credit` (what they took reaches the card), `reversal` (what we credited and they never took goes back), `write_off` (accepted as a loss); each booked as a ledger transfer where money moves",
    security(("bearer" = [])), params(LinePath, crate::apidoc::LangQuery), request_body = ResolveBody,
    responses((status = 200, description = "The line, resolved", body = Discrepancy),
        (status = 404, description = "DISCREPANCY_NOT_FOUND: no such line", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM),
        (status = 409, description = "DISCREPANCY_RESOLUTION_NOT_ALLOWED: resolved otherwise already, or the resolution does not fit the line (the same resolution again answers the line)",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM)))]
pub(crate) async fn resolve(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(LinePath { id }): Path<LinePath>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> ApiResult<Json<Discrepancy>> {
    let resolution = Resolution::parse(&body.resolution)
        .ok_or_else(|| Problem::new(ErrorCode::BadRequest, language))?;
    let line = service::reconcile::resolve(&state.app, &caller.actor, id, resolution)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Discrepancy::of(&line, None)))
}

#[cfg(test)]
mod tests {
    /// The kinds the document names are the ones the path takes.
    #[test]
    fn the_documented_partner_kinds_are_the_parsed_ones() {
        for kind in super::PARTNER_KINDS {
            let parsed = service::reconcile::PartnerKind::parse(kind).unwrap();
            assert_eq!(parsed.as_str(), kind);
        }
    }
}
