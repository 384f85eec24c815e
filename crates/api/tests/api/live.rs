//! Live buses over the real server: GTFS-RT and JSON pushes, our GTFS-RT feed decoded back,
//! tickets ending at the final stop (and not on forged positions), stale vehicles, boxes,
//! detection, the live stream (route filter, caps, lifetime), and a Wialon IPS conversation
//! over TCP with the server's listener and its caps. Time moves only with the manual clock.

use std::sync::{Arc, OnceLock};

use service::clock::Clock;
use service::live::engine::TimeMs;
use service::live::engine::gtfs_rt;
use service::live::engine::network::{Network, NetworkInput, RunInput, RunStopInput};
use service::live::engine::wialon::{self, ProtocolVersion, WialonFix};
use service::transit::Coordinate;
use service::transit::{GtfsRouteId, GtfsStopId, GtfsTripId};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::harness::{Db, Method, TestApp, spawn};
use crate::on_both_stores;

/// A coordinate the test knows to be valid.
pub(crate) fn point_at(lat: f64, lon: f64) -> Coordinate {
    Coordinate::new(lat, lon).unwrap()
}

const HALIFAX_GTFS: &str = "../../../shared/data/gtfs/halifax-2025.zip";
const HALIFAX_POSITIONS: &str = "../../../shared/data/gtfs-rt/halifax-2025/VehiclePositions.pb";
/// The sample was recorded then (2025-11-06 21:02:59Z).
const HALIFAX_SAMPLE_MS: i64 = 1_762_462_979_000;

fn halifax_network() -> Arc<Network> {
    static NETWORK: OnceLock<Arc<Network>> = OnceLock::new();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(HALIFAX_GTFS);
    NETWORK
        .get_or_init(|| {
            let bytes = std::fs::read(path).unwrap();
            let date = jiff::civil::date(2025, 11, 6);
            Arc::new(service::live::network_from_gtfs(&bytes, date).unwrap())
        })
        .clone()
}

async fn make_token(t: &TestApp, body: serde_json::Value) -> String {
    let made = t
        .call(Method::POST, "/v1/admin/live/feed-tokens")
        .token(&t.admin)
        .json(body)
        .expect(201)
        .await;
    made["token"].as_str().unwrap().to_owned()
}

/// A token for the partner's own vehicles only (no catalogue bus).
async fn feed_token(t: &TestApp, city: &str) -> String {
    make_token(t, serde_json::json!({"city": city, "name": "test feed"})).await
}

/// A token registered for these catalogue buses, allowed to end their runs or not.
pub(crate) async fn scoped_token(
    t: &TestApp,
    city: &str,
    vehicles: &[&str],
    authoritative: bool,
) -> String {
    make_token(
        t,
        serde_json::json!({"city": city, "name": "test feed", "vehicles": vehicles, "authoritative": authoritative}),
    )
    .await
}

async fn vehicles(t: &TestApp, city: &str) -> Vec<serde_json::Value> {
    let path = format!("/v1/live/{city}/vehicles");
    let body = t.call(Method::GET, &path).send().await.body;
    body["vehicles"].as_array().unwrap().clone()
}

/// What a GTFS-Realtime push of these bytes with this token did.
async fn push_gtfs_rt(t: &TestApp, city: &str, token: &str, bytes: Vec<u8>) -> serde_json::Value {
    t.call(Method::POST, &format!("/v1/live/{city}/gtfs-rt"))
        .token(token)
        .body(bytes)
        .send()
        .await
        .body
}

async fn our_feed(t: &TestApp, city: &str) -> gtfs_rt::FeedMessage {
    let feed = t
        .call(
            Method::GET,
            &format!("/v1/live/{city}/vehicle-positions.pb"),
        )
        .send()
        .await
        .expect(200);
    gtfs_rt::decode_feed(&feed.bytes).unwrap()
}

on_both_stores!(
    halifax_sample_is_matched_served_back_and_dropped_when_stale,
    halifax_sample
);
async fn halifax_sample(db: Db) {
    let t = spawn(db).await;
    t.app.live.install_network("halifax", halifax_network());
    t.clock.set_ms(HALIFAX_SAMPLE_MS + 5_000);
    let token = feed_token(&t, "halifax").await;
    let bytes =
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(HALIFAX_POSITIONS))
            .unwrap();
    let sample = gtfs_rt::decode_feed(&bytes).unwrap();

    t.call(Method::POST, "/v1/live/halifax/gtfs-rt")
        .body(bytes.clone())
        .expect(401)
        .await;
    let pushed = push_gtfs_rt(&t, "halifax", &token, bytes).await;
    assert!(pushed["applied"].as_u64().unwrap() >= 280, "{pushed}");

    let live = vehicles(&t, "halifax").await;
    let matched = live
        .iter()
        .filter(|v| v["trip_id"].is_string() && v["route_number"].is_string())
        .count();
    assert!(
        matched >= 280,
        "only {matched} of {} vehicles matched to the static feed",
        live.len()
    );

    // A box around the whole feed's area (about 60 km across) returns every bus; so does one
    // around its northern half, with only the buses there.
    let (lats, lons): (Vec<f64>, Vec<f64>) = live
        .iter()
        .map(|v| (v["lat"].as_f64().unwrap(), v["lon"].as_f64().unwrap()))
        .unzip();
    let low = |values: &[f64]| values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = |values: &[f64]| values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (min_lat, max_lat, min_lon, max_lon) = (low(&lats), high(&lats), low(&lons), high(&lons));
    assert!(
        max_lon - min_lon > 0.3,
        "the sample spans {min_lon}..{max_lon}"
    );
    let in_box = async |bbox: String| {
        let path = format!("/v1/live/halifax/vehicles?bbox={bbox}");
        let body = t.call(Method::GET, &path).send().await.body;
        body["vehicles"].as_array().unwrap().len()
    };
    let whole = format!(
        "{},{},{},{}",
        min_lon - 0.01,
        min_lat - 0.01,
        max_lon + 0.01,
        max_lat + 0.01
    );
    assert_eq!(in_box(whole).await, live.len());
    let middle_lat = (min_lat + max_lat) / 2.0;
    let north = lats.iter().filter(|lat| **lat >= middle_lat).count();
    let northern = format!(
        "{},{middle_lat},{},{}",
        min_lon - 0.01,
        max_lon + 0.01,
        max_lat + 0.01
    );
    assert_eq!(in_box(northern).await, north);

    // Our feed, decoded back, carries the same vehicles at the same places on the same trips.
    let ours = our_feed(&t, "halifax").await;
    assert_eq!(ours.entity.len(), live.len());
    let network = halifax_network();
    let mut compared = 0;
    for entity in &sample.entity {
        let (Some(theirs), Some(key)) = (entity.vehicle.as_ref(), gtfs_rt::vehicle_key(entity))
        else {
            continue;
        };
        let Some(position) = theirs.position.as_ref() else {
            continue;
        };
        let mine = ours
            .entity
            .iter()
            .filter_map(|e| e.vehicle.as_ref())
            .find(|v| v.vehicle.as_ref().and_then(|d| d.label.as_deref()) == Some(key));
        let Some(mine) = mine else { continue };
        let my_position = mine.position.as_ref().unwrap();
        assert_eq!(
            (my_position.latitude, my_position.longitude),
            (position.latitude, position.longitude),
            "vehicle {key}"
        );
        let their_trip = theirs.trip.as_ref().and_then(|t| t.trip_id.clone());
        let my_trip = mine.trip.as_ref().and_then(|t| t.trip_id.clone());
        // A trip id the static feed does not know is matched by shape instead.
        let known = their_trip
            .as_deref()
            .is_some_and(|id| network.run_by_trip(&GtfsTripId::new(id).unwrap()).is_some());
        if known {
            assert_eq!(my_trip, their_trip, "vehicle {key}");
        }
        compared += 1;
    }
    assert!(compared >= 280, "compared {compared}");

    // A position off the Earth is read as no position: counted as invalid, never applied.
    let mut off = sample.clone();
    off.entity.retain(|e| {
        e.vehicle
            .as_ref()
            .is_some_and(|v| v.position.is_some() && v.timestamp.is_some())
    });
    off.entity.truncate(1);
    if let Some(position) = off.entity[0]
        .vehicle
        .as_mut()
        .and_then(|v| v.position.as_mut())
    {
        (position.latitude, position.longitude) = (0.0, 0.0);
    }
    let pushed = push_gtfs_rt(&t, "halifax", &token, gtfs_rt::encode_feed(&off)).await;
    assert_eq!(
        (
            &pushed["received"],
            &pushed["applied"],
            &pushed["refused"]["invalid"]
        ),
        (&1.into(), &0.into(), &1.into()),
        "{pushed}"
    );

    // Nothing reports for longer than the stale limit: every vehicle drops off.
    t.clock
        .advance_ms(service::live::engine::LiveConfig::default().stale_after_ms + 60 * 60_000);
    assert!(vehicles(&t, "halifax").await.is_empty());
    assert!(our_feed(&t, "halifax").await.entity.is_empty());
}

/// Two runs from one stop in Astana around `start_ms`: route 10 east, route 12 north.
fn astana_network(start_ms: i64) -> Arc<Network> {
    let origin = point_at(51.1300, 71.4300);
    let run = |trip: &str, route: &str, number: &str, end: Coordinate| RunInput {
        trip_id: GtfsTripId::new(trip).unwrap(),
        route_id: GtfsRouteId::new(route).unwrap(),
        route_short_name: number.to_owned(),
        stops: vec![
            RunStopInput {
                stop_id: GtfsStopId::new("s0").unwrap(),
                name: "Вокзал".into(),
                point: origin,
                arrival: TimeMs(start_ms),
                departure: TimeMs(start_ms),
            },
            RunStopInput {
                stop_id: GtfsStopId::new(&format!("{trip}-end")).unwrap(),
                name: "Конечная".into(),
                point: end,
                arrival: TimeMs(start_ms + 300_000),
                departure: TimeMs(start_ms + 300_000),
            },
        ],
        shape: None,
    };
    // About 3 km either way: 10 m/s for five minutes.
    let east = point_at(51.1300, 71.4300 + 3_000.0 / 69_900.0);
    let north = point_at(51.1300 + 3_000.0 / 111_200.0, 71.4300);
    let input = NetworkInput {
        shapes: Vec::new(),
        runs: vec![
            run("t10", "r10", "10", east),
            run("t12", "r12", "12", north),
        ],
    };
    Arc::new(Network::build(input).unwrap())
}

fn along(from: Coordinate, to: Coordinate, fraction: f64) -> Coordinate {
    point_at(
        from.lat() + (to.lat() - from.lat()) * fraction,
        from.lon() + (to.lon() - from.lon()) * fraction,
    )
}

pub(crate) async fn push(
    t: &TestApp,
    token: &str,
    positions: serde_json::Value,
) -> serde_json::Value {
    t.call(Method::POST, "/v1/live/astana/positions")
        .token(token)
        .json(serde_json::json!({"positions": positions}))
        .expect(200)
        .await
}

on_both_stores!(
    a_pushed_trip_or_route_id_that_is_not_a_gtfs_id_is_refused,
    pushed_ids
);
async fn pushed_ids(db: Db) {
    let t = spawn(db).await;
    let start_ms = t.clock.now_ms();
    t.app
        .live
        .install_network("astana", astana_network(start_ms));
    let token = scoped_token(&t, "astana", &["10101"], false).await;
    let origin = point_at(51.1300, 71.4300);
    let position = |field: &str, id: &str| {
        serde_json::json!({"positions": [{
            "vehicle": "10101", "lat": origin.lat(), "lon": origin.lon(), "at_ms": start_ms,
            field: id,
        }]})
    };
    for (field, id) in [("trip_id", "   "), ("route_id", " \t ")] {
        let (status, refused) = t
            .post(&token, "/v1/live/astana/positions", position(field, id))
            .await;
        assert_eq!(status, 400, "{field} {id:?}: {refused}");
    }
    assert!(vehicles(&t, "astana").await.is_empty());
    // Blanks around an id are trimmed, as the static feed's ids are: the same trip.
    let summary = push(
        &t,
        &token,
        position("trip_id", " t10 ")["positions"].clone(),
    )
    .await;
    assert_eq!(summary["applied"], 1, "{summary}");
    let shown = vehicles(&t, "astana").await;
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["trip_id"], "t10", "{shown:?}");
}

on_both_stores!(
    a_bus_at_its_final_stop_ends_the_tickets_of_its_run,
    final_stop
);
async fn final_stop(db: Db) {
    let t = spawn(db).await;
    let start_ms = t.clock.now_ms();
    t.app
        .live
        .install_network("astana", astana_network(start_ms));
    let token = scoped_token(&t, "astana", &["10101"], true).await;
    let origin = point_at(51.1300, 71.4300);
    let end = point_at(51.1300, 71.4300 + 3_000.0 / 69_900.0);
    let at = |step: i64| start_ms + step * 10_000;
    let report = |step: i64, fraction: f64| {
        let p = along(origin, end, fraction);
        serde_json::json!({"vehicle": "10101", "lat": p.lat(), "lon": p.lon(), "at_ms": at(step), "trip_id": "t10"})
    };
    push(&t, &token, serde_json::json!([report(0, 0.0)])).await;
    let (status, ticket) = t.ride("+77011234567", "10101", "live-final-1", "en").await;
    assert_eq!(status, 201, "{ticket}");
    let ticket_token = ticket["token"].as_str().unwrap().to_owned();
    let mut ended = 0;
    for step in 1..=30 {
        t.clock.set_ms(at(step));
        let answer = push(
            &t,
            &token,
            serde_json::json!([report(step, (step as f64 / 30.0).min(1.0))]),
        )
        .await;
        ended += answer["tickets_ended"].as_u64().unwrap();
        if step < 29 {
            assert_eq!(ended, 0, "ended before the final stop at step {step}");
        }
    }
    assert_eq!(ended, 1);
    let (_, valid) = t.get_as("+77011234567", "/v1/tickets/valid").await;
    assert!(valid["tickets"].as_array().unwrap().is_empty(), "{valid}");
    let inspection = t.inspect(&ticket_token, "10101").await;
    assert_eq!(inspection["result"], "EXPIRED", "{inspection}");
    t.assert_ledger_balanced().await;
}

on_both_stores!(
    detection_tells_diverging_buses_apart_and_never_guesses_at_a_stop,
    detection
);
async fn detection(db: Db) {
    let t = spawn(db).await;
    let start_ms = t.clock.now_ms();
    t.app
        .live
        .install_network("astana", astana_network(start_ms));
    let token = scoped_token(&t, "astana", &["10101", "10121"], false).await;
    let origin = point_at(51.1300, 71.4300);
    let east = point_at(51.1300, 71.4300 + 3_000.0 / 69_900.0);
    let north = point_at(51.1300 + 3_000.0 / 111_200.0, 71.4300);
    // Both buses wait at the shared stop for a minute, then leave on their routes.
    let mut fixes_at_stop = Vec::new();
    let mut fixes_riding = Vec::new();
    for step in 0..=24 {
        let at_ms = start_ms + step * 5_000;
        t.clock.set_ms(at_ms);
        let fraction = if step <= 12 {
            0.0
        } else {
            (step - 12) as f64 * 50.0 / 3_000.0
        };
        let (a, b) = (
            along(origin, east, fraction),
            along(origin, north, fraction),
        );
        push(
            &t,
            &token,
            serde_json::json!([
                {"vehicle": "10101", "lat": a.lat(), "lon": a.lon(), "at_ms": at_ms, "trip_id": "t10"},
                {"vehicle": "10121", "lat": b.lat() + 0.00005, "lon": b.lon(), "at_ms": at_ms, "trip_id": "t12"},
            ]),
        )
        .await;
        // The passenger's phone is a few metres off, alternating sides.
        let wobble = if step % 2 == 0 { 0.00004 } else { -0.00004 };
        let fix = serde_json::json!({"lat": a.lat() + wobble, "lon": a.lon(), "at_ms": at_ms, "accuracy_m": 10.0});
        if step <= 12 {
            fixes_at_stop.push(fix);
        } else {
            fixes_riding.push(fix);
        }
    }
    let detect = async |fixes: Vec<serde_json::Value>| {
        t.call(Method::POST, "/v1/live/astana/detect")
            .json(serde_json::json!({"fixes": fixes}))
            .expect(200)
            .await
    };
    let waiting = detect(fixes_at_stop).await;
    assert_ne!(
        waiting["status"], "confident",
        "two buses at one stop: {waiting}"
    );
    // Only the last ten seconds of riding: not confident, and the answer says what it needs.
    let early = detect(fixes_riding[fixes_riding.len() - 3..].to_vec()).await;
    assert_eq!(early["status"], "ambiguous", "{early}");
    assert_eq!(early["candidates"][0]["transport_code"], "10101", "{early}");
    assert_eq!(
        early["needs"],
        serde_json::json!({"moved_m": 150.0, "seconds": 20.0})
    );
    assert_eq!(early["has"]["seconds"], 10.0, "{early}");
    assert!(early["has"]["moved_m"].as_f64().unwrap() < 150.0, "{early}");
    let why = early["why"].as_array().unwrap();
    assert!(
        why.contains(&"moved_too_little".into()) && why.contains(&"too_short".into()),
        "{early}"
    );
    // A bus's own recent positions, as the demo's README example sends them: confident.
    let id = vehicles(&t, "astana")
        .await
        .iter()
        .find(|v| v["transport_code"] == "10101")
        .map(|v| v["id"].as_u64().unwrap())
        .unwrap();
    let track = t
        .call(Method::GET, &format!("/v1/live/astana/vehicles/{id}/track"))
        .send()
        .await
        .body;
    assert_eq!(track["fixes"].as_array().unwrap().len(), 25, "{track}");
    let own = detect(track["fixes"].as_array().unwrap().clone()).await;
    assert_eq!(own["status"], "confident", "{own}");
    assert_eq!(own["bus"]["transport_code"], "10101", "{own}");
    t.call(Method::GET, "/v1/live/astana/vehicles/999999/track")
        .expect(404)
        .await;
    let riding = detect(fixes_riding).await;
    assert_eq!(riding["status"], "confident", "{riding}");
    assert_eq!(riding["bus"]["transport_code"], "10101");
    assert_eq!(riding["bus"]["route_number"], "10");
    assert_eq!(riding["bus"]["plate"], "101 ABC 01");
    let nowhere = detect(vec![
        serde_json::json!({"lat": 51.2, "lon": 71.6, "at_ms": start_ms + 120_000}),
    ])
    .await;
    assert_eq!(nowhere["status"], "none");
    t.call(Method::POST, "/v1/live/astana/detect")
        .json(serde_json::json!({"fixes": []}))
        .expect(400)
        .await;
}

async fn answer(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).await.unwrap();
    line.trim_end().to_owned()
}

on_both_stores!(
    a_wialon_tracker_talks_to_the_servers_listener_over_tcp,
    wialon_conversation
);
async fn wialon_conversation(db: Db) {
    let t = spawn(db).await;
    let start_ms = t.clock.now_ms();
    t.app
        .live
        .install_network("astana", astana_network(start_ms));
    t.call(Method::POST, "/v1/admin/live/trackers")
        .token(&t.admin)
        .json(serde_json::json!({"tracker_id": "861230043907626", "password": "s3cret", "transport_code": "10102"}))
        .expect(201)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(api::serve_wialon(
        Arc::clone(&t.app),
        listener,
        api::WialonLimits::default(),
    ));

    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let v2 = ProtocolVersion::V2_0;
    let mut say = async |line: String| {
        write
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
    };
    say(wialon::login_line(v2, "861230043907626", Some("wrong"))).await;
    assert_eq!(answer(&mut reader).await, "#AL#01");
    say(wialon::login_line(v2, "861230043907626", Some("s3cret"))).await;
    assert_eq!(answer(&mut reader).await, "#AL#1");
    let fix = |seconds: i64, lon: f64| WialonFix {
        at: Some(TimeMs(start_ms / 1000 * 1000 + seconds * 1000)),
        point: Some(point_at(51.1300, lon)),
        speed_kmh: Some(36.0),
        course_deg: Some(90.0),
        height_m: None,
        satellites: Some(9),
    };
    say(wialon::short_data_line(v2, &fix(0, 71.4300))).await;
    assert_eq!(answer(&mut reader).await, "#ASD#1");
    let mut corrupted = wialon::short_data_line(v2, &fix(5, 71.4307));
    corrupted.replace_range(corrupted.len() - 4.., "0000");
    say(corrupted).await;
    assert_eq!(answer(&mut reader).await, "#ASD#13");
    say("#ZZ#what is this".to_owned()).await;
    say("#P#".to_owned()).await;
    assert_eq!(
        answer(&mut reader).await,
        "#AP#",
        "an unrecognised line gets no answer and does not close the connection"
    );
    say(wialon::batch_line(
        v2,
        &[fix(10, 71.4314), fix(15, 71.4321)],
    ))
    .await;
    assert_eq!(answer(&mut reader).await, "#AB#2");

    assert!(service::live::settle(&t.app).await);
    let live = vehicles(&t, "astana").await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0]["transport_code"], "10102");
    assert_eq!(live[0]["plate"], "102 ABC 01");
    assert!((live[0]["lon"].as_f64().unwrap() - 71.4321).abs() < 1e-5);
    let counters = t.app.live.wialon.snapshot();
    assert_eq!(
        (
            counters.logins_accepted,
            counters.logins_rejected,
            counters.checksum_errors
        ),
        (1, 1, 1)
    );
    assert_eq!(
        (counters.unrecognised_lines, counters.positions_queued),
        (1, 3)
    );
}

on_both_stores!(forged_positions_never_end_a_paid_ticket, forged_positions);
async fn forged_positions(db: Db) {
    let t = spawn(db).await;
    let start_ms = t.clock.now_ms();
    t.app
        .live
        .install_network("astana", astana_network(start_ms));
    let genuine = scoped_token(&t, "astana", &["10101"], true).await;
    let origin = point_at(51.1300, 71.4300);
    let end = point_at(51.1300, 71.4300 + 3_000.0 / 69_900.0);
    let first = serde_json::json!([{"vehicle": "10101", "lat": origin.lat(), "lon": origin.lon(), "at_ms": start_ms, "trip_id": "t10"}]);
    push(&t, &genuine, first).await;
    let (status, ticket) = t.ride("+77011234567", "10101", "live-forged-1", "en").await;
    assert_eq!(status, 201, "{ticket}");
    let ticket_token = ticket["token"].as_str().unwrap().to_owned();

    // The attack: 79 positions in 79 s racing the bus to its final stop (20 km in 79 s) and
    // waiting there.
    t.clock.set_ms(start_ms + 79_000);
    let race: Vec<serde_json::Value> = (1..=79)
        .map(|i| {
            let p = along(origin, end, (253.0 * i as f64 / 3_000.0).min(1.0));
            serde_json::json!({"vehicle": "10101", "lat": p.lat(), "lon": p.lon(), "at_ms": start_ms + i * 1_000, "trip_id": "t10"})
        })
        .collect();
    // From a token of the city not registered for this bus (one for another bus, and one
    // for its own vehicles only): every position refused, and said why.
    let other_bus = scoped_token(&t, "astana", &["10121"], true).await;
    let own_vehicles = feed_token(&t, "astana").await;
    for token in [&other_bus, &own_vehicles] {
        let answer = push(&t, token, serde_json::json!(race)).await;
        assert_eq!(answer["applied"], 0, "{answer}");
        assert_eq!(answer["refused"]["not_registered"], 79, "{answer}");
        assert_eq!(answer["rejected"], 79, "{answer}");
        assert_eq!(answer["tickets_ended"], 0, "{answer}");
    }
    // From the token registered for it, allowed to end its runs: the jumps are refused.
    let answer = push(&t, &genuine, serde_json::json!(race)).await;
    assert_eq!(answer["tickets_ended"], 0, "{answer}");
    assert!(
        answer["refused"]["implausible_motion"].as_u64().unwrap() >= 50,
        "{answer}"
    );
    // A position dated beyond the clock skew is refused too.
    let future = serde_json::json!([{"vehicle": "10101", "lat": end.lat(), "lon": end.lon(), "at_ms": start_ms + 79_000 + 10 * 60_000}]);
    let answer = push(&t, &genuine, future).await;
    assert_eq!(answer["refused"]["future_timestamp"], 1, "{answer}");

    let inspection = t.inspect(&ticket_token, "10101").await;
    assert_eq!(inspection["result"], "VALID", "{inspection}");
    let (_, valid) = t.get_as("+77011234567", "/v1/tickets/valid").await;
    assert_eq!(valid["tickets"].as_array().unwrap().len(), 1, "{valid}");
    let metrics = t
        .call(Method::GET, "/metrics")
        .token(crate::harness::METRICS)
        .send()
        .await
        .text();
    assert!(
        metrics.contains("smsbus_live_positions_refused_not_registered_total 158"),
        "{metrics}"
    );
    t.assert_ledger_balanced().await;
}

/// Reads a server-sent-events body until `wanted` appears; `false` when the stream ends first
/// or nothing comes for a few seconds.
async fn read_until(response: &mut reqwest::Response, text: &mut String, wanted: &str) -> bool {
    let reading = async {
        while !text.contains(wanted) {
            match response.chunk().await {
                Ok(Some(bytes)) => text.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(None) | Err(_) => return false,
            }
        }
        true
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), reading)
        .await
        .unwrap_or(false)
}

async fn open_stream(t: &TestApp, query: &str) -> reqwest::Response {
    t.call(Method::GET, &format!("/v1/live/astana/stream{query}"))
        .response()
        .await
}

on_both_stores!(
    a_route_filtered_stream_hears_of_its_buses_leaving,
    stream_removal
);
async fn stream_removal(db: Db) {
    let t = spawn(db).await;
    let start_ms = t.clock.now_ms();
    t.app
        .live
        .install_network("astana", astana_network(start_ms));
    let token = scoped_token(&t, "astana", &["10101", "10121"], false).await;
    let mut stream = open_stream(&t, "?route=10").await;
    assert_eq!(stream.status().as_u16(), 200);
    let origin = point_at(51.1300, 71.4300);
    push(
        &t,
        &token,
        serde_json::json!([
            {"vehicle": "10101", "lat": origin.lat(), "lon": origin.lon(), "at_ms": start_ms, "trip_id": "t10"},
            {"vehicle": "10121", "lat": origin.lat(), "lon": origin.lon(), "at_ms": start_ms},
        ]),
    )
    .await;
    let mut text = String::new();
    assert!(
        read_until(&mut stream, &mut text, "event: position").await,
        "{text}"
    );
    assert!(text.contains("\"transport_code\":\"10101\""), "{text}");
    // Both buses fall silent past the stale limit and drop off the map.
    t.clock
        .advance_ms(service::live::engine::LiveConfig::default().stale_after_ms + 1_000);
    assert!(vehicles(&t, "astana").await.is_empty());
    assert!(
        read_until(&mut stream, &mut text, "event: removed").await,
        "{text}"
    );
    let removed = text.split("event: removed").nth(1).unwrap();
    assert!(removed.contains("\"route_number\":\"10\""), "{text}");
    assert!(
        !text.contains("\"route_number\":\"12\""),
        "route 12 leaked in: {text}"
    );
}

on_both_stores!(
    live_streams_are_capped_and_end_after_their_lifetime,
    stream_limits
);
async fn stream_limits(db: Db) {
    use service::live::slots::SlotLimits;
    let t = spawn(db).await;
    let start_ms = t.clock.now_ms();
    t.app
        .live
        .install_network("astana", astana_network(start_ms));
    let lifetime_ms = 60_000;
    let per_address = SlotLimits {
        total_max: 10,
        per_address_max: 2,
    };
    t.app.live.set_stream_limits(per_address, lifetime_ms);
    let mut first = open_stream(&t, "").await;
    let second = open_stream(&t, "?route=12").await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let refused = open_stream(&t, "").await;
    assert_eq!(refused.status().as_u16(), 429);
    assert_eq!(refused.headers()["retry-after"], "30");
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMITED", "{body}");
    // Overall: two open of at most two.
    let overall = SlotLimits {
        total_max: 2,
        per_address_max: 10,
    };
    t.app.live.set_stream_limits(overall, lifetime_ms);
    assert_eq!(open_stream(&t, "").await.status().as_u16(), 429);
    // The server keeps answering everything else.
    t.call(Method::GET, "/v1/live/astana/vehicles")
        .expect(200)
        .await;

    // A stream ends once it has lived its time (by our clock); the client reconnects.
    let token = scoped_token(&t, "astana", &["10101"], false).await;
    let origin = point_at(51.1300, 71.4300);
    let report = |at_ms: i64| serde_json::json!([{"vehicle": "10101", "lat": origin.lat(), "lon": origin.lon(), "at_ms": at_ms}]);
    push(&t, &token, report(start_ms)).await;
    let mut text = String::new();
    assert!(
        read_until(&mut first, &mut text, "event: position").await,
        "{text}"
    );
    t.clock.set_ms(start_ms + lifetime_ms as i64 + 1);
    push(&t, &token, report(start_ms + lifetime_ms as i64 + 1)).await;
    assert!(!read_until(&mut first, &mut text, "never sent").await);
    assert_eq!(text.matches("event: position").count(), 1, "{text}");
}

async fn refused_at_once(addr: std::net::SocketAddr) -> bool {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let login = wialon::login_line(ProtocolVersion::V2_0, "861230043907626", Some("s3cret"));
    // The write may or may not reach a socket the server has already closed.
    write
        .write_all(format!("{login}\r\n").as_bytes())
        .await
        .ok();
    let mut line = String::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        reader.read_line(&mut line),
    )
    .await
    .unwrap();
    matches!(read, Ok(0) | Err(_))
}

on_both_stores!(
    the_wialon_listener_caps_connections_overall_and_per_address,
    wialon_caps
);
async fn wialon_caps(db: Db) {
    use service::live::slots::SlotLimits;
    let t = spawn(db).await;
    let start_ms = t.clock.now_ms();
    t.app
        .live
        .install_network("astana", astana_network(start_ms));
    service::live::register_tracker(
        &t.app,
        &service::staff::Actor::command_line(),
        &service::live::engine::TrackerId::new("861230043907626"),
        "s3cret",
        &domain::TransportCode::parse("10102").unwrap(),
    )
    .await
    .unwrap();
    let caps = [
        SlotLimits {
            total_max: 5,
            per_address_max: 1,
        },
        SlotLimits {
            total_max: 1,
            per_address_max: 5,
        },
    ];
    for connections in caps {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = api::WialonLimits {
            connections,
            ..api::WialonLimits::default()
        };
        tokio::spawn(api::serve_wialon(Arc::clone(&t.app), listener, limits));
        let held = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (read, mut write) = held.into_split();
        let mut reader = BufReader::new(read);
        let login = wialon::login_line(ProtocolVersion::V2_0, "861230043907626", Some("s3cret"));
        write
            .write_all(format!("{login}\r\n").as_bytes())
            .await
            .unwrap();
        assert_eq!(answer(&mut reader).await, "#AL#1");
        assert!(refused_at_once(addr).await, "{connections:?}");
        // The held tracker is still served.
        write.write_all(b"#P#\r\n").await.unwrap();
        assert_eq!(answer(&mut reader).await, "#AP#");
    }
    let refused = t
        .app
        .live
        .counters
        .wialon_connections_refused
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(refused, 2);
}

on_both_stores!(
    a_feed_tokens_scope_is_its_carriers_buses_and_is_kept_in_the_store,
    carrier_scope
);
async fn carrier_scope(db: Db) {
    let t = spawn(db).await;
    let start_ms = t.clock.now_ms();
    t.app
        .live
        .install_network("astana", astana_network(start_ms));
    let token = make_token(
        &t,
        serde_json::json!({"city": "astana", "name": "park 1 dispatch", "carrier": "astana-avtobus-park-1"}),
    )
    .await;
    let origin = point_at(51.1300, 71.4300);
    let at = |vehicle: &str| serde_json::json!({"vehicle": vehicle, "lat": origin.lat(), "lon": origin.lon(), "at_ms": start_ms});
    // 10101 and 10102 are park 1's, 10121 is park 3's; "depot-7" is the partner's own.
    let answer = push(
        &t,
        &token,
        serde_json::json!([at("10101"), at("10102"), at("10121"), at("depot-7")]),
    )
    .await;
    assert_eq!(answer["applied"], 3, "{answer}");
    assert_eq!(answer["refused"]["not_registered"], 1, "{answer}");
    let mut reported: Vec<String> = vehicles(&t, "astana")
        .await
        .iter()
        .map(|v| {
            v["transport_code"]
                .as_str()
                .or(v["feed_vehicle"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    reported.sort();
    assert_eq!(reported, ["10101", "10102", "depot-7"]);

    // A scope outside the city is refused when the token is made.
    let refused = async |body: serde_json::Value| {
        let (status, problem) = t.post(&t.admin, "/v1/admin/live/feed-tokens", body).await;
        (status, problem["code"].as_str().unwrap().to_owned())
    };
    let almaty_bus = serde_json::json!({"city": "astana", "name": "x", "vehicles": ["20032"]});
    assert_eq!(
        refused(almaty_bus).await,
        (404, "TRANSPORT_CODE_UNKNOWN".to_owned())
    );
    let almaty_park =
        serde_json::json!({"city": "astana", "name": "x", "carrier": "almaty-onay-park"});
    assert_eq!(refused(almaty_park).await, (404, "NOT_FOUND".to_owned()));

    // The scope is in the store, so another server process reads the same.
    scoped_token(&t, "astana", &["10121", "13011"], true).await;
    let mut conn = t.store.reader().await.unwrap();
    let rows = store::live::all_feed_tokens(&mut conn).await.unwrap();
    let park = rows.iter().find(|r| r.name == "park 1 dispatch").unwrap();
    assert_eq!(
        (
            park.carrier_id.as_deref(),
            park.vehicles.len(),
            park.ends_runs
        ),
        (Some("astana-avtobus-park-1"), 0, false)
    );
    let listed = rows.iter().find(|r| r.vehicles.len() == 2).unwrap();
    assert_eq!(
        (listed.vehicles.as_slice(), listed.ends_runs),
        (["10121".to_owned(), "13011".to_owned()].as_slice(), true)
    );
}
