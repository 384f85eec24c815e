//! Starts one isolated system per test: store, operator simulator, use cases, HTTP server; and
//! is the one way the tests call it over HTTP: [`TestApp::call`] builds a [`Call`], answered
//! as an [`Answer`], with `get`/`post` (and the passenger's `get_as`/`post_as`) for the
//! common case. A failed status names the call, the status and the body.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use domain::OperatorId;
use partners::operator::{CamaraClient, OperatorEndpoint};
pub use reqwest::Method;
use serde_json::{Value, json};
use service::App;
use service::clock::Clock;
use service::clock::ManualClock;
use simulators::operator::{OperatorSimulator, SimulatorHandle};

/// The machine credentials every test system has (stored as digests like any other).
pub const GATEWAY: &str = "test-gateway-token-000000";
pub const METRICS: &str = "test-metrics-token-000000";
/// The password of every account the harness makes.
pub const PASSWORD: &str = "test-password-0000";
/// The controller's cities: every city of the catalogue.
pub const CONTROLLER_CITIES: [&str; 4] = ["astana", "almaty", "shymkent", "kyzylorda"];
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
    /// Bearer tokens of the signed-in `admin` and `controller` accounts every test system has.
    pub admin: String,
    pub controller: String,
    /// The admin's TOTP secret (base32).
    pub admin_totp: String,
    /// The TOTP secrets (base32) of the accounts the harness made, by login.
    totp_secrets: std::sync::Mutex<HashMap<String, String>>,
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
        client.clone(),
        clock.clone(),
        settings,
    )
    .await
    .unwrap();
    // As the binary does: the console's partners screen describes each operator.
    app.partners.set_operators(client.describe());
    service::catalogue::apply_file(&app, &domain::catalogue_file::decode(CATALOGUE).unwrap())
        .await
        .unwrap();
    let cli = service::staff::Actor::command_line();
    use service::staff::credentials::{MachineKind, ensure};
    ensure(&app, &cli, MachineKind::SmsGateway, "test-gateway", GATEWAY)
        .await
        .unwrap();
    ensure(&app, &cli, MachineKind::Metrics, "test-metrics", METRICS)
        .await
        .unwrap();
    let mut settings = api::ApiSettings {
        rate_per_s: 0,
        rate_burst: 0,
        ..api::ApiSettings::new()
    };
    change(&mut settings);
    // Started as `smsbus serve` starts it: recovery worker and catalogue reload included.
    api::start(Arc::clone(&app), listener, settings)
        .await
        .unwrap();
    let mut t = TestApp {
        base,
        app,
        store,
        sim,
        clock,
        http: reqwest::Client::new(),
        admin: String::new(),
        controller: String::new(),
        admin_totp: String::new(),
        totp_secrets: Default::default(),
        sessions: Default::default(),
        _dir: dir,
    };
    t.admin_totp = t
        .add_staff("admin", domain::staff::Role::Admin, &[], &[])
        .await
        .unwrap_or_default();
    t.admin = t.staff_session("admin").await;
    t.add_staff(
        "controller",
        domain::staff::Role::Controller,
        &CONTROLLER_CITIES,
        &[],
    )
    .await;
    t.controller = t.staff_session("controller").await;
    t
}

/// One call to the server under test, built step by step from [`TestApp::call`]: a bearer
/// token, headers, a query, a JSON or raw body; then [`Call::send`] for the whole answer or
/// [`Call::expect`] for the body of an answer that must have a given status.
#[must_use = "a call does nothing until it is sent"]
pub struct Call {
    /// What a failure names: `POST /v1/rides`.
    what: String,
    request: reqwest::RequestBuilder,
}

impl Call {
    pub fn token(self, token: &str) -> Self {
        Self {
            request: self.request.bearer_auth(token),
            ..self
        }
    }

    /// A header; any bytes a header may carry (`Idempotency-Key: ключ` is a test's case).
    pub fn header(self, name: &str, value: impl AsRef<[u8]>) -> Self {
        let value = reqwest::header::HeaderValue::from_bytes(value.as_ref()).unwrap();
        Self {
            request: self.request.header(name, value),
            ..self
        }
    }

    pub fn query(self, pairs: &[(&str, &str)]) -> Self {
        Self {
            request: self.request.query(pairs),
            ..self
        }
    }

    pub fn json(self, body: Value) -> Self {
        Self {
            request: self.request.json(&body),
            ..self
        }
    }

    /// A body sent as it is, with no content type unless a header gives one.
    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        Self {
            request: self.request.body(body),
            ..self
        }
    }

    /// Sends the call and reads the whole answer. A stream (server-sent events) is answered
    /// by its head alone: its body never ends.
    pub async fn send(self) -> Answer {
        let response = self
            .request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.what));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = if content_type.starts_with("text/event-stream") {
            Vec::new()
        } else {
            response.bytes().await.unwrap().to_vec()
        };
        // A JSON answer must be JSON; anything else (a page, a CSV, a PDF) has no JSON body.
        let body = if content_type.contains("json") && !bytes.is_empty() {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{}: {status} {content_type} that is not JSON ({e}): {}",
                    self.what,
                    String::from_utf8_lossy(&bytes)
                )
            })
        } else {
            Value::Null
        };
        Answer {
            what: self.what,
            status,
            headers,
            bytes,
            body,
        }
    }

    /// Sends the call and returns the body of its answer, which must have this status.
    pub async fn expect(self, status: u16) -> Value {
        self.send().await.expect(status).body
    }

    /// The response as it arrives, for a test that reads a stream as it comes.
    pub async fn response(self) -> reqwest::Response {
        let what = self.what;
        self.request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    }
}

/// What the server answered a [`Call`]: status, headers and the whole body.
#[derive(Debug)]
pub struct Answer {
    /// The call answered: `POST /v1/rides`.
    pub what: String,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
    /// The body read as JSON; `Null` when there is none or it is not JSON.
    pub body: Value,
}

impl Answer {
    /// The answer, after asserting its status; a failure names the call, the status and the
    /// body.
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status,
            status,
            "{}: {} {}",
            self.what,
            self.status,
            self.text()
        );
        self
    }

    /// The answer, after asserting it is a success (2xx), named as [`Answer::expect`] names.
    pub fn expect_success(self) -> Self {
        assert!(
            (200..300).contains(&self.status),
            "{}: {} {}",
            self.what,
            self.status,
            self.text()
        );
        self
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// A header's value, if it is there and is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A call of the server: `path` is one of its paths, or a whole URL it gave out (a
    /// ticket's link).
    pub fn call(&self, method: Method, path: &str) -> Call {
        self.call_from(&self.http, method, path)
    }

    /// The same call from another client (its own local address, its own connections).
    pub fn call_from(&self, http: &reqwest::Client, method: Method, path: &str) -> Call {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            self.url(path)
        };
        Call {
            what: format!("{method} {path}"),
            request: http.request(method, url),
        }
    }

    /// GET with a bearer token: (status, body).
    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let answer = self.call(Method::GET, path).token(token).send().await;
        (answer.status, answer.body)
    }

    /// POST JSON with a bearer token: (status, body).
    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let answer = self
            .call(Method::POST, path)
            .token(token)
            .json(body)
            .send()
            .await;
        (answer.status, answer.body)
    }

    /// GET as the signed-in passenger: (status, body).
    pub async fn get_as(&self, phone: &str, path: &str) -> (u16, Value) {
        self.get(&self.session(phone).await, path).await
    }

    /// POST JSON as the signed-in passenger: (status, body).
    pub async fn post_as(&self, phone: &str, path: &str, body: Value) -> (u16, Value) {
        self.post(&self.session(phone).await, path, body).await
    }

    /// Creates a staff account with [`PASSWORD`] as the command line does; returns its TOTP
    /// secret when the role has one.
    pub async fn add_staff(
        &self,
        login: &str,
        role: domain::staff::Role,
        cities: &[&str],
        carriers: &[&str],
    ) -> Option<String> {
        let created = service::staff::accounts::add(
            &self.app,
            &service::staff::Actor::command_line(),
            service::staff::accounts::NewAccount {
                login: login.to_owned(),
                role,
                scope: domain::staff::Scope {
                    cities: cities.iter().map(|c| (*c).to_owned()).collect(),
                    carriers: carriers.iter().map(|c| (*c).to_owned()).collect(),
                },
                password: Some(PASSWORD.to_owned()),
            },
        )
        .await
        .unwrap();
        if let Some(secret) = &created.totp_secret {
            self.totp_secrets
                .lock()
                .unwrap()
                .insert(login.to_owned(), secret.clone());
        }
        created.totp_secret
    }

    /// The current TOTP code of a base32 secret by the test's clock.
    pub fn totp_code(&self, secret: &str) -> String {
        let bytes = domain::staff::base32_decode(secret).unwrap();
        domain::staff::totp_text(domain::staff::totp(
            &bytes,
            self.clock.now_ms().div_euclid(1_000),
        ))
    }

    /// Signs a harness-made account in over HTTP (`POST /v1/staff/session`, with the TOTP
    /// code when the account has one); returns the bearer token. An admin's code is good once
    /// per 30 s step: this moves the clock on a step first when the admin signs in again.
    pub async fn staff_session(&self, login: &str) -> String {
        let secret = self
            .totp_secrets
            .lock()
            .unwrap()
            .get(login)
            .cloned()
            .unwrap_or_default();
        let mut body = json!({"login": login, "password": PASSWORD});
        if !secret.is_empty() {
            let mut conn = self.store.reader().await.unwrap();
            let last = store::staff::account(&mut conn, login)
                .await
                .unwrap()
                .unwrap()
                .totp_last_step;
            while self.clock.now_ms().div_euclid(30_000) <= last {
                self.clock.advance_ms(domain::staff::TOTP_STEP_S * 1_000);
            }
            body["totp"] = self.totp_code(&secret).into();
        }
        // A client of its own that keeps no connection open: tests that cap connections per
        // client start from none.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let opened = self
            .call_from(&http, Method::POST, "/v1/staff/session")
            .json(body)
            .send()
            .await;
        assert_eq!(opened.status, 201, "{login} signs in: {}", opened.text());
        opened.body["token"].as_str().unwrap().to_owned()
    }

    /// Signs the passenger in as a user does: asks for a code, reads it from the SMS sent,
    /// trades it for a session token. Cached per phone.
    pub async fn session(&self, phone: &str) -> String {
        if let Some(token) = self.sessions.lock().unwrap().get(phone) {
            return token.clone();
        }
        self.call(Method::POST, "/v1/auth/code")
            .json(json!({"phone": phone}))
            .expect(202)
            .await;
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
            .call(Method::POST, "/v1/auth/session")
            .json(json!({"phone": phone, "code": code}))
            .expect(201)
            .await;
        let token = opened["token"].as_str().unwrap().to_owned();
        self.sessions
            .lock()
            .unwrap()
            .insert(phone.to_owned(), token.clone());
        token
    }

    /// POST /v1/rides as the signed-in passenger with the body the test chooses, under its
    /// idempotency key, in the language asked for (if one is); returns (status, body).
    pub async fn ride_with(
        &self,
        phone: &str,
        key: &str,
        lang: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let token = self.session(phone).await;
        let mut call = self
            .call(Method::POST, "/v1/rides")
            .token(&token)
            .header("Idempotency-Key", key);
        if let Some(lang) = lang {
            call = call.header("Accept-Language", lang);
        }
        let answer = call.json(body).send().await;
        (answer.status, answer.body)
    }

    /// POST /v1/rides as the signed-in passenger, asking for each ticket on purpose
    /// (`additional`: a repeat on the same bus is bought, not refused; the repeat rule has its
    /// own tests); returns (status, body).
    pub async fn ride(&self, phone: &str, code: &str, key: &str, lang: &str) -> (u16, Value) {
        let body = json!({"transport_code": code, "additional": true});
        self.ride_with(phone, key, Some(lang), body).await
    }

    pub async fn sms(&self, from: &str, message_id: &str, text: &str) -> Value {
        self.call(Method::POST, "/v1/sms/incoming")
            .token(GATEWAY)
            .json(json!({"smsc": "smsc-test", "message_id": message_id, "sender": from, "text": text}))
            .expect(200)
            .await
    }

    pub async fn inspect(&self, token: &str, vehicle: &str) -> Value {
        self.call(Method::POST, "/v1/inspections")
            .token(&self.controller)
            .json(json!({"token": token, "transport_code": vehicle, "inspector": "ctl-1"}))
            .expect(200)
            .await
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
