//! `smsbus bench ride`: rides end to end over HTTP — the server, the operator simulator over
//! HTTP, SIM swap check, prepare, confirm, signing, durable commit — with a share of
//! concurrent retries of the same request, then checks that nothing was charged twice and the
//! ledger balances. On PostgreSQL it runs `pgbench -b tpcb-like` on the same server for scale.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use domain::PhoneNumber;
use partners::operator::CamaraClient;
use service::clock::{Clock, SystemClock};
use service::{App, Settings};
use simulators::operator::PaymentStatus;

use crate::bench_operator::OperatorSide;

/// Distinct passengers the rides are spread over.
const PASSENGERS: usize = 1_000;
/// Every this-many-th ride is sent twice at once with the same idempotency key.
const RETRY_EVERY: usize = 20;

#[derive(clap::Args, Debug)]
pub struct BenchRideArgs {
    /// SQLite file (a fresh temporary one by default) or a postgres:// URL (a fresh schema).
    #[arg(long)]
    pub db: Option<String>,
    #[arg(long, default_value_t = 5_000)]
    pub rides: usize,
    /// Requests in flight at once (closed loop).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Open loop: start rides at this rate per second instead of as fast as possible.
    #[arg(long)]
    pub rate: Option<u32>,
    /// Who pays: `phone` (the operator's balance) or `card` (each passenger's transport card,
    /// topped up before the clock starts).
    #[arg(long, default_value = "phone", value_parser = ["phone", "card"])]
    pub source: String,
}

pub async fn run(args: BenchRideArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.rides > 0 && args.concurrency > 0,
        "--rides and --concurrency must be positive"
    );
    let city = BenchCity::start(args.db.as_deref(), Arc::new(SystemClock), PASSENGERS).await?;
    let (addr, tokens) = (city.addr, Arc::clone(&city.tokens));
    let cards = Arc::new(if args.source == "card" {
        crate::bank_cli::fund_cards(&city.app, PASSENGERS, args.rides).await?
    } else {
        Vec::new()
    });
    let url = format!("http://{addr}/v1/rides");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (http, url, next, tokens, cards) = (
            http.clone(),
            url.clone(),
            Arc::clone(&next),
            Arc::clone(&tokens),
            Arc::clone(&cards),
        );
        let rate = args.rate;
        let rides = args.rides;
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= rides {
                    break;
                }
                if let Some(rate) = rate {
                    let due = started + Duration::from_secs_f64(i as f64 / f64::from(rate.max(1)));
                    tokio::time::sleep_until(due.into()).await;
                }
                let token = tokens.get(i % tokens.len()).cloned().unwrap_or_default();
                // Each passenger rides the same bus many times: every ticket is asked for on
                // purpose, so the repeat rule runs (and counts the tickets held) on every ride.
                let body = match cards.get(i % tokens.len().max(1)) {
                    Some(card) => serde_json::json!({"transport_code": "10101", "additional": true, "card": card}),
                    None => serde_json::json!({"transport_code": "10101", "additional": true}),
                };
                let key = format!("bench-{i}");
                let send = || http.post(&url).bearer_auth(&token).header("Idempotency-Key", &key).json(&body).send();
                let t0 = Instant::now();
                let ok = if i % RETRY_EVERY == 0 {
                    let (a, b) = tokio::join!(send(), send());
                    matches!((a, b), (Ok(a), Ok(b)) if a.status().as_u16() == 201 && b.status().as_u16() == 201)
                } else {
                    matches!(send().await, Ok(r) if r.status().as_u16() == 201)
                };
                latencies.push(t0.elapsed());
                failures += usize::from(!ok);
            }
            (latencies, failures)
        });
    }
    let mut latencies = Vec::with_capacity(args.rides);
    let mut failures = 0;
    while let Some(done) = workers.join_next().await {
        let (mut l, f) = done?;
        latencies.append(&mut l);
        failures += f;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies
            .get(index)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };

    let books = city.books().await?;
    let rides_per_s = args.rides as f64 / elapsed.as_secs_f64();
    if failures > 0 {
        eprintln!("bench ride: {failures} rides did not end in a ticket");
    }
    if city.store_name == "postgres" {
        match pgbench(&city.db) {
            Ok(tps) => println!(
                "pgbench tpcb-like: tps={tps:.0} (rides_per_s / tps = {:.2})",
                rides_per_s / tps
            ),
            Err(error) => println!("pgbench tpcb-like: not run ({error:#})"),
        }
    }
    println!(
        "bench ride: store={} source={} rides={} rides_per_s={rides_per_s:.0} p50_ms={:.2} p99_ms={:.2} charged_twice={} ledger_balanced={}",
        city.store_name,
        args.source,
        args.rides,
        percentile(0.50),
        percentile(0.99),
        books.charged_twice,
        books.balanced,
    );
    city.remove_temporary();
    Ok(())
}

/// A benchmark's city: the operator simulator with its passengers as subscribers, a fresh store,
/// the server on a free port with its recovery worker, every passenger signed in.
pub struct BenchCity {
    pub simulator: OperatorSide,
    pub store: store::Store,
    pub app: Arc<App>,
    pub addr: std::net::SocketAddr,
    /// One session token per passenger.
    pub tokens: Arc<Vec<String>>,
    pub db: String,
    pub store_name: &'static str,
    /// The counters of the server's calls to each operator (as the partners screen shows them).
    pub operator_health: Vec<Arc<partners::health::CallHealth>>,
    temporary: bool,
}

/// What the books say after a run.
pub struct Books {
    /// Rides `issued` (each has its one ticket).
    pub tickets: i64,
    /// Rides whose payment the operator captured more than once, plus captures beyond the
    /// tickets issued.
    pub charged_twice: usize,
    /// Payments captured with no ticket for them, and reservations still held.
    pub lost: usize,
    pub balanced: bool,
}

impl BenchCity {
    /// `db`: a SQLite file (a fresh temporary one when `None`) or a postgres:// URL (a fresh
    /// schema).
    pub async fn start(
        db: Option<&str>,
        clock: Arc<dyn Clock>,
        passengers: usize,
    ) -> anyhow::Result<BenchCity> {
        BenchCity::start_with(db, clock, passengers, false).await
    }

    /// [`BenchCity::start`], with the operator simulator in a process of its own when
    /// `simulator_apart`.
    pub async fn start_with(
        db: Option<&str>,
        clock: Arc<dyn Clock>,
        passengers: usize,
        simulator_apart: bool,
    ) -> anyhow::Result<BenchCity> {
        let (db, schema, store_name, temporary) = match db {
            Some(url) if url.starts_with("postgres") => (
                url.to_owned(),
                Some(format!("bench_{}", std::process::id())),
                "postgres",
                false,
            ),
            Some(path) => (path.to_owned(), None, "sqlite", false),
            None => {
                let path =
                    std::env::temp_dir().join(format!("smsbus-bench-{}.db", std::process::id()));
                (path.display().to_string(), None, "sqlite", true)
            }
        };
        let simulator = OperatorSide::start(passengers, simulator_apart).await?;
        let phones = crate::bench_operator::bench_phones(passengers)?;
        let endpoints = crate::demo::simulator_endpoints_at(|id| simulator.base_url(id))?;
        let store = store::Store::open_with(store::StoreOptions {
            url: db.clone(),
            postgres_schema: schema,
        })
        .await
        .context("opening the store")?;
        let client = Arc::new(CamaraClient::new(
            endpoints,
            Duration::from_millis(crate::wiring::OPERATOR_TIMEOUT_MS),
        )?);
        let described = client.describe();
        let operator_health = described.iter().map(|d| Arc::clone(&d.health)).collect();
        let app = App::start(
            store.clone(),
            client.clone(),
            client,
            clock,
            Settings {
                // Every passenger signs in at once before the clock starts.
                sign_in_codes_per_minute_max: i64::try_from(passengers)?,
                ..Settings::default()
            },
        )
        .await?;
        app.partners.set_operators(described);
        crate::demo::load_seed_catalogue(&app).await?;
        let addr = crate::wiring::start_with(
            Arc::clone(&app),
            crate::wiring::bind("127.0.0.1:0".parse()?).await?,
            // One client opens every connection of the benchmark.
            api::ApiSettings {
                rate_per_s: 0,
                rate_burst: 0,
                connections: api::ConnectionLimits {
                    connections_per_client_max: api::CONNECTIONS_MAX,
                    ..api::ConnectionLimits::default()
                },
                ..api::ApiSettings::new()
            },
        )
        .await?;
        let tokens = Arc::new(sign_in_all(&app, &store, &phones).await?);
        Ok(BenchCity {
            simulator,
            store,
            app,
            addr,
            tokens,
            db,
            store_name,
            operator_health,
            temporary,
        })
    }

    /// The operator's records against ours: nothing charged twice, nothing captured without a
    /// ticket, nothing left reserved, the ledger balanced.
    pub async fn books(&self) -> anyhow::Result<Books> {
        let payments = self.simulator.payments().await?;
        let mut by_ride: HashMap<String, usize> = HashMap::new();
        for payment in payments
            .iter()
            .filter(|p| p.status == PaymentStatus::Succeeded)
        {
            *by_ride
                .entry(payment.client_correlator.clone().unwrap_or_default())
                .or_insert(0) += 1;
        }
        let reserved = payments
            .iter()
            .filter(|p| p.status == PaymentStatus::Reserved)
            .count();
        let mut conn = self.store.reader().await?;
        let tickets = store::rides::count_by_status(&mut conn)
            .await?
            .into_iter()
            .find(|(s, _)| s == domain::ride::RideStatus::Issued.as_str())
            .map_or(0, |(_, n)| n);
        let captured: usize = by_ride.values().sum();
        let issued = usize::try_from(tickets).unwrap_or(0);
        let balanced = store::ledger::totals_by_layer(&mut conn)
            .await?
            .iter()
            .all(|(_, sum)| *sum == 0);
        Ok(Books {
            tickets,
            charged_twice: by_ride.values().filter(|n| **n > 1).count()
                + captured.saturating_sub(issued),
            lost: reserved + by_ride.len().saturating_sub(issued),
            balanced,
        })
    }

    /// Removes the temporary SQLite file, if the benchmark made one.
    pub fn remove_temporary(&self) {
        if self.temporary {
            let _removed = std::fs::remove_file(&self.db);
        }
    }
}

/// Signs every passenger in the way a user does (a code by SMS, then a session), before the clock starts.
async fn sign_in_all(
    app: &App,
    store: &store::Store,
    phones: &[PhoneNumber],
) -> anyhow::Result<Vec<String>> {
    let mut tokens = Vec::with_capacity(phones.len());
    for (index, phone) in phones.iter().enumerate() {
        // Each from its own address (10.0.0.0/8), as passengers on their own phones are.
        let client = std::net::Ipv4Addr::from(0x0a00_0000 + u32::try_from(index)?);
        service::sessions::request_code(app, phone, domain::Language::En, client.into()).await?;
    }
    let mut conn = store.reader().await?;
    let outbox = store::sms::pending_outbox(&mut conn, 100_000).await?;
    drop(conn);
    for phone in phones {
        let sms = outbox
            .iter()
            .rev()
            .find(|m| m.phone == phone.as_e164())
            .context("no sign-in SMS")?;
        let code: String = sms
            .body
            .chars()
            .filter(char::is_ascii_digit)
            .take(6)
            .collect();
        tokens.push(
            service::sessions::sign_in(app, phone, &code, None)
                .await?
                .token,
        );
    }
    Ok(tokens)
}

/// `pgbench -b tpcb-like` for 10 s on the same server, 8 clients: the server's own yardstick.
fn pgbench(url: &str) -> anyhow::Result<f64> {
    let run = |args: &[&str]| -> anyhow::Result<String> {
        let output = std::process::Command::new("pgbench")
            .args(args)
            .arg(url)
            .output()
            .context("running pgbench")?;
        anyhow::ensure!(
            output.status.success(),
            "pgbench failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    run(&["-i", "-q", "-s", "4"])?;
    let out = run(&["-b", "tpcb-like", "-c", "8", "-j", "2", "-T", "10"])?;
    out.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .context("no tps in pgbench output")
}
