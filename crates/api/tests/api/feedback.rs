//! The passenger app's calls: the fare and its source before paying (nothing written or
//! charged), and feedback on a ride that the carrier of its bus reads at once.

use serde_json::{Value, json};

use crate::harness::{Db, Method, spawn};
use crate::on_both_stores;

const PASSENGER: &str = "+77011234567";
const OTHER: &str = "+77051234567";

async fn the_fare_and_its_source_are_shown_before_paying(db: Db) {
    let t = spawn(db).await;
    let (_, quote) = t
        .get_as(PASSENGER, "/v1/rides/quote?transport_code=10101")
        .await;
    assert_eq!(quote["route_number"], "10", "{quote}");
    assert_eq!(quote["plate"], "101 ABC 01");
    assert_eq!(quote["fare"]["tiyn"], 9000);
    assert_eq!(quote["source"], "phone_balance");
    assert_eq!(quote["operator"], "kcell");
    let (_, by_plate) = t.get_as(PASSENGER, "/v1/rides/quote?plate=101ABC01").await;
    assert_eq!(by_plate["transport_code"], "10101");
    // A zone fare without its zone: the zones and their fares, as a purchase would say.
    let (status, zones) = t
        .get_as(PASSENGER, "/v1/rides/quote?transport_code=13011")
        .await;
    assert_eq!(status, 422, "{zones}");
    assert_eq!(zones["code"], "ZONE_REQUIRED");
    assert_eq!(zones["zones"].as_array().unwrap().len(), 4);
    let (_, zone3) = t
        .get_as(PASSENGER, "/v1/rides/quote?transport_code=13011&zone=3")
        .await;
    assert_eq!(zone3["fare"]["tiyn"], 30000);
    for (query, status, code) in [
        ("transport_code=99999", 404, "TRANSPORT_CODE_UNKNOWN"),
        ("", 400, "BAD_REQUEST"),
        ("transport_code=10101&plate=101ABC01", 400, "BAD_REQUEST"),
    ] {
        let (got, refused) = t
            .get_as(PASSENGER, &format!("/v1/rides/quote?{query}"))
            .await;
        assert_eq!(got, status, "{query}");
        assert_eq!(refused["code"], code);
    }
    t.call(Method::GET, "/v1/rides/quote?transport_code=10101")
        .expect(401)
        .await;
    // Nothing was charged or written.
    let (_, history) = t.get_as(PASSENGER, "/v1/tickets/history").await;
    assert_eq!(history["tickets"].as_array().unwrap().len(), 0);
    t.assert_ledger_balanced().await;
}

async fn feedback_on_a_ride_reaches_its_carrier(db: Db) {
    let t = spawn(db).await;
    let (status, ticket) = t.ride(PASSENGER, "10101", "fb-1", "en").await;
    assert_eq!(status, 201, "{ticket}");
    let number = ticket["number"].as_i64().unwrap();
    let token = t.session(PASSENGER).await;
    let post = async |body: Value, token: String| {
        let answer = t
            .call(Method::POST, "/v1/feedback")
            .token(&token)
            .header("Accept-Language", "en")
            .json(body)
            .send()
            .await;
        (answer.status, answer.body)
    };
    let (status, stored) = post(
        json!({"ticket_number": number, "service_rating": 5, "vehicle_rating": 2,
               "category": "cleanliness", "comment": "  Sticky seats  "}),
        token.clone(),
    )
    .await;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["carrier"], "astana-avtobus-park-1");
    assert_eq!(stored["comment"], "Sticky seats");
    // One per ticket.
    let (status, again) = post(
        json!({"ticket_number": number, "service_rating": 1, "vehicle_rating": 1}),
        token.clone(),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(again["code"], "FEEDBACK_ALREADY_GIVEN");
    // Another passenger's ticket is not theirs to rate; ratings and categories are checked.
    let other = t.session(OTHER).await;
    let (status, _) = post(
        json!({"ticket_number": number, "service_rating": 3, "vehicle_rating": 3}),
        other,
    )
    .await;
    assert_eq!(status, 404);
    // A number no ticket can have is no ticket of theirs either.
    for nobody in [-1, 100_000_000_000_i64] {
        let (status, problem) = post(
            json!({"ticket_number": nobody, "service_rating": 3, "vehicle_rating": 3}),
            token.clone(),
        )
        .await;
        assert_eq!(
            (status, &problem["code"]),
            (404, &json!("NOT_FOUND")),
            "{problem}"
        );
    }
    for bad in [
        json!({"ticket_number": number, "service_rating": 0, "vehicle_rating": 3}),
        json!({"ticket_number": number, "service_rating": 3, "vehicle_rating": 6}),
        json!({"ticket_number": number, "service_rating": 3, "vehicle_rating": 3, "category": "weather"}),
        json!({"ticket_number": number, "service_rating": 3, "vehicle_rating": 3, "comment": "x".repeat(1001)}),
    ] {
        let (status, problem) = post(bad.clone(), token.clone()).await;
        assert_eq!(status, 400, "{bad} → {problem}");
    }
    let (_, given) = t.get_as(PASSENGER, "/v1/feedback").await;
    assert_eq!(given["ticket_numbers"], json!([number]));
    // The carrier reads it at once; no phone number goes with it.
    t.add_staff(
        "carrier-park-1",
        domain::staff::Role::Carrier,
        &[],
        &["astana-avtobus-park-1"],
    )
    .await;
    let carrier = t.staff_session("carrier-park-1").await;
    let read = async |query: &str| t.get(&carrier, &format!("/v1/carriers/{query}")).await;
    let (_, list) = read("astana-avtobus-park-1/feedback").await;
    let entries = list["feedback"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{list}");
    assert_eq!(entries[0]["ticket_number"], number);
    assert_eq!(entries[0]["service_rating"], 5);
    assert_eq!(entries[0]["vehicle_rating"], 2);
    assert_eq!(entries[0]["category"], "cleanliness");
    assert_eq!(entries[0]["route_number"], "10");
    assert!(!list.to_string().contains("77011234567"), "{list}");
    // Another carrier's feedback is refused to this carrier's manager, not an empty list.
    let (status, other) = read("astana-avtobus-park-3/feedback").await;
    assert_eq!(status, 403);
    assert_eq!(other["code"], "SCOPE_FORBIDDEN", "{other}");
    t.call(Method::GET, "/v1/carriers/astana-avtobus-park-1/feedback")
        .expect(401)
        .await;
    // Paged newest first.
    let (_, second) = t.ride(PASSENGER, "10102", "fb-2", "en").await;
    let (status, _) = post(
        json!({"ticket_number": second["number"], "service_rating": 4, "vehicle_rating": 4}),
        token,
    )
    .await;
    assert_eq!(status, 201);
    let (_, page) = read("astana-avtobus-park-1/feedback?limit=1").await;
    assert_eq!(page["feedback"][0]["ticket_number"], second["number"]);
    let next = page["next"].as_i64().unwrap();
    let (_, rest) = read(&format!(
        "astana-avtobus-park-1/feedback?limit=1&before={next}"
    ))
    .await;
    assert_eq!(rest["feedback"][0]["ticket_number"], number);
}

on_both_stores!(
    the_fare_and_its_source_are_shown_before_paying,
    the_fare_and_its_source_are_shown_before_paying
);
on_both_stores!(
    feedback_on_a_ride_reaches_its_carrier,
    feedback_on_a_ride_reaches_its_carrier
);
