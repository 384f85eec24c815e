//! Readers of the small GTFS files: agency, stops, routes, calendar, calendar_dates, shapes,
//! trips, frequencies and transfers. stop_times.txt has its own module.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::Read;

use jiff::civil::Date;

use super::error::{FieldProblem, GtfsError};
use super::model::{
    Agency, Feed, Frequency, Line, LocationKind, RouteKind, Service, Shape, Stop, Transfer,
    TransferKind, Trip,
};
use super::table::{Column, Table};
use crate::geo::Coordinate;
use crate::ids::{
    GtfsRouteId, GtfsStopId, GtfsTripId, LineIdx, ServiceIdx, ShapeIdx, StopIdx, TripIdx,
};
use crate::time::ServiceTime;

/// Services by `service_id`, shared by calendar.txt, calendar_dates.txt and trips.txt.
#[derive(Default)]
pub(crate) struct Services {
    by_id: HashMap<String, ServiceIdx>,
}

/// Most trips instantiated from one frequencies.txt row.
pub const FREQUENCY_TRIPS_MAX: i64 = 10_000;

fn finish<R: Read>(feed: &mut Feed, table: &Table<R>) {
    feed.report.rows_read.push((table.file(), table.rows()));
}

fn required_id<R: Read>(feed: &mut Feed, table: &Table<R>, column: Column) -> Option<String> {
    let value = table.get(column);
    if value.is_empty() {
        feed.report.skip(table.at(column), FieldProblem::Missing);
        return None;
    }
    Some(value.to_owned())
}

pub(crate) fn read_agencies<R: Read>(
    feed: &mut Feed,
    mut table: Table<R>,
) -> Result<(), GtfsError> {
    let id = table.optional_column("agency_id");
    let name = table.column("agency_name")?;
    let timezone = table.column("agency_timezone")?;
    while table.next_row()? {
        let Some(agency_name) = required_id(feed, &table, name) else {
            continue;
        };
        feed.agencies.push(Agency {
            id: table.get_optional(id).map(str::to_owned),
            name: agency_name,
            timezone: table.get(timezone).to_owned(),
        });
    }
    finish(feed, &table);
    Ok(())
}

pub(crate) fn read_stops<R: Read>(feed: &mut Feed, mut table: Table<R>) -> Result<(), GtfsError> {
    let id = table.column("stop_id")?;
    let code = table.optional_column("stop_code");
    let name = table.optional_column("stop_name");
    let lat = table.optional_column("stop_lat");
    let lon = table.optional_column("stop_lon");
    let location_type = table.optional_column("location_type");
    let parent = table.optional_column("parent_station");
    let zone = table.optional_column("zone_id");
    while table.next_row()? {
        let Ok(stop_id) = GtfsStopId::new(table.get(id)) else {
            feed.report.skip(table.at(id), FieldProblem::Missing);
            continue;
        };
        let kind = match table.get_optional(location_type) {
            None | Some("0") => LocationKind::Stop,
            Some("1") => LocationKind::Station,
            Some(_) => LocationKind::Other,
        };
        let coordinate = read_coordinate(feed, &table, lat, lon);
        let index = StopIdx::new(feed.stops.len() as u32);
        match feed.stop_by_id.entry(stop_id.as_str().to_owned()) {
            Entry::Occupied(_) => {
                feed.report
                    .skip(table.at(id), FieldProblem::Duplicate(stop_id.to_string()));
                continue;
            }
            Entry::Vacant(slot) => slot.insert(index),
        };
        feed.stops.push(Stop {
            id: stop_id,
            code: table.get_optional(code).map(str::to_owned),
            name: table.get_optional(name).unwrap_or_default().to_owned(),
            coordinate,
            kind,
            parent_station: table.get_optional(parent).map(str::to_owned),
            zone_id: table.get_optional(zone).map(str::to_owned),
        });
    }
    finish(feed, &table);
    Ok(())
}

fn read_coordinate<R: Read>(
    feed: &mut Feed,
    table: &Table<R>,
    lat: Option<Column>,
    lon: Option<Column>,
) -> Option<Coordinate> {
    let (lat, lon) = (lat?, lon?);
    let (lat_text, lon_text) = (table.get(lat), table.get(lon));
    if lat_text.is_empty() && lon_text.is_empty() {
        return None;
    }
    let Ok(lat_value) = lat_text.parse::<f64>() else {
        feed.report
            .skip(table.at(lat), FieldProblem::BadValue(lat_text.to_owned()));
        return None;
    };
    let Ok(lon_value) = lon_text.parse::<f64>() else {
        feed.report
            .skip(table.at(lon), FieldProblem::BadValue(lon_text.to_owned()));
        return None;
    };
    match Coordinate::new(lat_value, lon_value) {
        Ok(c) => Some(c),
        Err(_) => {
            let text = format!("{lat_text},{lon_text}");
            feed.report
                .skip(table.at(lat), FieldProblem::CoordinateOutOfRange(text));
            None
        }
    }
}

pub(crate) fn read_lines<R: Read>(feed: &mut Feed, mut table: Table<R>) -> Result<(), GtfsError> {
    let id = table.column("route_id")?;
    let agency = table.optional_column("agency_id");
    let short_name = table.optional_column("route_short_name");
    let long_name = table.optional_column("route_long_name");
    let route_type = table.column("route_type")?;
    let color = table.optional_column("route_color");
    while table.next_row()? {
        let Ok(route_id) = GtfsRouteId::new(table.get(id)) else {
            feed.report.skip(table.at(id), FieldProblem::Missing);
            continue;
        };
        let Ok(type_value) = table.get(route_type).parse::<u16>() else {
            let value = table.get(route_type).to_owned();
            feed.report
                .skip(table.at(route_type), FieldProblem::BadValue(value));
            continue;
        };
        let index = LineIdx::new(feed.lines.len() as u32);
        match feed.line_by_id.entry(route_id.as_str().to_owned()) {
            Entry::Occupied(_) => {
                feed.report
                    .skip(table.at(id), FieldProblem::Duplicate(route_id.to_string()));
                continue;
            }
            Entry::Vacant(slot) => slot.insert(index),
        };
        feed.lines.push(Line {
            id: route_id,
            agency_id: table.get_optional(agency).map(str::to_owned),
            short_name: table
                .get_optional(short_name)
                .unwrap_or_default()
                .to_owned(),
            long_name: table.get_optional(long_name).unwrap_or_default().to_owned(),
            kind: RouteKind::from_route_type(type_value),
            color: table
                .get_optional(color)
                .map(|c| c.trim_start_matches('#').to_owned()),
        });
    }
    finish(feed, &table);
    Ok(())
}

/// Parses `YYYYMMDD`.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = text.get(0..4)?.parse().ok()?;
    let month = text.get(4..6)?.parse().ok()?;
    let day = text.get(6..8)?.parse().ok()?;
    Date::new(year, month, day).ok()
}

fn service_entry<'a>(
    feed: &'a mut Feed,
    services: &mut Services,
    id: &str,
) -> Option<&'a mut Service> {
    let index = match services.by_id.get(id) {
        Some(&index) => index,
        None => {
            let index = ServiceIdx::new(feed.services.len() as u32);
            feed.services.push(Service::empty(id.to_owned()));
            services.by_id.insert(id.to_owned(), index);
            index
        }
    };
    feed.services.get_mut(index.index())
}

pub(crate) fn read_calendar<R: Read>(
    feed: &mut Feed,
    services: &mut Services,
    mut table: Table<R>,
) -> Result<(), GtfsError> {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let id = table.column("service_id")?;
    let mut day_columns = Vec::with_capacity(7);
    for day in DAYS {
        day_columns.push(table.column(day)?);
    }
    let start = table.column("start_date")?;
    let end = table.column("end_date")?;
    'rows: while table.next_row()? {
        let Some(service_id) = required_id(feed, &table, id) else {
            continue;
        };
        let mut weekdays = [false; 7];
        for (slot, &column) in weekdays.iter_mut().zip(&day_columns) {
            match table.get(column) {
                "1" => *slot = true,
                "0" => {}
                other => {
                    feed.report
                        .skip(table.at(column), FieldProblem::BadValue(other.to_owned()));
                    continue 'rows;
                }
            }
        }
        let mut dates = [None, None];
        for (slot, column) in dates.iter_mut().zip([start, end]) {
            let text = table.get(column);
            match parse_date(text) {
                Some(date) => *slot = Some(date),
                None => {
                    feed.report
                        .skip(table.at(column), FieldProblem::BadDate(text.to_owned()));
                    continue 'rows;
                }
            }
        }
        if let Some(service) = service_entry(feed, services, &service_id) {
            service.weekdays = weekdays;
            [service.start, service.end] = dates;
        }
    }
    finish(feed, &table);
    Ok(())
}

pub(crate) fn read_calendar_dates<R: Read>(
    feed: &mut Feed,
    services: &mut Services,
    mut table: Table<R>,
) -> Result<(), GtfsError> {
    let id = table.column("service_id")?;
    let date = table.column("date")?;
    let exception = table.column("exception_type")?;
    while table.next_row()? {
        let Some(service_id) = required_id(feed, &table, id) else {
            continue;
        };
        let text = table.get(date);
        let Some(day) = parse_date(text) else {
            feed.report
                .skip(table.at(date), FieldProblem::BadDate(text.to_owned()));
            continue;
        };
        let added = match table.get(exception) {
            "1" => true,
            "2" => false,
            other => {
                feed.report.skip(
                    table.at(exception),
                    FieldProblem::BadValue(other.to_owned()),
                );
                continue;
            }
        };
        if let Some(service) = service_entry(feed, services, &service_id) {
            if added {
                service.added.push(day);
            } else {
                service.removed.push(day);
            }
        }
    }
    finish(feed, &table);
    Ok(())
}

pub(crate) fn read_shapes<R: Read>(
    feed: &mut Feed,
    mut table: Table<R>,
) -> Result<HashMap<String, ShapeIdx>, GtfsError> {
    let id = table.column("shape_id")?;
    let lat = table.column("shape_pt_lat")?;
    let lon = table.column("shape_pt_lon")?;
    let sequence = table.column("shape_pt_sequence")?;
    let dist = table.optional_column("shape_dist_traveled");
    let mut by_id: HashMap<String, ShapeIdx> = HashMap::new();
    let mut points: Vec<(u32, u32, Coordinate, Option<f32>)> = Vec::new();
    while table.next_row()? {
        let Some(shape_id) = required_id(feed, &table, id) else {
            continue;
        };
        let Some(coordinate) = read_coordinate(feed, &table, Some(lat), Some(lon)) else {
            continue;
        };
        let Ok(seq) = table.get(sequence).parse::<u32>() else {
            let value = table.get(sequence).to_owned();
            feed.report
                .skip(table.at(sequence), FieldProblem::BadValue(value));
            continue;
        };
        let next = ShapeIdx::new(by_id.len() as u32);
        let shape = *by_id.entry(shape_id).or_insert(next);
        let distance = table.get_optional(dist).and_then(|d| d.parse::<f32>().ok());
        points.push((shape.get(), seq, coordinate, distance));
    }
    finish(feed, &table);
    points.sort_by_key(|&(shape, seq, _, _)| (shape, seq));
    let mut ids: Vec<(&String, &ShapeIdx)> = by_id.iter().collect();
    ids.sort_by_key(|(_, index)| **index);
    feed.shapes = ids
        .into_iter()
        .map(|(id, _)| Shape {
            id: id.clone(),
            points: Vec::new(),
            distances: Some(Vec::new()),
        })
        .collect();
    for (shape, _, coordinate, distance) in points {
        let Some(target) = feed.shapes.get_mut(shape as usize) else {
            continue;
        };
        target.points.push(coordinate);
        match (distance, target.distances.as_mut()) {
            (Some(d), Some(distances)) => distances.push(d),
            _ => target.distances = None,
        }
    }
    Ok(by_id)
}

pub(crate) fn read_trips<R: Read>(
    feed: &mut Feed,
    services: &Services,
    shape_by_id: &HashMap<String, ShapeIdx>,
    mut table: Table<R>,
) -> Result<HashMap<String, TripIdx>, GtfsError> {
    let route = table.column("route_id")?;
    let service = table.column("service_id")?;
    let id = table.column("trip_id")?;
    let headsign = table.optional_column("trip_headsign");
    let direction = table.optional_column("direction_id");
    let shape = table.optional_column("shape_id");
    let mut by_id: HashMap<String, TripIdx> = HashMap::new();
    while table.next_row()? {
        let Ok(trip_id) = GtfsTripId::new(table.get(id)) else {
            feed.report.skip(table.at(id), FieldProblem::Missing);
            continue;
        };
        let Some(line) = feed.line_idx(table.get(route)) else {
            let problem = unknown("routes.txt", table.get(route));
            feed.report.skip(table.at(route), problem);
            continue;
        };
        let Some(&service_idx) = services.by_id.get(table.get(service)) else {
            let problem = unknown("calendar.txt", table.get(service));
            feed.report.skip(table.at(service), problem);
            continue;
        };
        let shape_idx = match table.get_optional(shape) {
            None => None,
            Some(shape_id) => match shape_by_id.get(shape_id) {
                Some(&index) => Some(index),
                None => {
                    let problem = unknown("shapes.txt", shape_id);
                    feed.report.skip(table.at_row(), problem);
                    None
                }
            },
        };
        let index = TripIdx::new(feed.trips.len() as u32);
        match by_id.entry(trip_id.as_str().to_owned()) {
            Entry::Occupied(_) => {
                feed.report
                    .skip(table.at(id), FieldProblem::Duplicate(trip_id.to_string()));
                continue;
            }
            Entry::Vacant(slot) => slot.insert(index),
        };
        feed.trips.push(Trip {
            id: trip_id,
            line,
            service: service_idx,
            headsign: table.get_optional(headsign).map(str::to_owned),
            direction: table.get_optional(direction).and_then(|d| d.parse().ok()),
            shape: shape_idx,
            stop_times_start: 0,
            stop_times_len: 0,
        });
    }
    finish(feed, &table);
    Ok(by_id)
}

pub(crate) fn unknown(file: &'static str, id: &str) -> FieldProblem {
    FieldProblem::UnknownReference {
        file,
        id: id.to_owned(),
    }
}

pub(crate) fn read_frequencies<R: Read>(
    feed: &mut Feed,
    trip_by_id: &HashMap<String, TripIdx>,
    mut table: Table<R>,
) -> Result<(), GtfsError> {
    let trip = table.column("trip_id")?;
    let start = table.column("start_time")?;
    let end = table.column("end_time")?;
    let headway = table.column("headway_secs")?;
    while table.next_row()? {
        let Some(&trip_idx) = trip_by_id.get(table.get(trip)) else {
            let problem = unknown("trips.txt", table.get(trip));
            feed.report.skip(table.at(trip), problem);
            continue;
        };
        let mut times = [0, 0];
        for (slot, column) in times.iter_mut().zip([start, end]) {
            let text = table.get(column);
            let time = ServiceTime::parse(text)
                .map_err(|_| table.fatal(column, FieldProblem::BadTime(text.to_owned())))?;
            *slot = time.seconds();
        }
        let [start_s, end_s] = times;
        let headway_s = match table.get(headway).parse::<u32>() {
            Ok(h) if h > 0 && i64::from(end_s - start_s) / i64::from(h) <= FREQUENCY_TRIPS_MAX => h,
            _ => {
                let value = table.get(headway).to_owned();
                feed.report
                    .skip(table.at(headway), FieldProblem::BadValue(value));
                continue;
            }
        };
        feed.frequencies.push(Frequency {
            trip: trip_idx,
            start_s,
            end_s,
            headway_s,
        });
    }
    finish(feed, &table);
    Ok(())
}

pub(crate) fn read_transfers<R: Read>(
    feed: &mut Feed,
    mut table: Table<R>,
) -> Result<(), GtfsError> {
    let from = table.column("from_stop_id")?;
    let to = table.column("to_stop_id")?;
    let kind = table.column("transfer_type")?;
    let min_time = table.optional_column("min_transfer_time");
    while table.next_row()? {
        let mut stops = [StopIdx::new(0), StopIdx::new(0)];
        let mut known = true;
        for (slot, column) in stops.iter_mut().zip([from, to]) {
            match feed.stop_idx(table.get(column)) {
                Some(stop) => *slot = stop,
                None => {
                    let problem = unknown("stops.txt", table.get(column));
                    feed.report.skip(table.at(column), problem);
                    known = false;
                    break;
                }
            }
        }
        if !known {
            continue;
        }
        let transfer_kind = match table.get(kind) {
            "" | "0" => TransferKind::Recommended,
            "1" => TransferKind::Timed,
            "2" => TransferKind::MinimumTime,
            "3" => TransferKind::Impossible,
            "4" | "5" => TransferKind::InSeat,
            other => {
                feed.report
                    .skip(table.at(kind), FieldProblem::BadValue(other.to_owned()));
                continue;
            }
        };
        let [from_stop, to_stop] = stops;
        feed.transfers.push(Transfer {
            from: from_stop,
            to: to_stop,
            kind: transfer_kind,
            min_time_s: table.get_optional(min_time).and_then(|t| t.parse().ok()),
        });
    }
    finish(feed, &table);
    Ok(())
}
