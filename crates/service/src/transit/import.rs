//! Importing a city's transit data: a GTFS zip parsed and checked completely off the
//! executor (with progress for the command line's bar), then stored in one transaction and
//! published; the city created from the feed's agency time zone when asked; an address list
//! for the search. A fatal problem leaves the previous data untouched.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use ::transit::gtfs::{Feed, FieldProblem, GtfsError, ImportReport};
use ::transit::search::{Address, SearchIndex};
use domain::ErrorCode;
use domain::catalogue::CityId;
use domain::catalogue_file::{CatalogueFile, CityEntry};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};

use super::{
    ADDRESS_BYTES_MAX, CityTransit, FEED_BYTES_MAX, SUMMARY_PROBLEMS_MAX, catalogue_route,
};
use crate::catalogue::Catalogue;
use crate::{App, ServiceError};

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

pub(super) fn read_address_list(
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
    let (_, current) = super::city(app, city).await?;
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
