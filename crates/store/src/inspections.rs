//! Controllers' checks of tickets, each recorded with whether (and why) it flagged the ticket
//! as shared. The sharing rules are the service's (`service::inspect`); this module answers
//! what they ask: where and by whom a ticket was shown, and what a device checked in between.
//! Checks made on a controller's device and synced later carry the device's id for the check:
//! one row per inspector and device id, so a resent batch records nothing twice.

use domain::ticket::TicketNumber;

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InspectionRow {
    pub ticket_number: Option<TicketNumber>,
    pub transport_code: String,
    pub inspector: String,
    pub result: String,
    pub flagged: bool,
    /// Why it was flagged; `None` when it was not.
    pub flag_reason: Option<String>,
    pub checked_at_ms: i64,
    /// Set on a check synced from a controller's device.
    pub synced: Option<Synced>,
}

/// What a device says of a check it made and syncs later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synced {
    pub device_id: String,
    /// The verdict the device showed (`VALID`, `EXPIRED`…).
    pub device_result: String,
    /// The device had no network when it checked.
    pub offline: bool,
    pub synced_at_ms: i64,
}

/// Records a check; `None` when a check with the same inspector and device id is recorded
/// already (nothing is written then).
pub async fn insert(conn: &mut dyn Executor, i: &InspectionRow) -> Result<Option<i64>> {
    query(
        "INSERT INTO inspections (ticket_number, transport_code, inspector, result, flagged, flag_reason, checked_at_ms, \
         device_id, device_result, offline, synced_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (inspector, device_id) DO NOTHING RETURNING id",
    )
    .bind(i.ticket_number)
    .bind(&i.transport_code)
    .bind(&i.inspector)
    .bind(&i.result)
    .bind(i64::from(i.flagged))
    .bind(i.flag_reason.as_deref())
    .bind(i.checked_at_ms)
    .bind(i.synced.as_ref().map(|s| s.device_id.as_str()))
    .bind(i.synced.as_ref().map(|s| s.device_result.as_str()))
    .bind(i64::from(i.synced.as_ref().is_some_and(|s| s.offline)))
    .bind(i.synced.as_ref().map(|s| s.synced_at_ms))
    .try_map(|r: Row| r.try_get::<i64>(0))
    .fetch_optional(conn)
    .await
}

/// A check synced before, found by its inspector and device id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncedCheck {
    pub ticket_number: Option<TicketNumber>,
    pub transport_code: String,
    pub result: String,
    pub flag_reason: Option<String>,
    pub checked_at_ms: i64,
}

pub async fn by_device_id(
    conn: &mut dyn Executor,
    inspector: &str,
    device_id: &str,
) -> Result<Option<SyncedCheck>> {
    query(
        "SELECT ticket_number, transport_code, result, flag_reason, checked_at_ms FROM inspections \
         WHERE inspector = $1 AND device_id = $2",
    )
    .bind(inspector)
    .bind(device_id)
    .try_map(|r: Row| {
        Ok(SyncedCheck {
            ticket_number: r.try_get(0)?,
            transport_code: r.try_get(1)?,
            result: r.try_get(2)?,
            flag_reason: r.try_get(3)?,
            checked_at_ms: r.try_get(4)?,
        })
    })
    .fetch_optional(conn)
    .await
}

/// One line of an inspector's shift: how many checks had this result and flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShiftCount {
    pub result: String,
    pub flag_reason: Option<String>,
    pub checks: i64,
}

/// The checks `inspector` recorded at or after `since_ms`, counted by result and flag.
pub async fn shift(
    conn: &mut dyn Executor,
    inspector: &str,
    since_ms: i64,
) -> Result<Vec<ShiftCount>> {
    query(
        "SELECT result, flag_reason, COUNT(*) FROM inspections WHERE inspector = $1 AND checked_at_ms >= $2 \
         GROUP BY result, flag_reason ORDER BY result, flag_reason",
    )
    .bind(inspector)
    .bind(since_ms)
    .try_map(|r: Row| {
        Ok(ShiftCount {
            result: r.try_get(0)?,
            flag_reason: r.try_get(1)?,
            checks: r.try_get(2)?,
        })
    })
    .fetch_all(conn)
    .await
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
    ticket_number: TicketNumber,
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
    ticket_number: TicketNumber,
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
