//! Pushes two-step payments (SIM swap check, prepare, confirm) through the CAMARA client into the
//! operator simulator over HTTP and prints the throughput:
//! `cargo run --release -p partners --example operator_load -- [payments] [concurrency]`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a benchmark program fails loudly"
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::{OperatorId, PhoneNumber, Tenge};
use partners::operator::{
    CamaraClient, CarrierBilling, OperatorEndpoint, PaymentRequest, PaymentStatus, SimSwap,
    TIMEOUT_MS,
};
use simulators::operator::{OperatorSettings, OperatorSimulator, Subscriber};

const PASSENGERS: usize = 1_000;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let payments: usize = args
        .next()
        .map(|a| a.parse().expect("payments"))
        .unwrap_or(20_000);
    let concurrency: usize = args
        .next()
        .map(|a| a.parse().expect("concurrency"))
        .unwrap_or(64);
    let sim = OperatorSimulator::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let beeline = OperatorId::parse("beeline").unwrap();
    sim.add_operator(beeline.clone(), OperatorSettings::new("token"));
    let phones: Vec<PhoneNumber> = (0..PASSENGERS)
        .map(|i| PhoneNumber::parse(&format!("+7705{i:07}")).unwrap())
        .collect();
    for phone in &phones {
        sim.add_subscriber(Subscriber::new(
            phone.clone(),
            beeline.clone(),
            Tenge::from_whole(1_000_000),
        ))
        .unwrap();
    }
    let endpoint = OperatorEndpoint {
        base_url: sim.base_url(&beeline),
        credentials: partners::operator::oauth::Credentials::Bearer("token".to_owned()),
    };
    let client = CamaraClient::new(
        HashMap::from([(beeline.clone(), endpoint)]),
        Duration::from_millis(TIMEOUT_MS),
    )
    .unwrap();
    let shared = Arc::new((client, beeline, phones));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let shared = shared.clone();
        workers.spawn(async move {
            let (client, operator, phones) = &*shared;
            let mut latencies = Vec::new();
            for n in (worker..payments).step_by(concurrency) {
                let begun = Instant::now();
                let phone = &phones[n % phones.len()];
                assert!(!client.swapped_within(operator, phone, 24).await.unwrap());
                let request = PaymentRequest {
                    client_correlator: format!("load-{n}"),
                    phone: phone.clone(),
                    amount: Tenge::from_whole(90),
                    description: "ride".to_owned(),
                    merchant_id: "smsbus".to_owned(),
                };
                let reserved = client.prepare(operator, &request).await.unwrap();
                assert_eq!(
                    client.confirm(operator, &reserved.id).await.unwrap().status,
                    PaymentStatus::Succeeded
                );
                latencies.push(begun.elapsed());
            }
            latencies
        });
    }
    let mut latencies = Vec::with_capacity(payments);
    while let Some(done) = workers.join_next().await {
        latencies.extend(done.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "operator load: payments={payments} concurrency={concurrency} payments_per_s={:.0} p50_ms={:.2} p99_ms={:.2}",
        payments as f64 / elapsed,
        percentile(0.5),
        percentile(0.99)
    );
}
