//! Buying a ride: the source-neutral core of the ride, whoever pays for it.
//!
//! The steps, each durable before the next starts, so a crash anywhere leaves a row that the
//! recovery worker can settle against the payment source:
//! 1. plan: resolve the vehicle, the passenger's category and the fare, and let the payment
//!    source refuse what it cannot pay (a phone without an operator) — a wrong transport code
//!    stops here and nothing is written or charged;
//! 2. insert the ride (`reserving`) under its idempotency key together with the pending ledger
//!    transfer (the payer's account owes the carrier), in one transaction; a retry with the
//!    same key finds this row instead;
//! 3. the payment source pays it ([`crate::payment::PaymentSource::pay`]; the phone balance:
//!    SIM swap, prepare, confirm — see [`crate::phone_balance`]);
//! 4. [`issue`]: the ticket, the final status and the posted ledger in one transaction; or
//!    [`fail`]: the reservation voided with the refusal's own code; or, while a refused
//!    payment's reservation is still to be released, [`hold_for_release`] (`cancelling`).
//!
//! Every move is a compare-and-set along [`domain::ride::RideStatus::TRANSITIONS`]. A step whose outcome
//! is unknown (timeout, 5xx, lost reply) leaves the ride where it is and answers "pending";
//! `recovery` finishes it, and the passenger is never charged twice.

use std::time::Duration;

use domain::catalogue::{RiderCategory, RouteKind, Zone};
use domain::fare_policy::FareBasis;
use domain::ledger::{Account, Movement, RidePhase};
use domain::ride::{RideId, RideStatus};
use domain::sms::VehicleRef;
use domain::{ErrorCode, Language, PhoneNumber};
use sha2::{Digest, Sha256};
use store::Executor;
use store::rides::{Inserted, NewRide, RideRow, Transition};

use crate::error::Refusal;
use crate::metrics::Metrics;
use crate::payment::{Payer, source_of};
use crate::tickets::{self, IssuedTicket};
use crate::{App, ServiceError};

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
    pub(crate) scope: String,
    pub(crate) key: String,
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
    /// Who pays, and whose ride it is.
    pub payer: Payer,
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
    /// The payment source's answer is not known yet; the ride will be settled and never
    /// charged twice.
    Pending {
        ride_id: RideId,
    },
}

pub async fn buy_ticket(app: &App, request: RideRequest) -> Result<RideOutcome, ServiceError> {
    let mut ride = plan_ride(app, &request).await?;
    // A card ride's ticket is signed before the writer's turn is taken, at the quoted fare: the
    // signature is the costliest step and needs nothing the transaction decides, unless the
    // fare moves under the holder's lock (then it is signed again there).
    let presigned = match request.payer.card() {
        Some(_) => {
            let signer = crate::keys::signer(app).await?;
            let ticket = tickets::prepare_ticket(app, &ride, ride.created_at_ms, &signer)?;
            Some((signer, ticket))
        }
        None => None,
    };
    let mut tx = app.store.begin_grouped().await?;
    store::rides::lock_phone(&mut tx, &ride.phone).await?;
    // A card's caps and transfers, read again under the holder's lock: what the quote showed,
    // unless another ride of the card came in between.
    if let Some(card) = ride.card_number.clone() {
        reprice_card_ride(app, &mut tx, &mut ride, &card).await?;
    }
    let reservation =
        ride_movement(&ride)?.ride_transfer(&ride.id, RidePhase::Reserve, ride.created_at_ms)?;
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
            // Committed, not dropped, though it wrote nothing: on SQLite the first request's
            // row may sit in the writer's open group-commit batch, seen here but not yet by
            // the readers `answer_duplicate` reads from; this member's commit returns once
            // that batch is durable, so the row is there to read.
            tx.commit().await?;
            return answer_duplicate(app, *existing, &ride.request_hash).await;
        }
        Inserted::New if !held.is_empty() && !request.additional => {
            // Rolled back: an accidental repeat writes nothing and charges nothing. The held
            // ticket is read in the transaction, which sees what the readers may not yet.
            let refusal = already_held(app, &mut tx, &ride, &held).await?;
            drop(tx);
            Metrics::add(&app.metrics.rides_refused);
            return Err(refusal);
        }
        Inserted::New => {
            // A card that may pay is paid in this same transaction: the ride, the ticket,
            // `issued` and the fare posted at once (no hold to resolve) commit together; the
            // post itself refuses a card that does not hold the fare.
            let card_row = match request.payer.card() {
                Some(card) if presigned.is_some() => {
                    crate::card_source::may_pay(&mut tx, card.as_str()).await?
                }
                _ => None,
            };
            if let (Some(card), Some((signer, ticket))) = (card_row, presigned) {
                let payment = format!("card:{}", card.number);
                let ticket = (ticket.amount_tiyn == ride.amount_tiyn).then_some(ticket);
                let prepared = Prepared {
                    signer: &signer,
                    ticket,
                    paid_at_once: true,
                };
                let issued = issue_in(
                    app,
                    &mut tx,
                    &ride,
                    RideStatus::Reserving,
                    &payment,
                    prepared,
                )
                .await
                .map_err(|error| match error {
                    IssueError::NumberTaken => ServiceError::internal(format!(
                        "ride {}: the ticket number drawn was taken",
                        ride.id
                    )),
                    IssueError::Other(error) => error,
                })?
                .ok_or_else(|| {
                    ServiceError::internal(format!(
                        "ride {}: moved before its own transaction ended",
                        ride.id
                    ))
                })?;
                tx.commit().await?;
                app.waiters.settled(&ride.id);
                Metrics::add(&app.metrics.rides_issued);
                crate::card_source::after_issue(app, &card, &ride).await;
                return Ok(RideOutcome::Issued(Box::new(tickets::issued_from_row(
                    app, &issued,
                )?)));
            }
            crate::ledger::book(&mut tx, &reservation).await?;
            tx.commit().await?;
        }
    }
    let outcome = request.payer.source().pay(app, &ride).await;
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
    conn: &mut store::Tx,
    ride: &NewRide,
    held: &[store::rides::HeldRide],
) -> Result<ServiceError, ServiceError> {
    let mut ticket = None;
    if let Some(number) = held.iter().rev().find_map(|h| h.ticket_number)
        && let Some(row) = store::tickets::by_number(conn, number).await?
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

/// What a ride on a bus would cost this payer, and from which source: everything that can
/// refuse the ride before anything is written, shown to the passenger before they pay.
#[derive(Clone, Debug)]
pub struct Quote {
    pub transport_code: String,
    pub plate: String,
    pub route_id: String,
    pub route_number: String,
    pub route_name: String,
    pub city_id: String,
    pub carrier_id: String,
    pub rider_category: RiderCategory,
    pub zone: Option<Zone>,
    pub amount: domain::Tenge,
    /// The fare before the city's caps and transfers (a card ride's), and which priced it.
    pub full_amount: domain::Tenge,
    pub fare_basis: FareBasis,
    /// The regular rider's fare of this route and zone (the preferential subsidy is it less
    /// what the rider pays); the full fare where no rule prices a regular rider.
    pub regular_amount: domain::Tenge,
    /// A card's rides of the day so far, and the daily cap of its category, where one is set.
    pub spent_today: domain::Tenge,
    pub daily_cap: Option<domain::Tenge>,
    /// The payment source: `phone_balance` or `card`.
    pub source: &'static str,
    /// The operator whose balance pays (a phone balance's).
    pub operator: String,
}

/// The fare a payer would pay on a bus, and who would pay it; refuses as a purchase would (an
/// unknown or suspended bus, a zone fare without its zone, a number no operator serves).
pub async fn quote(
    app: &App,
    payer: &Payer,
    vehicle: &VehicleRef,
    zone: Option<Zone>,
) -> Result<Quote, ServiceError> {
    let catalogue = app.catalogue();
    let found = catalogue.vehicle(vehicle).map_err(ErrorCode::from)?;
    let source = payer.source().plan(app, payer)?;
    let holder = payer.holder();
    let rider_category = match payer.rider_category() {
        Some(category) => category,
        None => {
            let mut conn = app.store.reader().await?;
            match store::passengers::get(&mut conn, holder.as_e164()).await? {
                // A category we cannot read is our data's fault: never guess a fare from it.
                Some(p) => RiderCategory::parse(&p.rider_category).map_err(|e| {
                    ServiceError::internal(format!("passenger {}: {e}", holder.masked()))
                })?,
                None => RiderCategory::Regular,
            }
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
    let zone = match (found.route.kind, zone) {
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
    let regular_amount = catalogue
        .fare(found.route, RiderCategory::Regular, zone)
        .unwrap_or(amount);
    let applied = match payer.card() {
        Some(card) => {
            let mut conn = app.store.reader().await?;
            let ride = crate::fares::CardRide {
                card: card.as_str(),
                city: found.city,
                route_id: found.route.id.as_str(),
                category: rider_category,
                full: amount,
                now_ms: app.now_ms(),
            };
            crate::fares::card_fare(app, &mut conn, &ride).await?
        }
        None => domain::fare_policy::Applied {
            amount,
            basis: FareBasis::Full,
            full: amount,
            spent_today: domain::Tenge::ZERO,
            cap: None,
        },
    };
    Ok(Quote {
        transport_code: found.vehicle.code.as_str().into(),
        plate: found.vehicle.plate.display(),
        route_id: found.route.id.as_str().into(),
        route_number: found.route.number.clone(),
        route_name: found.route.name.clone(),
        city_id: found.city.id.as_str().into(),
        carrier_id: found.carrier.id.as_str().into(),
        rider_category,
        zone,
        amount: applied.amount,
        full_amount: applied.full,
        fare_basis: applied.basis,
        regular_amount,
        spent_today: applied.spent_today,
        daily_cap: applied.cap,
        source: if payer.card().is_some() {
            "card"
        } else {
            "phone_balance"
        },
        operator: source.operator,
    })
}

/// Step 1: everything that can refuse the ride before anything is written.
async fn plan_ride(app: &App, request: &RideRequest) -> Result<NewRide, ServiceError> {
    let quote = quote(app, &request.payer, &request.vehicle, request.zone).await?;
    let holder = request.payer.holder();
    let now_ms = app.now_ms();
    let card_number = request.payer.card().map(|c| c.as_str().to_owned());
    let request_hash = hash_request(
        holder,
        &quote.transport_code,
        quote.zone,
        quote.rider_category,
        card_number.as_deref(),
    );
    Ok(NewRide {
        id: RideId::new(now_ms, crate::random_bytes()?),
        idempotency_scope: request.idempotency.scope.clone(),
        idempotency_key: request.idempotency.key.clone(),
        request_hash,
        channel: request.channel.as_str().into(),
        phone: holder.as_e164().into(),
        operator: quote.operator,
        transport_code: quote.transport_code,
        route_id: quote.route_id,
        city_id: quote.city_id,
        carrier_id: quote.carrier_id,
        rider_category: quote.rider_category.as_str().into(),
        zone: quote.zone.map(|z| i64::from(z.number())),
        amount_tiyn: quote.amount.tiyn(),
        language: request.language.code().into(),
        created_at_ms: now_ms,
        ordinal_on_vehicle: 1,
        fare_basis: card_number
            .as_ref()
            .map(|_| quote.fare_basis.as_str().to_owned()),
        card_number,
        regular_fare_tiyn: Some(quote.regular_amount.tiyn()),
    })
}

/// Prices a card ride again inside its transaction (see `fares`), from its full fare.
async fn reprice_card_ride(
    app: &App,
    tx: &mut dyn Executor,
    ride: &mut NewRide,
    card: &str,
) -> Result<(), ServiceError> {
    let catalogue = app.catalogue();
    let route = domain::catalogue::RouteId::parse(&ride.route_id)
        .ok()
        .and_then(|id| catalogue.routes.get(&id))
        .ok_or_else(|| ServiceError::internal(format!("ride {}: route gone", ride.id)))?;
    let city = catalogue
        .cities
        .get(&route.city)
        .ok_or_else(|| ServiceError::internal(format!("ride {}: city gone", ride.id)))?;
    let category = RiderCategory::parse(&ride.rider_category)
        .map_err(|e| ServiceError::internal(format!("ride {}: {e}", ride.id)))?;
    let zone = ride
        .zone
        .and_then(|z| u32::try_from(z).ok())
        .and_then(|z| Zone::new(z).ok());
    let full = catalogue
        .fare(route, category, zone)
        .or_else(|| catalogue.fare(route, RiderCategory::Regular, zone))
        .ok_or_else(|| {
            ServiceError::new(ErrorCode::FareNotConfigured, format!("route {}", route.id))
        })?;
    let priced = crate::fares::CardRide {
        card,
        city,
        route_id: &ride.route_id,
        category,
        full,
        now_ms: ride.created_at_ms,
    };
    let applied = crate::fares::card_fare(app, tx, &priced).await?;
    ride.amount_tiyn = applied.amount.tiyn();
    ride.fare_basis = Some(applied.basis.as_str().to_owned());
    Ok(())
}

fn hash_request(
    phone: &PhoneNumber,
    code: &str,
    zone: Option<Zone>,
    category: RiderCategory,
    card: Option<&str>,
) -> String {
    let mut canonical = format!(
        "{}|{}|{}|{}",
        phone.as_e164(),
        code,
        zone.map_or(0, |z| z.number()),
        category.as_str()
    );
    // A card ride's request names its card, so the key of a phone ride cannot replay as one.
    if let Some(card) = card {
        canonical.push_str("|card:");
        canonical.push_str(card);
    }
    crate::hex(
        Sha256::digest(canonical.as_bytes())
            .get(..16)
            .unwrap_or_default(),
    )
}

/// What a ride moves: the payment source's account owes the fare, the carrier is owed it.
pub(crate) fn ride_movement(ride: &NewRide) -> Result<Movement, ServiceError> {
    let bad = |e: String| ServiceError::internal(format!("ride {}: {e}", ride.id));
    Ok(Movement {
        debit: source_of(ride).account(ride)?,
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
    let ride_id = &existing.ride.id;
    let mut waiting = app.waiters.subscribe(ride_id);
    if let Some(answer) = settled_answer(app, ride_id).await? {
        return answer.map_err(final_failure);
    }
    waiting
        .wait(Duration::from_millis(app.settings.duplicate_wait_ms))
        .await;
    drop(waiting);
    match settled_answer(app, ride_id).await? {
        Some(answer) => answer.map_err(final_failure),
        None => Ok(RideOutcome::Pending {
            ride_id: ride_id.clone(),
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
pub async fn ride_holder(app: &App, ride_id: &RideId) -> Result<Option<PhoneNumber>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let Some(row) = store::rides::by_id(&mut conn, ride_id).await? else {
        return Ok(None);
    };
    PhoneNumber::parse(&row.ride.phone)
        .map(Some)
        .map_err(|e| ServiceError::internal(format!("ride {ride_id}: {e}")))
}

/// The language the ride was bought in (its replies and pages use it).
pub async fn ride_language(app: &App, ride_id: &RideId) -> Result<Language, ServiceError> {
    let mut conn = app.store.reader().await?;
    Ok(store::rides::by_id(&mut conn, ride_id)
        .await?
        .and_then(|r| Language::from_code(&r.ride.language))
        .unwrap_or_default())
}

/// A ride row's status, typed.
pub(crate) fn status_of(row: &RideRow) -> Result<RideStatus, ServiceError> {
    RideStatus::parse(&row.status)
        .map_err(|e| ServiceError::internal(format!("ride {}: {e}", row.ride.id)))
}

/// The final answer of a ride, if it has one.
pub async fn settled_answer(
    app: &App,
    ride_id: &RideId,
) -> Result<Option<Result<RideOutcome, ServiceError>>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let Some(ride) = store::rides::by_id(&mut conn, ride_id).await? else {
        return Err(ServiceError::new(
            ErrorCode::NotFound,
            format!("ride {ride_id}"),
        ));
    };
    match status_of(&ride)? {
        RideStatus::Issued => match store::tickets::by_ride(&mut conn, ride_id).await? {
            Some(row) => Ok(Some(Ok(RideOutcome::Issued(Box::new(
                tickets::issued_from_row(app, &row)?,
            ))))),
            None => Err(ServiceError::internal(format!(
                "ride {ride_id} issued without a ticket"
            ))),
        },
        // `cancelling`: refused, only the release of the reservation is still being asked for.
        RideStatus::Failed | RideStatus::Cancelling => {
            let code = ride
                .failure_code
                .as_deref()
                .and_then(ErrorCode::from_code)
                .unwrap_or(ErrorCode::PaymentDenied);
            Ok(Some(Err(ServiceError::refusal(
                code,
                Refusal::RideFailed {
                    ride_id: ride_id.clone(),
                    failure: code,
                },
            ))))
        }
        RideStatus::Reserving | RideStatus::Reserved | RideStatus::Confirming => Ok(None),
    }
}

/// The answer once a move was lost to someone else (recovery, a duplicate): whatever the ride
/// says now.
async fn answer_now(app: &App, ride: &NewRide) -> Result<RideOutcome, ServiceError> {
    let ride_id = &ride.id;
    match settled_answer(app, ride_id).await? {
        Some(answer) => answer,
        None => Ok(RideOutcome::Pending {
            ride_id: ride_id.clone(),
        }),
    }
}

/// Ticket numbers are random; on the rare collision the issue is tried again with a new one.
const ISSUE_ATTEMPTS_MAX: usize = 4;

/// Step 4: the ticket, the posted ledger and the final status in one transaction. `payment`
/// is the source's id of the captured payment (the operator's payment id).
pub(crate) async fn issue(
    app: &App,
    ride: &NewRide,
    from: RideStatus,
    payment: &str,
) -> Result<RideOutcome, ServiceError> {
    let signer = crate::keys::signer(app).await?;
    let mut issued = None;
    for attempt in 1..=ISSUE_ATTEMPTS_MAX {
        let mut tx = app.store.begin_grouped().await?;
        let prepared = Prepared {
            signer: &signer,
            ticket: None,
            paid_at_once: false,
        };
        match issue_in(app, &mut tx, ride, from, payment, prepared).await {
            Err(IssueError::NumberTaken) if attempt < ISSUE_ATTEMPTS_MAX => continue,
            Err(IssueError::NumberTaken) => {
                return Err(ServiceError::internal(format!(
                    "ride {}: every ticket number drawn was taken",
                    ride.id
                )));
            }
            Err(IssueError::Other(error)) => return Err(error),
            Ok(None) => break,
            Ok(Some(ticket)) => {
                tx.commit().await?;
                app.waiters.settled(&ride.id);
                issued = Some(ticket);
                break;
            }
        }
    }
    if let Some(ticket) = issued {
        return Ok(RideOutcome::Issued(Box::new(tickets::issued_from_row(
            app, &ticket,
        )?)));
    }
    answer_now(app, ride).await
}

/// Inside the caller's transaction: the ride `from` → `issued`, its ticket, and the posted
/// fare. `None` when the ride was no longer in `from` (settled meanwhile): nothing is written.
/// A ticket number already taken is an error the caller may retry in a new transaction.
async fn issue_in(
    app: &App,
    tx: &mut dyn Executor,
    ride: &NewRide,
    from: RideStatus,
    payment: &str,
    prepared: Prepared<'_>,
) -> Result<Option<store::tickets::TicketRow>, IssueError> {
    let now_ms = app.now_ms();
    let ticket = match prepared.ticket {
        Some(ticket) => ticket,
        None => tickets::prepare_ticket(app, ride, now_ms, prepared.signer)?,
    };
    let change = Transition {
        operator_payment_id: Some(payment),
        failure_code: None,
    };
    if !transition(tx, ride, from, RideStatus::Issued, change, now_ms).await? {
        return Ok(None);
    }
    store::tickets::insert(tx, &ticket)
        .await
        .map_err(|error| match store::is_unique_violation(&error) {
            true => IssueError::NumberTaken,
            false => IssueError::Other(error.into()),
        })?;
    let movement = ride_movement(ride)?;
    let post = match prepared.paid_at_once {
        true => movement.ride_paid_at_once(&ride.id, now_ms)?,
        false => movement.ride_transfer(&ride.id, RidePhase::Post, now_ms)?,
    };
    crate::ledger::book(tx, &post).await?;
    Ok(Some(ticket))
}

/// What [`issue_in`] signs with, and the ticket already signed for the ride (at its fare), if
/// one was.
struct Prepared<'a> {
    signer: &'a crate::keys::Signer,
    ticket: Option<store::tickets::TicketRow>,
    /// The fare is posted at once (nothing was held for it in this ride's transaction).
    paid_at_once: bool,
}

/// Why issuing in a transaction stopped: a drawn ticket number was taken (draw again, in a new
/// transaction), or anything else.
enum IssueError {
    NumberTaken,
    Other(ServiceError),
}

impl<E: Into<ServiceError>> From<E> for IssueError {
    fn from(error: E) -> IssueError {
        IssueError::Other(error.into())
    }
}

/// Voids the reservation and records why; the passenger's answer is that code.
pub(crate) async fn fail(
    app: &App,
    ride: &NewRide,
    from: RideStatus,
    code: ErrorCode,
) -> Result<RideOutcome, ServiceError> {
    let now_ms = app.now_ms();
    let void = ride_movement(ride)?.ride_transfer(&ride.id, RidePhase::Void, now_ms)?;
    let mut tx = app.store.begin().await?;
    let change = Transition {
        operator_payment_id: None,
        failure_code: Some(code.code()),
    };
    if transition(&mut tx, ride, from, RideStatus::Failed, change, now_ms).await? {
        crate::ledger::book(&mut tx, &void).await?;
        tx.commit().await?;
        app.waiters.settled(&ride.id);
        return Err(code.into());
    }
    drop(tx);
    answer_now(app, ride).await
}

/// The payment is refused but its reservation is not released yet: the passenger's answer is
/// the refusal, and the ride stays `cancelling` until recovery has the source release it.
pub(crate) async fn hold_for_release(
    app: &App,
    ride: &NewRide,
    from: RideStatus,
    payment: &str,
    code: ErrorCode,
) -> Result<RideOutcome, ServiceError> {
    let change = Transition {
        operator_payment_id: Some(payment),
        failure_code: Some(code.code()),
    };
    if move_ride(app, ride, from, RideStatus::Cancelling, change).await? {
        app.waiters.settled(&ride.id);
        return Err(code.into());
    }
    answer_now(app, ride).await
}

/// One compare-and-set move in its own transaction; false when the ride was not in `from`.
pub(crate) async fn move_ride(
    app: &App,
    ride: &NewRide,
    from: RideStatus,
    to: RideStatus,
    change: Transition<'_>,
) -> Result<bool, ServiceError> {
    let mut tx = app.store.begin().await?;
    let moved = transition(&mut tx, ride, from, to, change, app.now_ms()).await?;
    tx.commit().await?;
    Ok(moved)
}

/// Moves the ride from `from` to `to` inside the caller's transaction, only along
/// [`domain::ride::RideStatus::TRANSITIONS`]; false when the ride was not in `from` (someone else moved it).
async fn transition(
    conn: &mut dyn Executor,
    ride: &NewRide,
    from: RideStatus,
    to: RideStatus,
    change: Transition<'_>,
    now_ms: i64,
) -> Result<bool, ServiceError> {
    if !from.can_move_to(to) {
        return Err(ServiceError::internal(format!(
            "ride {}: no move {from} → {to}",
            ride.id
        )));
    }
    Ok(
        store::rides::transition(conn, &ride.id, from.as_str(), to.as_str(), change, now_ms)
            .await?,
    )
}
