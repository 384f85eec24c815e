//! Integration tests of the live crate: a Wialon IPS conversation over a real TCP socket,
//! the recorded Halifax GTFS-Realtime sample, run-ended events, stale vehicles, bus
//! detection on hand-made cases, and our own GTFS-RT output read back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use live::detect::{Detection, DetectionParams};
use live::gtfs_rt::{self, VehicleDescriptor, VehicleDirectory};
use live::network::{Network, NetworkInput, RunInput, RunStopInput};
use live::session::{AuthOutcome, SessionCounters, SessionEnd, SessionLimits, run_session};
use live::simulate::{CitySimulator, SimConfig, SplitMix64};
use live::state::{
    Authority, Fix, LiveConfig, LiveEvent, LiveState, Position, RunEndReason, RunSource,
};
use live::wialon::{self, ProtocolVersion, WialonFix};
use live::{TimeMs, TrackerId, VehicleId};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use transit::geo::{Coordinate, Projection, Xy};
use transit::ids::{GtfsRouteId, GtfsStopId, GtfsTripId};

/// 2025-09-10 08:00:00 UTC.
const T0: TimeMs = TimeMs::from_unix_s(1_757_491_200);

fn projection() -> Projection {
    Projection::new(Coordinate::new(44.65, -63.58).unwrap())
}

fn point(x: f64, y: f64) -> Coordinate {
    projection().unproject(Xy::new(x, y)).unwrap()
}

/// Route A runs east along y = 0 for 3 km; route B follows it for 1 km, then turns north.
/// Stops every 500 m, one minute apart (about 8.3 m/s).
fn path(route: &str) -> Vec<Xy> {
    match route {
        "A" => (0..=6)
            .map(|i| Xy::new(500.0 * f64::from(i), 0.0))
            .collect(),
        _ => vec![
            Xy::new(0.0, 0.0),
            Xy::new(500.0, 0.0),
            Xy::new(1000.0, 0.0),
            Xy::new(1000.0, 500.0),
            Xy::new(1000.0, 1000.0),
        ],
    }
}

fn run(trip: &str, route: &str, start: TimeMs) -> RunInput {
    let stops = path(route)
        .into_iter()
        .enumerate()
        .map(|(i, xy)| {
            let at = start.plus_ms(60_000 * i as i64);
            RunStopInput {
                stop_id: GtfsStopId::new(&format!("{route}{i}")).unwrap(),
                name: format!("Stop {route}{i}"),
                point: point(xy.x, xy.y),
                arrival: at,
                departure: at,
            }
        })
        .collect();
    RunInput {
        trip_id: GtfsTripId::new(trip).unwrap(),
        route_id: GtfsRouteId::new(route).unwrap(),
        route_short_name: route.to_owned(),
        stops,
        shape: None,
    }
}

fn network() -> Arc<Network> {
    let runs = vec![
        run("A-0800", "A", T0),
        run("A-0801", "A", T0.plus_ms(60_000)),
        run("A-0830", "A", T0.plus_ms(1_800_000)),
        run("B-0800", "B", T0),
    ];
    Arc::new(
        Network::build(NetworkInput {
            shapes: Vec::new(),
            runs,
        })
        .unwrap(),
    )
}

fn position(vehicle: u64, xy: Xy, at: TimeMs, trip: Option<&str>, route: &str) -> Position {
    Position {
        vehicle: VehicleId(vehicle),
        point: point(xy.x, xy.y),
        speed_mps: None,
        heading_deg: None,
        at,
        trip: trip.map(|trip| GtfsTripId::new(trip).unwrap()),
        route: Some(GtfsRouteId::new(route).unwrap()),
        authority: Authority::EndsRuns,
    }
}

/// Position along route `route` at `metres` from its start.
fn along(route: &str, metres: f64) -> Xy {
    let mut left = metres;
    let points = path(route);
    for pair in points.windows(2) {
        let length = pair[0].distance_m(pair[1]);
        if left <= length {
            return pair[0].lerp(pair[1], left / length);
        }
        left -= length;
    }
    *points.last().unwrap()
}

// ---- Wialon IPS over TCP ---------------------------------------------------------------

async fn send(stream: &mut BufReader<TcpStream>, line: &str) -> String {
    stream
        .get_mut()
        .write_all(format!("{line}\r\n").as_bytes())
        .await
        .unwrap();
    read_answer(stream).await
}

async fn read_answer(stream: &mut BufReader<TcpStream>) -> String {
    let mut answer = String::new();
    stream.read_line(&mut answer).await.unwrap();
    answer.trim_end().to_owned()
}

fn full_data_line(fix_text: &str) -> String {
    let covered = format!("{fix_text};1.2;0;0;NA;NA;fuel:2:45.5;");
    format!("#D#{covered}{:04X}", wialon::crc16(covered.as_bytes()))
}

#[tokio::test]
async fn wialon_conversation_over_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Position>(16);
    let counters = Arc::new(SessionCounters::default());
    let server_counters = Arc::clone(&counters);
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let authenticate =
            |tracker: &TrackerId, password: Option<&str>| match (tracker.as_str(), password) {
                ("861001", Some("secret")) => AuthOutcome::Vehicle {
                    vehicle: VehicleId(7),
                    route: Some(GtfsRouteId::new("A").unwrap()),
                },
                ("861001", _) => AuthOutcome::BadPassword,
                _ => AuthOutcome::UnknownTracker,
            };
        run_session(
            socket,
            &authenticate,
            &sender,
            &server_counters,
            SessionLimits::default(),
            || T0,
        )
        .await
        .unwrap()
    });
    let mut client = BufReader::new(TcpStream::connect(address).await.unwrap());
    let fix = WialonFix {
        at: Some(T0.plus_ms(5_000)),
        point: Some(point(100.0, 0.0)),
        speed_kmh: Some(30.0),
        course_deg: Some(90.0),
        height_m: Some(12.0),
        satellites: Some(9),
    };
    let v2 = ProtocolVersion::V2_0;
    // Data before login is refused, the connection stays.
    assert_eq!(
        send(
            &mut client,
            &wialon::short_data_line(ProtocolVersion::V1_1, &fix)
        )
        .await,
        "#ASD#-1"
    );
    assert_eq!(
        send(
            &mut client,
            &wialon::login_line(v2, "861001", Some("wrong"))
        )
        .await,
        "#AL#01"
    );
    let bad_login_crc =
        wialon::login_line(v2, "861001", Some("secret")).replace("secret", "secreT");
    assert_eq!(send(&mut client, &bad_login_crc).await, "#AL#10");
    assert_eq!(
        send(
            &mut client,
            &wialon::login_line(v2, "861001", Some("secret"))
        )
        .await,
        "#AL#1"
    );
    assert_eq!(
        send(&mut client, &wialon::short_data_line(v2, &fix)).await,
        "#ASD#1"
    );
    let corrupted = wialon::short_data_line(v2, &fix)
        .replace(";090;", ";091;")
        .replace(";90;", ";91;");
    assert_eq!(send(&mut client, &corrupted).await, "#ASD#13");
    let bad_coordinates = "100925;080010;9959.0000;N;06334.0000;W;10;90;5;8;";
    let bad_packet = format!(
        "#SD#{bad_coordinates}{:04X}",
        wialon::crc16(bad_coordinates.as_bytes())
    );
    assert_eq!(send(&mut client, &bad_packet).await, "#ASD#10");
    let full =
        full_data_line(&wialon::short_data_line(ProtocolVersion::V1_1, &fix)["#SD#".len()..]);
    assert_eq!(send(&mut client, &full).await, "#AD#1");
    let later = WialonFix {
        at: Some(T0.plus_ms(15_000)),
        point: Some(point(180.0, 0.0)),
        ..fix
    };
    assert_eq!(
        send(&mut client, &wialon::batch_line(v2, &[later, later])).await,
        "#AB#2"
    );
    // An unknown line gets no answer but costs nothing: the ping right after is answered.
    client.get_mut().write_all(b"hello\r\n").await.unwrap();
    assert_eq!(send(&mut client, "#P#").await, "#AP#");
    drop(client);
    assert_eq!(server.await.unwrap(), SessionEnd::TrackerClosed);
    let mut positions = Vec::new();
    while let Ok(position) = receiver.try_recv() {
        positions.push(position);
    }
    assert_eq!(positions.len(), 4);
    assert!(
        positions
            .iter()
            .all(|p| p.vehicle == VehicleId(7) && p.route == Some(GtfsRouteId::new("A").unwrap()))
    );
    assert!((positions[0].speed_mps.unwrap() - 30.0 / 3.6).abs() < 1e-9);
    let counters = counters.snapshot();
    assert_eq!(
        (
            counters.logins_accepted,
            counters.logins_rejected,
            counters.checksum_errors
        ),
        (1, 1, 2)
    );
    assert_eq!(
        (
            counters.packets_accepted,
            counters.unrecognised_lines,
            counters.positions_queued
        ),
        (3, 1, 4)
    );
}

#[tokio::test]
async fn a_full_queue_holds_the_tracker_back_instead_of_dropping() {
    let (server_side, client_side) = tokio::io::duplex(64 * 1024);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Position>(2);
    let counters = SessionCounters::default();
    let authenticate = |_: &TrackerId, _: Option<&str>| AuthOutcome::Vehicle {
        vehicle: VehicleId(1),
        route: None,
    };
    let fixes: Vec<WialonFix> = (0..10)
        .map(|i| WialonFix {
            at: Some(T0.plus_ms(i * 1000)),
            point: Some(point(i as f64, 0.0)),
            speed_kmh: None,
            course_deg: None,
            height_m: None,
            satellites: None,
        })
        .collect();
    let mut text = wialon::login_line(ProtocolVersion::V1_1, "1", None) + "\r\n";
    text += &(wialon::batch_line(ProtocolVersion::V1_1, &fixes) + "\r\n");
    let (mut reader, mut writer) = tokio::io::split(client_side);
    writer.write_all(text.as_bytes()).await.unwrap();
    writer.shutdown().await.unwrap();
    let session = run_session(
        server_side,
        &authenticate,
        &sender,
        &counters,
        SessionLimits::default(),
        || T0,
    );
    let drain = async {
        let mut received = Vec::new();
        while received.len() < 10 {
            received.push(receiver.recv().await.unwrap());
        }
        received
    };
    let (end, received) = tokio::join!(session, drain);
    assert_eq!(end.unwrap(), SessionEnd::TrackerClosed);
    assert_eq!(received.len(), 10);
    let mut answers = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut reader, &mut answers)
        .await
        .unwrap();
    assert_eq!(answers, "#AL#1\r\n#AB#10\r\n");
}

/// The deadlines are short here so the test waits on a timer a few tens of milliseconds,
/// never a sleep.
const SHORT_LIMITS: SessionLimits = SessionLimits {
    idle_timeout: std::time::Duration::from_millis(300),
    login_deadline: std::time::Duration::from_millis(100),
};

#[tokio::test]
async fn a_connection_that_does_not_log_in_in_time_is_closed_even_while_it_pings() {
    let (server_side, client_side) = tokio::io::duplex(4 * 1024);
    let (sender, _receiver) = tokio::sync::mpsc::channel::<Position>(2);
    let counters = SessionCounters::default();
    let authenticate = |_: &TrackerId, _: Option<&str>| AuthOutcome::BadPassword;
    let session = run_session(
        server_side,
        &authenticate,
        &sender,
        &counters,
        SHORT_LIMITS,
        || T0,
    );
    let (reader, mut writer) = tokio::io::split(client_side);
    let mut reader = BufReader::new(reader);
    let client = async {
        // Pings answered, a failed login answered, and still closed at the deadline.
        let mut answers = Vec::new();
        let login = wialon::login_line(ProtocolVersion::V1_1, "1", Some("wrong"));
        for line in ["#P#", login.as_str(), "#P#", "#P#"] {
            writer
                .write_all(format!("{line}\r\n").as_bytes())
                .await
                .unwrap();
            let mut answer = String::new();
            reader.read_line(&mut answer).await.unwrap();
            answers.push(answer.trim_end().to_owned());
        }
        answers
    };
    let (end, answers) = tokio::join!(session, client);
    assert_eq!(end.unwrap(), SessionEnd::LoginTimeout);
    assert_eq!(answers, ["#AP#", "#AL#01", "#AP#", "#AP#"]);

    // A logged-in tracker that falls silent is closed after the idle timeout.
    let (server_side, client_side) = tokio::io::duplex(4 * 1024);
    let authenticate = |_: &TrackerId, _: Option<&str>| AuthOutcome::Vehicle {
        vehicle: VehicleId(1),
        route: None,
    };
    let session = run_session(
        server_side,
        &authenticate,
        &sender,
        &counters,
        SHORT_LIMITS,
        || T0,
    );
    let (_reader, mut writer) = tokio::io::split(client_side);
    let login = wialon::login_line(ProtocolVersion::V1_1, "1", None) + "\r\n";
    writer.write_all(login.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    assert_eq!(session.await.unwrap(), SessionEnd::IdleTimeout);
    assert!(started.elapsed() >= std::time::Duration::from_millis(250));
}

#[tokio::test]
async fn a_tracker_that_stops_reading_our_answers_is_closed() {
    let (server_side, client_side) = tokio::io::duplex(64);
    let (sender, _receiver) = tokio::sync::mpsc::channel::<Position>(2);
    let counters = SessionCounters::default();
    let authenticate = |_: &TrackerId, _: Option<&str>| AuthOutcome::Vehicle {
        vehicle: VehicleId(1),
        route: None,
    };
    let session = run_session(
        server_side,
        &authenticate,
        &sender,
        &counters,
        SHORT_LIMITS,
        || T0,
    );
    let (_reader, mut writer) = tokio::io::split(client_side);
    let mut lines = wialon::login_line(ProtocolVersion::V1_1, "1", None) + "\r\n";
    lines += &"#P#\r\n".repeat(200);
    // The writer is left blocked once the server stops reading; it fails when the session ends.
    let pinging = tokio::spawn(async move { writer.write_all(lines.as_bytes()).await.is_err() });
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), session).await;
    assert_eq!(ended.unwrap().unwrap(), SessionEnd::WriteTimeout);
    assert!(pinging.await.unwrap());
}

// ---- GTFS-Realtime -----------------------------------------------------------------------

const HALIFAX_VEHICLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/gtfs-rt/halifax-2025/VehiclePositions.pb"
);

/// The feed's positions, every vehicle key given an id of its own.
fn read_every_vehicle(
    feed: &gtfs_rt::FeedMessage,
) -> (VehicleDirectory, Vec<Position>, gtfs_rt::FeedSkips) {
    let mut directory = VehicleDirectory::starting_at(1);
    let mut positions = Vec::new();
    let skips = gtfs_rt::positions_from_feed(
        feed,
        |key| Some(directory.get_or_insert(key)),
        &mut positions,
    );
    (directory, positions, skips)
}

#[test]
fn halifax_vehicle_positions_decode_and_re_encode() {
    let bytes = std::fs::read(HALIFAX_VEHICLES).unwrap();
    let feed = gtfs_rt::decode_feed(&bytes).unwrap();
    let with_vehicle = feed.entity.iter().filter(|e| e.vehicle.is_some()).count();
    assert_eq!(with_vehicle, 291);
    let again = gtfs_rt::decode_feed(&gtfs_rt::encode_feed(&feed)).unwrap();
    assert_eq!(again, feed);
    let (_, positions, skips) = read_every_vehicle(&feed);
    assert_eq!(positions.len() as u64 + skips.without_position, 291);
    assert!(
        positions
            .iter()
            .all(|p| (44.0..45.5).contains(&p.point.lat())
                && (-64.5..-63.0).contains(&p.point.lon()))
    );
    assert!(positions.iter().filter(|p| p.trip.is_some()).count() >= 286);
    assert_eq!(skips.invalid_position, 0);
}

#[test]
fn feed_positions_off_the_earth_are_counted_not_read() {
    let bytes = std::fs::read(HALIFAX_VEHICLES).unwrap();
    let mut feed = gtfs_rt::decode_feed(&bytes).unwrap();
    let mut placed = feed
        .entity
        .iter_mut()
        .filter_map(|e| e.vehicle.as_mut()?.position.as_mut());
    let null_island = placed.next().unwrap();
    (null_island.latitude, null_island.longitude) = (0.0, 0.0);
    let off_the_earth = placed.next().unwrap();
    off_the_earth.latitude = 95.0;
    let not_a_number = placed.next().unwrap();
    not_a_number.longitude = f32::NAN;
    let mut directory = VehicleDirectory::starting_at(1);
    let (mut positions, mut resolved) = (Vec::new(), 0);
    let skips = gtfs_rt::positions_from_feed(
        &feed,
        |key| {
            resolved += 1;
            Some(directory.get_or_insert(key))
        },
        &mut positions,
    );
    assert_eq!(skips.invalid_position, 3);
    // The vehicle is resolved first (a token's unknown vehicle counts as that), then its point.
    assert_eq!(resolved, positions.len() as u64 + 3);
    assert_eq!(
        positions.len() as u64 + skips.without_position + skips.invalid_position,
        291
    );
}

#[test]
fn feed_ids_that_are_not_gtfs_ids_are_counted_not_read() {
    let bytes = std::fs::read(HALIFAX_VEHICLES).unwrap();
    let mut feed = gtfs_rt::decode_feed(&bytes).unwrap();
    let mut placed = feed.entity.iter_mut().filter(|e| {
        e.vehicle
            .as_ref()
            .is_some_and(|v| v.position.is_some() && v.trip.is_some())
    });
    fn trip_of(entity: &mut gtfs_rt::FeedEntity) -> &mut gtfs_rt::TripDescriptor {
        entity.vehicle.as_mut().unwrap().trip.as_mut().unwrap()
    }
    trip_of(placed.next().unwrap()).trip_id = Some("   ".to_owned());
    trip_of(placed.next().unwrap()).route_id = Some("r".repeat(transit::ids::GTFS_ID_LEN_MAX + 1));
    // An empty id is the protobuf writer's "unset": no trip, not a refusal.
    let empty_trip = placed.next().unwrap();
    let empty_key = gtfs_rt::vehicle_key(empty_trip).unwrap().to_owned();
    trip_of(empty_trip).trip_id = Some(String::new());
    // Blanks around an id are trimmed as the static feed's are: the same trip.
    let padded_trip = placed.next().unwrap();
    let padded_key = gtfs_rt::vehicle_key(padded_trip).unwrap().to_owned();
    let descriptor = trip_of(padded_trip);
    let padded = descriptor.trip_id.clone().unwrap();
    descriptor.trip_id = Some(format!(" {padded} "));
    let (directory, positions, skips) = read_every_vehicle(&feed);
    assert_eq!(skips.invalid_id, 2);
    assert_eq!(skips.invalid_position, 0);
    assert_eq!(
        positions.len() as u64 + skips.without_position + skips.invalid_id,
        291
    );
    let of = |key: &str| {
        let vehicle = directory.get(key).unwrap();
        positions.iter().find(|p| p.vehicle == vehicle).unwrap()
    };
    assert_eq!(of(&empty_key).trip, None);
    assert_eq!(
        of(&padded_key).trip,
        Some(GtfsTripId::new(&padded).unwrap())
    );
    assert!(positions.iter().all(|p| {
        p.trip.as_ref().is_none_or(|id| {
            !id.as_str().trim().is_empty() && id.as_str().len() <= transit::ids::GTFS_ID_LEN_MAX
        })
    }));
}

#[test]
fn our_vehicle_positions_feed_reads_back_the_same() {
    let network = network();
    let mut state = LiveState::new(Arc::clone(&network), LiveConfig::default());
    let mut events = Vec::new();
    let batch = [
        position(
            1,
            along("A", 100.0),
            T0.plus_ms(12_000),
            Some("A-0800"),
            "A",
        ),
        position(
            1,
            along("A", 180.0),
            T0.plus_ms(22_000),
            Some("A-0800"),
            "A",
        ),
        position(2, along("B", 1200.0), T0.plus_ms(140_000), None, "B"),
    ];
    state.apply_batch(&batch, T0.plus_ms(140_000), &mut events);
    let describe = |vehicle: VehicleId| VehicleDescriptor {
        id: Some(format!("bus-{}", vehicle.0)),
        label: Some("017 AB 01".into()),
        license_plate: None,
    };
    let feed = gtfs_rt::vehicle_positions_feed(&state, T0.plus_ms(150_000), describe);
    let decoded = gtfs_rt::decode_feed(&gtfs_rt::encode_feed(&feed)).unwrap();
    assert_eq!(decoded, feed);
    assert_eq!(decoded.entity.len(), 2);
    let first = decoded.entity[0].vehicle.as_ref().unwrap();
    assert_eq!(
        first.trip.as_ref().unwrap().trip_id.as_deref(),
        Some("A-0800")
    );
    assert_eq!(first.stop_id.as_deref(), Some("A1"));
    assert_eq!(first.vehicle.as_ref().unwrap().id.as_deref(), Some("bus-1"));
    let second = decoded.entity[1].vehicle.as_ref().unwrap();
    assert_eq!(
        second.trip.as_ref().unwrap().trip_id.as_deref(),
        Some("B-0800")
    );
    let mut read_back = Vec::new();
    gtfs_rt::positions_from_feed(
        &decoded,
        |key| {
            key.strip_prefix("bus-")
                .map(|n| VehicleId(n.parse().unwrap()))
        },
        &mut read_back,
    );
    assert_eq!(read_back.len(), 2);
    assert!(read_back[0].point.lat() - point(180.0, 0.0).lat() < 1e-5);
    assert_eq!(read_back[0].at, T0.plus_ms(22_000));
}

// ---- live state ----------------------------------------------------------------------------

#[test]
fn a_bus_reaching_its_final_stop_ends_its_run_once() {
    let network = network();
    let mut state = LiveState::new(Arc::clone(&network), LiveConfig::default());
    let mut events = Vec::new();
    // Vehicle 1 names its trip; vehicle 2 does not and is matched to route B's shape.
    for step in 0..=40 {
        let at = T0.plus_ms(10_000 * step);
        let metres = (83.0 * step as f64).min(3000.0);
        let batch = [
            position(1, along("A", metres), at, Some("A-0800"), "A"),
            position(2, along("B", metres.min(2000.0)), at, None, "B"),
        ];
        state.apply_batch(&batch, at, &mut events);
    }
    let ended: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, LiveEvent::RunEnded { .. }))
        .collect();
    assert_eq!(ended.len(), 2, "{events:#?}");
    assert!(ended.iter().any(|e| matches!(e, LiveEvent::RunEnded { vehicle: VehicleId(1), trip_id, reason: RunEndReason::ReachedFinalStop, .. } if trip_id.as_str() == "A-0800")));
    assert!(ended.iter().any(|e| matches!(e, LiveEvent::RunEnded { vehicle: VehicleId(2), trip_id, reason: RunEndReason::ReachedFinalStop, .. } if trip_id.as_str() == "B-0800")));
    let started: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, LiveEvent::RunStarted { .. }))
        .collect();
    assert_eq!(started.len(), 2);
    assert!(state.vehicle(VehicleId(1)).unwrap().run.is_none());
}

fn with_authority(mut position: Position, authority: Authority) -> Position {
    position.authority = authority;
    position
}

fn runs_ended(events: &[LiveEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, LiveEvent::RunEnded { .. }))
        .count()
}

#[test]
fn forged_positions_never_end_a_run() {
    let network = network();
    let mut state = LiveState::new(Arc::clone(&network), LiveConfig::default());
    let mut events = Vec::new();
    // The bus is on A-0800, 500 m in.
    let start = [position(1, along("A", 500.0), T0, Some("A-0800"), "A")];
    state.apply_batch(&start, T0, &mut events);
    // A source that may end runs makes it race to the final stop at 253 m/s (20 km in 79 s)
    // and wait there: the jumps are refused and counted; after a minute of refusals the bus
    // starts afresh at the stop, where it has given no evidence of an approach.
    let teleport: Vec<Position> = (1..=79)
        .map(|i| {
            let metres = (500.0 + 253.0 * f64::from(i)).min(3_000.0);
            position(
                1,
                along("A", metres),
                T0.plus_ms(1_000 * i64::from(i)),
                Some("A-0800"),
                "A",
            )
        })
        .collect();
    let stats = state.apply_batch(&teleport, T0.plus_ms(79_000), &mut events);
    assert_eq!(runs_ended(&events), 0, "{events:#?}");
    assert!(stats.implausible >= 50, "{stats:?}");
    assert!(state.vehicle(VehicleId(1)).unwrap().run.is_some());

    // A source that may not end runs drives it there at a bus's pace: the bus moves, the
    // run does not end.
    let mut state = LiveState::new(Arc::clone(&network), LiveConfig::default());
    let mut events = Vec::new();
    for step in 0..=40 {
        let at = T0.plus_ms(10_000 * step);
        let metres = (83.0 * step as f64).min(3000.0);
        let report = with_authority(
            position(2, along("A", metres), at, Some("A-0800"), "A"),
            Authority::ReportsOnly,
        );
        let stats = state.apply_batch(&[report], at, &mut events);
        assert_eq!(stats.applied, 1, "step {step}");
    }
    assert_eq!(runs_ended(&events), 0, "{events:#?}");
    let vehicle = state.vehicle(VehicleId(2)).unwrap();
    assert!((vehicle.point.lon() - point(3000.0, 0.0).lon()).abs() < 1e-6);
    // ...nor switch it to another trip, which would end the one it is on.
    let switch = with_authority(
        position(
            2,
            along("A", 100.0),
            T0.plus_ms(500_000),
            Some("A-0830"),
            "A",
        ),
        Authority::ReportsOnly,
    );
    state.apply_batch(&[switch], T0.plus_ms(500_000), &mut events);
    assert_eq!(runs_ended(&events), 0, "{events:#?}");

    // A bus first heard of a few metres before the final stop ends nothing.
    let mut state = LiveState::new(Arc::clone(&network), LiveConfig::default());
    let mut events = Vec::new();
    let near_end = [
        position(
            3,
            along("A", 2_990.0),
            T0.plus_ms(360_000),
            Some("A-0800"),
            "A",
        ),
        position(
            3,
            along("A", 3_000.0),
            T0.plus_ms(370_000),
            Some("A-0800"),
            "A",
        ),
    ];
    state.apply_batch(&near_end, T0.plus_ms(370_000), &mut events);
    assert_eq!(runs_ended(&events), 0, "{events:#?}");
}

#[test]
fn future_and_impossible_positions_are_refused_and_counted() {
    let mut state = LiveState::new(network(), LiveConfig::default());
    let mut events = Vec::new();
    let now = T0.plus_ms(60_000);
    let mut fast = position(1, along("A", 10.0), T0.plus_ms(10_000), None, "A");
    fast.speed_mps = Some(60.0);
    let mut not_a_number = position(1, along("A", 10.0), T0.plus_ms(11_000), None, "A");
    not_a_number.speed_mps = Some(f64::NAN);
    let batch = [
        position(1, along("A", 0.0), T0, None, "A"),
        // 3 minutes ahead of the clock: beyond the skew a tracker may have.
        position(
            1,
            along("A", 10.0),
            now.plus_ms(live::state::FUTURE_TOLERANCE_MS + 1),
            None,
            "A",
        ),
        fast,
        not_a_number,
        // 2 km in 20 s is 360 km/h.
        position(1, along("A", 2_000.0), T0.plus_ms(20_000), None, "A"),
        // 250 m in 20 s (45 km/h) with GPS noise is a bus.
        position(1, along("A", 250.0), T0.plus_ms(20_000), None, "A"),
        position(1, along("A", 240.0), T0.plus_ms(20_000), None, "A"),
    ];
    let stats = state.apply_batch(&batch, now, &mut events);
    assert_eq!(
        (
            stats.applied,
            stats.future,
            stats.implausible,
            stats.invalid,
            stats.out_of_order
        ),
        (2, 1, 2, 1, 1),
        "{stats:?}"
    );
    assert_eq!(stats.refused(), 5);
}

#[test]
fn a_bus_whose_every_position_is_refused_for_a_minute_starts_afresh() {
    let mut state = LiveState::new(network(), LiveConfig::default());
    let mut events = Vec::new();
    // A wild first position (the tracker's GPS had not settled), then the real ones 5 km off.
    let wild = [position(1, Xy::new(5_000.0, 5_000.0), T0, None, "A")];
    state.apply_batch(&wild, T0, &mut events);
    let mut applied = 0;
    for step in 1..=8 {
        let at = T0.plus_ms(10_000 * step);
        let report = position(1, along("A", 80.0 * step as f64), at, None, "A");
        applied += state.apply_batch(&[report], at, &mut events).applied;
    }
    // Refused from 10 s to 60 s, accepted from 70 s on: the 70 s one re-anchors the bus.
    assert_eq!(applied, 2);
    let vehicle = state.vehicle(VehicleId(1)).unwrap();
    assert!((vehicle.point.lon() - point(640.0, 0.0).lon()).abs() < 1e-6);
}

#[test]
fn progress_next_stop_and_delay_follow_the_bus() {
    let network = network();
    let mut state = LiveState::new(Arc::clone(&network), LiveConfig::default());
    let mut events = Vec::new();
    // At 08:03 at 600 m: two minutes behind A-0800, 48 s behind A-0801, so it is A-0801.
    let batch = [
        position(5, along("A", 490.0), T0.plus_ms(170_000), None, "A"),
        position(5, along("A", 600.0), T0.plus_ms(180_000), None, "A"),
    ];
    state.apply_batch(&batch, T0.plus_ms(180_000), &mut events);
    let (progress, run) = state.current_run(VehicleId(5)).unwrap();
    assert_eq!(progress.source, RunSource::ShapeMatch);
    assert_eq!(run.trip_id.as_str(), "A-0801");
    assert!((progress.along_m - 600.0).abs() < 1.0);
    assert_eq!(
        run.stops[progress.next_stop.unwrap()].stop_id.as_str(),
        "A2"
    );
    assert!(
        (45..=50).contains(&progress.delay_s),
        "{}",
        progress.delay_s
    );
    let vehicle = state.vehicle(VehicleId(5)).unwrap();
    assert!((vehicle.speed_mps.unwrap() - 11.0).abs() < 0.1);
    assert!((vehicle.heading_deg.unwrap() - 90.0).abs() < 0.5);
    assert_eq!(state.near(point(650.0, 30.0), 100.0).len(), 1);
    assert_eq!(
        state.in_box(point(0.0, -50.0), point(1000.0, 50.0)).len(),
        1
    );
}

#[test]
fn stale_vehicles_drop_off() {
    let network = network();
    let config = LiveConfig {
        stale_after_ms: 300_000,
        ..LiveConfig::default()
    };
    let mut state = LiveState::new(network, config);
    let mut events = Vec::new();
    state.apply_batch(
        &[position(1, along("A", 10.0), T0, None, "A")],
        T0,
        &mut events,
    );
    state.apply_batch(
        &[position(
            2,
            along("A", 900.0),
            T0.plus_ms(200_000),
            None,
            "A",
        )],
        T0.plus_ms(200_000),
        &mut events,
    );
    assert_eq!(state.drop_stale(T0.plus_ms(300_000), &mut events), 0);
    assert_eq!(state.drop_stale(T0.plus_ms(300_001), &mut events), 1);
    assert!(state.vehicle(VehicleId(1)).is_none() && state.vehicle(VehicleId(2)).is_some());
    assert!(state.near(point(10.0, 0.0), 200.0).is_empty());
    assert!(events.iter().any(|e| matches!(
        e,
        LiveEvent::VehicleDropped {
            vehicle: VehicleId(1),
            ..
        }
    )));
}

// ---- detection -----------------------------------------------------------------------------

/// Feeds vehicles' reports every 10 s over the minute before `end` and returns the state.
type Bus<'a> = (u64, &'a str, &'a dyn Fn(f64) -> Xy);

fn state_with(buses: &[Bus<'_>], end: TimeMs) -> LiveState {
    let mut state = LiveState::new(network(), LiveConfig::default());
    let mut events = Vec::new();
    for step in 0..=9 {
        let seconds = f64::from(step) * 10.0;
        let at = end.plus_ms(-90_000 + (seconds * 1000.0) as i64);
        let batch: Vec<Position> = buses
            .iter()
            .map(|(id, route, motion)| position(*id, motion(seconds), at, None, route))
            .collect();
        state.apply_batch(&batch, at, &mut events);
    }
    state
}

/// The passenger's fixes every 5 s over the last 60 s, with GPS noise.
fn fixes(motion: &dyn Fn(f64) -> Xy, end: TimeMs, noise_m: f64, seed: u64) -> Vec<Fix> {
    let mut rng = SplitMix64::new(seed);
    (0..=12)
        .map(|i| {
            let seconds = 30.0 + 5.0 * f64::from(i);
            let xy = motion(seconds);
            Fix {
                at: end.plus_ms(-90_000 + (seconds * 1000.0) as i64),
                point: point(
                    xy.x + noise_m * rng.gaussian(),
                    xy.y + noise_m * rng.gaussian(),
                ),
                accuracy_m: None,
            }
        })
        .collect()
}

const END: TimeMs = TimeMs::from_unix_s(1_757_491_200 + 300);

#[test]
fn two_routes_at_one_stop_that_then_diverge() {
    let on_a = |s: f64| along("A", 700.0 + 8.0 * s);
    let on_b = |s: f64| along("B", 700.0 + 8.0 * s);
    let state = state_with(&[(1, "A", &on_a), (2, "B", &on_b)], END);
    let params = DetectionParams::default();
    for seed in 0..20 {
        let detection = state.detect(&fixes(&on_b, END, 15.0, seed), &params);
        assert!(
            matches!(detection, Detection::Confident(best) if best.vehicle == VehicleId(2)),
            "{seed}: {detection:?}"
        );
        let detection = state.detect(&fixes(&on_a, END, 15.0, seed), &params);
        assert!(
            matches!(detection, Detection::Confident(best) if best.vehicle == VehicleId(1)),
            "{seed}: {detection:?}"
        );
    }
}

#[test]
fn two_buses_of_one_route_a_minute_apart() {
    let ahead = |s: f64| along("A", 900.0 + 8.0 * s);
    let behind = |s: f64| along("A", 420.0 + 8.0 * s);
    let state = state_with(&[(1, "A", &ahead), (2, "A", &behind)], END);
    for seed in 0..20 {
        let detection = state.detect(
            &fixes(&behind, END, 15.0, seed),
            &DetectionParams::default(),
        );
        assert!(
            matches!(detection, Detection::Confident(best) if best.vehicle == VehicleId(2)),
            "{detection:?}"
        );
    }
}

#[test]
fn a_passenger_walking_beside_the_road_matches_no_bus() {
    let bus = |s: f64| along("A", 200.0 + 8.0 * s);
    let walker = |s: f64| Xy::new(600.0 + 1.4 * s, 12.0);
    let state = state_with(&[(1, "A", &bus)], END);
    for seed in 0..20 {
        let detection = state.detect(
            &fixes(&walker, END, 10.0, seed),
            &DetectionParams::default(),
        );
        assert_eq!(detection, Detection::NoMatch, "{seed}");
    }
}

#[test]
fn bunched_buses_are_ambiguous_never_confident() {
    let first = |s: f64| along("A", 600.0 + 8.0 * s);
    let second = |s: f64| along("A", 612.0 + 8.0 * s);
    let state = state_with(&[(1, "A", &first), (2, "B", &second)], END);
    for seed in 0..20 {
        let detection = state.detect(&fixes(&first, END, 15.0, seed), &DetectionParams::default());
        let Detection::Ambiguous {
            candidates,
            shortfall,
        } = &detection
        else {
            panic!("{seed}: {detection:?}")
        };
        let mut vehicles: Vec<_> = candidates.iter().map(|s| s.vehicle).collect();
        vehicles.sort();
        assert_eq!(vehicles, vec![VehicleId(1), VehicleId(2)]);
        assert!(shortfall.another_bus_close, "{seed}: {shortfall:?}");
    }
}

#[test]
fn a_passenger_standing_still_next_to_a_parked_bus_is_not_confident() {
    let parked = |_: f64| along("A", 500.0);
    let state = state_with(&[(1, "A", &parked)], END);
    let detection = state.detect(&fixes(&parked, END, 10.0, 1), &DetectionParams::default());
    // One bus, and the answer says why it is not confident: the passenger has not moved.
    let Detection::Ambiguous {
        candidates,
        shortfall,
    } = &detection
    else {
        panic!("{detection:?}")
    };
    assert_eq!(candidates.len(), 1);
    assert!(
        !shortfall.moved_enough() && shortfall.long_enough(),
        "{shortfall:?}"
    );
}

// ---- simulator -----------------------------------------------------------------------------

#[test]
fn the_simulated_city_is_deterministic_and_on_the_shapes() {
    let network = network();
    let simulator = CitySimulator::new(
        &network,
        42,
        SimConfig {
            delay_min_s: 0.0,
            delay_max_s: 60.0,
            ..SimConfig::default()
        },
    );
    let at = T0.plus_ms(150_000);
    let in_service = simulator.in_service(at);
    assert_eq!(in_service.len(), 3, "{in_service:?}");
    for run in &in_service {
        let truth = simulator.true_position(*run, at).unwrap();
        let hit = network.run(*run).unwrap().shape.project(truth.xy).unwrap();
        assert!(hit.offset_m < 1e-6);
        assert_eq!(simulator.true_position(*run, at), Some(truth));
    }
    let mut rng = SplitMix64::new(7);
    let report = simulator.report(in_service[0], at, &mut rng, true).unwrap();
    let truth = simulator.true_position(in_service[0], at).unwrap();
    assert!(projection().project(report.point).distance_m(truth.xy) < 30.0);
}

// ---- the Halifax sample against its static feed ---------------------------------------------

const HALIFAX_GTFS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/gtfs/halifax-2025.zip"
);

#[test]
fn halifax_sample_is_ingested_and_matched_to_its_static_feed() {
    let bytes = std::fs::read(HALIFAX_GTFS).unwrap();
    let feed = transit::gtfs::read_feed(std::io::Cursor::new(bytes)).unwrap();
    // Recorded 2025-11-06 21:02:59Z, 17:02:59 in Halifax.
    let input =
        live::transit_adapter::network_input(&feed, jiff::civil::date(2025, 11, 6)).unwrap();
    let network = Arc::new(Network::build(input).unwrap());
    let realtime = gtfs_rt::decode_feed(&std::fs::read(HALIFAX_VEHICLES).unwrap()).unwrap();
    let now = TimeMs::from_unix_s(i64::try_from(realtime.header.timestamp.unwrap()).unwrap());
    let mut directory = VehicleDirectory::starting_at(1);
    let mut positions = Vec::new();
    gtfs_rt::positions_from_feed(
        &realtime,
        |key| Some(directory.get_or_insert(key)),
        &mut positions,
    );
    let mut state = LiveState::new(Arc::clone(&network), LiveConfig::default());
    let mut events = Vec::new();
    let stats = state.apply_batch(&positions, now, &mut events);
    assert_eq!(stats.applied, 291);
    // Vehicles whose trip id is unknown to the static feed are matched by route and shape.
    let on_runs: Vec<_> = state
        .vehicles()
        .filter_map(|v| v.run)
        .filter(|p| p.source == RunSource::FeedTrip)
        .collect();
    assert_eq!(on_runs.len(), 286);
    // Some vehicles already carry their next trip while still driving to its start.
    let on_shape: Vec<_> = on_runs.iter().filter(|p| p.offset_m < 50.0).collect();
    assert!(
        on_shape.len() * 100 >= on_runs.len() * 85,
        "{} of {} within 50 m of their shape",
        on_shape.len(),
        on_runs.len()
    );
    // That evening buses ran 10-30 min late (the TripUpdates sample agrees: e.g. trip 3789838
    // is 690 s late at its next stop, we place it 787 s late).
    let plausible = on_shape
        .iter()
        .filter(|p| p.delay_s.abs() < 45 * 60)
        .count();
    assert!(
        plausible * 100 >= on_shape.len() * 95,
        "{plausible} of {} with |delay| < 45 min",
        on_shape.len()
    );
    let late_3789838 = state
        .vehicles()
        .filter_map(|v| v.run)
        .find(|p| network.run(p.run).unwrap().trip_id.as_str() == "3789838")
        .unwrap();
    assert!(
        (600..=900).contains(&late_3789838.delay_s),
        "{}",
        late_3789838.delay_s
    );
    assert!(on_shape.iter().filter(|p| p.next_stop.is_none()).count() <= 5);
}

/// Runs `check` on every file of `fuzz/corpus/<target>/`, naming the file that fails; a missing
/// or empty corpus fails rather than passing silently.
fn replay_fuzz_corpus(target: &str, check: fn(&[u8])) {
    let folder = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("corpus {} missing: {e}", folder.display()));
    let mut replayed = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "{} fails its check", path.display());
        replayed += 1;
    }
    assert!(replayed > 0, "corpus {} is empty", folder.display());
}

/// The fuzz corpora of the Wialon IPS codec and of GTFS-Realtime, replayed.
#[test]
fn wialon_fuzz_corpus() {
    replay_fuzz_corpus("wialon", live::fuzz_checks::wialon);
}

#[test]
fn gtfs_rt_fuzz_corpus() {
    replay_fuzz_corpus("gtfs_rt", live::fuzz_checks::gtfs_rt);
}
