//! Transit over HTTP: feeds imported through the use case (the real Halifax feed, the demo's
//! Astana feed), then routes, stops near a point, search and journey plans asked like a
//! passenger's app would, on both stores.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use serde_json::Value;
use service::transit::{FeedImport, NewCity, import_addresses, import_feed, no_progress};

use crate::harness::{Db, Method, TestApp, spawn};
use crate::on_both_stores;

const HALIFAX: &str = "../../../shared/data/gtfs/halifax-2025.zip";
pub(crate) const ASTANA_FEED: &[u8] = include_bytes!("../../../smsbus/data/astana-gtfs.zip");
const ASTANA_ADDRESSES: &[u8] = include_bytes!("../../../smsbus/data/astana-addresses.csv");

pub(crate) async fn import_astana(t: &TestApp) {
    let request = FeedImport {
        city: "astana".into(),
        create_city: None,
        feed: ASTANA_FEED.to_vec(),
    };
    let summary = import_feed(&t.app, request, no_progress()).await.unwrap();
    assert_eq!(summary.report.problem_count, 0, "{}", summary.report);
    let mut linked = summary.linked_routes.clone();
    linked.sort();
    assert_eq!(linked, ["10", "12", "301", "310"]);
    import_addresses(&t.app, "astana", ASTANA_ADDRESSES.to_vec())
        .await
        .unwrap();
}

fn ride_legs(journey: &Value) -> Vec<&Value> {
    journey["legs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["type"] == "ride")
        .collect()
}

on_both_stores!(
    halifax_feed_imports_and_plans_a_real_journey,
    halifax_feed_imports_and_plans_a_real_journey
);
async fn halifax_feed_imports_and_plans_a_real_journey(db: Db) {
    let t = spawn(db).await;
    let feed = std::fs::read(HALIFAX).unwrap();
    let request = FeedImport {
        city: "halifax".into(),
        create_city: Some(NewCity {
            name: "Halifax".into(),
        }),
        feed,
    };
    let summary = import_feed(&t.app, request, no_progress()).await.unwrap();
    assert!(summary.city_created);
    assert_eq!(summary.stops, 2386);
    assert_eq!(summary.trips, 9472);

    // From Mumford Terminal bay 2 (8640) to Oxford St after Quinpool (7412) at 08:00 on a
    // weekday, checked by hand in stop_times.txt: route 1 leaves 8640 at 08:00 and reaches 7412
    // at 08:12, but walking 61 m to bay 8641 for the 9A (trip 3797476, 08:02, at 8136 08:09:42)
    // and 49 m on arrives at 08:10:17, so that is the answer.
    let path = "/v1/cities/halifax/plan?from=stop:8640&to=stop:7412&departure=2025-09-10T08:00:00-03:00&max_transfers=0";
    let plan = t.call(Method::GET, path).expect(200).await;
    assert_eq!(plan["service_date"], "2025-09-10");
    let fastest = plan["journeys"]
        .as_array()
        .unwrap()
        .iter()
        .min_by_key(|j| j["arrival"].as_str().unwrap().to_owned())
        .unwrap();
    assert_eq!(fastest["arrival"], "2025-09-10T08:10:17-03:00");
    let rides = ride_legs(fastest);
    assert_eq!(rides.len(), 1, "{fastest}");
    assert_eq!(rides[0]["route_number"], "9A");
    assert_eq!(rides[0]["trip_id"], "3797476");
    assert_eq!(rides[0]["from"]["id"], "8641");
    assert_eq!(rides[0]["to"]["id"], "8136");
    assert_eq!(rides[0]["departure"], "2025-09-10T08:02:00-03:00");
    assert_eq!(rides[0]["arrival"], "2025-09-10T08:09:42-03:00");
    assert_eq!(rides[0]["stops"], 9);
    assert!(
        rides[0]["geometry"]["coordinates"]
            .as_array()
            .unwrap()
            .len()
            >= 2
    );
    let legs = fastest["legs"].as_array().unwrap();
    assert_eq!(
        (legs[0]["type"].as_str(), legs[0]["distance_m"].as_u64()),
        (Some("walk"), Some(61))
    );
    assert_eq!(
        (legs[2]["type"].as_str(), legs[2]["distance_m"].as_u64()),
        (Some("walk"), Some(49))
    );
    assert_eq!(fastest["transfers"], 0);
    assert!(fastest["fare"].is_null(), "Halifax has no catalogue fares");

    let routes = t
        .call(Method::GET, "/v1/cities/halifax/routes")
        .expect(200)
        .await;
    assert!(
        routes["routes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["number"] == "1" && r["kind"] == "bus")
    );
}

on_both_stores!(
    a_bad_feed_leaves_the_previous_data_intact,
    a_bad_feed_leaves_the_previous_data_intact
);
async fn a_bad_feed_leaves_the_previous_data_intact(db: Db) {
    let t = spawn(db).await;
    import_astana(&t).await;
    let before = t
        .call(Method::GET, "/v1/cities/astana/routes")
        .expect(200)
        .await;

    let not_a_zip = FeedImport {
        city: "astana".into(),
        create_city: None,
        feed: b"stop_id,stop_name\n1,x\n".to_vec(),
    };
    let error = import_feed(&t.app, not_a_zip, no_progress())
        .await
        .unwrap_err();
    assert!(error.detail.contains("zip"), "{}", error.detail);
    let mut truncated = std::fs::read(HALIFAX).unwrap();
    truncated.truncate(truncated.len() / 2);
    let truncated = FeedImport {
        city: "astana".into(),
        create_city: None,
        feed: truncated,
    };
    assert!(import_feed(&t.app, truncated, no_progress()).await.is_err());
    let unknown_city = FeedImport {
        city: "atlantis".into(),
        create_city: None,
        feed: ASTANA_FEED.to_vec(),
    };
    assert!(
        import_feed(&t.app, unknown_city, no_progress())
            .await
            .unwrap_err()
            .detail
            .contains("--create-city")
    );

    assert_eq!(
        t.call(Method::GET, "/v1/cities/astana/routes")
            .expect(200)
            .await,
        before
    );
    let mut conn = t.store.reader().await.unwrap();
    let stored = store::transit::feed(&mut conn, "astana")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.feed, ASTANA_FEED);
}

on_both_stores!(
    routes_list_fares_stops_and_shapes,
    routes_list_fares_stops_and_shapes
);
async fn routes_list_fares_stops_and_shapes(db: Db) {
    let t = spawn(db).await;
    import_astana(&t).await;
    let list = t
        .call(Method::GET, "/v1/cities/astana/routes")
        .expect(200)
        .await;
    let route = |number: &str| {
        list["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["number"] == number)
            .unwrap()
            .clone()
    };
    assert_eq!(route("10")["fare"]["amount"], "90.00");
    assert_eq!(route("10")["kind"], "regular");
    assert_eq!(route("310")["fare"]["amount"], "180.00");
    assert_eq!(route("310")["kind"], "express");
    assert_eq!(route("301")["kind"], "suburban");

    let detail = t
        .call(Method::GET, "/v1/cities/astana/routes/astana-10")
        .expect(200)
        .await;
    let variants = detail["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    let outbound = variants.iter().find(|v| v["direction"] == 0).unwrap();
    let names: Vec<&str> = outbound["stops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"ЖД вокзал"));
    assert_eq!(names.last(), Some(&"Международный аэропорт"));
    assert!(names.contains(&"Байтерек") && names.contains(&"Хан Шатыр"));
    assert_eq!(outbound["shape"]["type"], "LineString");
    assert!(outbound["shape"]["coordinates"].as_array().unwrap().len() > names.len());
    let missing = t
        .call(Method::GET, "/v1/cities/astana/routes/astana-999")
        .send()
        .await;
    assert_eq!(
        (
            missing.status,
            missing.header("content-type"),
            missing.body["code"].as_str()
        ),
        (404, Some("application/problem+json"), Some("NOT_FOUND"))
    );
}

on_both_stores!(stops_near_a_point, stops_near_a_point);
async fn stops_near_a_point(db: Db) {
    let t = spawn(db).await;
    import_astana(&t).await;
    let near = t
        .call(
            Method::GET,
            "/v1/cities/astana/stops/near?lat=51.1284&lon=71.4303&radius_m=700",
        )
        .expect(200)
        .await;
    let stops = near["stops"].as_array().unwrap();
    assert_eq!(stops[0]["id"], "baiterek");
    assert!(stops[0]["distance_m"].as_u64().unwrap() < 30);
    assert!(stops.iter().any(|s| s["id"] == "keruen"));
    assert!(
        stops
            .iter()
            .all(|s| s["distance_m"].as_u64().unwrap() <= 700)
    );
    let too_far = t
        .call(
            Method::GET,
            "/v1/cities/astana/stops/near?lat=51.1&lon=71.4&radius_m=5000",
        )
        .send()
        .await;
    assert_eq!(
        (too_far.status, too_far.body["code"].as_str()),
        (400, Some("BAD_REQUEST"))
    );
}

on_both_stores!(
    search_forgives_kazakh_russian_and_latin_spellings,
    search_forgives_kazakh_russian_and_latin_spellings
);
async fn search_forgives_kazakh_russian_and_latin_spellings(db: Db) {
    let t = spawn(db).await;
    import_astana(&t).await;
    for (query, expected) in [
        ("Абая", "пр. Абая"),
        ("Abaya", "пр. Абая"),
        ("abay", "пр. Абая"),
        ("пр. Абай", "пр. Абая"),
        ("Kenesary", "Кенесары"),
        ("Кенесары", "Кенесары"),
        ("Akorda", "Ақорда"),
        ("Акорда", "Ақорда"),
        ("Nurly Zhol", "Нұрлы Жол"),
        ("байтерек", "Байтерек"),
        ("Baiterek", "Байтерек"),
        ("Кабанбай батыра 11", "Қабанбай батыр даңғылы 11"),
        ("Qabanbay batyr", "абанбай батыр"),
    ] {
        let path = format!("/v1/cities/astana/search?q={}", urlencode(query));
        let body = t.call(Method::GET, &path).expect(200).await;
        let labels: Vec<&str> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["label"].as_str().unwrap())
            .collect();
        assert!(
            labels.first().is_some_and(|l| l.contains(expected)),
            "{query}: {labels:?}"
        );
    }
    // A search result is a plan endpoint.
    let body = t
        .call(
            Method::GET,
            &format!(
                "/v1/cities/astana/search?q={}",
                urlencode("Қабанбай батыр 11")
            ),
        )
        .expect(200)
        .await;
    let id = body["results"][0]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("address:"), "{id}");
    let plan = t
        .call(
            Method::GET,
            &format!(
                "/v1/cities/astana/plan?from={id}&to=stop:zhd&departure=08:00&date=2025-09-10"
            ),
        )
        .expect(200)
        .await;
    assert!(!plan["journeys"].as_array().unwrap().is_empty());
}

on_both_stores!(
    plans_with_transfers_and_fares_in_astana,
    plans_with_transfers_and_fares_in_astana
);
async fn plans_with_transfers_and_fares_in_astana(db: Db) {
    let t = spawn(db).await;
    import_astana(&t).await;
    // From a point by the railway station to the airport: walk, route 10, walk.
    let plan = t.call(Method::GET, "/v1/cities/astana/plan?from=51.1966,71.4096&to=stop:airport&departure=2025-09-10T08:00:00%2B05:00").expect(200).await;
    let journey = plan["journeys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["transfers"] == 0)
        .unwrap();
    assert_eq!(journey["legs"][0]["type"], "walk");
    let rides = ride_legs(journey);
    assert_eq!(rides.len(), 1, "{plan:#}");
    assert_eq!(rides[0]["route_number"], "10");
    assert_eq!(rides[0]["departure"], "2025-09-10T08:10:00+05:00");
    assert_eq!(journey["fare"]["amount"], "90.00");
    // Zhagalau to the airport: route 12, then 10; two fares.
    let plan = t.call(Method::GET, "/v1/cities/astana/plan?from=stop:zhagalau&to=stop:airport&departure=09:00&date=2025-09-10&max_transfers=2").expect(200).await;
    let journey = &plan["journeys"][0];
    let numbers: Vec<&str> = ride_legs(journey)
        .iter()
        .map(|r| r["route_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["12", "10"]);
    assert_eq!(journey["transfers"], 1);
    assert_eq!(journey["fare"]["amount"], "180.00");
    // At night the plan looks ahead to the first morning bus (the suburban 301 runs from 06:00;
    // the city routes 10 and 12 run all night), and the passenger sets off just in time to walk
    // to it, not at 03:00.
    let plan = t.call(Method::GET, "/v1/cities/astana/plan?from=51.1284,71.4303&to=stop:kosshy&departure=03:00&date=2025-09-10").expect(200).await;
    let journey = &plan["journeys"][0];
    let first_ride = &ride_legs(journey)[0];
    assert_eq!(journey["legs"][0]["type"], "walk", "{plan:#}");
    assert_eq!(
        journey["legs"][0]["arrival"], first_ride["departure"],
        "{plan:#}"
    );
    assert_eq!(journey["departure"], journey["legs"][0]["departure"]);
    assert!(
        first_ride["departure"].as_str().unwrap() >= "2025-09-10T06:00:00+05:00",
        "{plan:#}"
    );
    assert!(
        journey["departure"].as_str().unwrap() >= "2025-09-10T05:00:00+05:00",
        "{plan:#}"
    );
    // Suburban 301 is priced by the zone ridden to: Mega Silk Way is zone 2, Kosshy zone 3.
    for (to, fare) in [("mega", "200.00"), ("kosshy", "300.00")] {
        let plan = t.call(Method::GET, &format!("/v1/cities/astana/plan?from=stop:baiterek&to=stop:{to}&departure=09:00&date=2025-09-10&max_transfers=0")).expect(200).await;
        let journey = &plan["journeys"][0];
        assert_eq!(ride_legs(journey)[0]["route_number"], "301", "{plan:#}");
        assert_eq!(journey["fare"]["amount"], fare, "to {to}");
    }
}

on_both_stores!(plan_errors_are_problems, plan_errors_are_problems);
async fn plan_errors_are_problems(db: Db) {
    let t = spawn(db).await;
    import_astana(&t).await;
    for (path, status, code) in [
        (
            "/v1/cities/atlantis/plan?from=stop:zhd&to=stop:airport",
            404,
            "NOT_FOUND",
        ),
        (
            "/v1/cities/almaty/plan?from=stop:zhd&to=stop:airport",
            404,
            "NOT_FOUND",
        ),
        (
            "/v1/cities/astana/plan?from=stop:nowhere&to=stop:airport",
            404,
            "NOT_FOUND",
        ),
        (
            "/v1/cities/astana/plan?from=91.5,71.4&to=stop:airport",
            400,
            "COORDINATES_INVALID",
        ),
        (
            "/v1/cities/astana/plan?from=abc,def&to=stop:airport",
            400,
            "COORDINATES_INVALID",
        ),
        (
            "/v1/cities/astana/plan?from=stop:zhd&to=stop:airport&departure=25:99",
            400,
            "DEPARTURE_TIME_INVALID",
        ),
        (
            "/v1/cities/astana/plan?from=stop:zhd&to=stop:airport&departure=08:00&date=2025-13-45",
            400,
            "DEPARTURE_TIME_INVALID",
        ),
        (
            "/v1/cities/astana/plan?from=stop:zhd&to=stop:airport&max_transfers=50",
            400,
            "BAD_REQUEST",
        ),
        (
            "/v1/cities/astana/plan?from=stop:zhd&to=stop:airport&walk_speed_m_per_s=9",
            400,
            "BAD_REQUEST",
        ),
        ("/v1/cities/astana/plan?to=stop:airport", 400, "BAD_REQUEST"),
        (
            "/v1/cities/astana/plan?from=43.2389,76.9286&to=stop:airport",
            422,
            "NO_STOP_NEARBY",
        ),
    ] {
        let refused = t.call(Method::GET, path).send().await;
        let body = &refused.body;
        assert_eq!(
            (refused.status, body["code"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
        assert_eq!(
            refused.header("content-type"),
            Some("application/problem+json"),
            "{path}"
        );
    }
    let body = t
        .call(
            Method::GET,
            "/v1/cities/astana/plan?from=91.5,71.4&to=stop:airport&lang=kk",
        )
        .send()
        .await
        .body;
    assert!(
        body["message"].as_str().unwrap().contains("Координаттар"),
        "{body}"
    );
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
