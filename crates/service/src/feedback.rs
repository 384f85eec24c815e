//! Passengers' feedback on a ride they paid: the service and the vehicle rated 1–5, a category
//! for a complaint and a comment. It reaches the carrier of the ride's vehicle at once: the
//! carrier reads its feedback, newest first ([`for_carrier`]).

use domain::{ErrorCode, PhoneNumber};

use crate::{App, ServiceError};

/// Ratings run from 1 (bad) to 5 (good).
pub const RATING_MIN: u8 = 1;
pub const RATING_MAX: u8 = 5;
/// A comment is at most this many characters.
pub const COMMENT_CHARS_MAX: usize = 1_000;
/// A carrier's page of feedback holds at most this many entries.
pub const PAGE_MAX: i64 = 100;

/// What a complaint is about.
pub const CATEGORIES: &[&str] = &[
    "driver",
    "cleanliness",
    "late",
    "overcrowded",
    "fare",
    "other",
];

#[derive(Clone, Debug)]
pub struct NewFeedback {
    pub ticket_number: i64,
    pub service_rating: u8,
    pub vehicle_rating: u8,
    pub category: Option<String>,
    pub comment: String,
}

/// One passenger's feedback as the carrier reads it (no phone number: the carrier answers
/// through us, not by calling the passenger).
#[derive(Clone, Debug)]
pub struct Feedback {
    pub id: i64,
    pub ticket_number: i64,
    pub carrier_id: String,
    pub city_id: String,
    pub route_id: String,
    pub route_number: String,
    pub transport_code: String,
    pub service_rating: u8,
    pub vehicle_rating: u8,
    pub category: Option<String>,
    pub comment: String,
    pub created_at_ms: i64,
}

fn bad(detail: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::BadRequest, detail)
}

/// Stores the passenger's feedback on one of their tickets; a second on the same ticket is
/// refused (`FEEDBACK_ALREADY_GIVEN`), another passenger's ticket is not found.
pub async fn submit(
    app: &App,
    phone: &PhoneNumber,
    feedback: NewFeedback,
) -> Result<Feedback, ServiceError> {
    for (what, rating) in [
        ("service_rating", feedback.service_rating),
        ("vehicle_rating", feedback.vehicle_rating),
    ] {
        if !(RATING_MIN..=RATING_MAX).contains(&rating) {
            return Err(bad(format!("{what} must be {RATING_MIN}..={RATING_MAX}")));
        }
    }
    if let Some(category) = &feedback.category
        && !CATEGORIES.contains(&category.as_str())
    {
        return Err(bad(format!(
            "category must be one of {}",
            CATEGORIES.join(", ")
        )));
    }
    let comment = feedback.comment.trim().to_owned();
    if comment.chars().count() > COMMENT_CHARS_MAX {
        return Err(bad(format!(
            "comment must be at most {COMMENT_CHARS_MAX} characters"
        )));
    }
    let mut tx = app.store.begin().await?;
    let ticket = store::tickets::by_number(&mut tx, feedback.ticket_number)
        .await?
        .filter(|t| t.phone == phone.as_e164())
        .ok_or(ErrorCode::NotFound)?;
    let ride = store::rides::by_id(&mut tx, &ticket.ride_id)
        .await?
        .ok_or_else(|| ServiceError::internal(format!("ticket {} has no ride", ticket.number)))?;
    let route_number = ticket
        .route_number
        .clone()
        .unwrap_or_else(|| ticket.route_id.clone());
    let row = store::feedback::FeedbackRow {
        id: 0,
        ticket_number: ticket.number,
        phone: ticket.phone.clone(),
        carrier_id: ride.ride.carrier_id.clone(),
        city_id: ticket.city_id.clone(),
        route_id: ticket.route_id.clone(),
        route_number,
        transport_code: ticket.transport_code.clone(),
        service_rating: i64::from(feedback.service_rating),
        vehicle_rating: i64::from(feedback.vehicle_rating),
        category: feedback.category,
        comment,
        created_at_ms: app.now_ms(),
    };
    let Some(id) = store::feedback::insert(&mut tx, &row).await? else {
        return Err(ErrorCode::FeedbackAlreadyGiven.into());
    };
    tx.commit().await?;
    Ok(of_row(store::feedback::FeedbackRow { id, ..row }))
}

/// The tickets of the passenger that already have feedback.
pub async fn given(app: &App, phone: &PhoneNumber) -> Result<Vec<i64>, ServiceError> {
    let mut conn = app.store.reader().await?;
    Ok(store::feedback::given_for_phone(&mut conn, phone.as_e164()).await?)
}

/// A carrier's feedback (all carriers' with `None`), newest first, ids below `before_id`.
pub async fn for_carrier(
    app: &App,
    carrier: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Feedback>, ServiceError> {
    let limit = limit.clamp(1, PAGE_MAX);
    let mut conn = app.store.reader().await?;
    let rows = store::feedback::for_carrier(&mut conn, carrier, before_id, limit).await?;
    Ok(rows.into_iter().map(of_row).collect())
}

fn of_row(r: store::feedback::FeedbackRow) -> Feedback {
    let rating = |v: i64| u8::try_from(v).unwrap_or(RATING_MIN);
    Feedback {
        id: r.id,
        ticket_number: r.ticket_number,
        carrier_id: r.carrier_id,
        city_id: r.city_id,
        route_id: r.route_id,
        route_number: r.route_number,
        transport_code: r.transport_code,
        service_rating: rating(r.service_rating),
        vehicle_rating: rating(r.vehicle_rating),
        category: r.category,
        comment: r.comment,
        created_at_ms: r.created_at_ms,
    }
}
