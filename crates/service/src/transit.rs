//! Transit data per city for the public list, the map and the journey planner: importing a
//! GTFS feed and an address list into the store, keeping each city's parsed feed, search index
//! and per-date timetables in memory, and answering route, stop, search and plan questions.
//!
//! The store keeps the validated zip bytes (one row per city, replaced in one transaction);
//! memory keeps what is built from them. A new import swaps the city's `Arc` whole, so queries
//! running on the old data finish undisturbed. A city is loaded from the store the first time
//! it is asked for. CPU-heavy work (parsing, building a timetable, planning) runs on the
//! blocking pool, never on a request's executor thread.
//!
//! Fares come from the catalogue: a GTFS route is linked to the catalogue route of the same
//! city with the same number (`route_short_name`), and a journey costs the sum of the regular
//! fares of its rides.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex, RwLock};

use ::transit::gtfs::{Feed, FieldProblem, GtfsError, ImportReport};
use ::transit::search::{Address, SearchIndex};
use ::transit::{FareRide, FareRules, Timetable, TimetableOptions};
use domain::catalogue::{CityId, RiderCategory};
use domain::catalogue_file::{CatalogueFile, CityEntry};
use domain::{ErrorCode, Tenge};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use sha2::{Digest, Sha256};

pub use ::transit::geo::Coordinate;
pub use ::transit::gtfs::{Line, RouteKind as GtfsRouteKind, Stop};
pub use ::transit::network::{LineVariant, line_variants};
pub use ::transit::planner as planner_limits;
pub use ::transit::search::{SearchHit, SearchTarget};
pub use ::transit::{
    Date, Journey, Leg, LineIdx, Place, PlanError, PlanOptions, RideLeg, ServiceTime, StopIdx,
    WalkLeg,
};

use crate::catalogue::{Catalogue, City, Route};
use crate::{App, ServiceError};

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
                        Some(csv) => read_address_list(&csv)?.0,
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

// ---------------------------------------------------------------------------------------------
// Importing

/// How far an import has come, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportStep {
    /// Reading the zip: compressed bytes consumed so far of the total.
    Reading { done_bytes: u64, total_bytes: u64 },
    /// Writing to the store.
    Storing,
    /// Building the search index and publishing.
    Publishing,
}

/// Receives progress; the CLI draws a bar, the server passes [`no_progress`].
pub type Progress = Arc<dyn Fn(ImportStep) + Send + Sync>;

/// A progress receiver that ignores everything.
pub fn no_progress() -> Progress {
    Arc::new(|_| {})
}

/// A city to create for a feed whose city is not in the catalogue yet.
#[derive(Clone, Debug)]
pub struct NewCity {
    /// Its name (used for all three languages until the catalogue file names it properly).
    pub name: String,
}

/// What to import.
#[derive(Clone, Debug)]
pub struct FeedImport {
    pub city: String,
    /// Create the city from the feed's agency time zone when it is not in the catalogue.
    pub create_city: Option<NewCity>,
    pub feed: Vec<u8>,
}

/// What an import did.
#[derive(Clone, Debug)]
pub struct ImportSummary {
    pub city: CityId,
    pub city_created: bool,
    pub report: ImportReport,
    pub agencies: usize,
    pub stops: usize,
    pub routes: usize,
    pub trips: usize,
    pub stop_times: usize,
    pub shapes: usize,
    pub services: usize,
    pub frequencies: usize,
    pub transfers: usize,
    /// Skipped problems counted by kind (over the problems kept with their position).
    pub problems_by_kind: BTreeMap<&'static str, u64>,
    /// GTFS route short names linked to a catalogue route, and those that are not.
    pub linked_routes: Vec<String>,
    pub unlinked_routes: Vec<String>,
    pub feed_sha256: String,
}

/// Imports a city's GTFS zip: parses and checks it completely, then replaces the city's
/// stored feed in one transaction and publishes it. A fatal problem returns an error with the
/// file, line and field, and leaves the previous data untouched.
pub async fn import_feed(
    app: &App,
    request: FeedImport,
    progress: Progress,
) -> Result<ImportSummary, ServiceError> {
    import(app, None, request, progress).await
}

/// [`import_feed`] asked for by staff (the operator's console's upload): the replacement is
/// recorded in the audit trail, in the transaction that stores the feed.
pub async fn import_staff_feed(
    app: &App,
    actor: &crate::staff::Actor,
    request: FeedImport,
) -> Result<ImportSummary, ServiceError> {
    import(app, Some(actor), request, no_progress()).await
}

async fn import(
    app: &App,
    actor: Option<&crate::staff::Actor>,
    request: FeedImport,
    progress: Progress,
) -> Result<ImportSummary, ServiceError> {
    if request.feed.len() > FEED_BYTES_MAX {
        return Err(ServiceError::new(
            ErrorCode::BodyTooLarge,
            format!("feed larger than {FEED_BYTES_MAX} bytes"),
        ));
    }
    let city = CityId::parse(&request.city)
        .map_err(|e| ServiceError::new(ErrorCode::BadRequest, e.to_string()))?;
    let bytes = Arc::new(request.feed);
    let feed = parse_feed(Arc::clone(&bytes), Arc::clone(&progress)).await?;
    let city_created = ensure_city(app, &city, request.create_city.as_ref(), &feed).await?;
    let feed_sha256 = crate::hex(&Sha256::digest(bytes.as_slice()));
    let mut summary = summarise(&app.catalogue(), &city, &feed, feed_sha256, city_created);
    progress(ImportStep::Storing);
    let imported_at_ms = app.now_ms();
    let row = store::transit::FeedRow {
        city_id: city.as_str().to_owned(),
        feed: bytes.as_ref().clone(),
        feed_sha256: summary.feed_sha256.clone(),
        summary: summary_text(&summary),
        imported_at_ms,
    };
    let mut tx = app.store.begin().await?;
    store::transit::replace_feed(&mut tx, &row).await?;
    if let Some(actor) = actor {
        crate::audit::record(
            &mut tx,
            actor,
            &crate::audit::Change {
                action: "gtfs.import",
                object: &format!("gtfs:{city}"),
                before: "",
                after: &format!(
                    "sha256 {} stops={} routes={} trips={} problems={}",
                    summary.feed_sha256,
                    summary.stops,
                    summary.routes,
                    summary.trips,
                    summary.report.problem_count
                ),
            },
            imported_at_ms,
        )
        .await?;
    }
    tx.commit().await?;
    progress(ImportStep::Publishing);
    let addresses = current_addresses(app, &city).await?;
    let id = city.clone();
    let data =
        tokio::task::spawn_blocking(move || CityTransit::new(id, feed, addresses, imported_at_ms))
            .await
            .map_err(|e| ServiceError::internal(format!("indexing: {e}")))?;
    app.transit.publish(city.clone(), Arc::new(data));
    summary.city = city;
    Ok(summary)
}

/// Parses the feed off the executor, reporting bytes read; fatal problems become `BadRequest`
/// with the parser's precise words. A feed without any trip is refused too.
async fn parse_feed(bytes: Arc<Vec<u8>>, progress: Progress) -> Result<Feed, ServiceError> {
    let parsed = tokio::task::spawn_blocking(move || -> Result<Feed, GtfsError> {
        let total_bytes = bytes.len() as u64;
        let reader = CountingReader {
            inner: std::io::Cursor::new(bytes.as_slice()),
            total_bytes,
            progress: Arc::clone(&progress),
            reported: 0,
        };
        let feed = ::transit::gtfs::read_feed(reader)?;
        progress(ImportStep::Reading {
            done_bytes: total_bytes,
            total_bytes,
        });
        Ok(feed)
    })
    .await
    .map_err(|e| ServiceError::internal(format!("parsing: {e}")))?;
    let feed = parsed
        .map_err(|e| ServiceError::new(ErrorCode::BadRequest, format!("GTFS feed refused: {e}")))?;
    if feed.trips.is_empty() || feed.stops.is_empty() {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            "GTFS feed refused: it has no usable stops or trips",
        ));
    }
    Ok(feed)
}

/// Makes sure the catalogue has the city; creates it from the feed's agency time zone when
/// asked. Returns whether it was created.
async fn ensure_city(
    app: &App,
    city: &CityId,
    create: Option<&NewCity>,
    feed: &Feed,
) -> Result<bool, ServiceError> {
    if app.catalogue().cities.contains_key(city) {
        return Ok(false);
    }
    let Some(new) = create else {
        return Err(ServiceError::new(
            ErrorCode::NotFound,
            format!(
                "city {city} is not in the catalogue: add it to the catalogue file, or pass --create-city NAME"
            ),
        ));
    };
    let timezone = feed
        .agencies
        .first()
        .map(|a| a.timezone.clone())
        .unwrap_or_else(|| "UTC".to_owned());
    let zone = TimeZone::get(&timezone).map_err(|e| {
        ServiceError::new(
            ErrorCode::BadRequest,
            format!("agency_timezone {timezone:?} is not a known time zone: {e}"),
        )
    })?;
    let offset_minutes = zone
        .to_offset(Timestamp::from_millisecond(app.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH))
        .seconds()
        / 60;
    let file = CatalogueFile {
        cities: vec![CityEntry {
            id: city.as_str().to_owned(),
            name_kk: new.name.clone(),
            name_ru: new.name.clone(),
            name_en: new.name.clone(),
            timezone,
            utc_offset_minutes: i64::from(offset_minutes),
            fares: Vec::new(),
            fare_caps: Vec::new(),
            transfer: None,
            carriers: Vec::new(),
            routes: Vec::new(),
            vehicles: Vec::new(),
        }],
        ..CatalogueFile::default()
    };
    crate::catalogue::apply_file(app, &file).await?;
    Ok(true)
}

fn summarise(
    catalogue: &Catalogue,
    city: &CityId,
    feed: &Feed,
    feed_sha256: String,
    city_created: bool,
) -> ImportSummary {
    let mut problems_by_kind = BTreeMap::new();
    for problem in &feed.report.problems {
        *problems_by_kind
            .entry(problem_kind(&problem.problem))
            .or_insert(0) += 1;
    }
    let mut linked_routes = Vec::new();
    let mut unlinked_routes = Vec::new();
    for line in &feed.lines {
        match catalogue_route(catalogue, city, &line.short_name) {
            Some(_) => linked_routes.push(line.short_name.clone()),
            None => unlinked_routes.push(line.short_name.clone()),
        }
    }
    ImportSummary {
        city: city.clone(),
        city_created,
        report: feed.report.clone(),
        agencies: feed.agencies.len(),
        stops: feed.stops.len(),
        routes: feed.lines.len(),
        trips: feed.trips.len(),
        stop_times: feed.stop_time_count(),
        shapes: feed.shapes.len(),
        services: feed.services.len(),
        frequencies: feed.frequencies.len(),
        transfers: feed.transfers.len(),
        problems_by_kind,
        linked_routes,
        unlinked_routes,
        feed_sha256,
    }
}

/// A stable name for a kind of skipped problem.
pub fn problem_kind(problem: &FieldProblem) -> &'static str {
    match problem {
        FieldProblem::Missing => "missing value",
        FieldProblem::BadTime(_) => "bad time",
        FieldProblem::BadDate(_) => "bad date",
        FieldProblem::BadValue(_) => "bad value",
        FieldProblem::CoordinateOutOfRange(_) => "coordinate out of range",
        FieldProblem::UnknownReference { .. } => "unknown reference",
        FieldProblem::Duplicate(_) => "duplicate id",
        FieldProblem::BadTrip { .. } => "bad trip",
    }
}

fn summary_text(summary: &ImportSummary) -> String {
    let mut text = format!(
        "stops={} routes={} trips={} stop_times={} shapes={} skipped={}",
        summary.stops,
        summary.routes,
        summary.trips,
        summary.stop_times,
        summary.shapes,
        summary.report.problem_count
    );
    for problem in summary.report.problems.iter().take(SUMMARY_PROBLEMS_MAX) {
        text.push('\n');
        text.push_str(&problem.to_string());
    }
    text
}

async fn current_addresses(app: &App, city: &CityId) -> Result<Vec<Address>, ServiceError> {
    let row = {
        let mut conn = app.store.reader().await?;
        store::transit::addresses(&mut conn, city.as_str()).await?
    };
    match row {
        Some(row) => Ok(read_address_list(&row.csv)?.0),
        None => Ok(Vec::new()),
    }
}

fn read_address_list(
    csv: &[u8],
) -> Result<(Vec<Address>, Vec<::transit::search::AddressProblem>), ServiceError> {
    ::transit::search::read_addresses(csv)
        .map_err(|e| ServiceError::new(ErrorCode::BadRequest, e.to_string()))
}

/// What an address import did.
#[derive(Clone, Debug)]
pub struct AddressImportSummary {
    pub city: CityId,
    pub addresses: usize,
    /// Skipped rows: line and reason.
    pub skipped: Vec<(u64, String)>,
}

/// Imports a city's address list (format: `transit::search` module docs), replacing the old
/// one; the city must already have a feed.
pub async fn import_addresses(
    app: &App,
    city: &str,
    csv: Vec<u8>,
) -> Result<AddressImportSummary, ServiceError> {
    if csv.len() > ADDRESS_BYTES_MAX {
        return Err(ServiceError::new(
            ErrorCode::BodyTooLarge,
            format!("address list larger than {ADDRESS_BYTES_MAX} bytes"),
        ));
    }
    let (_, current) = self::city(app, city).await?;
    let (addresses, problems) = read_address_list(&csv)?;
    let imported_at_ms = app.now_ms();
    let row = store::transit::AddressesRow {
        city_id: current.city.as_str().to_owned(),
        csv,
        address_count: i64::try_from(addresses.len()).unwrap_or(i64::MAX),
        imported_at_ms,
    };
    let mut tx = app.store.begin().await?;
    store::transit::replace_addresses(&mut tx, &row).await?;
    tx.commit().await?;
    let count = addresses.len();
    let id = current.city.clone();
    let feed = Arc::clone(&current.feed);
    let data = tokio::task::spawn_blocking(move || {
        let search = SearchIndex::build(&feed, &addresses);
        CityTransit {
            city: id,
            stops: current.stops.clone(),
            feed,
            addresses,
            search,
            imported_at_ms: current.imported_at_ms,
            timetables: Mutex::new(current.lock_timetables().clone()),
        }
    })
    .await
    .map_err(|e| ServiceError::internal(format!("indexing: {e}")))?;
    let city_id = data.city.clone();
    app.transit.publish(city_id.clone(), Arc::new(data));
    Ok(AddressImportSummary {
        city: city_id,
        addresses: count,
        skipped: problems.into_iter().map(|p| (p.line, p.reason)).collect(),
    })
}

/// Reports how much of the zip has been read; the zip reader seeks, so the position is the
/// progress (it only moves forward while files stream).
struct CountingReader<R> {
    inner: R,
    total_bytes: u64,
    progress: Progress,
    reported: u64,
}

/// Report at most every this many bytes.
const PROGRESS_STEP_BYTES: u64 = 64 * 1024;

impl<R: Read + Seek> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        let position = self.inner.stream_position()?;
        if position >= self.reported.saturating_add(PROGRESS_STEP_BYTES) {
            self.reported = position;
            (self.progress)(ImportStep::Reading {
                done_bytes: position,
                total_bytes: self.total_bytes,
            });
        }
        Ok(read)
    }
}

impl<R: Seek> Seek for CountingReader<R> {
    fn seek(&mut self, position: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(position)
    }
}

// ---------------------------------------------------------------------------------------------
// Routes and fares

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
