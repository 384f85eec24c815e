//! Wires the crates into a running server: store, operator client, use cases, HTTP, the
//! recovery worker. Reads the environment (tokens, log format) and nothing below it does.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use domain::OperatorId;
use partners::operator::oauth::{ClientCredentials, Credentials};
use partners::operator::{CamaraClient, OperatorEndpoint};
use service::clock::SystemClock;
use service::{App, Settings};
use tokio::net::TcpListener;

pub const DEFAULT_DB: &str = "smsbus.db";
/// How often the live networks are checked against each city's local date.
pub const LIVE_NETWORK_CHECK_S: u64 = 600;
/// Outbound calls to an operator give up after this long (the answer is then looked up later).
pub const OPERATOR_TIMEOUT_MS: u64 = 5_000;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// SQLite file path, or a postgres:// URL.
    #[arg(long, default_value = DEFAULT_DB)]
    pub db: String,
    /// A mobile operator's CAMARA API root, `name=URL` (repeat per operator); its token comes
    /// from the environment variable SMSBUS_OPERATOR_TOKEN_<NAME>.
    #[arg(long = "operator", value_name = "NAME=URL")]
    pub operators: Vec<String>,
    /// The address passengers reach the server at, for ticket links.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Where Wialon IPS trackers connect (TCP), e.g. 0.0.0.0:20332; off when not given.
    #[arg(long)]
    pub wialon_addr: Option<String>,
    /// A reverse proxy whose X-Forwarded-For names the real client: an address or a CIDR
    /// network (repeat per proxy). Without one, the TCP peer is the client.
    #[arg(long = "trusted-proxy", value_name = "ADDRESS|CIDR")]
    pub trusted_proxies: Vec<String>,
    /// Open HTTP connections at most; keep it under the descriptor limit (`ulimit -n`).
    #[arg(long, default_value_t = api::CONNECTIONS_MAX)]
    pub connections_max: usize,
    /// Open HTTP connections from one client address at most (proxies: only the overall cap).
    #[arg(long, default_value_t = api::CONNECTIONS_PER_CLIENT_MAX)]
    pub connections_per_client_max: usize,
    /// Holders of a preferential card are told by SMS this many days before its status ends.
    #[arg(long, default_value_t = service::status_reminders::REMINDER_DAYS_BEFORE_DEFAULT)]
    pub status_reminder_days: u32,
    /// An operator's SMSC, `NAME=smpp://HOST:PORT?window=10&throughput=100` (`smpps://` for
    /// TLS; repeat per operator); credentials from SMSBUS_SMSC_SYSTEM_ID_<NAME> and
    /// SMSBUS_SMSC_PASSWORD_<NAME>. Operators without one reply through the HTTP gateway.
    #[arg(long = "smsc", value_name = "NAME=URL")]
    pub smscs: Vec<String>,
    /// The card acquirer of in-app top-ups, `NAME=URL` (e.g. `halyk-epay=https://…`); its
    /// client id and secrets from SMSBUS_ACQUIRER_CLIENT_ID, SMSBUS_ACQUIRER_CLIENT_SECRET and
    /// SMSBUS_ACQUIRER_CALLBACK_SECRET. Without one, top-ups in the app are refused (503).
    #[arg(long, value_name = "NAME=URL")]
    pub acquirer: Option<String>,
    /// The web apps served at `/`.
    #[command(flatten)]
    pub web: crate::web_cli::WebArgs,
}

pub fn init_logs() {
    let level = match std::env::var("RUST_LOG")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "error" => tracing::Level::ERROR,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        "info" => tracing::Level::INFO,
        _ => tracing::Level::WARN,
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr);
    if std::env::var("SMSBUS_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// An operator's credentials from the environment: an OAuth 2.0 client when
/// `SMSBUS_OPERATOR_CLIENT_ID_<NAME>` is set (with `…_CLIENT_SECRET_<NAME>`, `…_TOKEN_URL_<NAME>`
/// — the token endpoint or the operator's `/.well-known/openid-configuration` — and optionally
/// `…_SCOPE_<NAME>`), else the bearer token `SMSBUS_OPERATOR_TOKEN_<NAME>`.
fn operator_credentials(name: &str) -> anyhow::Result<Credentials> {
    let upper = name.to_ascii_uppercase();
    let Ok(client_id) = std::env::var(format!("SMSBUS_OPERATOR_CLIENT_ID_{upper}")) else {
        return Ok(Credentials::Bearer(env_token(&format!(
            "SMSBUS_OPERATOR_TOKEN_{upper}"
        ))?));
    };
    let token_url_var = format!("SMSBUS_OPERATOR_TOKEN_URL_{upper}");
    Ok(Credentials::ClientCredentials(ClientCredentials {
        token_url: std::env::var(&token_url_var)
            .with_context(|| format!("set the environment variable {token_url_var}"))?,
        client_id,
        client_secret: env_token(&format!("SMSBUS_OPERATOR_CLIENT_SECRET_{upper}"))?,
        scope: std::env::var(format!("SMSBUS_OPERATOR_SCOPE_{upper}")).ok(),
    }))
}

fn env_token(name: &str) -> anyhow::Result<String> {
    let value =
        std::env::var(name).with_context(|| format!("set the environment variable {name}"))?;
    anyhow::ensure!(value.len() >= 16, "{name} must be at least 16 characters");
    Ok(value)
}

pub fn operator_endpoints(
    specs: &[String],
    credentials_of: impl Fn(&str) -> anyhow::Result<Credentials>,
) -> anyhow::Result<HashMap<OperatorId, OperatorEndpoint>> {
    let mut endpoints = HashMap::new();
    for spec in specs {
        let (name, url) = spec
            .split_once('=')
            .with_context(|| format!("--operator {spec}: expected NAME=URL"))?;
        let id = OperatorId::parse(name).with_context(|| format!("--operator {spec}"))?;
        let credentials = credentials_of(name)?;
        endpoints.insert(
            id,
            OperatorEndpoint {
                base_url: url.trim_end_matches('/').to_owned(),
                credentials,
            },
        );
    }
    Ok(endpoints)
}

/// Holds the key-encryption key (KEK) that seals the signing keys in the store: 64 hex digits
/// or base64 of 32 random bytes (`openssl rand -hex 32`).
pub const KEK_ENV: &str = "SMSBUS_KEY_ENCRYPTION_KEY";
/// A file holding the KEK instead (a mounted secret); read when [`KEK_ENV`] is not set.
pub const KEK_FILE_ENV: &str = "SMSBUS_KEY_ENCRYPTION_KEY_FILE";

/// Where a command may find the key-encryption key besides the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KekSource {
    /// `serve`: only the environment; without a KEK the server refuses to start.
    EnvironmentOnly,
    /// `demo`: else the demo's key file beside its database, created on first start.
    DemoFile,
    /// Admin commands (`keys`, `catalogue load`, imports): else the demo's key file if the
    /// demo made one for this database.
    EnvironmentOrDemoFile,
}

/// The demo's key file for database `db`: `<sqlite file>.kek`, or `smsbus-demo.kek` for a
/// PostgreSQL URL. Demo only: a copy of the database together with this file signs tickets.
pub fn demo_kek_path(db: &str) -> std::path::PathBuf {
    store::sqlite_path(db).map_or_else(
        || std::path::PathBuf::from("smsbus-demo.kek"),
        |path| std::path::PathBuf::from(format!("{path}.kek")),
    )
}

fn read_kek_file(path: &std::path::Path) -> anyhow::Result<service::vault::KeyEncryptionKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key-encryption key file {}", path.display()))?;
    service::vault::KeyEncryptionKey::parse(&text)
        .with_context(|| format!("the key-encryption key file {}", path.display()))
}

fn kek_from_env() -> anyhow::Result<Option<service::vault::KeyEncryptionKey>> {
    if let Ok(text) = std::env::var(KEK_ENV) {
        return service::vault::KeyEncryptionKey::parse(&text)
            .map(Some)
            .with_context(|| format!("the environment variable {KEK_ENV}"));
    }
    match std::env::var_os(KEK_FILE_ENV) {
        Some(path) => read_kek_file(std::path::Path::new(&path)).map(Some),
        None => Ok(None),
    }
}

/// The demo's KEK: read from its file, or made and written there (readable by the owner only).
fn demo_kek(path: &std::path::Path) -> anyhow::Result<service::vault::KeyEncryptionKey> {
    if path.exists() {
        return read_kek_file(path);
    }
    let kek = service::vault::KeyEncryptionKey::generate()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating the demo's key file {}", path.display()))?;
    std::io::Write::write_all(&mut file, format!("{}\n", kek.to_hex()).as_bytes())
        .with_context(|| format!("writing the demo's key file {}", path.display()))?;
    eprintln!(
        "smsbus: the demo's signing keys are sealed with a new key-encryption key in {}",
        path.display()
    );
    Ok(kek)
}

/// The vault that seals the signing keys of database `db`.
pub fn key_vault(db: &str, source: KekSource) -> anyhow::Result<Arc<dyn service::vault::KeyVault>> {
    if let Some(kek) = kek_from_env()? {
        return Ok(Arc::new(kek));
    }
    let demo_file = demo_kek_path(db);
    let kek = match source {
        KekSource::DemoFile => demo_kek(&demo_file)?,
        KekSource::EnvironmentOrDemoFile if demo_file.exists() => read_kek_file(&demo_file)?,
        KekSource::EnvironmentOnly | KekSource::EnvironmentOrDemoFile => anyhow::bail!(
            "set {KEK_ENV} (64 hex digits or base64 of 32 random bytes, e.g. `openssl rand -hex 32`) \
             or {KEK_FILE_ENV} (a file holding it): the ticket signing keys are stored sealed with it"
        ),
    };
    Ok(Arc::new(kek))
}

/// Opens the store and starts the use cases, the signing keys sealed with the KEK of the
/// environment or the demo's key file ([`KekSource::EnvironmentOrDemoFile`]).
pub async fn open_app(
    db: &str,
    endpoints: HashMap<OperatorId, OperatorEndpoint>,
    settings: Settings,
) -> anyhow::Result<Arc<App>> {
    open_app_with(db, endpoints, settings, KekSource::EnvironmentOrDemoFile).await
}

pub async fn open_app_with(
    db: &str,
    endpoints: HashMap<OperatorId, OperatorEndpoint>,
    settings: Settings,
    kek_source: KekSource,
) -> anyhow::Result<Arc<App>> {
    let settings = Settings {
        key_vault: key_vault(db, kek_source)?,
        ..settings
    };
    let store = store::Store::open(db)
        .await
        .with_context(|| format!("opening the store {db}"))?;
    // Operators whose API certificates come from their own CA: a PEM bundle of those CAs.
    let extra_roots = match std::env::var_os("SMSBUS_OPERATOR_CA_FILE") {
        Some(path) => std::fs::read(&path).with_context(|| {
            format!("reading SMSBUS_OPERATOR_CA_FILE {}", path.to_string_lossy())
        })?,
        None => Vec::new(),
    };
    let client = Arc::new(CamaraClient::with_roots(
        endpoints,
        Duration::from_millis(OPERATOR_TIMEOUT_MS),
        &extra_roots,
    )?);
    let app = App::start(
        store,
        client.clone(),
        client.clone(),
        Arc::new(SystemClock),
        settings,
    )
    .await?;
    // The console's partners screen: each operator's APIs, authentication and live counters.
    app.partners.set_operators(client.describe());
    Ok(app)
}

/// Listens on `addr` (port 0: a free one); the address it got is the listener's `local_addr`.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

/// Binds, settles what a previous run left in doubt, and serves in the background with the API
/// settings given (benchmarks lift the limits, `serve` names the trusted proxies).
pub async fn start_with(
    app: Arc<App>,
    listener: TcpListener,
    settings: api::ApiSettings,
) -> anyhow::Result<SocketAddr> {
    Ok(api::start(app, listener, settings).await?)
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Before anything else: a server that cannot seal its keys must not start.
    key_vault(&args.db, KekSource::EnvironmentOnly)?;
    let addr = crate::parse_addr(&args.addr)?;
    let endpoints = operator_endpoints(&args.operators, operator_credentials)?;
    let smscs = crate::smpp_cli::smsc_configs(&args.smscs)?;
    let trusted_proxies = api::TrustedProxies::parse(&args.trusted_proxies.join(","))
        .map_err(|e| anyhow::anyhow!("--trusted-proxy {e}"))?;
    let api_settings = api::ApiSettings {
        web: args.web.web_app(false)?,
        trusted_proxies,
        connections: api::ConnectionLimits {
            connections_max: args.connections_max,
            connections_per_client_max: args.connections_per_client_max,
            ..api::ConnectionLimits::default()
        },
        status_reminders: service::status_reminders::ReminderPolicy::new(args.status_reminder_days)
            .map_err(|e| anyhow::anyhow!("--status-reminder-days: {}", e.detail))?,
        ..api::ApiSettings::new()
    };
    let listener = bind(addr).await?;
    let local = listener.local_addr()?;
    let settings = Settings {
        public_base_url: args.public_url.unwrap_or_else(|| format!("http://{local}")),
        ..Settings::default()
    };
    let app = open_app_with(&args.db, endpoints, settings, KekSource::EnvironmentOnly).await?;
    if let Some(spec) = &args.acquirer {
        let acquirer = crate::acquirer_cli::configured(spec)?;
        app.partners.set_acquirer(acquirer.describe());
        app.set_acquirer(Arc::new(acquirer));
    }
    if !service::staff::credentials::anyone_can_sign_in(&app)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?
    {
        eprintln!(
            "smsbus: no staff account yet; create the first admin with `smsbus staff add --db {} --login admin --role admin`",
            args.db
        );
    }
    if let Some(wialon) = &args.wialon_addr {
        eprintln!(
            "smsbus: Wialon IPS on {}",
            crate::live_cli::start_wialon_listener(Arc::clone(&app), wialon).await?
        );
    }
    let bound = start_with(Arc::clone(&app), listener, api_settings).await?;
    // The demo lays its own (replayed) networks; a real server follows each city's calendar.
    tokio::spawn(service::live::keep_networks_current(
        Arc::clone(&app),
        Duration::from_secs(LIVE_NETWORK_CHECK_S),
    ));
    let smpp = if smscs.is_empty() {
        None
    } else {
        Some(service::smpp::SmppService::start(Arc::clone(&app), smscs).await?)
    };
    eprintln!("smsbus: serving on http://{bound}");
    tokio::signal::ctrl_c().await?;
    if let Some(smpp) = smpp {
        smpp.shutdown().await;
    }
    Ok(())
}

pub(crate) async fn admin_app(db: &str) -> anyhow::Result<Arc<App>> {
    open_app(db, HashMap::new(), Settings::default()).await
}

/// A SQLite file that is not there yet: admin commands that only make sense on the server's
/// database refuse it instead of creating an empty one.
fn sqlite_missing(db: &str) -> bool {
    store::sqlite_path(db).is_some_and(|path| !std::path::Path::new(path).exists())
}

pub(crate) fn require_existing(db: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !sqlite_missing(db),
        "no database at {db}: pass --db with the one the server uses (the demo's is {})",
        crate::demo::DEMO_DB
    );
    Ok(())
}

pub async fn rotate_keys(db: &str, immediately: bool) -> anyhow::Result<()> {
    require_existing(db)?;
    let app = admin_app(db).await?;
    let when = if immediately {
        service::keys::Rotation::Immediately
    } else {
        service::keys::Rotation::Scheduled
    };
    let key = service::keys::rotate(&app, &service::staff::Actor::command_line(), when).await?;
    let listed = api::keys_wire::to_dto([&key]);
    let (from, until) = listed
        .keys
        .first()
        .map_or(("", ""), |k| (k.not_before.as_str(), k.not_after.as_str()));
    println!(
        "new signing key {} signs from {from} and verifies until {until}",
        key.id()
    );
    Ok(())
}

pub async fn list_keys(db: &str) -> anyhow::Result<()> {
    require_existing(db)?;
    let app = admin_app(db).await?;
    let keys = service::keys::published_keys(&app).await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&api::keys_wire::to_dto(&keys))?
    );
    Ok(())
}

pub async fn list_holder_keys(db: &str) -> anyhow::Result<()> {
    require_existing(db)?;
    let app = admin_app(db).await?;
    let keys = service::keys::holder_keys(&app).await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&api::keys_wire::holder_keys_to_dto(&keys))?
    );
    Ok(())
}

pub async fn load_catalogue(file: &std::path::Path, db: &str) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    if sqlite_missing(db) {
        eprintln!("smsbus: no database at {db} yet; creating it");
    }
    let app = admin_app(db).await?;
    let catalogue = domain::catalogue_file::decode(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let summary = service::catalogue::apply_file(&app, &catalogue)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.detail))?;
    println!(
        "catalogue loaded: {} cities, {} routes, {} vehicles, {} fare rules, {} operator prefixes",
        summary.cities, summary.routes, summary.vehicles, summary.fare_rules, summary.prefixes
    );
    Ok(())
}
