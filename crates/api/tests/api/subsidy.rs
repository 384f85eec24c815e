//! The preferential subsidy counts from the fare as it was on the day of the ride (issue 14):
//! a pensioner rides in Almaty at 40 ₸ where the regular fare is 80 ₸; the admin then raises
//! the regular fare to 100 ₸; the report of the earlier day does not move, the later day's
//! rides count from 100 ₸. Rides written before rides recorded their regular fare (made so
//! with the store's `tamper` feature) are counted at today's fare and marked as estimated, in
//! the JSON report and the CSV.

use serde_json::{Value, json};
use service::clock::Clock;

use crate::harness::{Db, Method, TestApp, spawn};
use crate::on_both_stores;

use crate::carrier::{DAY_MS, PENSIONER, local_date};

const ALMATY_BUS: &str = "20032";

/// The day's pensioner subsidy in Almaty: (tiyn, estimated, each line's estimated).
async fn subsidy_of(t: &TestApp, day: &str) -> (i64, bool, Vec<bool>) {
    let admin = t.staff_session("admin").await;
    let (status, report) = t
        .get(
            &admin,
            &format!("/v1/reports/rides?from={day}&to={day}&city=almaty"),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let subsidy = report["subsidy"].as_array().unwrap();
    assert_eq!(subsidy.len(), 1, "{report}");
    assert_eq!(subsidy[0]["category"], "pensioner");
    let lines: Vec<bool> = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["category"] == "pensioner")
        .map(|l| l["subsidy_estimated"].as_bool().unwrap())
        .collect();
    (
        subsidy[0]["amount"]["tiyn"].as_i64().unwrap(),
        subsidy[0]["estimated"].as_bool().unwrap(),
        lines,
    )
}

/// Almaty's regular fare set to `amount` through the console's endpoint (the rest kept).
async fn set_regular_fare(t: &TestApp, amount: &str) {
    let admin = t.staff_session("admin").await;
    let (status, file) = t.get(&admin, "/v1/admin/catalogue").await;
    assert_eq!(status, 200, "{file}");
    let mut almaty = file["cities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "almaty")
        .unwrap()
        .clone();
    for fare in almaty["fares"].as_array_mut().unwrap() {
        let base = ["route", "route_kind", "rider_category", "zone"]
            .iter()
            .all(|k| fare.get(*k).is_none_or(Value::is_null));
        if base {
            fare["amount"] = json!(amount);
        }
    }
    t.call(Method::PUT, "/v1/admin/catalogue")
        .token(&admin)
        .json(json!({"cities": [almaty]}))
        .expect(200)
        .await;
}

async fn the_subsidy_of_a_day_keeps_the_fare_of_that_day(db: Db) {
    let t = spawn(db).await;
    crate::carrier::make_pensioner(&t).await;
    // From the next local noon, so a day's rides stay on that day.
    let local_ms = t.clock.now_ms() + 5 * 3_600_000;
    let noon_ms = local_ms.div_euclid(DAY_MS) * DAY_MS + DAY_MS + 7 * 3_600_000;
    t.clock.advance_ms(noon_ms - t.clock.now_ms());
    // Day one: three rides at 40 ₸, the regular fare 80 ₸.
    let first = local_date(t.clock.now_ms());
    for n in 0..3 {
        let (status, ticket) = t
            .ride(PENSIONER, ALMATY_BUS, &format!("before-{n}"), "ru")
            .await;
        assert_eq!(status, 201, "{ticket}");
        assert_eq!(ticket["fare"]["tiyn"], 4_000, "{ticket}");
        t.clock.advance_ms(30 * 60_000);
    }
    assert_eq!(
        subsidy_of(&t, &first).await,
        (3 * 4_000, false, vec![false])
    );
    // The city raises the regular fare; the pensioner's stays 40 ₸.
    set_regular_fare(&t, "100").await;
    let second_starts_ms = t.clock.now_ms() + DAY_MS;
    t.clock.advance_ms(DAY_MS);
    let second = local_date(t.clock.now_ms());
    for n in 0..2 {
        let (status, ticket) = t
            .ride(PENSIONER, ALMATY_BUS, &format!("after-{n}"), "ru")
            .await;
        assert_eq!(status, 201, "{ticket}");
        assert_eq!(ticket["fare"]["tiyn"], 4_000, "{ticket}");
    }
    // The earlier day does not move; the later one counts from the new fare.
    assert_eq!(
        subsidy_of(&t, &first).await,
        (3 * 4_000, false, vec![false])
    );
    assert_eq!(
        subsidy_of(&t, &second).await,
        (2 * 6_000, false, vec![false])
    );
    // Rides written before rides recorded their regular fare: today's fare, estimated.
    let forgotten = {
        let mut conn = t.store.begin().await.unwrap();
        let n = store::rides::tamper::forget_regular_fares(&mut conn, second_starts_ms)
            .await
            .unwrap();
        conn.commit().await.unwrap();
        n
    };
    assert_eq!(forgotten, 3);
    assert_eq!(subsidy_of(&t, &first).await, (3 * 6_000, true, vec![true]));
    assert_eq!(
        subsidy_of(&t, &second).await,
        (2 * 6_000, false, vec![false])
    );
    // The CSV says which lines are estimated.
    let admin = t.staff_session("admin").await;
    let csv = t
        .call(
            Method::GET,
            &format!("/v1/reports/rides?from={first}&to={second}&city=almaty&format=csv"),
        )
        .token(&admin)
        .send()
        .await
        .text();
    let mut rows = csv.lines();
    assert!(rows.next().unwrap().ends_with(",subsidy,subsidy_estimated"));
    let estimated: Vec<(String, String)> = rows
        .map(|r| {
            let fields: Vec<&str> = r.split(',').collect();
            (fields[0].to_owned(), fields[13].to_owned())
        })
        .collect();
    assert!(estimated.contains(&(first.clone(), "true".into())), "{csv}");
    assert!(
        estimated.contains(&(second.clone(), "false".into())),
        "{csv}"
    );
    assert!(
        !estimated.contains(&(second.clone(), "true".into())),
        "{csv}"
    );
}
on_both_stores!(
    the_subsidy_of_a_day_keeps_the_fare_of_that_day,
    the_subsidy_of_a_day_keeps_the_fare_of_that_day
);
