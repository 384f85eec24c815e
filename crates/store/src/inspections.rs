//! Controllers' checks of tickets, each recorded with whether (and why) it flagged the ticket
//! as shared. The sharing rules are the service's (`service::inspect`); this module answers
//! what they ask: where and by whom a ticket was shown, and what a device checked in between.

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InspectionRow {
    pub ticket_number: Option<i64>,
    pub transport_code: String,
    pub inspector: String,
    pub result: String,
    pub flagged: bool,
    /// Why it was flagged; `None` when it was not.
    pub flag_reason: Option<String>,
    pub checked_at_ms: i64,
}

pub async fn insert(conn: &mut dyn Executor, i: &InspectionRow) -> Result<()> {
    query(
        "INSERT INTO inspections (ticket_number, transport_code, inspector, result, flagged, flag_reason, checked_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(i.ticket_number)
    .bind(&i.transport_code)
    .bind(&i.inspector)
    .bind(&i.result)
    .bind(i64::from(i.flagged))
    .bind(i.flag_reason.as_deref())
    .bind(i.checked_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// One earlier showing of a ticket to a controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presentation {
    /// The inspection's id: later inspections have larger ones.
    pub id: i64,
    pub transport_code: String,
    pub inspector: String,
    pub result: String,
    pub flag_reason: Option<String>,
    pub checked_at_ms: i64,
}

/// The showings of a ticket at or after `since_ms`, oldest first.
pub async fn presentations(
    conn: &mut dyn Executor,
    ticket_number: i64,
    since_ms: i64,
) -> Result<Vec<Presentation>> {
    query(
        "SELECT id, transport_code, inspector, result, flag_reason, checked_at_ms FROM inspections \
         WHERE ticket_number = $1 AND checked_at_ms >= $2 ORDER BY checked_at_ms, id",
    )
    .bind(ticket_number)
    .bind(since_ms)
    .try_map(|r: Row| {
        Ok(Presentation {
            id: r.try_get(0)?,
            transport_code: r.try_get(1)?,
            inspector: r.try_get(2)?,
            result: r.try_get(3)?,
            flag_reason: r.try_get(4)?,
            checked_at_ms: r.try_get(5)?,
        })
    })
    .fetch_all(conn)
    .await
}

/// Whether `inspector` checked anything but ticket `ticket_number` (another ticket, or a code
/// that did not read) after the inspection `after_id`: the controller had moved on to someone
/// else.
pub async fn checked_other_since(
    conn: &mut dyn Executor,
    inspector: &str,
    ticket_number: i64,
    after_id: i64,
) -> Result<bool> {
    let row = query(
        "SELECT 1 FROM inspections WHERE inspector = $1 AND id > $2 \
         AND (ticket_number IS NULL OR ticket_number <> $3) LIMIT 1",
    )
    .bind(inspector)
    .bind(after_id)
    .bind(ticket_number)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}
