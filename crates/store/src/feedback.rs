//! Passengers' feedback on their rides, one per ticket, read by the carrier of the vehicle.

use domain::ticket::TicketNumber;

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedbackRow {
    /// Given by the database; ignored on insert.
    pub id: i64,
    pub ticket_number: TicketNumber,
    pub phone: String,
    pub carrier_id: String,
    pub city_id: String,
    pub route_id: String,
    pub route_number: String,
    pub transport_code: String,
    pub service_rating: i64,
    pub vehicle_rating: i64,
    pub category: Option<String>,
    pub comment: String,
    pub created_at_ms: i64,
    /// `new`, `in_work` or `resolved` (`new` on insert).
    pub status: String,
}

const COLUMNS: &str = "id, ticket_number, phone, carrier_id, city_id, route_id, route_number, transport_code, \
     service_rating, vehicle_rating, category, comment, created_at_ms, status";

fn row(r: Row) -> Result<FeedbackRow> {
    Ok(FeedbackRow {
        id: r.try_get(0)?,
        ticket_number: r.try_get(1)?,
        phone: r.try_get(2)?,
        carrier_id: r.try_get(3)?,
        city_id: r.try_get(4)?,
        route_id: r.try_get(5)?,
        route_number: r.try_get(6)?,
        transport_code: r.try_get(7)?,
        service_rating: r.try_get(8)?,
        vehicle_rating: r.try_get(9)?,
        category: r.try_get(10)?,
        comment: r.try_get(11)?,
        created_at_ms: r.try_get(12)?,
        status: r.try_get(13)?,
    })
}

/// Stores the feedback; `None` when the ticket already has feedback (nothing is written).
pub async fn insert(conn: &mut dyn Executor, f: &FeedbackRow) -> Result<Option<i64>> {
    query(
        "INSERT INTO feedback (ticket_number, phone, carrier_id, city_id, route_id, route_number, transport_code, \
         service_rating, vehicle_rating, category, comment, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (ticket_number) DO NOTHING RETURNING id",
    )
    .bind(f.ticket_number)
    .bind(&f.phone)
    .bind(&f.carrier_id)
    .bind(&f.city_id)
    .bind(&f.route_id)
    .bind(&f.route_number)
    .bind(&f.transport_code)
    .bind(f.service_rating)
    .bind(f.vehicle_rating)
    .bind(f.category.as_deref())
    .bind(&f.comment)
    .bind(f.created_at_ms)
    .try_map(|r: Row| r.try_get::<i64>(0))
    .fetch_optional(conn)
    .await
}

/// The passenger's tickets that already have feedback.
pub async fn given_for_phone(conn: &mut dyn Executor, phone: &str) -> Result<Vec<TicketNumber>> {
    query("SELECT ticket_number FROM feedback WHERE phone = $1 ORDER BY ticket_number")
        .bind(phone)
        .try_map(|r: Row| r.try_get::<TicketNumber>(0))
        .fetch_all(conn)
        .await
}

/// A carrier's feedback (every carrier's when `carrier` is `None`), newest first, with ids
/// below `before_id` when given; at most `limit` rows.
pub async fn for_carrier(
    conn: &mut dyn Executor,
    carrier: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<FeedbackRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM feedback WHERE ($1 IS NULL OR carrier_id = $1) AND id < $2 \
         ORDER BY id DESC LIMIT $3"
    );
    query(&sql)
        .bind(carrier)
        .bind(before_id.unwrap_or(i64::MAX))
        .bind(limit)
        .try_map(row)
        .fetch_all(conn)
        .await
}

/// One feedback by id.
pub async fn by_id(conn: &mut dyn Executor, id: i64) -> Result<Option<FeedbackRow>> {
    let sql = format!("SELECT {COLUMNS} FROM feedback WHERE id = $1");
    query(&sql).bind(id).try_map(row).fetch_optional(conn).await
}

/// Moves the feedback's status from `from` to `to` (compare-and-set): `false` when it was no
/// longer `from`.
pub async fn set_status(
    conn: &mut dyn Executor,
    id: i64,
    from: &str,
    to: &str,
    now_ms: i64,
) -> Result<bool> {
    let done =
        query("UPDATE feedback SET status = $1, updated_at_ms = $2 WHERE id = $3 AND status = $4")
            .bind(to)
            .bind(now_ms)
            .bind(id)
            .bind(from)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// A reply the carrier sent the passenger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyRow {
    pub id: i64,
    pub feedback_id: i64,
    pub author: String,
    pub text: String,
    pub created_at_ms: i64,
}

pub async fn insert_reply(conn: &mut dyn Executor, reply: &ReplyRow) -> Result<i64> {
    query(
        "INSERT INTO feedback_replies (feedback_id, author, text, created_at_ms) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(reply.feedback_id)
    .bind(&reply.author)
    .bind(&reply.text)
    .bind(reply.created_at_ms)
    .try_map(|r: Row| r.try_get::<i64>(0))
    .fetch_one(conn)
    .await
}

/// The replies to the feedback with ids in `from_id..=to_id` of one carrier, oldest first.
pub async fn replies_between(
    conn: &mut dyn Executor,
    carrier: Option<&str>,
    from_id: i64,
    to_id: i64,
) -> Result<Vec<ReplyRow>> {
    query(
        "SELECT r.id, r.feedback_id, r.author, r.text, r.created_at_ms FROM feedback_replies r \
         JOIN feedback f ON f.id = r.feedback_id \
         WHERE ($1 IS NULL OR f.carrier_id = $1) AND r.feedback_id >= $2 AND r.feedback_id <= $3 \
         ORDER BY r.id",
    )
    .bind(carrier)
    .bind(from_id)
    .bind(to_id)
    .try_map(|r: Row| {
        Ok(ReplyRow {
            id: r.try_get(0)?,
            feedback_id: r.try_get(1)?,
            author: r.try_get(2)?,
            text: r.try_get(3)?,
            created_at_ms: r.try_get(4)?,
        })
    })
    .fetch_all(conn)
    .await
}
