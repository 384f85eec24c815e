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

#[derive(Serialize)]
pub(crate) struct Discrepancy {
    id: i64,
    report_id: i64,
    /// The partner's reference: `txn_id`, the acquirer's order id, the ride id.
    reference: String,
    outcome: &'static str,
    /// The card number or phone the line names (empty when unknown).
    account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    theirs: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ours: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolution: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transfer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<String>,
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

#[derive(Serialize)]
pub(crate) struct Report {
    id: i64,
    partner_kind: &'static str,
    partner: String,
    day: String,
    their_lines: i64,
    matched: i64,
    open: i64,
    imported_at: String,
    lines: Vec<Discrepancy>,
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

pub(crate) async fn upload(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path((kind, partner, day)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult<Json<Report>> {
    let kind =
        PartnerKind::parse(&kind).ok_or_else(|| Problem::new(ErrorCode::NotFound, language))?;
    let report = service::reconcile::import(&state.app, &caller.actor, kind, &partner, &day, &body)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Report::of(&report)))
}

#[derive(Serialize)]
pub(crate) struct Reports {
    reports: Vec<Report>,
}

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

#[derive(Serialize)]
pub(crate) struct Discrepancies {
    discrepancies: Vec<Discrepancy>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveBody {
    /// `credit`, `reversal` or `write_off`.
    resolution: String,
}

pub(crate) async fn resolve(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> ApiResult<Json<Discrepancy>> {
    let resolution = Resolution::parse(&body.resolution)
        .ok_or_else(|| Problem::new(ErrorCode::BadRequest, language))?;
    let line = service::reconcile::resolve(&state.app, &caller.actor, id, resolution)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Discrepancy::of(&line, None)))
}
