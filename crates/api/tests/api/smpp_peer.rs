//! Our ESME against an SMSC nobody here wrote: the `smpp34` wheel's SMPP 3.4 server
//! (`.ci/smpp/smsc_peer.py`, pinned in `.ci/smpp/peer-requirements.txt`) stands for Kcell. It
//! delivers a passenger's message, we store and answer it, charge the ride once, send the
//! ticket back as concatenated UCS-2 parts, read its delivery receipts, and unbind on shutdown.
//! pip installs the wheel under `target/` the first time; without python3 and pip the test
//! fails and says so.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use domain::OperatorId;
use partners::smpp::{SmscConfig, Timeouts, pdu};
use service::smpp::SmppService;

use crate::harness::{Db, spawn};
use crate::on_both_stores;

const PHONE: &str = "+77011234567";
const WAIT: Duration = Duration::from_secs(60);

fn ci_file(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.ci/smpp")
        .join(name)
}

/// Where Python finds `smpp34`: installed with pip (pinned) into this test's own folder under
/// `target/` the first time, so `cargo test` needs no other set-up step.
fn peer_path() -> std::path::PathBuf {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("smpp-peer");
    let importable = || {
        Command::new("python3")
            .env("PYTHONPATH", &dir)
            .args(["-c", "import smpp34"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !importable() {
        let installed = Command::new("python3")
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .arg("--target")
            .arg(&dir)
            .arg("-r")
            .arg(ci_file("peer-requirements.txt"))
            .status();
        assert!(
            installed.is_ok_and(|s| s.success()) && importable(),
            "this test needs python3 with pip to install smpp34 (.ci/smpp/peer-requirements.txt)"
        );
    }
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The peer's JSON lines, as they come.
struct Peer {
    child: std::process::Child,
    lines: tokio::sync::mpsc::Receiver<serde_json::Value>,
}

impl Peer {
    fn start(port: u16, text: &str) -> Peer {
        let mut child = Command::new("python3")
            .env("PYTHONPATH", peer_path())
            .arg(ci_file("smsc_peer.py"))
            .args([&port.to_string(), PHONE, text])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = tokio::sync::mpsc::channel(32);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "unreadable": line }));
                if tx.blocking_send(event).is_err() {
                    return;
                }
            }
        });
        Peer { child, lines }
    }

    /// The next event that has `key`, failing on anything unexpected.
    async fn next(&mut self, key: &str) -> serde_json::Value {
        loop {
            let event = tokio::time::timeout(WAIT, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("the peer SMSC said nothing of {key:?}"))
                .unwrap_or_else(|| panic!("the peer SMSC stopped before {key:?}"));
            assert!(event.get("unreadable").is_none(), "{event}");
            if event.get(key).is_some() {
                return event;
            }
        }
    }
}

fn config(port: u16) -> SmscConfig {
    SmscConfig {
        operator: OperatorId::parse("kcell").unwrap(),
        host: "127.0.0.1".into(),
        port,
        tls: false,
        system_id: "smsbus".into(),
        password: "pw2505".into(),
        system_type: String::new(),
        source_address: "2505".into(),
        window: 4,
        throughput_per_s: 100,
        // This SMSC names no MO message in a TLV: the bind and sequence number name it.
        message_id_tag: pdu::tag::SIMULATOR_MESSAGE_ID,
        timeouts: Timeouts {
            reconnect_min_ms: 50,
            reconnect_max_ms: 500,
            ..Timeouts::default()
        },
    }
}

async fn our_esme_works_against_an_smsc_nobody_here_wrote(db: Db) {
    let t = spawn(db).await;
    let port = free_port();
    let mut peer = Peer::start(port, "10101");
    peer.next("listening").await;
    let service = SmppService::start(Arc::clone(&t.app), vec![config(port)])
        .await
        .unwrap();
    assert!(service.wait_bound(WAIT).await, "bound to the peer SMSC");
    assert_eq!(peer.next("bound").await["bound"], "smsbus");

    // The message is stored before it is acknowledged, and answered with the ticket.
    assert_eq!(peer.next("deliver_sm_resp").await["deliver_sm_resp"], 0);
    let reply = peer.next("text").await;
    let text = reply["text"].as_str().unwrap();
    assert!(text.starts_with("Билет №"), "{reply}");
    assert!(
        text.contains("10101") || text.contains("маршрут"),
        "{reply}"
    );
    let to = reply["to"].as_str().unwrap();
    assert_eq!(to.trim_start_matches('+'), "77011234567", "{reply}");
    assert_eq!(reply["source"], "2505");
    assert_eq!(reply["data_coding"], 8, "Cyrillic goes as UCS-2");
    let parts = reply["parts"].as_u64().unwrap();
    assert!(parts > 1, "a long ticket is concatenated: {reply}");
    for _ in 0..parts {
        assert_eq!(peer.next("receipt").await["receipt_resp"], 0);
    }
    let phone = domain::PhoneNumber::parse(PHONE).unwrap();
    assert_eq!(t.sim.captured_total(&phone).tiyn(), 9_000, "charged once");

    // Our ESME unbinds on shutdown, and the peer's receipts reached the outbox.
    service.shutdown().await;
    peer.next("unbound").await;
    let exit = peer.child.wait().unwrap();
    assert!(exit.success(), "the peer SMSC ended with {exit:?}");
    let mut conn = t.store.reader().await.unwrap();
    let rows = store::sms::deliveries(&mut conn, Some(PHONE), 0, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one message, one reply");
    let ids: Vec<String> = rows[0].parts.iter().map(|(_, id, _)| id.clone()).collect();
    assert_eq!(
        serde_json::json!(ids),
        reply["message_ids"],
        "the outbox records the peer's message ids"
    );
    assert_eq!(
        service::smpp::delivery_state(&rows[0]).as_deref(),
        Some("delivered"),
        "the peer's receipts were read"
    );
}
on_both_stores!(
    our_esme_works_against_an_smsc_nobody_here_wrote,
    our_esme_works_against_an_smsc_nobody_here_wrote
);
