//! Passengers' feedback on their rides, one per ticket, read by the carrier of the vehicle.

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedbackRow {
    /// Given by the database; ignored on insert.
    pub id: i64,
    pub ticket_number: i64,
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
}

const COLUMNS: &str = "id, ticket_number, phone, carrier_id, city_id, route_id, route_number, transport_code, \
     service_rating, vehicle_rating, category, comment, created_at_ms";

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
pub async fn given_for_phone(conn: &mut dyn Executor, phone: &str) -> Result<Vec<i64>> {
    query("SELECT ticket_number FROM feedback WHERE phone = $1 ORDER BY ticket_number")
        .bind(phone)
        .try_map(|r: Row| r.try_get::<i64>(0))
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
