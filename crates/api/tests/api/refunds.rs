//! Refunds of phone-balance rides through the passenger's operator (CAMARA Carrier Billing
//! Refund, issue 12): the money goes back to the phone balance once, whatever the operator's
//! faults — a lost reply, a 503, a denial asked again — and only then does the ticket become
//! REFUNDED, its fare reversed in the ledger and the passenger told by SMS.

use domain::{OperatorId, PhoneNumber};
use serde_json::{Value, json};
use simulators::operator::{Endpoint, Fault, RefundStatus};

use crate::harness::{Db, Method, TestApp, spawn};
use crate::on_both_stores;

const PASSENGER: &str = "+77011234567";

async fn refund(t: &TestApp, check: &str, reason: &str) -> (u16, Value) {
    let answer = t
        .call(Method::POST, &format!("/v1/office/tickets/{check}/refund"))
        .token(&t.admin)
        .header("Accept-Language", "en")
        .json(json!({"reason": reason}))
        .send()
        .await;
    (answer.status, answer.body)
}

fn balance(t: &TestApp) -> i64 {
    let phone = PhoneNumber::parse(PASSENGER).unwrap();
    t.sim.subscriber(&phone).unwrap().balance.tiyn()
}

fn refunds_succeeded(t: &TestApp) -> usize {
    t.sim
        .refunds()
        .iter()
        .filter(|r| r.status == RefundStatus::Succeeded)
        .count()
}

async fn ride(t: &TestApp, vehicle: &str, key: &str) -> (String, String) {
    let (status, ticket) = t.ride(PASSENGER, vehicle, key, "en").await;
    assert_eq!(status, 201, "{ticket}");
    (
        ticket["check_number"].as_str().unwrap().to_owned(),
        ticket["token"].as_str().unwrap().to_owned(),
    )
}

async fn verdict(t: &TestApp, token: &str, vehicle: &str) -> String {
    t.inspect(token, vehicle).await["result"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn settle(t: &TestApp) {
    service::recovery::settle_unsettled(&t.app, 0)
        .await
        .unwrap();
}

async fn a_phone_balance_ride_is_refunded_through_its_operator_once(db: Db) {
    let t = spawn(db).await;
    let operator = OperatorId::parse("kcell").unwrap();
    let before = balance(&t);

    // Plain: the operator refunds at once; asked twice, it refunds once.
    let (check, token) = ride(&t, "10101", "refund-plain").await;
    assert_eq!(balance(&t), before - 9_000);
    let (status, body) = refund(&t, &check, "charged by mistake").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "refunded");
    assert_eq!(body["source"], "phone_balance");
    assert_eq!(body["operator"], "kcell");
    assert_eq!(balance(&t), before);
    let (status, again) = refund(&t, &check, "charged by mistake").await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("TICKET_NOT_VALID"))
    );
    assert_eq!(refunds_succeeded(&t), 1);
    assert_eq!(verdict(&t, &token, "10101").await, "REFUNDED");

    // The operator refunds but its reply is lost: the refund is found under our correlator at
    // once. Lost and not found (the listing fails too): 202, the ticket still valid, and the
    // recovery pass finishes it — one refund at the operator either way.
    let (check, token) = ride(&t, "10102", "refund-lost").await;
    t.sim
        .inject(&operator, Endpoint::CreateRefund, Fault::LostReply, 1)
        .unwrap();
    let (status, body) = refund(&t, &check, "the bus broke down").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("refunded")),
        "{body}"
    );
    assert_eq!(verdict(&t, &token, "10102").await, "REFUNDED");
    let (check, token) = ride(&t, "20032", "refund-lost-twice").await;
    t.sim
        .inject(&operator, Endpoint::CreateRefund, Fault::LostReply, 1)
        .unwrap();
    t.sim
        .inject(&operator, Endpoint::GetRefunds, Fault::Status(503), 1)
        .unwrap();
    let (status, body) = refund(&t, &check, "the bus broke down").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (202, Some("refunding")),
        "{body}"
    );
    assert_eq!(refunds_succeeded(&t), 3);
    assert_eq!(verdict(&t, &token, "20032").await, "VALID");
    settle(&t).await;
    assert_eq!(verdict(&t, &token, "20032").await, "REFUNDED");
    assert_eq!(refunds_succeeded(&t), 3);
    assert_eq!(balance(&t), before);

    // The operator is down before it does anything: asked again later, refunded once.
    let (check, token) = ride(&t, "10121", "refund-503").await;
    t.sim
        .inject(&operator, Endpoint::CreateRefund, Fault::Status(503), 1)
        .unwrap();
    let (status, _) = refund(&t, &check, "the bus broke down").await;
    assert_eq!(status, 202);
    assert_eq!(refunds_succeeded(&t), 3);
    settle(&t).await;
    settle(&t).await;
    assert_eq!(verdict(&t, &token, "10121").await, "REFUNDED");
    assert_eq!(refunds_succeeded(&t), 4);
    assert_eq!(balance(&t), before);

    // A denial is said as such and leaves the ticket valid; asked again, it is refunded.
    let (check, token) = ride(&t, "13101", "refund-denied").await;
    t.sim
        .inject(&operator, Endpoint::CreateRefund, Fault::Refuse, 1)
        .unwrap();
    let (status, body) = refund(&t, &check, "complaint").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("REFUND_DENIED")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("refused"),
        "{body}"
    );
    assert_eq!(verdict(&t, &token, "13101").await, "VALID");
    let (status, body) = refund(&t, &check, "complaint, second look").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("refunded")),
        "{body}"
    );
    assert_eq!(refunds_succeeded(&t), 5);
    assert_eq!(balance(&t), before);

    // The passenger heard of each refund, in the ride's language.
    let text = t
        .call(Method::GET, "/v1/sms/outbox")
        .token(crate::harness::GATEWAY)
        .send()
        .await
        .text();
    assert_eq!(
        text.matches("went back to your phone balance").count(),
        5,
        "{text}"
    );
    t.assert_ledger_balanced().await;
    t.assert_nothing_charged_twice().await;
}
on_both_stores!(
    a_phone_balance_ride_is_refunded_through_its_operator_once,
    a_phone_balance_ride_is_refunded_through_its_operator_once
);
