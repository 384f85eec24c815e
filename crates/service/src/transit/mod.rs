//! Transit data per city for the public list, the map and the journey planner: each city's
//! parsed feed, search index and per-date timetables in memory, loaded from the store the
//! first time a city is asked for. By concern:
//! - this module: the hub, a city's data (bounds, stops, stops near a point) and reading it;
//! - [`import`]: a GTFS feed and an address list checked and written to the store, the city
//!   created from the feed when asked, the import's summary;
//! - [`plan`]: routes as listed, catalogue fares of a journey, the journey planner's request.
//!
//! The store keeps the validated zip bytes (one row per city, replaced in one transaction);
//! memory keeps what is built from them. A new import swaps the city's `Arc` whole, so queries
//! running on the old data finish undisturbed. CPU-heavy work (parsing, building a timetable,
//! planning) runs on the blocking pool, never on a request's executor thread.
//!
//! Fares come from the catalogue: a GTFS route is linked to the catalogue route of the same
//! city with the same number (`route_short_name`), and a journey costs the sum of the regular
//! fares of its rides.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use ::transit::gtfs::Feed;
use ::transit::search::{Address, SearchIndex};
use ::transit::{Timetable, TimetableOptions};
use domain::ErrorCode;
use domain::catalogue::CityId;

pub use ::transit::geo::Coordinate;
pub use ::transit::gtfs::{Line, RouteKind as GtfsRouteKind, Stop};
pub use ::transit::network::{LineVariant, line_variants};
pub use ::transit::planner as planner_limits;
pub use ::transit::search::{SearchHit, SearchTarget};
pub use ::transit::{
    Date, GtfsRouteId, GtfsStopId, GtfsTripId, Journey, Leg, LineIdx, Place, PlanError,
    PlanOptions, RideLeg, ServiceTime, StopIdx, WalkLeg,
};

use crate::catalogue::City;
use crate::{App, ServiceError};

pub mod import;
pub mod plan;

pub use import::{
    AddressImportSummary, FeedImport, ImportStep, ImportSummary, NewCity, Progress,
    import_addresses, import_feed, import_staff_feed, no_progress, problem_kind,
};
pub use plan::{
    CatalogueFares, Departure, Endpoint, NIGHT_SEARCH_WINDOW_S, Plan, PlanRequest, PlannedJourney,
    RouteListing, catalogue_route, plan, routes,
};

/// Largest feed zip accepted, bytes.
pub const FEED_BYTES_MAX: usize = 256 * 1024 * 1024;
/// Largest address list accepted, bytes.
pub const ADDRESS_BYTES_MAX: usize = 256 * 1024 * 1024;
/// Timetables (one per service date) kept per city; older dates are rebuilt when asked again.
pub const TIMETABLES_PER_CITY_MAX: usize = 4;
/// Widest "stops near a point" circle, metres.
pub const STOPS_NEAR_RADIUS_M_MAX: u32 = 2_000;
/// Most stops returned by "stops near a point".
pub const STOPS_NEAR_RESULTS_MAX: usize = 50;
/// Most search results.
pub const SEARCH_RESULTS_MAX: usize = ::transit::search::RESULTS_LIMIT;
/// Problem lines kept in a stored import summary.
pub const SUMMARY_PROBLEMS_MAX: usize = 20;

/// The transit data of every city that has some, built lazily from the store.
#[derive(Default)]
pub struct TransitHub {
    cities: RwLock<HashMap<CityId, Option<Arc<CityTransit>>>>,
    /// Serialises loading from the store, so two first requests parse a feed once.
    loading: tokio::sync::Mutex<()>,
}

/// One city's transit data, immutable once built (the timetable cache aside).
pub struct CityTransit {
    pub city: CityId,
    pub feed: Arc<Feed>,
    pub addresses: Vec<Address>,
    pub search: SearchIndex,
    pub imported_at_ms: i64,
    stops: ::transit::StopLocator,
    /// Most recently used first.
    timetables: Mutex<Vec<Arc<Timetable>>>,
}

impl CityTransit {
    fn new(city: CityId, feed: Feed, addresses: Vec<Address>, imported_at_ms: i64) -> CityTransit {
        let search = SearchIndex::build(&feed, &addresses);
        let stops = ::transit::StopLocator::new(&feed);
        CityTransit {
            city,
            feed: Arc::new(feed),
            addresses,
            search,
            imported_at_ms,
            stops,
            timetables: Mutex::new(Vec::new()),
        }
    }

    /// The timetable of a service date, built on first use (CPU-heavy: call it off the
    /// executor) and kept for the next requests.
    pub fn timetable(&self, date: Date) -> Result<Arc<Timetable>, ServiceError> {
        let cached = self
            .lock_timetables()
            .iter()
            .find(|t| t.date() == date)
            .cloned();
        if let Some(timetable) = cached {
            return Ok(timetable);
        }
        let built = Timetable::build(Arc::clone(&self.feed), date, TimetableOptions::default())
            .map_err(|e| {
                ServiceError::new(
                    ErrorCode::DepartureTimeInvalid,
                    format!("no timetable for {date}: {e}"),
                )
            })?;
        let built = Arc::new(built);
        let mut cache = self.lock_timetables();
        cache.retain(|t| t.date() != date);
        cache.insert(0, Arc::clone(&built));
        cache.truncate(TIMETABLES_PER_CITY_MAX);
        Ok(built)
    }

    fn lock_timetables(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Timetable>>> {
        self.timetables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The box around the city's placed stops, (south-west, north-east): where the city is, for
    /// a passenger's app to find the nearest one; `None` when no stop is placed.
    pub fn bounds(&self) -> Option<(Coordinate, Coordinate)> {
        let mut points = self.feed.stops.iter().filter_map(|s| s.coordinate);
        let first = points.next()?;
        let (mut south, mut west, mut north, mut east) =
            (first.lat(), first.lon(), first.lat(), first.lon());
        for c in points {
            south = south.min(c.lat());
            north = north.max(c.lat());
            west = west.min(c.lon());
            east = east.max(c.lon());
        }
        Some((
            Coordinate::new(south, west).ok()?,
            Coordinate::new(north, east).ok()?,
        ))
    }

    /// A stop by its GTFS id.
    pub fn stop(&self, gtfs_id: &str) -> Option<(StopIdx, &Stop)> {
        let idx = self.feed.stop_idx(gtfs_id)?;
        Some((idx, self.feed.stop(idx)?))
    }

    /// Stops with coordinates within `radius_m` of `point`, nearest first.
    pub fn stops_near(
        &self,
        point: Coordinate,
        radius_m: u32,
        limit: usize,
    ) -> Vec<(StopIdx, u32)> {
        let radius = f64::from(radius_m.min(STOPS_NEAR_RADIUS_M_MAX));
        let served_here = |stop: StopIdx| {
            self.feed
                .stop(stop)
                .is_some_and(|s| s.kind != ::transit::gtfs::LocationKind::Other)
        };
        self.stops
            .stops_near(
                point,
                radius,
                limit.min(STOPS_NEAR_RESULTS_MAX),
                served_here,
            )
            .into_iter()
            .map(|(s, d)| (s, d.round() as u32))
            .collect()
    }
}

impl TransitHub {
    fn get(&self, city: &CityId) -> Option<Option<Arc<CityTransit>>> {
        let guard = self
            .cities
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.get(city).cloned()
    }

    fn publish(&self, city: CityId, data: Arc<CityTransit>) {
        let mut guard = self
            .cities
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.insert(city, Some(data));
    }

    /// Publishes what was loaded unless an import got there first.
    fn publish_loaded(
        &self,
        city: CityId,
        data: Option<Arc<CityTransit>>,
    ) -> Option<Arc<CityTransit>> {
        let mut guard = self
            .cities
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.entry(city).or_insert(data).clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a city

/// The catalogue city and its transit data; `NotFound` when either is missing.
pub async fn city(app: &App, city: &str) -> Result<(City, Arc<CityTransit>), ServiceError> {
    let catalogue = app.catalogue();
    let id = CityId::parse(city)
        .map_err(|_| ServiceError::new(ErrorCode::NotFound, format!("unknown city {city:?}")))?;
    let found =
        catalogue.cities.get(&id).cloned().ok_or_else(|| {
            ServiceError::new(ErrorCode::NotFound, format!("unknown city {city:?}"))
        })?;
    let data = transit_of(app, &id).await?.ok_or_else(|| {
        ServiceError::new(
            ErrorCode::NotFound,
            format!("city {city:?} has no transit data"),
        )
    })?;
    Ok((found, data))
}

async fn transit_of(app: &App, city: &CityId) -> Result<Option<Arc<CityTransit>>, ServiceError> {
    if let Some(known) = app.transit.get(city) {
        return Ok(known);
    }
    let _loading = app.transit.loading.lock().await;
    if let Some(known) = app.transit.get(city) {
        return Ok(known);
    }
    let (feed_row, addresses_row) = {
        let mut conn = app.store.reader().await?;
        (
            store::transit::feed(&mut conn, city.as_str()).await?,
            store::transit::addresses(&mut conn, city.as_str()).await?,
        )
    };
    let loaded = match feed_row {
        None => None,
        Some(row) => {
            let id = city.clone();
            let csv = addresses_row.map(|a| a.csv);
            let built =
                tokio::task::spawn_blocking(move || -> Result<CityTransit, ServiceError> {
                    let feed = ::transit::gtfs::read_feed(std::io::Cursor::new(row.feed)).map_err(
                        |e| {
                            ServiceError::internal(format!(
                                "stored feed of {id} no longer reads: {e}"
                            ))
                        },
                    )?;
                    let addresses = match csv {
                        Some(csv) => import::read_address_list(&csv)?.0,
                        None => Vec::new(),
                    };
                    Ok(CityTransit::new(id, feed, addresses, row.imported_at_ms))
                })
                .await
                .map_err(|e| ServiceError::internal(format!("loading transit data: {e}")))??;
            Some(Arc::new(built))
        }
    };
    Ok(app.transit.publish_loaded(city.clone(), loaded))
}
