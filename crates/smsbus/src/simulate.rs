//! `smsbus simulate`: a fault-injecting simulation of the money path, after TigerBeetle's VOPR.
//!
//! Each run is one seed. From it a small PRNG (splitmix64) chooses a sequence of operations on a
//! fresh store and a fresh operator simulator: rides by API and by SMS, retries with the same
//! idempotency key (also two at once), SMS redeliveries, repeats on the same bus (with and
//! without `additional`), recovery passes and clock moves; before a ride it programs operator
//! faults (every [`Fault`] kind on every payment endpoint, some operators answering a known
//! `clientCorrelator` with "already exists"), and it crashes the process at chosen points. After
//! the run it clears the faults, moves the [`ManualClock`] past the recovery windows and runs
//! recovery until nothing is unsettled (a bounded number of passes), then checks the books
//! against the operator simulator's own records ([`check`]):
//! - each ride has at most one payment at the operator and is captured at most once; no payment
//!   exists for a ride we do not have;
//! - a ride is `issued` with exactly one ticket exactly when its payment was captured, for the
//!   fare; every other ride is `failed`; nothing stays reserved at the operator;
//! - per number, what the operator captured equals the tickets' fares and the drop in the balance;
//! - the ledger balances in each layer and in each transfer, every account's balance equals
//!   the sum of its entries, nothing is left pending, and the posted carrier payable equals the
//!   captured fares;
//! - a second ticket on a bus was asked for as `additional`;
//! - every SMS ride's passenger got a final reply (the ticket or the refusal, never "pending"
//!   only), that reply agrees with the ride, and recovery told them at most once.
//!
//! **Crashes.** The use case runs as a future that this module polls; a crash drops it between
//! two polls and never polls it again, then a new [`App`] starts on the same store (as a
//! restarted process does) and runs start-up recovery. Crash points are chosen two ways: at the
//! n-th call to the operator (before it is sent, or after its reply arrived and before anything
//! is done with it), through [`CrashingPartners`]; or after n polls of the future, which lands
//! on any await point (on PostgreSQL every statement is one; SQLite statements run in place, so
//! there the await points are the operator calls and lock waits).
//!
//! How faithful a dropped future is to a real crash: every transaction that committed stays
//! (it is in the database), and nothing else does — an open `Tx` is rolled back when dropped
//! (`store::Tx`'s `Drop` on SQLite, sqlx's on PostgreSQL), in-memory state (waiters, caches) goes
//! with the old `App`, and an operator call in flight either reached the simulator or did not,
//! as after a real crash. What a dropped future cannot show: a torn write or a lost fsync (the
//! database's job, not ours), and a commit whose acknowledgement is lost on PostgreSQL is the
//! same "committed or not" the real crash gives. The real SIGKILL is in `tests/crash.rs`.
//!
//! The choices are deterministic in the seed; what timing decides (an operator call timing out
//! under load) may differ between runs of a seed, and is itself a fault the books must survive.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::Duration;

use anyhow::Context;
use domain::ride::{RideId, RideStatus};
use domain::sms::{PENDING, VehicleRef};
use domain::{Language, OperatorId, PhoneNumber, Tenge, TransportCode};
use partners::operator::{
    BoxFuture, CamaraClient, CarrierBilling, OperatorError, OperatorPaymentId, Payment,
    PaymentRequest, Refund, RefundRequest, SimSwap,
};
use service::clock::ManualClock;
use service::rides::{Channel, IdempotencyKey, RideOutcome, RideRequest};
use service::sms::IncomingSms;
use service::{App, ServiceError, Settings};
use simulators::operator::{
    CorrelatorReplay, Endpoint, Fault, OperatorSettings, OperatorSimulator, PaymentStatus,
    SimulatorHandle,
};

/// An operator call gives up after this long: a hanging operator costs a run this much.
pub const OPERATOR_TIMEOUT_MS: u64 = 250;
/// How long a retry waits for its original still in flight.
pub const DUPLICATE_WAIT_MS: u64 = 50;
/// Operations per run, at least and at most.
pub const OPERATIONS_MIN: u64 = 8;
pub const OPERATIONS_MAX: u64 = 24;
/// Recovery passes after a run before a ride still unsettled is a failure.
pub const RECOVERY_PASSES_MAX: usize = 8;
/// The simulated clock starts here (2026-09-21 UTC), the same for every seed.
pub const EPOCH_MS: i64 = 1_790_000_000_000;
/// Crash after at most this many polls of a use case.
pub const CRASH_POLLS_MAX: u64 = 16;
/// Crash at most at this operator call of an operation (0 = the first).
pub const CRASH_CALL_MAX: u64 = 5;

/// Passengers: (number, operator). Three in good standing, one whose balance cannot pay, one
/// whose SIM was swapped two hours ago (the demo's subscribers).
const PASSENGERS: [(&str, &str); 5] = [
    ("+77011234567", "kcell"),
    ("+77051234567", "beeline"),
    ("+77071234567", "tele2"),
    ("+77010000006", "kcell"),
    ("+77010000005", "kcell"),
];
/// Buses: two of the same city and one of another; repeats on the first are common.
const BUSES: [&str; 3] = ["10101", "10101", "10102"];
const ENDPOINTS: [Endpoint; 8] = [
    Endpoint::SimSwapCheck,
    Endpoint::Prepare,
    Endpoint::Confirm,
    Endpoint::Cancel,
    Endpoint::GetPayment,
    Endpoint::ListPayments,
    Endpoint::CreateRefund,
    Endpoint::GetRefunds,
];

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// How many runs, one seed each.
    #[arg(long, default_value_t = 200)]
    pub runs: u64,
    /// The first seed; run i uses seed + i.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// SQLite (a fresh temporary file per run) unless a postgres:// URL (a fresh schema per run).
    #[arg(long)]
    pub db: Option<String>,
    /// Print every run's event log, not only a single run's.
    #[arg(long)]
    pub verbose: bool,
}

/// A bug planted on purpose, to show that the checker catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlantedBug {
    /// Every prepare also reserves and captures the fare a second time under another correlator.
    ChargeTwice,
}

/// What one seed did and what the checker found.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    pub seed: u64,
    /// Ride requests with a new idempotency key.
    pub rides: usize,
    pub issued: usize,
    pub crashes: usize,
    pub faults: usize,
    /// Rides captured more than once, and captures that belong to no ride.
    pub charged_twice: usize,
    /// Captures without a ticket, and tickets without a capture.
    pub lost: usize,
    pub ledger_balanced: bool,
    pub violations: Vec<String>,
    pub log: Vec<String>,
}

impl RunReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// splitmix64: small, fast, and the same numbers on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 0..n (0 when n is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.below(u64::try_from(len).unwrap_or(u64::MAX))).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.index(items.len()))
    }
}

/// Where the next crash is: the operator call it stops at, and whether it stops before the
/// call is sent or after its reply came back.
#[derive(Default)]
struct CrashSwitch {
    calls: AtomicU32,
    armed: Mutex<Option<(u32, bool)>>,
    fired: AtomicBool,
}

impl CrashSwitch {
    fn arm(&self, at_call: u32, after_reply: bool) {
        self.calls.store(0, Ordering::SeqCst);
        self.fired.store(false, Ordering::SeqCst);
        *self.armed.lock().unwrap_or_else(PoisonError::into_inner) = Some((at_call, after_reply));
    }

    fn disarm(&self) {
        *self.armed.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.fired.store(false, Ordering::SeqCst);
    }

    fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// Counts a call; `Some(after_reply)` when this call is where the process dies.
    fn on_call(&self) -> Option<bool> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let armed = *self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        match armed {
            Some((at, after)) if at == call && !self.fired() => Some(after),
            _ => None,
        }
    }
}

/// The real operator client, with the crash points in front of it (and a planted bug when
/// asked for).
pub struct CrashingPartners {
    inner: Arc<CamaraClient>,
    switch: Arc<CrashSwitch>,
    bug: Option<PlantedBug>,
}

impl CrashingPartners {
    fn around<'a, T: Send + 'a>(&'a self, call: BoxFuture<'a, T>) -> BoxFuture<'a, T> {
        let crash = self.switch.on_call();
        Box::pin(async move {
            match crash {
                None => return call.await,
                Some(false) => drop(call),
                Some(true) => drop(call.await),
            }
            // The process is gone from here on: the simulation drops this future.
            self.switch.fired.store(true, Ordering::SeqCst);
            std::future::pending().await
        })
    }
}

impl CarrierBilling for CrashingPartners {
    fn prepare<'a>(
        &'a self,
        operator: &'a OperatorId,
        request: &'a PaymentRequest,
    ) -> BoxFuture<'a, Result<Payment, OperatorError>> {
        if self.bug == Some(PlantedBug::ChargeTwice) {
            return self.around(Box::pin(async move {
                let first = self.inner.prepare(operator, request).await;
                let again = PaymentRequest {
                    client_correlator: format!("{}.again", request.client_correlator),
                    ..request.clone()
                };
                if let Ok(payment) = self.inner.prepare(operator, &again).await {
                    drop(self.inner.confirm(operator, &payment.id).await);
                }
                first
            }));
        }
        self.around(self.inner.prepare(operator, request))
    }

    fn confirm<'a>(
        &'a self,
        operator: &'a OperatorId,
        id: &'a OperatorPaymentId,
    ) -> BoxFuture<'a, Result<Payment, OperatorError>> {
        self.around(self.inner.confirm(operator, id))
    }

    fn cancel<'a>(
        &'a self,
        operator: &'a OperatorId,
        id: &'a OperatorPaymentId,
    ) -> BoxFuture<'a, Result<Payment, OperatorError>> {
        self.around(self.inner.cancel(operator, id))
    }

    fn get<'a>(
        &'a self,
        operator: &'a OperatorId,
        id: &'a OperatorPaymentId,
    ) -> BoxFuture<'a, Result<Payment, OperatorError>> {
        self.around(self.inner.get(operator, id))
    }

    fn find_by_correlator<'a>(
        &'a self,
        operator: &'a OperatorId,
        client_correlator: &'a str,
        created_around_unix_s: i64,
    ) -> BoxFuture<'a, Result<Option<Payment>, OperatorError>> {
        self.around(self.inner.find_by_correlator(
            operator,
            client_correlator,
            created_around_unix_s,
        ))
    }

    fn refund<'a>(
        &'a self,
        operator: &'a OperatorId,
        payment: &'a OperatorPaymentId,
        request: &'a RefundRequest,
    ) -> BoxFuture<'a, Result<Refund, OperatorError>> {
        self.around(self.inner.refund(operator, payment, request))
    }

    fn refunds<'a>(
        &'a self,
        operator: &'a OperatorId,
        payment: &'a OperatorPaymentId,
    ) -> BoxFuture<'a, Result<Vec<Refund>, OperatorError>> {
        self.around(self.inner.refunds(operator, payment))
    }
}

impl SimSwap for CrashingPartners {
    fn swapped_within<'a>(
        &'a self,
        operator: &'a OperatorId,
        phone: &'a PhoneNumber,
        max_age_hours: u32,
    ) -> BoxFuture<'a, Result<bool, OperatorError>> {
        self.around(self.inner.swapped_within(operator, phone, max_age_hours))
    }
}

/// `None`: the process crashed before the future finished.
async fn crashable<T>(
    switch: &CrashSwitch,
    polls_max: Option<u64>,
    work: impl Future<Output = T>,
) -> Option<T> {
    let mut work = std::pin::pin!(work);
    let mut polls_left = polls_max;
    std::future::poll_fn(|cx| {
        if switch.fired() {
            return Poll::Ready(None);
        }
        if let Some(left) = polls_left.as_mut() {
            if *left == 0 {
                return Poll::Ready(None);
            }
            *left -= 1;
        }
        match work.as_mut().poll(cx) {
            Poll::Ready(value) => Poll::Ready(Some(value)),
            Poll::Pending if switch.fired() => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// One request the simulation made, with every answer it got.
struct Sent {
    channel: Channel,
    scope: String,
    key: String,
    phone: PhoneNumber,
    bus: String,
    additional: bool,
    /// The SMS's (smsc, message id) for an SMS ride.
    sms: Option<(String, String)>,
    /// The replies an SMS passenger received synchronously.
    replies: Vec<String>,
}

/// A fresh store for one run; a SQLite file is removed afterwards.
struct RunStore {
    store: store::Store,
    file: Option<std::path::PathBuf>,
}

impl Drop for RunStore {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let path = format!("{}{suffix}", file.display());
                if let Err(error) = std::fs::remove_file(&path)
                    && error.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(%path, %error, "could not remove a simulation database");
                }
            }
        }
    }
}

async fn open_store(db: Option<&str>, seed: u64) -> anyhow::Result<RunStore> {
    static RUN: AtomicU32 = AtomicU32::new(0);
    let run = RUN.fetch_add(1, Ordering::SeqCst);
    let pid = std::process::id();
    match db {
        Some(url) if url.starts_with("postgres") => {
            let store = store::Store::open_with(store::StoreOptions {
                url: url.to_owned(),
                postgres_schema: Some(format!("simulate_{pid}_{seed}_{run}")),
            })
            .await
            .context("opening PostgreSQL")?;
            Ok(RunStore { store, file: None })
        }
        _ => {
            let file = std::env::temp_dir().join(format!("smsbus-simulate-{pid}-{seed}-{run}.db"));
            let store = store::Store::open(&file.display().to_string())
                .await
                .context("opening SQLite")?;
            Ok(RunStore {
                store,
                file: Some(file),
            })
        }
    }
}

/// Everything one run works with.
struct World {
    sim: SimulatorHandle,
    store: RunStore,
    clock: Arc<ManualClock>,
    partners: Arc<CrashingPartners>,
    settings: Settings,
    app: Arc<App>,
    rng: Rng,
    report: RunReport,
    sent: Vec<Sent>,
    messages: u64,
}

impl World {
    fn log(&mut self, line: String) {
        self.report.log.push(line);
    }

    fn advance(&mut self, ms: i64) {
        self.clock.advance_ms(ms);
        self.sim.set_now(self.app.now_ms() / 1000);
    }

    /// A new process on the same store, settling what the old one left, as `serve` does.
    async fn restart(&mut self) -> anyhow::Result<()> {
        self.report.crashes += 1;
        self.partners.switch.disarm();
        self.app = App::start(
            self.store.store.clone(),
            self.partners.clone(),
            self.partners.clone(),
            self.clock.clone(),
            self.settings.clone(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("restart: {e}"))?;
        let report = service::recovery::settle_unsettled(&self.app, 0)
            .await
            .map_err(|e| anyhow::anyhow!("start-up recovery: {e}"))?;
        self.log(format!("  restart; start-up recovery {report:?}"));
        Ok(())
    }

    /// Programs 0..=2 operator faults for the next operation.
    fn inject_faults(&mut self) -> anyhow::Result<()> {
        for _ in 0..self.rng.below(3) {
            let (_, operator) = *self.rng.pick(&PASSENGERS).context("passengers")?;
            let operator = OperatorId::parse(operator)?;
            let endpoint = *self.rng.pick(&ENDPOINTS).context("endpoints")?;
            let fault = match self.rng.below(9) {
                0 => Fault::Latency {
                    ms: 5 + self.rng.below(40),
                },
                1 => Fault::Hang,
                2 => Fault::Status(*self.rng.pick(&[500, 502, 503]).context("status")?),
                3 => Fault::Refuse,
                4 => Fault::LostReply,
                5 => Fault::LostReplyHang,
                6 => Fault::LostReplyReset,
                7 => Fault::DuplicateReply,
                _ => Fault::Status(503),
            };
            let times = 1 + u32::from(self.rng.one_in(4));
            match self.sim.inject(&operator, endpoint, fault, times) {
                Ok(()) => {
                    self.report.faults += 1;
                    self.log(format!(
                        "  fault {operator} {endpoint:?} {fault:?} x{times}"
                    ));
                }
                Err(error) => self.log(format!("  fault not injected: {error}")),
            }
        }
        Ok(())
    }

    /// Maybe arms a crash for the next operation; returns the poll limit, if that is the kind.
    fn maybe_crash(&mut self) -> Option<u64> {
        if !self.rng.one_in(4) {
            return None;
        }
        if self.rng.one_in(3) {
            let polls = 1 + self.rng.below(CRASH_POLLS_MAX);
            self.log(format!("  crash armed after {polls} polls"));
            return Some(polls);
        }
        let at = u32::try_from(self.rng.below(CRASH_CALL_MAX)).unwrap_or(0);
        let after = self.rng.one_in(2);
        let when = if after {
            "after the reply of"
        } else {
            "before"
        };
        self.log(format!("  crash armed {when} operator call {at}"));
        self.partners.switch.arm(at, after);
        None
    }

    async fn ride(&mut self, index: usize) -> anyhow::Result<()> {
        let Some(sent) = self.sent.get(index) else {
            return Ok(());
        };
        let request = ride_request(sent)?;
        let sms = incoming_sms(sent);
        self.inject_faults()?;
        let polls = self.maybe_crash();
        let app = Arc::clone(&self.app);
        let switch = Arc::clone(&self.partners.switch);
        let line = match sms {
            Some(sms) => {
                match crashable(&switch, polls, service::sms::handle_sms(&app, sms)).await {
                    Some(Ok(reply)) => {
                        if let Some(sent) = self.sent.get_mut(index) {
                            sent.replies.push(reply.text.clone());
                        }
                        Some(format!("  → sms reply: {}", short(&reply.text)))
                    }
                    Some(Err(error)) => Some(format!("  → sms error {}", error.code.code())),
                    None => None,
                }
            }
            None => {
                let outcome =
                    crashable(&switch, polls, service::rides::buy_ticket(&app, request)).await;
                outcome.map(|outcome| format!("  → {}", describe(&outcome)))
            }
        };
        self.partners.switch.disarm();
        match line {
            Some(line) => self.log(line),
            None => {
                self.log("  → CRASH".into());
                self.restart().await?;
            }
        }
        Ok(())
    }

    /// The same API request twice at once.
    async fn concurrent_pair(&mut self, index: usize) -> anyhow::Result<()> {
        let Some(sent) = self.sent.get(index) else {
            return Ok(());
        };
        let request = ride_request(sent)?;
        self.inject_faults()?;
        let (first, second) = tokio::join!(
            service::rides::buy_ticket(&self.app, request.clone()),
            service::rides::buy_ticket(&self.app, request)
        );
        self.log(format!("  → {} | {}", describe(&first), describe(&second)));
        Ok(())
    }

    async fn recovery_pass(&mut self) -> anyhow::Result<()> {
        self.inject_faults()?;
        let polls = self.maybe_crash();
        let app = Arc::clone(&self.app);
        let switch = Arc::clone(&self.partners.switch);
        let pass = crashable(
            &switch,
            polls,
            service::recovery::settle_unsettled(&app, service::recovery::RECOVERY_IDLE_MS),
        )
        .await;
        self.partners.switch.disarm();
        match pass {
            Some(Ok(report)) => self.log(format!("  → {report:?}")),
            Some(Err(error)) => self.log(format!("  → recovery error {error}")),
            None => {
                self.log("  → CRASH".into());
                self.restart().await?;
            }
        }
        Ok(())
    }

    fn new_request(&mut self, channel: Channel) -> anyhow::Result<usize> {
        let (phone, operator) = *self.rng.pick(&PASSENGERS).context("passengers")?;
        let phone = PhoneNumber::parse(phone)?;
        let bus = (*self.rng.pick(&BUSES).context("buses")?).to_owned();
        let additional = self.rng.one_in(5);
        self.messages += 1;
        let key = format!("m{}-{}", self.report.seed, self.messages);
        let (scope, sms) = match channel {
            Channel::Api => (format!("api:{}", phone.as_e164()), None),
            Channel::Sms => (
                format!("sms:{operator}:{}", phone.as_e164()),
                Some((operator.to_owned(), key.clone())),
            ),
        };
        self.report.rides += 1;
        self.sent.push(Sent {
            channel,
            scope,
            key,
            phone,
            bus,
            additional,
            sms,
            replies: Vec::new(),
        });
        Ok(self.sent.len() - 1)
    }

    /// A request sent before, on this channel, if any.
    fn earlier(&mut self, channel: Channel) -> Option<usize> {
        let earlier: Vec<usize> = self
            .sent
            .iter()
            .enumerate()
            .filter(|(_, s)| s.channel == channel)
            .map(|(i, _)| i)
            .collect();
        self.rng.pick(&earlier).copied()
    }

    fn describe_sent(&self, index: usize) -> String {
        self.sent.get(index).map_or_else(String::new, |s| {
            format!(
                "{} {} {} on {}{}",
                s.channel.as_str(),
                s.key,
                s.phone.masked(),
                s.bus,
                if s.additional { " (additional)" } else { "" }
            )
        })
    }

    async fn step(&mut self, number: u64) -> anyhow::Result<()> {
        let pause_ms = i64::try_from(1_000 + self.rng.below(30_000)).unwrap_or(1_000);
        self.advance(pause_ms);
        let choice = self.rng.below(22);
        let index = match choice {
            0..=5 => Some(self.new_request(Channel::Api)?),
            6..=9 => Some(self.new_request(Channel::Sms)?),
            10..=11 => self.earlier(Channel::Api),
            12..=13 => self.earlier(Channel::Sms),
            _ => None,
        };
        match (choice, index) {
            (0..=13, Some(index)) => {
                let kind = if choice >= 10 { "retry" } else { "ride" };
                let line = format!("#{number} {kind} {}", self.describe_sent(index));
                self.log(line);
                self.ride(index).await
            }
            (14, _) => {
                let index = self.new_request(Channel::Api)?;
                let line = format!("#{number} ride twice at once {}", self.describe_sent(index));
                self.log(line);
                self.concurrent_pair(index).await
            }
            (20..=21, _) => self.refund_one(number).await,
            (15..=16, _) => {
                let ms = match self.rng.below(3) {
                    0 => service::phone_balance::PREPARE_SETTLE_MS,
                    1 => service::phone_balance::COMPLETE_WINDOW_MS,
                    _ => service::rides::REPEAT_WINDOW_MINUTES * 60_000,
                } + 1_000;
                self.log(format!("#{number} clock +{} s", ms / 1000));
                self.advance(ms);
                Ok(())
            }
            _ => {
                self.log(format!("#{number} recovery pass"));
                self.recovery_pass().await
            }
        }
    }

    /// No faults, no crashes: recovery until nothing is unsettled, within a bound.
    async fn settle_all(&mut self) -> anyhow::Result<()> {
        for (_, operator) in PASSENGERS {
            self.sim.clear_faults(&OperatorId::parse(operator)?);
        }
        self.partners.switch.disarm();
        self.recover_all().await?;
        self.redeliver_unanswered().await?;
        self.recover_all().await
    }

    /// Recovery passes until nothing is unsettled, and one more: a pass also tells SMS
    /// passengers what a crash kept from them.
    async fn recover_all(&mut self) -> anyhow::Result<()> {
        for pass in 1..=RECOVERY_PASSES_MAX {
            let open = unsettled_count(&self.store.store).await?;
            if open == 0 && pass > 1 {
                return Ok(());
            }
            self.advance(service::phone_balance::COMPLETE_WINDOW_MS + 1_000);
            let report = service::recovery::settle_unsettled(&self.app, 0)
                .await
                .map_err(|e| anyhow::anyhow!("final recovery: {e}"))?;
            self.log(format!("final recovery pass {pass}: {report:?}"));
        }
        Ok(())
    }

    /// The SMS gateway delivers a message until it is answered: one whose handling crashed or
    /// failed (no answer reached the gateway) comes again, as HTTP gateways and SMSCs retry.
    async fn redeliver_unanswered(&mut self) -> anyhow::Result<()> {
        for index in 0..self.sent.len() {
            let Some(sent) = self.sent.get(index) else {
                continue;
            };
            if !sent.replies.is_empty() {
                continue;
            }
            let Some(sms) = incoming_sms(sent) else {
                continue;
            };
            let line = format!(
                "final redelivery of the unanswered {}",
                self.describe_sent(index)
            );
            self.log(line);
            match service::sms::handle_sms(&self.app, sms).await {
                Ok(reply) => {
                    self.log(format!("  → sms reply: {}", short(&reply.text)));
                    if let Some(sent) = self.sent.get_mut(index) {
                        sent.replies.push(reply.text);
                    }
                }
                Err(error) => self.log(format!("  → sms error {}", error.code.code())),
            }
        }
        Ok(())
    }
}

/// The message an SMS ride was sent as (the same each time it is delivered).
fn incoming_sms(sent: &Sent) -> Option<IncomingSms> {
    sent.sms.clone().map(|(smsc, message_id)| IncomingSms {
        smsc,
        message_id,
        sender: sent.phone.as_e164().to_owned(),
        text: format!("{}{}", sent.bus, if sent.additional { "+" } else { "" }),
    })
}

fn ride_request(sent: &Sent) -> anyhow::Result<RideRequest> {
    Ok(RideRequest {
        payer: service::payment::Payer::PhoneBalance(sent.phone.clone()),
        vehicle: VehicleRef::Code(TransportCode::parse(&sent.bus)?),
        zone: None,
        additional: sent.additional,
        channel: sent.channel,
        idempotency: IdempotencyKey::new(sent.scope.clone(), &sent.key)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        language: Language::En,
    })
}

fn describe(outcome: &Result<RideOutcome, ServiceError>) -> String {
    match outcome {
        Ok(RideOutcome::Issued(ticket)) => format!("issued ticket {}", ticket.number.value()),
        Ok(RideOutcome::Pending { .. }) => "pending".into(),
        Err(error) => format!("refused {}", error.code.code()),
    }
}

fn short(text: &str) -> String {
    text.chars().take(60).collect()
}

fn is_pending_text(text: &str) -> bool {
    PENDING.is(text)
}

/// Rides not yet `issued` or `failed`, and refunds asked of an operator not yet answered.
pub(crate) async fn unsettled_count(store: &store::Store) -> anyhow::Result<i64> {
    let mut conn = store.reader().await?;
    let rides: i64 = store::rides::count_by_status(&mut conn)
        .await?
        .into_iter()
        .filter(|(status, _)| RideStatus::parse(status).is_ok_and(|s| !s.is_final()))
        .map(|(_, count)| count)
        .sum();
    let refunds = store::refunds::open(&mut conn, i64::MAX, 10_000).await?;
    Ok(rides + i64::try_from(refunds.len()).unwrap_or(i64::MAX))
}

/// One seeded run on a fresh store (`db`: a postgres:// URL, or SQLite when `None`).
pub async fn run(
    seed: u64,
    db: Option<&str>,
    bug: Option<PlantedBug>,
) -> anyhow::Result<RunReport> {
    let sim = OperatorSimulator::start("127.0.0.1:0".parse()?).await?;
    sim.set_now(EPOCH_MS / 1000);
    simulators::demo::seed(&sim)?;
    let mut rng = Rng(seed);
    // Some operators answer a replayed clientCorrelator with "already exists".
    for operator in simulators::demo::OPERATORS {
        if rng.one_in(2) {
            let mut settings = OperatorSettings::new(simulators::demo::OPERATOR_TOKEN).with_client(
                simulators::demo::OAUTH_CLIENT_ID,
                simulators::demo::OAUTH_CLIENT_SECRET,
            );
            settings.correlator_replay = CorrelatorReplay::RejectAlreadyExists;
            sim.add_operator(OperatorId::parse(operator)?, settings);
        }
    }
    let endpoints = crate::demo::simulator_endpoints(&sim)?;
    let client = Arc::new(CamaraClient::new(
        endpoints,
        Duration::from_millis(OPERATOR_TIMEOUT_MS),
    )?);
    let partners = Arc::new(CrashingPartners {
        inner: client,
        switch: Arc::new(CrashSwitch::default()),
        bug,
    });
    let store = open_store(db, seed).await?;
    let clock = Arc::new(ManualClock::new(EPOCH_MS));
    let settings = Settings {
        duplicate_wait_ms: DUPLICATE_WAIT_MS,
        ..Settings::default()
    };
    let app = App::start(
        store.store.clone(),
        partners.clone(),
        partners.clone(),
        clock.clone(),
        settings.clone(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("start: {e}"))?;
    crate::demo::load_seed_catalogue(&app).await?;
    let mut balances = Vec::with_capacity(PASSENGERS.len());
    for (phone, _) in PASSENGERS {
        let phone = PhoneNumber::parse(phone)?;
        let balance = sim.balance(&phone).unwrap_or_default();
        balances.push((phone, balance));
    }
    let mut world = World {
        sim,
        store,
        clock,
        partners,
        settings,
        app,
        rng,
        report: RunReport {
            seed,
            ..RunReport::default()
        },
        sent: Vec::new(),
        messages: 0,
    };
    let operations = OPERATIONS_MIN + world.rng.below(OPERATIONS_MAX - OPERATIONS_MIN + 1);
    for number in 1..=operations {
        world.step(number).await?;
    }
    world.settle_all().await?;
    check(&mut world, &balances).await?;
    let World { sim, report, .. } = world;
    sim.shutdown().await;
    Ok(report)
}

/// The invariants, checked against the operator simulator's own records.
async fn check(world: &mut World, balances: &[(PhoneNumber, Tenge)]) -> anyhow::Result<()> {
    let mut violations = Vec::new();
    let payments = world.sim.payments();
    let mut conn = world.store.store.reader().await?;
    let mut rides = BTreeMap::new();
    for sent in &world.sent {
        if let Some(row) = store::rides::by_key(&mut conn, &sent.scope, &sent.key).await? {
            rides.insert(row.ride.id.clone(), (row, sent));
        }
    }
    let total: i64 = store::rides::count_by_status(&mut conn)
        .await?
        .iter()
        .map(|(_, count)| count)
        .sum();
    if usize::try_from(total).ok() != Some(rides.len()) {
        violations.push(format!(
            "{total} rides in the store, {} asked for",
            rides.len()
        ));
    }
    let mut by_correlator: HashMap<&str, Vec<&simulators::operator::PaymentView>> = HashMap::new();
    for payment in &payments {
        let correlator = payment.client_correlator.as_deref().unwrap_or_default();
        by_correlator.entry(correlator).or_default().push(payment);
        let captured = payment.status == PaymentStatus::Succeeded;
        let for_a_ride = RideId::parse(correlator).is_ok_and(|id| rides.contains_key(&id));
        if !for_a_ride && captured {
            world.report.charged_twice += 1;
            violations.push(format!(
                "payment {} ({correlator}) captured for no ride",
                payment.id
            ));
        }
        if payment.status == PaymentStatus::Reserved {
            violations.push(format!("payment {} left reserved", payment.id));
        }
    }
    let mut tickets_by_phone: BTreeMap<String, i64> = BTreeMap::new();
    let mut ticket_states: BTreeMap<RideId, (String, Option<String>)> = BTreeMap::new();
    let mut outbox_by_ride: HashMap<RideId, Vec<String>> = HashMap::new();
    for message in store::sms::pending_outbox(&mut conn, 100_000).await? {
        if let Some(ride) = message.ride_id {
            outbox_by_ride.entry(ride).or_default().push(message.body);
        }
    }
    for (id, (row, sent)) in &rides {
        let mine = by_correlator.get(id.as_str()).cloned().unwrap_or_default();
        let captured: Vec<_> = mine
            .iter()
            .filter(|p| p.status == PaymentStatus::Succeeded)
            .collect();
        if mine.len() > 1 {
            violations.push(format!("ride {id} has {} payments", mine.len()));
        }
        if captured.len() > 1 {
            world.report.charged_twice += 1;
            violations.push(format!("ride {id} captured {} times", captured.len()));
        }
        let ticket = store::tickets::by_ride(&mut conn, id).await?;
        let status = RideStatus::parse(&row.status).ok();
        match (status, &ticket, captured.first()) {
            (Some(RideStatus::Issued), Some(ticket), Some(payment)) => {
                world.report.issued += 1;
                ticket_states.insert(
                    id.clone(),
                    (ticket.status.clone(), row.operator_payment_id.clone()),
                );
                // A refunded ticket's fare went back to the number.
                if ticket.status != "refunded" {
                    *tickets_by_phone.entry(ticket.phone.clone()).or_default() +=
                        ticket.amount_tiyn;
                }
                if payment.amount.tiyn() != row.ride.amount_tiyn
                    || ticket.amount_tiyn != row.ride.amount_tiyn
                {
                    violations.push(format!(
                        "ride {id}: fare {}, captured {}, ticket {}",
                        row.ride.amount_tiyn,
                        payment.amount.tiyn(),
                        ticket.amount_tiyn
                    ));
                }
                if ticket.ordinal_on_vehicle > 1 && !sent.additional {
                    violations.push(format!(
                        "ride {id}: ticket {} on the bus without asking for another",
                        ticket.ordinal_on_vehicle
                    ));
                }
            }
            (Some(RideStatus::Failed), None, None) => {}
            (_, ticket, payment) => {
                world.report.lost += 1;
                violations.push(format!(
                    "ride {id} ({}) is {} with {} ticket and {} capture",
                    sent.key,
                    row.status,
                    if ticket.is_some() { "a" } else { "no" },
                    if payment.is_some() { "a" } else { "no" }
                ));
            }
        }
        if sent.channel == Channel::Sms {
            let told_later = outbox_by_ride.get(id).cloned().unwrap_or_default();
            if told_later.len() > 1 {
                violations.push(format!("ride {id}: {} later SMS replies", told_later.len()));
            }
            let finals: Vec<&String> = sent
                .replies
                .iter()
                .chain(told_later.iter())
                .filter(|text| !is_pending_text(text))
                .collect();
            if finals.is_empty() {
                violations.push(format!(
                    "ride {id} ({}, {}): the SMS passenger got no final reply",
                    sent.key, row.status
                ));
            }
            for text in finals {
                let says_ticket = ticket
                    .as_ref()
                    .is_some_and(|t| text.contains(t.link_code.as_str()));
                let has_link = text.contains("/t/");
                let agrees = match status {
                    Some(RideStatus::Issued) => says_ticket,
                    _ => !has_link,
                };
                if !agrees {
                    violations.push(format!(
                        "ride {id} ({}) is {} but the passenger was told: {}",
                        sent.key,
                        row.status,
                        short(text)
                    ));
                }
            }
        }
    }
    refunds::check(world, &ticket_states, &mut violations).await?;
    let refunded = refunds::refunded_by_payment(world);
    let mut captured_all = 0;
    for (phone, start) in balances {
        let captured = world.sim.captured_total(phone).tiyn();
        captured_all += captured;
        let paid: i64 = payments
            .iter()
            .filter(|p| p.phone == *phone && p.status == PaymentStatus::Succeeded)
            .map(|p| p.amount.tiyn() - refunded.get(&p.id).map_or(0, |r| r.iter().sum::<i64>()))
            .sum();
        let tickets = tickets_by_phone.get(phone.as_e164()).copied().unwrap_or(0);
        let spent = start.tiyn() - world.sim.balance(phone).unwrap_or_default().tiyn();
        let held = world.sim.held(phone).tiyn();
        if captured != paid || captured != tickets || spent != captured || held != 0 {
            if captured > tickets {
                world.report.charged_twice += 1;
            }
            violations.push(format!(
                "{}: captured {captured}, payments {paid}, tickets {tickets}, balance down by {spent}, held {held}",
                phone.masked()
            ));
        }
    }
    let ledger = service::ledger::report(&world.app).await?;
    let pending_zero = ledger.accounts.iter().all(|a| a.pending.tiyn() == 0);
    let carrier_posted: i64 = ledger
        .accounts
        .iter()
        .filter(|a| a.account.kind() == domain::ledger::AccountKind::CarrierPayable)
        .map(|a| a.posted.tiyn())
        .sum();
    world.report.ledger_balanced =
        ledger.balanced() && pending_zero && -carrier_posted == captured_all;
    if !world.report.ledger_balanced {
        violations.push(format!(
            "ledger: layers {:?}, accounts off their entries {:?}, unbalanced transfers {:?}, pending left {}, carrier payable {}, captured {captured_all}",
            ledger.totals,
            ledger.mismatched,
            ledger.unbalanced_transfers,
            !pending_zero,
            -carrier_posted
        ));
    }
    let distinct: BTreeSet<String> = violations.into_iter().collect();
    world.report.violations = distinct.into_iter().collect();
    Ok(())
}

/// `smsbus simulate`: prints one line per failing run, its event log when a single run is
/// asked for (or `--verbose`), and a summary line.
pub async fn run_cli(args: SimulateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.runs > 0, "--runs must be positive");
    let last = args
        .seed
        .checked_add(args.runs - 1)
        .context("--seed + --runs overflows")?;
    let mut failures = 0;
    let (mut rides, mut issued, mut crashes, mut faults) = (0, 0, 0, 0);
    let (mut charged_twice, mut lost, mut balanced) = (0, 0, true);
    for seed in args.seed..=last {
        let report = run(seed, args.db.as_deref(), None).await?;
        if args.verbose || args.runs == 1 {
            for line in &report.log {
                println!("{line}");
            }
        }
        if !report.passed() {
            failures += 1;
            println!(
                "simulate: seed={seed} FAILED ({} violations; `smsbus simulate --seed {seed} --runs 1` reproduces it)",
                report.violations.len()
            );
            for violation in &report.violations {
                println!("  {violation}");
            }
        }
        rides += report.rides;
        issued += report.issued;
        crashes += report.crashes;
        faults += report.faults;
        charged_twice += report.charged_twice;
        lost += report.lost;
        balanced &= report.ledger_balanced;
    }
    println!(
        "simulate: runs={} seeds={}..{last} failures={failures} rides={rides} issued={issued} crashes={crashes} faults={faults} charged_twice={charged_twice} lost={lost} ledger_balanced={balanced}",
        args.runs, args.seed
    );
    anyhow::ensure!(failures == 0, "{failures} of {} runs failed", args.runs);
    Ok(())
}

mod refunds;
#[cfg(test)]
mod tests;
