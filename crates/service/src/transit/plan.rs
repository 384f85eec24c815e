//! Routes as the public list shows them, the catalogue's fares of a journey, and the journey
//! planner's request: endpoints and departure in the city's local time, the plan with fares.

use std::sync::Arc;

use ::transit::{FareRide, FareRules};
use domain::catalogue::{CityId, RiderCategory};
use domain::{ErrorCode, Tenge};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use super::{
    CityTransit, Coordinate, Date, Journey, LineIdx, Place, PlanOptions, ServiceTime, city,
};
use crate::catalogue::{Catalogue, Route};
use crate::{App, ServiceError};

/// The catalogue route of a city with this number, if any.
pub fn catalogue_route<'c>(
    catalogue: &'c Catalogue,
    city: &CityId,
    number: &str,
) -> Option<&'c Route> {
    let number = number.trim();
    catalogue
        .routes
        .values()
        .find(|r| &r.city == city && r.number.trim().eq_ignore_ascii_case(number))
}

/// A GTFS route with its catalogue route and regular fare, when linked.
#[derive(Clone, Debug)]
pub struct RouteListing {
    pub line: LineIdx,
    pub catalogue_route: Option<Route>,
    pub fare: Option<Tenge>,
}

/// The city's GTFS routes, in feed order, linked to the catalogue.
pub fn routes(catalogue: &Catalogue, data: &CityTransit) -> Vec<RouteListing> {
    data.feed
        .lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| {
            let route = catalogue_route(catalogue, &data.city, &line.short_name);
            Some(RouteListing {
                line: LineIdx::new(u32::try_from(i).ok()?),
                fare: route.and_then(|r| catalogue.fare(r, RiderCategory::Regular, None)),
                catalogue_route: route.cloned(),
            })
        })
        .collect()
}

/// A city's fare rules as the planner's fare hook sees them: each ride costs the regular fare
/// of its catalogue route; a journey the sum.
pub struct CatalogueFares<'a> {
    pub catalogue: &'a Catalogue,
    pub data: &'a CityTransit,
}

impl FareRules for CatalogueFares<'_> {
    type Fare = Tenge;

    fn fare(&self, rides: &[FareRide<'_>]) -> Option<Tenge> {
        rides.iter().try_fold(Tenge::from_tiyn(0), |sum, ride| {
            let line = self
                .data
                .feed
                .line_idx(ride.route_id.as_str())
                .and_then(|l| self.data.feed.line(l))?;
            let route = catalogue_route(self.catalogue, &self.data.city, &line.short_name)?;
            // Suburban fares go by the zone the passenger rides to (the alighting stop's
            // `zone_id`); zone 1 when the feed does not say.
            let zone = (route.kind == domain::catalogue::RouteKind::Suburban).then(|| {
                self.data
                    .feed
                    .stop(ride.to)
                    .and_then(|stop| stop.zone_id.as_deref())
                    .and_then(|z| z.trim().parse::<u32>().ok())
                    .and_then(|z| domain::catalogue::Zone::new(z).ok())
                    .or_else(|| domain::catalogue::Zone::new(1).ok())
            });
            let fare = self
                .catalogue
                .fare(route, RiderCategory::Regular, zone.flatten())?;
            sum.checked_add(fare).ok()
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Planning

/// Where a journey starts or ends, as the passenger gave it.
#[derive(Clone, Debug, PartialEq)]
pub enum Endpoint {
    /// A point (GPS, the map).
    Point(Coordinate),
    /// A stop, by GTFS id (a stop search result).
    Stop(String),
    /// An address search result, by its position in the city's list.
    Address(usize),
}

/// When the passenger leaves.
#[derive(Clone, Debug, PartialEq)]
pub enum Departure {
    /// Now, by the app's clock.
    Now,
    /// An instant.
    At(Timestamp),
    /// A wall-clock time in the city, on a date (today in the city when absent).
    Local {
        date: Option<Date>,
        hour: u8,
        minute: u8,
    },
}

impl Departure {
    /// Parses RFC 3339 (`2025-09-10T08:00:00+05:00`) or a local `HH:MM`; `None` when neither.
    pub fn parse(text: &str, date: Option<Date>) -> Option<Departure> {
        let text = text.trim();
        if let Some((hour, minute)) = text
            .split_once(':')
            .filter(|(h, m)| h.len() <= 2 && m.len() == 2)
        {
            let hour: u8 = hour.parse().ok().filter(|h| *h < 24)?;
            let minute: u8 = minute.parse().ok().filter(|m| *m < 60)?;
            return Some(Departure::Local { date, hour, minute });
        }
        text.parse::<Timestamp>().ok().map(Departure::At)
    }
}

/// A plan request, each part already checked.
#[derive(Clone, Debug)]
pub struct PlanRequest {
    pub city: String,
    pub from: Endpoint,
    pub to: Endpoint,
    pub departure: Departure,
    pub options: PlanOptions,
}

/// A journey and its fare (`None` when some ride has no catalogue fare).
#[derive(Clone, Debug)]
pub struct PlannedJourney {
    pub journey: Journey,
    pub fare: Option<Tenge>,
}

/// The answer to a plan request.
pub struct Plan {
    pub data: Arc<CityTransit>,
    /// The city's time zone, for turning service times into instants.
    pub zone: TimeZone,
    pub service_date: Date,
    pub journeys: Vec<PlannedJourney>,
}

impl Plan {
    /// A service time of this plan as a zoned instant in the city.
    pub fn zoned(&self, time: ServiceTime) -> Option<Zoned> {
        let midnight = self.service_date.to_zoned(self.zone.clone()).ok()?;
        midnight
            .checked_add(jiff::SignedDuration::from_secs(i64::from(time.seconds())))
            .ok()
    }
}

fn departure_in_city(
    app: &App,
    departure: &Departure,
    zone: &TimeZone,
) -> Result<Zoned, ServiceError> {
    let bad = |detail: String| ServiceError::new(ErrorCode::DepartureTimeInvalid, detail);
    let now = Timestamp::from_millisecond(app.now_ms())
        .map_err(|e| ServiceError::internal(format!("clock: {e}")))?;
    match departure {
        Departure::Now => Ok(now.to_zoned(zone.clone())),
        Departure::At(instant) => Ok(instant.to_zoned(zone.clone())),
        Departure::Local { date, hour, minute } => {
            let date = date.unwrap_or_else(|| now.to_zoned(zone.clone()).date());
            let time = jiff::civil::Time::new(*hour as i8, *minute as i8, 0, 0)
                .map_err(|e| bad(e.to_string()))?;
            date.to_datetime(time)
                .to_zoned(zone.clone())
                .map_err(|e| bad(e.to_string()))
        }
    }
}

fn place(data: &CityTransit, endpoint: &Endpoint) -> Result<Place, ServiceError> {
    match endpoint {
        Endpoint::Point(point) => Ok(Place::Point(*point)),
        Endpoint::Stop(id) => data
            .stop(id)
            .map(|(idx, _)| Place::Stop(idx))
            .ok_or_else(|| ServiceError::new(ErrorCode::NotFound, format!("unknown stop {id:?}"))),
        Endpoint::Address(n) => data
            .addresses
            .get(*n)
            .map(|a| Place::Point(a.coordinate))
            .ok_or_else(|| ServiceError::new(ErrorCode::NotFound, format!("unknown address {n}"))),
    }
}

/// Plans journeys: the Pareto set of arrival time and transfers, each with legs and fare.
/// When nothing arrives within the asked window, the plan looks this far ahead instead.
pub const NIGHT_SEARCH_WINDOW_S: u32 = 12 * 3600;

pub async fn plan(app: &App, request: PlanRequest) -> Result<Plan, ServiceError> {
    let (city, data) = city(app, &request.city).await?;
    let now = Timestamp::from_millisecond(app.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH);
    let zone = city.time_zone(now);
    let leaving = departure_in_city(app, &request.departure, &zone)?;
    let service_date = leaving.date();
    let seconds = i32::from(leaving.hour()) * 3600
        + i32::from(leaving.minute()) * 60
        + i32::from(leaving.second());
    let departure = ServiceTime::from_seconds(seconds).ok_or_else(|| {
        ServiceError::new(ErrorCode::DepartureTimeInvalid, "time of day out of range")
    })?;
    let from = place(&data, &request.from)?;
    let to = place(&data, &request.to)?;
    let catalogue = app.catalogue();
    let planning = Arc::clone(&data);
    let options = request.options;
    let journeys =
        tokio::task::spawn_blocking(move || -> Result<Vec<PlannedJourney>, ServiceError> {
            let timetable = planning.timetable(service_date)?;
            let planner = ::transit::Planner::new(timetable);
            let mut journeys = planner
                .plan(from, to, departure, &options)
                .map_err(plan_error)?;
            if journeys.is_empty() {
                // Late at night nothing runs within the usual window: look as far as the first
                // buses of the morning rather than answer with nothing.
                let wider = options
                    .with_search_window_s(NIGHT_SEARCH_WINDOW_S)
                    .map_err(plan_error)?;
                journeys = planner
                    .plan(from, to, departure, &wider)
                    .map_err(plan_error)?;
            }
            let fares = CatalogueFares {
                catalogue: &catalogue,
                data: &planning,
            };
            Ok(journeys
                .into_iter()
                .map(|journey| PlannedJourney {
                    fare: journey.fare(&fares),
                    journey,
                })
                .collect())
        })
        .await
        .map_err(|e| ServiceError::internal(format!("planning: {e}")))??;
    Ok(Plan {
        data,
        zone,
        service_date,
        journeys,
    })
}

fn plan_error(error: ::transit::PlanError) -> ServiceError {
    match error {
        ::transit::PlanError::OptionOutOfRange { .. } => {
            ServiceError::new(ErrorCode::BadRequest, error.to_string())
        }
        ::transit::PlanError::UnknownStop(_) => {
            ServiceError::new(ErrorCode::NotFound, error.to_string())
        }
        ::transit::PlanError::NoStopNearby { .. } => {
            ServiceError::new(ErrorCode::NoStopNearby, error.to_string())
        }
    }
}
