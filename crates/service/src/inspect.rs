//! A controller checks a ticket: the pure offline verification of the token against the
//! published keys, then what only the server knows (refunds, revocations, the run's end, the
//! holder: the number or card that paid), and a record of the inspection.
//!
//! **Sharing.** A ticket is flagged as shared (a hint to look closer; the verdict is unchanged)
//! only on what sharing looks like, counting only showings within the ticket's validity:
//!
//! - [`FlagReason::ShownInTwoVehicles`]: the ticket is shown in a vehicle other than its own
//!   *after* it was shown in its own (the buyer rides on while a copy travels), or in two
//!   vehicles that are both not its own. A ticket shown in a wrong bus with no showing in its
//!   own before is only `WRONG_VEHICLE`: a passenger who boarded the wrong bus looks exactly
//!   like that, so the later check in the right bus is not flagged either.
//! - [`FlagReason::ShownTwiceInVehicle`]: shown again in the same vehicle within one inspection
//!   round ([`INSPECTION_ROUND_S`] since the earlier showing), either to another controller
//!   device, or to the same device after it checked someone else's ticket in between (a phone
//!   passed back along the bus). The same device checking the same ticket again with nothing
//!   in between is a re-scan, not a second passenger.
//!
//! Once a showing is flagged, later checks of the ticket within its validity say so too, with
//! the earlier showing that explains it.
//!
//! A check made offline on a controller's device is synced later ([`sync`]) and judged as of
//! when it was shown, among the showings before and after it, by whichever controller.

use domain::ticket::{
    Holder, HolderCheck, HolderKind, Rejection, TicketNumber, TicketStatus, authenticate,
};
use domain::{ErrorCode, Tenge, TransportCode};
use store::inspections::Presentation;

use crate::metrics::Metrics;
use crate::{App, ServiceError};

/// An inspection round in one vehicle: a showing of the same ticket in the same vehicle within
/// this long after an earlier one is the same round (a controller's pass through a bus).
pub const INSPECTION_ROUND_S: i64 = 20 * 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Expired,
    Forged,
    WrongVehicle,
    Revoked,
    /// The fare was paid back (a refund).
    Refunded,
    UnknownKey,
    Malformed,
}

impl Verdict {
    pub const ALL: [Verdict; 8] = [
        Verdict::Valid,
        Verdict::Expired,
        Verdict::Forged,
        Verdict::WrongVehicle,
        Verdict::Revoked,
        Verdict::Refunded,
        Verdict::UnknownKey,
        Verdict::Malformed,
    ];

    /// Every verdict's code, as [`Verdict::ALL`] lists them.
    pub fn codes() -> Vec<&'static str> {
        Verdict::ALL.iter().map(|v| v.code()).collect()
    }

    pub fn code(self) -> &'static str {
        match self {
            Verdict::Valid => "VALID",
            Verdict::Expired => "EXPIRED",
            Verdict::Forged => "FORGED",
            Verdict::WrongVehicle => "WRONG_VEHICLE",
            Verdict::Revoked => "REVOKED",
            Verdict::Refunded => "REFUNDED",
            Verdict::UnknownKey => "UNKNOWN_KEY",
            Verdict::Malformed => "MALFORMED",
        }
    }

    fn of(rejection: Rejection) -> Verdict {
        match rejection {
            Rejection::Malformed => Verdict::Malformed,
            Rejection::UnknownKey => Verdict::UnknownKey,
            Rejection::Forged => Verdict::Forged,
            Rejection::Expired => Verdict::Expired,
            Rejection::WrongVehicle => Verdict::WrongVehicle,
        }
    }
}

/// Why a ticket is flagged as shared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagReason {
    ShownInTwoVehicles,
    ShownTwiceInVehicle,
}

impl FlagReason {
    pub fn code(self) -> &'static str {
        match self {
            FlagReason::ShownInTwoVehicles => "SHOWN_IN_TWO_VEHICLES",
            FlagReason::ShownTwiceInVehicle => "SHOWN_TWICE_IN_VEHICLE",
        }
    }

    fn parse(code: &str) -> Option<FlagReason> {
        [
            FlagReason::ShownInTwoVehicles,
            FlagReason::ShownTwiceInVehicle,
        ]
        .into_iter()
        .find(|reason| reason.code() == code)
    }
}

/// What the controller's screen shows about the ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketFacts {
    pub check_number: String,
    pub city: String,
    pub route_number: String,
    pub vehicle: String,
    pub plate: String,
    pub fare: Tenge,
    pub rider_category: String,
    pub bought_at_ms: i64,
    pub valid_until_ms: i64,
    /// The ticket's city's offset from UTC, for showing its times as local times.
    pub utc_offset_minutes: i32,
    /// The destination zone of a zone fare.
    pub zone: Option<u8>,
    /// What the ticket is bound to, so what to ask a passenger in doubt for.
    pub holder_kind: HolderKind,
}

/// An earlier showing of the ticket that explains a flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EarlierShowing {
    pub vehicle: String,
    pub inspector: String,
    pub verdict: String,
    pub checked_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    pub verdict: Verdict,
    pub ticket: Option<TicketFacts>,
    /// Looks shared: see the module's rules.
    pub flagged_shared: bool,
    pub flag_reason: Option<FlagReason>,
    /// The showing that, with this one, makes the flag.
    pub flagged_because_of: Option<EarlierShowing>,
    /// The vehicles the ticket was shown in within its validity, this one included.
    pub seen_in_vehicles: Vec<String>,
    /// Whether the ticket belongs to the number or card the passenger told, when one was given.
    pub holder: HolderCheck,
    /// False when a check with the same device id was recorded already (a resent sync
    /// racing its first send): nothing was written.
    pub recorded: bool,
}

pub const INSPECTOR_CHARS_MAX: usize = 64;

mod sync;
pub use sync::{
    DEVICE_ID_CHARS_MAX, DEVICE_RUN_ENDED, InspectedVehicle, SYNC_AGE_S_MAX, SYNC_BATCH_MAX, Shift,
    SyncItem, SyncOutcome, device_results, shift, sync, vehicles,
};

/// The holder a passenger tells a controller, as the controller typed it: a phone number or a
/// transport card's number, at most one (the ticket's kind says which to ask for).
pub fn told_holder(
    phone: Option<&str>,
    card: Option<&str>,
) -> Result<Option<Holder>, ServiceError> {
    match (phone, card) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(ServiceError::new(
            ErrorCode::BadRequest,
            "give the holder's phone or card, not both",
        )),
        (Some(phone), None) => domain::PhoneNumber::parse(phone)
            .map(|phone| Some(Holder::Phone(phone)))
            .map_err(|e| ServiceError::new(ErrorCode::PhoneMalformed, e.to_string())),
        (None, Some(card)) => crate::cards::parse_number(card).map(|card| Some(Holder::Card(card))),
    }
}

pub async fn inspect(
    app: &App,
    token: &str,
    vehicle: &TransportCode,
    inspector: &str,
    holder: Option<&Holder>,
) -> Result<Inspection, ServiceError> {
    let moment = Moment {
        at_ms: app.now_ms(),
        synced: None,
    };
    check(app, token, vehicle, inspector, holder, moment).await
}

/// When a ticket was shown, and for a check synced from a device, what the device said.
pub(crate) struct Moment {
    pub at_ms: i64,
    pub synced: Option<store::inspections::Synced>,
}

/// Checks `token` as shown at `moment` and records the showing (once per device id).
pub(crate) async fn check(
    app: &App,
    token: &str,
    vehicle: &TransportCode,
    inspector: &str,
    told: Option<&Holder>,
    moment: Moment,
) -> Result<Inspection, ServiceError> {
    if inspector.is_empty() || inspector.chars().count() > INSPECTOR_CHARS_MAX {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            "inspector is 1..=64 characters",
        ));
    }
    if !app.catalogue().vehicles.contains_key(vehicle) {
        // A mistyped vehicle must not mark a genuine ticket as shared.
        return Err(ServiceError::new(
            ErrorCode::TransportCodeUnknown,
            format!("vehicle {vehicle}"),
        ));
    }
    Metrics::add(&app.metrics.inspections);
    let keys = crate::keys::key_list(app).await?;
    let now_ms = moment.at_ms;
    let now_s = u64::try_from(now_ms / 1000).unwrap_or(0);
    let verified = match authenticate(token.trim(), &keys) {
        Ok(verified) => verified,
        Err(rejection) => {
            let checked = Checked {
                verdict: Verdict::of(rejection),
                holder: HolderCheck::NotChecked,
                facts: None,
                own_vehicle: None,
            };
            return record(app, None, vehicle, inspector, checked, moment).await;
        }
    };
    let claims = verified.claims();
    let number = claims.number;
    let catalogue = app.catalogue();
    let plate = catalogue
        .vehicles
        .get(&claims.vehicle)
        .map(|v| v.plate.display())
        .unwrap_or_default();
    let utc_offset_minutes = domain::catalogue::CityId::parse(claims.city.as_str())
        .ok()
        .and_then(|id| catalogue.cities.get(&id).map(|c| c.utc_offset_minutes))
        .unwrap_or(crate::catalogue::FALLBACK_UTC_OFFSET_MINUTES);
    let stored = {
        let mut conn = app.store.reader().await?;
        store::tickets::by_number(&mut conn, number).await?
    };
    // The zone as stored with the ticket, or as its signed fare product names it (`ride-z3`).
    let zone = stored
        .as_ref()
        .and_then(|t| t.zone)
        .and_then(|z| u8::try_from(z).ok())
        .or_else(|| {
            claims
                .fare_product
                .as_str()
                .strip_prefix("ride-z")
                .and_then(|z| z.parse().ok())
        });
    let facts = TicketFacts {
        zone,
        check_number: claims.number.check_form(),
        city: claims.city.to_string(),
        route_number: claims.route.to_string(),
        vehicle: claims.vehicle.to_string(),
        plate,
        fare: claims.amount,
        rider_category: claims.rider_category.to_string(),
        bought_at_ms: i64::try_from(claims.issued_at_unix_s)
            .unwrap_or(0)
            .saturating_mul(1000),
        valid_until_ms: stored
            .as_ref()
            .and_then(|t| t.ended_at_ms)
            .unwrap_or_else(|| {
                i64::try_from(claims.not_after_unix_s())
                    .unwrap_or(0)
                    .saturating_mul(1000)
            }),
        utc_offset_minutes,
        holder_kind: claims.holder.kind(),
    };
    let verdict = match (
        verified.check_time(now_s),
        verified.check_vehicle(vehicle),
        &stored,
    ) {
        (Err(rejection), _, _) | (_, Err(rejection), _) => Verdict::of(rejection),
        (_, _, Some(t)) if t.status == TicketStatus::Refunded.as_str() => Verdict::Refunded,
        (_, _, Some(t)) if t.status == TicketStatus::Revoked.as_str() => Verdict::Revoked,
        (_, _, Some(t)) if t.ended_at_ms.is_some_and(|end| end <= now_ms) => Verdict::Expired,
        (_, _, Some(_)) => Verdict::Valid,
        // Genuinely signed by us yet unknown to the store: a key leak or a lost database.
        (_, _, None) => Verdict::Revoked,
    };
    let holder = match (told, &stored) {
        (None, _) => HolderCheck::NotChecked,
        // The server knows whom the ticket is bound to: an exact answer, whatever the token's
        // format, for a holder of the ticket's own kind.
        (Some(told), Some(row)) => stored_holder_check(row, claims.holder.kind(), told),
        (Some(told), None) => claims.check_holder(told, &crate::keys::holder_key_set(app).await?),
    };
    let checked = Checked {
        verdict,
        holder,
        own_vehicle: Some(claims.vehicle.as_str().to_owned()),
        facts: Some(facts),
    };
    record(app, Some(number), vehicle, inspector, checked, moment).await
}

/// Is the stored ticket, bound to a holder of `kind`, the `told` holder's? A holder of another
/// kind is not checked (ask for the ticket's kind), as on a controller's device.
fn stored_holder_check(
    row: &store::tickets::TicketRow,
    kind: HolderKind,
    told: &Holder,
) -> HolderCheck {
    let bound = match (kind, told) {
        (HolderKind::Phone, Holder::Phone(phone)) => Some(row.phone == phone.as_e164()),
        (HolderKind::Card, Holder::Card(card)) => row
            .card_number
            .as_deref()
            .map(|number| number == card.as_str()),
        _ => None,
    };
    match bound {
        Some(true) => HolderCheck::Matches,
        Some(false) => HolderCheck::DoesNotMatch,
        None => HolderCheck::NotChecked,
    }
}

/// What the check found before the inspection is recorded.
struct Checked {
    verdict: Verdict,
    holder: HolderCheck,
    facts: Option<TicketFacts>,
    /// The vehicle the ticket was bought for.
    own_vehicle: Option<String>,
}

async fn record(
    app: &App,
    number: Option<TicketNumber>,
    vehicle: &TransportCode,
    inspector: &str,
    checked: Checked,
    moment: Moment,
) -> Result<Inspection, ServiceError> {
    let now_ms = moment.at_ms;
    let mut tx = app.store.begin().await?;
    let (flag, seen) = match (number, &checked.facts, &checked.own_vehicle) {
        (Some(number), Some(facts), Some(own)) => {
            let showing = Showing {
                number,
                own_vehicle: own,
                vehicle: vehicle.as_str(),
                inspector,
                now_ms,
            };
            sharing(&mut tx, &showing, facts).await?
        }
        _ => (None, Vec::new()),
    };
    let row = store::inspections::InspectionRow {
        ticket_number: number,
        transport_code: vehicle.as_str().to_owned(),
        inspector: inspector.to_owned(),
        result: checked.verdict.code().to_owned(),
        flagged: flag.is_some(),
        flag_reason: flag.as_ref().map(|(reason, _)| reason.code().to_owned()),
        checked_at_ms: now_ms,
        synced: moment.synced,
    };
    let recorded = store::inspections::insert(&mut tx, &row).await?.is_some();
    tx.commit().await?;
    let (flag_reason, flagged_because_of) = match flag {
        Some((reason, earlier)) => (
            Some(reason),
            Some(EarlierShowing {
                vehicle: earlier.transport_code,
                inspector: earlier.inspector,
                verdict: earlier.result,
                checked_at_ms: earlier.checked_at_ms,
            }),
        ),
        None => (None, None),
    };
    Ok(Inspection {
        verdict: checked.verdict,
        ticket: checked.facts,
        flagged_shared: flag_reason.is_some(),
        flag_reason,
        flagged_because_of,
        seen_in_vehicles: seen,
        holder: checked.holder,
        recorded,
    })
}

/// The showing being recorded.
struct Showing<'a> {
    number: TicketNumber,
    own_vehicle: &'a str,
    vehicle: &'a str,
    inspector: &'a str,
    now_ms: i64,
}

/// The module's sharing rules over the ticket's showings within its validity: the flag with
/// the earlier showing that explains it, and the vehicles seen.
async fn sharing(
    tx: &mut store::Tx,
    showing: &Showing<'_>,
    facts: &TicketFacts,
) -> Result<(Option<(FlagReason, Presentation)>, Vec<String>), ServiceError> {
    let within_validity = (facts.bought_at_ms..=facts.valid_until_ms).contains(&showing.now_ms);
    let earlier: Vec<Presentation> =
        store::inspections::presentations(tx, showing.number, facts.bought_at_ms)
            .await?
            .into_iter()
            .filter(|p| p.checked_at_ms <= facts.valid_until_ms)
            .collect();
    let mut seen: Vec<String> = earlier.iter().map(|p| p.transport_code.clone()).collect();
    if within_validity {
        seen.push(showing.vehicle.to_owned());
    }
    seen.sort();
    seen.dedup();
    if !within_validity {
        return Ok((None, seen));
    }
    // Of two showings in different vehicles, the later one is not in the ticket's own: a check
    // synced late from a device is put in its place in time among the others.
    let two_vehicles = earlier.iter().find(|p| {
        let later = if p.checked_at_ms <= showing.now_ms {
            showing.vehicle
        } else {
            p.transport_code.as_str()
        };
        p.transport_code != showing.vehicle && later != showing.own_vehicle
    });
    if let Some(p) = two_vehicles {
        return Ok((Some((FlagReason::ShownInTwoVehicles, p.clone())), seen));
    }
    // Flagged before within its validity: the first reason stays the ticket's reason.
    let carried = earlier.iter().find_map(|p| {
        p.flag_reason
            .as_deref()
            .and_then(FlagReason::parse)
            .map(|reason| (reason, p.clone()))
    });
    if carried.is_some() {
        return Ok((carried, seen));
    }
    let same_round = earlier.iter().rev().filter(|p| {
        p.transport_code == showing.vehicle
            && showing.now_ms.saturating_sub(p.checked_at_ms) <= INSPECTION_ROUND_S * 1000
    });
    for p in same_round {
        let again = p.inspector != showing.inspector
            || store::inspections::checked_other_since(tx, showing.inspector, showing.number, p.id)
                .await?;
        if again {
            return Ok((Some((FlagReason::ShownTwiceInVehicle, p.clone())), seen));
        }
    }
    Ok((None, seen))
}
