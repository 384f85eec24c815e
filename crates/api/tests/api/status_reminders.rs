//! The SMS before a preferential status ends (issue 12): told once per card and end date —
//! also when two passes run at once —, never for a card without an end date, and told again
//! after a renewal at the office sets a new end date; the pay screen's quote of every card, a
//! city's place and categories, a card's history page by page.

use serde_json::{Value, json};
use service::status_reminders::{ReminderPolicy, remind_ending};

use crate::cards::{HOLDER, open_card};
use crate::harness::{Db, Method, TestApp, spawn};
use crate::on_both_stores;

const DAY_MS: i64 = 86_400_000;

/// The date `days` from the test clock's today, in Kazakhstan.
fn date_in(t: &TestApp, days: i64) -> String {
    jiff::Timestamp::from_millisecond(t.app.now_ms() + days * DAY_MS)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(5)))
        .date()
        .to_string()
}

/// Applies for a pensioner's card and has the admin approve it until `valid_until`.
async fn approved_until(t: &TestApp, valid_until: &str) -> String {
    let (status, applied) = t
        .post_as(
            HOLDER,
            "/v1/card-applications",
            json!({"city": "astana", "category": "pensioner", "full_name": "Бауыржан Омаров",
            "document_kind": "pension certificate", "document_number": "ПУ-123456"}),
        )
        .await;
    assert_eq!(status, 201, "{applied}");
    // Signed in afresh: the clock may have moved past the last session's end.
    let admin = t.staff_session("admin").await;
    let (_, approved) = t
        .post(
            &admin,
            &format!("/v1/office/card-applications/{}/approve", applied["id"]),
            json!({"document_kind": "pension certificate", "document_number": "ПУ-123456",
            "valid_until": valid_until}),
        )
        .await;
    assert_eq!(approved["status"], "approved", "{approved}");
    approved["card"].as_str().unwrap().to_owned()
}

/// The reminders the holder was sent, oldest first.
async fn reminders(t: &TestApp) -> Vec<String> {
    let mut conn = t.store.reader().await.unwrap();
    store::sms::pending_outbox(&mut conn, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.phone == HOLDER && m.body.contains("жеңілдігі"))
        .map(|m| m.body)
        .collect()
}

async fn a_holder_is_told_once_before_the_status_ends_and_again_after_a_renewal(db: Db) {
    let t = spawn(db).await;
    let policy = ReminderPolicy::new(14).unwrap();
    let regular = open_card(&t, HOLDER).await;
    {
        let mut tx = t.store.begin().await.unwrap();
        store::passengers::set_language(&mut tx, HOLDER, "kk", t.app.now_ms())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let card = approved_until(&t, &date_in(&t, 20)).await;
    let last_four = &card[12..];
    // Twenty days ahead: not yet.
    assert_eq!(remind_ending(&t.app, policy).await.unwrap().told, 0);
    assert!(reminders(&t).await.is_empty());
    // Thirteen days ahead: two passes at once (two servers) tell the holder once.
    t.clock.advance_ms(7 * DAY_MS);
    let (a, b) = tokio::join!(remind_ending(&t.app, policy), remind_ending(&t.app, policy));
    assert_eq!(a.unwrap().told + b.unwrap().told, 1);
    let told = reminders(&t).await;
    assert_eq!(told.len(), 1, "{told:?}");
    let last_day = jiff::Timestamp::from_millisecond(t.app.now_ms() + 13 * DAY_MS)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(5)))
        .date()
        .strftime("%d.%m.%Y")
        .to_string();
    assert!(
        told[0].contains(&format!("•••• {last_four}")) && told[0].contains(&last_day),
        "{told:?} {last_day}"
    );
    // Later passes (a restart included: the record is in the store) tell nobody again; the
    // regular card, without an end date, is never told.
    t.clock.advance_ms(DAY_MS);
    assert_eq!(remind_ending(&t.app, policy).await.unwrap().told, 0);
    assert_eq!(reminders(&t).await.len(), 1);
    assert!(
        !reminders(&t)
            .await
            .iter()
            .any(|m| m.contains(&regular[12..]))
    );
    // A renewal at the office keeps the card and sets a new end date a year on.
    let renewed = approved_until(&t, &date_in(&t, 365)).await;
    assert_eq!(renewed, card);
    assert_eq!(remind_ending(&t.app, policy).await.unwrap().told, 0);
    t.clock.advance_ms(355 * DAY_MS);
    assert_eq!(remind_ending(&t.app, policy).await.unwrap().told, 1);
    assert_eq!(remind_ending(&t.app, policy).await.unwrap().told, 0);
    assert_eq!(reminders(&t).await.len(), 2);
    // After the end the card pays the regular fare.
    t.clock.advance_ms(11 * DAY_MS);
    let holder = domain::PhoneNumber::parse(HOLDER).unwrap();
    let choice = service::cards::CardChoice::Number(service::cards::parse_number(&card).unwrap());
    match service::cards::payer(&t.app, &holder, &choice)
        .await
        .unwrap()
    {
        service::payment::Payer::Card { category, .. } => {
            assert_eq!(category, domain::catalogue::RiderCategory::Regular);
        }
        other => panic!("{other:?}"),
    }
}
on_both_stores!(
    a_holder_is_told_once_before_the_status_ends_and_again_after_a_renewal,
    a_holder_is_told_once_before_the_status_ends_and_again_after_a_renewal
);

async fn the_quote_prices_every_active_card_and_says_which_cannot_pay(db: Db) {
    let t = spawn(db).await;
    let empty = open_card(&t, HOLDER).await;
    let preferential = approved_until(&t, &date_in(&t, 100)).await;
    crate::cards::configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    crate::cards::pay(&t, "q-1", &preferential, "200").await;
    let blocked = open_card(&t, HOLDER).await;
    let (status, _) = t
        .post_as(HOLDER, &format!("/v1/cards/{blocked}/block"), json!({}))
        .await;
    assert_eq!(status, 200);
    let (_, quote) = t
        .get_as(HOLDER, "/v1/rides/quote?transport_code=20032")
        .await;
    let cards = quote["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 2, "{quote}");
    let of = |n: &str| cards.iter().find(|c| c["number"] == n).unwrap();
    assert_eq!(
        of(&empty)["refusal"]["code"],
        "CARD_INSUFFICIENT_FUNDS",
        "{quote}"
    );
    assert_eq!(of(&empty)["fare"], quote["fare"]);
    assert!(of(&preferential).get("refusal").is_none(), "{quote}");
    assert_eq!(of(&preferential)["rider_category"], "pensioner");
    assert!(
        of(&preferential)["fare"]["tiyn"].as_i64() < quote["fare"]["tiyn"].as_i64(),
        "{quote}"
    );
    assert_eq!(
        of(&preferential)["number_grouped"].as_str().unwrap().len(),
        19
    );
}
on_both_stores!(
    the_quote_prices_every_active_card_and_says_which_cannot_pay,
    the_quote_prices_every_active_card_and_says_which_cannot_pay
);

async fn a_city_says_where_it_is_and_which_categories_it_prices(db: Db) {
    let t = spawn(db).await;
    crate::transit::import_astana(&t).await;
    let astana_of = |cities: &Value| {
        cities["cities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "astana")
            .cloned()
            .unwrap()
    };
    let cities = t.call(Method::GET, "/v1/cities").send().await.body;
    let astana = cities["cities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "almaty")
        .cloned()
        .unwrap();
    let categories: Vec<&str> = astana["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert!(
        categories.contains(&"pensioner") && !categories.contains(&"regular"),
        "{astana}"
    );
    assert!(!categories.contains(&"school"), "{astana}");
    // Almaty has no GTFS here: no centre is made up for it.
    assert!(astana.get("centre").is_none(), "{astana}");
    let astana = astana_of(&cities);
    // The demo's Astana lies about 51.1° N, 71.4° E; the centre lies within the bounds.
    let (lat, lon) = (
        astana["centre"]["lat"].as_f64().unwrap(),
        astana["centre"]["lon"].as_f64().unwrap(),
    );
    assert!(
        (50.9..51.3).contains(&lat) && (71.2..71.7).contains(&lon),
        "{astana}"
    );
    let b = &astana["bounds"];
    assert!(
        b["south"].as_f64().unwrap() <= lat && lat <= b["north"].as_f64().unwrap(),
        "{astana}"
    );
    assert!(
        b["west"].as_f64().unwrap() <= lon && lon <= b["east"].as_f64().unwrap(),
        "{astana}"
    );
}
on_both_stores!(
    a_city_says_where_it_is_and_which_categories_it_prices,
    a_city_says_where_it_is_and_which_categories_it_prices
);

async fn a_card_history_is_read_page_by_page(db: Db) {
    let t = spawn(db).await;
    crate::cards::configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let card = open_card(&t, HOLDER).await;
    for txn in ["h-1", "h-2", "h-3"] {
        crate::cards::pay(&t, txn, &card, "100").await;
    }
    for key in ["hr-1", "hr-2"] {
        let (status, ticket) = crate::cards::card_ride(&t, &card, "10101", key).await;
        assert_eq!(status, 201, "{ticket}");
    }
    let mut seen = Vec::new();
    let mut path = format!("/v1/cards/{card}/history?limit=2");
    let mut pages = 0;
    loop {
        let (_, page) = t.get_as(HOLDER, &path).await;
        pages += 1;
        for m in page["movements"].as_array().unwrap() {
            seen.push((
                m["kind"].as_str().unwrap().to_owned(),
                m["on_hold"].as_bool().unwrap(),
            ));
        }
        match page["next_cursor"].as_i64() {
            Some(next) => path = format!("/v1/cards/{card}/history?limit=2&before={next}"),
            None => break,
        }
        assert!(pages < 10, "{page}");
    }
    // Two rides (their settled holds left out) and three top-ups, each once.
    let kinds: Vec<&str> = seen.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["ride", "ride", "top_up", "top_up", "top_up"],
        "{seen:?}"
    );
    assert!(seen.iter().all(|(_, hold)| !hold), "{seen:?}");
    assert!(pages >= 3, "{pages}");
}
on_both_stores!(
    a_card_history_is_read_page_by_page,
    a_card_history_is_read_page_by_page
);
