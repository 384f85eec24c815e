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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedbackBody {
    /// The ticket's `number`.
    ticket_number: i64,
    service_rating: u8,
    vehicle_rating: u8,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Serialize)]
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
    created_at: String,
    /// `new`, `in_work` or `resolved`.
    status: String,
    /// The carrier's replies sent to the passenger by SMS, oldest first.
    replies: Vec<ReplyDto>,
}

#[derive(Serialize)]
pub(crate) struct ReplyDto {
    author: String,
    text: String,
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

#[derive(Serialize)]
pub(crate) struct Given {
    /// The passenger's tickets that already have feedback.
    ticket_numbers: Vec<i64>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CarrierQuery {
    /// The `next` of the previous page.
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

#[derive(Serialize)]
pub(crate) struct FeedbackList {
    feedback: Vec<FeedbackDto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<i64>,
}

/// Staff: a carrier's feedback, newest first (a carrier's manager: its own only).
pub(crate) async fn for_carrier(
    State(state): State<crate::State>,
    _caller: Staff,
    Lang(language): Lang,
    Path(carrier): Path<String>,
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
