//! A controller's device checks tickets on its own (often without network) and syncs its
//! queue later: each check comes with the id the device gave it, the vehicle, when it was
//! shown, the verdict the device showed and whether it was offline. The server checks each
//! ticket again as of when it was shown, records it once per inspector and device id (a resent
//! batch records nothing twice and gets the first answers back), and answers with its verdict
//! and the flags its showings make with everyone else's.
//!
//! Also the shift summary: what an inspector's checks found since the shift began.

use domain::{ErrorCode, TransportCode};

use super::{FlagReason, Inspection, Moment, Verdict, check};
use crate::staff::Actor;
use crate::{App, ServiceError};

/// A sync carries at most this many checks; a longer queue is sent in several.
pub const SYNC_BATCH_MAX: usize = 100;
/// A device id is 1 to this many characters of `A–Z a–z 0–9 - _`.
pub const DEVICE_ID_CHARS_MAX: usize = 64;
/// A check shown longer ago than this is not recorded: every ticket it could be about has
/// long ended, and no flag could come of it.
pub const SYNC_AGE_S_MAX: i64 = 7 * 24 * 60 * 60;
/// A shift summary reaches back at most this far.
pub const SHIFT_S_MAX: i64 = 24 * 60 * 60;

/// One check from a device's queue, as sent.
#[derive(Clone, Debug)]
pub struct SyncItem {
    pub device_id: String,
    pub token: String,
    pub transport_code: String,
    /// When the ticket was shown, by the device's clock (unix ms).
    pub scanned_at_ms: i64,
    /// The verdict the device showed (`VALID`, `EXPIRED`, `RUN_ENDED`…).
    pub device_result: String,
    pub offline: bool,
}

/// What became of one check of a sync.
#[derive(Debug)]
pub enum SyncOutcome {
    /// Checked and recorded now.
    Recorded(Box<Inspection>),
    /// Recorded by an earlier sync: its verdict and flag as then recorded.
    AlreadyRecorded {
        verdict: String,
        flag_reason: Option<FlagReason>,
    },
    /// Not recorded, and why (a vehicle code that is not one, a time out of range…).
    Refused(ServiceError),
}

/// The verdict a device reports of its own, beside the server's ([`super::Verdict`]): the
/// ticket's run ended (from the invalidation list).
pub const DEVICE_RUN_ENDED: &str = "RUN_ENDED";

/// The verdicts a device may report: the server's and [`DEVICE_RUN_ENDED`].
pub fn device_results() -> Vec<&'static str> {
    let mut results = super::Verdict::codes();
    results.push(DEVICE_RUN_ENDED);
    results
}

/// Checks and records a device's queue in order, one outcome per item. The caller has checked
/// that the actor reaches every vehicle named (`Actor::require_vehicle`).
pub async fn sync(
    app: &App,
    actor: &Actor,
    items: &[SyncItem],
) -> Result<Vec<SyncOutcome>, ServiceError> {
    if items.is_empty() || items.len() > SYNC_BATCH_MAX {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            format!("a sync carries 1 to {SYNC_BATCH_MAX} checks"),
        ));
    }
    // A malformed item is a broken device, not a check to judge: the whole batch is refused.
    for item in items {
        well_formed(item)?;
    }
    let mut outcomes = Vec::with_capacity(items.len());
    for item in items {
        let outcome = match one(app, actor, item).await {
            Ok(outcome) => outcome,
            Err(error) if error.code.http_status() >= 500 => return Err(error),
            Err(error) => SyncOutcome::Refused(error),
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// The item's shape as the API documents it: its id, its verdict, its transport code.
fn well_formed(item: &SyncItem) -> Result<(), ServiceError> {
    let id_ok = (1..=DEVICE_ID_CHARS_MAX).contains(&item.device_id.len())
        && item
            .device_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            format!("a device id is 1 to {DEVICE_ID_CHARS_MAX} characters of A-Z a-z 0-9 - _"),
        ));
    }
    if !device_results().contains(&item.device_result.as_str()) {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            format!("device_result {} is not a verdict", item.device_result),
        ));
    }
    TransportCode::parse(&item.transport_code)
        .map_err(|e| ServiceError::new(ErrorCode::TransportCodeMalformed, format!("{e}")))?;
    Ok(())
}

async fn one(app: &App, actor: &Actor, item: &SyncItem) -> Result<SyncOutcome, ServiceError> {
    let now_ms = app.now_ms();
    let skew_ms = i64::try_from(domain::ticket::CLOCK_SKEW_S_MAX).unwrap_or(0) * 1000;
    if item.scanned_at_ms > now_ms.saturating_add(skew_ms)
        || item.scanned_at_ms < now_ms.saturating_sub(SYNC_AGE_S_MAX * 1000)
    {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            format!("scanned_at_ms must be within the last {SYNC_AGE_S_MAX} s"),
        ));
    }
    let vehicle = TransportCode::parse(&item.transport_code)
        .map_err(|e| ServiceError::new(ErrorCode::TransportCodeMalformed, format!("{e}")))?;
    if let Some(done) = earlier_sync(app, &actor.name, &item.device_id).await? {
        return Ok(done);
    }
    let moment = Moment {
        // A device clock a little ahead is taken as now.
        at_ms: item.scanned_at_ms.min(now_ms),
        synced: Some(store::inspections::Synced {
            device_id: item.device_id.clone(),
            device_result: item.device_result.clone(),
            offline: item.offline,
            synced_at_ms: now_ms,
        }),
    };
    let inspection = check(app, &item.token, &vehicle, &actor.name, None, moment).await?;
    if inspection.recorded {
        return Ok(SyncOutcome::Recorded(Box::new(inspection)));
    }
    // The same batch sent twice at once: the other send recorded it first.
    Ok(earlier_sync(app, &actor.name, &item.device_id)
        .await?
        .unwrap_or_else(|| SyncOutcome::Recorded(Box::new(inspection))))
}

async fn earlier_sync(
    app: &App,
    inspector: &str,
    device_id: &str,
) -> Result<Option<SyncOutcome>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let found = store::inspections::by_device_id(&mut conn, inspector, device_id).await?;
    Ok(found.map(|row| SyncOutcome::AlreadyRecorded {
        verdict: row.result,
        flag_reason: row.flag_reason.as_deref().and_then(FlagReason::parse),
    }))
}

/// What an inspector's checks found since `since_ms`: all checks, those not valid by verdict,
/// and those flagged by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shift {
    pub since_ms: i64,
    pub checked: i64,
    pub invalid_by_verdict: Vec<(String, i64)>,
    pub flagged_by_reason: Vec<(String, i64)>,
}

pub async fn shift(app: &App, actor: &Actor, since_ms: i64) -> Result<Shift, ServiceError> {
    let now_ms = app.now_ms();
    if since_ms > now_ms || since_ms < now_ms.saturating_sub(SHIFT_S_MAX * 1000) {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            format!("a shift began within the last {SHIFT_S_MAX} s"),
        ));
    }
    let counts = {
        let mut conn = app.store.reader().await?;
        store::inspections::shift(&mut conn, &actor.name, since_ms).await?
    };
    let mut shift = Shift {
        since_ms,
        ..Shift::default()
    };
    for count in counts {
        shift.checked += count.checks;
        if count.result != Verdict::Valid.code() {
            add(&mut shift.invalid_by_verdict, &count.result, count.checks);
        }
        if let Some(reason) = &count.flag_reason {
            add(&mut shift.flagged_by_reason, reason, count.checks);
        }
    }
    Ok(shift)
}

fn add(counts: &mut Vec<(String, i64)>, key: &str, n: i64) {
    match counts.iter_mut().find(|(k, _)| k == key) {
        Some((_, total)) => *total += n,
        None => counts.push((key.to_owned(), n)),
    }
}

/// A vehicle a controller may inspect, as its device keeps it to choose by code or plate
/// offline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InspectedVehicle {
    pub transport_code: String,
    /// As printed (`101 ABC 01`).
    pub plate: String,
    /// Folded for matching what a controller types (`101ABC01`).
    pub plate_folded: String,
    pub city: String,
    pub timezone: String,
    pub route_number: String,
    pub carrier: String,
}

/// The active vehicles of the catalogue the actor reaches (its cities or carriers).
pub fn vehicles(app: &App, actor: &Actor) -> Vec<InspectedVehicle> {
    let catalogue = app.catalogue();
    catalogue
        .vehicles
        .values()
        .filter(|v| v.active)
        .filter_map(|v| {
            let route = catalogue.routes.get(&v.route)?;
            let city = catalogue.cities.get(&route.city)?;
            actor
                .scope
                .reaches_vehicle(actor.role, route.city.as_str(), v.carrier.as_str())
                .then(|| InspectedVehicle {
                    transport_code: v.code.as_str().to_owned(),
                    plate: v.plate.display(),
                    plate_folded: v.plate.as_str().to_owned(),
                    city: route.city.as_str().to_owned(),
                    timezone: city.timezone.clone(),
                    route_number: route.number.clone(),
                    carrier: v.carrier.as_str().to_owned(),
                })
        })
        .collect()
}
