//! Tickets taken out of use before their time, and the list controllers keep to refuse them
//! offline. The system operator revokes a ticket (fraud, a sale made in error); the live signal
//! ends a ticket when its bus reaches the final stop. Both set the ticket's invalidation time,
//! and controllers page through invalidations after the last one they have, so a device that
//! was offline catches up with one request. A revocation takes the fare back: it books the
//! reversal of the ride's posted transfer, so the carrier is no longer owed it.

use domain::ErrorCode;
use domain::ledger::{RidePhase, TransferId};
use domain::ticket::{TicketNumber, TicketStatus};

use crate::paging::PageCursor;
use crate::staff::Actor;
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
    pub number: TicketNumber,
    pub check_number: String,
}

/// A ticket a controller's device must refuse, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalidation {
    pub number: TicketNumber,
    /// `DDDD-DDDD-DDDC`, as printed on the ticket.
    pub check_number: String,
    /// `revoked`, `refunded` or `run_ended` ([`TicketStatus::invalidation_word`]).
    pub why: &'static str,
    pub invalidated_at_ms: i64,
    pub not_after_ms: i64,
}

/// What staff name a ticket by and why: its check number (`DDDD-DDDD-DDDC`, spaces and
/// hyphens optional) as the number, and the reason, trimmed, 1..=[`REASON_CHARS_MAX`]
/// characters. Revocations and refunds read them alike.
pub(crate) fn staff_request<'r>(
    check_number: &str,
    reason: &'r str,
) -> Result<(TicketNumber, &'r str), ServiceError> {
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
    Ok((number, reason))
}

/// Revokes a valid ticket by its check number (`DDDD-DDDD-DDDC`, spaces and hyphens optional),
/// for `actor`.
pub async fn revoke(
    app: &App,
    actor: &Actor,
    check_number: &str,
    reason: &str,
) -> Result<Revoked, ServiceError> {
    let (number, reason) = staff_request(check_number, reason)?;
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let Some(ticket) = store::tickets::by_number(&mut tx, number).await? else {
        return Err(ServiceError::new(
            ErrorCode::NotFound,
            format!("ticket {}", number.check_form()),
        ));
    };
    let status = TicketStatus::parse(&ticket.status)
        .map_err(|e| ServiceError::internal(format!("ticket {}: {e}", number.check_form())))?;
    // The table says whether it may move; `invalidate` moves it only if it is still `valid`,
    // so a concurrent revocation or refund is not overwritten.
    let revoked = TicketStatus::Revoked;
    if !status.can_move_to(revoked)
        || !store::tickets::invalidate(&mut tx, number, revoked.as_str(), reason, now_ms).await?
    {
        return Err(ServiceError::new(
            ErrorCode::TicketNotValid,
            format!("ticket {}", number.check_form()),
        ));
    }
    // The fare is no longer owed to the carrier: the ride's posted transfer is reversed in the
    // same transaction as the revocation.
    let ride = &ticket.ride_id;
    let post = TransferId::of_ride(ride, RidePhase::Post);
    let reversal = TransferId::of_ride(ride, RidePhase::Reversal);
    if !crate::ledger::reverse(&mut tx, &post, reversal, Some(ride.clone()), now_ms).await? {
        return Err(ServiceError::internal(format!(
            "ticket {} has no posted fare to reverse",
            number.check_form()
        )));
    }
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "ticket.revoke",
            object: &format!("ticket:{}", number.value()),
            before: status.as_str(),
            after: &format!("{} ({reason})", revoked.as_str()),
        },
        now_ms,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(ticket = %number.check_form(), reason, ?actor, "ticket revoked");
    Ok(Revoked {
        number,
        check_number: number.check_form(),
    })
}

/// One page of invalidations after `after` (from the start when `None`), of tickets that would
/// otherwise still be valid now, and the cursor to ask from next time.
pub async fn after(
    app: &App,
    after: Option<PageCursor>,
    limit: i64,
) -> Result<(Vec<Invalidation>, PageCursor), ServiceError> {
    let after = after.unwrap_or(PageCursor::START);
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
        .map_or(after, |last| PageCursor {
            at_ms: last.invalidated_at_ms,
            number: last.number,
        });
    let page = page
        .into_iter()
        .map(|i| {
            let status = TicketStatus::parse(&i.status)
                .map_err(|e| ServiceError::internal(format!("ticket {}: {e}", i.number.value())))?;
            Ok(Invalidation {
                number: i.number,
                check_number: i.number.check_form(),
                why: status.invalidation_word(i.ended),
                invalidated_at_ms: i.invalidated_at_ms,
                not_after_ms: i.not_after_ms,
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    Ok((page, next))
}
