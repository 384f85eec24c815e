//! A simulated SMSC speaking SMPP 3.4 over TCP, standing for every operator's SMSC in the demo,
//! the tests and the benchmark. ESMEs bind as transceivers with an operator's `system_id` and
//! password; phones (a test, the demo's `smsbus sms`) send to the short number and the SMSC
//! delivers `deliver_sm` to the bind of the phone's operator, redelivering until it hears OK
//! (as a real SMSC does after a drop or a temporary error). Every `submit_sm` lands in the
//! destination phone's inbox (concatenated parts joined) and earns a delivery receipt.
//!
//! Faults on command ([`Faults`]): throttling (`0x58`), queue full (`0x14`), refusing
//! (invalid destination), dropping the connection right after a `deliver_sm` (before our
//! answer can arrive), delivering a message twice, answering `submit_sm` late. The same
//! controls and the inboxes are on a small HTTP admin API ([`admin`]) for other processes.

pub mod admin;
mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use partners::smpp::pdu::{ShortMessage, Tlv, tag};
use partners::smpp::text;
use tokio::sync::{Mutex, mpsc, oneshot, watch};

/// A mobile-originated message is redelivered at most this many times.
pub const REDELIVERIES_MAX: u32 = 200;
/// The SMSC waits this long for a deliver_sm_resp before it counts the attempt as failed.
pub const DELIVER_RESPONSE_TIMEOUT_MS: u64 = 5_000;
/// Between redeliveries (a real SMSC waits longer; the tests want it brisk).
pub const REDELIVERY_DELAY_MS: u64 = 50;
/// Unacknowledged `deliver_sm` per bind, as an SMSC keeps its own window: the rest wait.
pub const DELIVER_WINDOW: usize = 64;
/// Messages kept per phone's inbox.
pub const INBOX_MESSAGES_MAX: usize = 1_000;

/// One ESME account: which operator's SMSC it binds to.
#[derive(Clone, Debug)]
pub struct Account {
    pub operator: String,
    pub system_id: String,
    pub password: String,
    /// National prefixes (`701`) whose phones this operator serves.
    pub prefixes: Vec<String>,
    /// The vendor TLV naming each phone's message (None: not sent; some clients, smpplib
    /// among them, refuse vendor TLVs).
    pub message_id_tag: Option<u16>,
}

/// Faults to inject; counters count down per event.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// The next N submit_sm are answered ESME_RTHROTTLED.
    pub throttle: u32,
    /// The next N submit_sm are answered ESME_RMSGQFUL.
    pub queue_full: u32,
    /// The next N submit_sm are refused for good (ESME_RINVDSTADR).
    pub reject: u32,
    /// After the next N deliver_sm, the connection drops before the answer is read.
    pub drop_after_deliver: u32,
    /// The next N messages from phones are delivered twice (the second after the first's OK).
    pub duplicate: u32,
    /// Every submit_sm_resp waits this long.
    pub late_answer_ms: u64,
    /// While true, every submit_sm is throttled (a long outage of the SMSC's capacity).
    pub throttle_all: bool,
}

/// A message as it reached a phone.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct InboxMessage {
    pub text: String,
    pub from: String,
    /// The SMSC's message id of every part.
    pub message_ids: Vec<String>,
    pub data_coding: u8,
    /// When its last part arrived, ms since the simulator started.
    pub at_ms: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub binds: u64,
    pub submits: u64,
    pub throttled: u64,
    pub delivers_sent: u64,
    pub delivers_acknowledged: u64,
    pub delivers_refused: u64,
    pub receipts_sent: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SmscError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("the text cannot be sent: {0}")]
    Text(#[from] text::TextError),
}

/// A deliver_sm for a bound session to send, and where to say how the ESME answered.
pub(crate) struct Outgoing {
    pub sm: ShortMessage,
    /// The ESME's command_status, or None when the connection went before an answer.
    pub answered: oneshot::Sender<Option<u32>>,
}

pub(crate) struct Bound {
    pub operator: String,
    pub outgoing: mpsc::Sender<Outgoing>,
    /// [`DELIVER_WINDOW`] permits: one is held from a `deliver_sm` until its answer.
    pub window: Arc<tokio::sync::Semaphore>,
}

/// (part number, text, SMSC message id) of one part of a concatenated submit.
pub(crate) type ReceivedPart = (u8, String, String);

#[derive(Default)]
pub(crate) struct State {
    pub faults: Faults,
    pub stats: Stats,
    pub inboxes: HashMap<String, Vec<InboxMessage>>,
    /// Parts of concatenated submits by (phone, reference, total).
    pub partial: HashMap<(String, u8, u8), Vec<ReceivedPart>>,
    pub sessions: HashMap<u64, Bound>,
}

pub(crate) struct Shared {
    pub accounts: Vec<Account>,
    pub state: Mutex<State>,
    /// Bumped on every inbox change and every bind, for waiters.
    pub changed: watch::Sender<u64>,
    pub next_id: AtomicU64,
    pub started: tokio::time::Instant,
}

impl Shared {
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    fn operator_of(&self, phone: &str) -> Option<&str> {
        let national = phone.trim_start_matches('+');
        let national = national.strip_prefix('7').unwrap_or(national);
        self.accounts
            .iter()
            .find(|a| a.prefixes.iter().any(|p| national.starts_with(p.as_str())))
            .map(|a| a.operator.as_str())
    }
}

pub struct SmscSimulator;

/// A running simulated SMSC; dropping it leaves it running until the process ends.
#[derive(Clone)]
pub struct SmscHandle {
    shared: Arc<Shared>,
    smpp_addr: SocketAddr,
}

impl SmscSimulator {
    /// Listens for SMPP on `addr` (port 0: a free one).
    pub async fn start(addr: SocketAddr, accounts: Vec<Account>) -> Result<SmscHandle, SmscError> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let smpp_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            accounts,
            state: Mutex::new(State::default()),
            changed: watch::Sender::new(0),
            next_id: AtomicU64::new(0),
            started: tokio::time::Instant::now(),
        });
        tokio::spawn(session::accept(listener, Arc::clone(&shared)));
        Ok(SmscHandle { shared, smpp_addr })
    }
}

impl SmscHandle {
    pub fn smpp_addr(&self) -> SocketAddr {
        self.smpp_addr
    }

    /// Milliseconds since the SMSC started: the clock of [`InboxMessage::at_ms`].
    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.shared.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub async fn set_faults(&self, faults: Faults) {
        self.shared.state.lock().await.faults = faults;
    }

    pub async fn faults(&self) -> Faults {
        self.shared.state.lock().await.faults.clone()
    }

    pub async fn stats(&self) -> Stats {
        self.shared.state.lock().await.stats.clone()
    }

    /// Waits until the counters satisfy `ready`, at most `timeout`; the counters then.
    pub async fn wait_stats(&self, ready: impl Fn(&Stats) -> bool, timeout: Duration) -> Stats {
        let mut changed = self.shared.changed.subscribe();
        let reached = async {
            loop {
                let stats = self.stats().await;
                if ready(&stats) || changed.changed().await.is_err() {
                    return stats;
                }
            }
        };
        match tokio::time::timeout(timeout, reached).await {
            Ok(stats) => stats,
            Err(_) => self.stats().await,
        }
    }

    /// Operators with a bound ESME now.
    pub async fn bound_operators(&self) -> Vec<String> {
        let state = self.shared.state.lock().await;
        let mut operators: Vec<String> = state
            .sessions
            .values()
            .map(|s| s.operator.clone())
            .collect();
        operators.sort();
        operators.dedup();
        operators
    }

    /// Waits until every operator named is bound, at most `timeout`.
    pub async fn wait_bound(&self, operators: &[&str], timeout: Duration) -> bool {
        let mut changed = self.shared.changed.subscribe();
        let all_bound = async {
            loop {
                let bound = self.bound_operators().await;
                if operators.iter().all(|o| bound.iter().any(|b| b == o)) {
                    return;
                }
                if changed.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(timeout, all_bound).await.is_ok()
    }

    pub async fn inbox(&self, phone: &str) -> Vec<InboxMessage> {
        self.shared
            .state
            .lock()
            .await
            .inboxes
            .get(phone)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `phone` has at least `count` messages, at most `timeout`; returns the inbox.
    pub async fn wait_inbox(
        &self,
        phone: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<InboxMessage> {
        let mut changed = self.shared.changed.subscribe();
        let filled = async {
            loop {
                let inbox = self.inbox(phone).await;
                if inbox.len() >= count {
                    return inbox;
                }
                if changed.changed().await.is_err() {
                    return inbox;
                }
            }
        };
        match tokio::time::timeout(timeout, filled).await {
            Ok(inbox) => inbox,
            Err(_) => self.inbox(phone).await,
        }
    }

    /// A phone sends `text` to `short_number`; returns the message id at once and delivers in
    /// the background (redelivering until the ESME answers OK). `message_id`: the id of a
    /// message sent before, for a deliberate redelivery.
    pub async fn send_from_phone(
        &self,
        phone: &str,
        short_number: &str,
        text: &str,
        message_id: Option<String>,
    ) -> Result<String, SmscError> {
        let id = message_id.unwrap_or_else(|| format!("mo-{}", self.shared.next_id()));
        let reference = u8::try_from(self.shared.next_id() % 256).unwrap_or(0);
        let parts = text::split(text, reference)?;
        let several = parts.len() > 1;
        let operator = self.shared.operator_of(phone).map(str::to_owned);
        let id_tag = self
            .shared
            .accounts
            .iter()
            .find(|a| Some(&a.operator) == operator.as_ref())
            .map_or(Some(tag::SIMULATOR_MESSAGE_ID), |a| a.message_id_tag);
        let duplicate = {
            let mut state = self.shared.state.lock().await;
            let duplicate = state.faults.duplicate > 0;
            state.faults.duplicate = state.faults.duplicate.saturating_sub(1);
            duplicate
        };
        for (part, number) in parts.into_iter().zip(1u32..) {
            let part_id = if several {
                format!("{id}.{number}")
            } else {
                id.clone()
            };
            let sm = ShortMessage {
                source_ton: 1,
                source_npi: 1,
                source: phone.trim_start_matches('+').to_owned(),
                destination_ton: 3,
                destination: short_number.to_owned(),
                esm_class: part.esm_class,
                data_coding: part.data_coding,
                short_message: part.short_message.into(),
                tlvs: id_tag.map(|t| Tlv::text(t, &part_id)).into_iter().collect(),
                ..ShortMessage::default()
            };
            let shared = Arc::clone(&self.shared);
            let operator = operator.clone();
            tokio::spawn(async move {
                let delivered = session::deliver(&shared, operator.as_deref(), sm.clone()).await;
                if delivered && duplicate {
                    session::deliver(&shared, operator.as_deref(), sm).await;
                }
            });
        }
        Ok(id)
    }

    /// Sends, then waits for the next message to reach `phone` (the reply), at most `timeout`.
    pub async fn send_and_wait_reply(
        &self,
        phone: &str,
        short_number: &str,
        text: &str,
        message_id: Option<String>,
        timeout: Duration,
    ) -> Result<(String, Option<InboxMessage>), SmscError> {
        let before = self.inbox(phone).await.len();
        let id = self
            .send_from_phone(phone, short_number, text, message_id)
            .await?;
        let inbox = self.wait_inbox(phone, before + 1, timeout).await;
        Ok((id, inbox.get(before).cloned()))
    }
}

/// The demo's accounts: one per operator, `system_id` = the operator's id.
pub fn demo_accounts(password: &str) -> Vec<Account> {
    let prefixes = |list: &[&str]| list.iter().map(|p| (*p).to_owned()).collect();
    vec![
        Account {
            operator: "beeline".into(),
            system_id: "beeline".into(),
            password: password.into(),
            prefixes: prefixes(&["705", "706", "771", "776", "777"]),
            message_id_tag: Some(tag::SIMULATOR_MESSAGE_ID),
        },
        Account {
            operator: "kcell".into(),
            system_id: "kcell".into(),
            password: password.into(),
            prefixes: prefixes(&["701", "702", "775", "778"]),
            message_id_tag: Some(tag::SIMULATOR_MESSAGE_ID),
        },
        Account {
            operator: "tele2".into(),
            system_id: "tele2".into(),
            password: password.into(),
            prefixes: prefixes(&["700", "707", "708", "747"]),
            message_id_tag: Some(tag::SIMULATOR_MESSAGE_ID),
        },
    ]
}
