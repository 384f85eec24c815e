//! The client's OAuth 2.0 client-credentials flow against the simulated operators' token
//! endpoints over real HTTP: one token shared by concurrent calls, discovery, renewal before
//! expiry and after a `401`, and clear errors for a wrong secret or an unreachable endpoint.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "helpers of a test fail it loudly"
)]

use std::collections::HashMap;
use std::time::Duration;

use domain::{OperatorId, PhoneNumber, Tenge};
use partners::operator::oauth::{ClientCredentials, Credentials, DISCOVERY_SUFFIX};
use partners::operator::{
    CamaraClient, CarrierBilling, OperatorEndpoint, OperatorError, PaymentRequest, SimSwap,
};
use simulators::operator::{
    Endpoint, OperatorSettings, OperatorSimulator, SimulatorHandle, Subscriber,
};

const CLIENT_ID: &str = "smsbus";
const SECRET: &str = "client-secret-of-smsbus";

struct World {
    sim: SimulatorHandle,
    beeline: OperatorId,
    passenger: PhoneNumber,
}

async fn world(settings: OperatorSettings) -> World {
    let sim = OperatorSimulator::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let beeline = OperatorId::parse("beeline").unwrap();
    sim.add_operator(beeline.clone(), settings);
    let passenger = PhoneNumber::parse("+77051112233").unwrap();
    sim.add_subscriber(Subscriber::new(
        passenger.clone(),
        beeline.clone(),
        Tenge::from_whole(1_000),
    ))
    .unwrap();
    World {
        sim,
        beeline,
        passenger,
    }
}

fn settings() -> OperatorSettings {
    OperatorSettings::new("static-token-not-used-here").with_client(CLIENT_ID, SECRET)
}

impl World {
    fn client(&self, token_url: String, secret: &str) -> CamaraClient {
        let endpoint = OperatorEndpoint {
            base_url: self.sim.base_url(&self.beeline),
            credentials: Credentials::ClientCredentials(ClientCredentials {
                token_url,
                client_id: CLIENT_ID.into(),
                client_secret: secret.into(),
                scope: Some("carrier-billing:payments:create sim-swap:check".into()),
            }),
        };
        CamaraClient::new(
            HashMap::from([(self.beeline.clone(), endpoint)]),
            Duration::from_secs(5),
        )
        .unwrap()
    }

    fn token_url(&self) -> String {
        format!("{}/oauth2/token", self.sim.base_url(&self.beeline))
    }

    fn ride(&self, correlator: &str) -> PaymentRequest {
        PaymentRequest {
            client_correlator: correlator.into(),
            phone: self.passenger.clone(),
            amount: Tenge::from_whole(90),
            description: "Bus ride".into(),
            merchant_id: "smsbus".into(),
        }
    }
}

#[tokio::test]
async fn one_token_serves_every_concurrent_call() {
    let w = world(settings()).await;
    let client = w.client(w.token_url(), SECRET);
    let calls = (0..20).map(|_| client.swapped_within(&w.beeline, &w.passenger, 24));
    for swapped in futures_util::future::join_all(calls).await {
        assert!(!swapped.unwrap());
    }
    assert_eq!(w.sim.issued_tokens(&w.beeline), 1);
    assert_eq!(w.sim.requests(&w.beeline, Endpoint::SimSwapCheck), 20);
}

#[tokio::test]
async fn discovery_names_the_token_endpoint() {
    let w = world(settings()).await;
    let discovery = format!("{}{DISCOVERY_SUFFIX}", w.sim.base_url(&w.beeline));
    let client = w.client(discovery, SECRET);
    let reserved = client.prepare(&w.beeline, &w.ride("r-1")).await.unwrap();
    assert_eq!(reserved.amount, Tenge::from_whole(90));
    assert_eq!(w.sim.issued_tokens(&w.beeline), 1);
}

#[tokio::test]
async fn a_refused_token_is_renewed_and_the_call_goes_through_once() {
    let w = world(settings()).await;
    let client = w.client(w.token_url(), SECRET);
    client.prepare(&w.beeline, &w.ride("r-1")).await.unwrap();
    // The operator's authorization server forgets its tokens: the next call is refused with
    // 401, takes a new token and goes again.
    w.sim.revoke_tokens(&w.beeline);
    let second = client.prepare(&w.beeline, &w.ride("r-2")).await.unwrap();
    assert_eq!(second.client_correlator.as_deref(), Some("r-2"));
    assert_eq!(
        w.sim.issued_tokens(&w.beeline),
        1,
        "a new token after the revocation"
    );
    assert_eq!(
        w.sim.requests(&w.beeline, Endpoint::Prepare),
        2,
        "authenticated prepares: the first ride's and the retry (the refused one is not admitted)"
    );
    assert_eq!(w.sim.payments().len(), 2, "nothing reserved twice");
    assert_eq!(w.sim.held(&w.passenger), Tenge::from_whole(180));
}

#[tokio::test]
async fn a_token_near_its_end_is_renewed_before_use() {
    let mut short = settings();
    short.token_lifetime_s = 30;
    let w = world(short).await;
    let client = w.client(w.token_url(), SECRET);
    client
        .swapped_within(&w.beeline, &w.passenger, 24)
        .await
        .unwrap();
    client
        .swapped_within(&w.beeline, &w.passenger, 24)
        .await
        .unwrap();
    // A 30 s token is renewed at 90 % of its life at the latest; a token that short is inside
    // the renewal margin at once, so each call takes a fresh one rather than risk a 401.
    assert_eq!(w.sim.issued_tokens(&w.beeline), 2);
}

#[tokio::test]
async fn a_wrong_secret_is_a_configuration_error_and_nothing_reaches_the_api() {
    let w = world(settings()).await;
    let client = w.client(w.token_url(), "not-the-secret");
    let outcome = client.prepare(&w.beeline, &w.ride("r-1")).await;
    match outcome {
        Err(OperatorError::Protocol(why)) => assert!(why.contains("invalid_client"), "{why}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert_eq!(w.sim.requests(&w.beeline, Endpoint::Any), 0);
    assert!(w.sim.payments().is_empty());
}

#[tokio::test]
async fn an_unreachable_token_endpoint_means_the_operator_is_unavailable() {
    let w = world(settings()).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);
    let client = w.client(format!("http://{closed}/oauth2/token"), SECRET);
    let outcome = client.prepare(&w.beeline, &w.ride("r-1")).await;
    assert!(
        matches!(outcome, Err(OperatorError::Unavailable(_))),
        "{outcome:?}"
    );
    assert!(w.sim.payments().is_empty());
}
