//! JSON shapes shared by several routes. Wire types are built by hand from domain values, so
//! the API is a contract we chose, not a dump of internal structs.

use domain::Tenge;
use serde::{Deserialize, Serialize};
use service::error::Refusal;
use service::tickets::IssuedTicket;

use crate::keys_wire::rfc3339_ms;

/// The city of the path.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct CityPath {
    #[param(example = "astana")]
    pub city: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Money {
    /// Decimal tenge, `"90.00"`.
    #[schema(example = "90.00")]
    pub amount: String,
    #[schema(schema_with = currency)]
    pub currency: &'static str,
    /// The same in tiyn, exact.
    pub tiyn: i64,
}

fn currency() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["KZT"])
}

pub(crate) fn ticket_status() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["valid", "ended", "refunded", "revoked"])
}

impl Money {
    pub fn of(amount: Tenge) -> Money {
        Money {
            amount: amount.to_decimal(),
            currency: "KZT",
            tiyn: amount.tiyn(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Ticket {
    pub ride_id: String,
    pub number: i64,
    pub check_number: String,
    /// Signed e-ticket for the QR code (SB3.…; SB2.… and SB1.… from before)
    pub token: String,
    pub link: String,
    pub city: String,
    pub route_id: String,
    pub route_number: String,
    pub transport_code: String,
    pub plate: String,
    pub rider_category: String,
    pub fare: Money,
    #[schema(format = DateTime)]
    pub issued_at: String,
    #[schema(format = DateTime)]
    pub valid_until: String,
    #[schema(schema_with = ticket_status)]
    pub status: String,
    pub valid: bool,
    /// The destination zone of a zone fare; absent on flat fares.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 9)]
    pub zone: Option<u8>,
    /// 1 for the passenger's only valid ticket on this bus when bought, 2 for a second, …
    #[schema(minimum = 1)]
    pub ordinal_on_vehicle: u32,
    /// `full`, or a card ride's `transfer` or `capped` (the city's daily cap) fare.
    #[schema(schema_with = crate::apidoc::fare_basis)]
    pub fare_basis: &'static str,
    pub holder: TicketHolder,
}

/// Whom the ticket is bound to: what to tell a controller who asks. A card's ticket names the
/// card (the passenger's own, in their own list); a phone's names no number.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TicketHolder {
    /// `phone`: the number the ticket was bought from; `card`: the transport card that paid.
    #[schema(schema_with = crate::apidoc::holder_kind)]
    pub kind: &'static str,
    /// The card's 16 digits, for a card's ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{16}$")]
    pub card: Option<String>,
}

impl TicketHolder {
    pub fn of(holder: &domain::ticket::Holder) -> TicketHolder {
        TicketHolder {
            kind: holder.kind().as_str(),
            card: match holder {
                domain::ticket::Holder::Card(card) => Some(card.as_str().to_owned()),
                domain::ticket::Holder::Phone(_) => None,
            },
        }
    }
}

impl Ticket {
    pub fn of(t: &IssuedTicket, now_ms: i64) -> Ticket {
        Ticket {
            ride_id: t.ride_id.to_string(),
            number: i64::from(t.number),
            check_number: t.check_number.clone(),
            token: t.token.clone(),
            link: t.link.clone(),
            city: t.city_id.clone(),
            route_id: t.route_id.clone(),
            route_number: t.route_number.clone(),
            transport_code: t.transport_code.clone(),
            plate: t.plate.clone(),
            rider_category: t.rider_category.clone(),
            fare: Money::of(t.amount),
            issued_at: rfc3339_ms(t.issued_at_ms),
            valid_until: rfc3339_ms(t.ended_at_ms.unwrap_or(t.not_after_ms)),
            status: t.shown_status().into(),
            valid: t.is_valid_at(now_ms),
            zone: t.zone.map(|z| z.number()),
            ordinal_on_vehicle: t.ordinal_on_vehicle,
            fare_basis: t.fare_basis.as_str(),
            holder: TicketHolder::of(&t.holder),
        }
    }
}

#[derive(Serialize)]
struct ZoneFare {
    zone: u8,
    fare: Money,
}

/// The problem members of a refusal that carries facts (RFC 9457 extension members).
pub(crate) fn refusal_members(refusal: &Refusal) -> serde_json::Map<String, serde_json::Value> {
    let value = match refusal {
        Refusal::ZoneRequired {
            route_number,
            transport_code,
            zones,
        } => serde_json::json!({
            "route_number": route_number,
            "transport_code": transport_code,
            "zones": zones
                .iter()
                .map(|(zone, fare)| ZoneFare { zone: zone.number(), fare: Money::of(*fare) })
                .collect::<Vec<_>>(),
        }),
        Refusal::AlreadyHeld {
            ticket,
            pending_ride_id,
            tickets_held,
            ..
        } => serde_json::json!({
            "tickets_held": tickets_held,
            "ticket": ticket.as_deref().map(|t| Ticket::of(t, t.issued_at_ms)),
            "pending_ride_id": pending_ride_id.as_ref().map(|id| id.as_str()),
            "buy_another": "send the same request with \"additional\": true and a new Idempotency-Key",
        }),
        Refusal::RideFailed { ride_id, failure } => serde_json::json!({
            "ride_id": ride_id.as_str(),
            // Never `status`: that member of a problem is its HTTP status.
            "ride_status": domain::ride::RideStatus::Failed.as_str(),
            "failure_code": failure.code(),
        }),
    };
    match value {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}
