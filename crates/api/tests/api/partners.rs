//! The system operator's view of the partners (`GET /v1/admin/partners`, issue 14): the
//! mobile operators' CAMARA APIs and the health of their calls, the card acquirer with its
//! recent orders and callbacks, each SMSC bind's state and counters, the banks — the live
//! state of the real clients, which the simulators drive over real sockets: a ride counts
//! operator calls, an operator answering 503 shows as failing with its kind, a top-up paid on
//! the acquirer's page shows as a paid order and an accepted callback, a forged callback as a
//! refused one, an SMS over SMPP as submits and receipts of its bind. No secret is ever in
//! the answer.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use service::smpp::SmppService;
use simulators::acquirer::CARD_OK;
use simulators::operator::{Endpoint, Fault};
use simulators::smsc::SmscSimulator;

use crate::harness::{Db, Method, TestApp};
use crate::on_both_stores;

const GOOD: &str = "+77011234567";
const WAIT: Duration = Duration::from_secs(20);

async fn partners(t: &TestApp) -> Value {
    let (status, body) = t.get(&t.admin, "/v1/admin/partners").await;
    assert_eq!(status, 200, "{body}");
    for secret in [
        simulators::demo::OPERATOR_TOKEN,
        "acquirer-client-secret-0001",
        crate::top_ups::CALLBACK_SECRET,
        crate::smpp::PASSWORD,
        "kaspi-test-secret-0001",
    ] {
        assert!(!body.to_string().contains(secret), "{secret} in {body}");
    }
    body
}

fn operator<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["operators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .unwrap()
}

async fn the_console_sees_every_partner_and_its_live_state(db: Db) {
    let (t, acquirer) = crate::top_ups::spawn_with_acquirer(db).await;
    crate::cards::configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let smsc = SmscSimulator::start(
        "127.0.0.1:0".parse().unwrap(),
        simulators::smsc::demo_accounts(crate::smpp::PASSWORD),
    )
    .await
    .unwrap();
    let binds = SmppService::start(Arc::clone(&t.app), crate::smpp::configs(&smsc))
        .await
        .unwrap();
    assert!(binds.wait_bound(WAIT).await);

    // As configured: three operators, the APIs' roots, a static token; no call yet.
    let before = partners(&t).await;
    let ids: Vec<&str> = before["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["beeline", "kcell", "tele2"]);
    let kcell = operator(&before, "kcell");
    let root = t.sim.base_url(&domain::OperatorId::parse("kcell").unwrap());
    assert_eq!(
        kcell["carrier_billing_url"],
        format!("{root}/carrier-billing/v0.5")
    );
    assert_eq!(kcell["sim_swap_url"], format!("{root}/sim-swap/v2"));
    assert_eq!(
        kcell["refund_url"],
        format!("{root}/carrier-billing-refund/v0.3")
    );
    assert_eq!(kcell["auth"], json!({"kind": "static_token"}));
    assert_eq!(kcell["health"]["calls"], 0);
    // Every bind is up, with its address and limits; the bank is listed.
    let smscs = before["smscs"].as_array().unwrap();
    assert_eq!(smscs.len(), 3);
    for bind in smscs {
        assert_eq!(bind["state"], "bound", "{bind}");
        assert_eq!(bind["host"], "127.0.0.1");
        assert_eq!(bind["port"], smsc.smpp_addr().port());
        assert_eq!(
            (bind["window"].as_u64(), bind["tls"].as_bool()),
            (Some(8), Some(false))
        );
    }
    assert_eq!(before["banks"][0]["id"], "kaspi");
    assert_eq!(before["banks"][0]["secret_set"], true);

    // A ride: the operator's calls succeed.
    let (status, ticket) = t.ride(GOOD, "10101", "p-1", "en").await;
    assert_eq!(status, 201, "{ticket}");
    let after = partners(&t).await;
    let used = after["operators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["health"]["calls"].as_u64().unwrap() > 0)
        .unwrap()
        .clone();
    let id = used["id"].as_str().unwrap().to_owned();
    assert!(used["health"]["calls"].as_u64().unwrap() >= 2, "{used}");
    assert_eq!(used["health"]["failures"], 0);
    assert_eq!(used["health"]["failing"], false);
    assert!(used["health"]["last_success_at"].is_string());
    // The operator answers 503: a failure of kind server_error, the link failing.
    let operator_id = domain::OperatorId::parse(&id).unwrap();
    t.sim
        .inject(&operator_id, Endpoint::Any, Fault::Status(503), 5)
        .unwrap();
    let (status, _) = t.ride(GOOD, "10101", "p-2", "en").await;
    assert!(status >= 500, "{status}");
    t.sim.clear_faults(&operator_id);
    let failing = partners(&t).await;
    let health = &operator(&failing, &id)["health"];
    assert!(health["failures"].as_u64().unwrap() >= 1, "{health}");
    assert_eq!(health["last_error"], "server_error");
    assert_eq!(health["failing"], true);
    assert!(health["last_failure_at"].is_string());

    // A top-up paid on the acquirer's page: an order paid, a callback accepted.
    let card = crate::cards::open_card(&t, crate::cards::HOLDER).await;
    let (status, top_up) =
        crate::top_ups::start_top_up(&t, crate::cards::HOLDER, &card, "500.00", "pt-1").await;
    assert_eq!(status, 201, "{top_up}");
    let shown = partners(&t).await;
    let acq = &shown["acquirer"];
    assert_eq!(acq["id"], crate::top_ups::ACQUIRER);
    assert_eq!(acq["base_url"], acquirer.base_url());
    assert_eq!(acq["merchant_id"], "smsbus");
    assert_eq!(
        acq["callback_url"],
        t.url(&format!(
            "/v1/acquirer/{}/callback",
            crate::top_ups::ACQUIRER
        ))
    );
    assert_eq!(
        acq["orders"],
        json!({"window_hours": 24, "open": 1, "paid": 0, "failed": 0})
    );
    assert!(acq["health"]["calls"].as_u64().unwrap() >= 1);
    crate::top_ups::pay_on_page(top_up["payment_url"].as_str().unwrap(), CARD_OK).await;
    // A forged callback is refused.
    t.call(
        Method::POST,
        &format!("/v1/acquirer/{}/callback", crate::top_ups::ACQUIRER),
    )
    .header("X-Signature", "sha256=00")
    .body(r#"{"invoice_id":"x","status":"charged","amount":"1.00","currency":"KZT"}"#)
    .expect(401)
    .await;
    let paid = partners(&t).await;
    let acq = &paid["acquirer"];
    assert_eq!(
        (&acq["orders"]["open"], &acq["orders"]["paid"]),
        (&json!(0), &json!(1))
    );
    assert!(acq["callbacks"]["accepted"].as_u64().unwrap() >= 1, "{acq}");
    assert_eq!(acq["callbacks"]["refused"], 1);
    assert_eq!(acq["callbacks"]["last_outcome"], "refused");

    // An SMS over SMPP: the bind's submits and receipts, nothing left waiting.
    let (_, reply) = smsc
        .send_and_wait_reply(GOOD, "2505", "ENG", None, WAIT)
        .await
        .unwrap();
    assert!(reply.is_some());
    smsc.wait_stats(|s| s.receipts_sent >= 1, WAIT).await;
    let sent = partners(&t).await;
    let bind = sent["smscs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["submits"].as_u64().unwrap() > 0)
        .unwrap()
        .clone();
    assert_eq!(bind["deliveries"], 1, "{bind}");
    assert!(bind["receipts"].as_u64().unwrap() >= 1, "{bind}");
    assert_eq!(bind["backlog"], 0, "{bind}");
    // Stopped: the binds say so.
    binds.shutdown().await;
    let stopped = partners(&t).await;
    assert!(
        stopped["smscs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["state"] == "stopped"),
        "{stopped}"
    );
}
on_both_stores!(
    the_console_sees_every_partner_and_its_live_state,
    the_console_sees_every_partner_and_its_live_state
);
