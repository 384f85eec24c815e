//! Tickets taken out of use before their time, and the list controllers keep to refuse them
//! offline. The system operator revokes a ticket (fraud, a sale made in error); the live signal
//! ends a ticket when its bus reaches the final stop. Both set the ticket's invalidation time,
//! and controllers page through invalidations after the last one they have, so a device that
//! was offline catches up with one request. A revocation takes the fare back: it books the
//! reversal of the ride's posted transfer, so the carrier is no longer owed it.

use domain::ErrorCode;
use domain::ledger::{RidePhase, TransferId};
use domain::ride::RideId;
use domain::ticket::TicketNumber;
use store::tickets::Invalidation;

use crate::{App, ServiceError};

/// A revocation's reason is at most this long.
pub const REASON_CHARS_MAX: usize = 500;
/// A page of invalidations holds at most this many.
pub const PAGE_MAX: i64 = 1_000;
/// The cursor moves only past invalidations this old. Every transaction stamped earlier has
/// committed by then, so a cursor never passes an invalidation that was still being written
/// (two in the same millisecond, or committed out of order on PostgreSQL). Younger ones are
/// listed at once all the same, and again from the next cursor: refusing a ticket twice is
/// harmless, missing one is not.
pub const SETTLE_MS: i64 = 2_000;

/// A ticket just revoked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    pub number: i64,
    pub check_number: String,
}

/// Revokes a valid ticket by its check number (`DDDD-DDDD-DDDC`, spaces and hyphens optional).
pub async fn revoke(app: &App, check_number: &str, reason: &str) -> Result<Revoked, ServiceError> {
    let number = TicketNumber::parse_check_form(check_number).map_err(|e| {
        ServiceError::new(
            ErrorCode::BadRequest,
            format!("check number `{check_number}`: {e}"),
        )
    })?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > REASON_CHARS_MAX {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            format!("a reason of 1..={REASON_CHARS_MAX} characters is required"),
        ));
    }
    let value = i64::try_from(number.value())
        .map_err(|_| ServiceError::new(ErrorCode::BadRequest, "check number out of range"))?;
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let Some(ticket) = store::tickets::by_number(&mut tx, value).await? else {
        return Err(ServiceError::new(
            ErrorCode::NotFound,
            format!("ticket {number}"),
        ));
    };
    if !store::tickets::invalidate(&mut tx, value, "revoked", reason, now_ms).await? {
        return Err(ServiceError::new(
            ErrorCode::TicketNotValid,
            format!("ticket {number}"),
        ));
    }
    // The fare is no longer owed to the carrier: the ride's posted transfer is reversed in the
    // same transaction as the revocation.
    let ride = RideId::parse(&ticket.ride_id).map_err(|e| ServiceError::internal(e.to_string()))?;
    let post = TransferId::of_ride(&ride, RidePhase::Post);
    let reversal = TransferId::of_ride(&ride, RidePhase::Reversal);
    if !crate::ledger::reverse(&mut tx, &post, reversal, Some(ride), now_ms).await? {
        return Err(ServiceError::internal(format!(
            "ticket {number} has no posted fare to reverse"
        )));
    }
    tx.commit().await?;
    tracing::info!(ticket = %number, reason, "ticket revoked");
    Ok(Revoked {
        number: value,
        check_number: number.check_form(),
    })
}

/// Where a controller's list stands: after this invalidation time and ticket number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub at_ms: i64,
    pub number: i64,
}

impl Cursor {
    /// `<ms>.<number>`, as [`Cursor::render`] writes it.
    pub fn parse(text: &str) -> Result<Cursor, ServiceError> {
        let bad = || ServiceError::new(ErrorCode::BadRequest, format!("cursor `{text}`"));
        let (at, number) = text.split_once('.').ok_or_else(bad)?;
        Ok(Cursor {
            at_ms: at.parse().map_err(|_| bad())?,
            number: number.parse().map_err(|_| bad())?,
        })
    }

    pub fn render(&self) -> String {
        format!("{}.{}", self.at_ms, self.number)
    }
}

/// One page of invalidations after `after` (from the start when `None`), of tickets that would
/// otherwise still be valid now, and the cursor to ask from next time.
pub async fn after(
    app: &App,
    after: Option<Cursor>,
    limit: i64,
) -> Result<(Vec<Invalidation>, Cursor), ServiceError> {
    let after = after.unwrap_or_default();
    let limit = limit.clamp(1, PAGE_MAX);
    let now_ms = app.now_ms();
    let mut conn = app.store.reader().await?;
    let page =
        store::tickets::invalidations_after(&mut conn, (after.at_ms, after.number), now_ms, limit)
            .await?;
    let settled_before_ms = now_ms - SETTLE_MS;
    let next = page
        .iter()
        .rev()
        .find(|i| i.invalidated_at_ms <= settled_before_ms)
        .map_or(after, |last| Cursor {
            at_ms: last.invalidated_at_ms,
            number: last.number,
        });
    Ok((page, next))
}
