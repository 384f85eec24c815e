//! The simulated SMSC against an SMPP client nobody here wrote: Python's `smpplib`
//! (`.ci/smpp/requirements.txt`, installed by `.ci/run`) binds as a transceiver, sends a long
//! Cyrillic text as concatenated UCS-2 parts, gets a receipt per part and a phone's message.
//! Without python3 and smpplib the test fails and says how to install them.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use partners::smpp::text;
use simulators::smsc::{SmscSimulator, demo_accounts};

const PHONE: &str = "+77011234567";

fn script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/smpp/smpplib_client.py")
}

/// Where Python finds smpplib: installed with pip from `.ci/smpp/requirements.txt` (pinned)
/// into this test's own folder under `target/` the first time, so `cargo test` needs no other
/// set-up step; without python3 or pip the test fails and says so.
fn smpplib_path() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("smpplib");
    let importable = || {
        Command::new("python3")
            .env("PYTHONPATH", &dir)
            .args(["-c", "import smpplib"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !importable() {
        let requirements = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../.ci/smpp/requirements.txt");
        let installed = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&dir)
            .arg("-r")
            .arg(&requirements)
            .status();
        assert!(
            installed.is_ok_and(|s| s.success()) && importable(),
            "this test needs python3 with pip to install smpplib ({})",
            requirements.display()
        );
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_smpplib_binds_sends_and_receives() {
    let python_path = smpplib_path();
    // smpplib refuses vendor TLVs: this SMSC names no message in one.
    let mut accounts = demo_accounts("pw2505");
    for account in &mut accounts {
        account.message_id_tag = None;
    }
    let smsc = SmscSimulator::start("127.0.0.1:0".parse().unwrap(), accounts)
        .await
        .unwrap();
    let reply = "Билет №7062-8237-9849. Қызылорда, маршрут 301, зона 4. 400 ₸. Действует до конечной. QR: https://smsbus.kz/t/at3yz35lyykn";
    let mut child = Command::new("python3")
        .env("PYTHONPATH", &python_path)
        .arg(script())
        .args([
            "127.0.0.1",
            &smsc.smpp_addr().port().to_string(),
            "kcell",
            "pw2505",
            reply,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, mut lines) = tokio::sync::mpsc::channel::<String>(8);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.blocking_send(line).is_err() {
                return;
            }
        }
    });
    let wait = Duration::from_secs(30);
    let first = tokio::time::timeout(wait, lines.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, "BOUND");
    assert!(smsc.wait_bound(&["kcell"], wait).await);
    let mo = "Қайда 10101?";
    smsc.send_from_phone(PHONE, "2505", mo, None).await.unwrap();
    let report = tokio::time::timeout(wait, lines.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();

    // What smpplib sent reached the phone whole, and each part's id came back as a receipt.
    let parts = report["parts"].as_u64().unwrap();
    assert!(parts > 1, "a concatenated message: {report}");
    let inbox = smsc.inbox(PHONE).await;
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert_eq!(inbox[0].text, reply);
    assert_eq!(inbox[0].data_coding, text::DATA_CODING_UCS2);
    let ids: Vec<&str> = report["message_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids, inbox[0].message_ids);
    let mut receipts: Vec<&str> = report["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    receipts.sort_unstable();
    let mut expected = ids.clone();
    expected.sort_unstable();
    assert_eq!(receipts, expected);

    // The phone's message reached smpplib as UCS-2 from the phone's number.
    let got = &report["mo"][0];
    assert_eq!(got["source"], "77011234567");
    assert_eq!(got["data_coding"], 8);
    let hex = got["hex"].as_str().unwrap();
    let octets: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(text::decode_text(8, &octets), mo);
}
