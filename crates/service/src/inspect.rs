//! A controller checks a ticket: the pure offline verification of the token against the
//! published keys, then what only the server knows (refunds, revocations, the run's end), and
//! a record of the inspection. The same ticket shown in two vehicles is flagged: a shared
//! screenshot.

use domain::ticket::{Rejection, authenticate};
use domain::{ErrorCode, Tenge, TransportCode};

use crate::metrics::Metrics;
use crate::{App, ServiceError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Expired,
    Forged,
    WrongVehicle,
    Revoked,
    Refunded,
    UnknownKey,
    Malformed,
}

impl Verdict {
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
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    pub verdict: Verdict,
    pub ticket: Option<TicketFacts>,
    /// Shown in more than one vehicle.
    pub flagged_shared: bool,
    pub seen_in_vehicles: Vec<String>,
}

pub const INSPECTOR_CHARS_MAX: usize = 64;

pub async fn inspect(
    app: &App,
    token: &str,
    vehicle: &TransportCode,
    inspector: &str,
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
    let now_ms = app.now_ms();
    let now_s = u64::try_from(now_ms / 1000).unwrap_or(0);
    let verified = match authenticate(token.trim(), &keys) {
        Ok(verified) => verified,
        Err(rejection) => {
            return record(app, None, vehicle, inspector, Verdict::of(rejection), None).await;
        }
    };
    let claims = verified.claims();
    let number =
        i64::try_from(claims.number.value()).map_err(|e| ServiceError::internal(e.to_string()))?;
    let catalogue = app.catalogue();
    let plate = catalogue
        .vehicles
        .get(&claims.vehicle)
        .map(|v| v.plate.display())
        .unwrap_or_default();
    let stored = {
        let mut conn = app.store.reader().await?;
        store::tickets::by_number(&mut conn, number).await?
    };
    let facts = TicketFacts {
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
    };
    let verdict = match (
        verified.check_time(now_s),
        verified.check_vehicle(vehicle),
        &stored,
    ) {
        (Err(rejection), _, _) | (_, Err(rejection), _) => Verdict::of(rejection),
        (_, _, Some(t)) if t.status == "refunded" => Verdict::Refunded,
        (_, _, Some(t)) if t.status == "revoked" => Verdict::Revoked,
        (_, _, Some(t)) if t.ended_at_ms.is_some_and(|end| end <= now_ms) => Verdict::Expired,
        (_, _, Some(_)) => Verdict::Valid,
        // Genuinely signed by us yet unknown to the store: a key leak or a lost database.
        (_, _, None) => Verdict::Revoked,
    };
    record(app, Some(number), vehicle, inspector, verdict, Some(facts)).await
}

async fn record(
    app: &App,
    number: Option<i64>,
    vehicle: &TransportCode,
    inspector: &str,
    verdict: Verdict,
    ticket: Option<TicketFacts>,
) -> Result<Inspection, ServiceError> {
    let mut tx = app.store.begin().await?;
    let mut seen = match number {
        Some(number) => store::inspections::vehicles_seen(&mut tx, number).await?,
        None => Vec::new(),
    };
    if number.is_some() && !seen.iter().any(|v| v == vehicle.as_str()) {
        seen.push(vehicle.as_str().to_owned());
        seen.sort();
    }
    let flagged_shared = seen.len() > 1;
    let row = store::inspections::InspectionRow {
        ticket_number: number,
        transport_code: vehicle.as_str().to_owned(),
        inspector: inspector.to_owned(),
        result: verdict.code().to_owned(),
        flagged: flagged_shared,
        checked_at_ms: app.now_ms(),
    };
    store::inspections::insert(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(Inspection {
        verdict,
        ticket,
        flagged_shared,
        seen_in_vehicles: seen,
    })
}
