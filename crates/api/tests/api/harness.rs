//! Starts one isolated system per test: store, operator simulator, use cases, HTTP server.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use domain::OperatorId;
use partners::operator::{CamaraClient, OperatorEndpoint};
use service::App;
use service::clock::ManualClock;
use simulators::operator::{OperatorSimulator, SimulatorHandle};

pub const ADMIN: &str = "test-admin-token-000000";
pub const CONTROLLER: &str = "test-controller-token-0000";
pub const GATEWAY: &str = "test-gateway-token-000000";
pub const METRICS: &str = "test-metrics-token-000000";
pub const CATALOGUE: &str = include_str!("../../../smsbus/data/catalogue.json");
/// The client gives up on an operator call this fast, so a hanging operator costs the test
/// little (a timeout, not a sleep).
pub const OPERATOR_TIMEOUT_MS: u64 = 400;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub app: Arc<App>,
    /// The same database the app uses, for tests to look at what a request did.
    pub store: store::Store,
    pub sim: SimulatorHandle,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    sessions: std::sync::Mutex<HashMap<String, String>>,
    _dir: Option<TempDir>,
}

/// A directory removed when the test ends.
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        nanos % 1_000_000
    )
}

pub fn postgres_url() -> String {
    std::env::var("SMSBUS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Where a fresh store of the kind asked for lives (a new SQLite file, a new PostgreSQL schema).
pub fn store_options(db: Db) -> (store::StoreOptions, Option<TempDir>) {
    match db {
        Db::Sqlite => {
            let dir = std::env::temp_dir().join(unique("smsbus_test"));
            std::fs::create_dir_all(&dir).unwrap();
            let url = dir.join("test.db").to_str().unwrap().to_owned();
            let options = store::StoreOptions {
                url,
                postgres_schema: None,
            };
            (options, Some(TempDir(dir)))
        }
        Db::Postgres => {
            let options = store::StoreOptions {
                url: postgres_url(),
                postgres_schema: Some(unique("t")),
            };
            (options, None)
        }
    }
}

/// Opens a fresh store of the kind asked for.
pub async fn fresh_store(db: Db) -> (store::Store, Option<TempDir>) {
    let (options, dir) = store_options(db);
    let store = store::Store::open_with(options)
        .await
        .expect("the store opens (PostgreSQL must be reachable at SMSBUS_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test)");
    (store, dir)
}

pub async fn spawn(db: Db) -> TestApp {
    spawn_with(db, |_| {}).await
}

/// Like [`spawn`], with the API settings changed first (small caps, short timeouts, proxies).
pub async fn spawn_with(db: Db, change: impl FnOnce(&mut api::ApiSettings)) -> TestApp {
    let sim = OperatorSimulator::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    simulators::demo::seed(&sim).unwrap();
    let mut endpoints = HashMap::new();
    for op in simulators::demo::OPERATORS {
        let id = OperatorId::parse(op).unwrap();
        endpoints.insert(
            id.clone(),
            OperatorEndpoint {
                base_url: sim.base_url(&id),
                credentials: partners::operator::oauth::Credentials::Bearer(
                    simulators::demo::OPERATOR_TOKEN.into(),
                ),
            },
        );
    }
    let client =
        Arc::new(CamaraClient::new(endpoints, Duration::from_millis(OPERATOR_TIMEOUT_MS)).unwrap());
    let (store, dir) = fresh_store(db).await;
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let clock = Arc::new(ManualClock::new(now_ms));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let settings = service::Settings {
        public_base_url: base.clone(),
        duplicate_wait_ms: 5_000,
        ..service::Settings::default()
    };
    let app = App::start(
        store.clone(),
        client.clone(),
        client,
        clock.clone(),
        settings,
    )
    .await
    .unwrap();
    service::catalogue::apply_file(&app, CATALOGUE)
        .await
        .unwrap();
    let access = api::Access {
        admin_token: ADMIN.into(),
        controller_token: CONTROLLER.into(),
        sms_gateway_token: GATEWAY.into(),
        metrics_token: METRICS.into(),
    };
    let mut settings = api::ApiSettings {
        rate_per_s: 0,
        rate_burst: 0,
        ..api::ApiSettings::new(access)
    };
    change(&mut settings);
    // Started as `smsbus serve` starts it: recovery worker and catalogue reload included.
    api::start(Arc::clone(&app), listener, settings)
        .await
        .unwrap();
    TestApp {
        base,
        app,
        store,
        sim,
        clock,
        http: reqwest::Client::new(),
        sessions: Default::default(),
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs the passenger in as a user does: asks for a code, reads it from the SMS sent,
    /// trades it for a session token. Cached per phone.
    pub async fn session(&self, phone: &str) -> String {
        if let Some(token) = self.sessions.lock().unwrap().get(phone) {
            return token.clone();
        }
        let asked = self
            .http
            .post(self.url("/v1/auth/code"))
            .json(&serde_json::json!({"phone": phone}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            asked.status().as_u16(),
            202,
            "{}",
            asked.text().await.unwrap()
        );
        let e164 = domain::PhoneNumber::parse(phone)
            .unwrap()
            .as_e164()
            .to_owned();
        let mut conn = self.store.reader().await.unwrap();
        let sms = store::sms::pending_outbox(&mut conn, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.phone == e164)
            .max_by_key(|m| m.id)
            .unwrap();
        let code: String = sms
            .body
            .chars()
            .filter(char::is_ascii_digit)
            .take(6)
            .collect();
        let opened = self
            .http
            .post(self.url("/v1/auth/session"))
            .json(&serde_json::json!({"phone": phone, "code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(opened.status().as_u16(), 201);
        let token = opened.json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        self.sessions
            .lock()
            .unwrap()
            .insert(phone.to_owned(), token.clone());
        token
    }

    /// GET as the signed-in passenger.
    pub async fn get_as(&self, phone: &str, path: &str) -> reqwest::Response {
        let token = self.session(phone).await;
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// POST /v1/rides as the signed-in passenger, asking for each ticket on purpose
    /// (`additional`: a repeat on the same bus is bought, not refused; the repeat rule has its
    /// own tests); returns (status, body).
    pub async fn ride(
        &self,
        phone: &str,
        code: &str,
        key: &str,
        lang: &str,
    ) -> (u16, serde_json::Value) {
        let token = self.session(phone).await;
        let response = self
            .http
            .post(self.url("/v1/rides"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .header("Accept-Language", lang)
            .json(&serde_json::json!({"transport_code": code, "additional": true}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn sms(&self, from: &str, message_id: &str, text: &str) -> serde_json::Value {
        let response = self
            .http
            .post(self.url("/v1/sms/incoming"))
            .bearer_auth(GATEWAY)
            .json(&serde_json::json!({"smsc": "smsc-test", "message_id": message_id, "sender": from, "text": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.unwrap()
    }

    pub async fn inspect(&self, token: &str, vehicle: &str) -> serde_json::Value {
        let response = self
            .http
            .post(self.url("/v1/inspections"))
            .bearer_auth(CONTROLLER)
            .json(&serde_json::json!({"token": token, "transport_code": vehicle, "inspector": "ctl-1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.unwrap()
    }

    /// The invariant after every scenario: each ledger layer and each transfer sums to zero,
    /// and every account's balance equals the sum of its entries.
    pub async fn assert_ledger_balanced(&self) {
        let report = service::ledger::report(&self.app).await.unwrap();
        assert!(report.balanced(), "ledger does not balance: {report:?}");
    }

    /// Operator captures per ride never exceed one, and equal the tickets issued.
    pub async fn assert_nothing_charged_twice(&self) {
        let mut per_ride: HashMap<String, usize> = HashMap::new();
        for p in self.sim.payments() {
            if p.status == simulators::operator::PaymentStatus::Succeeded {
                *per_ride
                    .entry(p.client_correlator.clone().unwrap_or_default())
                    .or_default() += 1;
            }
        }
        assert!(
            per_ride.values().all(|n| *n == 1),
            "a ride was captured twice: {per_ride:?}"
        );
        let mut conn = self.store.reader().await.unwrap();
        let issued = store::rides::count_by_status(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .find(|(s, _)| s == "issued")
            .map_or(0, |(_, n)| n);
        assert_eq!(
            per_ride.len() as i64,
            issued,
            "captured payments and issued tickets differ"
        );
    }
}

/// Declares a test that runs on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_stores {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::harness::Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$body($crate::harness::Db::Postgres).await;
            }
        }
    };
}
