//! One ESME's connection to the simulated SMSC, and the delivery of phones' messages to the
//! bound ESMEs with redelivery.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use partners::smpp::ReceiptState;
use partners::smpp::esme::message_state_tlv;
use partners::smpp::pdu::{
    Body, ESM_DELIVERY_RECEIPT, Frame, Pdu, ShortMessage, SmppCodec, Tlv, status, tag,
};
use partners::smpp::text;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, FramedWrite};

use super::{
    Bound, DELIVER_RESPONSE_TIMEOUT_MS, INBOX_MESSAGES_MAX, InboxMessage, Outgoing,
    REDELIVERIES_MAX, REDELIVERY_DELAY_MS, Shared,
};

/// A bind must come within this long of connecting.
const BIND_TIMEOUT_MS: u64 = 10_000;
/// deliver_sm waiting to be written to one ESME.
const OUTGOING_QUEUE_MAX: usize = 1_024;

pub(crate) async fn accept(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                // Tests drop the SMSC's connections; never let Nagle delay an answer.
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::warn!(%error, "simulated SMSC: nodelay");
                }
                tokio::spawn(connection(stream, Arc::clone(&shared)));
            }
            Err(error) => {
                tracing::warn!(%error, "simulated SMSC: accept failed");
                tokio::task::yield_now().await;
            }
        }
    }
}

type Writer = FramedWrite<tokio::net::tcp::OwnedWriteHalf, SmppCodec>;

async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    let (read, write) = stream.into_split();
    let mut reader = FramedRead::new(read, SmppCodec);
    let mut writer = FramedWrite::new(write, SmppCodec);
    let Some(operator) = bind(&mut reader, &mut writer, &shared).await else {
        return;
    };
    let session_id = shared.next_id();
    let (outgoing, mut queue) = mpsc::channel::<Outgoing>(OUTGOING_QUEUE_MAX);
    {
        let mut state = shared.state.lock().await;
        state.stats.binds += 1;
        state.sessions.insert(
            session_id,
            Bound {
                operator: operator.clone(),
                outgoing,
                window: Arc::new(tokio::sync::Semaphore::new(super::DELIVER_WINDOW)),
            },
        );
    }
    shared.bump();
    let (late, mut late_answers) = mpsc::channel::<Pdu>(OUTGOING_QUEUE_MAX);
    let mut waiting: HashMap<u32, oneshot::Sender<Option<u32>>> = HashMap::new();
    let mut sequence: u32 = 0;
    loop {
        tokio::select! {
            frame = reader.next() => {
                let Some(Ok(frame)) = frame else { break };
                let pdu = match frame {
                    Frame::Pdu(pdu) => pdu,
                    Frame::Malformed { sequence, .. } => {
                        if answer(&mut writer, sequence, status::INVALID_COMMAND_LENGTH, Body::GenericNack).await.is_err() {
                            break;
                        }
                        continue;
                    }
                };
                if pdu.body.is_response() {
                    if let Some(answered) = waiting.remove(&pdu.sequence) {
                        answered.send(Some(pdu.status)).unwrap_or(());
                    }
                    continue;
                }
                let keep = match pdu.body {
                    Body::EnquireLink => answer(&mut writer, pdu.sequence, status::OK, Body::EnquireLinkResp).await.is_ok(),
                    Body::Unbind => {
                        answer(&mut writer, pdu.sequence, status::OK, Body::UnbindResp).await.unwrap_or(());
                        false
                    }
                    Body::SubmitSm(sm) => on_submit(&shared, &operator, &mut writer, &late, pdu.sequence, sm).await,
                    Body::BindTransceiver(_) => answer(&mut writer, pdu.sequence, status::ALREADY_BOUND, Body::BindTransceiverResp { system_id: String::new() }).await.is_ok(),
                    _ => answer(&mut writer, pdu.sequence, status::INVALID_COMMAND_ID, Body::GenericNack).await.is_ok(),
                };
                if !keep {
                    break;
                }
            }
            Some(answer) = late_answers.recv() => {
                if writer.send(answer).await.is_err() {
                    break;
                }
            }
            Some(out) = queue.recv() => {
                sequence = sequence % 0x7FFF_FFFF + 1;
                let receipt = out.sm.esm_class & ESM_DELIVERY_RECEIPT != 0;
                let pdu = Pdu { sequence, status: status::OK, body: Body::DeliverSm(out.sm) };
                if writer.send(pdu).await.is_err() {
                    out.answered.send(None).unwrap_or(());
                    break;
                }
                waiting.insert(sequence, out.answered);
                let drop_now = {
                    let mut state = shared.state.lock().await;
                    state.stats.delivers_sent += 1;
                    let drop_now = !receipt && state.faults.drop_after_deliver > 0;
                    state.faults.drop_after_deliver = state.faults.drop_after_deliver.saturating_sub(u32::from(drop_now));
                    drop_now
                };
                if drop_now {
                    break;
                }
            }
        }
    }
    shared.state.lock().await.sessions.remove(&session_id);
    shared.bump();
    for (_, answered) in waiting {
        answered.send(None).unwrap_or(());
    }
}

async fn answer(writer: &mut Writer, sequence: u32, code: u32, body: Body) -> Result<(), ()> {
    writer
        .send(Pdu {
            sequence,
            status: code,
            body,
        })
        .await
        .map_err(|_| ())
}

/// Reads the bind; answers it; the operator of the account on success.
async fn bind(
    reader: &mut FramedRead<tokio::net::tcp::OwnedReadHalf, SmppCodec>,
    writer: &mut Writer,
    shared: &Shared,
) -> Option<String> {
    let frame = tokio::time::timeout(Duration::from_millis(BIND_TIMEOUT_MS), reader.next())
        .await
        .ok()??
        .ok()?;
    let Frame::Pdu(Pdu { sequence, body, .. }) = frame else {
        return None;
    };
    let Body::BindTransceiver(bind) = body else {
        answer(
            writer,
            sequence,
            status::INCORRECT_BIND_STATUS,
            Body::GenericNack,
        )
        .await
        .unwrap_or(());
        return None;
    };
    let account = shared
        .accounts
        .iter()
        .find(|a| a.system_id == bind.system_id);
    let code = match account {
        None => status::INVALID_SYSTEM_ID,
        Some(account) if account.password != bind.password => status::INVALID_PASSWORD,
        Some(_) => status::OK,
    };
    let reply = Body::BindTransceiverResp {
        system_id: "SMSCSIM".into(),
    };
    answer(writer, sequence, code, reply).await.ok()?;
    account
        .filter(|_| code == status::OK)
        .map(|a| a.operator.clone())
}

/// Answers a submit_sm (faults first), files it in the phone's inbox, sends the receipt.
/// False when the connection is gone.
async fn on_submit(
    shared: &Arc<Shared>,
    operator: &str,
    writer: &mut Writer,
    late: &mpsc::Sender<Pdu>,
    sequence: u32,
    sm: ShortMessage,
) -> bool {
    let (code, late_ms) = {
        let mut state = shared.state.lock().await;
        state.stats.submits += 1;
        let faults = &mut state.faults;
        let code = if faults.throttle_all || faults.throttle > 0 {
            faults.throttle = faults.throttle.saturating_sub(1);
            status::THROTTLED
        } else if faults.queue_full > 0 {
            faults.queue_full -= 1;
            status::MESSAGE_QUEUE_FULL
        } else if faults.reject > 0 {
            faults.reject -= 1;
            status::INVALID_DESTINATION
        } else {
            status::OK
        };
        let late_ms = faults.late_answer_ms;
        if code == status::THROTTLED {
            state.stats.throttled += 1;
        }
        (code, late_ms)
    };
    shared.bump();
    let message_id = if code == status::OK {
        format!("smsc-{}", shared.next_id())
    } else {
        String::new()
    };
    let response = Pdu {
        sequence,
        status: code,
        body: Body::SubmitSmResp {
            message_id: message_id.clone(),
        },
    };
    if code == status::OK {
        file(shared, &sm, &message_id).await;
    }
    // The receipt follows the response, as on a real SMSC.
    let receipt = (code == status::OK && sm.registered_delivery & 0x01 != 0).then(|| {
        (
            receipt_for(&sm, &message_id),
            Arc::clone(shared),
            operator.to_owned(),
        )
    });
    let send_receipt = |receipt: Option<(ShortMessage, Arc<Shared>, String)>| {
        if let Some((receipt, shared, operator)) = receipt {
            tokio::spawn(async move {
                if deliver(&shared, Some(&operator), receipt).await {
                    shared.state.lock().await.stats.receipts_sent += 1;
                    shared.bump();
                }
            });
        }
    };
    if late_ms > 0 {
        let late = late.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(late_ms)).await;
            if late.send(response).await.is_ok() {
                send_receipt(receipt);
            }
        });
    } else if writer.send(response).await.is_err() {
        return false;
    } else {
        send_receipt(receipt);
    }
    true
}

fn phone_of(sm: &ShortMessage) -> String {
    if sm.destination_ton == 1 && !sm.destination.starts_with('+') {
        format!("+{}", sm.destination)
    } else {
        sm.destination.clone()
    }
}

/// Puts a submitted part in its phone's inbox, joining concatenated parts.
async fn file(shared: &Shared, sm: &ShortMessage, message_id: &str) {
    let decoded = text::decode(sm);
    let phone = phone_of(sm);
    let at_ms = u64::try_from(shared.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut state = shared.state.lock().await;
    let whole = match decoded.concatenation {
        None => Some((decoded.text, vec![message_id.to_owned()])),
        Some(c) => {
            let key = (
                phone.clone(),
                u8::try_from(c.reference & 0xFF).unwrap_or(0),
                c.total,
            );
            let parts = state.partial.entry(key.clone()).or_default();
            if !parts.iter().any(|(n, _, _)| *n == c.number) {
                parts.push((c.number, decoded.text, message_id.to_owned()));
            }
            if parts.len() == usize::from(c.total) {
                let mut parts = state.partial.remove(&key).unwrap_or_default();
                parts.sort_by_key(|(n, _, _)| *n);
                let ids = parts.iter().map(|(_, _, id)| id.clone()).collect();
                Some((parts.into_iter().map(|(_, t, _)| t).collect(), ids))
            } else {
                None
            }
        }
    };
    if let Some((text, message_ids)) = whole {
        let inbox = state.inboxes.entry(phone).or_default();
        if inbox.len() >= INBOX_MESSAGES_MAX {
            inbox.remove(0);
        }
        inbox.push(InboxMessage {
            text,
            from: sm.source.clone(),
            message_ids,
            data_coding: sm.data_coding,
            at_ms,
        });
        drop(state);
        shared.bump();
    }
}

/// The receipt of SMPP 3.4 appendix B, with the TLVs too.
fn receipt_for(sm: &ShortMessage, message_id: &str) -> ShortMessage {
    let decoded = text::decode(sm);
    let start: String = decoded
        .text
        .chars()
        .filter(char::is_ascii)
        .take(20)
        .collect();
    let now = jiff::Zoned::now().strftime("%y%m%d%H%M").to_string();
    let text = format!(
        "id:{message_id} sub:001 dlvrd:001 submit date:{now} done date:{now} stat:{} err:000 text:{start}",
        ReceiptState::Delivered.stat()
    );
    ShortMessage {
        source_ton: sm.destination_ton,
        source_npi: sm.destination_npi,
        source: sm.destination.clone(),
        destination_ton: sm.source_ton,
        destination_npi: sm.source_npi,
        destination: sm.source.clone(),
        esm_class: ESM_DELIVERY_RECEIPT,
        data_coding: text::DATA_CODING_DEFAULT,
        short_message: text.into_bytes().into(),
        tlvs: vec![
            Tlv::text(tag::RECEIPTED_MESSAGE_ID, message_id),
            message_state_tlv(ReceiptState::Delivered),
        ],
        ..ShortMessage::default()
    }
}

/// Delivers one deliver_sm to a bind of `operator` (any bind when None), again and again until
/// it is answered OK; true when it was. A permanent refusal ends the attempts.
pub(crate) async fn deliver(
    shared: &Arc<Shared>,
    operator: Option<&str>,
    sm: ShortMessage,
) -> bool {
    let mut changed = shared.changed.subscribe();
    for _ in 0..REDELIVERIES_MAX {
        let target = {
            let state = shared.state.lock().await;
            state
                .sessions
                .values()
                .find(|s| operator.is_none_or(|o| s.operator == o))
                .map(|s| (s.outgoing.clone(), Arc::clone(&s.window)))
        };
        let Some((target, window)) = target else {
            // Nobody bound: wait for a bind; a silent while counts as one attempt.
            let waited = tokio::time::timeout(
                Duration::from_millis(DELIVER_RESPONSE_TIMEOUT_MS),
                changed.changed(),
            );
            if let Ok(Err(_)) = waited.await {
                return false;
            }
            continue;
        };
        // Held until the answer (or the give-up): the window of unacknowledged deliveries.
        let Ok(in_window) = window.acquire_owned().await else {
            continue;
        };
        let (answered, answer) = oneshot::channel();
        if target
            .send(Outgoing {
                sm: sm.clone(),
                answered,
            })
            .await
            .is_err()
        {
            continue;
        }
        let code = tokio::time::timeout(Duration::from_millis(DELIVER_RESPONSE_TIMEOUT_MS), answer)
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        drop(in_window);
        match code {
            Some(status::OK) => {
                shared.state.lock().await.stats.delivers_acknowledged += 1;
                shared.bump();
                return true;
            }
            Some(status::RECEIVER_PERMANENT_ERROR) => {
                shared.state.lock().await.stats.delivers_refused += 1;
                shared.bump();
                return false;
            }
            _ => {
                shared.state.lock().await.stats.delivers_refused += 1;
                shared.bump();
                tokio::time::sleep(Duration::from_millis(REDELIVERY_DELAY_MS)).await;
            }
        }
    }
    false
}
