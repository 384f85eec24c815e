//! Controllers' checks of tickets. The same ticket seen in two vehicles is a shared screenshot.

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InspectionRow {
    pub ticket_number: Option<i64>,
    pub transport_code: String,
    pub inspector: String,
    pub result: String,
    pub flagged: bool,
    pub checked_at_ms: i64,
}

pub async fn insert(conn: &mut dyn Executor, i: &InspectionRow) -> Result<()> {
    query(
        "INSERT INTO inspections (ticket_number, transport_code, inspector, result, flagged, checked_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(i.ticket_number)
    .bind(&i.transport_code)
    .bind(&i.inspector)
    .bind(&i.result)
    .bind(i64::from(i.flagged))
    .bind(i.checked_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// The vehicles in which this ticket was presented before.
pub async fn vehicles_seen(conn: &mut dyn Executor, ticket_number: i64) -> Result<Vec<String>> {
    query("SELECT DISTINCT transport_code FROM inspections WHERE ticket_number = $1 ORDER BY transport_code")
        .bind(ticket_number)
        .try_map(|r: Row| r.try_get(0))
        .fetch_all(conn)
        .await
}
