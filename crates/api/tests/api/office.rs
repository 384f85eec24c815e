//! The office desk (issue 14, issue 12's payout): a clerk of Astana finds a passenger who rode
//! there by card number, phone and name, blocks and unblocks their card, closes it paying the
//! balance out once however often it is asked, and sees each action in the record; a clerk of
//! Almaty is refused every one of those (403 SCOPE_FORBIDDEN) and finds nobody by name.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use serde_json::{Value, json};

use crate::cards::{HOLDER, card_ride, configure_bank, open_card, pay};
use crate::harness::{Db, Method, TestApp, spawn};
use crate::on_both_stores;

/// A payout asked for under its idempotency key: (status, body).
async fn payout(t: &TestApp, token: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
    let answer = t
        .call(Method::POST, path)
        .token(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await;
    (answer.status, answer.body)
}

async fn the_office_finds_blocks_and_pays_out_a_card_of_its_city(db: Db) {
    let t = spawn(db).await;
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let card = open_card(&t, HOLDER).await;
    pay(&t, "office-1", &card, "500.00").await;
    let (status, ride) = card_ride(&t, &card, "10101", "office-ride").await;
    assert_eq!(status, 201, "{ride}");
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
    let far = t.staff_session("office-almaty").await;

    // Found by card number (grouped as printed), by phone and by name.
    let grouped = format!(
        "{} {} {} {}",
        &card[0..4],
        &card[4..8],
        &card[8..12],
        &card[12..16]
    );
    let (status, found) = t
        .get(&office, &format!("/v1/office/search?q={grouped}"))
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["passengers"][0]["phone"], HOLDER);
    assert_eq!(found["passengers"][0]["cards"][0]["number"], card.as_str());
    let (_, by_phone) = t.get(&office, "/v1/office/search?q=%2B77011234567").await;
    assert_eq!(by_phone["passengers"][0]["phone"], HOLDER, "{by_phone}");
    let (_, by_name) = t.get(&office, "/v1/office/search?q=айгерим").await;
    assert_eq!(
        by_name["passengers"][0]["name"], "Айгерим Серикова",
        "{by_name}"
    );
    let (_, nobody) = t.get(&office, "/v1/office/search?q=%2B77019999999").await;
    assert_eq!(nobody["passengers"].as_array().unwrap().len(), 0);
    // A mistyped digit is caught before any lookup.
    let mut wrong = card.clone().into_bytes();
    wrong[15] = b'0' + (wrong[15] - b'0' + 1) % 10;
    let wrong = String::from_utf8(wrong).unwrap();
    let (status, mistyped) = t
        .get(&office, &format!("/v1/office/search?q={wrong}"))
        .await;
    assert_eq!(
        (status, mistyped["code"].as_str()),
        (400, Some("CARD_NUMBER_MISTYPED"))
    );

    // Almaty's clerk reaches none of it.
    for path in [
        format!("/v1/office/search?q={card}"),
        "/v1/office/search?q=%2B77011234567".to_owned(),
        format!("/v1/office/passengers/{HOLDER}"),
    ] {
        let (status, body) = t.get(&far, &path).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("SCOPE_FORBIDDEN")),
            "{path}"
        );
    }
    let (_, far_names) = t.get(&far, "/v1/office/search?q=айгерим").await;
    assert_eq!(
        far_names["passengers"].as_array().unwrap().len(),
        0,
        "{far_names}"
    );
    for action in ["block", "unblock"] {
        let (status, body) = t
            .post(
                &far,
                &format!("/v1/office/cards/{card}/{action}"),
                json!({"reason": "x"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("SCOPE_FORBIDDEN")),
            "{action}"
        );
    }
    let (status, body) = payout(
        &t,
        &far,
        &format!("/v1/office/cards/{card}/payout"),
        "far",
        json!({"way": "cash"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("SCOPE_FORBIDDEN"))
    );

    // Block (the card pays nothing), unblock.
    let path = |action: &str| format!("/v1/office/cards/{card}/{action}");
    let (status, blocked) = t
        .post(&office, &path("block"), json!({"reason": "lost phone"}))
        .await;
    assert_eq!(
        (status, blocked["status"].as_str()),
        (200, Some("blocked")),
        "{blocked}"
    );
    let (status, refused) = card_ride(&t, &card, "10101", "office-ride-2").await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("CARD_BLOCKED"))
    );
    let (status, again) = t
        .post(&office, &path("block"), json!({"reason": "x"}))
        .await;
    assert_eq!(status, 409, "{again}");
    let (status, active) = t
        .post(&office, &path("unblock"), json!({"reason": "found it"}))
        .await;
    assert_eq!((status, active["status"].as_str()), (200, Some("active")));

    // Pay out: the key is required, a transfer needs its reference; then once, however often.
    let (status, _) = t
        .post(&office, &path("payout"), json!({"way": "cash"}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = payout(
        &t,
        &office,
        &path("payout"),
        "p1",
        json!({"way": "bank_transfer"}),
    )
    .await;
    assert_eq!(status, 400);
    let body = json!({"way": "cash", "reason": "moving away"});
    let payout_path = path("payout");
    let (first, second) = tokio::join!(
        payout(&t, &office, &payout_path, "p1", body.clone()),
        payout(&t, &office, &payout_path, "p1", body.clone())
    );
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(first, second);
    assert_eq!(first.1["payout"]["amount"]["amount"], "410.00");
    assert_eq!(first.1["card"]["status"], "closed");
    assert_eq!(first.1["card"]["balance"]["amount"], "0.00");
    let (status, closed) = payout(&t, &office, &path("payout"), "p2", body).await;
    assert_eq!(
        (status, closed["code"].as_str()),
        (409, Some("CARD_CLOSED"))
    );
    let (_, ledger) = t.get(&t.admin, "/v1/admin/ledger").await;
    assert!(ledger.to_string().contains("payout:cash"), "{ledger}");
    t.assert_ledger_balanced().await;

    // The record shows the card closed with its payout and every action taken.
    let (status, record) = t
        .get(&office, &format!("/v1/office/passengers/{HOLDER}"))
        .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["cities"], json!(["astana"]));
    assert_eq!(record["cards"][0]["payout"]["way"], "cash");
    let actions: Vec<&str> = record["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["card.payout", "card.unblock", "card.block"],
        "{record}"
    );
    assert_eq!(record["audit"][0]["actor"], "office-astana");
    let verified = service::audit::verify(&t.app).await.unwrap();
    assert!(verified.is_ok(), "{verified:?}");
}

on_both_stores!(
    the_office_finds_blocks_and_pays_out_a_card_of_its_city,
    the_office_finds_blocks_and_pays_out_a_card_of_its_city
);

async fn the_operator_uploads_a_gtfs_zip_and_reads_the_catalogue(db: Db) {
    let t = spawn(db).await;
    let upload = |body: Vec<u8>| {
        t.call(Method::POST, "/v1/admin/cities/astana/gtfs")
            .token(&t.admin)
            .header("Content-Type", "application/zip")
            .body(body)
    };
    let summary = upload(crate::transit::ASTANA_FEED.to_vec())
        .expect(200)
        .await;
    assert_eq!(summary["city"], "astana");
    assert_eq!(summary["problem_count"], 0, "{summary}");
    assert!(summary["trips"].as_u64().unwrap() > 0);
    upload(b"not a zip".to_vec()).expect(400).await;
    let (_, catalogue) = t.get(&t.admin, "/v1/admin/catalogue").await;
    // What is read back is a catalogue file the server takes again.
    t.call(Method::PUT, "/v1/admin/catalogue")
        .token(&t.admin)
        .body(catalogue.to_string())
        .expect(200)
        .await;
    let astana = catalogue["cities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "astana")
        .unwrap();
    assert!(astana["vehicles"].to_string().contains("10101"));
    assert_eq!(astana["fares"][0]["amount"], "90.00");
    // Almaty's caps and transfer rule come back too, so a round trip keeps them.
    let almaty = catalogue["cities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "almaty")
        .unwrap();
    assert_eq!(
        almaty["fare_caps"],
        serde_json::json!([{"daily": "400.00"}])
    );
    assert_eq!(
        almaty["transfer"],
        serde_json::json!({"window_minutes": 40, "amount": "0.00"})
    );
    let (_, again) = t.get(&t.admin, "/v1/admin/catalogue").await;
    assert_eq!(again, catalogue);
}

on_both_stores!(
    the_operator_uploads_a_gtfs_zip_and_reads_the_catalogue,
    the_operator_uploads_a_gtfs_zip_and_reads_the_catalogue
);
