//! SMS over our SMPP binds: what an SMSC delivers is stored before it is acknowledged, answered
//! into the outbox, and the outbox is drained back through the SMSCs.
//!
//! - [`Inbound`] is every bind's [`DeliverHandler`]: a passenger's message (or a part of one:
//!   parts are stored one by one and joined when the last arrives) is recorded in the same
//!   deduplicated table the HTTP gateway uses, keyed by (operator, message id, sender), and
//!   only then answered `ESME_ROK`; if the store fails the answer is `ESME_RX_T_APPDN` so the
//!   SMSC redelivers. The reply is produced in a task after the answer, written once
//!   (`set_reply_once`) and queued with the operator that delivered the message. A delivery
//!   receipt updates the state of the reply's part it names.
//! - [`Dispatcher`] drains the outbox: sign-in codes first, then oldest first; each message is
//!   taken by compare-and-set, cut into parts (GSM 7-bit or UCS-2), and every part's SMSC
//!   message id is stored as soon as the SMSC answers, so after a crash only the parts without
//!   one go again. Throttling, a full queue or no bind puts the message back with a doubling
//!   delay; a permanent refusal marks it failed.
//!
//! Crash points: killed after storing a message but before answering it — the SMSC
//! redelivers, the store says "seen", the reply (if not yet made) is made by the sweep;
//! killed between the ride and its reply — the sweep runs the message again and the ride's
//! idempotency key (the message id) returns the same ticket without a second charge; killed
//! while a part is in flight — that part alone may go twice (SMPP cannot ask the SMSC about a
//! submit whose id we never heard).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use domain::sms::SmppState;
use domain::{OperatorId, PhoneNumber};
use partners::operator::BoxFuture;
use partners::smpp::{
    DeliverAnswer, DeliverHandler, Delivery, Esme, MoMessage, Receipt, SmsLink, SmscConfig,
    SubmitError, text,
};
use store::sms::{IncomingPart, Recorded, SmppOutboxRow, Via};
use tokio::sync::{Notify, Semaphore, watch};

use crate::App;
use crate::sms::{IncomingSms, SMS_FIELD_CHARS_MAX, SMS_TEXT_CHARS_MAX, answer_into_outbox};

/// Parts of one incoming message must all arrive within this long.
pub const CONCATENATION_WINDOW_MS: i64 = 10 * 60 * 1_000;
/// Replies being produced at once (each may wait on the operator's billing).
pub const ANSWERS_IN_FLIGHT_MAX: usize = 512;
/// Messages being sent at once, over all binds (each bind has its own window below this).
pub const SENDS_IN_FLIGHT_MAX: usize = 256;
/// Outbox rows read per pass of the dispatcher.
pub const DISPATCH_BATCH: i64 = 256;
/// The dispatcher looks at the outbox at least this often (replies queued by other paths:
/// sign-in codes, recovery, retries coming due).
pub const DISPATCH_POLL_MS: u64 = 200;
/// Back-off after throttling or a full queue: doubling from the first, up to the last.
pub const RETRY_FIRST_MS: i64 = 200;
pub const RETRY_MAX_MS: i64 = 30_000;
/// A stored message still unanswered after this long is answered by the sweep (younger ones
/// are being answered by their own task).
pub const SWEEP_AGE_MS: i64 = 30_000;
pub const SWEEP_PERIOD_S: u64 = 10;
/// A receipt that came before we recorded its submit waits this long for it.
pub const EARLY_RECEIPT_KEEP_MS: i64 = 24 * 60 * 60 * 1_000;

mod books;

use books::{Books, Write};

/// Steps that read, then write, rows another task may be writing: on PostgreSQL two parts of
/// one message stored at once would each miss the other. One process runs the binds (as
/// [`SmppService`] is started once per deployment), so a lock in the process orders them on
/// both stores. Receipts and the parts' SMSC ids are ordered by their one writer ([`books`]).
#[derive(Default)]
struct Locks {
    parts: tokio::sync::Mutex<()>,
}

/// The handler of every bind's deliveries.
pub struct Inbound {
    app: Arc<App>,
    wake: Arc<Notify>,
    answers: Arc<Semaphore>,
    locks: Arc<Locks>,
    books: Books,
}

impl DeliverHandler for Inbound {
    fn deliver(
        &self,
        operator: &OperatorId,
        delivery: Delivery,
    ) -> BoxFuture<'static, DeliverAnswer> {
        let app = Arc::clone(&self.app);
        let wake = Arc::clone(&self.wake);
        let answers = Arc::clone(&self.answers);
        let locks = Arc::clone(&self.locks);
        let books = self.books.clone();
        let operator = operator.to_string();
        Box::pin(async move {
            match delivery {
                Delivery::Message(message) => {
                    on_message(app, wake, answers, &locks, operator, message).await
                }
                Delivery::Receipt(receipt) => on_receipt(&books, operator, receipt).await,
            }
        })
    }
}

async fn on_message(
    app: Arc<App>,
    wake: Arc<Notify>,
    answers: Arc<Semaphore>,
    locks: &Locks,
    operator: String,
    message: MoMessage,
) -> DeliverAnswer {
    let too_long = |field: &str| field.is_empty() || field.chars().count() > SMS_FIELD_CHARS_MAX;
    if too_long(&message.message_id) || too_long(&message.sender) {
        tracing::warn!(%operator, "a delivery without a usable message id or sender");
        return DeliverAnswer::Refused;
    }
    let stored = if message.concatenation.is_some() {
        let _ordered = locks.parts.lock().await;
        store_message(&app, &operator, &message).await
    } else {
        store_message(&app, &operator, &message).await
    };
    let stored = match stored {
        Ok(stored) => stored,
        Err(error) => {
            tracing::error!(%error, %operator, "storing an incoming SMS failed; the SMSC will redeliver");
            return DeliverAnswer::TryLater;
        }
    };
    if let Some((sms, sender_key)) = stored {
        crate::metrics::Metrics::add(&app.metrics.sms_received);
        tokio::spawn(async move {
            let Ok(_permit) = answers.acquire_owned().await else {
                return;
            };
            match answer_into_outbox(&app, &sms, &sender_key).await {
                Ok(_) => wake.notify_one(),
                // Left unanswered in the store: the sweep answers it.
                Err(error) => tracing::error!(%error, "answering an SMS failed"),
            }
        });
    }
    DeliverAnswer::Stored
}

/// Records the message (or its part) durably. The message to answer, with the sender as
/// stored, when it is new or stored before but not yet answered.
async fn store_message(
    app: &App,
    operator: &str,
    message: &MoMessage,
) -> Result<Option<(IncomingSms, String)>, crate::ServiceError> {
    let sender = PhoneNumber::parse(&message.sender)
        .map(|p| p.as_e164().to_owned())
        .unwrap_or_else(|_| message.sender.clone());
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let whole = match message.concatenation {
        None => Some((message.message_id.clone(), message.text.clone())),
        Some(c) => store::sms::record_incoming_part(
            &mut tx,
            &IncomingPart {
                operator,
                sender: &sender,
                reference: i64::from(c.reference),
                total: i64::from(c.total),
                number: i64::from(c.number),
                message_id: &message.message_id,
                body: &message.text,
            },
            CONCATENATION_WINDOW_MS,
            now_ms,
        )
        .await?
        .map(|joined| (joined.message_id, joined.body)),
    };
    let Some((message_id, mut body)) = whole else {
        tx.commit().await?;
        return Ok(None);
    };
    if body.chars().count() > SMS_TEXT_CHARS_MAX {
        body = body.chars().take(SMS_TEXT_CHARS_MAX).collect();
    }
    let recorded = store::sms::record_incoming_via(
        &mut tx,
        operator,
        &message_id,
        &sender,
        &body,
        Via::Smpp,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    if let Recorded::Duplicate(Some(_)) = recorded {
        crate::metrics::Metrics::add(&app.metrics.sms_duplicates);
        return Ok(None);
    }
    let sms = IncomingSms {
        smsc: operator.to_owned(),
        message_id,
        sender: message.sender.clone(),
        text: body,
    };
    Ok(Some((sms, sender)))
}

async fn on_receipt(books: &Books, operator: String, receipt: Receipt) -> DeliverAnswer {
    match books.write(Write::Receipt { operator, receipt }).await {
        Ok(()) => DeliverAnswer::Stored,
        Err(error) => {
            tracing::error!(%error, "storing a delivery receipt failed");
            DeliverAnswer::TryLater
        }
    }
}

/// Answers messages stored but never answered (the process stopped on them): at start with
/// `min_age_ms` 0, then periodically for those older than [`SWEEP_AGE_MS`].
pub async fn answer_unanswered(app: &App, min_age_ms: i64) -> Result<usize, crate::ServiceError> {
    let rows = {
        let mut conn = app.store.reader().await?;
        store::sms::unanswered_smpp(&mut conn, app.now_ms() - min_age_ms, 1_000).await?
    };
    let mut answered = 0;
    for row in rows {
        let sms = IncomingSms {
            smsc: row.operator,
            message_id: row.message_id,
            sender: row.sender.clone(),
            text: row.body,
        };
        if answer_into_outbox(app, &sms, &row.sender).await? {
            answered += 1;
        }
    }
    Ok(answered)
}

/// Sends the outbox through the binds.
pub struct Dispatcher {
    app: Arc<App>,
    links: HashMap<String, Arc<dyn SmsLink>>,
    wake: Arc<Notify>,
    sends: Arc<Semaphore>,
    books: Books,
}

impl Dispatcher {
    fn new(
        app: Arc<App>,
        links: HashMap<String, Arc<dyn SmsLink>>,
        wake: Arc<Notify>,
        books: Books,
    ) -> Dispatcher {
        Dispatcher {
            app,
            links,
            wake,
            sends: Arc::new(Semaphore::new(SENDS_IN_FLIGHT_MAX)),
            books,
        }
    }

    /// Runs until `stop` turns true, then lets the messages in flight finish (each within the
    /// bind's response timeout), so their SMSC ids are recorded before the binds go.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut sending = tokio::task::JoinSet::new();
        loop {
            if *stop.borrow() {
                break;
            }
            if let Err(error) = self.pass(&mut sending).await {
                tracing::error!(%error, "SMS dispatcher pass failed");
            }
            while sending.try_join_next().is_some() {}
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(DISPATCH_POLL_MS)) => {}
                _ = stop.changed() => {}
            }
        }
        while sending.join_next().await.is_some() {}
    }

    /// One look at the outbox: takes every message due whose bind is up. The messages that
    /// sends may start for now are claimed in one transaction; when every send is busy, the
    /// pass waits for one to finish (holding no transaction) and goes on with the rest.
    async fn pass(
        self: &Arc<Self>,
        sending: &mut tokio::task::JoinSet<()>,
    ) -> Result<(), crate::ServiceError> {
        let mut due: std::collections::VecDeque<SmppOutboxRow> = {
            let mut conn = self.app.store.reader().await?;
            store::sms::smpp_due(&mut conn, self.app.now_ms(), DISPATCH_BATCH)
                .await?
                .into()
        };
        while !due.is_empty() {
            let mut claimed = Vec::new();
            let mut tx = self.app.store.begin().await?;
            while let Some(row) = due.pop_front() {
                let Some(operator) = self.operator_for(&row) else {
                    store::sms::leave_to_gateway(&mut tx, row.id).await?;
                    continue;
                };
                let Some(link) = self.links.get(&operator).cloned() else {
                    continue;
                };
                if !link.is_bound() {
                    continue;
                }
                let Ok(permit) = Arc::clone(&self.sends).try_acquire_owned() else {
                    due.push_front(row);
                    break;
                };
                if store::sms::claim_for_smpp(&mut tx, row.id).await? {
                    claimed.push((row, operator, link, permit));
                }
            }
            tx.commit().await?;
            for (row, operator, link, permit) in claimed {
                let this = Arc::clone(self);
                sending.spawn(async move {
                    if let Err(error) = this.send(&row, &operator, link.as_ref()).await {
                        tracing::error!(%error, id = row.id, "sending an SMS failed");
                    }
                    drop(permit);
                    this.wake.notify_one();
                });
            }
            if !due.is_empty() {
                // Every send is busy: wait for one to finish.
                let Ok(free) = Arc::clone(&self.sends).acquire_owned().await else {
                    return Ok(());
                };
                drop(free);
            }
        }
        Ok(())
    }

    /// The bind a message goes out on: the SMSC it answers, else the number's operator.
    fn operator_for(&self, row: &SmppOutboxRow) -> Option<String> {
        if let Some(operator) = row
            .operator
            .as_ref()
            .filter(|o| self.links.contains_key(*o))
        {
            return Some(operator.clone());
        }
        let phone = PhoneNumber::parse(&row.phone).ok()?;
        let catalogue = self.app.catalogue();
        let operator = catalogue.prefixes.operator_of(&phone)?.to_string();
        self.links.contains_key(&operator).then_some(operator)
    }

    async fn send(
        &self,
        row: &SmppOutboxRow,
        operator: &str,
        link: &dyn SmsLink,
    ) -> Result<(), crate::ServiceError> {
        // The reference is the row's, so parts sent again after a restart join the first ones.
        let reference = u8::try_from(row.id.rem_euclid(256)).unwrap_or(0);
        let parts = match text::split(&row.body, reference) {
            Ok(parts) => parts,
            Err(error) => {
                let mut tx = self.app.store.begin().await?;
                store::sms::mark_failed(&mut tx, row.id, &error.to_string()).await?;
                tx.commit().await?;
                return Ok(());
            }
        };
        let done = {
            let mut conn = self.app.store.reader().await?;
            store::sms::submitted_parts(&mut conn, row.id).await?
        };
        for (part, number) in parts.iter().zip(1i64..) {
            if done.contains(&number) {
                continue;
            }
            match link.submit_part(&row.phone, part).await {
                Ok(message_id) => {
                    self.books
                        .write(Write::Part {
                            id: row.id,
                            number,
                            operator: operator.to_owned(),
                            message_id,
                        })
                        .await?;
                }
                Err(SubmitError::Rejected(code)) => {
                    let mut tx = self.app.store.begin().await?;
                    store::sms::mark_failed(&mut tx, row.id, &format!("refused {code:#010x}"))
                        .await?;
                    tx.commit().await?;
                    return Ok(());
                }
                Err(error) => {
                    let attempts = u32::try_from(row.attempts.clamp(0, 16)).unwrap_or(16);
                    let delay = RETRY_FIRST_MS
                        .saturating_mul(1 << attempts)
                        .min(RETRY_MAX_MS);
                    let mut tx = self.app.store.begin().await?;
                    store::sms::schedule_retry(
                        &mut tx,
                        row.id,
                        self.app.now_ms() + delay,
                        &error.to_string(),
                    )
                    .await?;
                    tx.commit().await?;
                    return Ok(());
                }
            }
        }
        self.books.write(Write::Submitted { id: row.id }).await
    }
}

/// Our binds and the dispatcher, running.
pub struct SmppService {
    esmes: Vec<Esme>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl SmppService {
    /// Answers what a previous run left unanswered, releases messages it was sending, binds to
    /// every SMSC and starts the dispatcher and the sweep.
    pub async fn start(
        app: Arc<App>,
        configs: Vec<SmscConfig>,
    ) -> Result<SmppService, crate::ServiceError> {
        {
            let mut tx = app.store.begin().await?;
            let released = store::sms::release_in_doubt(&mut tx).await?;
            tx.commit().await?;
            if released > 0 {
                tracing::warn!(
                    released,
                    "SMS the previous run was sending go again (parts without an SMSC id only)"
                );
            }
        }
        let answered = answer_unanswered(&app, 0).await?;
        if answered > 0 {
            tracing::warn!(
                answered,
                "answered SMS the previous run stored but did not answer"
            );
        }
        let wake = Arc::new(Notify::new());
        let books = Books::start(Arc::clone(&app));
        let inbound = Arc::new(Inbound {
            app: Arc::clone(&app),
            wake: Arc::clone(&wake),
            answers: Arc::new(Semaphore::new(ANSWERS_IN_FLIGHT_MAX)),
            locks: Arc::new(Locks::default()),
            books: books.clone(),
        });
        let mut esmes = Vec::new();
        let mut links: HashMap<String, Arc<dyn SmsLink>> = HashMap::new();
        for config in configs {
            let operator = config.operator.to_string();
            let esme = Esme::start(config, inbound.clone());
            links.insert(operator, Arc::new(esme.clone()));
            esmes.push(esme);
        }
        // The console shows every bind's state as it goes (never its password).
        app.partners
            .add_smscs(esmes.iter().map(Esme::describe).collect());
        let (stop, stopping) = watch::channel(false);
        let dispatcher = Arc::new(Dispatcher::new(Arc::clone(&app), links, wake, books));
        let mut tasks = vec![tokio::spawn(dispatcher.run(stopping.clone()))];
        tasks.push(tokio::spawn(sweep(app, stopping)));
        Ok(SmppService { esmes, stop, tasks })
    }

    pub fn esmes(&self) -> &[Esme] {
        &self.esmes
    }

    /// Waits until every bind is up, at most `timeout`.
    pub async fn wait_bound(&self, timeout: Duration) -> bool {
        for esme in &self.esmes {
            if !esme.wait_bound(timeout).await {
                return false;
            }
        }
        true
    }

    /// Stops the dispatcher and unbinds.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "SMPP task ended badly");
            }
        }
        for esme in &self.esmes {
            esme.shutdown().await;
        }
    }
}

async fn sweep(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(SWEEP_PERIOD_S)) => {}
            _ = stop.changed() => return,
        }
        if let Err(error) = answer_unanswered(&app, SWEEP_AGE_MS).await {
            tracing::error!(%error, "answering SMS left unanswered failed");
        }
    }
}

/// A message's state on its way over SMPP, for people: the dispatcher's state until every
/// part went, then the parts' receipts (`delivered` once all are; the worst part otherwise).
/// None when it is not an SMPP message (waiting, or the gateway's).
pub fn delivery_state(row: &store::sms::DeliveryRow) -> Option<String> {
    let word = row.smpp_state.as_deref()?;
    match SmppState::parse(word) {
        Ok(SmppState::Gateway) => return None,
        Ok(SmppState::Submitted) if !row.parts.is_empty() => {}
        // A word none of ours is shown as it is stored (the tidy test keeps the store's SQL
        // to the enum's words).
        _ => return Some(word.to_owned()),
    }
    let parts: Vec<&str> = row.parts.iter().map(|(_, _, s)| s.as_str()).collect();
    let all = |word: &str| parts.iter().all(|s| *s == word);
    Some(
        if all("delivered") {
            "delivered"
        } else if let Some(bad) = parts
            .iter()
            .find(|s| !matches!(**s, "delivered" | "submitted" | "enroute" | "accepted"))
        {
            bad
        } else {
            "submitted"
        }
        .to_owned(),
    )
}
