//! Feedback on a ride: the passenger rates the service and the vehicle and may complain with
//! a category; the carrier reads it at once (staff side: a thin handler over the use case).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::ErrorCode;
use domain::ticket::TicketNumber;
use serde::{Deserialize, Serialize};
use service::feedback::{Feedback, NewFeedback};

use crate::extract::{ApiJson, ApiQuery, Lang, Passenger, Staff};
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedbackBody {
    /// The ticket's `number`.
    #[schema(minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)]
    ticket_number: i64,
    #[schema(minimum = 1, maximum = 5)]
    service_rating: u8,
    #[schema(minimum = 1, maximum = 5)]
    vehicle_rating: u8,
    #[serde(default)]
    #[schema(schema_with = category)]
    category: Option<String>,
    #[serde(default)]
    #[schema(max_length = 1000)]
    comment: Option<String>,
}

/// A complaint's category, or none.
fn category() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::String,
            utoipa::openapi::schema::Type::Null,
        ]))
        .enum_values(Some(
            service::feedback::CATEGORIES
                .iter()
                .map(|category| serde_json::Value::from(*category))
                .chain([serde_json::Value::Null]),
        ))
        .into()
}

/// Feedback on a ride, as its carrier reads it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Feedback)]
pub(crate) struct FeedbackDto {
    id: i64,
    ticket_number: i64,
    carrier: String,
    city: String,
    route_id: String,
    route_number: String,
    transport_code: String,
    service_rating: u8,
    vehicle_rating: u8,
    category: Option<String>,
    comment: String,
    #[schema(format = DateTime)]
    created_at: String,
    /// `new`, `in_work` or `resolved`.
    #[schema(schema_with = status)]
    status: String,
    /// The carrier's replies sent to the passenger by SMS, oldest first.
    replies: Vec<ReplyDto>,
}

fn status() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["new", "in_work", "resolved"])
}

/// A carrier's reply, sent to the passenger by SMS.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = FeedbackReply)]
pub(crate) struct ReplyDto {
    author: String,
    text: String,
    #[schema(format = DateTime)]
    created_at: String,
}

impl FeedbackDto {
    pub(crate) fn of(f: Feedback) -> FeedbackDto {
        FeedbackDto {
            id: f.id,
            ticket_number: i64::from(f.ticket_number),
            carrier: f.carrier_id,
            city: f.city_id,
            route_id: f.route_id,
            route_number: f.route_number,
            transport_code: f.transport_code,
            service_rating: f.service_rating,
            vehicle_rating: f.vehicle_rating,
            category: f.category,
            comment: f.comment,
            created_at: rfc3339_ms(f.created_at_ms),
            status: f.status,
            replies: f
                .replies
                .into_iter()
                .map(|r| ReplyDto {
                    author: r.author,
                    text: r.text,
                    created_at: rfc3339_ms(r.created_at_ms),
                })
                .collect(),
        }
    }
}

#[utoipa::path(post, path = "/v1/feedback",
    summary = "Rate a ride of the signed-in passenger (the service and the vehicle, 1–5) with an optional complaint category and comment; one per ticket (409 FEEDBACK_ALREADY_GIVEN)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery), request_body = FeedbackBody,
    responses((status = 201, description = "Stored; the carrier reads it at once", body = FeedbackDto)))]
pub(crate) async fn submit(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
    ApiJson(body): ApiJson<FeedbackBody>,
) -> ApiResult<(StatusCode, Json<FeedbackDto>)> {
    // A number no ticket can have is no ticket of the passenger's, as an unknown one.
    let ticket_number = TicketNumber::try_from(body.ticket_number)
        .map_err(|_| Problem::from_service(ErrorCode::NotFound.into(), language))?;
    let feedback = NewFeedback {
        ticket_number,
        service_rating: body.service_rating,
        vehicle_rating: body.vehicle_rating,
        category: body.category,
        comment: body.comment.unwrap_or_default(),
    };
    let stored = service::feedback::submit(&state.app, &phone, feedback)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok((StatusCode::CREATED, Json(FeedbackDto::of(stored))))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = FeedbackGiven)]
pub(crate) struct Given {
    /// The passenger's tickets that already have feedback.
    ticket_numbers: Vec<i64>,
}

#[utoipa::path(get, path = "/v1/feedback",
    summary = "The signed-in passenger's tickets that already have feedback",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "Their ticket numbers", body = Given)))]
pub(crate) async fn given(
    State(state): State<crate::State>,
    Lang(language): Lang,
    Passenger(phone): Passenger,
) -> ApiResult<Json<Given>> {
    let ticket_numbers = service::feedback::given(&state.app, &phone)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Given {
        ticket_numbers: ticket_numbers.into_iter().map(i64::from).collect(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct CarrierQuery {
    /// The `next` of the previous page.
    #[serde(default)]
    #[param(minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)]
    before: Option<i64>,
    #[serde(default)]
    #[param(minimum = 1, maximum = 100, default = 50)]
    limit: Option<i64>,
}

/// The carrier of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct CarrierPath {
    carrier: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct FeedbackList {
    feedback: Vec<FeedbackDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<i64>,
}

/// Staff: a carrier's feedback, newest first (a carrier's manager: its own only).
#[utoipa::path(get, path = "/v1/carriers/{carrier}/feedback",
    summary = "Staff: passengers' feedback on a carrier's vehicles, newest first",
    // No `lang`: the query is read strictly (`lang` there is refused, 400).
    security(("bearer" = [])), params(CarrierPath, CarrierQuery),
    responses((status = 200, description = "One page: pass `next` as `before` for older feedback", body = FeedbackList)))]
pub(crate) async fn for_carrier(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
    Path(CarrierPath { carrier }): Path<CarrierPath>,
    ApiQuery(query): ApiQuery<CarrierQuery>,
) -> ApiResult<Json<FeedbackList>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=service::feedback::PAGE_MAX).contains(&limit) {
        return Err(Problem::new(domain::ErrorCode::BadRequest, language)
            .detail(format!("limit must be 1..={}", service::feedback::PAGE_MAX)));
    }
    let rows = service::feedback::for_carrier(&state.app, Some(&carrier), query.before, limit)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let full = i64::try_from(rows.len()).unwrap_or(0) == limit;
    let next = if full {
        rows.last().map(|f| f.id)
    } else {
        None
    };
    Ok(Json(FeedbackList {
        feedback: rows.into_iter().map(FeedbackDto::of).collect(),
        next,
    }))
}
