//! Buying a ride from the phone balance: the heart of the product.
//!
//! The steps, each durable before the next starts, so a crash anywhere leaves a row that the
//! recovery worker can settle against the operator:
//! 1. resolve the vehicle, the operator of the number, the passenger's category and the fare —
//!    a wrong transport code stops here and nothing is written or charged;
//! 2. insert the ride (`reserving`) under its idempotency key together with the pending ledger
//!    transfer, in one transaction; a retry with the same key finds this row instead;
//! 3. SIM swap check (`maxAge` 24 h), then `prepare` at the operator;
//! 4. `confirm`, then issue the ticket, record the operator's payment id and post the ledger in
//!    one transaction (`issued`). Any refusal voids the reservation (`failed`) with its own
//!    error code. The ride is written only twice on the happy path; in between, the operator's
//!    record (found by `clientCorrelator` = ride id) is what recovery goes by.
//!
//! A step whose outcome is unknown (timeout, 5xx, lost reply) leaves the ride where it is and
//! answers "pending"; `recovery` finishes it, and the passenger is never charged twice.

use std::time::Duration;

use domain::catalogue::{RiderCategory, RouteKind, Zone};
use domain::ledger::{Account, Movement, RidePhase};
use domain::ride::RideId;
use domain::sms::VehicleRef;
use domain::{ErrorCode, Language, OperatorId, PhoneNumber};
use partners::operator::{
    DenialReason, OperatorError, OperatorPaymentId, Payment, PaymentRequest, PaymentStatus,
};
use sha2::{Digest, Sha256};
use store::rides::{Inserted, NewRide, RideRow, Transition};

use crate::error::Refusal;
use crate::metrics::Metrics;
use crate::tickets::{self, IssuedTicket};
use crate::waiters::Waiters;
use crate::{App, ServiceError};

/// A SIM card replaced within this many hours may not pay (anti-fraud rule of the operators).
pub const SIM_SWAP_MAX_AGE_HOURS: u32 = 24;
/// Idempotency keys are at most this long.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 128;
/// What an idempotency key must be, as a refusal explains it.
pub const IDEMPOTENCY_KEY_RULE: &str = "idempotency key must be 1..=128 printable ASCII characters";
/// A second ride on the same bus within this many minutes, while the passenger's ticket from
/// the first is still valid (or its payment still in flight), is taken for an accidental
/// repeat and not charged unless it asks for one more ticket on purpose.
pub const REPEAT_WINDOW_MINUTES: i64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Api,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Api => "api",
            Channel::Sms => "sms",
        }
    }
}

/// The caller's idempotency key, unique within a scope (a phone number on the API, an SMSC and
/// sender for SMS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    scope: String,
    key: String,
}

impl IdempotencyKey {
    pub fn new(scope: String, key: &str) -> Result<IdempotencyKey, ServiceError> {
        let key = key.trim();
        let printable = key.chars().all(|c| c.is_ascii_graphic());
        if key.is_empty() || key.len() > IDEMPOTENCY_KEY_CHARS_MAX || !printable {
            return Err(ServiceError::new(
                ErrorCode::BadRequest,
                IDEMPOTENCY_KEY_RULE,
            ));
        }
        Ok(IdempotencyKey {
            scope,
            key: key.to_owned(),
        })
    }

    /// The key of an SMS ride: the SMSC's message id, which may hold any characters (spaces,
    /// Cyrillic) or be long; such an id is keyed by its digest, so every message id works.
    pub fn of_message_id(scope: String, message_id: &str) -> IdempotencyKey {
        let plain = !message_id.is_empty()
            && message_id.len() <= IDEMPOTENCY_KEY_CHARS_MAX
            && message_id.chars().all(|c| c.is_ascii_graphic());
        let key = if plain {
            message_id.to_owned()
        } else {
            format!(
                "sha256:{}",
                crate::hex(&Sha256::digest(message_id.as_bytes()))
            )
        };
        IdempotencyKey { scope, key }
    }
}

#[derive(Clone, Debug)]
pub struct RideRequest {
    pub phone: PhoneNumber,
    pub vehicle: VehicleRef,
    /// Destination zone on zone-priced (suburban) routes, where it must be given.
    pub zone: Option<Zone>,
    /// One more ticket on a bus the passenger already holds a valid ticket for, on purpose
    /// (a companion's); without it such a repeat is refused with the ticket held.
    pub additional: bool,
    pub channel: Channel,
    pub idempotency: IdempotencyKey,
    /// The language of the reply; stored with the ride for replies sent later.
    pub language: Language,
}

#[derive(Clone, Debug)]
pub enum RideOutcome {
    Issued(Box<IssuedTicket>),
    /// The operator's answer is not known yet; the ride will be settled and never charged twice.
    Pending {
        ride_id: String,
    },
}

pub async fn buy_ticket(app: &App, request: RideRequest) -> Result<RideOutcome, ServiceError> {
    let mut ride = plan_ride(app, &request).await?;
    let reservation = ride_movement(&ride)?.ride_transfer(
        &ride_id(&ride)?,
        RidePhase::Reserve,
        ride.created_at_ms,
    )?;
    let mut tx = app.store.begin().await?;
    store::rides::lock_phone(&mut tx, &ride.phone).await?;
    let held = store::rides::held_on_vehicle(
        &mut tx,
        &ride.phone,
        &ride.transport_code,
        ride.created_at_ms - REPEAT_WINDOW_MINUTES * 60_000,
        ride.created_at_ms,
        (&ride.idempotency_scope, &ride.idempotency_key),
    )
    .await?;
    ride.ordinal_on_vehicle = i64::try_from(held.len()).unwrap_or(i64::MAX - 1) + 1;
    match store::rides::insert(&mut tx, &ride).await? {
        Inserted::Existing(existing) => {
            drop(tx);
            return answer_duplicate(app, *existing, &ride.request_hash).await;
        }
        Inserted::New if !held.is_empty() && !request.additional => {
            // Rolled back: an accidental repeat writes nothing and charges nothing.
            drop(tx);
            Metrics::add(&app.metrics.rides_refused);
            return Err(already_held(app, &ride, &held).await?);
        }
        Inserted::New => {
            crate::ledger::book(&mut tx, &reservation).await?;
            tx.commit().await?;
        }
    }
    let outcome = pay(app, &ride).await;
    match &outcome {
        Ok(RideOutcome::Issued(_)) => Metrics::add(&app.metrics.rides_issued),
        Ok(RideOutcome::Pending { .. }) => Metrics::add(&app.metrics.rides_pending),
        Err(_) => Metrics::add(&app.metrics.rides_refused),
    }
    outcome
}

/// The ride the passenger already holds on this bus, as the refusal of a repeat shows it.
async fn already_held(
    app: &App,
    ride: &NewRide,
    held: &[store::rides::HeldRide],
) -> Result<ServiceError, ServiceError> {
    let mut conn = app.store.reader().await?;
    let mut ticket = None;
    if let Some(number) = held.iter().rev().find_map(|h| h.ticket_number)
        && let Some(row) = store::tickets::by_number(&mut conn, number).await?
    {
        ticket = Some(Box::new(tickets::issued_from_row(app, &row)?));
    }
    let pending_ride_id = held
        .iter()
        .rev()
        .find(|h| h.ticket_number.is_none())
        .map(|h| h.ride_id.clone());
    Ok(ServiceError::refusal(
        ErrorCode::TicketAlreadyBought,
        Refusal::AlreadyHeld {
            ticket,
            pending_ride_id,
            tickets_held: u32::try_from(held.len()).unwrap_or(u32::MAX),
            transport_code: ride.transport_code.clone(),
            zone: ride
                .zone
                .and_then(|z| u32::try_from(z).ok())
                .and_then(|z| Zone::new(z).ok()),
        },
    ))
}

/// Step 1: everything that can refuse the ride before anything is written.
async fn plan_ride(app: &App, request: &RideRequest) -> Result<NewRide, ServiceError> {
    let catalogue = app.catalogue();
    let found = catalogue
        .vehicle(&request.vehicle)
        .map_err(ErrorCode::from)?;
    let operator = catalogue
        .prefixes
        .operator_of(&request.phone)
        .ok_or(ErrorCode::OperatorNotServed)?;
    let rider_category = {
        let mut conn = app.store.reader().await?;
        match store::passengers::get(&mut conn, request.phone.as_e164()).await? {
            // A category we cannot read is our data's fault: never guess a fare from it.
            Some(p) => RiderCategory::parse(&p.rider_category).map_err(|e| {
                ServiceError::internal(format!("passenger {}: {e}", request.phone.masked()))
            })?,
            None => RiderCategory::Regular,
        }
    };
    let zones = |code| {
        ServiceError::refusal(
            code,
            Refusal::ZoneRequired {
                route_number: found.route.number.clone(),
                transport_code: found.vehicle.code.as_str().to_owned(),
                zones: catalogue.zone_fares(found.route, rider_category),
            },
        )
    };
    let zone = match (found.route.kind, request.zone) {
        // A zone fare is never guessed: the passenger is told the zones and their fares.
        (RouteKind::Suburban, None) => return Err(zones(ErrorCode::ZoneRequired)),
        (RouteKind::Suburban, zone) => zone,
        (RouteKind::Regular | RouteKind::Express, _) => None,
    };
    let amount = catalogue
        .fare(found.route, rider_category, zone)
        .or_else(|| catalogue.fare(found.route, RiderCategory::Regular, zone))
        .ok_or_else(|| match zone {
            Some(_) if !catalogue.zone_fares(found.route, rider_category).is_empty() => {
                zones(ErrorCode::ZoneUnknown)
            }
            _ => ServiceError::new(
                ErrorCode::FareNotConfigured,
                format!("route {}", found.route.id),
            ),
        })?;
    let now_ms = app.now_ms();
    let request_hash = hash_request(
        &request.phone,
        found.vehicle.code.as_str(),
        zone,
        rider_category,
    );
    Ok(NewRide {
        id: new_ride_id(now_ms)?,
        idempotency_scope: request.idempotency.scope.clone(),
        idempotency_key: request.idempotency.key.clone(),
        request_hash,
        channel: request.channel.as_str().into(),
        phone: request.phone.as_e164().into(),
        operator: operator.as_str().into(),
        transport_code: found.vehicle.code.as_str().into(),
        route_id: found.route.id.as_str().into(),
        city_id: found.city.id.as_str().into(),
        carrier_id: found.carrier.id.as_str().into(),
        rider_category: rider_category.as_str().into(),
        zone: zone.map(|z| i64::from(z.number())),
        amount_tiyn: amount.tiyn(),
        language: request.language.code().into(),
        created_at_ms: now_ms,
        ordinal_on_vehicle: 1,
    })
}

fn hash_request(
    phone: &PhoneNumber,
    code: &str,
    zone: Option<Zone>,
    category: RiderCategory,
) -> String {
    let canonical = format!(
        "{}|{}|{}|{}",
        phone.as_e164(),
        code,
        zone.map_or(0, |z| z.number()),
        category.as_str()
    );
    crate::hex(
        Sha256::digest(canonical.as_bytes())
            .get(..16)
            .unwrap_or_default(),
    )
}

/// Time-ordered ids keep the rides index append-mostly: 12 hex digits of milliseconds, then 16
/// random ones.
fn new_ride_id(now_ms: i64) -> Result<String, ServiceError> {
    let random: [u8; 8] = crate::random_bytes()?;
    Ok(format!("{:012x}{}", now_ms.max(0), crate::hex(&random)))
}

/// The ride's id, as the ledger names it.
pub(crate) fn ride_id(ride: &NewRide) -> Result<RideId, ServiceError> {
    RideId::parse(&ride.id).map_err(|e| ServiceError::internal(e.to_string()))
}

/// What a ride moves: the operator owes the fare, the carrier is owed it.
pub(crate) fn ride_movement(ride: &NewRide) -> Result<Movement, ServiceError> {
    let bad = |e: String| ServiceError::internal(format!("ride {}: {e}", ride.id));
    Ok(Movement {
        debit: Account::OperatorReceivable(
            OperatorId::parse(&ride.operator).map_err(|e| bad(e.to_string()))?,
        ),
        credit: Account::CarrierPayable(
            domain::catalogue::CarrierId::parse(&ride.carrier_id)
                .map_err(|e| bad(e.to_string()))?,
        ),
        amount: domain::Tenge::from_tiyn(ride.amount_tiyn),
    })
}

/// A retry: the same body gets the first answer (waiting for it while it is still in flight);
/// another body under the same key is refused.
async fn answer_duplicate(
    app: &App,
    existing: RideRow,
    request_hash: &str,
) -> Result<RideOutcome, ServiceError> {
    if existing.ride.request_hash != request_hash {
        return Err(ErrorCode::IdempotencyKeyReused.into());
    }
    Metrics::add(&app.metrics.duplicate_requests);
    let receiver = app.waiters.subscribe(&existing.ride.id);
    if let Some(answer) = settled_answer(app, &existing.ride.id).await? {
        return answer.map_err(final_failure);
    }
    Waiters::wait(
        receiver,
        Duration::from_millis(app.settings.duplicate_wait_ms),
    )
    .await;
    match settled_answer(app, &existing.ride.id).await? {
        Some(answer) => answer.map_err(final_failure),
        None => Ok(RideOutcome::Pending {
            ride_id: existing.ride.id,
        }),
    }
}

/// A ride that has finished failing, read back or replayed: its refusal is final. A failure
/// whose own code means "not now" (the operator did not answer) becomes `RIDE_FAILED`, whose
/// message says to send a new request, so a replay never reads as "retry this one".
pub fn final_failure(error: ServiceError) -> ServiceError {
    let failure = match error.context.as_deref() {
        Some(Refusal::RideFailed { failure, .. }) => *failure,
        _ => return error,
    };
    if failure.http_status() < 500 {
        return error;
    }
    ServiceError {
        code: ErrorCode::RideFailed,
        ..error
    }
}

/// Whose ride it is (`None`: no such ride), so a passenger sees only their own.
pub async fn ride_phone(app: &App, ride_id: &str) -> Result<Option<String>, ServiceError> {
    let mut conn = app.store.reader().await?;
    Ok(store::rides::by_id(&mut conn, ride_id)
        .await?
        .map(|r| r.ride.phone))
}

/// The language the ride was bought in (its replies and pages use it).
pub async fn ride_language(app: &App, ride_id: &str) -> Result<Language, ServiceError> {
    let mut conn = app.store.reader().await?;
    Ok(store::rides::by_id(&mut conn, ride_id)
        .await?
        .and_then(|r| Language::from_code(&r.ride.language))
        .unwrap_or_default())
}

/// The final answer of a ride, if it has one.
pub async fn settled_answer(
    app: &App,
    ride_id: &str,
) -> Result<Option<Result<RideOutcome, ServiceError>>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let Some(ride) = store::rides::by_id(&mut conn, ride_id).await? else {
        return Err(ServiceError::new(
            ErrorCode::NotFound,
            format!("ride {ride_id}"),
        ));
    };
    match ride.status.as_str() {
        "issued" => match store::tickets::by_ride(&mut conn, ride_id).await? {
            Some(row) => Ok(Some(Ok(RideOutcome::Issued(Box::new(
                tickets::issued_from_row(app, &row)?,
            ))))),
            None => Err(ServiceError::internal(format!(
                "ride {ride_id} issued without a ticket"
            ))),
        },
        // `cancelling`: refused, only the release of the reservation is still being asked for.
        "failed" | "cancelling" => {
            let code = ride
                .failure_code
                .as_deref()
                .and_then(ErrorCode::from_code)
                .unwrap_or(ErrorCode::PaymentDenied);
            Ok(Some(Err(ServiceError::refusal(
                code,
                Refusal::RideFailed {
                    ride_id: ride_id.to_owned(),
                    failure: code,
                },
            ))))
        }
        _ => Ok(None),
    }
}

/// Steps 3 and 4 for a freshly inserted ride.
async fn pay(app: &App, ride: &NewRide) -> Result<RideOutcome, ServiceError> {
    let operator =
        OperatorId::parse(&ride.operator).map_err(|e| ServiceError::internal(e.to_string()))?;
    let phone =
        PhoneNumber::parse(&ride.phone).map_err(|e| ServiceError::internal(e.to_string()))?;
    match app
        .sim_swap
        .swapped_within(&operator, &phone, SIM_SWAP_MAX_AGE_HOURS)
        .await
    {
        Ok(false) => {}
        Ok(true) => return fail(app, ride, "reserving", ErrorCode::PaymentSimSwapped).await,
        Err(OperatorError::Denied(reason)) => {
            return fail(app, ride, "reserving", denial_code(&reason)).await;
        }
        Err(error) => {
            tracing::warn!(ride = %ride.id, %error, "SIM swap check failed; nothing was reserved");
            return fail(app, ride, "reserving", ErrorCode::OperatorUnavailable).await;
        }
    }
    let request = PaymentRequest {
        client_correlator: ride.id.clone(),
        phone,
        amount: domain::Tenge::from_tiyn(ride.amount_tiyn),
        description: format!("Bus ride {} {}", ride.route_id, ride.transport_code),
        merchant_id: app.settings.merchant_id.clone(),
    };
    let payment = match app.billing.prepare(&operator, &request).await {
        Ok(payment) => payment,
        Err(OperatorError::OutcomeUnknown(why)) => {
            tracing::warn!(ride = %ride.id, %why, "prepare outcome unknown; looking the payment up");
            match app
                .billing
                .find_by_correlator(&operator, &ride.id, ride.created_at_ms / 1000)
                .await
            {
                Ok(Some(payment)) => payment,
                Ok(None) | Err(_) => {
                    return Ok(RideOutcome::Pending {
                        ride_id: ride.id.clone(),
                    });
                }
            }
        }
        Err(error) => return fail(app, ride, "reserving", refusal_code(&error)).await,
    };
    continue_with_payment(app, ride, "reserving", &operator, payment).await
}

/// Moves a ride on from what the operator says of its payment. Used by the request path and by
/// recovery alike, so both settle a payment the same way.
pub(crate) async fn continue_with_payment(
    app: &App,
    ride: &NewRide,
    status: &str,
    operator: &OperatorId,
    payment: Payment,
) -> Result<RideOutcome, ServiceError> {
    match payment.status {
        PaymentStatus::Reserved => confirm(app, ride, status, operator, &payment.id).await,
        PaymentStatus::Succeeded => issue(app, ride, status, &payment.id).await,
        PaymentStatus::Denied | PaymentStatus::Cancelled => {
            fail(app, ride, status, ErrorCode::PaymentDenied).await
        }
        PaymentStatus::Processing | PaymentStatus::PendingValidation => {
            if status == "reserving" {
                let change = Transition {
                    operator_payment_id: Some(payment.id.as_str()),
                    failure_code: None,
                };
                move_ride(app, &ride.id, "reserving", "reserved", change, app.now_ms()).await?;
            }
            Ok(RideOutcome::Pending {
                ride_id: ride.id.clone(),
            })
        }
    }
}

/// Confirms a reservation. Nothing is written before the confirm: a crash here leaves the ride
/// `reserving`, and recovery finds the payment by its correlator and finishes it the same way.
/// Only an unknown outcome is written down (`confirming` with the payment id), because then the
/// decision to capture has been sent and must be seen through.
async fn confirm(
    app: &App,
    ride: &NewRide,
    from: &str,
    operator: &OperatorId,
    id: &OperatorPaymentId,
) -> Result<RideOutcome, ServiceError> {
    let confirmed = match app.billing.confirm(operator, id).await {
        Ok(payment) => Ok(payment),
        Err(OperatorError::OutcomeUnknown(why)) => {
            tracing::warn!(ride = %ride.id, %why, "confirm outcome unknown; asking the operator");
            match app.billing.get(operator, id).await {
                // A refused read says nothing of the confirm: it may have captured.
                Err(OperatorError::Denied(reason)) => Err(OperatorError::Unavailable(format!(
                    "reading the payment was refused: {reason:?}"
                ))),
                other => other,
            }
        }
        Err(error) => Err(error),
    };
    match confirmed {
        Ok(payment) if payment.status == PaymentStatus::Succeeded => {
            issue(app, ride, from, id).await
        }
        Ok(payment)
            if matches!(
                payment.status,
                PaymentStatus::Denied | PaymentStatus::Cancelled
            ) =>
        {
            fail(app, ride, from, ErrorCode::PaymentDenied).await
        }
        Err(OperatorError::Denied(reason)) => {
            let code = denial_code(&reason);
            // The reservation must be released; until the operator has said so, the ride
            // waits in `cancelling` and recovery asks again.
            match app.billing.cancel(operator, id).await {
                // Captured after all (the refusal was not the operator's last word): its
                // record wins and the passenger gets the ticket they paid for.
                Ok(payment) if payment.status == PaymentStatus::Succeeded => {
                    issue(app, ride, from, id).await
                }
                Ok(_) | Err(OperatorError::NotFound) => fail(app, ride, from, code).await,
                Err(error) => {
                    tracing::warn!(ride = %ride.id, %error, "cancel after a refused confirm failed; recovery will retry");
                    hold_for_cancel(app, ride, from, id, code).await
                }
            }
        }
        outcome => {
            if let Err(error) = &outcome {
                tracing::warn!(ride = %ride.id, %error, "confirm not settled; recovery will finish it");
            }
            if from != "confirming" {
                let change = Transition {
                    operator_payment_id: Some(id.as_str()),
                    failure_code: None,
                };
                move_ride(app, &ride.id, from, "confirming", change, app.now_ms()).await?;
            }
            Ok(RideOutcome::Pending {
                ride_id: ride.id.clone(),
            })
        }
    }
}

/// Ticket numbers are random; on the rare collision the issue is tried again with a new one.
const ISSUE_ATTEMPTS_MAX: usize = 4;

/// Step 4: the ticket, the posted ledger and the final status in one transaction.
pub(crate) async fn issue(
    app: &App,
    ride: &NewRide,
    from: &str,
    payment: &OperatorPaymentId,
) -> Result<RideOutcome, ServiceError> {
    let signer = crate::keys::signer(app).await?;
    let movement = ride_movement(ride)?;
    let ride_id = ride_id(ride)?;
    let mut issued = None;
    for attempt in 1..=ISSUE_ATTEMPTS_MAX {
        let now_ms = app.now_ms();
        let ticket = tickets::prepare_ticket(app, ride, now_ms, &signer)?;
        let mut tx = app.store.begin().await?;
        let change = Transition {
            operator_payment_id: Some(payment.as_str()),
            failure_code: None,
        };
        let moved =
            store::rides::transition(&mut tx, &ride.id, from, "issued", change, now_ms).await?;
        if !moved {
            break;
        }
        match store::tickets::insert(&mut tx, &ticket).await {
            Err(error) if store::is_unique_violation(&error) && attempt < ISSUE_ATTEMPTS_MAX => {
                continue;
            }
            other => other?,
        }
        let post = movement.ride_transfer(&ride_id, RidePhase::Post, now_ms)?;
        crate::ledger::book(&mut tx, &post).await?;
        tx.commit().await?;
        app.waiters.settled(&ride.id);
        issued = Some(ticket);
        break;
    }
    if let Some(ticket) = issued {
        return Ok(RideOutcome::Issued(Box::new(tickets::issued_from_row(
            app, &ticket,
        )?)));
    }
    match settled_answer(app, &ride.id).await? {
        Some(answer) => answer,
        None => Ok(RideOutcome::Pending {
            ride_id: ride.id.clone(),
        }),
    }
}

/// Voids the reservation and records why; the passenger's answer is that code.
pub(crate) async fn fail(
    app: &App,
    ride: &NewRide,
    from: &str,
    code: ErrorCode,
) -> Result<RideOutcome, ServiceError> {
    let now_ms = app.now_ms();
    let void = ride_movement(ride)?.ride_transfer(&ride_id(ride)?, RidePhase::Void, now_ms)?;
    let mut tx = app.store.begin().await?;
    let change = Transition {
        operator_payment_id: None,
        failure_code: Some(code.code()),
    };
    if store::rides::transition(&mut tx, &ride.id, from, "failed", change, now_ms).await? {
        crate::ledger::book(&mut tx, &void).await?;
        tx.commit().await?;
        app.waiters.settled(&ride.id);
        return Err(code.into());
    }
    drop(tx);
    match settled_answer(app, &ride.id).await? {
        Some(answer) => answer,
        None => Ok(RideOutcome::Pending {
            ride_id: ride.id.clone(),
        }),
    }
}

/// The payment is refused but its reservation is not released yet: the passenger's answer is
/// the refusal, and the ride stays `cancelling` until recovery has the operator cancel it.
async fn hold_for_cancel(
    app: &App,
    ride: &NewRide,
    from: &str,
    id: &OperatorPaymentId,
    code: ErrorCode,
) -> Result<RideOutcome, ServiceError> {
    let change = Transition {
        operator_payment_id: Some(id.as_str()),
        failure_code: Some(code.code()),
    };
    if move_ride(app, &ride.id, from, "cancelling", change, app.now_ms()).await? {
        app.waiters.settled(&ride.id);
        return Err(code.into());
    }
    match settled_answer(app, &ride.id).await? {
        Some(answer) => answer,
        None => Ok(RideOutcome::Pending {
            ride_id: ride.id.clone(),
        }),
    }
}

async fn move_ride(
    app: &App,
    id: &str,
    from: &str,
    to: &str,
    change: Transition<'_>,
    now_ms: i64,
) -> Result<bool, ServiceError> {
    let mut tx = app.store.begin().await?;
    let moved = store::rides::transition(&mut tx, id, from, to, change, now_ms).await?;
    tx.commit().await?;
    Ok(moved)
}

fn refusal_code(error: &OperatorError) -> ErrorCode {
    match error {
        OperatorError::Denied(reason) => denial_code(reason),
        OperatorError::UnknownOperator(_) => ErrorCode::OperatorNotServed,
        _ => ErrorCode::OperatorUnavailable,
    }
}

pub(crate) fn denial_code(reason: &DenialReason) -> ErrorCode {
    match reason {
        DenialReason::CorporateNumber => ErrorCode::PaymentCorporateNumber,
        DenialReason::UnpaidTrustPayment => ErrorCode::PaymentUnpaidTrust,
        DenialReason::NeverToppedUp => ErrorCode::PaymentNeverToppedUp,
        DenialReason::StartingBalanceOnly => ErrorCode::PaymentStartingBalance,
        DenialReason::SimSwappedRecently => ErrorCode::PaymentSimSwapped,
        DenialReason::InsufficientBalance => ErrorCode::PaymentInsufficientBalance,
        DenialReason::NumberUnknown => ErrorCode::PaymentNumberUnknown,
        DenialReason::Other(_) => ErrorCode::PaymentDenied,
    }
}
