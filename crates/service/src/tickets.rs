//! E-tickets as the passenger sees them: made and signed when a ride is paid, listed as valid
//! tickets and as trip history, and opened by the link in the SMS.

use domain::card::CardNumber;
use domain::catalogue::Zone;
use domain::ride::RideId;
use domain::ticket::{
    CityCode, FareProduct, Holder, HolderBinding, HolderKind, Issuer, RiderCategoryCode,
    RouteNumber, TICKET_NUMBER_MAX, TicketClaims, TicketNumber, TicketStatus, Validity, sign,
};
use domain::{ErrorCode, PhoneNumber, Tenge, TransportCode};
use store::rides::NewRide;
use store::tickets::TicketRow;

use crate::keys::Signer;
use crate::paging::PageCursor;
use crate::{App, ServiceError};

/// A page of trip history holds at most this many tickets.
pub const HISTORY_PAGE_MAX: i64 = 100;
/// Link codes are this many characters of base32.
pub const LINK_CODE_CHARS: usize = 12;

/// A ticket with everything the passenger and the controller are shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedTicket {
    pub number: TicketNumber,
    pub check_number: String,
    pub ride_id: RideId,
    pub token: String,
    pub link: String,
    pub link_code: String,
    pub city_id: String,
    pub route_id: String,
    pub route_number: String,
    pub transport_code: String,
    pub plate: String,
    pub rider_category: String,
    pub amount: Tenge,
    pub issued_at_ms: i64,
    pub not_after_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub status: TicketStatus,
    /// The destination zone of a zone fare.
    pub zone: Option<Zone>,
    /// 1 for the passenger's only valid ticket on this bus when bought, 2 for a second, …
    pub ordinal_on_vehicle: u32,
    /// The last four digits of the transport card that paid; None: the phone balance.
    pub card_last_four: Option<String>,
    /// Whom the ticket is bound to (the paying number or card, as its token says): what the
    /// passenger tells a controller in doubt.
    pub holder: Holder,
    /// Which fare rule priced the ride (a card ride's transfer or daily cap).
    pub fare_basis: domain::fare_policy::FareBasis,
}

impl IssuedTicket {
    pub fn is_valid_at(&self, now_ms: i64) -> bool {
        self.status == TicketStatus::Valid
            && self.ended_at_ms.is_none()
            && now_ms < self.not_after_ms
    }

    /// The status the passenger is shown: `ended` once the run has ended.
    pub fn shown_status(&self) -> &'static str {
        self.status.shown(self.ended_at_ms.is_some())
    }
}

fn bad(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(format!("ticket {what}: {e}"))
}

/// Makes the ticket row of a paid ride: number, link, signed token.
pub(crate) fn prepare_ticket(
    app: &App,
    ride: &NewRide,
    now_ms: i64,
    signer: &Signer,
) -> Result<TicketRow, ServiceError> {
    let catalogue = app.catalogue();
    let route = domain::catalogue::RouteId::parse(&ride.route_id).map_err(|e| bad("route", e))?;
    let route = catalogue
        .routes
        .get(&route)
        .ok_or_else(|| bad("route", &ride.route_id))?;
    let plate = TransportCode::parse(&ride.transport_code)
        .ok()
        .and_then(|code| catalogue.vehicles.get(&code).map(|v| v.plate.display()))
        .ok_or_else(|| bad("vehicle", &ride.transport_code))?;
    let random: [u8; 8] = crate::random_bytes()?;
    // Drawn at random from every number there is, so numbers are not guessable.
    let number = TicketNumber::new(u64::from_le_bytes(random) % (TICKET_NUMBER_MAX + 1))
        .map_err(|e| bad("number", e))?;
    let holder = crate::payment::source_of(ride).holder(ride)?;
    let issued_at_s = u64::try_from(now_ms / 1000).map_err(|e| bad("time", e))?;
    let lifetime_s = u64::from(route.max_ride_minutes) * 60;
    let fare_product = match ride.zone {
        Some(zone) => format!("ride-z{zone}"),
        None => "ride".to_owned(),
    };
    let claims = TicketClaims {
        issuer: Issuer::parse(&app.settings.issuer).map_err(|e| bad("issuer", e))?,
        key_id: signer.key.id(),
        number,
        city: CityCode::parse(&ride.city_id).map_err(|e| bad("city", e))?,
        vehicle: TransportCode::parse(&ride.transport_code).map_err(|e| bad("vehicle", e))?,
        route: RouteNumber::parse(&route.number).map_err(|e| bad("route number", e))?,
        fare_product: FareProduct::parse(&fare_product).map_err(|e| bad("fare product", e))?,
        rider_category: RiderCategoryCode::parse(&ride.rider_category)
            .map_err(|e| bad("category", e))?,
        amount: Tenge::from_tiyn(ride.amount_tiyn),
        issued_at_unix_s: issued_at_s,
        validity: Validity::UntilFinalStop {
            not_after_unix_s: issued_at_s + lifetime_s,
        },
        // Keyed: only controllers' devices, which hold the signing key's holder key, can test
        // a number or card against it (the salted digest of `SB1.` gave the number away).
        holder: HolderBinding::keyed(&signer.key.holder_key(), number, &holder),
    };
    let token = sign(&claims, &signer.key).map_err(|e| bad("signature", e))?;
    let link_bytes: [u8; 8] = crate::random_bytes()?;
    Ok(TicketRow {
        number,
        ride_id: ride.id.clone(),
        link_code: base32(&link_bytes),
        token,
        key_id: signer.key.id().to_string(),
        phone: ride.phone.clone(),
        city_id: ride.city_id.clone(),
        route_id: ride.route_id.clone(),
        transport_code: ride.transport_code.clone(),
        rider_category: ride.rider_category.clone(),
        amount_tiyn: ride.amount_tiyn,
        issued_at_ms: now_ms,
        not_after_ms: now_ms + i64::from(route.max_ride_minutes) * 60_000,
        run_id: None,
        ended_at_ms: None,
        status: TicketStatus::Valid.as_str().into(),
        zone: ride.zone,
        ordinal_on_vehicle: ride.ordinal_on_vehicle,
        route_number: Some(route.number.clone()),
        plate: Some(plate),
        card_number: ride.card_number.clone(),
        fare_basis: ride.fare_basis.clone(),
    })
}

/// Lowercase RFC 4648 base32 without padding, `LINK_CODE_CHARS` long: easy to type, safe in URLs.
fn base32(bytes: &[u8; 8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut value = u64::from_le_bytes(*bytes);
    (0..LINK_CODE_CHARS)
        .map(|_| {
            let c = ALPHABET.get((value % 32) as usize).copied().unwrap_or(b'a');
            value /= 32;
            char::from(c)
        })
        .collect()
}

pub fn issued_from_row(app: &App, row: &TicketRow) -> Result<IssuedTicket, ServiceError> {
    // As sold; only rows from before these were stored fall back to today's catalogue, and a
    // bus or route gone from it since shows its code or id, never an empty field.
    let catalogue = app.catalogue();
    let route_number = row.route_number.clone().unwrap_or_else(|| {
        domain::catalogue::RouteId::parse(&row.route_id)
            .ok()
            .and_then(|id| catalogue.routes.get(&id).map(|r| r.number.clone()))
            .unwrap_or_else(|| row.route_id.clone())
    });
    let plate = row.plate.clone().unwrap_or_else(|| {
        TransportCode::parse(&row.transport_code)
            .ok()
            .and_then(|code| catalogue.vehicles.get(&code).map(|v| v.plate.display()))
            .unwrap_or_else(|| row.transport_code.clone())
    });
    Ok(IssuedTicket {
        number: row.number,
        check_number: row.number.check_form(),
        ride_id: row.ride_id.clone(),
        token: row.token.clone(),
        link: format!(
            "{}/t/{}",
            app.settings.public_base_url.trim_end_matches('/'),
            row.link_code
        ),
        link_code: row.link_code.clone(),
        city_id: row.city_id.clone(),
        route_id: row.route_id.clone(),
        route_number,
        transport_code: row.transport_code.clone(),
        plate,
        rider_category: row.rider_category.clone(),
        amount: Tenge::from_tiyn(row.amount_tiyn),
        issued_at_ms: row.issued_at_ms,
        not_after_ms: row.not_after_ms,
        ended_at_ms: row.ended_at_ms,
        status: TicketStatus::parse(&row.status).map_err(|e| bad("status", e))?,
        zone: row
            .zone
            .map(|z| {
                u32::try_from(z)
                    .map_err(|e| bad("zone", e))
                    .and_then(|z| Zone::new(z).map_err(|e| bad("zone", e)))
            })
            .transpose()?,
        ordinal_on_vehicle: u32::try_from(row.ordinal_on_vehicle).unwrap_or(1).max(1),
        card_last_four: row
            .card_number
            .as_deref()
            .and_then(|n| n.get(n.len().saturating_sub(4)..))
            .map(str::to_owned),
        fare_basis: domain::fare_policy::FareBasis::parse(row.fare_basis.as_deref())
            .ok_or_else(|| bad("fare basis", "unknown"))?,
        holder: holder_of(row)?,
    })
}

/// Whom a stored ticket is bound to, by its own token: a card ride's ticket issued before
/// tickets named their holder's kind is bound to the phone, like every `SB2.` ticket.
fn holder_of(row: &TicketRow) -> Result<Holder, ServiceError> {
    match domain::ticket::holder_kind_of_issued(&row.token).map_err(|e| bad("token", e))? {
        HolderKind::Phone => PhoneNumber::parse(&row.phone)
            .map(Holder::Phone)
            .map_err(|e| bad("phone", e)),
        HolderKind::Card => row
            .card_number
            .as_deref()
            .ok_or_else(|| bad("card", "a card's ticket without its card"))
            .and_then(|card| CardNumber::parse(card).map_err(|e| bad("card", e)))
            .map(Holder::Card),
    }
}

/// The passenger's tickets that can be shown to a controller now.
pub async fn valid_tickets(
    app: &App,
    phone: &PhoneNumber,
) -> Result<Vec<IssuedTicket>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let rows = store::tickets::valid_for_phone(&mut conn, phone.as_e164(), app.now_ms()).await?;
    rows.iter().map(|r| issued_from_row(app, r)).collect()
}

pub struct HistoryPage {
    pub tickets: Vec<IssuedTicket>,
    pub next: Option<PageCursor>,
}

/// Trip details: every ticket of the passenger, newest first, a page at a time.
pub async fn history(
    app: &App,
    phone: &PhoneNumber,
    cursor: Option<PageCursor>,
    limit: i64,
) -> Result<HistoryPage, ServiceError> {
    let limit = limit.clamp(1, HISTORY_PAGE_MAX);
    let mut conn = app.store.reader().await?;
    let before = cursor.map(|c| (c.at_ms, c.number));
    let rows =
        store::tickets::history_for_phone(&mut conn, phone.as_e164(), before, limit + 1).await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    let tickets: Vec<IssuedTicket> = rows
        .iter()
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|r| issued_from_row(app, r))
        .collect::<Result<_, _>>()?;
    let next = if more {
        tickets.last().map(|t| PageCursor {
            at_ms: t.issued_at_ms,
            number: t.number,
        })
    } else {
        None
    };
    Ok(HistoryPage { tickets, next })
}

/// The ticket behind an SMS link.
pub async fn by_link_code(app: &App, code: &str) -> Result<IssuedTicket, ServiceError> {
    let valid = code.len() == LINK_CODE_CHARS
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
    if !valid {
        return Err(ErrorCode::NotFound.into());
    }
    let mut conn = app.store.reader().await?;
    let row = store::tickets::by_link_code(&mut conn, code)
        .await?
        .ok_or(ErrorCode::NotFound)?;
    issued_from_row(app, &row)
}

/// The hook of the live system: the vehicle reached the final stop of the run that started at
/// `run_started_ms`, so every ticket bought in it since then ends now. Until live tracking is
/// wired, tickets end at their route's maximum ride time instead.
pub async fn end_run(
    app: &App,
    vehicle: &TransportCode,
    run_started_ms: i64,
) -> Result<u64, ServiceError> {
    let mut tx = app.store.begin().await?;
    let ended =
        store::tickets::end_run(&mut tx, vehicle.as_str(), run_started_ms, app.now_ms()).await?;
    tx.commit().await?;
    Ok(ended)
}
