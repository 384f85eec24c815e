//! Reports and settlement, read off the ledger: per local day, city, carrier, route and vehicle
//! the rides and refunds, the fares collected by source (each mobile operator, cards) and what
//! we owe the carrier (no commission: a fare passes through whole), with the preferential
//! subsidy the city owes (the regular fare less the preferential fare paid). Every sum is the
//! sum of posted ledger entries on the carriers' payables, so a report agrees with the
//! accounts to the tiyn; [`settlement`] is one carrier's month of it.
//!
//! The regular fare a subsidy is counted from is the one the ride recorded when it was
//! written (`rides.regular_fare_tiyn`), so a later change of the catalogue's fares never moves
//! the subsidy of a day already ridden. A ride written before fares were recorded has none,
//! and the catalogue keeps no history of its fares: its subsidy is estimated from the
//! catalogue's regular fare of the day the report is read, and its line (and the category's
//! total) says so (`subsidy_estimated`).
//!
//! Scope: an admin reads everything, an office clerk the cities of its scope, a carrier's
//! manager its own carriers (`SCOPE_FORBIDDEN` otherwise, never an empty report).

use std::collections::BTreeMap;

use domain::catalogue::{CarrierId, RiderCategory, RouteId, Zone};
use domain::staff::Role;
use domain::{ErrorCode, Tenge};
use jiff::civil::Date;

use crate::staff::Actor;
use crate::{App, ServiceError};

/// A report covers at most this many days.
pub const PERIOD_DAYS_MAX: i64 = 366;

/// Where a fare came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// A mobile operator's subscriber balance (the operator owes us the fare).
    Operator(String),
    /// A transport card's balance (topped up earlier through a bank).
    Card,
}

impl Source {
    /// `beeline`, `kcell`, `tele2`, … or `card`.
    pub fn as_str(&self) -> &str {
        match self {
            Source::Operator(operator) => operator,
            Source::Card => "card",
        }
    }
}

/// What a report is asked for.
#[derive(Clone, Debug)]
pub struct ReportQuery {
    /// First and last local day, inclusive.
    pub from: Date,
    pub to: Date,
    pub city: Option<String>,
    pub carrier: Option<String>,
}

/// One group of a report: a day, a vehicle (and so its route, carrier and city), a source and
/// a rider category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub day: Date,
    pub city: String,
    pub carrier: String,
    pub route: String,
    pub route_number: String,
    pub transport_code: String,
    pub source: Source,
    pub category: String,
    /// Fares posted.
    pub rides: i64,
    /// Fares reversed (refunds to a card, revoked tickets).
    pub refunds: i64,
    /// The fares collected by the rides.
    pub fares: Tenge,
    /// The fares given back by the refunds.
    pub refunded: Tenge,
    /// What we owe the carrier for this group: fares less refunds, whole.
    pub payable: Tenge,
    /// What the city owes for preferential fares: the regular fare less the fare paid, per
    /// net ride.
    pub subsidy: Tenge,
    /// Some of the subsidy is estimated: rides written before their regular fare was
    /// recorded, counted at the catalogue's regular fare of today.
    pub subsidy_estimated: bool,
}

/// A report: its lines and their sums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub from: Date,
    pub to: Date,
    pub lines: Vec<Line>,
    /// What each operator owes us (its subscribers' fares, net of refunds), and cards.
    pub by_source: BTreeMap<Source, Tenge>,
    /// What we owe each carrier.
    pub by_carrier: BTreeMap<String, Tenge>,
    /// The preferential subsidy per city and category.
    pub subsidy_by_category: BTreeMap<(String, String), Tenge>,
    /// The cities and categories whose subsidy is partly estimated (see the module docs).
    pub subsidy_estimated: std::collections::BTreeSet<(String, String)>,
    /// What each bank owes us for card top-ups in the period (all cities: admins only).
    pub by_bank: BTreeMap<String, Tenge>,
}

impl Report {
    pub fn total_payable(&self) -> Result<Tenge, ServiceError> {
        sum(self.by_carrier.values().copied())
    }
}

fn sum(mut values: impl Iterator<Item = Tenge>) -> Result<Tenge, ServiceError> {
    values.try_fold(Tenge::ZERO, |total, v| {
        total
            .checked_add(v)
            .map_err(|e| ServiceError::internal(format!("report sum: {e}")))
    })
}

fn bad(detail: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::BadRequest, detail)
}

/// Days since 1970-01-01 of a date.
fn day_number(date: Date) -> Result<i64, ServiceError> {
    let epoch = Date::constant(1970, 1, 1);
    let span = epoch
        .until((jiff::Unit::Day, date))
        .map_err(|e| bad(format!("date: {e}")))?;
    Ok(i64::from(span.get_days()))
}

fn date_of_day(day: i64) -> Result<Date, ServiceError> {
    let epoch = Date::constant(1970, 1, 1);
    let days = i32::try_from(day).map_err(|e| ServiceError::internal(format!("day: {e}")))?;
    epoch
        .checked_add(jiff::Span::new().days(days))
        .map_err(|e| ServiceError::internal(format!("day: {e}")))
}

/// The cities the report reads, after the actor's scope: an explicit city must be reached;
/// a carrier's city is the carrier's.
fn cities_in_scope(
    app: &App,
    actor: &Actor,
    query: &ReportQuery,
) -> Result<Vec<String>, ServiceError> {
    let catalogue = app.catalogue();
    if let Some(carrier) = &query.carrier {
        actor.require_carrier(carrier)?;
        let id = CarrierId::parse(carrier).map_err(|_| ErrorCode::NotFound)?;
        let city = catalogue
            .carriers
            .get(&id)
            .map(|c| c.city.as_str().to_owned())
            .ok_or(ErrorCode::NotFound)?;
        if query.city.as_ref().is_some_and(|c| *c != city) {
            return Err(bad(format!("carrier {carrier} is not of that city")));
        }
        return Ok(vec![city]);
    }
    match (actor.role, &query.city) {
        (Role::Admin, None) => Ok(catalogue
            .cities
            .keys()
            .map(|c| c.as_str().to_owned())
            .collect()),
        (Role::Admin | Role::Office, Some(city)) => {
            actor.require_city(city)?;
            if !catalogue.cities.keys().any(|c| c.as_str() == city) {
                return Err(ErrorCode::NotFound.into());
            }
            Ok(vec![city.clone()])
        }
        (Role::Office, None) => Ok(actor.scope.cities.clone()),
        _ => Err(ServiceError::new(
            ErrorCode::ScopeForbidden,
            format!("{} reads reports of its carriers only", actor.name),
        )),
    }
}

/// The report of `query` as `actor` may read it.
pub async fn rides(app: &App, actor: &Actor, query: &ReportQuery) -> Result<Report, ServiceError> {
    let first = day_number(query.from)?;
    let last = day_number(query.to)?;
    if last < first || last - first >= PERIOD_DAYS_MAX {
        return Err(bad(format!(
            "the period must run forward and cover at most {PERIOD_DAYS_MAX} days"
        )));
    }
    let cities = cities_in_scope(app, actor, query)?;
    let catalogue = app.catalogue();
    let mut conn = app.store.reader().await?;
    let mut lines = Vec::new();
    let now =
        jiff::Timestamp::from_millisecond(app.now_ms()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let mut offset_ms_any = 0;
    for city in &cities {
        let offset_ms = i64::from(catalogue.time_zone(city, now).to_offset(now).seconds()) * 1000;
        offset_ms_any = offset_ms;
        let from_ms = first * store::reports::DAY_MS - offset_ms;
        let to_ms = (last + 1) * store::reports::DAY_MS - offset_ms;
        let rows = store::reports::ride_totals(
            &mut conn,
            city,
            query.carrier.as_deref(),
            from_ms,
            to_ms,
            offset_ms,
        )
        .await?;
        for row in rows {
            lines.push(line_of(&catalogue, row)?);
        }
    }
    let lines = merge_lines(lines)?;
    let mut by_bank = BTreeMap::new();
    if actor.role == Role::Admin && query.city.is_none() && query.carrier.is_none() {
        let from_ms = first * store::reports::DAY_MS - offset_ms_any;
        let to_ms = (last + 1) * store::reports::DAY_MS - offset_ms_any;
        for (_, bank, _, tiyn) in
            store::reports::account_movements(&mut conn, "bank_receivable", from_ms, to_ms, 0)
                .await?
        {
            let entry: &mut Tenge = by_bank.entry(bank).or_insert(Tenge::ZERO);
            *entry = sum([*entry, Tenge::from_tiyn(tiyn)].into_iter())?;
        }
    }
    totals(query, lines, by_bank)
}

fn totals(
    query: &ReportQuery,
    lines: Vec<Line>,
    by_bank: BTreeMap<String, Tenge>,
) -> Result<Report, ServiceError> {
    let mut by_source: BTreeMap<Source, Tenge> = BTreeMap::new();
    let mut by_carrier: BTreeMap<String, Tenge> = BTreeMap::new();
    let mut subsidy_by_category: BTreeMap<(String, String), Tenge> = BTreeMap::new();
    let mut subsidy_estimated = std::collections::BTreeSet::new();
    for line in &lines {
        let s = by_source.entry(line.source.clone()).or_insert(Tenge::ZERO);
        *s = sum([*s, line.payable].into_iter())?;
        let c = by_carrier
            .entry(line.carrier.clone())
            .or_insert(Tenge::ZERO);
        *c = sum([*c, line.payable].into_iter())?;
        if line.subsidy != Tenge::ZERO {
            let k = subsidy_by_category
                .entry((line.city.clone(), line.category.clone()))
                .or_insert(Tenge::ZERO);
            *k = sum([*k, line.subsidy].into_iter())?;
        }
        if line.subsidy_estimated {
            subsidy_estimated.insert((line.city.clone(), line.category.clone()));
        }
    }
    Ok(Report {
        from: query.from,
        to: query.to,
        lines,
        by_source,
        by_carrier,
        subsidy_by_category,
        subsidy_estimated,
        by_bank,
    })
}

/// The regular fare of a ride in the catalogue as it stands (`None`: the route is gone or no
/// rule prices it; the subsidy is then unknown and counted as none).
fn regular_fare(
    catalogue: &crate::catalogue::Catalogue,
    route: &str,
    zone: Option<i64>,
) -> Option<Tenge> {
    let route = catalogue.routes.get(&RouteId::parse(route).ok()?)?;
    let zone = match zone {
        Some(number) => Some(Zone::new(u32::try_from(number).ok()?).ok()?),
        None => None,
    };
    catalogue.fare(route, RiderCategory::Regular, zone)
}

/// The subsidy of a group of preferential rides (the regular fares less `payable`, both
/// signed as the group moved the payable) and whether it is estimated.
fn subsidy_of(
    catalogue: &crate::catalogue::Catalogue,
    row: &store::reports::RideTotalsRow,
    payable: Tenge,
    reversal: bool,
) -> Result<(Tenge, bool), ServiceError> {
    let overflow = || ServiceError::internal("report: subsidy overflows");
    let (regular_tiyn, estimated) = match row.regular_fares_tiyn {
        // The fares the rides recorded when they were written.
        Some(recorded) => (recorded, false),
        // Rides of before the record: today's catalogue, marked as an estimate.
        None => match regular_fare(catalogue, &row.route_id, row.zone) {
            Some(regular) => (
                regular
                    .tiyn()
                    .checked_mul(row.transfers)
                    .ok_or_else(overflow)?,
                true,
            ),
            None => return Ok((Tenge::ZERO, true)),
        },
    };
    let full = if reversal {
        regular_tiyn.checked_neg().ok_or_else(overflow)?
    } else {
        regular_tiyn
    };
    let subsidy = Tenge::from_tiyn(full)
        .checked_sub(payable)
        .map_err(|e| ServiceError::internal(format!("report: {e}")))?;
    Ok((subsidy, estimated))
}

fn line_of(
    catalogue: &crate::catalogue::Catalogue,
    row: store::reports::RideTotalsRow,
) -> Result<Line, ServiceError> {
    let source = match row.source_kind.as_str() {
        "operator_receivable" => Source::Operator(row.source_owner.clone()),
        "card_balance" => Source::Card,
        other => {
            return Err(ServiceError::internal(format!(
                "a carrier's fare came from a {other} account"
            )));
        }
    };
    // Credits are negative: what we owe the carrier is the negated movement.
    let payable = Tenge::from_tiyn(row.payable_tiyn)
        .checked_neg()
        .map_err(|e| ServiceError::internal(format!("report: {e}")))?;
    let reversal = row.transfer_kind == "reversal";
    let (rides, refunds, fares, refunded) = if reversal {
        let back = payable
            .checked_neg()
            .map_err(|e| ServiceError::internal(format!("report: {e}")))?;
        (0, row.transfers, Tenge::ZERO, back)
    } else {
        (row.transfers, 0, payable, Tenge::ZERO)
    };
    let (subsidy, subsidy_estimated) = if row.rider_category == RiderCategory::Regular.as_str() {
        (Tenge::ZERO, false)
    } else {
        subsidy_of(catalogue, &row, payable, reversal)?
    };
    let route_number = RouteId::parse(&row.route_id)
        .ok()
        .and_then(|id| catalogue.routes.get(&id))
        .map_or_else(|| row.route_id.clone(), |r| r.number.clone());
    Ok(Line {
        day: date_of_day(row.local_day)?,
        city: row.city_id,
        carrier: row.carrier_id,
        route: row.route_id,
        route_number,
        transport_code: row.transport_code,
        source,
        category: row.rider_category,
        rides,
        refunds,
        fares,
        refunded,
        payable,
        subsidy,
        subsidy_estimated,
    })
}

/// Lines of the same day, vehicle, source and category (a ride's zones, posts and reversals
/// come apart from the store) become one.
fn merge_lines(lines: Vec<Line>) -> Result<Vec<Line>, ServiceError> {
    type Key = (Date, String, String, String, String, Source, String);
    let mut merged: BTreeMap<Key, Line> = BTreeMap::new();
    for line in lines {
        let key = (
            line.day,
            line.city.clone(),
            line.carrier.clone(),
            line.route.clone(),
            line.transport_code.clone(),
            line.source.clone(),
            line.category.clone(),
        );
        match merged.get_mut(&key) {
            Some(into) => {
                into.rides += line.rides;
                into.refunds += line.refunds;
                into.fares = sum([into.fares, line.fares].into_iter())?;
                into.refunded = sum([into.refunded, line.refunded].into_iter())?;
                into.payable = sum([into.payable, line.payable].into_iter())?;
                into.subsidy = sum([into.subsidy, line.subsidy].into_iter())?;
                into.subsidy_estimated |= line.subsidy_estimated;
            }
            None => {
                merged.insert(key, line);
            }
        }
    }
    Ok(merged.into_values().collect())
}

/// A carrier's month: `month` is `YYYY-MM`; the report of its days and the carrier's name.
pub async fn settlement(
    app: &App,
    actor: &Actor,
    carrier: &str,
    month: &str,
) -> Result<(Report, String), ServiceError> {
    actor.require_carrier(carrier)?;
    let first = month_start(month)?;
    let last = first.last_of_month();
    let report = rides(
        app,
        actor,
        &ReportQuery {
            from: first,
            to: last,
            city: None,
            carrier: Some(carrier.to_owned()),
        },
    )
    .await?;
    let name = CarrierId::parse(carrier)
        .ok()
        .and_then(|id| app.catalogue().carriers.get(&id).map(|c| c.name.clone()))
        .unwrap_or_else(|| carrier.to_owned());
    Ok((report, name))
}

/// The first day of `YYYY-MM`.
pub fn month_start(month: &str) -> Result<Date, ServiceError> {
    let refuse = || bad("month must be YYYY-MM");
    let (year, number) = month.split_once('-').ok_or_else(refuse)?;
    if year.len() != 4 || number.len() != 2 {
        return Err(refuse());
    }
    let year: i16 = year.parse().map_err(|_| refuse())?;
    let number: i8 = number.parse().map_err(|_| refuse())?;
    Date::new(year, number, 1).map_err(|_| refuse())
}

/// A local date written `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<Date, ServiceError> {
    if text.len() != 10 {
        return Err(bad("dates are YYYY-MM-DD"));
    }
    text.parse::<Date>()
        .map_err(|_| bad("dates are YYYY-MM-DD"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_count_from_the_epoch_and_back() {
        let date = Date::constant(2026, 3, 1);
        let n = day_number(date).unwrap();
        assert_eq!(n, 20_513);
        assert_eq!(date_of_day(n).unwrap(), date);
        assert_eq!(day_number(Date::constant(1970, 1, 1)).unwrap(), 0);
    }

    #[test]
    fn months_and_dates_are_parsed_strictly() {
        assert_eq!(month_start("2026-02").unwrap(), Date::constant(2026, 2, 1));
        for bad in ["2026-2", "2026-13", "26-02", "2026/02", ""] {
            assert!(month_start(bad).is_err(), "{bad}");
        }
        assert!(parse_date("2026-02-30").is_err());
        assert_eq!(
            parse_date("2026-02-28").unwrap(),
            Date::constant(2026, 2, 28)
        );
    }
}
