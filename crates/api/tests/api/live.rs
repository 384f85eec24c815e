//! Live buses over the real server: GTFS-RT and JSON pushes, our GTFS-RT feed decoded back,
//! tickets ending at the final stop, stale vehicles, detection, and a Wialon IPS
//! conversation over TCP with the server's listener. Time moves only with the manual clock.

use std::sync::{Arc, OnceLock};

use service::clock::Clock;
use service::live::engine::gtfs_rt;
use service::live::engine::network::{Network, NetworkInput, RunInput, RunStopInput};
use service::live::engine::wialon::{self, ProtocolVersion, WialonFix};
use service::live::engine::{LatLon, RouteId, StopId, TimeMs, TripId};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::harness::{ADMIN, Db, TestApp, spawn};
use crate::on_both_stores;

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

async fn feed_token(t: &TestApp, city: &str) -> String {
    let response = t
        .http
        .post(t.url("/v1/admin/live/feed-tokens"))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"city": city, "name": "test feed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn vehicles(t: &TestApp, city: &str) -> Vec<serde_json::Value> {
    let body: serde_json::Value = t
        .http
        .get(t.url(&format!("/v1/live/{city}/vehicles")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["vehicles"].as_array().unwrap().clone()
}

async fn our_feed(t: &TestApp, city: &str) -> gtfs_rt::FeedMessage {
    let response = t
        .http
        .get(t.url(&format!("/v1/live/{city}/vehicle-positions.pb")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    gtfs_rt::decode_feed(&response.bytes().await.unwrap()).unwrap()
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

    let refused = t
        .http
        .post(t.url("/v1/live/halifax/gtfs-rt"))
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let pushed: serde_json::Value = t
        .http
        .post(t.url("/v1/live/halifax/gtfs-rt"))
        .bearer_auth(&token)
        .body(bytes)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
            .is_some_and(|id| network.run_by_trip(&TripId::new(id)).is_some());
        if known {
            assert_eq!(my_trip, their_trip, "vehicle {key}");
        }
        compared += 1;
    }
    assert!(compared >= 280, "compared {compared}");

    // Nothing reports for longer than the stale limit: every vehicle drops off.
    t.clock
        .advance_ms(service::live::engine::LiveConfig::default().stale_after_ms + 60 * 60_000);
    assert!(vehicles(&t, "halifax").await.is_empty());
    assert!(our_feed(&t, "halifax").await.entity.is_empty());
}

/// Two runs from one stop in Astana around `start_ms`: route 10 east, route 12 north.
fn astana_network(start_ms: i64) -> Arc<Network> {
    let origin = LatLon::new(51.1300, 71.4300);
    let run = |trip: &str, route: &str, number: &str, end: LatLon| RunInput {
        trip_id: TripId::new(trip),
        route_id: RouteId::new(route),
        route_short_name: number.to_owned(),
        stops: vec![
            RunStopInput {
                stop_id: StopId::new("s0"),
                name: "Вокзал".into(),
                point: origin,
                arrival: TimeMs(start_ms),
                departure: TimeMs(start_ms),
            },
            RunStopInput {
                stop_id: StopId::new(&format!("{trip}-end")),
                name: "Конечная".into(),
                point: end,
                arrival: TimeMs(start_ms + 300_000),
                departure: TimeMs(start_ms + 300_000),
            },
        ],
        shape: None,
    };
    // About 3 km either way: 10 m/s for five minutes.
    let east = LatLon::new(51.1300, 71.4300 + 3_000.0 / 69_900.0);
    let north = LatLon::new(51.1300 + 3_000.0 / 111_200.0, 71.4300);
    let input = NetworkInput {
        shapes: Vec::new(),
        runs: vec![
            run("t10", "r10", "10", east),
            run("t12", "r12", "12", north),
        ],
    };
    Arc::new(Network::build(input).unwrap())
}

fn along(from: LatLon, to: LatLon, fraction: f64) -> LatLon {
    LatLon::new(
        from.lat + (to.lat - from.lat) * fraction,
        from.lon + (to.lon - from.lon) * fraction,
    )
}

async fn push(t: &TestApp, token: &str, positions: serde_json::Value) -> serde_json::Value {
    let response = t
        .http
        .post(t.url("/v1/live/astana/positions"))
        .bearer_auth(token)
        .json(&serde_json::json!({"positions": positions}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
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
    let token = feed_token(&t, "astana").await;
    let origin = LatLon::new(51.1300, 71.4300);
    let end = LatLon::new(51.1300, 71.4300 + 3_000.0 / 69_900.0);
    let at = |step: i64| start_ms + step * 10_000;
    let report = |step: i64, fraction: f64| {
        let p = along(origin, end, fraction);
        serde_json::json!({"vehicle": "10101", "lat": p.lat, "lon": p.lon, "at_ms": at(step), "trip_id": "t10"})
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
    let valid: serde_json::Value = t
        .get_as("+77011234567", "/v1/tickets/valid")
        .await
        .json()
        .await
        .unwrap();
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
    let token = feed_token(&t, "astana").await;
    let origin = LatLon::new(51.1300, 71.4300);
    let east = LatLon::new(51.1300, 71.4300 + 3_000.0 / 69_900.0);
    let north = LatLon::new(51.1300 + 3_000.0 / 111_200.0, 71.4300);
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
                {"vehicle": "10101", "lat": a.lat, "lon": a.lon, "at_ms": at_ms, "trip_id": "t10"},
                {"vehicle": "10121", "lat": b.lat + 0.00005, "lon": b.lon, "at_ms": at_ms, "trip_id": "t12"},
            ]),
        )
        .await;
        // The passenger's phone is a few metres off, alternating sides.
        let wobble = if step % 2 == 0 { 0.00004 } else { -0.00004 };
        let fix = serde_json::json!({"lat": a.lat + wobble, "lon": a.lon, "at_ms": at_ms, "accuracy_m": 10.0});
        if step <= 12 {
            fixes_at_stop.push(fix);
        } else {
            fixes_riding.push(fix);
        }
    }
    let detect = |fixes: Vec<serde_json::Value>| {
        let t = &t;
        async move {
            let response = t
                .http
                .post(t.url("/v1/live/astana/detect"))
                .json(&serde_json::json!({"fixes": fixes}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    let waiting = detect(fixes_at_stop).await;
    assert_ne!(
        waiting["status"], "confident",
        "two buses at one stop: {waiting}"
    );
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
    let bad = t
        .http
        .post(t.url("/v1/live/astana/detect"))
        .json(&serde_json::json!({"fixes": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
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
    let registered = t
        .http
        .post(t.url("/v1/admin/live/trackers"))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"tracker_id": "861230043907626", "password": "s3cret", "transport_code": "10102"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status().as_u16(), 201);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(service::live::serve_wialon(Arc::clone(&t.app), listener, 4));

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
        point: Some(LatLon::new(51.1300, lon)),
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
