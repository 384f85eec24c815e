//! SMS over SMPP end to end: the app bound as a transceiver to the simulated SMSC for every
//! operator, phones sending to 2505 and reading their inbox, faults injected on the SMSC.

use std::sync::Arc;
use std::time::Duration;

use domain::OperatorId;
use partners::smpp::{SmscConfig, Timeouts, pdu};
use service::smpp::SmppService;
use simulators::smsc::{Faults, SmscHandle, SmscSimulator};

use crate::harness::{Db, Method, TestApp, spawn};
use crate::on_both_stores;

const GOOD: &str = "+77011234567";
const OTHER: &str = "+77051234567";
pub(crate) const PASSWORD: &str = "pw2505";
const WAIT: Duration = Duration::from_secs(20);

struct Smpp {
    t: TestApp,
    smsc: SmscHandle,
    service: Option<SmppService>,
}

impl Smpp {
    async fn send(&self, phone: &str, text: &str) -> String {
        self.smsc
            .send_from_phone(phone, "2505", text, None)
            .await
            .unwrap()
    }

    /// Sends and returns the reply (the next message to reach the phone).
    async fn ask(&self, phone: &str, text: &str) -> String {
        let (_, reply) = self
            .smsc
            .send_and_wait_reply(phone, "2505", text, None, WAIT)
            .await
            .unwrap();
        reply.unwrap_or_else(|| panic!("no reply to {text:?}")).text
    }

    async fn stop(&mut self) {
        if let Some(service) = self.service.take() {
            service.shutdown().await;
        }
    }
}

pub(crate) fn configs(smsc: &SmscHandle) -> Vec<SmscConfig> {
    simulators::demo::OPERATORS
        .iter()
        .map(|operator| SmscConfig {
            operator: OperatorId::parse(operator).unwrap(),
            host: "127.0.0.1".into(),
            port: smsc.smpp_addr().port(),
            tls: false,
            system_id: (*operator).into(),
            password: PASSWORD.into(),
            system_type: String::new(),
            source_address: "2505".into(),
            window: 8,
            throughput_per_s: 1_000,
            message_id_tag: pdu::tag::SIMULATOR_MESSAGE_ID,
            timeouts: Timeouts {
                reconnect_min_ms: 20,
                reconnect_max_ms: 200,
                ..Timeouts::default()
            },
        })
        .collect()
}

async fn bound(db: Db) -> Smpp {
    let t = spawn(db).await;
    let accounts = simulators::smsc::demo_accounts(PASSWORD);
    let smsc = SmscSimulator::start("127.0.0.1:0".parse().unwrap(), accounts)
        .await
        .unwrap();
    let service = SmppService::start(Arc::clone(&t.app), configs(&smsc))
        .await
        .unwrap();
    assert!(service.wait_bound(WAIT).await, "bound to every operator");
    Smpp {
        t,
        smsc,
        service: Some(service),
    }
}

fn captured(t: &TestApp, phone: &str) -> i64 {
    t.sim
        .captured_total(&domain::PhoneNumber::parse(phone).unwrap())
        .tiyn()
}

async fn a_ride_by_smpp_is_answered_in_ucs2_with_receipts(db: Db) {
    let mut s = bound(db).await;
    let reply = s.ask(GOOD, "10101").await;
    assert!(reply.starts_with("Билет №"), "{reply}");
    let inbox = s.smsc.inbox(GOOD).await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].data_coding, 8, "Cyrillic goes as UCS-2");
    assert!(
        inbox[0].message_ids.len() > 1,
        "a long ticket is concatenated"
    );
    assert_eq!(captured(&s.t, GOOD), 9_000);
    // Every part's receipt reaches the SMSC's acknowledgement only after we stored it.
    let parts = inbox[0].message_ids.len() as u64;
    s.smsc
        .wait_stats(|st| st.receipts_sent >= parts, WAIT)
        .await;
    // A GSM text goes as GSM 7-bit.
    assert_eq!(s.ask(GOOD, "ENG").await, "Replies will now be in English.");
    assert_eq!(s.smsc.inbox(GOOD).await[1].data_coding, 0);
    s.stop().await;
    let mut conn = s.t.store.reader().await.unwrap();
    let rows = store::sms::deliveries(&mut conn, Some(GOOD), 0, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let ticket = &rows[1];
    assert_eq!(
        service::smpp::delivery_state(ticket).as_deref(),
        Some("delivered")
    );
    let ids: Vec<String> = ticket.parts.iter().map(|(_, id, _)| id.clone()).collect();
    assert_eq!(
        ids, inbox[0].message_ids,
        "the outbox records the SMSC's message ids"
    );
}
on_both_stores!(
    a_ride_by_smpp_is_answered_in_ucs2_with_receipts,
    a_ride_by_smpp_is_answered_in_ucs2_with_receipts
);

async fn a_redelivered_message_is_charged_and_answered_once(db: Db) {
    let mut s = bound(db).await;
    s.smsc
        .set_faults(Faults {
            duplicate: 1,
            ..Faults::default()
        })
        .await;
    let id = s.send(GOOD, "10101").await;
    s.smsc.wait_inbox(GOOD, 1, WAIT).await;
    s.smsc
        .wait_stats(|st| st.delivers_acknowledged >= 2, WAIT)
        .await;
    // And once more by hand, after the reply went.
    s.smsc
        .send_from_phone(GOOD, "2505", "10101", Some(id))
        .await
        .unwrap();
    s.smsc
        .wait_stats(|st| st.delivers_acknowledged >= 3, WAIT)
        .await;
    // A message after them is answered; by then any second reply would have come first.
    assert_eq!(s.ask(OTHER, "ENG").await, "Replies will now be in English.");
    assert_eq!(s.smsc.inbox(GOOD).await.len(), 1, "one reply");
    assert_eq!(captured(&s.t, GOOD), 9_000, "one charge");
    s.stop().await;
}
on_both_stores!(
    a_redelivered_message_is_charged_and_answered_once,
    a_redelivered_message_is_charged_and_answered_once
);

async fn a_drop_before_our_answer_is_redelivered_and_answered_once(db: Db) {
    let mut s = bound(db).await;
    s.smsc
        .set_faults(Faults {
            drop_after_deliver: 1,
            ..Faults::default()
        })
        .await;
    let reply = s.ask(GOOD, "10101").await;
    assert!(reply.starts_with("Билет №"), "{reply}");
    let stats = s
        .smsc
        .wait_stats(|st| st.delivers_acknowledged >= 1 && st.binds >= 4, WAIT)
        .await;
    assert!(stats.binds >= 4, "the dropped bind came back: {stats:?}");
    assert_eq!(s.ask(OTHER, "ENG").await, "Replies will now be in English.");
    assert_eq!(s.smsc.inbox(GOOD).await.len(), 1, "one reply");
    assert_eq!(captured(&s.t, GOOD), 9_000, "one charge");
    s.stop().await;
}
on_both_stores!(
    a_drop_before_our_answer_is_redelivered_and_answered_once,
    a_drop_before_our_answer_is_redelivered_and_answered_once
);

async fn throttling_and_a_full_queue_are_backed_off_and_retried(db: Db) {
    let mut s = bound(db).await;
    s.smsc
        .set_faults(Faults {
            throttle: 2,
            queue_full: 1,
            ..Faults::default()
        })
        .await;
    s.send(GOOD, "ENG").await;
    // The retry waits on the app's clock: move it on until the reply gets through.
    let mut inbox = Vec::new();
    for _ in 0..20 {
        inbox = s.smsc.wait_inbox(GOOD, 1, Duration::from_millis(500)).await;
        if !inbox.is_empty() {
            break;
        }
        s.t.clock.advance_ms(60_000);
    }
    assert_eq!(inbox.len(), 1, "the reply got through");
    assert_eq!(inbox[0].text, "Replies will now be in English.");
    let stats = s.smsc.stats().await;
    assert_eq!((stats.throttled, stats.submits), (2, 4), "{stats:?}");
    s.stop().await;
    let mut conn = s.t.store.reader().await.unwrap();
    let rows = store::sms::deliveries(&mut conn, Some(GOOD), 0, 10)
        .await
        .unwrap();
    assert_eq!(rows[0].attempts, 4);
}
on_both_stores!(
    throttling_and_a_full_queue_are_backed_off_and_retried,
    throttling_and_a_full_queue_are_backed_off_and_retried
);

async fn a_late_submit_answer_is_waited_for_never_sent_again(db: Db) {
    let mut s = bound(db).await;
    s.smsc
        .set_faults(Faults {
            late_answer_ms: 300,
            ..Faults::default()
        })
        .await;
    s.send(GOOD, "ENG").await;
    s.send(OTHER, "ENG").await;
    assert_eq!(s.smsc.wait_inbox(GOOD, 1, WAIT).await.len(), 1);
    assert_eq!(s.smsc.wait_inbox(OTHER, 1, WAIT).await.len(), 1);
    s.smsc.wait_stats(|st| st.receipts_sent >= 2, WAIT).await;
    s.stop().await;
    let smsc = &s.smsc;
    assert_eq!(smsc.stats().await.submits, 2, "nothing sent again");
    let mut conn = s.t.store.reader().await.unwrap();
    for phone in [GOOD, OTHER] {
        // Sent once: submitted on the first attempt, the late answer's id recorded.
        let rows = store::sms::deliveries(&mut conn, Some(phone), 0, 10)
            .await
            .unwrap();
        assert_eq!(
            (rows.len(), rows[0].attempts, rows[0].parts.len()),
            (1, 1, 1)
        );
    }
}
on_both_stores!(
    a_late_submit_answer_is_waited_for_never_sent_again,
    a_late_submit_answer_is_waited_for_never_sent_again
);

async fn a_concatenated_message_is_joined_before_it_is_read(db: Db) {
    let mut s = bound(db).await;
    // "EN" ends the first part and "G" starts the second: only the whole reads as ENG.
    let text = format!("{}ENG{}", " ".repeat(151), " ".repeat(10));
    assert_eq!(partners::smpp::text::split(&text, 1).unwrap().len(), 2);
    assert_eq!(s.ask(GOOD, &text).await, "Replies will now be in English.");
    // UCS-2 parts hold 67 characters: "РУ" ends the first, "С" starts the second.
    let text = format!("{}РУС{}", " ".repeat(65), " ".repeat(10));
    assert_eq!(partners::smpp::text::split(&text, 1).unwrap().len(), 2);
    let russian = domain::sms::LANGUAGE_SET.get(domain::Language::Ru);
    assert_eq!(s.ask(GOOD, &text).await, russian);
    s.stop().await;
}
on_both_stores!(
    a_concatenated_message_is_joined_before_it_is_read,
    a_concatenated_message_is_joined_before_it_is_read
);

async fn a_sign_in_code_goes_out_by_smpp(db: Db) {
    let mut s = bound(db).await;
    s.t.call(Method::POST, "/v1/auth/code")
        .json(serde_json::json!({"phone": OTHER}))
        .send()
        .await
        .expect_success();
    let inbox = s.smsc.wait_inbox(OTHER, 1, WAIT).await;
    assert_eq!(inbox.len(), 1);
    assert!(
        inbox[0].text.chars().filter(char::is_ascii_digit).count() >= 6,
        "{}",
        inbox[0].text
    );
    // Not left for the HTTP gateway as well.
    let mut conn = s.t.store.reader().await.unwrap();
    assert!(
        store::sms::pending_outbox(&mut conn, 10)
            .await
            .unwrap()
            .is_empty()
    );
    s.stop().await;
}
on_both_stores!(
    a_sign_in_code_goes_out_by_smpp,
    a_sign_in_code_goes_out_by_smpp
);
