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

#[derive(Serialize)]
pub(crate) struct ApplicationDto {
    id: i64,
    phone: String,
    city: String,
    category: String,
    full_name: String,
    document_kind: String,
    document_number: String,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    card: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<String>,
    created_at: String,
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

#[derive(Serialize)]
pub(crate) struct ApplicationList {
    applications: Vec<ApplicationDto>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApplyBody {
    city: String,
    category: String,
    full_name: String,
    document_kind: String,
    document_number: String,
}

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

#[derive(Deserialize)]
pub(crate) struct QueueQuery {
    #[serde(default)]
    q: Option<String>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApproveBody {
    document_kind: String,
    document_number: String,
    /// `YYYY-MM-DD`.
    valid_until: String,
}

pub(crate) async fn approve(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(id): Path<i64>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RejectBody {
    reason: String,
}

pub(crate) async fn reject(
    State(state): State<crate::State>,
    caller: Staff,
    Lang(language): Lang,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RejectBody>,
) -> ApiResult<Json<ApplicationDto>> {
    let decided = service::applications::reject(&state.app, &caller.actor, id, &body.reason)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(ApplicationDto::of(&decided)))
}
