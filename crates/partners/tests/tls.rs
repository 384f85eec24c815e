//! The client over TLS: an operator whose API (and token endpoint) sits behind HTTPS with a
//! certificate from the operator's own CA. Trusting that CA, rides go through; without it the
//! client refuses the connection and nothing is charged.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "helpers of a test fail it loudly"
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use domain::{OperatorId, PhoneNumber, Tenge};
use partners::operator::oauth::{ClientCredentials, Credentials};
use partners::operator::{
    CamaraClient, CarrierBilling, OperatorEndpoint, OperatorError, PaymentRequest,
};
use simulators::operator::{OperatorSettings, OperatorSimulator, SimulatorHandle, Subscriber};
use tokio_rustls::rustls;

/// The operator's CA and a server certificate for 127.0.0.1 signed by it.
struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Test Operator Root CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .unwrap();
    Pki {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

/// Terminates TLS on a port of its own and passes the bytes on to the simulator.
async fn tls_front(config: Arc<rustls::ServerConfig>, backend: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                    return;
                };
                let _closed = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

struct World {
    sim: SimulatorHandle,
    beeline: OperatorId,
    passenger: PhoneNumber,
    endpoints: HashMap<OperatorId, OperatorEndpoint>,
    ca_pem: String,
}

async fn world() -> World {
    let sim = OperatorSimulator::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let beeline = OperatorId::parse("beeline").unwrap();
    sim.add_operator(
        beeline.clone(),
        OperatorSettings::new("unused-static-token").with_client("smsbus", "secret-0123456789"),
    );
    let passenger = PhoneNumber::parse("+77051112233").unwrap();
    sim.add_subscriber(Subscriber::new(
        passenger.clone(),
        beeline.clone(),
        Tenge::from_whole(1_000),
    ))
    .unwrap();
    let pki = pki();
    let front = tls_front(pki.server, sim.addr()).await;
    let base_url = format!("https://{front}/beeline");
    let endpoint = OperatorEndpoint {
        base_url: base_url.clone(),
        credentials: Credentials::ClientCredentials(ClientCredentials {
            token_url: format!("{base_url}/oauth2/token"),
            client_id: "smsbus".into(),
            client_secret: "secret-0123456789".into(),
            scope: None,
        }),
    };
    World {
        sim,
        endpoints: HashMap::from([(beeline.clone(), endpoint)]),
        beeline,
        passenger,
        ca_pem: pki.ca_pem,
    }
}

fn ride(phone: &PhoneNumber) -> PaymentRequest {
    PaymentRequest {
        client_correlator: "tls-1".into(),
        phone: phone.clone(),
        amount: Tenge::from_whole(90),
        description: "Bus ride".into(),
        merchant_id: "smsbus".into(),
    }
}

#[tokio::test]
async fn an_operator_behind_its_own_ca_is_reached_when_that_ca_is_trusted() {
    let w = world().await;
    let client = CamaraClient::with_roots(
        w.endpoints.clone(),
        Duration::from_secs(5),
        w.ca_pem.as_bytes(),
    )
    .unwrap();
    let reserved = client
        .prepare(&w.beeline, &ride(&w.passenger))
        .await
        .unwrap();
    let confirmed = client.confirm(&w.beeline, &reserved.id).await.unwrap();
    assert_eq!(confirmed.amount, Tenge::from_whole(90));
    assert_eq!(w.sim.captured_total(&w.passenger), Tenge::from_whole(90));
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_and_nothing_is_charged() {
    let w = world().await;
    let client = CamaraClient::new(w.endpoints.clone(), Duration::from_secs(5)).unwrap();
    let outcome = client.prepare(&w.beeline, &ride(&w.passenger)).await;
    assert!(
        matches!(outcome, Err(OperatorError::Unavailable(_))),
        "{outcome:?}"
    );
    assert!(w.sim.payments().is_empty());
    assert_eq!(
        w.sim.issued_tokens(&w.beeline),
        0,
        "not even a token asked for"
    );
}

#[test]
fn a_bundle_without_certificates_is_a_configuration_error() {
    let outcome = CamaraClient::with_roots(HashMap::new(), Duration::from_secs(1), b"not pem");
    assert!(matches!(outcome, Err(OperatorError::Protocol(_))));
}
