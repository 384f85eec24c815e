//! The benchmarks' operator simulator, in this process or in one of its own. The soak runs it
//! apart (`smsbus bench operator`, started and driven by [`OperatorSide::Apart`] over the
//! simulator's admin HTTP API), so the memory it reads each minute is the server's alone: the
//! simulator keeps every payment it ever took, as an operator's books do, and grows with them.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use anyhow::Context;
use domain::{OperatorId, PhoneNumber, Tenge};
use partners::health::CALL_TIME_BUCKETS;
use simulators::operator::{
    Endpoint, Fault, OperatorSimulator, PaymentStatus, SimulatorHandle, Subscriber,
};

/// The line the simulator's process prints first, with the address it listens on.
const LISTENING_PREFIX: &str = "operator_simulator=";
/// Each admin request of the benchmark to the simulator's process gives up after this long.
const ADMIN_TIMEOUT_S: u64 = 60;

#[derive(clap::Args, Debug)]
pub struct BenchOperatorArgs {
    /// Where the simulator listens (a free loopback port by default).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// The benchmark's passengers to add as subscribers (`+7701…`, as the benchmarks number
    /// them), besides the demo's.
    #[arg(long, default_value_t = 0)]
    pub passengers: usize,
}

/// The benchmarks' passengers: `+77011000000` and on, one per passenger.
pub fn bench_phones(passengers: usize) -> anyhow::Result<Vec<PhoneNumber>> {
    (0..passengers)
        .map(|i| {
            PhoneNumber::parse(&format!("+7701{:07}", 1_000_000 + i)).map_err(anyhow::Error::from)
        })
        .collect()
}

/// Starts a simulator seeded as the demo's, with the benchmark's passengers as kcell
/// subscribers holding 10 million tenge each.
async fn seeded(addr: SocketAddr, passengers: usize) -> anyhow::Result<SimulatorHandle> {
    let simulator = OperatorSimulator::start(addr).await?;
    simulators::demo::seed(&simulator)?;
    let kcell = OperatorId::parse("kcell")?;
    for phone in bench_phones(passengers)? {
        simulator.add_subscriber(Subscriber::new(
            phone,
            kcell.clone(),
            Tenge::from_whole(10_000_000),
        ))?;
    }
    Ok(simulator)
}

/// `smsbus bench operator`: the simulator alone, until its standard input closes (the
/// benchmark that started it ended, or died).
pub async fn serve(args: BenchOperatorArgs) -> anyhow::Result<()> {
    let simulator = seeded(args.addr, args.passengers).await?;
    println!("{LISTENING_PREFIX}{}", simulator.addr());
    let (closed, stdin_closed) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _read = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _sent = closed.send(());
    });
    let _closed = stdin_closed.await;
    simulator.shutdown().await;
    Ok(())
}

/// A payment as the operator's books hold it.
pub struct Payment {
    pub client_correlator: Option<String>,
    pub status: PaymentStatus,
}

/// `GET /_admin/payments`, as far as the books need it.
#[derive(serde::Deserialize)]
struct BooksIn {
    payments: Vec<PaymentIn>,
}

#[derive(serde::Deserialize)]
struct PaymentIn {
    client_correlator: Option<String>,
    status: String,
}

/// Where a benchmark's operator simulator runs.
pub enum OperatorSide {
    /// In the benchmark's process: its memory counts with the server's.
    Here(SimulatorHandle),
    /// In a process of its own, driven over its admin API.
    Apart(Apart),
}

/// The simulator's own process; killed when this is dropped.
pub struct Apart {
    child: Child,
    addr: SocketAddr,
    http: reqwest::Client,
}

impl Drop for Apart {
    fn drop(&mut self) {
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
    }
}

impl OperatorSide {
    pub async fn start(passengers: usize, apart: bool) -> anyhow::Result<OperatorSide> {
        if !apart {
            return Ok(OperatorSide::Here(
                seeded("127.0.0.1:0".parse()?, passengers).await?,
            ));
        }
        let mut child = Command::new(std::env::current_exe().context("this program's path")?)
            .args(["bench", "operator", "--passengers", &passengers.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the operator simulator's process")?;
        let stdout = child.stdout.take().context("the simulator's output")?;
        // Read on a blocking thread: seeding many passengers takes a while.
        let first = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await??;
        let addr = first
            .trim()
            .strip_prefix(LISTENING_PREFIX)
            .and_then(|a| a.parse().ok())
            .with_context(|| format!("the simulator's process printed {first:?}"))?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(ADMIN_TIMEOUT_S))
            .build()?;
        Ok(OperatorSide::Apart(Apart { child, addr, http }))
    }

    pub fn base_url(&self, operator: &OperatorId) -> String {
        match self {
            OperatorSide::Here(simulator) => simulator.base_url(operator),
            OperatorSide::Apart(apart) => format!("http://{}/{operator}", apart.addr),
        }
    }

    /// The operator's books: every payment, oldest first.
    pub async fn payments(&self) -> anyhow::Result<Vec<Payment>> {
        match self {
            OperatorSide::Here(simulator) => Ok(simulator
                .payments()
                .into_iter()
                .map(|p| Payment {
                    client_correlator: p.client_correlator,
                    status: p.status,
                })
                .collect()),
            OperatorSide::Apart(apart) => {
                let books: BooksIn = apart
                    .admin(apart.http.get(apart.url("/_admin/payments")))
                    .await?
                    .json()
                    .await?;
                books
                    .payments
                    .into_iter()
                    .map(|row| {
                        Ok(Payment {
                            status: PaymentStatus::from_wire(&row.status)
                                .with_context(|| format!("a payment's status {:?}", row.status))?,
                            client_correlator: row.client_correlator,
                        })
                    })
                    .collect()
            }
        }
    }

    /// Makes the operator misbehave for the next `times` requests to `endpoint`.
    pub async fn inject(
        &self,
        operator: &OperatorId,
        endpoint: Endpoint,
        fault: Fault,
        times: u32,
    ) -> anyhow::Result<()> {
        match self {
            OperatorSide::Here(simulator) => {
                Ok(simulator.inject(operator, endpoint, fault, times)?)
            }
            OperatorSide::Apart(apart) => {
                let rule =
                    simulators::operator::admin::fault_rule(operator, endpoint, fault, times);
                apart
                    .admin(apart.http.post(apart.url("/_admin/faults")).json(&rule))
                    .await
                    .map(drop)
            }
        }
    }

    /// Drops the operator's waiting faults.
    pub async fn clear_faults(&self, operator: &OperatorId) -> anyhow::Result<()> {
        match self {
            OperatorSide::Here(simulator) => {
                simulator.clear_faults(operator);
                Ok(())
            }
            OperatorSide::Apart(apart) => apart
                .admin(
                    apart
                        .http
                        .delete(apart.url(&format!("/_admin/faults/{operator}"))),
                )
                .await
                .map(drop),
        }
    }

    /// The simulator's own CAMARA requests so far, by how long they waited for its books' lock
    /// and held it (`partners::health::CALL_TIME_BUCKETS_MS`).
    pub async fn timings(&self) -> anyhow::Result<SimulatorTimings> {
        match self {
            OperatorSide::Here(simulator) => Ok(SimulatorTimings {
                lock_wait: simulator.timings().lock_wait.snapshot().took,
                lock_held: simulator.timings().lock_held.snapshot().took,
            }),
            OperatorSide::Apart(apart) => {
                let out: simulators::operator::admin::TimingsOut = apart
                    .admin(apart.http.get(apart.url("/_admin/timings")))
                    .await?
                    .json()
                    .await?;
                let counts = |v: &[u64]| -> anyhow::Result<[u64; CALL_TIME_BUCKETS]> {
                    v.try_into().map_err(|_| {
                        anyhow::anyhow!("timings: {} buckets, not {CALL_TIME_BUCKETS}", v.len())
                    })
                };
                Ok(SimulatorTimings {
                    lock_wait: counts(&out.lock_wait)?,
                    lock_held: counts(&out.lock_held)?,
                })
            }
        }
    }

    /// The resident memory of the simulator's own process, in MiB (`None` in this process).
    pub fn rss_mb(&self) -> Option<f64> {
        match self {
            OperatorSide::Here(_) => None,
            OperatorSide::Apart(apart) => Some(crate::bench_soak::rss_mb_of(&format!(
                "/proc/{}/status",
                apart.child.id()
            ))),
        }
    }
}

/// The simulator's requests by how long they waited for its lock and held it.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimulatorTimings {
    pub lock_wait: [u64; CALL_TIME_BUCKETS],
    pub lock_held: [u64; CALL_TIME_BUCKETS],
}

impl Apart {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn admin(&self, request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let answer = request.send().await.context("the simulator's admin API")?;
        anyhow::ensure!(
            answer.status().is_success(),
            "the simulator's admin API answered {}",
            answer.status()
        );
        Ok(answer)
    }
}
