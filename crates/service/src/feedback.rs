//! Passengers' feedback on a ride they paid: the service and the vehicle rated 1–5, a category
//! for a complaint and a comment. It reaches the carrier of the ride's vehicle at once: the
//! carrier reads its feedback, newest first ([`for_carrier`]), replies to the passenger by SMS
//! in the passenger's language ([`reply`]) and moves it through `new → in_work → resolved`
//! ([`set_status`]); each reply and status change is audited in its own transaction.

use domain::ticket::TicketNumber;
use domain::{ErrorCode, Language, PhoneNumber};

use crate::staff::Actor;
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

/// How far the carrier got with a feedback.
pub const STATUSES: &[&str] = &["new", "in_work", "resolved"];
/// A reply is at most this many characters (three SMS parts in Cyrillic).
pub const REPLY_CHARS_MAX: usize = 300;

#[derive(Clone, Debug)]
pub struct NewFeedback {
    pub ticket_number: TicketNumber,
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
    pub ticket_number: TicketNumber,
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
    pub status: String,
    /// The carrier's replies, oldest first.
    pub replies: Vec<Reply>,
}

/// A reply the carrier sent the passenger by SMS.
#[derive(Clone, Debug)]
pub struct Reply {
    pub author: String,
    pub text: String,
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
        .ok_or_else(|| {
            ServiceError::internal(format!("ticket {} has no ride", ticket.number.value()))
        })?;
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
        status: "new".into(),
    };
    let Some(id) = store::feedback::insert(&mut tx, &row).await? else {
        return Err(ErrorCode::FeedbackAlreadyGiven.into());
    };
    tx.commit().await?;
    Ok(of_row(store::feedback::FeedbackRow { id, ..row }))
}

/// The tickets of the passenger that already have feedback.
pub async fn given(app: &App, phone: &PhoneNumber) -> Result<Vec<TicketNumber>, ServiceError> {
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
    let mut list: Vec<Feedback> = rows.into_iter().map(of_row).collect();
    if let (Some(newest), Some(oldest)) = (list.first().map(|f| f.id), list.last().map(|f| f.id)) {
        let replies = store::feedback::replies_between(&mut conn, carrier, oldest, newest).await?;
        for reply in replies {
            if let Some(f) = list.iter_mut().find(|f| f.id == reply.feedback_id) {
                f.replies.push(Reply {
                    author: reply.author,
                    text: reply.text,
                    created_at_ms: reply.created_at_ms,
                });
            }
        }
    }
    Ok(list)
}

/// The head of the SMS that carries a carrier's reply, in the passenger's language.
const REPLY_HEAD: domain::messages::Text = domain::messages::Text {
    kk: "SMSBUS: тасымалдаушының №{n} билет бойынша пікіріңізге жауабы:",
    ru: "SMSBUS: ответ перевозчика на ваш отзыв о поездке по билету №{n}:",
    en: "SMSBUS: the carrier's answer to your feedback on ticket No. {n}:",
};

/// The feedback `id` of `carrier`, for a change by `actor` (another carrier's is not found).
async fn of_carrier(
    conn: &mut dyn store::Executor,
    actor: &Actor,
    carrier: &str,
    id: i64,
) -> Result<store::feedback::FeedbackRow, ServiceError> {
    actor.require_carrier(carrier)?;
    store::feedback::by_id(conn, id)
        .await?
        .filter(|f| f.carrier_id == carrier)
        .ok_or_else(|| ErrorCode::NotFound.into())
}

/// Sends the passenger `text` by SMS (headed in their language) and keeps it with the
/// feedback; a feedback still `new` moves to `in_work`. One audit entry.
pub async fn reply(
    app: &App,
    actor: &Actor,
    carrier: &str,
    id: i64,
    text: &str,
) -> Result<Feedback, ServiceError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > REPLY_CHARS_MAX {
        return Err(bad(format!("a reply is 1..={REPLY_CHARS_MAX} characters")));
    }
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let row = of_carrier(&mut tx, actor, carrier, id).await?;
    let language = store::passengers::get(&mut tx, &row.phone)
        .await?
        .and_then(|p| Language::from_code(&p.language))
        .unwrap_or_default();
    let head = REPLY_HEAD
        .get(language)
        .replace("{n}", &row.ticket_number.value().to_string());
    store::sms::enqueue(&mut tx, &row.phone, &format!("{head} {text}"), None, now_ms).await?;
    store::feedback::insert_reply(
        &mut tx,
        &store::feedback::ReplyRow {
            id: 0,
            feedback_id: id,
            author: actor.name.clone(),
            text: text.to_owned(),
            created_at_ms: now_ms,
        },
    )
    .await?;
    let status = if row.status == "new" {
        store::feedback::set_status(&mut tx, id, "new", "in_work", now_ms).await?;
        "in_work"
    } else {
        row.status.as_str()
    };
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "feedback.reply",
            object: &format!("feedback:{id}"),
            before: &row.status,
            after: &format!(
                "{status}; replied by SMS ({} characters)",
                text.chars().count()
            ),
        },
        now_ms,
    )
    .await?;
    tx.commit().await?;
    one(app, carrier, id).await
}

/// Moves the feedback from `from` (what the caller saw) to `to`; a status someone else changed
/// meanwhile is refused (`FEEDBACK_STATUS_STALE`). One audit entry.
pub async fn set_status(
    app: &App,
    actor: &Actor,
    carrier: &str,
    id: i64,
    to: &str,
) -> Result<Feedback, ServiceError> {
    if !STATUSES.contains(&to) {
        return Err(bad(format!(
            "status must be one of {}",
            STATUSES.join(", ")
        )));
    }
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let row = of_carrier(&mut tx, actor, carrier, id).await?;
    if row.status != to {
        if !store::feedback::set_status(&mut tx, id, &row.status, to, now_ms).await? {
            return Err(ErrorCode::FeedbackStatusStale.into());
        }
        crate::audit::record(
            &mut tx,
            actor,
            &crate::audit::Change {
                action: "feedback.status",
                object: &format!("feedback:{id}"),
                before: &row.status,
                after: to,
            },
            now_ms,
        )
        .await?;
    }
    tx.commit().await?;
    one(app, carrier, id).await
}

async fn one(app: &App, carrier: &str, id: i64) -> Result<Feedback, ServiceError> {
    for_carrier(app, Some(carrier), Some(id + 1), 1)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or_else(|| ErrorCode::NotFound.into())
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
        status: r.status,
        replies: Vec::new(),
    }
}
