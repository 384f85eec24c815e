//! Our ESME: one transceiver bind to one operator's SMSC, kept up for as long as the server
//! runs. The supervisor connects, binds, runs the session, and after a drop reconnects with a
//! doubling back-off; on shutdown it unbinds. The session is one task over the socket: it
//! writes our requests (at most `window` in flight, paced to the operator's throughput),
//! matches responses by sequence number, answers `enquire_link`, sends its own when the line
//! is quiet, and hands every `deliver_sm` to the [`DeliverHandler`], answering only with what
//! the handler decided (so a message is stored before the SMSC hears "OK"). Every read and
//! write has a timeout; a silent SMSC is dropped and reconnected.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Mutex, Semaphore, mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::codec::{FramedRead, FramedWrite};

use super::pdu::{
    Bind, Body, ESM_DELIVERY_RECEIPT, Frame, Pdu, ShortMessage, SmppCodec, Tlv, status, tag,
};
use super::status::{BindState, BindStatus, SmscDescription};
use super::text::{self, Part};
use super::{
    DeliverAnswer, DeliverHandler, Delivery, MoMessage, Receipt, ReceiptState, SmsLink, SubmitError,
};
use crate::operator::BoxFuture;
use domain::OperatorId;

/// SMPP 3.4.
pub const INTERFACE_VERSION: u8 = 0x34;
/// Deliveries being stored at once per bind; beyond it the SMSC is asked to redeliver.
pub const DELIVERIES_IN_FLIGHT_MAX: usize = 256;
/// Requests queued for the session's writer.
pub const REQUEST_QUEUE_MAX: usize = 1_024;

/// An operator's SMSC connection, as configuration.
#[derive(Clone, Debug)]
pub struct SmscConfig {
    pub operator: OperatorId,
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub system_id: String,
    pub password: String,
    pub system_type: String,
    /// Our short number, the source of every reply.
    pub source_address: String,
    /// Requests in flight without a response, at most.
    pub window: usize,
    /// submit_sm per second at most (the operator's contract).
    pub throughput_per_s: u32,
    /// The TLV in which this SMSC names a mobile-originated message (vendor-specific).
    pub message_id_tag: u16,
    pub timeouts: Timeouts,
}

#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect_ms: u64,
    /// A response (bind, submit, enquire_link, unbind) is awaited this long.
    pub response_ms: u64,
    /// A write that does not complete in this long drops the connection.
    pub write_ms: u64,
    /// With nothing read for this long, we send enquire_link.
    pub enquire_link_ms: u64,
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect_ms: 5_000,
            response_ms: 10_000,
            write_ms: 5_000,
            enquire_link_ms: 30_000,
            reconnect_min_ms: 200,
            reconnect_max_ms: 30_000,
        }
    }
}

type Reply = oneshot::Sender<Result<Pdu, Lost>>;

/// The request was written (or may have been) and no response will come on this connection.
#[derive(Debug)]
struct Lost;

struct Request {
    body: Body,
    reply: Reply,
}

struct Inner {
    config: SmscConfig,
    requests: mpsc::Sender<Request>,
    window: Semaphore,
    next_slot: Mutex<Instant>,
    bound: watch::Sender<bool>,
    shutdown: watch::Sender<bool>,
    sequence: AtomicU32,
    status: Arc<BindStatus>,
}

/// A running bind; cloning shares it.
#[derive(Clone)]
pub struct Esme {
    inner: Arc<Inner>,
    stopped: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Esme {
    /// Starts the supervisor: it connects and binds in the background and keeps the bind up.
    pub fn start(config: SmscConfig, handler: Arc<dyn DeliverHandler>) -> Esme {
        let (requests, queue) = mpsc::channel(REQUEST_QUEUE_MAX);
        let inner = Arc::new(Inner {
            window: Semaphore::new(config.window.max(1)),
            config,
            requests,
            next_slot: Mutex::new(Instant::now()),
            bound: watch::channel(false).0,
            shutdown: watch::channel(false).0,
            sequence: AtomicU32::new(0),
            status: Arc::new(BindStatus::default()),
        });
        let task = tokio::spawn(supervise(Arc::clone(&inner), queue, handler));
        Esme {
            inner,
            stopped: Arc::new(Mutex::new(Some(task))),
        }
    }

    pub fn operator(&self) -> &OperatorId {
        &self.inner.config.operator
    }

    pub fn is_bound(&self) -> bool {
        *self.inner.bound.borrow()
    }

    /// The bind as configured, without its password, with its live state and counters.
    pub fn describe(&self) -> SmscDescription {
        let config = &self.inner.config;
        SmscDescription {
            operator: config.operator.clone(),
            host: config.host.clone(),
            port: config.port,
            tls: config.tls,
            system_id: config.system_id.clone(),
            system_type: config.system_type.clone(),
            window: config.window,
            throughput_per_s: config.throughput_per_s,
            status: Arc::clone(&self.inner.status),
        }
    }

    /// Waits until bound, at most `timeout`; true when bound.
    pub async fn wait_bound(&self, timeout: Duration) -> bool {
        let mut bound = self.inner.bound.subscribe();
        tokio::time::timeout(timeout, bound.wait_for(|b| *b))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Unbinds and stops; waits for the supervisor to finish.
    pub async fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        if let Some(task) = self.stopped.lock().await.take()
            && let Err(error) = task.await
        {
            tracing::error!(%error, "SMPP supervisor ended badly");
        }
    }

    async fn pace(&self) {
        let rate = self.inner.config.throughput_per_s.max(1);
        let interval = Duration::from_secs(1) / rate;
        let slot = {
            let mut next = self.inner.next_slot.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    async fn submit(&self, to: &str, part: &Part) -> Result<String, SubmitError> {
        if !self.is_bound() {
            return Err(SubmitError::NotBound);
        }
        let _permit = self
            .inner
            .window
            .acquire()
            .await
            .map_err(|_| SubmitError::NotBound)?;
        self.pace().await;
        let config = &self.inner.config;
        let (destination_ton, destination) = match to.strip_prefix('+') {
            Some(digits) => (1, digits.to_owned()),
            None => (0, to.to_owned()),
        };
        let sm = ShortMessage {
            source_ton: 3,
            source_npi: 0,
            source: config.source_address.clone(),
            destination_ton,
            destination_npi: 1,
            destination,
            esm_class: part.esm_class,
            registered_delivery: 1,
            data_coding: part.data_coding,
            short_message: part.short_message.clone().into(),
            ..ShortMessage::default()
        };
        let (reply, answer) = oneshot::channel();
        let request = Request {
            body: Body::SubmitSm(sm),
            reply,
        };
        self.inner
            .requests
            .send(request)
            .await
            .map_err(|_| SubmitError::NotBound)?;
        let waited = Duration::from_millis(config.timeouts.response_ms + config.timeouts.write_ms);
        let outcome = match tokio::time::timeout(waited, answer).await {
            Ok(Ok(Ok(pdu))) => submit_outcome(pdu),
            Ok(Ok(Err(Lost))) | Ok(Err(_)) | Err(_) => Err(SubmitError::OutcomeUnknown),
        };
        self.inner.status.submitted(outcome.is_ok());
        outcome
    }
}

fn submit_outcome(pdu: Pdu) -> Result<String, SubmitError> {
    match (pdu.status, pdu.body) {
        (status::OK, Body::SubmitSmResp { message_id }) if !message_id.is_empty() => Ok(message_id),
        (status::OK, _) => Err(SubmitError::OutcomeUnknown),
        (status::THROTTLED, _) => Err(SubmitError::Throttled),
        (status::MESSAGE_QUEUE_FULL, _) => Err(SubmitError::QueueFull),
        (
            code @ (status::INVALID_DESTINATION
            | status::INVALID_MESSAGE_LENGTH
            | status::INVALID_COMMAND_ID),
            _,
        ) => Err(SubmitError::Rejected(code)),
        (code, _) => Err(SubmitError::Temporary(code)),
    }
}

impl SmsLink for Esme {
    fn submit_part<'a>(
        &'a self,
        to: &'a str,
        part: &'a Part,
    ) -> BoxFuture<'a, Result<String, SubmitError>> {
        Box::pin(self.submit(to, part))
    }

    fn is_bound(&self) -> bool {
        Esme::is_bound(self)
    }
}

/// A byte stream to the SMSC (TCP, or TLS over it).
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

async fn connect(config: &SmscConfig) -> std::io::Result<Box<dyn Stream>> {
    let address = format!("{}:{}", config.host, config.port);
    let tcp = tokio::time::timeout(
        Duration::from_millis(config.timeouts.connect_ms),
        tokio::net::TcpStream::connect(&address),
    )
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    tcp.set_nodelay(true)?;
    if config.tls {
        return super::tls::wrap(tcp, &config.host, config.timeouts.connect_ms).await;
    }
    Ok(Box::new(tcp))
}

async fn supervise(
    inner: Arc<Inner>,
    mut queue: mpsc::Receiver<Request>,
    handler: Arc<dyn DeliverHandler>,
) {
    let timeouts = inner.config.timeouts;
    let mut back_off_ms = timeouts.reconnect_min_ms;
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        if *shutdown.borrow() {
            inner.status.enter(BindState::Stopped);
            return;
        }
        inner.status.enter(BindState::Connecting);
        let ended = match connect(&inner.config).await {
            Ok(stream) => {
                let mut session = Session::new(Arc::clone(&inner), stream, Arc::clone(&handler));
                match session.bind().await {
                    Ok(()) => {
                        back_off_ms = timeouts.reconnect_min_ms;
                        inner.bound.send_replace(true);
                        inner.status.enter(BindState::Bound);
                        tracing::info!(operator = %inner.config.operator, "SMPP bound");
                        let ended = session.run(&mut queue).await;
                        inner.bound.send_replace(false);
                        ended
                    }
                    Err(error) => error,
                }
            }
            Err(error) => format!("connect: {error}"),
        };
        if *shutdown.borrow() {
            inner.status.enter(BindState::Stopped);
            return;
        }
        inner.status.down(&ended);
        tracing::warn!(operator = %inner.config.operator, %ended, back_off_ms, "SMPP connection down; reconnecting");
        // Requests queued meanwhile learn at once that nothing was sent.
        while let Ok(request) = queue.try_recv() {
            drop(request.reply.send(Err(Lost)));
        }
        let wait = tokio::time::sleep(Duration::from_millis(back_off_ms));
        tokio::select! {
            () = wait => {}
            _ = shutdown.changed() => {
                inner.status.enter(BindState::Stopped);
                return;
            }
        }
        back_off_ms = (back_off_ms * 2).min(timeouts.reconnect_max_ms);
    }
}

struct Session {
    inner: Arc<Inner>,
    reader: FramedRead<tokio::io::ReadHalf<Box<dyn Stream>>, SmppCodec>,
    writer: FramedWrite<tokio::io::WriteHalf<Box<dyn Stream>>, SmppCodec>,
    handler: Arc<dyn DeliverHandler>,
    pending: HashMap<u32, (Option<Reply>, Instant)>,
    deliveries: Arc<Semaphore>,
    /// Names MOs without an id of the SMSC's (unique per bind).
    bound_at_ms: i64,
}

impl Session {
    fn new(
        inner: Arc<Inner>,
        stream: Box<dyn Stream>,
        handler: Arc<dyn DeliverHandler>,
    ) -> Session {
        let (read, write) = tokio::io::split(stream);
        Session {
            inner,
            reader: FramedRead::new(read, SmppCodec),
            writer: FramedWrite::new(write, SmppCodec),
            handler,
            pending: HashMap::new(),
            deliveries: Arc::new(Semaphore::new(DELIVERIES_IN_FLIGHT_MAX)),
            bound_at_ms: jiff::Timestamp::now().as_millisecond(),
        }
    }

    fn next_sequence(&self) -> u32 {
        // 1..=0x7FFFFFFF, wrapping.
        self.inner.sequence.fetch_add(1, Ordering::Relaxed) % 0x7FFF_FFFF + 1
    }

    async fn write(&mut self, pdu: Pdu) -> Result<(), String> {
        let limit = Duration::from_millis(self.inner.config.timeouts.write_ms);
        match tokio::time::timeout(limit, self.writer.send(pdu)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!("write: {error}")),
            Err(_) => Err("write timed out".into()),
        }
    }

    async fn read(&mut self) -> Result<Frame, String> {
        let limit = Duration::from_millis(self.inner.config.timeouts.response_ms);
        match tokio::time::timeout(limit, self.reader.next()).await {
            Ok(Some(Ok(frame))) => Ok(frame),
            Ok(Some(Err(error))) => Err(format!("read: {error}")),
            Ok(None) => Err("the SMSC closed the connection".into()),
            Err(_) => Err("no answer in time".into()),
        }
    }

    async fn bind(&mut self) -> Result<(), String> {
        let config = &self.inner.config;
        let sequence = self.next_sequence();
        let bind = Bind {
            system_id: config.system_id.clone(),
            password: config.password.clone(),
            system_type: config.system_type.clone(),
            interface_version: INTERFACE_VERSION,
            addr_ton: 0,
            addr_npi: 0,
            address_range: String::new(),
        };
        self.write(Pdu {
            sequence,
            status: status::OK,
            body: Body::BindTransceiver(bind),
        })
        .await?;
        loop {
            match self.read().await? {
                Frame::Pdu(Pdu {
                    sequence: answered,
                    status,
                    body: Body::BindTransceiverResp { .. } | Body::GenericNack,
                }) if answered == sequence => {
                    return if status == status::OK {
                        Ok(())
                    } else {
                        Err(format!("bind refused with status {status:#010x}"))
                    };
                }
                Frame::Pdu(Pdu {
                    sequence,
                    body: Body::EnquireLink,
                    ..
                }) => {
                    self.write(response(sequence, status::OK, Body::EnquireLinkResp))
                        .await?
                }
                other => return Err(format!("unexpected answer to bind: {other:?}")),
            }
        }
    }

    /// Runs until the connection ends or we are told to stop; returns why it ended.
    async fn run(&mut self, queue: &mut mpsc::Receiver<Request>) -> String {
        let (answers, mut answered) = mpsc::channel::<Pdu>(DELIVERIES_IN_FLIGHT_MAX);
        let timeouts = self.inner.config.timeouts;
        let mut shutdown = self.inner.shutdown.subscribe();
        let tick =
            Duration::from_millis(timeouts.enquire_link_ms.min(timeouts.response_ms) / 4 + 1);
        let mut ticker = tokio::time::interval(tick);
        let mut last_read = Instant::now();
        let ended = loop {
            tokio::select! {
                frame = self.reader.next() => {
                    last_read = Instant::now();
                    match frame {
                        Some(Ok(frame)) => {
                            if let Err(error) = self.on_frame(frame, &answers).await {
                                break error;
                            }
                        }
                        Some(Err(error)) => break format!("read: {error}"),
                        None => break "the SMSC closed the connection".into(),
                    }
                }
                Some(request) = queue.recv() => {
                    let sequence = self.next_sequence();
                    let deadline = Instant::now() + Duration::from_millis(timeouts.response_ms);
                    self.pending.insert(sequence, (Some(request.reply), deadline));
                    if let Err(error) = self.write(Pdu { sequence, status: status::OK, body: request.body }).await {
                        break error;
                    }
                }
                Some(answer) = answered.recv() => {
                    if let Err(error) = self.write(answer).await {
                        break error;
                    }
                }
                _ = ticker.tick() => {
                    if let Err(error) = self.on_tick(last_read).await {
                        break error;
                    }
                }
                _ = shutdown.changed() => {
                    self.unbind().await;
                    break "unbound on shutdown".into();
                }
            }
        };
        for (_, (reply, _)) in self.pending.drain() {
            if let Some(reply) = reply {
                drop(reply.send(Err(Lost)));
            }
        }
        ended
    }

    async fn on_tick(&mut self, last_read: Instant) -> Result<(), String> {
        let now = Instant::now();
        let expired: Vec<u32> = self
            .pending
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(sequence, _)| *sequence)
            .collect();
        for sequence in expired {
            if let Some((reply, _)) = self.pending.remove(&sequence) {
                match reply {
                    // Our own enquire_link went unanswered: the line is dead.
                    None => return Err("enquire_link unanswered".into()),
                    Some(reply) => drop(reply.send(Err(Lost))),
                }
            }
        }
        let quiet = now.duration_since(last_read);
        let probing = self.pending.values().any(|(reply, _)| reply.is_none());
        if quiet >= Duration::from_millis(self.inner.config.timeouts.enquire_link_ms) && !probing {
            let sequence = self.next_sequence();
            let deadline = now + Duration::from_millis(self.inner.config.timeouts.response_ms);
            self.pending.insert(sequence, (None, deadline));
            self.write(Pdu {
                sequence,
                status: status::OK,
                body: Body::EnquireLink,
            })
            .await?;
        }
        Ok(())
    }

    async fn on_frame(&mut self, frame: Frame, answers: &mpsc::Sender<Pdu>) -> Result<(), String> {
        let pdu = match frame {
            Frame::Pdu(pdu) => pdu,
            Frame::Malformed {
                sequence, error, ..
            } => {
                tracing::warn!(%error, "malformed PDU from the SMSC");
                return self
                    .write(response(
                        sequence,
                        status::INVALID_COMMAND_LENGTH,
                        Body::GenericNack,
                    ))
                    .await;
            }
        };
        if pdu.body.is_response() {
            if let Some((reply, _)) = self.pending.remove(&pdu.sequence) {
                if let Some(reply) = reply
                    && reply.send(Ok(pdu)).is_err()
                {
                    tracing::warn!("a response came after its request gave up");
                }
            } else {
                tracing::warn!(sequence = pdu.sequence, "a response to nothing we sent");
            }
            return Ok(());
        }
        match pdu.body {
            Body::EnquireLink => {
                self.write(response(pdu.sequence, status::OK, Body::EnquireLinkResp))
                    .await
            }
            Body::Unbind => {
                self.write(response(pdu.sequence, status::OK, Body::UnbindResp))
                    .await?;
                Err("the SMSC unbound".into())
            }
            Body::DeliverSm(sm) => {
                self.on_deliver(pdu.sequence, sm, answers);
                Ok(())
            }
            _ => {
                self.write(response(
                    pdu.sequence,
                    status::INVALID_COMMAND_ID,
                    Body::GenericNack,
                ))
                .await
            }
        }
    }

    /// Stores the delivery in its own task and answers when the handler has decided.
    fn on_deliver(&self, sequence: u32, sm: ShortMessage, answers: &mpsc::Sender<Pdu>) {
        let Ok(permit) = Arc::clone(&self.deliveries).try_acquire_owned() else {
            // Too many being stored: the SMSC retries later.
            let answers = answers.clone();
            tokio::spawn(async move {
                drop(
                    answers
                        .send(response(
                            sequence,
                            status::RECEIVER_TEMPORARY_ERROR,
                            Body::DeliverSmResp,
                        ))
                        .await,
                );
            });
            return;
        };
        let delivery = read_delivery(&self.inner.config, self.bound_at_ms, sequence, &sm);
        self.inner
            .status
            .delivered(matches!(delivery, Delivery::Receipt(_)));
        let handler = Arc::clone(&self.handler);
        let operator = self.inner.config.operator.clone();
        let answers = answers.clone();
        tokio::spawn(async move {
            let answer = handler.deliver(&operator, delivery).await;
            let code = match answer {
                DeliverAnswer::Stored => status::OK,
                DeliverAnswer::TryLater => status::RECEIVER_TEMPORARY_ERROR,
                DeliverAnswer::Refused => status::RECEIVER_PERMANENT_ERROR,
            };
            drop(permit);
            // The connection may be gone: then the SMSC redelivers, which the store dedupes.
            drop(
                answers
                    .send(response(sequence, code, Body::DeliverSmResp))
                    .await,
            );
        });
    }

    async fn unbind(&mut self) {
        let sequence = self.next_sequence();
        if self
            .write(Pdu {
                sequence,
                status: status::OK,
                body: Body::Unbind,
            })
            .await
            .is_err()
        {
            return;
        }
        // Wait for unbind_resp (answers to other requests may still arrive first).
        let deadline =
            Instant::now() + Duration::from_millis(self.inner.config.timeouts.response_ms);
        while Instant::now() < deadline {
            match self.read().await {
                Ok(Frame::Pdu(Pdu {
                    body: Body::UnbindResp,
                    ..
                }))
                | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}

fn response(sequence: u32, status: u32, body: Body) -> Pdu {
    Pdu {
        sequence,
        status,
        body,
    }
}

/// A deliver_sm as what it means to us: a passenger's message (or a part of one), or a
/// delivery receipt for a reply.
pub fn read_delivery(
    config: &SmscConfig,
    bound_at_ms: i64,
    sequence: u32,
    sm: &ShortMessage,
) -> Delivery {
    let decoded = text::decode(sm);
    if sm.esm_class & 0x3C == ESM_DELIVERY_RECEIPT {
        let message_id = sm
            .tlv_text(tag::RECEIPTED_MESSAGE_ID)
            .or_else(|| receipt_field(&decoded.text, "id:"))
            .unwrap_or_default();
        let state = sm
            .tlv_u8(tag::MESSAGE_STATE)
            .map(ReceiptState::from_message_state)
            .or_else(|| receipt_field(&decoded.text, "stat:").map(|s| ReceiptState::from_stat(&s)))
            .unwrap_or(ReceiptState::Unknown);
        return Delivery::Receipt(Receipt { message_id, state });
    }
    let message_id = sm
        .tlv_text(config.message_id_tag)
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("seq-{bound_at_ms}-{sequence}"));
    let sender = if sm.source_ton == 1 && !sm.source.starts_with('+') {
        format!("+{}", sm.source)
    } else {
        sm.source.clone()
    };
    Delivery::Message(MoMessage {
        message_id,
        sender,
        destination: sm.destination.clone(),
        text: decoded.text,
        concatenation: decoded.concatenation,
    })
}

/// A field of the receipt text of SMPP 3.4 appendix B (`id:… sub:… stat:DELIVRD …`).
fn receipt_field(text: &str, name: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find(name)? + name.len();
    let rest = text.get(start..)?;
    Some(
        rest.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// A receipt's message_state TLV value for a state (the simulated SMSC writes it).
pub fn message_state_tlv(state: ReceiptState) -> Tlv {
    Tlv::new(tag::MESSAGE_STATE, vec![state.message_state()])
}
