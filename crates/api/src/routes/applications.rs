//! Preferential cards: the passenger applies and follows their applications; staff (the `office` role,
//! scoped to its cities, and admins) list the pending queue,
//! approve with the documents seen, or reject with a reason. Handlers stay thin: the use cases
//! take the `Actor` and write the audit entry.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use service::applications::{Application, Apply, DocumentsSeen};

use crate::extract::{ApiJson, ApiQuery, Lang, Passenger, Staff};
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

/// An application for a preferential card.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CardApplication)]
pub(crate) struct ApplicationDto {
    id: i64,
    phone: String,
    city: String,
    category: String,
    full_name: String,
    document_kind: String,
    document_number: String,
    #[schema(schema_with = status)]
    status: String,
    /// The card opened on approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    card: Option<String>,
    /// The reason of a rejection.
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

fn status() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&domain::card::ApplicationStatus::words())
}

fn category() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["student", "pensioner", "disability", "large_family"])
}

/// The application of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ApplicationPath {
    #[param(minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)]
    id: i64,
}

impl ApplicationDto {
    pub(crate) fn of(a: &Application) -> ApplicationDto {
        ApplicationDto {
            id: a.id,
            phone: a.holder_phone.clone(),
            city: a.city.clone(),
            category: a.category.clone(),
            full_name: a.full_name.clone(),
            document_kind: a.document_kind.clone(),
            document_number: a.document_number.clone(),
            status: a.status.clone(),
            card: a.card_number.clone(),
            decision: a.decision.clone(),
            created_at: rfc3339_ms(a.created_at_ms),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CardApplicationList)]
pub(crate) struct ApplicationList {
    applications: Vec<ApplicationDto>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApplyBody {
    #[schema(min_length = 1, max_length = 64)]
    city: String,
    #[schema(schema_with = category)]
    category: String,
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    full_name: String,
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    document_kind: String,
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    document_number: String,
}

#[utoipa::path(post, path = "/v1/card-applications",
    summary = "Apply for a preferential card (approved at the office, which sees the documents)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery), request_body = ApplyBody,
    responses((status = 201, description = "The application, pending", body = ApplicationDto)))]
pub(crate) async fn apply(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    ApiJson(body): ApiJson<ApplyBody>,
) -> ApiResult<(StatusCode, Json<ApplicationDto>)> {
    let request = Apply {
        city: body.city,
        category: body.category,
        full_name: body.full_name,
        document_kind: body.document_kind,
        document_number: body.document_number,
    };
    let applied = service::applications::apply(&state.app, &phone, &request, language)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok((StatusCode::CREATED, Json(ApplicationDto::of(&applied))))
}

#[utoipa::path(get, path = "/v1/card-applications", summary = "The passenger's applications, newest first",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "The applications", body = ApplicationList)))]
pub(crate) async fn mine(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
) -> ApiResult<Json<ApplicationList>> {
    let list = service::applications::mine(&state.app, &phone)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(ApplicationList {
        applications: list.iter().map(ApplicationDto::of).collect(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct QueueQuery {
    #[serde(default)]
    #[param(max_length = 80)]
    q: Option<String>,
}

#[utoipa::path(get, path = "/v1/office/card-applications",
    summary = "Pending applications, oldest first; `q` searches phone, name and document number",
    security(("bearer" = [])), params(QueueQuery, crate::apidoc::LangQuery),
    responses((status = 200, description = "The applications", body = ApplicationList)))]
pub(crate) async fn queue(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    ApiQuery(query): ApiQuery<QueueQuery>,
) -> ApiResult<Json<ApplicationList>> {
    let list = service::applications::queue(&state.app, &caller.actor, query.q.as_deref())
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(ApplicationList {
        applications: list.iter().map(ApplicationDto::of).collect(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApproveBody {
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    document_kind: String,
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    document_number: String,
    /// `YYYY-MM-DD`.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    valid_until: String,
}

#[utoipa::path(post, path = "/v1/office/card-applications/{id}/approve",
    summary = "Approve: open the preferential card, record the documents seen (never scans), tell the passenger by SMS; audited",
    security(("bearer" = [])), params(ApplicationPath, crate::apidoc::LangQuery), request_body = ApproveBody,
    responses((status = 200, description = "Approved", body = ApplicationDto)))]
pub(crate) async fn approve(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(ApplicationPath { id }): Path<ApplicationPath>,
    ApiJson(body): ApiJson<ApproveBody>,
) -> ApiResult<Json<ApplicationDto>> {
    let seen = DocumentsSeen {
        kind: body.document_kind,
        number: body.document_number,
        valid_until: body.valid_until,
    };
    let decided = service::applications::approve(&state.app, &caller.actor, id, &seen)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(ApplicationDto::of(&decided)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RejectBody {
    /// Told to the passenger by SMS.
    #[schema(min_length = 1, max_length = 80, pattern = "\\S")]
    reason: String,
}

#[utoipa::path(post, path = "/v1/office/card-applications/{id}/reject",
    summary = "Reject with a reason the passenger is told by SMS; audited",
    security(("bearer" = [])), params(ApplicationPath, crate::apidoc::LangQuery), request_body = RejectBody,
    responses((status = 200, description = "Rejected", body = ApplicationDto)))]
pub(crate) async fn reject(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(ApplicationPath { id }): Path<ApplicationPath>,
    ApiJson(body): ApiJson<RejectBody>,
) -> ApiResult<Json<ApplicationDto>> {
    let decided = service::applications::reject(&state.app, &caller.actor, id, &body.reason)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(ApplicationDto::of(&decided)))
}
