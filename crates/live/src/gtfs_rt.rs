//! GTFS-Realtime: hand-written prost messages for the subset we read and write
//! (VehiclePositions, and TripUpdates for completeness), with the official field numbers
//! of `gtfs-realtime.proto`; decoding a feed into [`Position`]s and encoding our own
//! VehiclePositions feed from [`LiveState`].
//!
//! Hand-written rather than generated so the build needs no `protoc` and no build script;
//! unknown fields (alerts, newer extensions) are skipped by prost.

use std::collections::HashMap;

use prost::Message;
use transit::geo::Coordinate;
use transit::ids::{GtfsRouteId, GtfsTripId, IdError};

use crate::ids::{TimeMs, VehicleId};
use crate::state::{Authority, LiveState, Position};

/// Largest feed body accepted (a city of 5,000 buses is about 1 MB).
pub const FEED_BYTES_MAX: usize = 16 * 1024 * 1024;
/// The GTFS-Realtime version we write.
pub const GTFS_REALTIME_VERSION: &str = "2.0";

#[derive(Clone, PartialEq, Message)]
pub struct FeedMessage {
    #[prost(message, required, tag = "1")]
    pub header: FeedHeader,
    #[prost(message, repeated, tag = "2")]
    pub entity: Vec<FeedEntity>,
}

#[derive(Clone, PartialEq, Message)]
pub struct FeedHeader {
    #[prost(string, required, tag = "1")]
    pub gtfs_realtime_version: String,
    #[prost(enumeration = "Incrementality", optional, tag = "2")]
    pub incrementality: Option<i32>,
    /// POSIX seconds.
    #[prost(uint64, optional, tag = "3")]
    pub timestamp: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Incrementality {
    FullDataset = 0,
    Differential = 1,
}

#[derive(Clone, PartialEq, Message)]
pub struct FeedEntity {
    #[prost(string, required, tag = "1")]
    pub id: String,
    #[prost(bool, optional, tag = "2")]
    pub is_deleted: Option<bool>,
    #[prost(message, optional, tag = "3")]
    pub trip_update: Option<TripUpdate>,
    #[prost(message, optional, tag = "4")]
    pub vehicle: Option<VehiclePosition>,
}

#[derive(Clone, PartialEq, Message)]
pub struct VehiclePosition {
    #[prost(message, optional, tag = "1")]
    pub trip: Option<TripDescriptor>,
    #[prost(message, optional, tag = "2")]
    pub position: Option<GtfsPosition>,
    #[prost(uint32, optional, tag = "3")]
    pub current_stop_sequence: Option<u32>,
    #[prost(enumeration = "VehicleStopStatus", optional, tag = "4")]
    pub current_status: Option<i32>,
    /// POSIX seconds.
    #[prost(uint64, optional, tag = "5")]
    pub timestamp: Option<u64>,
    #[prost(string, optional, tag = "7")]
    pub stop_id: Option<String>,
    #[prost(message, optional, tag = "8")]
    pub vehicle: Option<VehicleDescriptor>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum VehicleStopStatus {
    IncomingAt = 0,
    StoppedAt = 1,
    InTransitTo = 2,
}

#[derive(Clone, PartialEq, Message)]
pub struct TripDescriptor {
    #[prost(string, optional, tag = "1")]
    pub trip_id: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub start_time: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub start_date: Option<String>,
    #[prost(int32, optional, tag = "4")]
    pub schedule_relationship: Option<i32>,
    #[prost(string, optional, tag = "5")]
    pub route_id: Option<String>,
    #[prost(uint32, optional, tag = "6")]
    pub direction_id: Option<u32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct VehicleDescriptor {
    #[prost(string, optional, tag = "1")]
    pub id: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub label: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub license_plate: Option<String>,
}

/// `transit_realtime.Position` (named apart from our own [`Position`]).
#[derive(Clone, PartialEq, Message)]
pub struct GtfsPosition {
    #[prost(float, required, tag = "1")]
    pub latitude: f32,
    #[prost(float, required, tag = "2")]
    pub longitude: f32,
    #[prost(float, optional, tag = "3")]
    pub bearing: Option<f32>,
    #[prost(double, optional, tag = "4")]
    pub odometer: Option<f64>,
    /// Metres per second.
    #[prost(float, optional, tag = "5")]
    pub speed: Option<f32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TripUpdate {
    #[prost(message, required, tag = "1")]
    pub trip: TripDescriptor,
    #[prost(message, repeated, tag = "2")]
    pub stop_time_update: Vec<StopTimeUpdate>,
    #[prost(message, optional, tag = "3")]
    pub vehicle: Option<VehicleDescriptor>,
    #[prost(uint64, optional, tag = "4")]
    pub timestamp: Option<u64>,
    #[prost(int32, optional, tag = "5")]
    pub delay: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct StopTimeUpdate {
    #[prost(uint32, optional, tag = "1")]
    pub stop_sequence: Option<u32>,
    #[prost(message, optional, tag = "2")]
    pub arrival: Option<StopTimeEvent>,
    #[prost(message, optional, tag = "3")]
    pub departure: Option<StopTimeEvent>,
    #[prost(string, optional, tag = "4")]
    pub stop_id: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct StopTimeEvent {
    #[prost(int32, optional, tag = "1")]
    pub delay: Option<i32>,
    #[prost(int64, optional, tag = "2")]
    pub time: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum GtfsRtError {
    #[error("feed of {size} bytes is larger than the limit of {FEED_BYTES_MAX}")]
    TooLarge { size: usize },
    #[error("not a GTFS-Realtime feed: {0}")]
    Decode(#[from] prost::DecodeError),
}

pub fn decode_feed(bytes: &[u8]) -> Result<FeedMessage, GtfsRtError> {
    if bytes.len() > FEED_BYTES_MAX {
        return Err(GtfsRtError::TooLarge { size: bytes.len() });
    }
    Ok(FeedMessage::decode(bytes)?)
}

pub fn encode_feed(feed: &FeedMessage) -> Vec<u8> {
    feed.encode_to_vec()
}

/// Maps a feed's own vehicle ids to ours, handing out new ids on first sight. One per
/// feed: vehicle "12" of one city is not vehicle "12" of another.
#[derive(Clone, Debug, Default)]
pub struct VehicleDirectory {
    by_key: HashMap<String, VehicleId>,
    next: u64,
}

impl VehicleDirectory {
    /// Ids are handed out from `first` upwards.
    pub fn starting_at(first: u64) -> Self {
        Self {
            by_key: HashMap::new(),
            next: first,
        }
    }

    pub fn get(&self, key: &str) -> Option<VehicleId> {
        self.by_key.get(key).copied()
    }

    pub fn get_or_insert(&mut self, key: &str) -> VehicleId {
        if let Some(id) = self.by_key.get(key) {
            return *id;
        }
        let id = VehicleId(self.next);
        self.next = self.next.saturating_add(1);
        self.by_key.insert(key.to_owned(), id);
        id
    }
}

/// Counts of entities that gave no position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedSkips {
    pub without_position: u64,
    pub unknown_vehicle: u64,
    /// Entities whose coordinates are off the Earth (or the 0/0 placeholder).
    pub invalid_position: u64,
    /// Entities whose trip or route id is not a GTFS id (only blanks, or too long): refused
    /// rather than read as no trip, or as another trip.
    pub invalid_id: u64,
}

/// A feed's optional id: absent or empty is no id (protobuf writers send `""` for unset);
/// anything else must be a GTFS id.
fn optional_id<T>(
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, IdError>,
) -> Result<Option<T>, IdError> {
    raw.filter(|id| !id.is_empty()).map(parse).transpose()
}

/// The feed's own key for a vehicle entity: vehicle id, else label, else entity id.
pub fn vehicle_key(entity: &FeedEntity) -> Option<&str> {
    let descriptor = entity.vehicle.as_ref()?.vehicle.as_ref();
    descriptor
        .and_then(|d| d.id.as_deref().filter(|id| !id.is_empty()))
        .or_else(|| descriptor.and_then(|d| d.label.as_deref().filter(|label| !label.is_empty())))
        .or(Some(entity.id.as_str()))
}

/// Positions from a VehiclePositions feed; `resolve` maps the feed's vehicle key to our
/// vehicle (the feed's token decides which city and which vehicles it may report).
pub fn positions_from_feed(
    feed: &FeedMessage,
    mut resolve: impl FnMut(&str) -> Option<VehicleId>,
    positions: &mut Vec<Position>,
) -> FeedSkips {
    let mut skips = FeedSkips::default();
    let header_time = feed.header.timestamp;
    for entity in &feed.entity {
        let Some(vehicle_position) = entity.vehicle.as_ref() else {
            continue;
        };
        let (Some(gtfs_position), Some(seconds)) = (
            vehicle_position.position.as_ref(),
            vehicle_position.timestamp.or(header_time),
        ) else {
            skips.without_position += 1;
            continue;
        };
        let Some(vehicle) = vehicle_key(entity).and_then(&mut resolve) else {
            skips.unknown_vehicle += 1;
            continue;
        };
        let point = Coordinate::new(
            f64::from(gtfs_position.latitude),
            f64::from(gtfs_position.longitude),
        );
        let Ok(point) = point else {
            skips.invalid_position += 1;
            continue;
        };
        let trip = vehicle_position.trip.as_ref();
        let trip_id = optional_id(trip.and_then(|t| t.trip_id.as_deref()), GtfsTripId::new);
        let route_id = optional_id(trip.and_then(|t| t.route_id.as_deref()), GtfsRouteId::new);
        let (Ok(trip_id), Ok(route_id)) = (trip_id, route_id) else {
            skips.invalid_id += 1;
            continue;
        };
        positions.push(Position {
            vehicle,
            point,
            speed_mps: gtfs_position.speed.map(f64::from),
            heading_deg: gtfs_position.bearing.map(f64::from),
            at: TimeMs::from_unix_s(i64::try_from(seconds).unwrap_or(i64::MAX)),
            trip: trip_id,
            route: route_id,
            // The token's registration decides; the caller raises it where it may.
            authority: Authority::ReportsOnly,
        });
    }
    skips
}

/// Our own VehiclePositions feed for one city; `describe` gives the public vehicle
/// descriptor (id, label, plate) of each vehicle.
pub fn vehicle_positions_feed(
    state: &LiveState,
    now: TimeMs,
    describe: impl Fn(VehicleId) -> VehicleDescriptor,
) -> FeedMessage {
    let network = state.network();
    let mut vehicles: Vec<_> = state.vehicles().collect();
    vehicles.sort_by_key(|vehicle| vehicle.vehicle);
    let entity = vehicles
        .into_iter()
        .map(|vehicle| {
            let run = vehicle
                .run
                .as_ref()
                .and_then(|progress| network.run(progress.run));
            let trip = run.map(|run| TripDescriptor {
                trip_id: Some(run.trip_id.as_str().to_owned()),
                route_id: Some(run.route_id.as_str().to_owned()),
                ..TripDescriptor::default()
            });
            let next_stop = vehicle
                .run
                .and_then(|p| p.next_stop)
                .and_then(|i| run.and_then(|run| run.stops.get(i)));
            FeedEntity {
                id: vehicle.vehicle.0.to_string(),
                is_deleted: None,
                trip_update: None,
                vehicle: Some(VehiclePosition {
                    trip,
                    position: Some(GtfsPosition {
                        latitude: vehicle.point.lat() as f32,
                        longitude: vehicle.point.lon() as f32,
                        bearing: vehicle.heading_deg.map(|h| h as f32),
                        odometer: None,
                        speed: vehicle.speed_mps.map(|s| s as f32),
                    }),
                    current_stop_sequence: None,
                    current_status: next_stop.map(|_| VehicleStopStatus::InTransitTo as i32),
                    timestamp: u64::try_from(vehicle.at.unix_s()).ok(),
                    stop_id: next_stop.map(|stop| stop.stop_id.as_str().to_owned()),
                    vehicle: Some(describe(vehicle.vehicle)),
                }),
            }
        })
        .collect();
    FeedMessage {
        header: FeedHeader {
            gtfs_realtime_version: GTFS_REALTIME_VERSION.to_owned(),
            incrementality: Some(Incrementality::FullDataset as i32),
            timestamp: u64::try_from(now.unix_s()).ok(),
        },
        entity,
    }
}

/// A VehiclePositions feed of raw positions (the simulator's, as a partner's feed would
/// carry them): vehicle id as the entity and vehicle id, trip when known.
pub fn feed_from_positions(positions: &[Position], at: TimeMs) -> FeedMessage {
    let entity = positions
        .iter()
        .map(|position| FeedEntity {
            id: position.vehicle.0.to_string(),
            is_deleted: None,
            trip_update: None,
            vehicle: Some(VehiclePosition {
                trip: position.trip.as_ref().map(|trip| TripDescriptor {
                    trip_id: Some(trip.as_str().to_owned()),
                    route_id: position
                        .route
                        .as_ref()
                        .map(|route| route.as_str().to_owned()),
                    ..TripDescriptor::default()
                }),
                position: Some(GtfsPosition {
                    latitude: position.point.lat() as f32,
                    longitude: position.point.lon() as f32,
                    bearing: position.heading_deg.map(|h| h as f32),
                    odometer: None,
                    speed: position.speed_mps.map(|s| s as f32),
                }),
                current_stop_sequence: None,
                current_status: None,
                timestamp: u64::try_from(position.at.unix_s()).ok(),
                stop_id: None,
                vehicle: Some(VehicleDescriptor {
                    id: Some(position.vehicle.0.to_string()),
                    label: None,
                    license_plate: None,
                }),
            }),
        })
        .collect();
    FeedMessage {
        header: FeedHeader {
            gtfs_realtime_version: GTFS_REALTIME_VERSION.to_owned(),
            incrementality: Some(Incrementality::FullDataset as i32),
            timestamp: u64::try_from(at.unix_s()).ok(),
        },
        entity,
    }
}
