//! The catalogue in memory (cities, carriers, routes, vehicles, fares and each city's caps and
//! transfer rule, operator prefixes) and its validation; the catalogue file that operators
//! edit comes in and goes out as a typed [`CatalogueFile`] (the JSON is
//! `domain::catalogue_file`'s). Requests read the in-memory copy; a change is written to the
//! store in one transaction and then swapped in whole.

use std::collections::{BTreeMap, HashMap};

use domain::catalogue::{
    CarrierId, CityId, FareQuery, FareRule, RiderCategory, RouteId, RouteKind, Zone, fare,
    zone_fares,
};
use domain::catalogue_file::{
    CarrierEntry, CatalogueFile, CityEntry, FareCapEntry, FareEntry, RouteEntry, TransferEntry,
    VehicleEntry,
};
use domain::fare_policy::{DailyCap, FarePolicy, TransferRule};
use domain::sms::VehicleRef;
use domain::{ErrorCode, OperatorId, PlateNumber, PrefixTable, Tenge, TransportCode};
use store::catalogue::{
    CarrierRow, CatalogueRows, CityRow, FarePolicyRow, FareRuleRow, PrefixRow, RouteRow, VehicleRow,
};

use crate::{App, ServiceError};

#[derive(Clone, Debug)]
pub struct City {
    pub id: CityId,
    pub name_kk: String,
    pub name_ru: String,
    pub name_en: String,
    pub timezone: String,
    pub utc_offset_minutes: i32,
}

impl City {
    pub fn name(&self, language: domain::Language) -> &str {
        match language {
            domain::Language::Kk => &self.name_kk,
            domain::Language::Ru => &self.name_ru,
            domain::Language::En => &self.name_en,
        }
    }

    /// The city's time zone at `at`, the one local-time rule (the planner, the SMS reply, the
    /// ticket page, live networks): the IANA zone when it agrees at `at` with the catalogue's
    /// UTC offset (so daylight saving is followed), else the catalogue's fixed offset
    /// (Kazakhstan's zone moved to UTC+5 in 2024; an old zone database must not move every bus
    /// by an hour).
    pub fn time_zone(&self, at: jiff::Timestamp) -> jiff::tz::TimeZone {
        use jiff::tz::{Offset, TimeZone};
        let offset_s = self.utc_offset_minutes.saturating_mul(60);
        let fixed = Offset::from_seconds(offset_s).map_or(TimeZone::UTC, TimeZone::fixed);
        match TimeZone::get(&self.timezone) {
            Ok(zone) if zone.to_offset(at).seconds() == offset_s => zone,
            _ => fixed,
        }
    }
}

/// A city missing from the catalogue is read in Kazakhstan's one time zone, UTC+5 (since
/// 2024-03-01).
pub const FALLBACK_UTC_OFFSET_MINUTES: i32 = 300;

/// Kazakhstan's one time zone ([`FALLBACK_UTC_OFFSET_MINUTES`]): the calendar of a city the
/// catalogue does not know, and of dates that belong to no city (a preferential status's last
/// day, a partner's report day).
pub fn country_time_zone() -> jiff::tz::TimeZone {
    jiff::tz::Offset::from_seconds(FALLBACK_UTC_OFFSET_MINUTES.saturating_mul(60))
        .map_or(jiff::tz::TimeZone::UTC, jiff::tz::TimeZone::fixed)
}

impl Catalogue {
    /// The time zone of `city_id` at `at` ([`City::time_zone`]), or the fallback offset for a
    /// city the catalogue does not know.
    pub fn time_zone(&self, city_id: &str, at: jiff::Timestamp) -> jiff::tz::TimeZone {
        let city = CityId::parse(city_id)
            .ok()
            .and_then(|id| self.cities.get(&id));
        match city {
            Some(city) => city.time_zone(at),
            None => country_time_zone(),
        }
    }

    /// `HH:MM DD.MM` of `at_ms` in the local time of `city_id` (the SMS reply, the ticket page).
    pub fn local_time_text(&self, city_id: &str, at_ms: i64) -> String {
        match jiff::Timestamp::from_millisecond(at_ms) {
            Ok(at) => at
                .to_zoned(self.time_zone(city_id, at))
                .strftime("%H:%M %d.%m")
                .to_string(),
            Err(_) => String::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Carrier {
    pub id: CarrierId,
    pub city: CityId,
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct Route {
    pub id: RouteId,
    pub city: CityId,
    pub number: String,
    pub name: String,
    pub kind: RouteKind,
    pub max_ride_minutes: u32,
}

#[derive(Clone, Debug)]
pub struct Vehicle {
    pub code: TransportCode,
    pub plate: PlateNumber,
    pub carrier: CarrierId,
    pub route: RouteId,
    pub active: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    pub cities: BTreeMap<CityId, City>,
    pub carriers: BTreeMap<CarrierId, Carrier>,
    pub routes: BTreeMap<RouteId, Route>,
    pub vehicles: BTreeMap<TransportCode, Vehicle>,
    code_by_plate: HashMap<PlateNumber, TransportCode>,
    pub fare_rules: Vec<FareRule>,
    /// Each city's fare rules beyond the fare table (caps, transfers); none: none.
    pub fare_policies: BTreeMap<CityId, FarePolicy>,
    pub prefixes: PrefixTable,
}

/// A vehicle with everything a ride needs to know about it.
#[derive(Clone, Debug)]
pub struct VehicleInService<'a> {
    pub vehicle: &'a Vehicle,
    pub route: &'a Route,
    pub city: &'a City,
    pub carrier: &'a Carrier,
}

/// Why a vehicle the passenger named cannot be ridden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VehicleUnavailable {
    /// No vehicle has this code or plate.
    Unknown,
    /// The vehicle exists but its carrier took it out of service.
    Suspended,
}

impl From<VehicleUnavailable> for ErrorCode {
    fn from(why: VehicleUnavailable) -> ErrorCode {
        match why {
            VehicleUnavailable::Unknown => ErrorCode::TransportCodeUnknown,
            VehicleUnavailable::Suspended => ErrorCode::VehicleSuspended,
        }
    }
}

impl Catalogue {
    pub fn vehicle(
        &self,
        reference: &VehicleRef,
    ) -> Result<VehicleInService<'_>, VehicleUnavailable> {
        let code = match reference {
            VehicleRef::Code(code) => Some(code),
            VehicleRef::Plate(plate) => self.code_by_plate.get(plate),
        };
        let vehicle = code
            .and_then(|code| self.vehicles.get(code))
            .ok_or(VehicleUnavailable::Unknown)?;
        if !vehicle.active {
            return Err(VehicleUnavailable::Suspended);
        }
        let route = self.routes.get(&vehicle.route);
        let city = route.and_then(|route| self.cities.get(&route.city));
        let carrier = self.carriers.get(&vehicle.carrier);
        match (route, city, carrier) {
            (Some(route), Some(city), Some(carrier)) => Ok(VehicleInService {
                vehicle,
                route,
                city,
                carrier,
            }),
            // `from_rows` refuses such a catalogue; a vehicle without them cannot be ridden.
            _ => Err(VehicleUnavailable::Unknown),
        }
    }

    /// The zones of a zone-priced route and their fares for this rider.
    pub fn zone_fares(&self, route: &Route, rider_category: RiderCategory) -> Vec<(Zone, Tenge)> {
        let query = FareQuery {
            city: &route.city,
            route: &route.id,
            route_kind: route.kind,
            rider_category,
            zone: None,
        };
        zone_fares(&self.fare_rules, &query)
    }

    /// Routes that no fare rule prices for a regular rider: a ride on them could only be
    /// refused, so a catalogue with one is not accepted.
    pub fn unpriced_routes(&self) -> Vec<&Route> {
        self.routes
            .values()
            .filter(|route| match route.kind {
                RouteKind::Suburban => self.zone_fares(route, RiderCategory::Regular).is_empty(),
                RouteKind::Regular | RouteKind::Express => {
                    self.fare(route, RiderCategory::Regular, None).is_none()
                }
            })
            .collect()
    }

    pub fn fare(
        &self,
        route: &Route,
        rider_category: RiderCategory,
        zone: Option<Zone>,
    ) -> Option<Tenge> {
        let query = FareQuery {
            city: &route.city,
            route: &route.id,
            route_kind: route.kind,
            rider_category,
            zone,
        };
        fare(&self.fare_rules, &query)
    }

    /// The city's caps and transfer rule (empty where it has none).
    pub fn fare_policy(&self, city: &CityId) -> FarePolicy {
        self.fare_policies.get(city).cloned().unwrap_or_default()
    }

    /// Builds the catalogue from stored rows, checking every value.
    pub fn from_rows(rows: &CatalogueRows) -> Result<Catalogue, Vec<String>> {
        let mut problems = Vec::new();
        let mut catalogue = Catalogue::default();
        let mut note = |what: String| problems.push(what);
        for c in &rows.cities {
            match (CityId::parse(&c.id), i32::try_from(c.utc_offset_minutes)) {
                (Ok(id), Ok(offset)) => {
                    let city = City {
                        id: id.clone(),
                        name_kk: c.name_kk.clone(),
                        name_ru: c.name_ru.clone(),
                        name_en: c.name_en.clone(),
                        timezone: c.timezone.clone(),
                        utc_offset_minutes: offset,
                    };
                    catalogue.cities.insert(id, city);
                }
                (Err(e), _) => note(format!("city {}: {e}", c.id)),
                (_, Err(_)) => note(format!("city {}: bad utc offset", c.id)),
            }
        }
        for c in &rows.carriers {
            match (CarrierId::parse(&c.id), CityId::parse(&c.city_id)) {
                (Ok(id), Ok(city)) => {
                    catalogue.carriers.insert(
                        id.clone(),
                        Carrier {
                            id,
                            city,
                            name: c.name.clone(),
                        },
                    );
                }
                (Err(e), _) | (_, Err(e)) => note(format!("carrier {}: {e}", c.id)),
            }
        }
        for r in &rows.routes {
            let parsed = (|| {
                Ok::<_, String>(Route {
                    id: RouteId::parse(&r.id).map_err(|e| e.to_string())?,
                    city: CityId::parse(&r.city_id).map_err(|e| e.to_string())?,
                    number: r.number.clone(),
                    name: r.name.clone(),
                    kind: RouteKind::parse(&r.kind).map_err(|e| e.to_string())?,
                    max_ride_minutes: u32::try_from(r.max_ride_minutes)
                        .ok()
                        .filter(|m| (1..=domain::catalogue::RIDE_MINUTES_MAX).contains(m))
                        .ok_or("max_ride_minutes out of range")?,
                })
            })();
            match parsed {
                Ok(route) => {
                    catalogue.routes.insert(route.id.clone(), route);
                }
                Err(e) => note(format!("route {}: {e}", r.id)),
            }
        }
        for v in &rows.vehicles {
            let parsed = (|| {
                Ok::<_, String>(Vehicle {
                    code: TransportCode::parse(&v.transport_code).map_err(|e| e.to_string())?,
                    plate: PlateNumber::parse(&v.plate).map_err(|e| e.to_string())?,
                    carrier: CarrierId::parse(&v.carrier_id).map_err(|e| e.to_string())?,
                    route: RouteId::parse(&v.route_id).map_err(|e| e.to_string())?,
                    active: v.active,
                })
            })();
            match parsed {
                Ok(vehicle) => {
                    catalogue
                        .code_by_plate
                        .insert(vehicle.plate.clone(), vehicle.code.clone());
                    catalogue.vehicles.insert(vehicle.code.clone(), vehicle);
                }
                Err(e) => note(format!("vehicle {}: {e}", v.transport_code)),
            }
        }
        for f in &rows.fare_rules {
            match fare_rule(f) {
                Ok(rule) => catalogue.fare_rules.push(rule),
                Err(e) => note(format!("fare rule of {}: {e}", f.city_id)),
            }
        }
        for p in &rows.fare_policies {
            match fare_policy_rule(p) {
                Ok((city, rule)) => {
                    let policy = catalogue.fare_policies.entry(city).or_default();
                    match rule {
                        PolicyRule::Cap(cap) => {
                            if policy
                                .daily_caps
                                .iter()
                                .any(|c| c.rider_category == cap.rider_category)
                            {
                                note(format!(
                                    "fare policy of {}: two daily caps for one category",
                                    p.city_id
                                ));
                            }
                            policy.daily_caps.push(cap);
                        }
                        PolicyRule::Transfer(rule) => {
                            if policy.transfer.replace(rule).is_some() {
                                note(format!("fare policy of {}: two transfer rules", p.city_id));
                            }
                        }
                    }
                }
                Err(e) => note(format!("fare policy of {}: {e}", p.city_id)),
            }
        }
        let mut prefixes = Vec::new();
        for p in &rows.prefixes {
            let digits = !p.prefix.is_empty()
                && p.prefix.len() <= 10
                && p.prefix.bytes().all(|b| b.is_ascii_digit());
            match OperatorId::parse(&p.operator) {
                Ok(op) if digits => prefixes.push((p.prefix.clone(), op)),
                _ => note(format!(
                    "operator prefix {} → {}: bad prefix or operator id",
                    p.prefix, p.operator
                )),
            }
        }
        catalogue.prefixes = PrefixTable::new(prefixes);
        for route in catalogue
            .routes
            .values()
            .filter(|r| !catalogue.cities.contains_key(&r.city))
        {
            problems.push(format!("route {}: unknown city {}", route.id, route.city));
        }
        for carrier in catalogue
            .carriers
            .values()
            .filter(|c| !catalogue.cities.contains_key(&c.city))
        {
            problems.push(format!(
                "carrier {}: unknown city {}",
                carrier.id, carrier.city
            ));
        }
        for v in catalogue.vehicles.values() {
            if !catalogue.routes.contains_key(&v.route) {
                problems.push(format!("vehicle {}: unknown route {}", v.code, v.route));
            }
            if !catalogue.carriers.contains_key(&v.carrier) {
                problems.push(format!("vehicle {}: unknown carrier {}", v.code, v.carrier));
            }
        }
        if problems.is_empty() {
            Ok(catalogue)
        } else {
            Err(problems)
        }
    }
}

enum PolicyRule {
    Cap(DailyCap),
    Transfer(TransferRule),
}

/// How the store names a city's fare rules beyond the fare table.
const DAILY_CAP: &str = "daily_cap";
const TRANSFER: &str = "transfer";

/// Longest transfer window a city may set.
pub const TRANSFER_WINDOW_MINUTES_MAX: i64 = 24 * 60;

fn fare_policy_rule(p: &FarePolicyRow) -> Result<(CityId, PolicyRule), String> {
    let city = CityId::parse(&p.city_id).map_err(|e| e.to_string())?;
    if p.amount_tiyn < 0 {
        return Err("amount is negative".into());
    }
    let amount = Tenge::from_tiyn(p.amount_tiyn);
    let rule = match p.rule.as_str() {
        DAILY_CAP => PolicyRule::Cap(DailyCap {
            rider_category: p
                .rider_category
                .as_deref()
                .map(RiderCategory::parse)
                .transpose()
                .map_err(|e| e.to_string())?,
            amount,
        }),
        TRANSFER => {
            let window = p
                .window_minutes
                .filter(|m| (1..=TRANSFER_WINDOW_MINUTES_MAX).contains(m))
                .ok_or_else(|| {
                    format!("a transfer needs window_minutes 1..={TRANSFER_WINDOW_MINUTES_MAX}")
                })?;
            PolicyRule::Transfer(TransferRule {
                window_minutes: u32::try_from(window).map_err(|e| e.to_string())?,
                amount,
            })
        }
        other => return Err(format!("unknown rule {other}")),
    };
    Ok((city, rule))
}

fn fare_rule(f: &FareRuleRow) -> Result<FareRule, String> {
    Ok(FareRule {
        city: CityId::parse(&f.city_id).map_err(|e| e.to_string())?,
        route: f
            .route_id
            .as_deref()
            .map(RouteId::parse)
            .transpose()
            .map_err(|e| e.to_string())?,
        route_kind: f
            .route_kind
            .as_deref()
            .map(RouteKind::parse)
            .transpose()
            .map_err(|e| e.to_string())?,
        rider_category: f
            .rider_category
            .as_deref()
            .map(RiderCategory::parse)
            .transpose()
            .map_err(|e| e.to_string())?,
        zone: f
            .zone
            .map(|z| Zone::new(u32::try_from(z).unwrap_or(0)))
            .transpose()
            .map_err(|e| e.to_string())?,
        amount: Some(Tenge::from_tiyn(f.amount_tiyn))
            .filter(|a| a.is_positive() && a.tiyn() <= domain::money::AMOUNT_TIYN_MAX)
            .ok_or("amount must be positive")?,
    })
}

/// Reads the catalogue from the store into memory.
pub async fn reload(app: &App) -> Result<(), ServiceError> {
    let mut conn = app.store.reader().await?;
    let rows = store::catalogue::load(&mut conn).await?;
    let catalogue = Catalogue::from_rows(&rows)
        .map_err(|problems| ServiceError::new(ErrorCode::CatalogueInvalid, problems.join("; ")))?;
    app.set_catalogue(catalogue);
    Ok(())
}

/// Reads the catalogue anew every `period`, so a change written by another process
/// (`smsbus catalogue load` beside a running server) takes effect without a restart.
pub async fn keep_current(app: std::sync::Arc<App>, period: std::time::Duration) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = reload(&app).await {
            tracing::error!(%error, "catalogue reload failed; keeping the one in memory");
        }
    }
}

/// Checks a catalogue file and writes it in one transaction; nothing is written when any value
/// is wrong. Returns what it counted.
pub async fn apply_file(app: &App, file: &CatalogueFile) -> Result<CatalogueSummary, ServiceError> {
    apply(app, None, file).await
}

/// [`apply_file`] asked for by staff: the upload is recorded in the audit trail with the
/// change's counts, in the same transaction.
pub async fn apply_staff_file(
    app: &App,
    actor: &crate::staff::Actor,
    file: &CatalogueFile,
) -> Result<CatalogueSummary, ServiceError> {
    apply(app, Some(actor), file).await
}

async fn apply(
    app: &App,
    actor: Option<&crate::staff::Actor>,
    file: &CatalogueFile,
) -> Result<CatalogueSummary, ServiceError> {
    let rows = rows_of(file);
    let mut merged = {
        let mut conn = app.store.reader().await?;
        store::catalogue::load(&mut conn).await?
    };
    merge(&mut merged, &rows);
    let checked = Catalogue::from_rows(&merged)
        .map_err(|problems| ServiceError::new(ErrorCode::CatalogueInvalid, problems.join("; ")))?;
    let unpriced: Vec<String> = checked
        .unpriced_routes()
        .iter()
        .map(|route| {
            format!(
                "route {} ({} {}): no fare rule prices it for a regular rider",
                route.id,
                route.city,
                route.kind.as_str()
            )
        })
        .collect();
    if !unpriced.is_empty() {
        return Err(ServiceError::new(
            ErrorCode::CatalogueInvalid,
            unpriced.join("; "),
        ));
    }
    let mut tx = app.store.begin().await?;
    store::catalogue::upsert(&mut tx, &rows).await?;
    if let Some(actor) = actor {
        let before = app.catalogue();
        let after = format!(
            "upserted cities={} routes={} vehicles={} fare_rules={} prefixes={}",
            rows.cities.len(),
            rows.routes.len(),
            rows.vehicles.len(),
            rows.fare_rules.len(),
            rows.prefixes.len()
        );
        crate::audit::record(
            &mut tx,
            actor,
            &crate::audit::Change {
                action: "catalogue.upsert",
                object: "catalogue",
                before: &format!(
                    "cities={} routes={} vehicles={}",
                    before.cities.len(),
                    before.routes.len(),
                    before.vehicles.len()
                ),
                after: &after,
            },
            app.now_ms(),
        )
        .await?;
    }
    tx.commit().await?;
    reload(app).await?;
    Ok(CatalogueSummary {
        cities: rows.cities.len(),
        routes: rows.routes.len(),
        vehicles: rows.vehicles.len(),
        fare_rules: rows.fare_rules.len(),
        prefixes: rows.prefixes.len(),
    })
}

/// What the in-memory catalogue would be after the upsert, to validate references up front.
fn merge(into: &mut CatalogueRows, new: &CatalogueRows) {
    fn upsert<T: Clone>(into: &mut Vec<T>, new: &[T], key: impl Fn(&T) -> &str) {
        for item in new {
            match into.iter_mut().find(|old| key(old) == key(item)) {
                Some(old) => *old = item.clone(),
                None => into.push(item.clone()),
            }
        }
    }
    upsert(&mut into.cities, &new.cities, |c| &c.id);
    upsert(&mut into.carriers, &new.carriers, |c| &c.id);
    upsert(&mut into.routes, &new.routes, |r| &r.id);
    upsert(&mut into.vehicles, &new.vehicles, |v| &v.transport_code);
    into.fare_rules
        .retain(|f| !new.cities.iter().any(|c| c.id == f.city_id));
    into.fare_rules.extend(new.fare_rules.iter().cloned());
    into.fare_policies
        .retain(|f| !new.cities.iter().any(|c| c.id == f.city_id));
    into.fare_policies.extend(new.fare_policies.iter().cloned());
    if !new.prefixes.is_empty() {
        into.prefixes = new.prefixes.clone();
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueSummary {
    pub cities: usize,
    pub routes: usize,
    pub vehicles: usize,
    pub fare_rules: usize,
    pub prefixes: usize,
}

/// The rows a catalogue file names, as the store keeps them (plates folded, amounts in tiyn).
pub fn rows_of(file: &CatalogueFile) -> CatalogueRows {
    let mut rows = CatalogueRows::default();
    for (prefix, operator) in &file.operator_prefixes {
        rows.prefixes.push(PrefixRow {
            prefix: prefix.clone(),
            operator: operator.clone(),
        });
    }
    for city in &file.cities {
        let city_id = || city.id.clone();
        rows.cities.push(CityRow {
            id: city_id(),
            name_kk: city.name_kk.clone(),
            name_ru: city.name_ru.clone(),
            name_en: city.name_en.clone(),
            timezone: city.timezone.clone(),
            utc_offset_minutes: city.utc_offset_minutes,
        });
        rows.fare_rules
            .extend(city.fares.iter().map(|f| FareRuleRow {
                city_id: city_id(),
                route_id: f.route.clone(),
                route_kind: f.route_kind.clone(),
                rider_category: f.rider_category.clone(),
                zone: f.zone,
                amount_tiyn: f.amount.tiyn(),
            }));
        rows.fare_policies
            .extend(city.fare_caps.iter().map(|cap| FarePolicyRow {
                city_id: city_id(),
                rule: DAILY_CAP.into(),
                rider_category: cap.rider_category.clone(),
                window_minutes: None,
                amount_tiyn: cap.daily.tiyn(),
            }));
        rows.fare_policies
            .extend(city.transfer.iter().map(|transfer| FarePolicyRow {
                city_id: city_id(),
                rule: TRANSFER.into(),
                rider_category: None,
                window_minutes: Some(transfer.window_minutes),
                amount_tiyn: transfer.amount.tiyn(),
            }));
        rows.carriers
            .extend(city.carriers.iter().map(|c| CarrierRow {
                id: c.id.clone(),
                city_id: city_id(),
                name: c.name.clone(),
            }));
        rows.routes.extend(city.routes.iter().map(|r| RouteRow {
            id: r.id.clone(),
            city_id: city_id(),
            number: r.number.clone(),
            name: r.name.clone(),
            kind: r.kind.clone(),
            max_ride_minutes: r.max_ride_minutes,
        }));
        rows.vehicles
            .extend(city.vehicles.iter().map(|v| VehicleRow {
                transport_code: v.transport_code.clone(),
                plate: v.plate.as_str().to_owned(),
                carrier_id: v.carrier.clone(),
                route_id: v.route.clone(),
                active: v.active,
            }));
    }
    rows
}

/// The stored catalogue as a catalogue file (what [`apply_file`] takes), so the operator's
/// console can show it and send back the part it changed: each city with its fares, caps,
/// transfer, carriers, routes and the vehicles of its routes.
pub async fn current_file(app: &App) -> Result<CatalogueFile, ServiceError> {
    let rows = {
        let mut conn = app.store.reader().await?;
        store::catalogue::load(&mut conn).await?
    };
    let corrupt = |what: String| ServiceError::internal(format!("stored catalogue: {what}"));
    let route_city = |route: &str| {
        rows.routes
            .iter()
            .find(|r| r.id == route)
            .map(|r| r.city_id.as_str())
    };
    let mut cities = Vec::with_capacity(rows.cities.len());
    for c in &rows.cities {
        let in_city = |id: &str| id == c.id;
        let mut policies = rows.fare_policies.iter().filter(|p| in_city(&p.city_id));
        let mut vehicles = Vec::new();
        for v in rows
            .vehicles
            .iter()
            .filter(|v| route_city(&v.route_id) == Some(c.id.as_str()))
        {
            let plate = PlateNumber::parse(&v.plate)
                .map_err(|e| corrupt(format!("vehicle {}: {e}", v.transport_code)))?;
            vehicles.push(VehicleEntry {
                transport_code: v.transport_code.clone(),
                plate,
                carrier: v.carrier_id.clone(),
                route: v.route_id.clone(),
                active: v.active,
            });
        }
        cities.push(CityEntry {
            id: c.id.clone(),
            name_kk: c.name_kk.clone(),
            name_ru: c.name_ru.clone(),
            name_en: c.name_en.clone(),
            timezone: c.timezone.clone(),
            utc_offset_minutes: c.utc_offset_minutes,
            fares: rows
                .fare_rules
                .iter()
                .filter(|f| in_city(&f.city_id))
                .map(|f| FareEntry {
                    route: f.route_id.clone(),
                    route_kind: f.route_kind.clone(),
                    rider_category: f.rider_category.clone(),
                    zone: f.zone,
                    amount: Tenge::from_tiyn(f.amount_tiyn),
                })
                .collect(),
            // The city's caps and transfer rule, so a file read back and taken again keeps them.
            fare_caps: policies
                .clone()
                .filter(|p| p.rule == DAILY_CAP)
                .map(|p| FareCapEntry {
                    rider_category: p.rider_category.clone(),
                    daily: Tenge::from_tiyn(p.amount_tiyn),
                })
                .collect(),
            // The last one stored, as a city has one (`from_rows` refuses two).
            transfer: policies
                .rfind(|p| p.rule == TRANSFER)
                .map(|p| TransferEntry {
                    window_minutes: p.window_minutes.unwrap_or_default(),
                    amount: Tenge::from_tiyn(p.amount_tiyn),
                }),
            carriers: rows
                .carriers
                .iter()
                .filter(|k| in_city(&k.city_id))
                .map(|k| CarrierEntry {
                    id: k.id.clone(),
                    name: k.name.clone(),
                })
                .collect(),
            routes: rows
                .routes
                .iter()
                .filter(|r| in_city(&r.city_id))
                .map(|r| RouteEntry {
                    id: r.id.clone(),
                    number: r.number.clone(),
                    name: r.name.clone(),
                    kind: r.kind.clone(),
                    max_ride_minutes: r.max_ride_minutes,
                })
                .collect(),
            vehicles,
        });
    }
    Ok(CatalogueFile {
        operator_prefixes: rows
            .prefixes
            .iter()
            .map(|p| (p.prefix.clone(), p.operator.clone()))
            .collect(),
        cities,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn city(id: &str, timezone: &str, utc_offset_minutes: i32) -> City {
        City {
            id: CityId::parse(id).unwrap(),
            name_kk: id.into(),
            name_ru: id.into(),
            name_en: id.into(),
            timezone: timezone.into(),
            utc_offset_minutes,
        }
    }

    /// 2025-01-15 12:00 UTC and 2025-07-15 12:00 UTC.
    const WINTER_MS: i64 = 1_736_942_400_000;
    const SUMMER_MS: i64 = 1_752_580_800_000;

    #[test]
    fn one_local_time_rule_for_every_reader() {
        let mut catalogue = Catalogue::default();
        // A zone that agrees with the catalogue in winter only: followed then, fixed otherwise.
        let berlin = city("berlin", "Europe/Berlin", 60);
        catalogue.cities.insert(berlin.id.clone(), berlin);
        // A zone name nobody knows: the catalogue's offset.
        let astana = city("astana", "Nowhere/Astana", 300);
        catalogue.cities.insert(astana.id.clone(), astana);
        assert_eq!(
            catalogue.local_time_text("berlin", WINTER_MS),
            "13:00 15.01"
        );
        assert_eq!(
            catalogue.local_time_text("berlin", SUMMER_MS),
            "13:00 15.07"
        );
        assert_eq!(
            catalogue.local_time_text("astana", WINTER_MS),
            "17:00 15.01"
        );
        // A city the catalogue does not know is read at UTC+5.
        assert_eq!(catalogue.local_time_text("gone", SUMMER_MS), "17:00 15.07");
        let at = jiff::Timestamp::from_millisecond(WINTER_MS).unwrap();
        let zone = catalogue.time_zone("berlin", at);
        assert_eq!(zone.iana_name(), Some("Europe/Berlin"));
    }
}
