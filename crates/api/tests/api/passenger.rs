//! What a passenger who pays from a small balance runs into: an SMS sent twice, a deliberate
//! second ticket, a zone fare asked for without its zone, a ride that ended failed, a bus out
//! of service, a mistyped number, odd SMSC message ids.

use std::sync::Arc;

use domain::OperatorId;
use serde_json::Value;
use simulators::operator::{Endpoint, Fault};

use crate::harness::{Db, Method, TestApp, spawn};
use crate::on_both_stores;

const GOOD: &str = "+77011234567";

fn captured(t: &TestApp, phone: &str) -> i64 {
    t.sim
        .captured_total(&domain::PhoneNumber::parse(phone).unwrap())
        .tiyn()
}

fn text(reply: &Value) -> &str {
    reply["text"].as_str().unwrap()
}

/// POST /v1/rides for one bus as a passenger first asks for it (not `additional`: the repeat
/// rule applies), in English: (status, body).
async fn ask_ride(t: &TestApp, key: &str, code: &str) -> (u16, Value) {
    let body = serde_json::json!({"transport_code": code});
    t.ride_with(GOOD, key, Some("en"), body).await
}

async fn a_repeated_sms_is_not_a_second_charge(db: Db) {
    let t = spawn(db).await;
    let first = t.sms(GOOD, "r1", "10101").await;
    assert!(text(&first).starts_with("Билет №"), "{first}");
    // A second later, a new message id: the passenger thinks the first did not go.
    let again = t.sms(GOOD, "r2", "10101").await;
    let again_text = text(&again);
    assert!(
        again_text.contains("уже есть билет") && again_text.contains("не списаны"),
        "{again}"
    );
    let check = text(&first)
        .split(['№', '.'])
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        again_text.contains(&check),
        "names the ticket held: {again}"
    );
    assert!(
        again_text.contains("10101+"),
        "says how to buy another: {again}"
    );
    assert_eq!(captured(&t, GOOD), 9000);
    // A companion's ticket, on purpose: charged, and counted in the reply.
    let second = t.sms(GOOD, "r3", "10101+").await;
    assert!(
        text(&second).starts_with("Билет №") && text(&second).contains("Ваш 2-й билет"),
        "{second}"
    );
    assert_eq!(captured(&t, GOOD), 18_000);
    let third_try = t.sms(GOOD, "r4", "10101").await;
    assert!(text(&third_try).contains("3-й билет"), "{third_try}");
    assert_eq!(captured(&t, GOOD), 18_000);
    // Another bus is another ride.
    let other = t.sms(GOOD, "r5", "10102").await;
    assert!(text(&other).starts_with("Билет №"), "{other}");
    // Past the repeat window, the same bus can be paid again without a plus.
    t.clock
        .advance_ms(service::rides::REPEAT_WINDOW_MINUTES * 60_000 + 1);
    let later = t.sms(GOOD, "r6", "10101").await;
    assert!(
        text(&later).starts_with("Билет №") && !text(&later).contains("2-й"),
        "{later}"
    );
    assert_eq!(captured(&t, GOOD), 36_000);
    t.assert_ledger_balanced().await;
    t.assert_nothing_charged_twice().await;
}
on_both_stores!(
    a_repeated_sms_is_not_a_second_charge,
    a_repeated_sms_is_not_a_second_charge
);

async fn the_api_asks_before_a_second_ticket_on_the_same_bus(db: Db) {
    let t = spawn(db).await;
    let (status, first) = ask_ride(&t, "a1", "10101").await;
    assert_eq!(
        (status, first["ordinal_on_vehicle"].as_u64()),
        (201, Some(1))
    );
    let (status, repeat) = ask_ride(&t, "a2", "10101").await;
    assert_eq!(
        (status, repeat["code"].as_str()),
        (409, Some("TICKET_ALREADY_BOUGHT")),
        "{repeat}"
    );
    assert_eq!(repeat["ticket"]["number"], first["number"], "{repeat}");
    assert_eq!(repeat["tickets_held"], 1);
    // The refused key was not used up: the same request, on purpose, buys the ticket.
    let (status, second) = t.ride(GOOD, "10101", "a2", "en").await;
    assert_eq!(
        (status, second["ordinal_on_vehicle"].as_u64()),
        (201, Some(2)),
        "{second}"
    );
    // A retry of the first request still gets the first answer.
    let (status, replay) = ask_ride(&t, "a1", "10101").await;
    assert_eq!((status, &replay["number"]), (201, &first["number"]));
    assert_eq!(captured(&t, GOOD), 18_000);
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    the_api_asks_before_a_second_ticket_on_the_same_bus,
    the_api_asks_before_a_second_ticket_on_the_same_bus
);

async fn repeats_arriving_together_charge_once(db: Db) {
    let t = Arc::new(spawn(db).await);
    t.session(GOOD).await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let t = Arc::clone(&t);
        tasks.push(tokio::spawn(async move {
            let key = format!("burst-{i}");
            ask_ride(&t, &key, "10121").await.0
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(captured(&t, GOOD), 9000);
    t.assert_ledger_balanced().await;
    t.assert_nothing_charged_twice().await;
}
on_both_stores!(
    repeats_arriving_together_charge_once,
    repeats_arriving_together_charge_once
);

async fn a_zone_fare_is_never_guessed(db: Db) {
    let t = spawn(db).await;
    let bare = t.sms(GOOD, "z1", "13011").await;
    let listed = text(&bare);
    assert!(
        listed.contains("1 — 90 ₸, 2 — 200 ₸, 3 — 300 ₸, 4 — 400 ₸")
            && listed.contains("13011 4")
            && listed.contains("не списаны"),
        "{bare}"
    );
    assert_eq!(captured(&t, GOOD), 0);
    let (status, problem) = ask_ride(&t, "z-api", "13011").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("ZONE_REQUIRED"))
    );
    assert_eq!(problem["zones"][2]["zone"], 3, "{problem}");
    assert_eq!(problem["zones"][2]["fare"]["tiyn"], 30_000, "{problem}");
    let far = t.sms(GOOD, "z2", "13011 7").await;
    assert!(
        text(&far).contains("нет такой зоны") && text(&far).contains("4 — 400 ₸"),
        "{far}"
    );
    for (id, written) in [
        ("z3", "13011 з3"),
        ("z4", "13011-3+"),
        ("z5", "13011 zone 3+"),
    ] {
        let reply = t.sms(GOOD, id, written).await;
        assert!(
            text(&reply).contains("зона 3") && text(&reply).contains("300 ₸"),
            "{written}: {reply}"
        );
    }
    assert_eq!(captured(&t, GOOD), 90_000);
    let (status, ticket) = t
        .ride_with(
            GOOD,
            "z-api-3",
            Some("en"),
            serde_json::json!({"transport_code": "13011", "zone": 3, "additional": true}),
        )
        .await;
    assert_eq!(
        (status, ticket["zone"].as_u64()),
        (201, Some(3)),
        "{ticket}"
    );
    let page = t
        .call(Method::GET, ticket["link"].as_str().unwrap())
        .header("Accept-Language", "en")
        .send()
        .await
        .text();
    assert!(
        page.contains("301, zone 3"),
        "the ticket page names the zone"
    );
    let inspection = t.inspect(ticket["token"].as_str().unwrap(), "13011").await;
    assert_eq!(
        inspection["ticket"]["zone"], 3,
        "the controller sees the zone: {inspection}"
    );
    let (_, valid) = t.get_as(GOOD, "/v1/tickets/valid").await;
    assert!(
        valid["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|ticket| ticket["zone"] == 3),
        "{valid}"
    );
    t.assert_ledger_balanced().await;
}
on_both_stores!(a_zone_fare_is_never_guessed, a_zone_fare_is_never_guessed);

async fn a_failed_ride_reads_back_as_final(db: Db) {
    let t = spawn(db).await;
    let kcell = OperatorId::parse("kcell").unwrap();
    // The operator never answers `prepare`, and nothing can be looked up.
    t.sim
        .inject(&kcell, Endpoint::Prepare, Fault::Hang, 1)
        .unwrap();
    let (status, pending) = ask_ride(&t, "never", "10101").await;
    assert_eq!(status, 202, "{pending}");
    t.clock
        .advance_ms(service::phone_balance::PREPARE_SETTLE_MS + 1);
    let report = service::recovery::settle_unsettled(&t.app, 0)
        .await
        .unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let ride_id = pending["ride_id"].as_str().unwrap();
    let (status, read) = t.get_as(GOOD, &format!("/v1/rides/{ride_id}")).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["status"], "failed", "{read}");
    assert_eq!(read["code"], "OPERATOR_UNAVAILABLE", "{read}");
    let message = read["message"].as_str().unwrap();
    assert!(
        message.contains("новый запрос") && !message.contains("несколько минут"),
        "{read}"
    );
    // A retry under the same key is final too, never a "try again" 503.
    let (status, replay) = ask_ride(&t, "never", "10101").await;
    assert_eq!(
        (
            status,
            replay["code"].as_str(),
            replay["failure_code"].as_str()
        ),
        (409, Some("RIDE_FAILED"), Some("OPERATOR_UNAVAILABLE")),
        "{replay}"
    );
    // The problem's `status` stays its HTTP status (Schemathesis found it overwritten).
    assert_eq!(
        (&replay["status"], &replay["ride_status"]),
        (&serde_json::json!(409), &serde_json::json!("failed")),
        "{replay}"
    );
    // A new request pays.
    let (status, _) = ask_ride(&t, "next", "10101").await;
    assert_eq!(status, 201);
    t.assert_ledger_balanced().await;
    t.assert_nothing_charged_twice().await;
}
on_both_stores!(
    a_failed_ride_reads_back_as_final,
    a_failed_ride_reads_back_as_final
);

async fn put_catalogue(t: &TestApp, catalogue: &Value) -> (u16, Value) {
    let answer = t
        .call(Method::PUT, "/v1/admin/catalogue")
        .token(&t.admin)
        .body(catalogue.to_string())
        .send()
        .await;
    (answer.status, answer.body)
}

async fn refusals_say_what_really_happened(db: Db) {
    let t = spawn(db).await;
    let seed: Value =
        serde_json::from_str(include_str!("../../../smsbus/data/catalogue.json")).unwrap();
    // A bus taken out of service is not "no such code".
    let mut suspended = seed.clone();
    for vehicle in suspended["cities"][0]["vehicles"].as_array_mut().unwrap() {
        if vehicle["transport_code"] == "10102" {
            vehicle["active"] = Value::Bool(false);
        }
    }
    assert_eq!(put_catalogue(&t, &suspended).await.0, 200);
    let reply = t.sms(GOOD, "s1", "10102").await;
    assert!(text(&reply).contains("снят с линии"), "{reply}");
    let (status, problem) = ask_ride(&t, "s-api", "10102").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("VEHICLE_SUSPENDED"))
    );
    // A route no fare rule prices is refused at upload, and named.
    // (Shymkent prices its city routes only: a suburban route there has no zone fare.)
    let mut unpriced = seed.clone();
    let shymkent = unpriced["cities"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|city| city["id"] == "shymkent")
        .unwrap();
    shymkent["routes"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "id": "shymkent-999", "number": "999", "name": "Nowhere",
            "kind": "suburban", "max_ride_minutes": 60
        }));
    let (status, problem) = put_catalogue(&t, &unpriced).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("shymkent-999"),
        "{problem}"
    );
    // A Kazakh number with a digit missing is malformed, not foreign.
    let code = t
        .call(Method::POST, "/v1/auth/code")
        .json(serde_json::json!({"phone": "+7 701 123 45 6"}))
        .send()
        .await
        .body;
    assert_eq!(code["code"], "PHONE_MALFORMED", "{code}");
    // `ЕНГ` and `англ` mean English.
    for (id, word) in [("l1", "ЕНГ"), ("l2", "англ")] {
        let reply = t.sms(GOOD, id, word).await;
        assert_eq!(reply["text"], "Replies will now be in English.", "{word}");
    }
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    refusals_say_what_really_happened,
    refusals_say_what_really_happened
);

async fn any_smsc_message_id_pays_once(db: Db) {
    let t = spawn(db).await;
    for (id, bus) in [("id with spaces 1", "10101"), ("сообщение-№2", "10102")] {
        let reply = t.sms(GOOD, id, bus).await;
        assert!(text(&reply).starts_with("Билет №"), "{id}: {reply}");
        let again = t.sms(GOOD, id, bus).await;
        assert_eq!(
            (again["duplicate"].as_bool(), &again["text"]),
            (Some(true), &reply["text"])
        );
    }
    let long_id = "x".repeat(64);
    let reply = t.sms(GOOD, &long_id, "10121").await;
    assert!(text(&reply).starts_with("Билет №"), "{reply}");
    assert_eq!(captured(&t, GOOD), 27_000);
    // While the operator is slow, the SMS passenger is told the ticket comes by SMS.
    let kcell = OperatorId::parse("kcell").unwrap();
    t.sim
        .inject(&kcell, Endpoint::Confirm, Fault::Hang, 1)
        .unwrap();
    let pending = t.sms(GOOD, "p1", "13101").await;
    assert!(
        text(&pending).contains("SMS") && !text(&pending).contains("Действующие"),
        "{pending}"
    );
    t.assert_ledger_balanced().await;
    t.assert_nothing_charged_twice().await;
}
on_both_stores!(any_smsc_message_id_pays_once, any_smsc_message_id_pays_once);

async fn a_refused_capture_is_released_at_the_operator(db: Db) {
    let t = spawn(db).await;
    let kcell = OperatorId::parse("kcell").unwrap();
    let phone = domain::PhoneNumber::parse(GOOD).unwrap();
    // The capture is refused and the first cancel fails: the reservation is not released yet.
    t.sim
        .inject(&kcell, Endpoint::Confirm, Fault::Refuse, 1)
        .unwrap();
    t.sim
        .inject(&kcell, Endpoint::Cancel, Fault::Status(503), 1)
        .unwrap();
    let (status, refused) = ask_ride(&t, "refused", "10101").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (402, Some("PAYMENT_INSUFFICIENT_BALANCE")),
        "{refused}"
    );
    assert!(
        t.sim.held(&phone).is_positive(),
        "still held at the operator"
    );
    // Recovery asks the operator again until the hold is gone; the answer stays the refusal.
    let report = service::recovery::settle_unsettled(&t.app, 0)
        .await
        .unwrap();
    assert_eq!((report.examined, report.failed), (1, 1), "{report:?}");
    assert_eq!(t.sim.held(&phone).tiyn(), 0);
    assert_eq!(captured(&t, GOOD), 0);
    let (status, replay) = ask_ride(&t, "refused", "10101").await;
    assert_eq!(
        (status, replay["code"].as_str()),
        (402, Some("PAYMENT_INSUFFICIENT_BALANCE"))
    );
    assert_eq!(
        service::recovery::settle_unsettled(&t.app, 0)
            .await
            .unwrap()
            .examined,
        0
    );
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    a_refused_capture_is_released_at_the_operator,
    a_refused_capture_is_released_at_the_operator
);

async fn a_ticket_reads_as_sold_after_the_catalogue_changes(db: Db) {
    let t = spawn(db).await;
    let (status, ticket) = ask_ride(&t, "sold", "10102").await;
    assert_eq!(status, 201, "{ticket}");
    // The carrier moves the bus to another route and re-plates it.
    let mut moved: Value =
        serde_json::from_str(include_str!("../../../smsbus/data/catalogue.json")).unwrap();
    for vehicle in moved["cities"][0]["vehicles"].as_array_mut().unwrap() {
        if vehicle["transport_code"] == "10102" {
            vehicle["route"] = Value::from("astana-12");
            vehicle["plate"] = Value::from("999 ZZZ 01");
        }
    }
    assert_eq!(put_catalogue(&t, &moved).await.0, 200);
    let (_, valid) = t.get_as(GOOD, "/v1/tickets/valid").await;
    let shown = &valid["tickets"][0];
    assert_eq!(
        (&shown["route_number"], &shown["plate"]),
        (&ticket["route_number"], &ticket["plate"]),
        "{valid}"
    );
    assert_eq!(shown["plate"], "102 ABC 01");
}
on_both_stores!(
    a_ticket_reads_as_sold_after_the_catalogue_changes,
    a_ticket_reads_as_sold_after_the_catalogue_changes
);
