//! Banks in the demo and on the command line: the demo's banks (Kaspi with Kaspi's result
//! codes, Halyk with OSMP's) and its demo card; `smsbus bank pay` plays a bank app's customer
//! topping up a card through the simulated bank, which calls our biller endpoint over HTTP as
//! Kaspi does and prints what the bank sees; `smsbus bench topup` runs many of them at once
//! (with duplicate deliveries) and checks that nothing was credited twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use domain::biller::Dialect;
use domain::card::CardNumber;
use domain::{PhoneNumber, Tenge};
use service::App;
use service::staff::Actor;
use simulators::bank::{BankSimulator, TopUp};

/// The demo's banks: id, name, result-code dialect.
pub const DEMO_BANKS: [(&str, &str, Dialect); 2] = [
    ("kaspi", "Kaspi Bank", Dialect::Kaspi),
    ("halyk", "Halyk Bank", Dialect::Osmp),
];
/// Where the demo's banks may call from.
pub const DEMO_BANK_NETWORKS: &str = "127.0.0.1, ::1";
/// The demo's holder of a transport card.
pub const DEMO_CARD_HOLDER: &str = "+77051234567";

/// The demo's secret of a bank (`smsbus bank pay` uses it unless told another).
pub fn demo_secret(bank: &str) -> String {
    format!("demo-{bank}-bank-secret-0000")
}

/// Configures the demo's banks and opens the demo card (once: a holder with a card keeps it).
pub async fn seed_demo(app: &App) -> anyhow::Result<CardNumber> {
    for (id, name, dialect) in DEMO_BANKS {
        service::banks::configure(
            app,
            &Actor::command_line(),
            id,
            name,
            dialect,
            DEMO_BANK_NETWORKS,
            &demo_secret(id),
        )
        .await
        .map_err(|e| anyhow::anyhow!("bank {id}: {}", e.detail))?;
    }
    let holder = PhoneNumber::parse(DEMO_CARD_HOLDER)?;
    let cards = service::cards::list(app, &holder)
        .await
        .map_err(|e| anyhow::anyhow!("demo card: {}", e.detail))?;
    if let Some(card) = cards.into_iter().next() {
        return Ok(card.number);
    }
    let opened = service::cards::open(
        app,
        &holder,
        &service::cards::OpenCard {
            kind: "regular".into(),
            holder_name: "Айгерим Серикова".into(),
            ..service::cards::OpenCard::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("demo card: {}", e.detail))?;
    Ok(opened.number)
}

#[derive(clap::Subcommand, Debug)]
pub enum BankCommand {
    /// A bank app's customer tops up a card: the bank checks, then pays, as Kaspi does.
    Pay(BankPayArgs),
}

#[derive(clap::Args, Debug)]
pub struct BankPayArgs {
    /// The bank (as configured: `kaspi`, `halyk` in the demo).
    #[arg(long, default_value = "kaspi")]
    pub bank: String,
    /// The card number (16 digits, spaces allowed).
    #[arg(long)]
    pub card: String,
    /// The sum in tenge, as the bank writes it (`500`, `500.00`).
    #[arg(long)]
    pub sum: String,
    /// The running server.
    #[arg(long, env = "SMSBUS_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The bank's secret (default: the demo's secret of that bank).
    #[arg(long, env = "SMSBUS_BANK_SECRET")]
    pub secret: Option<String>,
    /// Deliver the pay this many more times at once (a bank's duplicate deliveries).
    #[arg(long, default_value_t = 0)]
    pub duplicates: usize,
    /// Write the bank's daily registry (CSV) here afterwards.
    #[arg(long)]
    pub registry: Option<std::path::PathBuf>,
}

fn txn_date_now() -> String {
    jiff::Zoned::now()
        .with_time_zone(service::catalogue::country_time_zone())
        .strftime("%Y%m%d%H%M%S")
        .to_string()
}

fn describe(bank: &str, top_up: &TopUp) -> String {
    let check = &top_up.check;
    let mut out = format!(
        "{bank} check txn_id={}: result={} ({})",
        top_up.txn_id, check.result, check.comment
    );
    for (name, value) in &check.fields {
        out.push_str(&format!(" {name}={value}"));
    }
    if let Some(pay) = &top_up.pay {
        out.push_str(&format!(
            "\n{bank} pay txn_id={}: result={} ({}) sum={} prv_txn_id={} attempts={}",
            top_up.txn_id,
            pay.result,
            pay.comment,
            pay.sum,
            pay.prv_txn_id.map(|p| p.to_string()).unwrap_or_default(),
            top_up.pay_attempts
        ));
    }
    out
}

pub async fn run(command: BankCommand) -> anyhow::Result<()> {
    let BankCommand::Pay(args) = command;
    let card = CardNumber::parse(&args.card).map_err(|e| anyhow::anyhow!("--card: {e}"))?;
    let secret = args.secret.unwrap_or_else(|| demo_secret(&args.bank));
    let bank = BankSimulator::new(&args.server, &args.bank, &secret, Duration::from_secs(15))?
        .with_duplicates(args.duplicates);
    let top_up = bank
        .top_up(card.as_str(), &args.sum, &txn_date_now())
        .await
        .with_context(|| format!("the bank {} could not reach {}", args.bank, args.server))?;
    println!("{}", describe(&args.bank, &top_up));
    if let Some(path) = &args.registry {
        std::fs::write(path, bank.registry_csv())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let paid = top_up.pay.as_ref().is_some_and(|p| p.result == 0);
    anyhow::ensure!(paid, "the top-up was refused");
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct BenchTopupArgs {
    /// SQLite file (a fresh temporary one by default) or a postgres:// URL (a fresh schema).
    #[arg(long)]
    pub db: Option<String>,
    /// Top-ups (each a check and a pay).
    #[arg(long, default_value_t = 5_000)]
    pub pays: usize,
    /// Requests in flight at once (a bank opens 10–15; more shows the ceiling).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Every pay is delivered this many more times at once.
    #[arg(long, default_value_t = 1)]
    pub duplicates: usize,
    /// Cards the top-ups are spread over.
    #[arg(long, default_value_t = 200)]
    pub cards: usize,
}

/// `smsbus bench topup`: pays per second over HTTP with the bank simulator, p99 of a pay, and
/// the books afterwards: each card's balance equals its bank's payments, nothing twice.
pub async fn bench(args: BenchTopupArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.pays > 0 && args.concurrency > 0 && args.cards > 0,
        "--pays, --concurrency and --cards must be positive"
    );
    let city = crate::bench_ride::BenchCity::start(
        args.db.as_deref(),
        Arc::new(service::clock::SystemClock),
        1,
    )
    .await?;
    let app = Arc::clone(&city.app);
    seed_demo(&app).await?;
    let mut cards = Vec::with_capacity(args.cards);
    for i in 0..args.cards {
        let holder = PhoneNumber::parse(&format!("+7702{:07}", 2_000_000 + i / 5))?;
        let card = service::cards::open(
            &app,
            &holder,
            &service::cards::OpenCard {
                kind: "regular".into(),
                holder_name: "Bench Holder".into(),
                ..service::cards::OpenCard::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("opening a card: {}", e.detail))?;
        cards.push(card.number.as_str().to_owned());
    }
    let bank = Arc::new(
        BankSimulator::new(
            &format!("http://{}", city.addr),
            "kaspi",
            &demo_secret("kaspi"),
            Duration::from_secs(15),
        )?
        .with_duplicates(args.duplicates),
    );
    let cards = Arc::new(cards);
    let next = Arc::new(AtomicUsize::new(0));
    let txn_date = txn_date_now();
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (bank, cards, next, txn_date) = (
            Arc::clone(&bank),
            Arc::clone(&cards),
            Arc::clone(&next),
            txn_date.clone(),
        );
        let pays = args.pays;
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut refused = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= pays {
                    break;
                }
                let card = cards.get(i % cards.len()).cloned().unwrap_or_default();
                let t0 = Instant::now();
                let ok = matches!(bank.top_up(&card, "100.00", &txn_date).await,
                    Ok(t) if t.pay.as_ref().is_some_and(|p| p.result == 0));
                latencies.push(t0.elapsed());
                refused += usize::from(!ok);
            }
            (latencies, refused)
        });
    }
    let mut latencies = Vec::with_capacity(args.pays);
    let mut refused = 0;
    while let Some(done) = workers.join_next().await {
        let (mut l, r) = done?;
        latencies.append(&mut l);
        refused += r;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let p99 = latencies
        .get(((latencies.len() as f64 - 1.0) * 0.99).round() as usize)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    // The books: every registry line credited once, each card's balance its payments.
    let registry = bank.registry();
    let credited = service::banks::top_ups_booked(&app)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let credited_twice = usize::try_from(credited)
        .unwrap_or(0)
        .saturating_sub(registry.len());
    let mut balance_mismatches = 0;
    let holder_of = |i: usize| PhoneNumber::parse(&format!("+7702{:07}", 2_000_000 + i / 5));
    for (i, number) in cards.iter().enumerate() {
        let paid: i64 = registry
            .iter()
            .filter(|l| &l.account == number)
            .map(|l| Tenge::parse_decimal(&l.sum).map_or(0, |s| s.tiyn()))
            .sum();
        let card = service::cards::get(&app, &holder_of(i)?, &CardNumber::parse(number)?)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
        balance_mismatches += usize::from(card.balance.tiyn() != paid);
    }
    let ledger = service::ledger::report(&app)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    if refused > 0 {
        eprintln!("bench topup: {refused} top-ups were not paid");
    }
    println!(
        "bench topup: store={} pays={} duplicates={} pays_per_s={:.0} p99_ms={p99:.2} credited_twice={credited_twice} balance_mismatches={balance_mismatches} ledger_balanced={}",
        city.store_name,
        args.pays,
        args.duplicates,
        args.pays as f64 / elapsed.as_secs_f64(),
        ledger.balanced(),
    );
    city.remove_temporary();
    Ok(())
}

/// Opens a card for each of the bench's passengers ([`crate::bench_operator::bench_phones`]) and
/// credits each, through the biller's use case, with the fares of its share of `rides` and a
/// margin; returns the card numbers in passenger order.
pub async fn fund_cards(app: &App, passengers: usize, rides: usize) -> anyhow::Result<Vec<String>> {
    seed_demo(app).await?;
    let bank = service::banks::bank(app, "kaspi")
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?
        .context("the demo bank")?;
    let per_card = (rides / passengers.max(1) + 2) * 90;
    let mut cards = Vec::with_capacity(passengers);
    for (i, holder) in crate::bench_operator::bench_phones(passengers)?
        .iter()
        .enumerate()
    {
        let card = service::cards::open(
            app,
            holder,
            &service::cards::OpenCard {
                kind: "regular".into(),
                ..service::cards::OpenCard::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("opening a card: {}", e.detail))?;
        let answer = service::banks::answer(
            app,
            &bank,
            &service::banks::BillerRequest {
                command: "pay".into(),
                txn_id: format!("fund-{i}"),
                txn_date: txn_date_now(),
                account: card.number.as_str().to_owned(),
                sum: Tenge::from_whole(i64::try_from(per_card)?.min(50_000)).to_decimal(),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
        anyhow::ensure!(answer.result == 0, "funding a card: {}", answer.comment);
        cards.push(card.number.as_str().to_owned());
    }
    Ok(cards)
}
