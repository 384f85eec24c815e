//! A controller's device syncs the checks it made offline (issue 14): each is checked again as
//! of when it was shown and recorded once per device id (a resent batch records nothing twice),
//! a ticket seen in two buses is flagged across controllers and whichever syncs first, the
//! device's verdict is compared with the server's, and the shift summary counts what was found.

use domain::staff::Role;
use serde_json::{Value, json};
use service::clock::Clock as _;

use crate::harness::{CONTROLLER_CITIES, Db, Method, TestApp, spawn};
use crate::on_both_stores;

async fn sync(t: &TestApp, session: &str, items: Value) -> (u16, Value) {
    let body = json!({ "inspections": items });
    t.post(session, "/v1/controller/inspections/sync", body)
        .await
}

/// The (city, transport code) of each vehicle a controller's device is given.
async fn vehicles_of(t: &TestApp, session: &str) -> Vec<(String, String)> {
    let list = t
        .call(Method::GET, "/v1/controller/vehicles")
        .token(session)
        .expect(200)
        .await;
    list["vehicles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let field = |name: &str| v[name].as_str().unwrap().to_owned();
            (field("city"), field("transport_code"))
        })
        .collect()
}

fn item(id: &str, token: &str, vehicle: &str, at_ms: i64, result: &str) -> Value {
    json!({"id": id, "token": token, "transport_code": vehicle, "scanned_at_ms": at_ms,
           "result": result, "offline": true})
}

async fn bought(t: &TestApp, phone: &str, key: &str) -> String {
    let (status, ticket) = t.ride(phone, "10101", key, "en").await;
    assert_eq!(status, 201, "{ticket}");
    ticket["token"].as_str().unwrap().to_owned()
}

async fn a_synced_queue_is_recorded_once_and_flags_a_ticket_seen_in_two_buses(db: Db) {
    let t = spawn(db).await;
    t.add_staff("ctl-b", Role::Controller, &CONTROLLER_CITIES, &[])
        .await;
    let other = t.staff_session("ctl-b").await;
    let token = bought(&t, "+77011234567", "sync-1").await;
    let shown_ms = t.clock.now_ms();
    t.clock.advance_ms(60_000);

    // Shown offline in its own bus a minute ago; then a forged copy; then a time out of range.
    // One character of the signature changed.
    let mut forged: Vec<char> = token.chars().collect();
    let at = forged.len() - 20;
    forged[at] = if forged[at] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    let queue = json!([
        item("dev-1", &token, "10101", shown_ms, "VALID"),
        item("dev-2", &forged, "10101", shown_ms + 1, "VALID"),
        item("dev-3", &token, "10101", 0, "VALID"),
    ]);
    let (status, first) = sync(&t, &t.controller, queue.clone()).await;
    assert_eq!(status, 200, "{first}");
    let results = first["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], "recorded", "{first}");
    assert_eq!(results[0]["result"], "VALID");
    assert_eq!(results[0]["agrees"], true);
    assert_eq!(results[0]["flagged_shared"], false);
    assert_eq!(
        results[0]["inspection"]["ticket"]["transport_code"],
        "10101"
    );
    assert_eq!(results[1]["result"], "FORGED", "{first}");
    assert_eq!(results[1]["agrees"], false, "the device said VALID");
    assert_eq!(results[2]["status"], "refused");
    assert_eq!(results[2]["refused"]["code"], "BAD_REQUEST", "{first}");

    // The same batch again (the answer was lost): nothing is recorded twice.
    let (status, again) = sync(&t, &t.controller, queue).await;
    assert_eq!(status, 200, "{again}");
    let statuses: Vec<&str> = again["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["already_recorded", "already_recorded", "refused"]
    );
    assert_eq!(again["results"][0]["result"], "VALID");

    // Another controller, in another bus, later: flagged, naming the first showing.
    let (status, copy) = sync(
        &t,
        &other,
        json!([item(
            "dev-1",
            &token,
            "10102",
            t.clock.now_ms(),
            "WRONG_VEHICLE"
        )]),
    )
    .await;
    assert_eq!(status, 200, "{copy}");
    let copy = &copy["results"][0];
    assert_eq!(
        copy["status"], "recorded",
        "another inspector's id 'dev-1' is its own"
    );
    assert_eq!(copy["result"], "WRONG_VEHICLE");
    assert_eq!(copy["agrees"], true);
    assert_eq!(copy["flag_reason"], "SHOWN_IN_TWO_VEHICLES", "{copy}");
    assert_eq!(
        copy["inspection"]["flagged_because_of"]["transport_code"],
        "10101"
    );

    // Synced late: a check in its own bus made *before* another controller's online check
    // elsewhere makes the flag too, wherever it falls in time.
    let late = bought(&t, "+77051234567", "sync-2").await;
    let own_ms = t.clock.now_ms();
    t.clock.advance_ms(120_000);
    let (_, online) = t
        .post(
            &other,
            "/v1/inspections",
            json!({"token": late, "transport_code": "10102", "inspector": "ctl-b"}),
        )
        .await;
    assert_eq!(online["flagged_shared"], false, "{online}");
    let (_, synced) = sync(
        &t,
        &t.controller,
        json!([item("dev-4", &late, "10101", own_ms, "VALID")]),
    )
    .await;
    assert_eq!(synced["results"][0]["result"], "VALID", "{synced}");
    assert_eq!(
        synced["results"][0]["flag_reason"], "SHOWN_IN_TWO_VEHICLES",
        "{synced}"
    );

    // The shift: the controller's own recorded checks (not ctl-b's).
    let shift = t
        .call(Method::GET, "/v1/controller/shift")
        .token(&t.controller)
        .expect(200)
        .await;
    assert_eq!(shift["checked"], 3, "{shift}");
    assert_eq!(shift["invalid"], 1, "{shift}");
    assert_eq!(shift["invalid_by_result"], json!({"FORGED": 1}));
    assert_eq!(
        shift["flagged_by_reason"],
        json!({"SHOWN_IN_TWO_VEHICLES": 1})
    );
}
on_both_stores!(
    a_synced_queue_is_recorded_once_and_flags_a_ticket_seen_in_two_buses,
    a_synced_queue_is_recorded_once_and_flags_a_ticket_seen_in_two_buses
);

async fn a_sync_is_refused_whole_outside_the_controllers_cities(db: Db) {
    let t = spawn(db).await;
    t.add_staff("far", Role::Controller, &["kyzylorda"], &[])
        .await;
    let far = t.staff_session("far").await;
    let token = bought(&t, "+77011234567", "sync-far").await;
    let now = t.clock.now_ms();
    let (status, refused) = sync(
        &t,
        &far,
        json!([item("far-1", &token, "10101", now, "VALID")]),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("SCOPE_FORBIDDEN"))
    );
    // Its device is given only its own city's vehicles; the Astana controller's has 10101.
    let far_list = vehicles_of(&t, &far).await;
    assert!(
        far_list.iter().all(|(city, _)| city == "kyzylorda"),
        "{far_list:?}"
    );
    let own_list = vehicles_of(&t, &t.controller).await;
    assert!(
        own_list.iter().any(|(_, code)| code == "10101"),
        "{own_list:?}"
    );
    assert!(
        far_list.iter().all(|(_, code)| code != "10101"),
        "{far_list:?}"
    );
    // Nothing of it was recorded: the shift is empty.
    let shift = t
        .call(Method::GET, "/v1/controller/shift")
        .token(&far)
        .expect(200)
        .await;
    assert_eq!(shift["checked"], 0, "{shift}");
    // A full batch of the longest tokens fits the route's body limit; each is MALFORMED.
    let long = format!("SB2.{}", "\u{0416}".repeat(198));
    let full: Vec<Value> = (0..service::inspect::SYNC_BATCH_MAX)
        .map(|i| item(&format!("f-{i}"), &long, "10101", now, "MALFORMED"))
        .collect();
    let (status, body) = sync(&t, &t.controller, json!(full)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["result"] == "MALFORMED" && r["agrees"] == true),
        "{body}"
    );
    // Too many at once: refused before anything is checked.
    let many: Vec<Value> = (0..=service::inspect::SYNC_BATCH_MAX)
        .map(|i| item(&format!("m-{i}"), &token, "10101", now, "VALID"))
        .collect();
    let (status, body) = sync(&t, &t.controller, json!(many)).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("BAD_REQUEST")));
}
on_both_stores!(
    a_sync_is_refused_whole_outside_the_controllers_cities,
    a_sync_is_refused_whole_outside_the_controllers_cities
);
