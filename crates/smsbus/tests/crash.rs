//! A real `smsbus serve` process killed (SIGKILL) while the operator has captured the fare but
//! its reply has not arrived, then started again on the same SQLite file: the restarted server
//! settles the ride before it listens, the passenger gets one ticket, the operator holds one
//! capture, the ledger balances, and the SMSC's redelivery of the same message gets the ticket.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use domain::{OperatorId, PhoneNumber};
use simulators::operator::{Endpoint, Fault, OperatorSimulator, PaymentStatus, SimulatorHandle};
use simulators::smsc::{Faults, SmscHandle, SmscSimulator};

const PHONE: &str = "+77011234567";
const OPERATOR: &str = "kcell";
const TOKEN: &str = "sms-gateway-token-0123456789";
/// The server's key-encryption key, as production passes it.
const KEK: &str = "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7";

struct TempDb(std::path::PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _gone = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn smsbus() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smsbus"))
}

/// Gives the SMS gateway its credential, as an operator does before the first start
/// (`smsbus credential add`, the secret from stdin); a second call finds it there.
fn gateway_credential(db: &str) {
    use std::io::Write;
    let mut child = smsbus()
        .args(["credential", "add", "--db", db, "--kind", "sms_gateway"])
        .args(["--partner", "crash-test", "--secret-stdin"])
        .env("SMSBUS_KEY_ENCRYPTION_KEY", KEK)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start smsbus credential add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(TOKEN.as_bytes())
        .expect("write the secret");
    let output = child.wait_with_output().expect("smsbus credential add");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() || stderr.contains("in use"),
        "{stderr}"
    );
}

/// Starts `smsbus serve` on a free port and returns it with its address, once it listens.
fn serve(db: &str, simulator: &SimulatorHandle) -> (Child, String) {
    serve_with(db, simulator, |_| {})
}

/// Like [`serve`], with more arguments and environment set by `more`.
fn serve_with(
    db: &str,
    simulator: &SimulatorHandle,
    more: impl FnOnce(&mut Command),
) -> (Child, String) {
    gateway_credential(db);
    let mut command = smsbus();
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--db", db])
        .env("SMSBUS_KEY_ENCRYPTION_KEY", KEK)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for operator in simulators::demo::OPERATORS {
        let id = OperatorId::parse(operator).expect("operator id");
        command
            .arg("--operator")
            .arg(format!("{operator}={}", simulator.base_url(&id)));
        // As production: an OAuth 2.0 client, its token endpoint found by discovery.
        let upper = operator.to_ascii_uppercase();
        command
            .env(
                format!("SMSBUS_OPERATOR_CLIENT_ID_{upper}"),
                simulators::demo::OAUTH_CLIENT_ID,
            )
            .env(
                format!("SMSBUS_OPERATOR_CLIENT_SECRET_{upper}"),
                simulators::demo::OAUTH_CLIENT_SECRET,
            )
            .env(
                format!("SMSBUS_OPERATOR_TOKEN_URL_{upper}"),
                format!(
                    "{}/.well-known/openid-configuration",
                    simulator.base_url(&id)
                ),
            );
    }
    more(&mut command);
    let mut child = command.spawn().expect("start smsbus serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("smsbus serve exited before listening")
            .expect("read stderr");
        if let Some(url) = line.strip_prefix("smsbus: serving on ") {
            break url.to_owned();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _line in lines {});
    (child, addr)
}

async fn send_sms(base: &str, message_id: &str) -> reqwest::Result<serde_json::Value> {
    reqwest::Client::new()
        .post(format!("{base}/v1/sms/incoming"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({
            "smsc": OPERATOR,
            "message_id": message_id,
            "sender": PHONE,
            "text": "10101",
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_capture_settled_once_on_restart_sqlite() {
    let db = TempDb(std::env::temp_dir().join(format!("smsbus-crash-{}.db", std::process::id())));
    let path = db.0.display().to_string();
    killed_after_the_capture_settled_once_on_restart(
        &path,
        store::StoreOptions {
            url: path.clone(),
            postgres_schema: None,
        },
    )
    .await;
}

/// A fresh PostgreSQL schema: the URL the server is given, and how the test opens it.
async fn postgres_db(prefix: &str) -> (String, store::StoreOptions) {
    let base = std::env::var("SMSBUS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let schema = format!("{prefix}_{}_{nanos}", std::process::id());
    let options = store::StoreOptions {
        url: base.clone(),
        postgres_schema: Some(schema.clone()),
    };
    // Creates the schema; the server then finds its tables there through the URL's options.
    store::Store::open_with(options.clone())
        .await
        .expect("PostgreSQL must be reachable at SMSBUS_TEST_POSTGRES_URL");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    (url, options)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_capture_settled_once_on_restart_postgres() {
    let (url, options) = postgres_db("crash").await;
    killed_after_the_capture_settled_once_on_restart(&url, options).await;
}

/// The scenario on one store: `db` is what the server is given, `options` how the test opens it.
async fn killed_after_the_capture_settled_once_on_restart(
    db_path: &str,
    options: store::StoreOptions,
) {
    let catalogue = concat!(env!("CARGO_MANIFEST_DIR"), "/data/catalogue.json");
    let loaded = smsbus()
        .args(["catalogue", "load", catalogue, "--db", db_path])
        .env("SMSBUS_KEY_ENCRYPTION_KEY", KEK)
        .output()
        .expect("run smsbus catalogue load");
    assert!(loaded.status.success(), "{loaded:?}");

    let simulator = OperatorSimulator::start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator");
    simulators::demo::seed(&simulator).expect("demo subscribers");
    let kcell = OperatorId::parse(OPERATOR).expect("operator id");
    let phone = PhoneNumber::parse(PHONE).expect("phone");
    let balance_before = simulator.balance(&phone).expect("balance");
    // The operator captures the fare on confirm, then never answers.
    simulator
        .inject(&kcell, Endpoint::Confirm, Fault::LostReplyHang, 1)
        .expect("fault");

    let (mut server, base) = serve(db_path, &simulator);
    let in_flight = tokio::spawn({
        let base = base.clone();
        async move { send_sms(&base, "m-1").await }
    });
    let captured = |s: &SimulatorHandle| {
        s.payments()
            .iter()
            .any(|p| p.status == PaymentStatus::Succeeded)
    };
    simulator.wait_until(captured).await;
    server.kill().expect("SIGKILL smsbus serve");
    server.wait().expect("reap smsbus serve");
    assert!(
        in_flight.await.expect("join").is_err(),
        "the killed server never answered the SMS"
    );

    {
        let store = store::Store::open_with(options.clone())
            .await
            .expect("open store");
        let mut conn = store.reader().await.expect("reader");
        let statuses = store::rides::count_by_status(&mut conn)
            .await
            .expect("rides");
        assert_eq!(
            statuses,
            vec![("reserving".to_owned(), 1)],
            "the kill left the ride in doubt"
        );
    }

    let (mut server, base) = serve(db_path, &simulator);
    let redelivered = send_sms(&base, "m-1").await.expect("redelivered SMS");
    server.kill().expect("stop smsbus serve");
    server.wait().expect("reap smsbus serve");

    assert_eq!(redelivered["duplicate"], true, "{redelivered}");
    let text = redelivered["text"].as_str().expect("reply text");
    assert!(
        text.contains(&format!("{base}/t/")),
        "the reply is the ticket, linked at the server's address: {text}"
    );
    let store = store::Store::open_with(options.clone())
        .await
        .expect("open store");
    let mut conn = store.reader().await.expect("reader");
    let outbox = store::sms::pending_outbox(&mut conn, 10)
        .await
        .expect("outbox");
    assert!(
        outbox
            .iter()
            .any(|m| m.phone == PHONE && m.body.contains("/t/")),
        "recovery sent the ticket by SMS without waiting for a redelivery: {outbox:?}"
    );
    assert_eq!(
        store::rides::count_by_status(&mut conn)
            .await
            .expect("rides"),
        vec![("issued".to_owned(), 1)]
    );
    let totals = store::ledger::totals_by_layer(&mut conn)
        .await
        .expect("ledger");
    assert!(totals.iter().all(|(_, sum)| *sum == 0), "{totals:?}");
    let captures = simulator
        .payments()
        .iter()
        .filter(|p| p.status == PaymentStatus::Succeeded)
        .count();
    assert_eq!(captures, 1, "charged once");
    let balance_after = simulator.balance(&phone).expect("balance");
    assert_eq!(
        balance_before.tiyn() - balance_after.tiyn(),
        9_000,
        "one Astana fare of 90 ₸"
    );
}

/// A production server cannot seal its signing keys without a key-encryption key: it refuses
/// to start and says what to set, before it touches the database.
#[test]
fn serve_refuses_to_start_without_a_key_encryption_key() {
    let dir = std::env::temp_dir().join(format!("smsbus-no-kek-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("server.db");
    let output = smsbus()
        .args(["serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(&db)
        .env_remove("SMSBUS_KEY_ENCRYPTION_KEY")
        .env_remove("SMSBUS_KEY_ENCRYPTION_KEY_FILE")
        .stdin(Stdio::null())
        .output()
        .expect("run smsbus serve");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("SMSBUS_KEY_ENCRYPTION_KEY"), "{stderr}");
    assert!(!db.exists(), "nothing may be written without a KEK");
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

const SMSC_PASSWORD: &str = "pw2505";
const SMSC_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// `smsbus serve` bound to the simulated SMSC for every operator, as production binds.
fn serve_over_smpp(db: &str, simulator: &SimulatorHandle, smsc: &SmscHandle) -> (Child, String) {
    let port = smsc.smpp_addr().port();
    serve_with(db, simulator, |command| {
        for operator in simulators::demo::OPERATORS {
            let upper = operator.to_ascii_uppercase();
            command
                .arg("--smsc")
                .arg(format!(
                    "{operator}=smpp://127.0.0.1:{port}?window=8&throughput=1000"
                ))
                .env(format!("SMSBUS_SMSC_SYSTEM_ID_{upper}"), operator)
                .env(format!("SMSBUS_SMSC_PASSWORD_{upper}"), SMSC_PASSWORD);
        }
    })
}

fn load_catalogue(db_path: &str) {
    let catalogue = concat!(env!("CARGO_MANIFEST_DIR"), "/data/catalogue.json");
    let loaded = smsbus()
        .args(["catalogue", "load", catalogue, "--db", db_path])
        .env("SMSBUS_KEY_ENCRYPTION_KEY", KEK)
        .output()
        .expect("run smsbus catalogue load");
    assert!(loaded.status.success(), "{loaded:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_with_replies_in_the_outbox_each_goes_once_sqlite() {
    let db =
        TempDb(std::env::temp_dir().join(format!("smsbus-smpp-crash-{}.db", std::process::id())));
    let path = db.0.display().to_string();
    let options = store::StoreOptions {
        url: path.clone(),
        postgres_schema: None,
    };
    killed_with_replies_in_the_outbox_each_goes_once(&path, options).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_with_replies_in_the_outbox_each_goes_once_postgres() {
    let (url, options) = postgres_db("smpp_crash").await;
    killed_with_replies_in_the_outbox_each_goes_once(&url, options).await;
}

/// The SMSC takes the passengers' messages but throttles every reply; the server is killed
/// with the replies in its outbox, then started again once the SMSC takes messages: every
/// passenger gets exactly one reply, every ride is charged once.
async fn killed_with_replies_in_the_outbox_each_goes_once(
    db_path: &str,
    options: store::StoreOptions,
) {
    load_catalogue(db_path);
    let simulator = OperatorSimulator::start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator");
    simulators::demo::seed(&simulator).expect("demo subscribers");
    let smsc = SmscSimulator::start(
        "127.0.0.1:0".parse().expect("addr"),
        simulators::smsc::demo_accounts(SMSC_PASSWORD),
    )
    .await
    .expect("SMSC");
    smsc.set_faults(Faults {
        throttle_all: true,
        ..Faults::default()
    })
    .await;
    let messages = [
        ("+77011234567", "10101"),
        ("+77051234567", "10101"),
        ("+77071234567", "ENG"),
    ];
    let (mut server, _) = serve_over_smpp(db_path, &simulator, &smsc);
    assert!(
        smsc.wait_bound(&simulators::demo::OPERATORS, SMSC_WAIT)
            .await,
        "bound"
    );
    for (phone, text) in messages {
        smsc.send_from_phone(phone, "2505", text, None)
            .await
            .expect("send");
    }
    let stats = smsc
        .wait_stats(
            |s| s.delivers_acknowledged >= 3 && s.throttled >= 3,
            SMSC_WAIT,
        )
        .await;
    assert!(
        stats.throttled >= 3,
        "every reply was tried and throttled: {stats:?}"
    );
    server.kill().expect("SIGKILL smsbus serve");
    server.wait().expect("reap smsbus serve");
    {
        let store = store::Store::open_with(options.clone())
            .await
            .expect("open store");
        let mut conn = store.reader().await.expect("reader");
        let rows = store::sms::deliveries(&mut conn, None, 0, 10)
            .await
            .expect("outbox");
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert!(
            rows.iter().all(|r| r.sent_at_ms.is_none()),
            "nothing went: {rows:?}"
        );
    }
    for (phone, _) in messages {
        assert!(
            smsc.inbox(phone).await.is_empty(),
            "{phone} got nothing yet"
        );
    }

    smsc.set_faults(Faults::default()).await;
    let (mut server, _) = serve_over_smpp(db_path, &simulator, &smsc);
    for (phone, _) in messages {
        let inbox = smsc.wait_inbox(phone, 1, SMSC_WAIT).await;
        assert_eq!(inbox.len(), 1, "{phone} got its reply after the restart");
    }
    // One more message after them: its reply comes after anything sent twice would have.
    let (_, last) = smsc
        .send_and_wait_reply("+77071234567", "2505", "?", None, SMSC_WAIT)
        .await
        .expect("send");
    assert!(last.is_some(), "the restarted server answers");
    server.kill().expect("stop smsbus serve");
    server.wait().expect("reap smsbus serve");
    assert_eq!(smsc.inbox("+77011234567").await.len(), 1, "one reply");
    assert_eq!(smsc.inbox("+77051234567").await.len(), 1, "one reply");
    assert_eq!(smsc.inbox("+77071234567").await.len(), 2, "one reply each");
    assert!(
        smsc.inbox("+77011234567").await[0]
            .text
            .starts_with("Билет №")
    );
    let captures = simulator
        .payments()
        .iter()
        .filter(|p| p.status == PaymentStatus::Succeeded)
        .count();
    assert_eq!(captures, 2, "each ride charged once");
    let store = store::Store::open_with(options).await.expect("open store");
    let mut conn = store.reader().await.expect("reader");
    let totals = store::ledger::totals_by_layer(&mut conn)
        .await
        .expect("ledger");
    assert!(totals.iter().all(|(_, sum)| *sum == 0), "{totals:?}");
}
