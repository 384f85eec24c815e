//! Card top-ups through the acquirer (issue 12, "Top-ups" 2): the acquirer simulator over real
//! HTTP — its token, orders, hosted payment page and signed callback. A top-up paid on the
//! page credits the card once however often the callback comes (repeated, duplicated at once,
//! sent 20 times concurrently); a declined card and a card without funds end `failed` and
//! credit nothing; a callback that never comes is settled by the recovery's status query; a
//! forged callback is refused; limits, someone else's card and a reused key are refused.

use std::sync::Arc;
use std::time::Duration;

use partners::acquirer::{AcquirerClient, AcquirerConfig, sign_callback};
use serde_json::{Value, json};
use simulators::acquirer::{
    AcquirerAccount, AcquirerSimulator, CARD_DECLINED, CARD_NO_FUNDS, CARD_OK, Faults,
};

use crate::cards::{HOLDER, open_card};
use crate::harness::{Call, Db, Method, TestApp, spawn};
use crate::on_both_stores;

pub(crate) const ACQUIRER: &str = "halyk-epay";
pub(crate) const CALLBACK_SECRET: &str = "acquirer-callback-secret-0001";

/// A test system whose top-ups go through a fresh acquirer simulator.
pub(crate) async fn spawn_with_acquirer(db: Db) -> (TestApp, AcquirerSimulator) {
    let t = spawn(db).await;
    let account = AcquirerAccount {
        client_id: "smsbus".into(),
        client_secret: "acquirer-client-secret-0001".into(),
        callback_secret: CALLBACK_SECRET.into(),
    };
    let sim = AcquirerSimulator::start("127.0.0.1:0".parse().unwrap(), account.clone())
        .await
        .unwrap();
    let client = AcquirerClient::new(
        AcquirerConfig {
            id: ACQUIRER.into(),
            base_url: sim.base_url(),
            client_id: account.client_id,
            client_secret: account.client_secret,
            callback_secret: account.callback_secret,
        },
        Duration::from_secs(5),
    )
    .unwrap();
    t.app.partners.set_acquirer(client.describe());
    t.app.set_acquirer(Arc::new(client));
    (t, sim)
}

pub(crate) async fn start_top_up(
    t: &TestApp,
    phone: &str,
    card: &str,
    amount: &str,
    key: &str,
) -> (u16, Value) {
    let token = t.session(phone).await;
    let answer = t
        .call(Method::POST, &format!("/v1/cards/{card}/top-ups"))
        .token(&token)
        .header("Idempotency-Key", key)
        .header("Accept-Language", "en")
        .json(json!({ "amount": amount }))
        .send()
        .await;
    (answer.status, answer.body)
}

/// A callback from the acquirer (`acquirer` as the path names it) with this signature.
fn callback(t: &TestApp, acquirer: &str, signature: &str, body: String) -> Call {
    t.call(Method::POST, &format!("/v1/acquirer/{acquirer}/callback"))
        .header("x-signature", signature)
        .body(body)
}

/// Pays on the acquirer's page as a browser does: the form posted, the redirect read.
pub(crate) async fn pay_on_page(payment_url: &str, card_number: &str) -> String {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser.get(payment_url).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("name=\"card_number\""));
    let response = browser
        .post(payment_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("card_number={card_number}&expiry=12%2F29&cvc=123"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    response.headers()["location"].to_str().unwrap().to_owned()
}

async fn top_up_state(t: &TestApp, card: &str, id: &str) -> Value {
    let (status, top_up) = t
        .get_as(HOLDER, &format!("/v1/cards/{card}/top-ups/{id}"))
        .await;
    assert_eq!(status, 200, "{top_up}");
    top_up
}

pub(crate) async fn balance_tiyn(t: &TestApp, card: &str) -> i64 {
    let (_, card) = t.get_as(HOLDER, &format!("/v1/cards/{card}")).await;
    card["balance"]["tiyn"].as_i64().unwrap()
}

async fn top_up_credits_once(t: &TestApp, sim: &AcquirerSimulator, card: &str) {
    let (status, first) = start_top_up(t, HOLDER, card, "500.00", "tu-1").await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "created");
    let id = first["top_up_id"].as_str().unwrap().to_owned();
    let url = first["payment_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&sim.base_url()), "{url}");
    // A retry of the request is the same top-up.
    let (status, again) = start_top_up(t, HOLDER, card, "500.00", "tu-1").await;
    assert_eq!(status, 201);
    assert_eq!(again["top_up_id"], first["top_up_id"]);
    let back = pay_on_page(&url, CARD_OK).await;
    assert!(
        back.contains(&format!("#/cards/{card}/top-up?top_up={id}")),
        "{back}"
    );
    assert_eq!(top_up_state(t, card, &id).await["status"], "paid");
    assert_eq!(balance_tiyn(t, card).await, 50_000);
    // The callback once more, and with three copies at once: nothing new.
    let resend = reqwest::Client::new()
        .post(format!("{}/orders/{id}/callback", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resend.status().as_u16(), 204);
    sim.set_faults(Faults {
        duplicate_callbacks: 3,
        ..Faults::default()
    });
    let (_, second) = start_top_up(t, HOLDER, card, "300", "tu-2").await;
    pay_on_page(second["payment_url"].as_str().unwrap(), CARD_OK).await;
    assert_eq!(balance_tiyn(t, card).await, 80_000);
    // Twenty signed callbacks of the first order at once, straight to our endpoint.
    let body = json!({"invoice_id": id, "status": "charged", "amount": "500.00", "currency": "KZT", "reference": "x"}).to_string();
    let signature = sign_callback(CALLBACK_SECRET.as_bytes(), body.as_bytes());
    let calls = (0..20).map(|_| {
        callback(t, ACQUIRER, &signature, body.clone())
            .header("content-type", "application/json")
            .send()
    });
    for answer in futures_util::future::join_all(calls).await {
        answer.expect(200);
    }
    assert_eq!(balance_tiyn(t, card).await, 80_000);
    let mut conn = t.store.reader().await.unwrap();
    let kinds = store::ledger::count_by_kind(&mut conn).await.unwrap();
    assert!(kinds.contains(&("top_up".to_owned(), 2)), "{kinds:?}");
}

async fn a_top_up_paid_on_the_page_credits_the_card_once(db: Db) {
    let (t, sim) = spawn_with_acquirer(db).await;
    let card = open_card(&t, HOLDER).await;
    top_up_credits_once(&t, &sim, &card).await;
    t.assert_ledger_balanced().await;
}

on_both_stores!(
    a_top_up_paid_on_the_page_credits_the_card_once_,
    a_top_up_paid_on_the_page_credits_the_card_once
);

async fn a_declined_card_and_one_without_funds_credit_nothing(db: Db) {
    let (t, _sim) = spawn_with_acquirer(db).await;
    let card = open_card(&t, HOLDER).await;
    for (key, number, failure) in [
        ("d-1", CARD_DECLINED, "declined"),
        ("d-2", CARD_NO_FUNDS, "insufficient_funds"),
    ] {
        let (_, top_up) = start_top_up(&t, HOLDER, &card, "500", key).await;
        let id = top_up["top_up_id"].as_str().unwrap();
        pay_on_page(top_up["payment_url"].as_str().unwrap(), number).await;
        let state = top_up_state(&t, &card, id).await;
        assert_eq!(state["status"], "failed");
        assert_eq!(state["failure"], failure);
    }
    assert_eq!(balance_tiyn(&t, &card).await, 0);
    t.assert_ledger_balanced().await;
}

on_both_stores!(
    a_declined_card_and_one_without_funds_credit_nothing_,
    a_declined_card_and_one_without_funds_credit_nothing
);

async fn a_callback_that_never_comes_is_settled_by_the_status_query(db: Db) {
    let (t, sim) = spawn_with_acquirer(db).await;
    let card = open_card(&t, HOLDER).await;
    sim.set_faults(Faults {
        drop_callbacks: 1,
        ..Faults::default()
    });
    let (_, paid) = start_top_up(&t, HOLDER, &card, "700", "lost-1").await;
    let paid_id = paid["top_up_id"].as_str().unwrap().to_owned();
    pay_on_page(paid["payment_url"].as_str().unwrap(), CARD_OK).await;
    let (_, abandoned) = start_top_up(&t, HOLDER, &card, "900", "lost-2").await;
    let abandoned_id = abandoned["top_up_id"].as_str().unwrap().to_owned();
    assert_eq!(top_up_state(&t, &card, &paid_id).await["status"], "created");
    assert_eq!(balance_tiyn(&t, &card).await, 0);
    // Too early: the recovery leaves a fresh order alone.
    let early = service::top_ups::settle_open(&t.app, service::top_ups::TOP_UP_SETTLE_AFTER_MS)
        .await
        .unwrap();
    assert_eq!(early.examined, 0);
    t.clock
        .advance_ms(service::top_ups::TOP_UP_SETTLE_AFTER_MS + 1);
    let pass = service::top_ups::settle_open(&t.app, service::top_ups::TOP_UP_SETTLE_AFTER_MS)
        .await
        .unwrap();
    assert_eq!((pass.examined, pass.paid, pass.still_open), (2, 1, 1));
    assert_eq!(top_up_state(&t, &card, &paid_id).await["status"], "paid");
    assert_eq!(balance_tiyn(&t, &card).await, 70_000);
    // The page was left: the acquirer expires the order, and the next pass fails it.
    let expire = reqwest::Client::new()
        .post(format!("{}/orders/{abandoned_id}/expire", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(expire.status().as_u16(), 204);
    // An admin asks for it at once (no wait): the next pass fails it.
    let recovery = t
        .call(Method::POST, "/v1/admin/recovery")
        .token(&t.admin)
        .send()
        .await
        .body;
    assert_eq!(recovery["top_ups"]["examined"], 1, "{recovery}");
    assert_eq!(recovery["top_ups"]["failed"], 1, "{recovery}");
    let state = top_up_state(&t, &card, &abandoned_id).await;
    assert_eq!(
        (state["status"].as_str(), state["failure"].as_str()),
        (Some("failed"), Some("expired"))
    );
    // The late callback of the paid order changes nothing.
    let resend = reqwest::Client::new()
        .post(format!("{}/orders/{paid_id}/callback", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resend.status().as_u16(), 204);
    assert_eq!(balance_tiyn(&t, &card).await, 70_000);
    t.assert_ledger_balanced().await;
}

on_both_stores!(
    a_callback_that_never_comes_is_settled_by_the_status_query_,
    a_callback_that_never_comes_is_settled_by_the_status_query
);

async fn what_must_be_refused_is_refused(db: Db) {
    let (t, sim) = spawn_with_acquirer(db).await;
    let card = open_card(&t, HOLDER).await;
    let code = |v: &Value| v["code"].as_str().unwrap_or_default().to_owned();
    let (status, body) = start_top_up(&t, HOLDER, &card, "10", "r-1").await;
    assert_eq!(
        (status, code(&body)),
        (422, "TOP_UP_AMOUNT_OUT_OF_RANGE".into())
    );
    let (status, body) = start_top_up(&t, HOLDER, &card, "5,00", "r-2").await;
    assert_eq!(
        (status, code(&body)),
        (422, "TOP_UP_AMOUNT_OUT_OF_RANGE".into())
    );
    // 100,000 ₸ is a regular card's most: 50,000 twice fits, a third does not.
    for key in ["r-3", "r-4"] {
        let (_, top_up) = start_top_up(&t, HOLDER, &card, "50000", key).await;
        pay_on_page(top_up["payment_url"].as_str().unwrap(), CARD_OK).await;
    }
    let (status, body) = start_top_up(&t, HOLDER, &card, "50", "r-5").await;
    assert_eq!(
        (status, code(&body)),
        (422, "TOP_UP_BALANCE_TOO_LARGE".into())
    );
    let (_, limits) = t
        .get_as(HOLDER, &format!("/v1/cards/{card}/top-ups/limits"))
        .await;
    assert_eq!(limits["max"]["tiyn"], 0);
    // Someone else's card, a reused key, a forged callback.
    let (status, body) = start_top_up(&t, "+77051234567", &card, "500", "r-6").await;
    assert_eq!((status, code(&body)), (404, "CARD_NOT_FOUND".into()));
    let other = open_card(&t, HOLDER).await;
    let (status, body) = start_top_up(&t, HOLDER, &other, "600", "r-3").await;
    assert_eq!(
        (status, code(&body)),
        (422, "IDEMPOTENCY_KEY_REUSED".into())
    );
    let (_, pending) = start_top_up(&t, HOLDER, &other, "600", "r-7").await;
    let body = json!({"invoice_id": pending["top_up_id"], "status": "charged", "amount": "600.00", "currency": "KZT"}).to_string();
    let forged = sign_callback(b"not-the-acquirer-secret", body.as_bytes());
    callback(&t, ACQUIRER, &forged, body).expect(401).await;
    assert_eq!(balance_tiyn(&t, &other).await, 0);
    // Signed, but charged another sum than ordered: nothing is credited, the order fails (the
    // acquirer's report then lists the charge for reconciliation).
    let body = json!({"invoice_id": pending["top_up_id"], "status": "charged", "amount": "999.00", "currency": "KZT"}).to_string();
    let signature = sign_callback(CALLBACK_SECRET.as_bytes(), body.as_bytes());
    callback(&t, ACQUIRER, &signature, body).expect(200).await;
    let state = top_up_state(&t, &other, pending["top_up_id"].as_str().unwrap()).await;
    assert_eq!(state["failure"], "amount_mismatch");
    assert_eq!(balance_tiyn(&t, &other).await, 0);
    // A callback for an order we never made, or to an acquirer we do not know: 404.
    let body = json!({"invoice_id": "0000000000000000", "status": "charged", "amount": "1.00", "currency": "KZT"}).to_string();
    let signature = sign_callback(CALLBACK_SECRET.as_bytes(), body.as_bytes());
    for acquirer in [ACQUIRER, "another-acquirer"] {
        callback(&t, acquirer, &signature, body.clone())
            .expect(404)
            .await;
    }
    // An acquirer answering 503: no page yet; the same key asks again once it is back.
    sim.set_faults(Faults {
        fail_requests: 1,
        ..Faults::default()
    });
    let (status, body) = start_top_up(&t, HOLDER, &other, "800", "r-8").await;
    assert_eq!((status, code(&body)), (503, "ACQUIRER_UNAVAILABLE".into()));
    let (status, body) = start_top_up(&t, HOLDER, &other, "800", "r-8").await;
    assert_eq!(status, 201, "{body}");
    assert!(body["payment_url"].is_string());
    t.assert_ledger_balanced().await;
}

on_both_stores!(
    what_must_be_refused_is_refused_,
    what_must_be_refused_is_refused
);
