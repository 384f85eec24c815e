//! A stop's next arrivals over HTTP (public): the routes serving it and the timetable's next
//! departures at noon, in time order within the window; a bus on its way on a live run that
//! has the stop ahead, listed with its expected time and plate; unknown stops and cities 404.

use std::sync::Arc;

use serde_json::Value;
use service::clock::Clock;
use service::live::engine::TimeMs;
use service::live::engine::network::{Network, NetworkInput, RunInput, RunStopInput};
use service::transit::Coordinate;
use service::transit::{GtfsRouteId, GtfsStopId, GtfsTripId};

use crate::harness::{Db, Method, spawn};
use crate::live::point_at;
use crate::on_both_stores;
use crate::transit::import_astana;

/// Today's noon in Astana (UTC+5), as the test's clock reads it.
fn noon_ms(now_ms: i64) -> i64 {
    let zone = jiff::tz::TimeZone::fixed(jiff::tz::offset(5));
    let today = jiff::Timestamp::from_millisecond(now_ms)
        .unwrap()
        .to_zoned(zone.clone())
        .date();
    today
        .at(12, 0, 0, 0)
        .to_zoned(zone)
        .unwrap()
        .timestamp()
        .as_millisecond()
}

/// One live run of route 10 from a point 600 m west of `stop` to the stop, five minutes long.
fn run_to(stop_id: &str, stop: Coordinate, start_ms: i64) -> Arc<Network> {
    let origin = point_at(stop.lat(), stop.lon() - 600.0 / 69_900.0);
    let input = NetworkInput {
        shapes: Vec::new(),
        runs: vec![RunInput {
            trip_id: GtfsTripId::new("live-10").unwrap(),
            route_id: GtfsRouteId::new("astana-10").unwrap(),
            route_short_name: "10".into(),
            stops: vec![
                RunStopInput {
                    stop_id: GtfsStopId::new("live-start").unwrap(),
                    name: "Start".into(),
                    point: origin,
                    arrival: TimeMs(start_ms),
                    departure: TimeMs(start_ms),
                },
                RunStopInput {
                    stop_id: GtfsStopId::new(stop_id).unwrap(),
                    name: "Stop".into(),
                    point: stop,
                    arrival: TimeMs(start_ms + 300_000),
                    departure: TimeMs(start_ms + 300_000),
                },
            ],
            shape: None,
        }],
    };
    Arc::new(Network::build(input).unwrap())
}

on_both_stores!(a_stop_lists_its_routes_and_next_arrivals, arrivals);
async fn arrivals(db: Db) {
    let t = spawn(db).await;
    import_astana(&t).await;
    let noon = noon_ms(t.clock.now_ms());
    t.clock.set_ms(noon);
    let detail = t
        .call(Method::GET, "/v1/cities/astana/routes/astana-10")
        .expect(200)
        .await;
    let stops = detail["variants"][0]["stops"].as_array().unwrap().clone();
    let stop = &stops[2];
    let stop_id = stop["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/cities/astana/stops/{stop_id}/arrivals");
    let answer = t.call(Method::GET, &path).expect(200).await;
    assert_eq!(answer["stop"]["id"], stop_id.as_str(), "{answer}");
    assert!(
        answer["routes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "10"),
        "{answer}"
    );
    let times: Vec<i64> = answer["arrivals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["live"], false, "{a}");
            instant_ms(&a["scheduled_at"])
        })
        .collect();
    assert!(!times.is_empty(), "{answer}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(
        times
            .iter()
            .all(|&at| at >= noon - 60_000 && at <= noon + 2 * 3_600_000),
        "{times:?}"
    );
    // A bus of route 10 on its way to the stop: listed live, with its plate.
    let point = point_at(stop["lat"].as_f64().unwrap(), stop["lon"].as_f64().unwrap());
    t.app
        .live
        .install_network("astana", run_to(&stop_id, point, noon));
    let token = crate::live::scoped_token(&t, "astana", &["10101"], true).await;
    let origin = point_at(point.lat(), point.lon() - 600.0 / 69_900.0);
    for step in 0..3_i64 {
        t.clock.set_ms(noon + step * 10_000);
        let lon = origin.lon() + (point.lon() - origin.lon()) * (step as f64) / 30.0;
        crate::live::push(
            &t,
            &token,
            serde_json::json!([{"vehicle": "10101", "lat": point.lat(), "lon": lon,
                "at_ms": noon + step * 10_000, "trip_id": "live-10"}]),
        )
        .await;
    }
    let answer = t.call(Method::GET, &path).expect(200).await;
    let live: Vec<&Value> = answer["arrivals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["live"] == true)
        .collect();
    assert_eq!(live.len(), 1, "{answer}");
    assert_eq!(live[0]["route_number"], "10");
    assert_eq!(live[0]["plate"], "101 ABC 01", "{answer}");
    assert_eq!(live[0]["transport_code"], "10101");
    assert!(live[0]["expected_at"].is_string(), "{answer}");
    for unknown in [
        "/v1/cities/astana/stops/no-such-stop/arrivals",
        "/v1/cities/atlantis/stops/x/arrivals",
    ] {
        let answer = t.call(Method::GET, unknown).send().await;
        assert_eq!(
            (answer.status, answer.body["code"].as_str()),
            (404, Some("NOT_FOUND")),
            "{}",
            answer.body
        );
    }
}

/// An RFC 3339 time of the answer, in milliseconds.
fn instant_ms(value: &Value) -> i64 {
    let at: jiff::Timestamp = value.as_str().unwrap().parse().unwrap();
    at.as_millisecond()
}
