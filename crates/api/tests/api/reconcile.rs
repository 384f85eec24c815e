//! Reconciliation (issue 12 "Top-ups" 3, issue 14): a bank's registry and the acquirer's
//! settlement report, generated with every kind of discrepancy planted — missing on either
//! side, a sum mismatch, a duplicate, a wrong date — are each found; re-importing the same file
//! changes nothing and a corrected one replaces what is unresolved; each resolution books once
//! (credit, reversal, write-off), is audited with its admin, and the ledger stays balanced with
//! every card's balance equal to its entries.

use serde_json::{Value, json};
use simulators::acquirer::CARD_OK;

use crate::cards::{HOLDER, configure_bank, open_card, pay};
use crate::harness::{Db, Method, TestApp, spawn};
use crate::on_both_stores;
use crate::top_ups::{ACQUIRER, balance_tiyn, pay_on_page, spawn_with_acquirer, start_top_up};

const DAY: &str = "2026-12-01";

async fn upload(t: &TestApp, kind: &str, partner: &str, day: &str, file: &str) -> (u16, Value) {
    let answer = t
        .call(
            Method::POST,
            &format!("/v1/admin/reconciliation/{kind}/{partner}/{day}"),
        )
        .token(&t.admin)
        .body(file.to_owned())
        .send()
        .await;
    (answer.status, answer.body)
}

async fn resolve(t: &TestApp, line: i64, resolution: &str) -> (u16, Value) {
    t.post(
        &t.admin,
        &format!("/v1/admin/reconciliation/discrepancies/{line}/resolve"),
        json!({ "resolution": resolution }),
    )
    .await
}

async fn open_discrepancies(t: &TestApp) -> Vec<Value> {
    let (status, body) = t
        .get(&t.admin, "/v1/admin/reconciliation/discrepancies")
        .await;
    assert_eq!(status, 200, "{body}");
    body["discrepancies"].as_array().unwrap().clone()
}

/// `(reference, outcome)` of every line, in order.
fn outcomes(report: &Value) -> Vec<(String, String)> {
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["reference"].as_str().unwrap().to_owned(),
                l["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn line_id(report: &Value, reference: &str, outcome: &str) -> i64 {
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["reference"] == reference && l["outcome"] == outcome)
        .unwrap_or_else(|| panic!("no {reference} {outcome} in {report}"))["id"]
        .as_i64()
        .unwrap()
}

async fn audit_entries(t: &TestApp, action: &str) -> usize {
    let mut conn = t.store.reader().await.unwrap();
    let rows = store::audit::page(&mut conn, 0, 10_000).await.unwrap();
    rows.iter()
        .filter(|r| r.action == action && r.actor == "admin")
        .count()
}

async fn a_bank_registry_with_every_discrepancy_is_reconciled(db: Db) {
    let t = spawn(db).await;
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1/32").await;
    let card = open_card(&t, HOLDER).await;
    for (txn, sum) in [("t1", "100.00"), ("t2", "200.00"), ("t3", "300.00")] {
        pay(&t, txn, &card, sum).await;
    }
    assert_eq!(balance_tiyn(&t, &card).await, 60_000);
    // The bank's registry: t1 as ours, t2 for more than we booked, t4 we never heard of, t1
    // listed twice, t5 of another day; t3 is missing from it.
    let registry = format!(
        "txn_id;txn_date;account;sum;prv_txn_id\n\
         t1;20261201120000;{card};100.00;1\n\
         t2;20261201120000;{card};250.00;2\n\
         t4;20261201130000;{card};400.00;\n\
         t1;20261201120000;{card};100.00;1\n\
         t5;20261130235959;{card};50.00;\n\
         total;5;900.00\n"
    );
    let (status, report) = upload(&t, "bank", "kaspi", DAY, &registry).await;
    assert_eq!(status, 200, "{report}");
    let expected: Vec<(String, String)> = [
        ("t1", "matched"),
        ("t2", "sum_mismatch"),
        ("t4", "missing_ours"),
        ("t1", "duplicate"),
        ("t5", "wrong_date"),
        ("t3", "missing_theirs"),
    ]
    .iter()
    .map(|(r, o)| ((*r).to_owned(), (*o).to_owned()))
    .collect();
    assert_eq!(outcomes(&report), expected);
    assert_eq!(
        (report["matched"].as_i64(), report["open"].as_i64()),
        (Some(1), Some(5))
    );
    // The same file again: the same report, nothing new.
    let (_, again) = upload(&t, "bank", "kaspi", DAY, &registry).await;
    assert_eq!(again["id"], report["id"]);
    assert_eq!(outcomes(&again), expected);
    assert_eq!(open_discrepancies(&t).await.len(), 5);
    assert_eq!(audit_entries(&t, "reconcile.import").await, 1);

    // The money they took reaches the card: t2's 50 ₸ more, t4's 400 ₸ — once.
    let t2 = line_id(&report, "t2", "sum_mismatch");
    let (status, done) = resolve(&t, t2, "credit").await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["resolution"], "credit");
    assert_eq!(resolve(&t, t2, "credit").await.0, 200);
    let (status, refused) = resolve(&t, t2, "reversal").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("DISCREPANCY_RESOLUTION_NOT_ALLOWED"))
    );
    assert_eq!(
        resolve(&t, line_id(&report, "t4", "missing_ours"), "credit")
            .await
            .0,
        200
    );
    assert_eq!(balance_tiyn(&t, &card).await, 60_000 + 5_000 + 40_000);
    // A line their file lists twice is written off (nothing moves); a credit does not fit it.
    let duplicate = line_id(&report, "t1", "duplicate");
    assert_eq!(resolve(&t, duplicate, "credit").await.0, 409);
    let (_, written) = resolve(&t, duplicate, "write_off").await;
    assert!(written["transfer_id"].is_null(), "{written}");
    // What we credited and they never took goes back: t3's 300 ₸.
    assert_eq!(
        resolve(&t, line_id(&report, "t3", "missing_theirs"), "reversal")
            .await
            .0,
        200
    );
    assert_eq!(balance_tiyn(&t, &card).await, 105_000 - 30_000);
    assert_eq!(audit_entries(&t, "reconcile.resolve").await, 4);

    // A corrected registry (t5 taken out): the resolved lines stay, the open ones are redone.
    let corrected = registry.replace(&format!("t5;20261130235959;{card};50.00;\n"), "");
    let (_, replaced) = upload(&t, "bank", "kaspi", DAY, &corrected).await;
    assert_eq!(replaced["id"], report["id"]);
    let open = open_discrepancies(&t).await;
    assert!(open.is_empty(), "{open:?}");
    assert_eq!(resolve(&t, 999_999, "credit").await.0, 404);
    let mut conn = t.store.reader().await.unwrap();
    let kinds = store::ledger::count_by_kind(&mut conn).await.unwrap();
    assert!(kinds.contains(&("adjustment".to_owned(), 2)), "{kinds:?}");
    assert!(kinds.contains(&("reversal".to_owned(), 1)), "{kinds:?}");
    drop(conn);
    t.assert_ledger_balanced().await;
}

on_both_stores!(
    a_bank_registry_with_every_discrepancy_is_reconciled_,
    a_bank_registry_with_every_discrepancy_is_reconciled
);

async fn the_acquirers_settlement_report_is_matched_with_our_top_ups(db: Db) {
    let (t, sim) = spawn_with_acquirer(db).await;
    let card = open_card(&t, HOLDER).await;
    let mut ids = Vec::new();
    for (key, amount) in [("a-1", "500"), ("a-2", "700")] {
        let (_, top_up) = start_top_up(&t, HOLDER, &card, amount, key).await;
        pay_on_page(top_up["payment_url"].as_str().unwrap(), CARD_OK).await;
        ids.push(top_up["top_up_id"].as_str().unwrap().to_owned());
    }
    let day = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(5)))
        .date()
        .to_string();
    let report_csv = sim.settlement_csv(&day);
    let (status, report) = upload(&t, "acquirer", ACQUIRER, &day, &report_csv).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["matched"], 2, "{report}");
    assert_eq!(report["open"], 0);
    // Planted: the second order's line taken out, a charge we never ordered added.
    let planted: String = report_csv
        .lines()
        .filter(|l| !l.starts_with(&ids[1]))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + &format!("ffffffffffffffff;000000000099;{day};1000.00;KZT\n");
    let (_, report) = upload(&t, "acquirer", ACQUIRER, &day, &planted).await;
    let found = outcomes(&report);
    assert!(
        found.contains(&(ids[1].clone(), "missing_theirs".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("ffffffffffffffff".into(), "missing_ours".into())),
        "{found:?}"
    );
    // The unordered charge names no card of ours: it cannot be credited, only written off.
    let unknown = line_id(&report, "ffffffffffffffff", "missing_ours");
    assert_eq!(resolve(&t, unknown, "credit").await.0, 409);
    assert_eq!(resolve(&t, unknown, "write_off").await.0, 200);
    // The order they never settled is written off: the receivable becomes a loss, the card
    // keeps its money.
    let unsettled = line_id(&report, &ids[1], "missing_theirs");
    let (_, written) = resolve(&t, unsettled, "write_off").await;
    assert_eq!(written["transfer_id"], format!("reconcile.{unsettled}"));
    assert_eq!(balance_tiyn(&t, &card).await, 120_000);
    t.assert_ledger_balanced().await;
}

on_both_stores!(
    the_acquirers_settlement_report_is_matched_with_our_top_ups_,
    the_acquirers_settlement_report_is_matched_with_our_top_ups
);

async fn a_file_that_cannot_be_read_is_refused(db: Db) {
    let t = spawn(db).await;
    let (status, body) = upload(&t, "bank", "kaspi", DAY, "no;header\n1;2\n").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("RECONCILIATION_FILE_INVALID"))
    );
    let (status, _) = upload(
        &t,
        "bank",
        "kaspi",
        "2026-13-01",
        "txn_id;txn_date;account;sum\n",
    )
    .await;
    assert_eq!(status, 400);
    let bad_sum = "txn_id;txn_date;account;sum\nt1;20261201120000;9398000000000009;1e3\n";
    assert_eq!(upload(&t, "bank", "kaspi", DAY, bad_sum).await.0, 422);
    let huge = "x".repeat(service::reconcile::RECONCILIATION_FILE_BYTES_MAX + 1);
    assert_eq!(upload(&t, "bank", "kaspi", DAY, &huge).await.0, 413);
}

on_both_stores!(
    a_file_that_cannot_be_read_is_refused_,
    a_file_that_cannot_be_read_is_refused
);

async fn an_operators_settlement_report_is_matched_with_our_rides(db: Db) {
    let t = spawn(db).await;
    let phone = "+77011234567";
    let mut rides = Vec::new();
    for key in ["o-1", "o-2", "o-3"] {
        let (status, ride) = t.ride(phone, "10101", key, "en").await;
        assert_eq!(status, 201, "{ride}");
        rides.push(ride["ride_id"].as_str().unwrap().to_owned());
    }
    let payments = t.sim.payments();
    let operator = payments[0].operator.clone();
    let day = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(5)))
        .date()
        .to_string();
    let report_csv = t.sim.settlement_csv(&operator, &day);
    let (status, report) = upload(&t, "operator", operator.as_str(), &day, &report_csv).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["matched"].as_i64(), report["open"].as_i64()),
        (Some(3), Some(0)),
        "{report}"
    );
    // Planted: the first ride's capture missing, the second's for another sum, a capture we
    // never asked for.
    let mut planted = String::new();
    for line in report_csv.lines() {
        let fields: Vec<&str> = line.split(';').collect();
        if fields.get(1) == Some(&rides[0].as_str()) {
            continue;
        }
        if fields.get(1) == Some(&rides[1].as_str()) {
            planted.push_str(&line.replace(fields[4], "150.00"));
        } else {
            planted.push_str(line);
        }
        planted.push('\n');
    }
    planted.push_str(&format!("p-x;ride-unknown;{phone};{day};90.00;succeeded\n"));
    let (_, report) = upload(&t, "operator", operator.as_str(), &day, &planted).await;
    let found = outcomes(&report);
    for expected in [
        (rides[0].clone(), "missing_theirs"),
        (rides[1].clone(), "sum_mismatch"),
        (rides[2].clone(), "matched"),
        ("ride-unknown".to_owned(), "missing_ours"),
    ] {
        assert!(
            found.contains(&(expected.0.clone(), expected.1.to_owned())),
            "{expected:?} not in {found:?}"
        );
    }
    // A phone subscriber has no card here: only a write-off resolves these.
    let missing = line_id(&report, &rides[0], "missing_theirs");
    assert_eq!(resolve(&t, missing, "reversal").await.0, 409);
    let (status, written) = resolve(&t, missing, "write_off").await;
    assert_eq!(status, 200, "{written}");
    assert_eq!(written["transfer_id"], format!("reconcile.{missing}"));
    let unknown = line_id(&report, "ride-unknown", "missing_ours");
    assert_eq!(resolve(&t, unknown, "credit").await.0, 409);
    assert_eq!(resolve(&t, unknown, "write_off").await.0, 200);
    assert_eq!(open_discrepancies(&t).await.len(), 1);
    t.assert_ledger_balanced().await;
}

on_both_stores!(
    an_operators_settlement_report_is_matched_with_our_rides_,
    an_operators_settlement_report_is_matched_with_our_rides
);
