//! `smsbus bench sms`: passengers' messages in and tickets out per second through the
//! simulated SMSC over SMPP — deliver_sm, stored, the ride (operator billing simulated over
//! HTTP as in `bench ride`), the ticket signed, queued, and sent back as concatenated UCS-2
//! submit_sm — and the p99 from the message's deliver_sm to the ticket's (last) submit_sm.
//! Every passenger sends once; afterwards nobody may have been charged twice or answered twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use domain::{OperatorId, PhoneNumber, Tenge};
use partners::operator::CamaraClient;
use service::clock::SystemClock;
use service::{App, Settings};
use simulators::operator::{OperatorSimulator, Subscriber};
use simulators::smsc::{SmscSimulator, demo_accounts};

const PASSWORD: &str = "bench";
/// One Astana fare, 90 ₸.
const FARE_TIYN: i64 = 9_000;
/// (national prefix, operator) the passengers are spread over, one bind each.
const OPERATORS: [(&str, &str); 3] = [("701", "kcell"), ("705", "beeline"), ("707", "tele2")];
const REPLY_WAIT_S: u64 = 120;

#[derive(clap::Args, Debug)]
pub struct BenchSmsArgs {
    /// SQLite file (a fresh temporary one by default) or a postgres:// URL (a fresh schema).
    #[arg(long)]
    pub db: Option<String>,
    /// Messages, each from its own passenger.
    #[arg(long, default_value_t = 3_000)]
    pub messages: usize,
    /// Open loop: messages per second; without it, all at once (throughput).
    #[arg(long)]
    pub rate: Option<u32>,
    /// Requests in flight per bind.
    #[arg(long, default_value_t = 64)]
    pub window: usize,
}

pub async fn run(args: BenchSmsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.messages > 0 && args.window > 0,
        "--messages and --window must be positive"
    );
    let (db, schema) = match &args.db {
        Some(url) if url.starts_with("postgres") => (
            url.clone(),
            Some(format!("bench_sms_{}", std::process::id())),
        ),
        Some(path) => (path.clone(), None),
        None => (
            std::env::temp_dir()
                .join(format!("smsbus-bench-sms-{}.db", std::process::id()))
                .display()
                .to_string(),
            None,
        ),
    };
    let simulator = OperatorSimulator::start("127.0.0.1:0".parse()?).await?;
    simulators::demo::seed(&simulator)?;
    let mut phones = Vec::with_capacity(args.messages);
    for (i, (prefix, operator)) in (0..args.messages).zip(OPERATORS.iter().cycle()) {
        let phone = PhoneNumber::parse(&format!("+7{prefix}{:07}", 2_000_000 + i))?;
        simulator.add_subscriber(Subscriber::new(
            phone.clone(),
            OperatorId::parse(operator)?,
            Tenge::from_whole(10_000),
        ))?;
        phones.push(phone);
    }
    let endpoints = crate::demo::simulator_endpoints(&simulator)?;
    let store = store::Store::open_with(store::StoreOptions {
        url: db,
        postgres_schema: schema,
    })
    .await
    .context("opening the store")?;
    let client = Arc::new(CamaraClient::new(endpoints, Duration::from_secs(5))?);
    let app = App::start(
        store,
        client.clone(),
        client,
        Arc::new(SystemClock),
        Settings::default(),
    )
    .await?;
    crate::demo::load_seed_catalogue(&app).await?;
    let smsc = SmscSimulator::start("127.0.0.1:0".parse()?, demo_accounts(PASSWORD)).await?;
    let mut configs = crate::smpp_cli::demo_configs(smsc.smpp_addr(), PASSWORD)?;
    for config in &mut configs {
        config.window = args.window;
        config.throughput_per_s = 1_000_000;
    }
    let smpp = service::smpp::SmppService::start(Arc::clone(&app), configs).await?;
    anyhow::ensure!(
        smpp.wait_bound(Duration::from_secs(10)).await,
        "not bound to the simulated SMSC"
    );

    let started = Instant::now();
    let mut sent_at_ms = Vec::with_capacity(phones.len());
    let mut pace = args
        .rate
        .map(|rate| tokio::time::interval(Duration::from_secs(1) / rate.max(1)));
    for phone in &phones {
        if let Some(pace) = pace.as_mut() {
            pace.tick().await;
        }
        sent_at_ms.push(smsc.elapsed_ms());
        smsc.send_from_phone(
            phone.as_e164(),
            crate::smpp_cli::SHORT_NUMBER,
            "10101",
            None,
        )
        .await?;
    }
    let mut latencies_ms = Vec::with_capacity(phones.len());
    let mut answered_twice = 0;
    for (phone, sent) in phones.iter().zip(&sent_at_ms) {
        let inbox = smsc
            .wait_inbox(phone.as_e164(), 1, Duration::from_secs(REPLY_WAIT_S))
            .await;
        let first = inbox
            .first()
            .with_context(|| format!("{} got no reply", phone.as_e164()))?;
        anyhow::ensure!(
            first.text.contains("№"),
            "{} got no ticket: {}",
            phone.as_e164(),
            first.text
        );
        latencies_ms.push(first.at_ms.saturating_sub(*sent));
        answered_twice += usize::from(inbox.len() > 1);
    }
    let elapsed = started.elapsed();
    let smsc_stats = smsc.stats().await;
    smpp.shutdown().await;
    let charged_twice = phones
        .iter()
        .filter(|p| simulator.captured_total(p).tiyn() > FARE_TIYN)
        .count();
    let uncharged = phones
        .iter()
        .filter(|p| simulator.captured_total(p).tiyn() == 0)
        .count();
    anyhow::ensure!(
        uncharged == 0,
        "{uncharged} passengers got a ticket without a charge"
    );
    latencies_ms.sort_unstable();
    let p99 = latencies_ms
        .get((latencies_ms.len() * 99).div_ceil(100).saturating_sub(1))
        .copied()
        .unwrap_or(0);
    let per_s = phones.len() as f64 / elapsed.as_secs_f64();
    println!(
        "bench sms: messages_per_s={per_s:.0} p99_ms={p99} charged_twice={charged_twice} answered_twice={answered_twice} messages={} rate={} smsc_redeliveries={}",
        phones.len(),
        args.rate
            .map_or("unlimited".to_owned(), |r| format!("{r}/s")),
        smsc_stats.delivers_refused,
    );
    Ok(())
}
