//! JSON shapes shared by several routes. Wire types are built by hand from domain values, so
//! the API is a contract we chose, not a dump of internal structs.

use domain::Tenge;
use serde::Serialize;
use service::tickets::IssuedTicket;

use crate::keys_wire::rfc3339_ms;

#[derive(Serialize)]
pub(crate) struct Money {
    /// Decimal tenge, `"90.00"`.
    pub amount: String,
    pub currency: &'static str,
    /// The same in tiyn, exact.
    pub tiyn: i64,
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

#[derive(Serialize)]
pub(crate) struct Ticket {
    pub ride_id: String,
    pub number: i64,
    pub check_number: String,
    pub token: String,
    pub link: String,
    pub city: String,
    pub route_id: String,
    pub route_number: String,
    pub transport_code: String,
    pub plate: String,
    pub rider_category: String,
    pub fare: Money,
    pub issued_at: String,
    pub valid_until: String,
    pub status: String,
    pub valid: bool,
}

impl Ticket {
    pub fn of(t: &IssuedTicket, now_ms: i64) -> Ticket {
        Ticket {
            ride_id: t.ride_id.clone(),
            number: t.number,
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
            status: if t.ended_at_ms.is_some() {
                "ended".into()
            } else {
                t.status.clone()
            },
            valid: t.is_valid_at(now_ms),
        }
    }
}
