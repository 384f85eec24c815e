//! The simulator on the wire, spoken to with a bare HTTP client: the exact CAMARA bodies,
//! one-step payments, listings with their filters and paging headers, and the spec's errors.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "helpers of a test fail it loudly"
)]

use domain::{OperatorId, PhoneNumber, Tenge};
use reqwest::StatusCode;
use serde_json::{Value, json};
use simulators::operator::{
    Endpoint, Fault, OperatorSettings, OperatorSimulator, SimulatorHandle, Subscriber,
};

const NOW_UNIX_S: i64 = 1_750_000_000;
const TOKEN: &str = "Bearer beeline-token";
const PASSENGER: &str = "+77051234567";

async fn simulator() -> (SimulatorHandle, String) {
    let sim = OperatorSimulator::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    sim.set_now(NOW_UNIX_S);
    let beeline = OperatorId::parse("beeline").unwrap();
    sim.add_operator(beeline.clone(), OperatorSettings::new("beeline-token"));
    let phone = PhoneNumber::parse(PASSENGER).unwrap();
    sim.add_subscriber(Subscriber::new(
        phone,
        beeline.clone(),
        Tenge::from_whole(1_000),
    ))
    .unwrap();
    let base = format!("{}/carrier-billing/v0.5", sim.base_url(&beeline));
    (sim, base)
}

fn payment(correlator: &str, amount: &str) -> String {
    format!(
        r#"{{"amountTransaction":{{"phoneNumber":"{PASSENGER}","clientCorrelator":"{correlator}","referenceCode":"ref-{correlator}",
        "paymentAmount":{{"chargingInformation":{{"amount":{amount},"currency":"KZT","description":"Bus ride"}},
        "chargingMetaData":{{"merchantIdentifier":"smsbus"}}}}}}}}"#
    )
}

async fn post(url: &str, body: String) -> (StatusCode, String) {
    let reply = reqwest::Client::new()
        .post(url)
        .header("authorization", TOKEN)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (reply.status(), reply.text().await.unwrap())
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(url)
        .header("authorization", TOKEN)
        .send()
        .await
        .unwrap()
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[tokio::test]
async fn prepare_answers_the_spec_body_with_the_exact_amount_text() {
    let (_sim, base) = simulator().await;
    let reply = reqwest::Client::new()
        .post(format!("{base}/payments/prepare"))
        .header("authorization", TOKEN)
        .header("x-correlator", "trace-42")
        .header("content-type", "application/json")
        .body(payment("wire-1", "90.500"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
    assert_eq!(reply.headers()["x-correlator"], "trace-42");
    let text = reply.text().await.unwrap();
    assert!(text.contains(r#""amount":90.50,"#), "{text}");
    let body = json_of(&text);
    assert_eq!(body["paymentStatus"], "reserved");
    assert_eq!(body["paymentCreationDate"], "2025-06-15T15:06:40Z");
    let transaction = &body["amountTransaction"];
    assert_eq!(transaction["phoneNumber"], PASSENGER);
    assert_eq!(transaction["clientCorrelator"], "wire-1");
    assert_eq!(transaction["referenceCode"], "ref-wire-1");
    assert_eq!(
        transaction["paymentAmount"]["chargingInformation"]["currency"],
        "KZT"
    );
    assert_eq!(
        transaction["paymentAmount"]["chargingMetaData"]["merchantIdentifier"],
        "smsbus"
    );
    assert_eq!(
        transaction["resourceURL"],
        format!("urn:payments:{}", body["paymentId"].as_str().unwrap())
    );
}

#[tokio::test]
async fn one_step_payment_captures_at_once_and_a_retry_replays_it() {
    let (sim, base) = simulator().await;
    let (status, first) = post(&format!("{base}/payments"), payment("one-1", "80")).await;
    assert_eq!(status, StatusCode::CREATED);
    let first = json_of(&first);
    assert_eq!(first["paymentStatus"], "succeeded");
    assert!(first["paymentDate"].is_string());
    let (status, again) = post(&format!("{base}/payments"), payment("one-1", "80.00")).await;
    assert_eq!(
        (status, json_of(&again)["paymentId"].clone()),
        (StatusCode::CREATED, first["paymentId"].clone())
    );
    let (status, other) = post(&format!("{base}/payments"), payment("one-1", "81")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        json_of(&other)["message"],
        "clientCorrelator already exist on server."
    );
    let phone = PhoneNumber::parse(PASSENGER).unwrap();
    assert_eq!(sim.captured_total(&phone), Tenge::from_whole(80));
    let id = first["paymentId"].as_str().unwrap();
    let (status, conflict) = post(&format!("{base}/payments/{id}/confirm"), "{}".to_owned()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        json_of(&conflict)["code"],
        "CARRIER_BILLING.PAYMENT_CONFIRMED"
    );
}

#[tokio::test]
async fn listing_filters_orders_and_pages() {
    let (sim, base) = simulator().await;
    let mut ids = Vec::new();
    for index in 0..5 {
        sim.set_now(NOW_UNIX_S + index);
        let (_, body) = post(
            &format!("{base}/payments/prepare"),
            payment(&format!("list-{index}"), "10"),
        )
        .await;
        ids.push(json_of(&body)["paymentId"].as_str().unwrap().to_owned());
    }
    for id in &ids[..2] {
        let (status, body) = post(&format!("{base}/payments/{id}/confirm"), String::new()).await;
        assert_eq!((status, body.as_str()), (StatusCode::ACCEPTED, ""));
    }
    let succeeded = get(&format!(
        "{base}/payments?paymentStatus=succeeded&order=asc"
    ))
    .await;
    assert_eq!(succeeded.headers()["x-total-count"], "2");
    let listed: Vec<Value> = succeeded.json().await.unwrap();
    let listed_ids: Vec<_> = listed
        .iter()
        .map(|p| p["paymentId"].as_str().unwrap())
        .collect();
    assert_eq!(listed_ids, [ids[0].as_str(), ids[1].as_str()]);

    let page = get(&format!("{base}/payments?perPage=2&page=2")).await;
    assert_eq!(
        (
            page.headers()["x-total-count"].clone(),
            page.headers()["content-last-key"].clone()
        ),
        ("5".parse().unwrap(), "4".parse().unwrap())
    );
    let listed: Vec<Value> = page.json().await.unwrap();
    let newest_first: Vec<_> = listed
        .iter()
        .map(|p| p["paymentId"].as_str().unwrap())
        .collect();
    assert_eq!(newest_first, [ids[2].as_str(), ids[1].as_str()]);

    let window = "paymentCreationDate.gte=2025-06-15T15:06:41Z&paymentCreationDate.lte=2025-06-15T20:06:42%2B05:00";
    let windowed: Vec<Value> = get(&format!("{base}/payments?{window}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(windowed.len(), 2);
    let inverted = get(&format!("{base}/payments?paymentCreationDate.gte=2025-06-16T00:00:00Z&paymentCreationDate.lte=2025-06-15T00:00:00Z")).await;
    assert_eq!(inverted.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        inverted.json::<Value>().await.unwrap()["code"],
        "CARRIER_BILLING.INVALID_DATE_RANGE"
    );
    let too_many = get(&format!("{base}/payments?perPage=1000")).await;
    assert_eq!(
        too_many.json::<Value>().await.unwrap()["code"],
        "OUT_OF_RANGE"
    );
}

#[tokio::test]
async fn requests_outside_the_contract_get_the_spec_errors() {
    let (_sim, base) = simulator().await;
    let unauthenticated = reqwest::Client::new()
        .get(format!("{base}/payments"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        unauthenticated.json::<Value>().await.unwrap()["code"],
        "UNAUTHENTICATED"
    );
    let unknown_operator = base.replace("/beeline/", "/altel/");
    assert_eq!(
        get(&format!("{unknown_operator}/payments")).await.status(),
        StatusCode::NOT_FOUND
    );

    let no_phone = payment("err-1", "10").replace(&format!(r#""phoneNumber":"{PASSENGER}","#), "");
    let (status, body) = post(&format!("{base}/payments/prepare"), no_phone).await;
    assert_eq!(
        (status, json_of(&body)["code"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("MISSING_IDENTIFIER")
        )
    );
    let dollars = payment("err-2", "10").replace("KZT", "USD");
    let (status, body) = post(&format!("{base}/payments/prepare"), dollars).await;
    assert_eq!(
        (status, json_of(&body)["message"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("Currency is unknown or not authorized.")
        )
    );
    for amount in ["90.555", "0", "-5", "1e2", "\"90\""] {
        let (status, _) = post(
            &format!("{base}/payments/prepare"),
            payment("err-3", amount),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{amount}");
    }
    let (status, body) = post(
        &format!("{base}/payments/prepare"),
        payment("err-4", "100000"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        json_of(&body),
        json!({"status": 403, "code": "CARRIER_BILLING.PAYMENT_DENIED", "message": "INSUFFICIENT_BALANCE: Not enough balance."})
    );
    let (status, body) = post(&format!("{base}/payments/nope/cancel"), "{}".to_owned()).await;
    assert_eq!(
        (status, json_of(&body)["code"].clone()),
        (StatusCode::NOT_FOUND, json!("NOT_FOUND"))
    );

    let swap = base.replace("carrier-billing/v0.5", "sim-swap/v2");
    let (status, body) = post(
        &format!("{swap}/check"),
        json!({"phoneNumber": PASSENGER, "maxAge": 2401}).to_string(),
    )
    .await;
    assert_eq!(
        (status, json_of(&body)["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("OUT_OF_RANGE"))
    );
    let (status, body) = post(
        &format!("{swap}/check"),
        json!({"phoneNumber": PASSENGER}).to_string(),
    )
    .await;
    assert_eq!(
        (status, json_of(&body)),
        (StatusCode::OK, json!({"swapped": false}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_a_hanging_request() {
    let (sim, base) = simulator().await;
    let beeline = OperatorId::parse("beeline").unwrap();
    sim.inject(&beeline, Endpoint::GetPayment, Fault::Hang, 1)
        .unwrap();
    let hanging = tokio::spawn(async move { get(&format!("{base}/payments/any")).await.status() });
    while sim.requests(&beeline, Endpoint::GetPayment) == 0 {
        tokio::task::yield_now().await;
    }
    sim.shutdown().await;
    assert_eq!(hanging.await.unwrap(), StatusCode::GATEWAY_TIMEOUT);
}

/// Another process breaks the simulator and reads its books over the admin API: a fault
/// injected from [`simulators::operator::admin::fault_rule`] answers as the same fault injected
/// in process, `DELETE /_admin/faults/{operator}` drops the ones still waiting, and
/// `GET /_admin/payments` lists what the operator took.
#[tokio::test]
async fn the_admin_api_injects_and_clears_faults_and_lists_payments() {
    let (sim, base) = simulator().await;
    let beeline = OperatorId::parse("beeline").unwrap();
    let admin = format!("http://{}/_admin", sim.addr());
    let http = reqwest::Client::new();
    let rule =
        simulators::operator::admin::fault_rule(&beeline, Endpoint::Prepare, Fault::Status(503), 2);
    let inject = |rule: Value| http.post(format!("{admin}/faults")).json(&rule).send();
    assert_eq!(inject(rule).await.unwrap().status(), StatusCode::NO_CONTENT);
    let (status, _) = post(&format!("{base}/payments/prepare"), payment("adm-1", "90")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let cleared = http
        .delete(format!("{admin}/faults/beeline"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    let (status, _) = post(&format!("{base}/payments/prepare"), payment("adm-1", "90")).await;
    assert_eq!(status, StatusCode::CREATED, "the second fault was cleared");
    let books: Value = http
        .get(format!("{admin}/payments"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let payments = books["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["client_correlator"], "adm-1");
    assert_eq!(payments[0]["status"], "reserved");
    assert_eq!(payments[0]["amount_tiyn"], 9_000);
    // Every fault the in-process API takes has a body the admin API reads.
    for fault in [
        Fault::Latency { ms: 1 },
        Fault::Hang,
        Fault::Refuse,
        Fault::LostReply,
        Fault::LostReplyHang,
        Fault::LostReplyReset,
        Fault::DuplicateReply,
    ] {
        let rule = simulators::operator::admin::fault_rule(&beeline, Endpoint::Any, fault, 1);
        let answer = inject(rule.clone()).await.unwrap();
        assert_eq!(answer.status(), StatusCode::NO_CONTENT, "{rule}");
    }
}
