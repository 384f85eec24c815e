//! Feed tokens: a partner pushing positions of one city (JSON or GTFS-RT), and what it may
//! report.
//!
//! A token's **scope** is set when the operator makes it (`POST /v1/admin/live/feed-tokens`):
//! - the catalogue buses it may report, listed by transport code and/or every bus of one
//!   carrier of the city. A position for any other catalogue bus of the city is refused
//!   (`not_registered`, counted, told in the push's answer) — a token can never move, nor
//!   end the tickets of, a bus it was not registered for;
//! - its own vehicles (any vehicle id that is not a catalogue bus of the city): they are
//!   the token's alone (no other token reaches them) and carry no tickets;
//! - **authoritative**: whether its positions may end the runs of the catalogue buses in its
//!   scope (a dispatcher system the carrier vouches for). Without it, its buses move on the
//!   map and no run ends on its word (see the parent module on who may end a run).
//!
//! Tokens made before scopes existed report only their own vehicles and end no run.

use std::collections::{BTreeSet, HashMap};

use ::live::gtfs_rt;
use ::live::state::{Authority, Position};
use ::live::{TimeMs, VehicleId};
use ::transit::geo::Coordinate;
use ::transit::ids::{GtfsRouteId, GtfsTripId};
use domain::catalogue::CarrierId;
use domain::{ErrorCode, TransportCode};

use super::{PUSH_POSITIONS_MAX, PushSummary, Refusals, Registry, apply, lock, sha256_hex};
use crate::{App, ServiceError};

/// Feed tokens are this many random bytes, shown as hex.
const FEED_TOKEN_BYTES: usize = 24;
/// Catalogue buses listed in one token's scope at most.
pub const SCOPE_VEHICLES_MAX: usize = 1_000;

/// The catalogue buses a token may report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedScope {
    pub vehicles: BTreeSet<TransportCode>,
    /// Every bus of this carrier.
    pub carrier: Option<CarrierId>,
}

/// A feed token as the hub knows it (its digest, never the token).
#[derive(Clone, Debug, PartialEq)]
pub struct FeedToken {
    pub city: String,
    pub name: String,
    pub scope: FeedScope,
    /// [`Authority::EndsRuns`] when the operator made it authoritative for its scope.
    pub authority: Authority,
    pub(super) digest: String,
}

impl FeedToken {
    pub(super) fn of_row(row: store::live::FeedTokenRow) -> FeedToken {
        let vehicles = row
            .vehicles
            .iter()
            .filter_map(|code| TransportCode::parse(code).ok())
            .collect();
        FeedToken {
            city: row.city_id,
            name: row.name,
            scope: FeedScope {
                vehicles,
                carrier: row
                    .carrier_id
                    .as_deref()
                    .and_then(|id| CarrierId::parse(id).ok()),
            },
            authority: if row.ends_runs {
                Authority::EndsRuns
            } else {
                Authority::ReportsOnly
            },
            digest: row.token_sha256,
        }
    }
}

/// What the operator asks for when making a token.
#[derive(Clone, Debug, PartialEq)]
pub struct NewFeedToken {
    pub city: String,
    /// Who pushes with it, for the operator's records.
    pub name: String,
    pub scope: FeedScope,
    pub authority: Authority,
}

/// A position as a partner reports it, before its vehicle is known.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The partner's vehicle id; a transport code of the city names that catalogue bus.
    pub vehicle: String,
    pub point: Coordinate,
    pub at_ms: i64,
    pub speed_mps: Option<f64>,
    pub heading_deg: Option<f64>,
    pub trip_id: Option<GtfsTripId>,
    pub route_id: Option<GtfsRouteId>,
}

fn refused(detail: String) -> ServiceError {
    ServiceError::new(ErrorCode::BadRequest, detail)
}

/// Checks the scope against the catalogue: every listed bus and the carrier belong to the city.
fn check_scope(app: &App, city: &str, scope: &FeedScope) -> Result<(), ServiceError> {
    if scope.vehicles.len() > SCOPE_VEHICLES_MAX {
        return Err(refused(format!(
            "at most {SCOPE_VEHICLES_MAX} vehicles per token"
        )));
    }
    let catalogue = app.catalogue();
    for code in &scope.vehicles {
        let in_city = catalogue
            .vehicles
            .get(code)
            .and_then(|bus| catalogue.routes.get(&bus.route))
            .is_some_and(|route| route.city.as_str() == city);
        if !in_city {
            return Err(ServiceError::new(
                ErrorCode::TransportCodeUnknown,
                format!("{} is no catalogue bus of {city}", code.as_str()),
            ));
        }
    }
    if let Some(carrier) = &scope.carrier {
        let in_city = catalogue
            .carriers
            .get(carrier)
            .is_some_and(|c| c.city.as_str() == city);
        if !in_city {
            return Err(ServiceError::new(
                ErrorCode::NotFound,
                format!("{} is no carrier of {city}", carrier.as_str()),
            ));
        }
    }
    Ok(())
}

/// Makes a token that lets a partner push one city's positions within its scope; only its
/// digest is kept.
pub async fn create_feed_token(
    app: &App,
    actor: &crate::staff::Actor,
    request: &NewFeedToken,
) -> Result<String, ServiceError> {
    let city = request.city.as_str();
    let known = app.catalogue().cities.keys().any(|id| id.as_str() == city)
        || app.live.cities().iter().any(|c| c == city);
    if !known {
        return Err(ServiceError::new(
            ErrorCode::NotFound,
            format!("unknown city {city:?}"),
        ));
    }
    check_scope(app, city, &request.scope)?;
    let token = crate::hex(&crate::random_bytes::<FEED_TOKEN_BYTES>()?);
    let row = store::live::FeedTokenRow {
        token_sha256: sha256_hex(&token),
        city_id: city.to_owned(),
        name: request.name.clone(),
        created_at_ms: app.now_ms(),
        carrier_id: request
            .scope
            .carrier
            .as_ref()
            .map(|c| c.as_str().to_owned()),
        vehicles: request
            .scope
            .vehicles
            .iter()
            .map(|code| code.as_str().to_owned())
            .collect(),
        ends_runs: request.authority == Authority::EndsRuns,
    };
    let mut tx = app.store.begin().await?;
    store::live::insert_feed_token(&mut tx, &row).await?;
    let scope = format!(
        "city={} name={} carrier={} vehicles={} ends_runs={}",
        row.city_id,
        row.name,
        row.carrier_id.as_deref().unwrap_or("-"),
        row.vehicles.join(","),
        row.ends_runs
    );
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "feed_token.create",
            object: &format!(
                "feed_token:{}",
                row.token_sha256
                    .get(..FEED_TOKEN_ID_CHARS)
                    .unwrap_or_default()
            ),
            before: "",
            after: &scope,
        },
        app.now_ms(),
    )
    .await?;
    tx.commit().await?;
    let known = FeedToken::of_row(row);
    lock(&app.live.registry)
        .feed_tokens
        .insert(known.digest.clone(), known);
    Ok(token)
}

/// Characters of a token's digest that name it to the operator (as in the audit trail's
/// `feed_token:…`); the token itself is never kept, and this names it without revealing it.
pub const FEED_TOKEN_ID_CHARS: usize = 16;

/// A feed token as the operator sees it: its name, city and scope, never the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedTokenView {
    /// The first [`FEED_TOKEN_ID_CHARS`] of its digest.
    pub id: String,
    pub city: String,
    pub name: String,
    pub carrier: Option<String>,
    pub vehicles: Vec<String>,
    /// Its positions may end the runs of the buses in its scope.
    pub ends_runs: bool,
    pub created_at_ms: i64,
}

/// Every feed token, oldest first.
pub async fn feed_tokens(app: &App) -> Result<Vec<FeedTokenView>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let rows = store::live::all_feed_tokens(&mut conn).await?;
    Ok(rows
        .into_iter()
        .map(|row| FeedTokenView {
            id: row
                .token_sha256
                .get(..FEED_TOKEN_ID_CHARS)
                .unwrap_or_default()
                .to_owned(),
            city: row.city_id,
            name: row.name,
            carrier: row.carrier_id,
            vehicles: row.vehicles,
            ends_runs: row.ends_runs,
            created_at_ms: row.created_at_ms,
        })
        .collect())
}

/// The token a partner presents, with its city and scope.
pub async fn feed_token(app: &App, token: &str) -> Result<FeedToken, ServiceError> {
    let digest = sha256_hex(token);
    if let Some(known) = lock(&app.live.registry).feed_tokens.get(&digest) {
        return Ok(known.clone());
    }
    // Another server process may have made it: look in the store once.
    super::load_credentials(app).await?;
    lock(&app.live.registry)
        .feed_tokens
        .get(&digest)
        .cloned()
        .ok_or_else(|| ErrorCode::Unauthorized.into())
}

/// A partner's vehicle key, bound.
enum Bound {
    Vehicle {
        id: VehicleId,
        /// The catalogue route number of a catalogue bus.
        route_number: Option<String>,
        authority: Authority,
    },
    /// A catalogue bus of the city outside the token's scope.
    NotRegistered,
}

/// Binds a partner's vehicle key: a catalogue bus of the token's city when it is one (and
/// in the scope), else the token's own vehicle.
fn bind_key(app: &App, registry: &mut Registry, token: &FeedToken, key: &str) -> Bound {
    let catalogue = app.catalogue();
    let city = token.city.as_str();
    let bus = TransportCode::parse(key).ok().and_then(|code| {
        let vehicle = catalogue.vehicles.get(&code)?;
        let route = catalogue.routes.get(&vehicle.route)?;
        (route.city.as_str() == city).then(|| (code, vehicle.carrier.clone(), route.number.clone()))
    });
    let Some((code, carrier, number)) = bus else {
        // Its own vehicles carry no tickets: the token's word about their trips stands.
        return Bound::Vehicle {
            id: registry.feed_vehicle(city, &token.digest, key),
            route_number: None,
            authority: Authority::EndsRuns,
        };
    };
    let in_scope =
        token.scope.vehicles.contains(&code) || token.scope.carrier.as_ref() == Some(&carrier);
    if !in_scope {
        return Bound::NotRegistered;
    }
    Bound::Vehicle {
        id: registry.catalogue_vehicle(&code, city),
        route_number: Some(number),
        authority: token.authority,
    }
}

fn check_size(count: usize) -> Result<(), ServiceError> {
    if count > PUSH_POSITIONS_MAX {
        return Err(ServiceError::new(
            ErrorCode::BodyTooLarge,
            format!("at most {PUSH_POSITIONS_MAX} positions per push"),
        ));
    }
    Ok(())
}

/// Adds what was refused before the live state saw it.
async fn apply_with(
    app: &App,
    city: &str,
    positions: &[Position],
    before: Refusals,
) -> Result<PushSummary, ServiceError> {
    app.live.counters.count(&before);
    let mut summary = apply(app, city, positions).await?;
    let refused = &mut summary.refused;
    refused.not_registered += before.not_registered;
    refused.without_position += before.without_position;
    refused.invalid += before.invalid;
    summary.received += before.total();
    summary.rejected = summary.refused.total();
    Ok(summary)
}

/// Positions pushed by a partner (JSON push API).
pub async fn push_reports(
    app: &App,
    token: &FeedToken,
    reports: &[Report],
) -> Result<PushSummary, ServiceError> {
    check_size(reports.len())?;
    let city = token.city.as_str();
    let live = app.live.city(city)?;
    let mut positions = Vec::with_capacity(reports.len());
    let mut before = Refusals::default();
    {
        let routes = lock(&live).routes_by_number.clone();
        let mut registry = lock(&app.live.registry);
        for report in reports {
            let Bound::Vehicle {
                id,
                route_number,
                authority,
            } = bind_key(app, &mut registry, token, &report.vehicle)
            else {
                before.not_registered += 1;
                continue;
            };
            let route = report
                .route_id
                .clone()
                .or_else(|| route_number.and_then(|n| routes.get(&n).cloned()));
            positions.push(Position {
                vehicle: id,
                point: report.point,
                speed_mps: report.speed_mps,
                heading_deg: report.heading_deg,
                at: TimeMs(report.at_ms),
                trip: report.trip_id.clone(),
                route,
                authority,
            });
        }
    }
    apply_with(app, city, &positions, before).await
}

/// A GTFS-Realtime VehiclePositions message pushed by a partner.
pub async fn push_gtfs_rt(
    app: &App,
    token: &FeedToken,
    bytes: &[u8],
) -> Result<PushSummary, ServiceError> {
    let feed = gtfs_rt::decode_feed(bytes)
        .map_err(|e| ServiceError::new(ErrorCode::BadRequest, e.to_string()))?;
    check_size(feed.entity.len())?;
    let city = token.city.as_str();
    let live = app.live.city(city)?;
    let routes = lock(&live).routes_by_number.clone();
    let mut positions = Vec::with_capacity(feed.entity.len());
    let mut before = Refusals::default();
    {
        let mut registry = lock(&app.live.registry);
        let mut bound: HashMap<VehicleId, (Option<String>, Authority)> = HashMap::new();
        let skips = gtfs_rt::positions_from_feed(
            &feed,
            |key| match bind_key(app, &mut registry, token, key) {
                Bound::Vehicle {
                    id,
                    route_number,
                    authority,
                } => {
                    bound.insert(id, (route_number, authority));
                    Some(id)
                }
                Bound::NotRegistered => None,
            },
            &mut positions,
        );
        before.not_registered = skips.unknown_vehicle;
        before.without_position = skips.without_position;
        before.invalid = skips.invalid_position + skips.invalid_id;
        for position in &mut positions {
            let Some((number, authority)) = bound.get(&position.vehicle) else {
                continue;
            };
            position.authority = *authority;
            if position.route.is_none() {
                position.route = number.as_ref().and_then(|n| routes.get(n).cloned());
            }
        }
    }
    apply_with(app, city, &positions, before).await
}
