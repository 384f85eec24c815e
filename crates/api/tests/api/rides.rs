//! Paying rides from the phone balance over the API and by SMS, refusals, idempotency,
//! operator faults and recovery, and controllers checking the tickets.

use std::sync::Arc;

use domain::OperatorId;
use serde_json::Value;
use simulators::operator::{Endpoint, Fault};

use crate::harness::{Db, Method, TestApp, spawn};
use crate::on_both_stores;

const GOOD: &str = "+77011234567";

fn kcell() -> OperatorId {
    OperatorId::parse("kcell").unwrap()
}

fn captured(t: &TestApp, phone: &str) -> i64 {
    t.sim
        .captured_total(&domain::PhoneNumber::parse(phone).unwrap())
        .tiyn()
}

async fn a_ride_pays_and_the_ticket_verifies(db: Db) {
    let t = spawn(db).await;
    let (status, ticket) = t.ride(GOOD, "10101", "k1", "en").await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(ticket["fare"]["amount"], "90.00");
    assert_eq!(ticket["route_number"], "10");
    assert_eq!(ticket["plate"], "101 ABC 01");
    assert_eq!(ticket["valid"], true);
    assert_eq!(captured(&t, GOOD), 9000);
    let token = ticket["token"].as_str().unwrap();
    let check = t.inspect(token, "10101").await;
    assert_eq!(check["result"], "VALID", "{check}");
    assert_eq!(check["ticket"]["route_number"], "10");
    assert_eq!(check["ticket"]["fare"]["tiyn"], 9000);
    let (_, valid) = t.get_as(GOOD, "/v1/tickets/valid").await;
    assert_eq!(valid["tickets"].as_array().unwrap().len(), 1);
    let html = t
        .call(Method::GET, ticket["link"].as_str().unwrap())
        .send()
        .await
        .expect(200)
        .text();
    assert!(html.contains("<svg") && html.contains(ticket["check_number"].as_str().unwrap()));
    t.assert_ledger_balanced().await;
    t.assert_nothing_charged_twice().await;
}
on_both_stores!(
    a_ride_pays_and_the_ticket_verifies,
    a_ride_pays_and_the_ticket_verifies
);

async fn each_refusal_has_its_code_and_charges_nothing(db: Db) {
    let t = spawn(db).await;
    let cases = [
        ("+77010000001", "PAYMENT_CORPORATE_NUMBER"),
        ("+77010000002", "PAYMENT_UNPAID_TRUST"),
        ("+77010000003", "PAYMENT_NEVER_TOPPED_UP"),
        ("+77010000004", "PAYMENT_STARTING_BALANCE"),
        ("+77010000005", "PAYMENT_SIM_SWAPPED"),
        ("+77010000006", "PAYMENT_INSUFFICIENT_BALANCE"),
        ("+77771234567", "PAYMENT_NUMBER_UNKNOWN"),
    ];
    for (phone, code) in cases {
        for lang in ["kk", "ru", "en"] {
            let (status, body) = t
                .ride(phone, "10101", &format!("{phone}-{lang}"), lang)
                .await;
            assert!(
                (400..500).contains(&status) || status == 503,
                "{phone}: {status} {body}"
            );
            assert_eq!(body["code"], code, "{phone}");
            assert_eq!(body["language"], lang);
            assert!(!body["message"].as_str().unwrap().is_empty());
        }
        if let Ok(p) = domain::PhoneNumber::parse(phone) {
            assert_eq!(t.sim.captured_total(&p).tiyn(), 0, "{phone} was charged");
        }
    }
    // A Russian number cannot even sign in, and is told why.
    let foreign = t
        .call(Method::POST, "/v1/auth/code")
        .header("Accept-Language", "en")
        .json(serde_json::json!({"phone": "+79161234567"}))
        .expect(422)
        .await;
    assert_eq!(foreign["code"], "PHONE_FOREIGN");
    let (status, body) = t.ride(GOOD, "99999", "unknown", "kk").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("TRANSPORT_CODE_UNKNOWN"))
    );
    assert_eq!(captured(&t, GOOD), 0);
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    each_refusal_has_its_code_and_charges_nothing,
    each_refusal_has_its_code_and_charges_nothing
);

async fn sms_in_three_languages_with_plates_and_codes(db: Db) {
    let t = spawn(db).await;
    let reply = t.sms(GOOD, "m1", "10101").await;
    assert!(
        reply["text"].as_str().unwrap().starts_with("Билет №"),
        "{reply}"
    );
    let reply = t.sms(GOOD, "m2", "ENG").await;
    assert_eq!(reply["text"], "Replies will now be in English.");
    // One more ticket on the same bus is asked for with a plus; each reply counts it.
    for (id, plate, ordinal) in [
        ("m3", "101 ABC 01+", "2nd"),
        ("m4", "101авс01 +", "3rd"),
        ("m5", "+101 АВС 01", "4th"),
    ] {
        let reply = t.sms(GOOD, id, plate).await;
        assert!(
            reply["text"].as_str().unwrap().starts_with("Ticket "),
            "{plate}: {reply}"
        );
        assert!(
            reply["text"]
                .as_str()
                .unwrap()
                .contains(&format!("Your {ordinal} ticket on this bus")),
            "{plate}: {reply}"
        );
        assert!(
            reply["text"]
                .as_str()
                .unwrap()
                .contains("route 10, 101 ABC 01. 90 ₸")
        );
    }
    let reply = t.sms(GOOD, "m6", "КАЗ").await;
    assert_eq!(reply["text"], "Жауаптар енді қазақ тілінде болады.");
    let reply = t.sms(GOOD, "m7", "55555").await;
    assert!(
        reply["text"].as_str().unwrap().contains("Ақша алынбады"),
        "{reply}"
    );
    let reply = t.sms(GOOD, "m8", "please").await;
    assert!(reply["text"].as_str().unwrap().contains("2505"));
    let reply = t.sms(GOOD, "m9", "13011 4").await;
    assert!(reply["text"].as_str().unwrap().contains("400 ₸"), "{reply}");
    // The SMSC delivers m9 again: same reply, no second charge.
    let again = t.sms(GOOD, "m9", "13011 4").await;
    assert_eq!(again["text"], reply["text"]);
    assert_eq!(again["duplicate"], true);
    assert_eq!(captured(&t, GOOD), 9000 * 4 + 40_000);
    t.assert_ledger_balanced().await;
    t.assert_nothing_charged_twice().await;
}
on_both_stores!(
    sms_in_three_languages_with_plates_and_codes,
    sms_in_three_languages_with_plates_and_codes
);

async fn retries_are_idempotent_even_fifty_at_once(db: Db) {
    let t = Arc::new(spawn(db).await);
    let (_, first) = t.ride(GOOD, "10101", "same", "ru").await;
    let (status, second) = t.ride(GOOD, "10101", "same", "ru").await;
    assert_eq!(status, 201);
    assert_eq!(first["number"], second["number"]);
    let (status, other) = t.ride(GOOD, "10102", "same", "ru").await;
    assert_eq!(
        (status, other["code"].as_str()),
        (422, Some("IDEMPOTENCY_KEY_REUSED"))
    );
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let t = Arc::clone(&t);
        tasks.spawn(async move { t.ride(GOOD, "13101", "burst", "en").await });
    }
    let mut numbers = std::collections::HashSet::new();
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, 201, "{body}");
        numbers.insert(body["number"].as_i64().unwrap());
    }
    assert_eq!(numbers.len(), 1, "fifty retries, one ticket");
    assert_eq!(captured(&t, GOOD), 9000 + 18_000);
    t.assert_ledger_balanced().await;
    t.assert_nothing_charged_twice().await;
}
on_both_stores!(
    retries_are_idempotent_even_fifty_at_once,
    retries_are_idempotent_even_fifty_at_once
);

/// A new App on the same store: what a restarted process has.
async fn restarted(t: &TestApp) -> Arc<service::App> {
    service::App::start(
        t.store.clone(),
        Arc::clone(&t.app.billing),
        Arc::clone(&t.app.sim_swap),
        t.clock.clone(),
        t.app.settings.clone(),
    )
    .await
    .unwrap()
}

async fn a_crash_between_reserve_and_confirm_is_settled_once(db: Db) {
    let t = spawn(db).await;
    // The confirm never comes back, as if the process died right after sending it.
    t.sim
        .inject(&kcell(), Endpoint::Confirm, Fault::Hang, 1)
        .unwrap();
    let (status, pending) = t.ride(GOOD, "10101", "crash-1", "en").await;
    assert_eq!(
        (status, pending["code"].as_str()),
        (202, Some("PAYMENT_PENDING")),
        "{pending}"
    );
    assert_eq!(captured(&t, GOOD), 0);
    // The prepare's reply is lost and the lookup fails too: the ride stays `reserving`.
    t.sim
        .inject(&kcell(), Endpoint::Prepare, Fault::LostReplyHang, 1)
        .unwrap();
    t.sim
        .inject(&kcell(), Endpoint::ListPayments, Fault::Status(503), 1)
        .unwrap();
    let (status, _) = t.ride(GOOD, "10102", "crash-2", "en").await;
    assert_eq!(status, 202);
    let app = restarted(&t).await;
    let report = service::recovery::settle_unsettled(&app, 0).await.unwrap();
    assert_eq!((report.examined, report.issued), (2, 2), "{report:?}");
    assert_eq!(captured(&t, GOOD), 18_000);
    // Another pass finds nothing; the pending ride's status now shows the ticket.
    assert_eq!(
        service::recovery::settle_unsettled(&app, 0)
            .await
            .unwrap()
            .examined,
        0
    );
    let (status, ride) = t
        .get_as(
            GOOD,
            &format!("/v1/rides/{}", pending["ride_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200, "{ride}");
    assert_eq!(ride["fare"]["tiyn"], 9000);
    t.assert_ledger_balanced().await;
    t.assert_nothing_charged_twice().await;
}
on_both_stores!(
    a_crash_between_reserve_and_confirm_is_settled_once,
    a_crash_between_reserve_and_confirm_is_settled_once
);

async fn operator_faults_leave_balanced_books(db: Db) {
    let t = spawn(db).await;
    let op = kcell();
    // A lost confirm reply: the charge happened; we learn it and issue the ticket.
    t.sim
        .inject(&op, Endpoint::Confirm, Fault::LostReply, 1)
        .unwrap();
    assert_eq!(t.ride(GOOD, "10101", "lost-confirm", "en").await.0, 201);
    // A dropped connection mid-reply on prepare: looked up by correlator, then completed.
    t.sim
        .inject(&op, Endpoint::Prepare, Fault::LostReplyReset, 1)
        .unwrap();
    assert_eq!(t.ride(GOOD, "10101", "reset-prepare", "en").await.0, 201);
    // Slow but within the timeout.
    t.sim
        .inject(&op, Endpoint::Prepare, Fault::Latency { ms: 50 }, 1)
        .unwrap();
    assert_eq!(t.ride(GOOD, "10101", "latency", "en").await.0, 201);
    // 503 before processing: refused at once, nothing charged.
    t.sim
        .inject(&op, Endpoint::Prepare, Fault::Status(503), 1)
        .unwrap();
    let (status, body) = t.ride(GOOD, "10101", "unavailable", "en").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("OPERATOR_UNAVAILABLE"))
    );
    // 500 and a hang: outcome unknown, answered pending, settled by recovery as not charged.
    t.sim
        .inject(&op, Endpoint::Prepare, Fault::Status(500), 1)
        .unwrap();
    assert_eq!(t.ride(GOOD, "10101", "five-hundred", "en").await.0, 202);
    t.sim
        .inject(&op, Endpoint::Prepare, Fault::Hang, 1)
        .unwrap();
    assert_eq!(t.ride(GOOD, "10101", "hang", "en").await.0, 202);
    // A SIM swap check that fails: nothing reserved, clear answer.
    t.sim
        .inject(&op, Endpoint::SimSwapCheck, Fault::Status(502), 1)
        .unwrap();
    assert_eq!(
        t.ride(GOOD, "10101", "simswap-down", "en").await.1["code"],
        "OPERATOR_UNAVAILABLE"
    );
    t.clock
        .advance_ms(service::phone_balance::PREPARE_SETTLE_MS + 1);
    let report = service::recovery::settle_unsettled(&t.app, 0)
        .await
        .unwrap();
    assert_eq!((report.examined, report.failed), (2, 2), "{report:?}");
    assert_eq!(captured(&t, GOOD), 27_000);
    t.assert_ledger_balanced().await;
    t.assert_nothing_charged_twice().await;
    let (_, ledger) = t.get(&t.admin, "/v1/admin/ledger").await;
    assert_eq!(ledger["balanced"], true);
    let receivable = ledger["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account"] == "operator:kcell:receivable" && a["layer"] == "posted");
    assert_eq!(receivable.unwrap()["balance"]["tiyn"], 27_000);
}
on_both_stores!(
    operator_faults_leave_balanced_books,
    operator_faults_leave_balanced_books
);

async fn duplicate_correlator_replies_are_looked_up(db: Db) {
    let t = spawn(db).await;
    // The first prepare is processed but its reply lost; the retry is told "already exist".
    t.sim
        .inject(&kcell(), Endpoint::Prepare, Fault::LostReply, 1)
        .unwrap();
    t.sim
        .inject(&kcell(), Endpoint::Prepare, Fault::DuplicateReply, 1)
        .unwrap();
    let (status, body) = t.ride(GOOD, "10101", "dup", "en").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(captured(&t, GOOD), 9000);
    t.assert_ledger_balanced().await;
    t.assert_nothing_charged_twice().await;
}
on_both_stores!(
    duplicate_correlator_replies_are_looked_up,
    duplicate_correlator_replies_are_looked_up
);

fn flip(token: &str, at: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

async fn controllers_catch_bad_tickets(db: Db) {
    let t = spawn(db).await;
    let (_, ticket) = t.ride(GOOD, "10101", "c1", "en").await;
    let token = ticket["token"].as_str().unwrap().to_owned();
    assert_eq!(
        t.inspect(&token[..token.len() - 5], "10101").await["result"],
        "MALFORMED"
    );
    for at in (4..token.len()).step_by(7) {
        let verdict = t.inspect(&flip(&token, at), "10101").await["result"].clone();
        assert!(
            ["FORGED", "MALFORMED", "UNKNOWN_KEY"].contains(&verdict.as_str().unwrap()),
            "flip at {at}: {verdict}"
        );
    }
    assert_eq!(
        t.inspect(&flip(&token, token.len() - 20), "10101").await["result"],
        "FORGED"
    );
    assert_eq!(t.inspect("hello", "10101").await["result"], "MALFORMED");
    assert_eq!(t.inspect(&token, "10101").await["flagged_shared"], false);
    // The same ticket shown in another bus after its own: a shared screenshot.
    let wrong = t.inspect(&token, "10102").await;
    assert_eq!(wrong["result"], "WRONG_VEHICLE");
    assert_eq!(
        wrong["flag_reason"], "SHOWN_IN_TWO_VEHICLES",
        "seen in 10101 and 10102: {wrong}"
    );
    assert_eq!(wrong["ticket"]["transport_code"], "10101");
    // A ticket from another system's key.
    let other = spawn(db).await;
    let (_, foreign) = other.ride(GOOD, "10101", "c2", "en").await;
    assert_eq!(
        t.inspect(foreign["token"].as_str().unwrap(), "10101").await["result"],
        "UNKNOWN_KEY"
    );
    // Key rotation: the old ticket stays valid, new ones use the new key.
    let rotated = t
        .call(Method::POST, "/v1/admin/keys/rotate")
        .token(&t.admin)
        .send()
        .await
        .body;
    let new_kid = rotated["keys"][0]["kid"].as_str().unwrap().to_owned();
    // The new key is published at once but signs only after the lead time, so controllers
    // pick it up first; until then the old key signs.
    let (_, before) = t.ride(GOOD, "10121", "c2b", "en").await;
    let keys = t.call(Method::GET, "/v1/keys").send().await.body;
    let list = api::keys_wire::from_dto(&serde_json::from_value(keys).unwrap()).unwrap();
    assert_ne!(
        domain::ticket::authenticate(before["token"].as_str().unwrap(), &list)
            .unwrap()
            .claims()
            .key_id
            .to_string(),
        new_kid
    );
    t.clock
        .advance_ms(i64::try_from(service::keys::KEY_PUBLISH_LEAD_S).unwrap() * 1000 + 1_000);
    let keys = t.call(Method::GET, "/v1/keys").send().await.body;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
    assert_eq!(t.inspect(&token, "10101").await["result"], "VALID");
    let (_, fresh) = t.ride(GOOD, "10121", "c3", "en").await;
    let fresh_token = fresh["token"].as_str().unwrap();
    let list = api::keys_wire::from_dto(&serde_json::from_value(keys).unwrap()).unwrap();
    let claims = domain::ticket::authenticate(fresh_token, &list).unwrap();
    assert_eq!(claims.claims().key_id.to_string(), new_kid);
    // Refunded tickets are refused.
    {
        let mut tx = t.store.begin().await.unwrap();
        store::tickets::invalidate(
            &mut tx,
            domain::ticket::TicketNumber::try_from(fresh["number"].as_i64().unwrap()).unwrap(),
            "refunded",
            "a test refund",
            1,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(t.inspect(fresh_token, "10121").await["result"], "REFUNDED");
    // Past the route's maximum ride time the ticket has expired.
    t.clock.advance_ms(91 * 60_000);
    assert_eq!(t.inspect(&token, "10101").await["result"], "EXPIRED");
    let (_, valid) = t.get_as(GOOD, "/v1/tickets/valid").await;
    assert_eq!(valid["tickets"].as_array().unwrap().len(), 0);
    t.call(Method::POST, "/v1/inspections")
        .json(serde_json::json!({"token": token, "transport_code": "10101", "inspector": "x"}))
        .expect(401)
        .await;
}
on_both_stores!(controllers_catch_bad_tickets, controllers_catch_bad_tickets);

async fn history_is_paged_newest_first(db: Db) {
    let t = spawn(db).await;
    for i in 0..5 {
        assert_eq!(t.ride(GOOD, "10101", &format!("h{i}"), "en").await.0, 201);
        t.clock.advance_ms(1_000);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/v1/tickets/history?limit=2".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (_, page) = t.get_as(GOOD, &path).await;
        for ticket in page["tickets"].as_array().unwrap() {
            seen.push(ticket["issued_at"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted);
}
on_both_stores!(history_is_paged_newest_first, history_is_paged_newest_first);

async fn bad_requests_get_clear_problems(db: Db) {
    let t = spawn(db).await;
    let token = t.session(GOOD).await;
    let anonymous = t
        .call(Method::POST, "/v1/rides")
        .header("Idempotency-Key", "x")
        .json(serde_json::json!({"transport_code": "10101"}))
        .expect(401)
        .await;
    assert_eq!(anonymous["code"], "SIGN_IN_REQUIRED");
    let no_key = t
        .call(Method::POST, "/v1/rides")
        .token(&token)
        .json(serde_json::json!({"transport_code": "10101"}))
        .send()
        .await
        .expect(400);
    assert_eq!(no_key.headers["content-type"], "application/problem+json");
    assert_eq!(no_key.body["code"], "IDEMPOTENCY_KEY_MISSING");
    let body = t
        .call(Method::POST, "/v1/rides")
        .token(&token)
        .header("Idempotency-Key", "ключ".as_bytes())
        .json(serde_json::json!({"transport_code": "10101"}))
        .expect(400)
        .await;
    assert_eq!(
        body["code"], "BAD_REQUEST",
        "the key is there, but not ASCII"
    );
    assert!(body["detail"].as_str().unwrap().contains("ASCII"), "{body}");
    let body = t
        .call(Method::POST, "/v1/rides?lang=kk")
        .token(&token)
        .header("Idempotency-Key", "x")
        .header("content-type", "application/json")
        .body("{\"phone\": ")
        .expect(400)
        .await;
    assert_eq!(
        (body["code"].as_str(), body["language"].as_str()),
        (Some("BAD_REQUEST"), Some("kk"))
    );
    t.call(Method::POST, "/v1/rides")
        .token(&token)
        .header("Idempotency-Key", "x")
        .header("content-type", "application/json")
        .body(vec![b' '; 100_000])
        .expect(413)
        .await;
    let bad_phone = t
        .call(Method::POST, "/v1/auth/code")
        .json(serde_json::json!({"phone": "hello"}))
        .send()
        .await
        .body;
    assert_eq!(bad_phone["code"], "PHONE_MALFORMED");
    let (status, body) = t.ride(GOOD, "1x", "x", "en").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("TRANSPORT_CODE_MALFORMED"))
    );
    let wrong_method = t.call(Method::GET, "/v1/rides").expect(405).await;
    assert_eq!(wrong_method["code"], "METHOD_NOT_ALLOWED");
    let bad_limit = t
        .call(Method::GET, "/v1/tickets/history?limit=abc")
        .token(&token)
        .send()
        .await
        .expect(400);
    assert_eq!(
        bad_limit.headers["content-type"],
        "application/problem+json"
    );
    for limit in ["0", "-1", "101"] {
        let path = format!("/v1/tickets/history?limit={limit}");
        assert_eq!(t.get(&token, &path).await.0, 400, "limit={limit}");
    }
    let weighted = t
        .call(Method::GET, "/nowhere")
        .header("Accept-Language", "ru;q=0.1, en;q=0.9")
        .send()
        .await
        .body;
    assert_eq!(weighted["language"], "en");
    let (_, unknown_bus) = t
        .post(
            &t.controller,
            "/v1/inspections",
            serde_json::json!({"token": "SB1.x", "transport_code": "99999", "inspector": "ctl-1"}),
        )
        .await;
    assert_eq!(unknown_bus["code"], "TRANSPORT_CODE_UNKNOWN");
    let reply = t.sms(GOOD, "zone-5", "13011 5").await;
    assert!(
        reply["text"].as_str().unwrap().contains("нет такой зоны"),
        "{reply}"
    );
    t.call(Method::GET, "/nowhere").expect(404).await;
    t.call(Method::PUT, "/v1/admin/catalogue")
        .token(&t.admin)
        .body("{\"cities\": 5}")
        .expect(422)
        .await;
    let zone_zero = t.sms(GOOD, "zone-0", "13011 0").await;
    assert!(
        zone_zero["text"]
            .as_str()
            .unwrap()
            .contains("нет такой зоны"),
        "zone 0 is a bad zone, not another code: {zone_zero}"
    );
    let long = t.sms(GOOD, "long-1", &"привет ".repeat(400)).await;
    assert!(
        long["text"].as_str().unwrap().contains("2505"),
        "a long message gets the help text, not silence: {long}"
    );
    // A file naming one bus twice is refused whole.
    let seed: Value =
        serde_json::from_str(include_str!("../../../smsbus/data/catalogue.json")).unwrap();
    let mut twice = seed.clone();
    let vehicles = twice["cities"][0]["vehicles"].as_array_mut().unwrap();
    let first = vehicles[0].clone();
    vehicles.push(first);
    let body = t
        .call(Method::PUT, "/v1/admin/catalogue")
        .token(&t.admin)
        .body(twice.to_string())
        .expect(422)
        .await;
    assert!(body["detail"].as_str().unwrap().contains("twice"), "{body}");
    let metrics = t
        .call(Method::GET, "/metrics")
        .token(crate::harness::METRICS)
        .send()
        .await
        .text();
    assert!(
        metrics.contains("smsbus_http_requests_total{route=\"/v1/rides\",status=\"400\"}"),
        "{metrics}"
    );
    let openapi = t.call(Method::GET, "/openapi.json").send().await.body;
    assert_eq!(openapi["openapi"], "3.1.0");
}
on_both_stores!(
    bad_requests_get_clear_problems,
    bad_requests_get_clear_problems
);

async fn the_public_list_shows_published_fares(db: Db) {
    let t = spawn(db).await;
    let cities = t.call(Method::GET, "/v1/cities?lang=en").send().await.body;
    let city = |id: &str| {
        cities["cities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    let route = |city: &Value, number: &str| {
        city["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["number"] == number)
            .unwrap()
            .clone()
    };
    let astana = city("astana");
    assert_eq!(astana["name"], "Astana");
    assert_eq!(route(&astana, "10")["fare"]["amount"], "90.00");
    assert_eq!(route(&astana, "310")["fare"]["amount"], "180.00");
    let zones: Vec<String> = route(&astana, "301")["zone_fares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["fare"]["amount"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(zones, ["90.00", "200.00", "300.00", "400.00"]);
    for (id, fare) in [
        ("almaty", "80.00"),
        ("shymkent", "70.00"),
        ("kyzylorda", "90.00"),
        ("uralsk", "80.00"),
        ("taldykorgan", "80.00"),
        ("aktobe", "80.00"),
    ] {
        let c = city(id);
        assert_eq!(c["routes"][0]["fare"]["amount"], fare, "{id}");
    }
    // The pensioner pays the preferential Almaty fare.
    {
        let mut tx = t.store.begin().await.unwrap();
        store::passengers::set_rider_category(&mut tx, "+77021234567", "pensioner", "ru", 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let (_, ticket) = t.ride("+77021234567", "20032", "p1", "ru").await;
    assert_eq!(
        (
            ticket["fare"]["amount"].as_str(),
            ticket["rider_category"].as_str()
        ),
        (Some("40.00"), Some("pensioner"))
    );
}
on_both_stores!(
    the_public_list_shows_published_fares,
    the_public_list_shows_published_fares
);

async fn sign_in_by_sms_code(db: Db) {
    let t = spawn(db).await;
    let ask = |phone: &'static str| {
        t.call(Method::POST, "/v1/auth/code")
            .json(serde_json::json!({"phone": phone}))
    };
    ask("+77051234567").expect(202).await;
    let again = ask("+77051234567").send().await.body;
    assert_eq!(again["code"], "RATE_LIMITED");
    let mut conn = t.store.reader().await.unwrap();
    let sms = store::sms::pending_outbox(&mut conn, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.phone == "+77051234567")
        .unwrap();
    drop(conn);
    assert!(sms.body.starts_with("Код входа SMSBUS"), "{}", sms.body);
    let code: String = sms
        .body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let open = |code: &str| {
        t.call(Method::POST, "/v1/auth/session")
            .json(serde_json::json!({"phone": "+77051234567", "code": code}))
    };
    for _ in 0..service::sessions::SIGN_IN_ATTEMPTS_MAX {
        let refused = open(wrong).expect(401).await;
        assert_eq!(refused["code"], "SIGN_IN_CODE_INVALID");
    }
    // Five wrong guesses void the code, even the right one.
    open(&code).expect(401).await;
    // A new code after the resend interval; it expires after five minutes.
    t.clock.advance_ms(service::sessions::SIGN_IN_RESEND_MS);
    ask("+77051234567").expect(202).await;
    t.clock
        .advance_ms(service::sessions::SIGN_IN_CODE_TTL_MS + 1);
    let mut conn = t.store.reader().await.unwrap();
    let sms = store::sms::pending_outbox(&mut conn, 100)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .find(|m| m.phone == "+77051234567")
        .unwrap();
    drop(conn);
    let code: String = sms
        .body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    assert_eq!(open(&code).send().await.status, 401, "expired");
    // A session reaches only its own rides; signing out ends it.
    let token = t.session(GOOD).await;
    let (_, ticket) = t.ride(GOOD, "10101", "mine", "en").await;
    let other = t.session("+77071234567").await;
    let peek = format!("/v1/rides/{}", ticket["ride_id"].as_str().unwrap());
    assert_eq!(t.get(&other, &peek).await.0, 404);
    t.call(Method::DELETE, "/v1/auth/session")
        .token(&token)
        .expect(204)
        .await;
    assert_eq!(t.get(&token, "/v1/tickets/valid").await.0, 401);
}
on_both_stores!(sign_in_by_sms_code, sign_in_by_sms_code);

async fn a_revoked_ticket_is_refused_and_listed_for_offline_controllers(db: Db) {
    let t = spawn(db).await;
    let (_, kept) = t.ride(GOOD, "10101", "rv1", "en").await;
    let (_, revoked) = t.ride(GOOD, "10101", "rv2", "en").await;
    let check = revoked["check_number"].as_str().unwrap();
    let revoke = async |check: String, token: String, body: Value| {
        let path = format!("/v1/admin/tickets/{check}/revoke");
        t.post(&token, &path, body).await
    };
    let reason = serde_json::json!({"reason": "sold in error"});
    let (status, _) = revoke(check.to_owned(), t.controller.clone(), reason.clone()).await;
    assert_eq!(status, 403, "only the system operator revokes");
    let (status, body) = revoke(check.replace('-', " "), t.admin.clone(), reason.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "revoked");
    let (status, body) = revoke(check.to_owned(), t.admin.clone(), reason.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("TICKET_NOT_VALID"))
    );
    let (status, body) = revoke("0000-0000-0000".into(), t.admin.clone(), reason.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("NOT_FOUND")),
        "{body}"
    );
    let (status, body) = revoke("1234".into(), t.admin.clone(), reason).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("BAD_REQUEST")),
        "{body}"
    );
    let (status, _) = revoke(
        kept["check_number"].as_str().unwrap().into(),
        t.admin.clone(),
        serde_json::json!({"reason": " "}),
    )
    .await;
    assert_eq!(status, 400, "a reason is required");

    let token = revoked["token"].as_str().unwrap();
    assert_eq!(t.inspect(token, "10101").await["result"], "REVOKED");
    assert_eq!(
        t.inspect(kept["token"].as_str().unwrap(), "10101").await["result"],
        "VALID"
    );

    let list = async |after: Option<String>| {
        let path = match after {
            Some(after) => format!("/v1/controller/invalidations?after={after}"),
            None => "/v1/controller/invalidations".to_owned(),
        };
        t.call(Method::GET, &path)
            .token(&t.controller)
            .expect(200)
            .await
    };
    // Listed at once; the cursor stays before it until it has settled, so it comes again.
    let young = list(None).await;
    assert_eq!(
        young["invalidations"].as_array().unwrap().len(),
        1,
        "{young}"
    );
    let again = list(Some(young["next"].as_str().unwrap().to_owned())).await;
    assert_eq!(
        again["invalidations"].as_array().unwrap().len(),
        1,
        "{again}"
    );
    t.clock.advance_ms(service::revocations::SETTLE_MS);
    let page = list(None).await;
    let entries = page["invalidations"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{page}");
    assert_eq!(entries[0]["check_number"], check);
    assert_eq!(entries[0]["why"], "revoked");
    let next = page["next"].as_str().unwrap().to_owned();
    assert!(
        list(Some(next.clone())).await["invalidations"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The bus reaches its final stop: the kept ticket ends, and a synced device learns of it.
    service::tickets::end_run(&t.app, &domain::TransportCode::parse("10101").unwrap(), 0)
        .await
        .unwrap();
    t.clock.advance_ms(service::revocations::SETTLE_MS);
    let page = list(Some(next)).await;
    let entries = page["invalidations"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{page}");
    assert_eq!(entries[0]["check_number"], kept["check_number"]);
    assert_eq!(entries[0]["why"], "run_ended");

    let bad = "/v1/controller/invalidations?after=yesterday";
    assert_eq!(t.get(&t.controller, bad).await.0, 400);
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    a_revoked_ticket_is_refused_and_listed_for_offline_controllers,
    a_revoked_ticket_is_refused_and_listed_for_offline_controllers
);

/// The key id a ticket token was signed with, read from its claims via the published list.
async fn signed_by(t: &TestApp, token: &str) -> String {
    let keys = t.call(Method::GET, "/v1/keys").send().await.body;
    let list = api::keys_wire::from_dto(&serde_json::from_value(keys).unwrap()).unwrap();
    domain::ticket::authenticate(token, &list)
        .unwrap()
        .claims()
        .key_id
        .to_string()
}

async fn an_immediate_rotation_by_another_process_takes_over_at_once(db: Db) {
    let t = spawn(db).await;
    let (_, first) = t.ride(GOOD, "10101", "imm-1", "en").await;
    let old_kid = signed_by(&t, first["token"].as_str().unwrap()).await;
    // Another process on the same store (as `smsbus keys rotate` is): a routine rotation,
    // then an immediate one because the old key leaked.
    let cli = restarted(&t).await;
    service::keys::rotate(
        &cli,
        &service::staff::Actor::command_line(),
        service::keys::Rotation::Scheduled,
    )
    .await
    .unwrap();
    let urgent = service::keys::rotate(
        &cli,
        &service::staff::Actor::command_line(),
        service::keys::Rotation::Immediately,
    )
    .await
    .unwrap();
    t.clock.advance_ms(service::keys::SIGNER_RECHECK_MS);
    let (status, second) = t.ride(GOOD, "10101", "imm-2", "en").await;
    assert_eq!(status, 201, "{second}");
    let new_kid = signed_by(&t, second["token"].as_str().unwrap()).await;
    assert_ne!(new_kid, old_kid, "the leaked key must not sign any more");
    assert_eq!(new_kid, urgent.id().to_string());
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    an_immediate_rotation_by_another_process_takes_over_at_once,
    an_immediate_rotation_by_another_process_takes_over_at_once
);

async fn a_number_its_operator_does_not_know_is_told_so(db: Db) {
    let t = spawn(db).await;
    // A Beeline prefix, but Beeline has no such subscriber (never sold, or ported away).
    let reply = t.sms("+77771234567", "u-1", "10101").await;
    assert_eq!(
        reply["text"],
        domain::ErrorCode::PaymentNumberUnknown.message(domain::Language::Ru),
        "{reply}"
    );
    let (status, body) = t.ride("+77771234567", "10101", "u-2", "en").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (402, Some("PAYMENT_NUMBER_UNKNOWN")),
        "{body}"
    );
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    a_number_its_operator_does_not_know_is_told_so,
    a_number_its_operator_does_not_know_is_told_so
);

async fn a_caller_without_the_token_learns_only_that(db: Db) {
    let t = spawn(db).await;
    for (path, body) in [
        ("/v1/inspections", "{\"token\": 7"),
        ("/v1/sms/incoming", "not json"),
        ("/v1/admin/tickets/1234/revoke", "{}"),
        ("/v1/live/astana/positions", "not json"),
        ("/v1/live/astana/gtfs-rt", "not protobuf"),
    ] {
        let reply = t
            .call(Method::POST, path)
            .header("content-type", "application/json")
            .body(body)
            .expect(401)
            .await;
        assert_eq!(reply["code"], "UNAUTHORIZED");
    }
}
on_both_stores!(
    a_caller_without_the_token_learns_only_that,
    a_caller_without_the_token_learns_only_that
);

/// The gateway's fields are limited in characters, as the OpenAPI document's `maxLength` says
/// (Schemathesis found 64 Cyrillic letters refused: the limit counted bytes).
async fn sms_fields_are_limited_in_characters_not_bytes(db: Db) {
    let t = spawn(db).await;
    let reply = t.sms(GOOD, &"я".repeat(64), "HELP").await;
    assert!(reply.is_object(), "{reply}");
    t.call(Method::POST, "/v1/sms/incoming")
        .token(crate::harness::GATEWAY)
        .json(serde_json::json!({"smsc": "smsc-test", "message_id": "я".repeat(65), "sender": GOOD, "text": "HELP"}))
        .expect(400)
        .await;
}
on_both_stores!(
    sms_fields_are_limited_in_characters_not_bytes,
    sms_fields_are_limited_in_characters_not_bytes
);

async fn the_passengers_language_carries_over(db: Db) {
    let t = spawn(db).await;
    // Chosen by SMS: the sign-in code then comes in English too.
    t.sms(GOOD, "lang-1", "ENG").await;
    let (_, ticket) = t.ride(GOOD, "10101", "lang-2", "kk").await;
    let mut conn = t.store.reader().await.unwrap();
    let code_sms = store::sms::pending_outbox(&mut conn, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.phone == GOOD)
        .unwrap();
    assert!(
        code_sms.body.starts_with("SMSBUS sign-in code"),
        "{}",
        code_sms.body
    );
    // The ticket page opened without a language preference speaks the ride's language.
    let link = ticket["link"].as_str().unwrap();
    let page = t.call(Method::GET, link).send().await.text();
    assert!(
        page.contains("lang=\"kk\""),
        "{}",
        &page[..200.min(page.len())]
    );
    let asked = t
        .call(Method::GET, link)
        .header("accept-language", "en")
        .send()
        .await
        .text();
    assert!(asked.contains("lang=\"en\""));
}
on_both_stores!(
    the_passengers_language_carries_over,
    the_passengers_language_carries_over
);
