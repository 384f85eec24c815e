//! Transport cards and bank top-ups (issue 12): a card's lifecycle through the passenger API,
//! rides paid from a card that never overdraw it (100 at once on a card holding 10 fares), the
//! SMS command naming a card by its last four digits, and the banks' check/pay biller protocol
//! — one credit for a `pay` repeated 100 times at once, strict sums, unknown and blocked
//! cards, a bank calling from an address it may not, a wrong secret.

use serde_json::{Value, json};

use crate::harness::{Db, Method, TestApp, spawn, spawn_with};
use crate::on_both_stores;

pub(crate) const HOLDER: &str = "+77011234567";
const BANK_SECRET: &str = "kaspi-test-secret-0001";

/// A server that takes 100 connections from one client at once (the bank's, the test's).
async fn spawn_wide(db: Db) -> TestApp {
    spawn_with(db, |s| s.connections.connections_per_client_max = 256).await
}

pub(crate) async fn open_card(t: &TestApp, phone: &str) -> String {
    let (status, card) = t
        .post_as(
            phone,
            "/v1/cards",
            json!({"kind": "regular", "holder_name": "Айгерим Серикова"}),
        )
        .await;
    assert_eq!(status, 201, "{card}");
    card["number"].as_str().unwrap().to_owned()
}

/// The holder's pupil's school card, opened: its body.
async fn open_school_card(t: &TestApp) -> Value {
    let (status, school) = t
        .post_as(
            HOLDER,
            "/v1/cards",
            json!({"kind": "school", "pupil_name": "Алихан", "school": "№ 12", "class": "3Б"}),
        )
        .await;
    assert_eq!(status, 201, "{school}");
    school
}

pub(crate) async fn configure_bank(t: &TestApp, id: &str, dialect: &str, networks: &str) {
    t.call(Method::PUT, &format!("/v1/admin/banks/{id}"))
        .token(&t.admin)
        .json(json!({"name": id.to_uppercase(), "dialect": dialect, "networks": networks, "secret": BANK_SECRET}))
        .expect(200)
        .await;
}

/// One biller request as a bank sends it: (HTTP status, body).
async fn biller(t: &TestApp, bank: &str, secret: &str, query: &[(&str, &str)]) -> (u16, String) {
    let answer = t
        .call(Method::GET, &format!("/v1/banks/{bank}/biller"))
        .token(secret)
        .query(query)
        .send()
        .await;
    (answer.status, answer.text())
}

pub(crate) async fn pay(t: &TestApp, txn_id: &str, account: &str, sum: &str) -> String {
    let (status, body) = biller(
        t,
        "kaspi",
        BANK_SECRET,
        &[
            ("command", "pay"),
            ("txn_id", txn_id),
            ("txn_date", "20261201120000"),
            ("account", account),
            ("sum", sum),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn result_of(xml: &str) -> i64 {
    let start = xml.find("<result>").unwrap() + "<result>".len();
    let end = xml.find("</result>").unwrap();
    xml[start..end].parse().unwrap()
}

async fn card(t: &TestApp, number: &str) -> Value {
    let (status, card) = t.get_as(HOLDER, &format!("/v1/cards/{number}")).await;
    assert_eq!(status, 200, "{card}");
    card
}

/// A ride on `vehicle` paid from the holder's card, asked for on purpose: (status, body).
pub(crate) async fn card_ride(t: &TestApp, card: &str, vehicle: &str, key: &str) -> (u16, Value) {
    let body = json!({"transport_code": vehicle, "additional": true, "card": card});
    t.ride_with(HOLDER, key, Some("en"), body).await
}

/// The mistyped number of a card: its last digit changed.
fn mistyped(number: &str) -> String {
    let mut digits: Vec<u8> = number.bytes().collect();
    let last = digits.last_mut().unwrap();
    *last = b'0' + (*last - b'0' + 1) % 10;
    String::from_utf8(digits).unwrap()
}

async fn a_card_lives_from_open_to_closed(db: Db) {
    let t = spawn(db).await;
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let first = open_card(&t, HOLDER).await;
    assert_eq!(first.len(), 16);
    let school = open_school_card(&t).await;
    assert_eq!(school["rider_category"], "school");
    let second = school["number"].as_str().unwrap().to_owned();
    // A school card without its pupil, a preferential one opened alone: refused.
    let (status, refused) = t
        .post_as(HOLDER, "/v1/cards", json!({"kind": "school"}))
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("CARD_FIELDS_INVALID"))
    );
    let (status, _) = t
        .post_as(HOLDER, "/v1/cards", json!({"kind": "preferential"}))
        .await;
    assert_eq!(status, 400);
    let (_, list) = t.get_as(HOLDER, "/v1/cards").await;
    assert_eq!(list["cards"].as_array().unwrap().len(), 2);
    assert_eq!(list["cards"][0]["balance"]["amount"], "0.00");
    // A typo is caught by the check digit, before any lookup; someone else sees nothing.
    let (status, refused) = t
        .get_as(HOLDER, &format!("/v1/cards/{}", mistyped(&first)))
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("CARD_NUMBER_MISTYPED"))
    );
    let (status, _) = t
        .get_as("+77051234567", &format!("/v1/cards/{first}"))
        .await;
    assert_eq!(status, 404);
    assert_eq!(result_of(&pay(&t, "1001", &first, "500.00").await), 0);
    assert_eq!(card(&t, &first).await["balance"]["amount"], "500.00");
    // Blocked: it pays nothing and takes no top-up.
    let (status, blocked) = t
        .post_as(HOLDER, &format!("/v1/cards/{first}/block"), json!({}))
        .await;
    assert_eq!((status, blocked["status"].as_str()), (200, Some("blocked")));
    let (status, refused) = card_ride(&t, &first, "10101", "blocked-1").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("CARD_BLOCKED"))
    );
    assert_eq!(result_of(&pay(&t, "1002", &first, "100").await), 5);
    let (status, active) = t
        .post_as(HOLDER, &format!("/v1/cards/{first}/unblock"), json!({}))
        .await;
    assert_eq!((status, active["status"].as_str()), (200, Some("active")));
    let (status, ticket) = card_ride(&t, &first, "10101", "ride-1").await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(ticket["fare"]["amount"], "90.00");
    assert_eq!(card(&t, &first).await["balance"]["amount"], "410.00");
    let (_, history) = t
        .get_as(HOLDER, &format!("/v1/cards/{first}/history"))
        .await;
    let kinds: Vec<&str> = history["movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["ride", "top_up"], "{history}");
    assert_eq!(history["movements"][0]["amount"]["amount"], "-90.00");
    // Closing a card that holds money needs another card of the holder's to take it.
    let (status, refused) = t
        .post_as(HOLDER, &format!("/v1/cards/{first}/close"), json!({}))
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("CARD_CLOSE_TARGET_REQUIRED"))
    );
    let (status, closed) = t
        .post_as(
            HOLDER,
            &format!("/v1/cards/{first}/close"),
            json!({"into": second}),
        )
        .await;
    assert_eq!(
        (status, closed["status"].as_str()),
        (200, Some("closed")),
        "{closed}"
    );
    assert_eq!(closed["balance"]["amount"], "0.00");
    assert_eq!(card(&t, &second).await["balance"]["amount"], "410.00");
    let (status, refused) = card_ride(&t, &first, "10101", "closed-1").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("CARD_CLOSED"))
    );
    let (status, refused) = t
        .post_as(HOLDER, &format!("/v1/cards/{first}/unblock"), json!({}))
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("CARD_MOVE_NOT_ALLOWED"))
    );
    assert_eq!(result_of(&pay(&t, "1003", &first, "100").await), 5);
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    a_card_lives_from_open_to_closed,
    a_card_lives_from_open_to_closed
);

async fn a_hundred_rides_on_ten_fares_pay_ten(db: Db) {
    let t = spawn_wide(db).await;
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let number = open_card(&t, HOLDER).await;
    assert_eq!(result_of(&pay(&t, "2001", &number, "900.00").await), 0);
    t.session(HOLDER).await;
    let rides = (0..100).map(|i| {
        let t = &t;
        let number = number.clone();
        async move { card_ride(t, &number, "10101", &format!("par-{i}")).await }
    });
    let answers = futures_util::future::join_all(rides).await;
    let paid = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused = answers
        .iter()
        .filter(|(s, b)| *s == 402 && b["code"] == "CARD_INSUFFICIENT_FUNDS")
        .count();
    assert_eq!((paid, refused), (10, 90), "{answers:?}");
    let shown = card(&t, &number).await;
    assert_eq!(shown["balance"]["tiyn"], 0);
    assert_eq!(shown["held"]["tiyn"], 0);
    let (status, refused) = card_ride(&t, &number, "10101", "one-more").await;
    assert_eq!(status, 402);
    for language in ["kk", "ru", "en"] {
        assert!(
            !refused["message"].as_str().unwrap().is_empty(),
            "{language}"
        );
    }
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    a_hundred_rides_on_ten_fares_pay_ten,
    a_hundred_rides_on_ten_fares_pay_ten
);

async fn an_sms_names_the_card_by_its_last_four_digits(db: Db) {
    let t = spawn(db).await;
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let number = open_card(&t, HOLDER).await;
    assert_eq!(result_of(&pay(&t, "3001", &number, "100").await), 0);
    let four = &number[12..];
    let reply = t.sms(HOLDER, "m-1", &format!("10101 к{four}")).await;
    let text = reply["text"].as_str().unwrap_or_default().to_owned();
    assert!(text.contains("90"), "{reply}");
    assert!(
        text.contains(&format!("с карты •••• {four}")),
        "the card that paid: {reply}"
    );
    assert_eq!(card(&t, &number).await["balance"]["amount"], "10.00");
    // Not enough left, and a card the sender does not hold.
    let reply = t.sms(HOLDER, "m-2", &format!("10101+ c{four}")).await;
    assert!(reply["text"].as_str().unwrap().contains("карт"), "{reply}");
    let other = if four == "0000" { "1111" } else { "0000" };
    let reply = t.sms(HOLDER, "m-3", &format!("10101+ card {other}")).await;
    assert!(!reply["text"].as_str().unwrap().is_empty());
    assert_eq!(card(&t, &number).await["balance"]["amount"], "10.00");
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    an_sms_names_the_card_by_its_last_four_digits,
    an_sms_names_the_card_by_its_last_four_digits
);

async fn a_pay_sent_a_hundred_times_credits_once(db: Db) {
    let t = spawn_wide(db).await;
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let number = open_card(&t, HOLDER).await;
    let pays = (0..100).map(|_| pay(&t, "777000111", &number, "500.00"));
    let answers = futures_util::future::join_all(pays).await;
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(result_of(&answers[0]), 0);
    assert!(answers[0].contains("<prv_txn_id>"), "{}", answers[0]);
    assert!(answers[0].contains("А*** С***"), "{}", answers[0]);
    assert_eq!(card(&t, &number).await["balance"]["amount"], "500.00");
    assert_eq!(service::banks::top_ups_booked(&t.app).await.unwrap(), 1);
    // A later repeat: the same first answer.
    assert_eq!(pay(&t, "777000111", &number, "500.00").await, answers[0]);
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    a_pay_sent_a_hundred_times_credits_once,
    a_pay_sent_a_hundred_times_credits_once
);

async fn the_biller_refuses_what_it_must(db: Db) {
    let t = spawn(db).await;
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    configure_bank(&t, "halyk", "osmp", "127.0.0.1, ::1").await;
    configure_bank(&t, "faraway", "kaspi", "10.20.0.0/16").await;
    let number = open_card(&t, HOLDER).await;
    // Check: the card is there, with the display fields; nothing is credited.
    let (status, checked) = biller(
        &t,
        "kaspi",
        BANK_SECRET,
        &[
            ("command", "check"),
            ("txn_id", "9001"),
            ("account", &number),
            ("sum", "200.00"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(result_of(&checked), 0, "{checked}");
    assert!(
        checked.contains("card_kind") && checked.contains("regular"),
        "{checked}"
    );
    for (i, bad) in ["200,00", "-5", "1e3", "12345678901234567890", "", "200.001"]
        .iter()
        .enumerate()
    {
        let answer = pay(&t, &format!("bad-{i}"), &number, bad).await;
        assert_eq!(result_of(&answer), 5, "{bad}: {answer}");
        let (_, osmp) = biller(
            &t,
            "halyk",
            BANK_SECRET,
            &[
                ("command", "pay"),
                ("txn_id", &format!("bad-{i}")),
                ("txn_date", "20261201120000"),
                ("account", &number),
                ("sum", bad),
            ],
        )
        .await;
        assert_eq!(result_of(&osmp), 300, "{bad}: {osmp}");
    }
    let (_, small) = biller(
        &t,
        "halyk",
        BANK_SECRET,
        &[
            ("command", "pay"),
            ("txn_id", "s1"),
            ("txn_date", "20261201120000"),
            ("account", &number),
            ("sum", "10"),
        ],
    )
    .await;
    assert_eq!(result_of(&small), 241);
    let (_, large) = biller(
        &t,
        "halyk",
        BANK_SECRET,
        &[
            ("command", "pay"),
            ("txn_id", "s2"),
            ("txn_date", "20261201120000"),
            ("account", &number),
            ("sum", "60000"),
        ],
    )
    .await;
    assert_eq!(result_of(&large), 242);
    // Up to the maximum balance, not beyond.
    assert_eq!(result_of(&pay(&t, "max-1", &number, "50000").await), 0);
    assert_eq!(result_of(&pay(&t, "max-2", &number, "50000").await), 0);
    assert_eq!(result_of(&pay(&t, "max-3", &number, "50").await), 5);
    // An unknown card (a valid number nobody holds) is result 1; a mistyped one too.
    let unknown = domain::card::CardNumber::issue(12_345).as_str().to_owned();
    assert_eq!(result_of(&pay(&t, "u1", &unknown, "100").await), 1);
    assert_eq!(
        result_of(&pay(&t, "u2", &mistyped(&number), "100").await),
        1
    );
    let (_, osmp) = biller(
        &t,
        "halyk",
        BANK_SECRET,
        &[
            ("command", "pay"),
            ("txn_id", "u3"),
            ("txn_date", "20261201120000"),
            ("account", &unknown),
            ("sum", "100"),
        ],
    )
    .await;
    assert_eq!(result_of(&osmp), 5);
    // A wrong secret, a bank calling from outside its networks, a bank nobody configured.
    let (status, _) = biller(
        &t,
        "kaspi",
        "not-the-secret-at-all",
        &[
            ("command", "check"),
            ("txn_id", "1"),
            ("account", &number),
            ("sum", "100"),
        ],
    )
    .await;
    assert_eq!(status, 401);
    let (status, refused) = biller(
        &t,
        "faraway",
        BANK_SECRET,
        &[
            ("command", "check"),
            ("txn_id", "1"),
            ("account", &number),
            ("sum", "100"),
        ],
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.contains("BANK_SOURCE_NOT_ALLOWED"));
    let (status, _) = biller(&t, "nobank", BANK_SECRET, &[("command", "check")]).await;
    assert_eq!(status, 404);
    assert_eq!(card(&t, &number).await["balance"]["amount"], "100000.00");
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    the_biller_refuses_what_it_must,
    the_biller_refuses_what_it_must
);

async fn a_bank_behind_the_trusted_proxy_is_told_by_forwarded_for(db: Db) {
    let t = spawn_with(db, |s| {
        s.trusted_proxies = api::TrustedProxies::parse("127.0.0.1, ::1").unwrap();
    })
    .await;
    configure_bank(&t, "kaspi", "kaspi", "192.0.2.0/24").await;
    let number = open_card(&t, HOLDER).await;
    let ask = |from: &'static str| {
        t.call(Method::GET, "/v1/banks/kaspi/biller")
            .token(BANK_SECRET)
            .header("X-Forwarded-For", from)
            .query(&[
                ("command", "check"),
                ("txn_id", "1"),
                ("account", number.as_str()),
                ("sum", "100"),
            ])
    };
    ask("192.0.2.7").expect(200).await;
    ask("198.51.100.7").expect(403).await;
}
on_both_stores!(
    a_bank_behind_the_trusted_proxy_is_told_by_forwarded_for,
    a_bank_behind_the_trusted_proxy_is_told_by_forwarded_for
);

async fn the_bank_simulator_checks_then_pays_once_however_often_it_delivers(db: Db) {
    let t = spawn_wide(db).await;
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let number = open_card(&t, HOLDER).await;
    let bank = simulators::bank::BankSimulator::new(
        &t.base,
        "kaspi",
        BANK_SECRET,
        std::time::Duration::from_secs(15),
    )
    .unwrap()
    .with_duplicates(4);
    let top_up = bank.top_up(&number, "500", "20261201120000").await.unwrap();
    assert_eq!(top_up.check.result, 0);
    assert_eq!(top_up.check.field("holder"), Some("А*** С***"));
    let pay = top_up.pay.unwrap();
    assert_eq!((pay.result, pay.sum.as_str()), (0, "500.00"));
    assert_eq!(card(&t, &number).await["balance"]["amount"], "500.00");
    assert_eq!(service::banks::top_ups_booked(&t.app).await.unwrap(), 1);
    // A refused check pays nothing and leaves the registry alone.
    let refused = bank
        .top_up(&mistyped(&number), "500", "20261201120000")
        .await
        .unwrap();
    assert_eq!((refused.check.result, refused.pay), (1, None));
    let csv = bank.registry_csv();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.ends_with("total;1;500.00\n"), "{csv}");
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    the_bank_simulator_checks_then_pays_once_however_often_it_delivers,
    the_bank_simulator_checks_then_pays_once_however_often_it_delivers
);

async fn a_card_ride_refunded_twice_is_refunded_once(db: Db) {
    let t = spawn(db).await;
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let number = open_card(&t, HOLDER).await;
    assert_eq!(result_of(&pay(&t, "5001", &number, "200").await), 0);
    let (status, ticket) = card_ride(&t, &number, "10101", "refund-1").await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(card(&t, &number).await["balance"]["amount"], "110.00");
    let check = ticket["check_number"].as_str().unwrap().to_owned();
    let path = format!("/v1/office/tickets/{check}/refund");
    let refund = || t.post(&t.admin, &path, json!({"reason": "the bus broke down"}));
    let (first, second) = tokio::join!(refund(), refund());
    let mut statuses = [first.0, second.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(card(&t, &number).await["balance"]["amount"], "200.00");
    let inspected = t.inspect(ticket["token"].as_str().unwrap(), "10101").await;
    assert!(inspected.to_string().contains("REFUNDED"), "{inspected}");
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    a_card_ride_refunded_twice_is_refunded_once,
    a_card_ride_refunded_twice_is_refunded_once
);

async fn a_preferential_card_is_approved_at_the_office(db: Db) {
    let t = spawn(db).await;
    let (status, applied) = t.post_as(HOLDER, "/v1/card-applications", json!({ "city": "astana", "category": "pensioner", "full_name": "Бауыржан Омаров", "document_kind": "pension certificate", "document_number": "ПУ-123456"}))
    .await;
    assert_eq!(status, 201, "{applied}");
    let id = applied["id"].as_i64().unwrap();
    let (status, second) = t.post_as(HOLDER, "/v1/card-applications", json!({ "city": "astana", "category": "student", "full_name": "Бауыржан Омаров", "document_kind": "student card", "document_number": "S-77"}))
    .await;
    assert_eq!(status, 201, "{second}");
    let (status, _) = t.post_as(HOLDER, "/v1/card-applications", json!({ "city": "astana", "category": "regular", "full_name": "x", "document_kind": "x", "document_number": "x"}))
    .await;
    assert_eq!(status, 400);
    // The office of Astana sees and decides them; the office of Almaty sees none and may not.
    t.add_staff(
        "office-astana",
        domain::staff::Role::Office,
        &["astana"],
        &[],
    )
    .await;
    t.add_staff(
        "office-almaty",
        domain::staff::Role::Office,
        &["almaty"],
        &[],
    )
    .await;
    let office = t.staff_session("office-astana").await;
    let elsewhere = t.staff_session("office-almaty").await;
    let (_, far) = t.get(&elsewhere, "/v1/office/card-applications").await;
    assert_eq!(far["applications"].as_array().unwrap().len(), 0, "{far}");
    let approval = json!({"document_kind": "pension certificate", "document_number": "ПУ-123456", "valid_until": "2030-12-31"});
    let approve_path = format!("/v1/office/card-applications/{id}/approve");
    let (status, refused) = t.post(&elsewhere, &approve_path, approval.clone()).await;
    assert_eq!(status, 403);
    assert_eq!(refused["code"], "SCOPE_FORBIDDEN", "{refused}");
    let (_, queue) = t
        .get(&office, "/v1/office/card-applications?q=омаров")
        .await;
    assert_eq!(
        queue["applications"].as_array().unwrap().len(),
        2,
        "{queue}"
    );
    let approve = || t.post(&office, &approve_path, approval.clone());
    let (_, approved) = approve().await;
    assert_eq!(approved["status"], "approved", "{approved}");
    let number = approved["card"].as_str().unwrap().to_owned();
    assert_eq!(approve().await.0, 409);
    let (status, rejected) = t
        .post(
            &t.admin,
            &format!("/v1/office/card-applications/{}/reject", second["id"]),
            json!({"reason": "the student card has expired"}),
        )
        .await;
    assert_eq!(status, 200, "{rejected}");
    let shown = card(&t, &number).await;
    assert_eq!(
        (
            shown["kind"].as_str(),
            shown["rider_category"].as_str(),
            shown["status"].as_str()
        ),
        (Some("preferential"), Some("pensioner"), Some("active"))
    );
    // The passenger is told both decisions by SMS, and the audit trail has both.
    let mut conn = t.store.reader().await.unwrap();
    let told: Vec<String> = store::sms::pending_outbox(&mut conn, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.phone == HOLDER)
        .map(|m| m.body)
        .collect();
    assert!(told.iter().any(|b| b.contains("одобрена")), "{told:?}");
    assert!(
        told.iter()
            .any(|b| b.contains("the student card has expired")),
        "{told:?}"
    );
    let (_, audit) = t.get(&t.admin, "/v1/admin/audit").await;
    let actions = audit.to_string();
    assert!(
        actions.contains("card_application.approve") && actions.contains("card_application.reject")
    );
    let (_, mine) = t.get_as(HOLDER, "/v1/card-applications").await;
    assert_eq!(mine["applications"].as_array().unwrap().len(), 2);
    // The card pays its category's fare: a pensioner's 40 ₸ in Almaty, where the holder's own
    // phone balance pays the regular 80 ₸.
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    assert_eq!(result_of(&pay(&t, "6001", &number, "100").await), 0);
    let ride = async |key: &'static str, card: Option<&str>| {
        let mut body = json!({"transport_code": "20032", "additional": true});
        if let Some(card) = card {
            body["card"] = json!(card);
        }
        t.ride_with(HOLDER, key, None, body).await.1
    };
    let from_card = ride("almaty-card", Some(&number)).await;
    assert_eq!(from_card["fare"]["amount"], "40.00", "{from_card}");
    assert_eq!(from_card["rider_category"], "pensioner");
    let from_phone = ride("almaty-phone", None).await;
    assert_eq!(from_phone["fare"]["amount"], "80.00", "{from_phone}");
    assert_eq!(card(&t, &number).await["balance"]["amount"], "60.00");
    // The status ends with the document: a card approved until today pays the regular fare
    // from tomorrow on.
    let (_, third) = t.post_as(HOLDER, "/v1/card-applications", json!({ "city": "astana", "category": "pensioner", "full_name": "Бауыржан Омаров", "document_kind": "pension certificate", "document_number": "ПУ-1"}))
    .await;
    let today = jiff::Timestamp::from_millisecond(t.app.now_ms())
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(5)))
        .date()
        .to_string();
    let (_, short) = t
        .post(
            &t.admin,
            &format!("/v1/office/card-applications/{}/approve", third["id"]),
            json!({"document_kind": "pension certificate", "document_number": "ПУ-1", "valid_until": today}),
        )
        .await;
    let short_card = short["card"].as_str().unwrap().to_owned();
    assert_eq!(result_of(&pay(&t, "6002", &short_card, "200").await), 0);
    let today_ride = ride("short-1", Some(&short_card)).await;
    assert_eq!(today_ride["fare"]["amount"], "40.00", "{today_ride}");
    t.clock.advance_ms(2 * 86_400_000);
    let later_ride = ride("short-2", Some(&short_card)).await;
    assert_eq!(later_ride["fare"]["amount"], "80.00", "{later_ride}");
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    a_preferential_card_is_approved_at_the_office,
    a_preferential_card_is_approved_at_the_office
);

async fn a_parent_is_told_once_when_a_school_card_runs_low(db: Db) {
    let t = spawn(db).await;
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let school = open_school_card(&t).await;
    let number = school["number"].as_str().unwrap().to_owned();
    assert_eq!(result_of(&pay(&t, "7001", &number, "200").await), 0);
    for key in ["low-1", "low-2"] {
        let (status, ticket) = card_ride(&t, &number, "10101", key).await;
        assert_eq!(status, 201, "{ticket}");
    }
    let mut conn = t.store.reader().await.unwrap();
    let told: Vec<String> = store::sms::pending_outbox(&mut conn, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.phone == HOLDER && m.body.contains("school card"))
        .map(|m| m.body)
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("Алихан") && told[0].contains("110.00"),
        "{told:?}"
    );
}
on_both_stores!(
    a_parent_is_told_once_when_a_school_card_runs_low,
    a_parent_is_told_once_when_a_school_card_runs_low
);
