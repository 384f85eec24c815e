//! Passengers known by phone number: their reply language and rider category.

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassengerRow {
    pub phone: String,
    pub language: String,
    pub rider_category: String,
    pub created_at_ms: i64,
}

pub async fn get(conn: &mut dyn Executor, phone: &str) -> Result<Option<PassengerRow>> {
    query("SELECT phone, language, rider_category, created_at_ms FROM passengers WHERE phone = $1")
        .bind(phone)
        .try_map(|r: Row| {
            Ok(PassengerRow {
                phone: r.try_get(0)?,
                language: r.try_get(1)?,
                rider_category: r.try_get(2)?,
                created_at_ms: r.try_get(3)?,
            })
        })
        .fetch_optional(conn)
        .await
}

pub async fn set_language(
    conn: &mut dyn Executor,
    phone: &str,
    language: &str,
    now_ms: i64,
) -> Result<()> {
    query(
        "INSERT INTO passengers (phone, language, rider_category, created_at_ms) VALUES ($1, $2, 'regular', $3) \
         ON CONFLICT (phone) DO UPDATE SET language = excluded.language",
    )
    .bind(phone)
    .bind(language)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_rider_category(
    conn: &mut dyn Executor,
    phone: &str,
    category: &str,
    language: &str,
    now_ms: i64,
) -> Result<()> {
    query(
        "INSERT INTO passengers (phone, language, rider_category, created_at_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (phone) DO UPDATE SET rider_category = excluded.rider_category",
    )
    .bind(phone)
    .bind(language)
    .bind(category)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}
