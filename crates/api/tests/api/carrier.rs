//! The carrier's desk and the reports (issue 14): a seeded month of rides on several carriers,
//! routes, both sources, with refunds and preferential fares, reported per carrier equal to
//! the ledger's carrier payables to the tiyn; a carrier sees none of another's report,
//! settlement, feedback or vehicles; replies reach the passenger by SMS in their language;
//! vehicles are added, suspended (and then cannot be paid for) and moved; stickers and the
//! month's PDF are served.

use std::collections::BTreeMap;

use domain::ledger::Account;
use domain::staff::Role;
use serde_json::{Value, json};
use service::clock::Clock;

use crate::harness::{Db, Method, TestApp, spawn};
use crate::on_both_stores;

const OWN: &str = "astana-avtobus-park-1";
const OTHER: &str = "astana-avtobus-park-3";
pub(crate) const PENSIONER: &str = "+77021234567";
pub(crate) const DAY_MS: i64 = 86_400_000;

/// The local date (UTC+5) of a time.
pub(crate) fn local_date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms + 5 * 3_600_000)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

async fn card_ride(t: &TestApp, card: &str, code: &str, key: &str) -> Value {
    let body = json!({"transport_code": code, "additional": true, "card": card});
    let (status, ticket) = t.ride_with(crate::cards::HOLDER, key, None, body).await;
    assert_eq!(status, 201, "{ticket}");
    ticket
}

/// The demo's pensioner is one here too (40 ₸ in Almaty, where the regular fare is 80 ₸).
pub(crate) async fn make_pensioner(t: &TestApp) {
    service::staff::set_rider_category(
        &t.app,
        &service::staff::Actor::command_line(),
        &domain::PhoneNumber::parse(PENSIONER).unwrap(),
        domain::catalogue::RiderCategory::Pensioner,
        domain::Language::Ru,
    )
    .await
    .unwrap();
}

/// Thirty days of rides: phones of three operators on five buses of three carriers, a card,
/// a pensioner in Almaty; then refunds of card rides and a revoked phone ride.
async fn seed_month(t: &TestApp) -> (String, String) {
    crate::cards::configure_bank(t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    make_pensioner(t).await;
    // A month of fares is more than the demo balances hold: top the phones up.
    for phone in ["+77011234567", "+77051234567", "+77071234567", PENSIONER] {
        let phone = domain::PhoneNumber::parse(phone).unwrap();
        assert!(
            t.sim
                .update_subscriber(&phone, |s| s.balance = domain::Tenge::from_whole(100_000))
        );
    }
    let card = crate::cards::open_card(t, crate::cards::HOLDER).await;
    crate::cards::pay(t, "month-1", &card, "20000").await;
    let first = local_date(t.clock.now_ms());
    let riders = [
        ("+77011234567", "10101"),
        ("+77051234567", "10102"),
        ("+77071234567", "13101"),
        ("+77011234567", "10121"),
        ("+77051234567", "13011"),
        ("+77071234567", "20092"),
    ];
    let mut card_checks = Vec::new();
    let mut phone_check = String::new();
    for day in 0..30 {
        let start = t.clock.now_ms();
        for (n, (phone, code)) in riders.iter().enumerate() {
            // Fewer rides on some days, so the days differ.
            if (day + n) % 4 == 3 {
                continue;
            }
            // The suburban bus is priced by zone: those rides go by SMS with their zone.
            if *code == "13011" {
                let reply = t
                    .sms(
                        phone,
                        &format!("m-{day}-{n}"),
                        &format!("13011 {}", day % 4 + 1),
                    )
                    .await;
                assert!(
                    reply["text"].as_str().unwrap().contains("301 KOS 01"),
                    "{reply}"
                );
            } else {
                let (status, ticket) = t.ride(phone, code, &format!("r-{day}-{n}"), "en").await;
                assert_eq!(status, 201, "{ticket}");
                if day == 4 && n == 0 {
                    phone_check = ticket["check_number"].as_str().unwrap().to_owned();
                }
            }
            t.clock.advance_ms(40 * 60_000);
        }
        let (status, ticket) = t.ride(PENSIONER, "20032", &format!("p-{day}"), "ru").await;
        assert_eq!(status, 201, "{ticket}");
        assert_eq!(ticket["fare"]["tiyn"], 4000, "{ticket}");
        let ticket = card_ride(
            t,
            &card,
            if day % 2 == 0 { "10121" } else { "10101" },
            &format!("c-{day}"),
        )
        .await;
        card_checks.push(ticket["check_number"].as_str().unwrap().to_owned());
        t.clock.advance_ms(start + DAY_MS - t.clock.now_ms());
    }
    // Refunds: three card rides back to the card, one phone ride revoked.
    let admin = t.staff_session("admin").await;
    for check in card_checks.iter().step_by(10) {
        let (status, body) = t
            .post(
                &admin,
                &format!("/v1/office/tickets/{check}/refund"),
                json!({"reason": "the bus broke down"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = t
        .post(
            &admin,
            &format!("/v1/admin/tickets/{phone_check}/revoke"),
            json!({"reason": "sold by mistake"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let last = local_date(t.clock.now_ms());
    (first, last)
}

fn tiyn(v: &Value) -> i64 {
    v["tiyn"].as_i64().unwrap()
}

async fn a_months_report_agrees_with_the_ledger_to_the_tiyn(db: Db) {
    let t = spawn(db).await;
    let (first, last) = seed_month(&t).await;
    t.assert_ledger_balanced().await;
    let admin = t.staff_session("admin").await;
    let (status, report) = t
        .get(&admin, &format!("/v1/reports/rides?from={first}&to={last}"))
        .await;
    assert_eq!(status, 200, "{report}");
    // What the ledger owes each carrier, posted (credits negative).
    let ledger = service::ledger::report(&t.app).await.unwrap();
    let owed: BTreeMap<String, i64> = ledger
        .accounts
        .iter()
        .filter_map(|a| match &a.account {
            Account::CarrierPayable(c) => Some((c.as_str().to_owned(), -a.posted.tiyn())),
            _ => None,
        })
        .collect();
    let reported: BTreeMap<String, i64> = report["by_carrier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["party"].as_str().unwrap().to_owned(), tiyn(&o["amount"])))
        .collect();
    assert_eq!(reported, owed);
    assert_eq!(owed.len(), 3, "{owed:?}");
    // The lines add up to the totals; every source and the refunds are there.
    let lines = report["lines"].as_array().unwrap();
    let rides: i64 = lines.iter().map(|l| l["rides"].as_i64().unwrap()).sum();
    let refunds: i64 = lines.iter().map(|l| l["refunds"].as_i64().unwrap()).sum();
    let payable: i64 = lines.iter().map(|l| tiyn(&l["payable"])).sum();
    assert_eq!(payable, owed.values().sum::<i64>());
    assert_eq!(tiyn(&report["total_payable"]), payable);
    assert_eq!(refunds, 4);
    assert!(rides > 150, "{rides}");
    let sources: Vec<&str> = report["by_source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["party"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["beeline", "kcell", "tele2", "card"]);
    // Operators and cards together owe exactly what we owe the carriers.
    let by_source: i64 = report["by_source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| tiyn(&o["amount"]))
        .sum();
    assert_eq!(by_source, payable);
    // The bank owes the card's top-up.
    assert_eq!(report["by_bank"][0]["party"], "kaspi");
    assert_eq!(tiyn(&report["by_bank"][0]["amount"]), 2_000_000);
    // Thirty pensioner rides at 40 ₸ where the regular fare is 80 ₸: the city owes 30 × 40 ₸.
    assert_eq!(report["subsidy"][0]["city"], "almaty");
    assert_eq!(report["subsidy"][0]["category"], "pensioner");
    assert_eq!(tiyn(&report["subsidy"][0]["amount"]), 30 * 4_000);
    assert_eq!(report["subsidy"][0]["estimated"], false);
    let days: std::collections::BTreeSet<&str> =
        lines.iter().map(|l| l["day"].as_str().unwrap()).collect();
    assert!(days.len() >= 30, "{}", days.len());
    // The carrier's own report and month agree with the ledger for it.
    t.add_staff("park-1", Role::Carrier, &[], &[OWN]).await;
    let manager = t.staff_session("park-1").await;
    let (status, own) = t
        .get(
            &manager,
            &format!("/v1/carriers/{OWN}/reports/rides?from={first}&to={last}"),
        )
        .await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(tiyn(&own["total_payable"]), owed[OWN]);
    assert!(
        own["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["carrier"] == OWN)
    );
    // A month's settlement sums that month's days only.
    let month = &first[..7];
    let (status, settled) = t
        .get(&manager, &format!("/v1/carriers/{OWN}/settlement/{month}"))
        .await;
    assert_eq!(status, 200, "{settled}");
    let in_month: i64 = own["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["day"].as_str().unwrap().starts_with(month))
        .map(|l| tiyn(&l["payable"]))
        .sum();
    assert_eq!(tiyn(&settled["total_payable"]), in_month);
    // CSV: a header and one row per line, its payable column summing to the same.
    let csv = t
        .call(
            Method::GET,
            &format!("/v1/reports/rides?from={first}&to={last}&format=csv"),
        )
        .token(&admin)
        .send()
        .await
        .expect(200);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text();
    let mut rows = csv.lines();
    assert_eq!(
        rows.next().unwrap(),
        "day,city,carrier,route,transport_code,source,category,rides,refunds,fares,refunded,payable,subsidy,subsidy_estimated"
    );
    let csv_payable: i64 = rows
        .map(|r| {
            let amount = r.split(',').nth(11).unwrap();
            match amount.strip_prefix('-') {
                Some(owed_back) => -domain::Tenge::parse_decimal(owed_back).unwrap().tiyn(),
                None => domain::Tenge::parse_decimal(amount).unwrap().tiyn(),
            }
        })
        .sum();
    assert_eq!(csv_payable, payable);
    assert_eq!(csv.lines().count(), lines.len() + 1);
    // The month's PDF.
    let pdf = t
        .call(
            Method::GET,
            &format!("/v1/carriers/{OWN}/settlement/{month}?format=pdf&lang=ru"),
        )
        .token(&manager)
        .send()
        .await
        .expect(200);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert!(pdf.bytes.starts_with(b"%PDF-1.4") && pdf.bytes.ends_with(b"%%EOF\n"));
}
on_both_stores!(
    a_months_report_agrees_with_the_ledger_to_the_tiyn,
    a_months_report_agrees_with_the_ledger_to_the_tiyn
);

async fn a_carrier_sees_nothing_of_another_carrier(db: Db) {
    let t = spawn(db).await;
    let (status, ticket) = t.ride("+77011234567", "10121", "other-1", "en").await;
    assert_eq!(status, 201, "{ticket}");
    t.add_staff("park-1", Role::Carrier, &[], &[OWN]).await;
    t.add_staff("office", Role::Office, &["almaty"], &[]).await;
    let manager = t.staff_session("park-1").await;
    let office = t.staff_session("office").await;
    let day = local_date(t.clock.now_ms());
    for path in [
        format!("/v1/carriers/{OTHER}/reports/rides?from={day}&to={day}"),
        format!("/v1/carriers/{OTHER}/settlement/{}", &day[..7]),
        format!("/v1/carriers/{OTHER}/feedback"),
        format!("/v1/carriers/{OTHER}/vehicles"),
        format!("/v1/carriers/{OTHER}/stickers"),
        format!("/v1/reports/rides?from={day}&to={day}"),
        format!("/v1/reports/rides?from={day}&to={day}&carrier={OTHER}"),
    ] {
        let (status, body) = t.get(&manager, &path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(
            body["code"] == "SCOPE_FORBIDDEN" || body["code"] == "ROLE_FORBIDDEN",
            "{path}: {body}"
        );
    }
    for (path, body) in [
        (
            format!("/v1/carriers/{OTHER}/vehicles/10121/suspend"),
            json!({}),
        ),
        (
            format!("/v1/carriers/{OTHER}/feedback/1/status"),
            json!({"status": "resolved"}),
        ),
    ] {
        let (status, answer) = t.post(&manager, &path, body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (403, Some("SCOPE_FORBIDDEN")),
            "{path}"
        );
    }
    // Another carrier's vehicle under one's own path is not found, and stays in service.
    let (status, _) = t
        .post(
            &manager,
            &format!("/v1/carriers/{OWN}/vehicles/10121/suspend"),
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    // The own report holds none of the other carrier's ride.
    let (status, own) = t
        .get(
            &manager,
            &format!("/v1/carriers/{OWN}/reports/rides?from={day}&to={day}"),
        )
        .await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(own["lines"], json!([]));
    // The office reads its own city's report, not another city's.
    let (status, body) = t
        .get(
            &office,
            &format!("/v1/reports/rides?from={day}&to={day}&city=astana"),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("SCOPE_FORBIDDEN"))
    );
    let (status, body) = t
        .get(
            &office,
            &format!("/v1/reports/rides?from={day}&to={day}&city=almaty"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Bad periods are refused in words.
    let admin = t.staff_session("admin").await;
    for query in [
        "from=2026-02-01&to=2026-01-01",
        "from=2025-01-01&to=2026-06-01",
        "from=2026-1-1&to=2026-01-02",
    ] {
        let (status, body) = t.get(&admin, &format!("/v1/reports/rides?{query}")).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("BAD_REQUEST")),
            "{query}"
        );
    }
}
on_both_stores!(
    a_carrier_sees_nothing_of_another_carrier,
    a_carrier_sees_nothing_of_another_carrier
);

async fn a_reply_reaches_the_passenger_by_sms_in_their_language(db: Db) {
    let t = spawn(db).await;
    let phone = "+77051234567";
    // The passenger reads replies in Kazakh.
    let reply = t.sms(phone, "lang-1", "КАЗ").await;
    assert!(
        reply.to_string().contains("қазақ") || !reply.is_null(),
        "{reply}"
    );
    let (status, ticket) = t.ride(phone, "10101", "fb-1", "kk").await;
    assert_eq!(status, 201, "{ticket}");
    let number = ticket["number"].as_i64().unwrap();
    let (status, _) = t.post_as(
        phone,
        "/v1/feedback",
        json!({"ticket_number": number, "service_rating": 2, "vehicle_rating": 3, "category": "late", "comment": "20 минут ждали"}),
    )
    .await;
    assert_eq!(status, 201);
    t.add_staff("park-1", Role::Carrier, &[], &[OWN]).await;
    let manager = t.staff_session("park-1").await;
    let (_, list) = t
        .get(&manager, &format!("/v1/carriers/{OWN}/feedback"))
        .await;
    let id = list["feedback"][0]["id"].as_i64().unwrap();
    assert_eq!(list["feedback"][0]["status"], "new");
    let (status, answered) = t
        .post(
            &manager,
            &format!("/v1/carriers/{OWN}/feedback/{id}/reply"),
            json!({"text": "Кешіріңіз, жүргізушіге ескерту жасалды."}),
        )
        .await;
    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["status"], "in_work");
    assert_eq!(answered["replies"][0]["author"], "park-1");
    let (_, outbox) = t.get(crate::harness::GATEWAY, "/v1/sms/outbox").await;
    let sms = outbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"] == phone)
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .find(|text| text.contains("жүргізушіге ескерту"))
        .expect("the reply is in the outbox");
    assert!(
        sms.contains(&format!("№{number}")) && sms.contains("тасымалдаушының"),
        "{sms}"
    );
    // Status: resolved; a stale or unknown status is refused; each change is audited.
    let (status, resolved) = t
        .post(
            &manager,
            &format!("/v1/carriers/{OWN}/feedback/{id}/status"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["status"], "resolved");
    let (status, _) = t
        .post(
            &manager,
            &format!("/v1/carriers/{OWN}/feedback/{id}/status"),
            json!({"status": "lost"}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = t
        .post(
            &manager,
            &format!("/v1/carriers/{OWN}/feedback/{id}/reply"),
            json!({"text": "x".repeat(301)}),
        )
        .await;
    assert_eq!(status, 400);
    let mut conn = t.store.reader().await.unwrap();
    let actions: Vec<String> = store::audit::page(&mut conn, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("feedback."))
        .collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
}
on_both_stores!(
    a_reply_reaches_the_passenger_by_sms_in_their_language,
    a_reply_reaches_the_passenger_by_sms_in_their_language
);

async fn a_carrier_adds_suspends_and_moves_its_vehicles(db: Db) {
    let t = spawn(db).await;
    t.add_staff("park-1", Role::Carrier, &[], &[OWN]).await;
    let manager = t.staff_session("park-1").await;
    let base = format!("/v1/carriers/{OWN}/vehicles");
    let (status, added) = t
        .post(
            &manager,
            &base,
            json!({"transport_code": "10109", "plate": "109 ABC 01", "route": "astana-12"}),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["active"], true);
    let (status, ticket) = t.ride("+77011234567", "10109", "new-bus", "en").await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(ticket["route_number"], "12");
    // Taken codes and plates, routes of another city, are refused.
    for (body, code) in [
        (
            json!({"transport_code": "10101", "plate": "999 ZZZ 01", "route": "astana-10"}),
            "VEHICLE_TAKEN",
        ),
        (
            json!({"transport_code": "10199", "plate": "101 ABC 01", "route": "astana-10"}),
            "VEHICLE_TAKEN",
        ),
        (
            json!({"transport_code": "10199", "plate": "199 ABC 01", "route": "almaty-32"}),
            "VEHICLE_ROUTE_INVALID",
        ),
    ] {
        let (_, refused) = t.post(&manager, &base, body).await;
        assert_eq!(refused["code"], code, "{refused}");
    }
    // Suspended: it cannot be paid for, by app or SMS; resumed, it can.
    let (status, suspended) = t
        .post(&manager, &format!("{base}/10109/suspend"), json!({}))
        .await;
    assert_eq!(status, 200, "{suspended}");
    assert_eq!(suspended["active"], false);
    let (status, refused) = t.ride("+77011234567", "10109", "new-bus-2", "en").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("VEHICLE_SUSPENDED")),
        "{refused}"
    );
    let (status, _) = t
        .post(&manager, &format!("{base}/10109/resume"), json!({}))
        .await;
    assert_eq!(status, 200);
    // Moved to route 10.
    let (status, moved) = t
        .post(
            &manager,
            &format!("{base}/10109/move"),
            json!({"route": "astana-10"}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["route"], "astana-10");
    let (status, ticket) = t.ride("+77011234567", "10109", "new-bus-3", "en").await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(ticket["route_number"], "10");
    let (_, listed) = t.get(&manager, &base).await;
    assert!(
        listed["vehicles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["transport_code"] == "10109")
    );
    // Stickers: every own vehicle on the SVG page, with its link; one vehicle's as PDF.
    let svg = t
        .call(Method::GET, &format!("/v1/carriers/{OWN}/stickers"))
        .token(&manager)
        .send()
        .await;
    assert_eq!(svg.headers["content-type"], "image/svg+xml; charset=utf-8");
    let svg = svg.text();
    for code in ["10101", "10102", "13101", "10109"] {
        assert!(svg.contains(&format!("data-code=\"{code}\"")), "{code}");
    }
    assert!(!svg.contains("data-code=\"10121\""));
    assert!(svg.contains("отправьте 10109 на номер 2505"));
    let pdf = t
        .call(
            Method::GET,
            &format!("/v1/carriers/{OWN}/stickers?format=pdf&vehicle=10109"),
        )
        .token(&manager)
        .send()
        .await;
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert!(pdf.bytes.starts_with(b"%PDF-1.4"));
    let mut conn = t.store.reader().await.unwrap();
    let actions: Vec<String> = store::audit::page(&mut conn, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("vehicle."))
        .collect();
    assert_eq!(actions.len(), 4, "{actions:?}");
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    a_carrier_adds_suspends_and_moves_its_vehicles,
    a_carrier_adds_suspends_and_moves_its_vehicles
);

/// A day of a report is the city's local day: a ride at 19:30 UTC is the next day in Astana
/// (UTC+5).
async fn a_reports_day_is_the_citys_local_day(db: Db) {
    let t = spawn(db).await;
    let now = t.clock.now_ms();
    let mut at = now.div_euclid(DAY_MS) * DAY_MS + 19 * 3_600_000 + 30 * 60_000;
    if at < now {
        at += DAY_MS;
    }
    t.clock.advance_ms(at - now);
    let (status, ticket) = t.ride("+77011234567", "10101", "late-evening", "en").await;
    assert_eq!(status, 201, "{ticket}");
    let utc_day = jiff::Timestamp::from_millisecond(at)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    let local_day = local_date(at);
    assert_ne!(utc_day, local_day);
    let admin = t.staff_session("admin").await;
    for (day, rides) in [(&utc_day, 0), (&local_day, 1)] {
        let (status, report) = t
            .get(
                &admin,
                &format!("/v1/reports/rides?from={day}&to={day}&city=astana"),
            )
            .await;
        assert_eq!(status, 200, "{report}");
        let counted: i64 = report["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["rides"].as_i64().unwrap())
            .sum();
        assert_eq!(counted, rides, "{day}: {report}");
        if rides == 1 {
            assert_eq!(report["lines"][0]["day"], local_day.as_str());
        }
    }
}
on_both_stores!(
    a_reports_day_is_the_citys_local_day,
    a_reports_day_is_the_citys_local_day
);
