//! A card ride's fare after its city's fare rules (`domain::fare_policy`: a daily cap, a
//! transfer window), from the card's rides since the start of the city's local day. The quote
//! reads them to show the passenger what they will pay; the ride reads them again inside its
//! own transaction, after the holder's lock, so two rides at once cannot both slip under a cap.

use domain::Tenge;
use domain::catalogue::RiderCategory;
use domain::fare_policy::{Applied, FareBasis, PaidRide, apply};
use store::Executor;

use crate::catalogue::City;
use crate::{App, ServiceError};

/// A card ride to price: the card, where, for whom, its full fare, and when.
pub(crate) struct CardRide<'a> {
    pub card: &'a str,
    pub city: &'a City,
    pub route_id: &'a str,
    pub category: RiderCategory,
    pub full: Tenge,
    pub now_ms: i64,
}

/// The fare of a card ride after its city's rules.
pub(crate) async fn card_fare(
    app: &App,
    conn: &mut dyn Executor,
    ride: &CardRide<'_>,
) -> Result<Applied, ServiceError> {
    let CardRide {
        card,
        city,
        route_id,
        category,
        full,
        now_ms,
    } = *ride;
    let policy = app.catalogue().fare_policy(&city.id);
    if policy.is_empty() {
        return Ok(Applied {
            amount: full,
            basis: FareBasis::Full,
            full,
            spent_today: Tenge::ZERO,
            cap: None,
        });
    }
    let since_ms = local_day_start_ms(city, now_ms)?;
    let rides = store::rides::card_rides_since(conn, card, since_ms).await?;
    let today = rides
        .into_iter()
        .map(|r| {
            let basis = FareBasis::parse(r.fare_basis.as_deref()).ok_or_else(|| {
                ServiceError::internal(format!("a ride of card {card}: unknown fare basis"))
            })?;
            Ok(PaidRide {
                at_ms: r.created_at_ms,
                route_id: r.route_id,
                amount: Tenge::from_tiyn(r.amount_tiyn),
                basis,
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    Ok(apply(&policy, category, full, route_id, now_ms, &today))
}

/// Midnight of `now_ms`'s day in the city's local time, in ms.
fn local_day_start_ms(city: &City, now_ms: i64) -> Result<i64, ServiceError> {
    let bad = |e: jiff::Error| ServiceError::internal(format!("local day of {now_ms}: {e}"));
    let at = jiff::Timestamp::from_millisecond(now_ms).map_err(bad)?;
    let start = at
        .to_zoned(city.time_zone(at))
        .start_of_day()
        .map_err(bad)?;
    Ok(start.timestamp().as_millisecond())
}
