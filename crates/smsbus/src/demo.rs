//! `smsbus demo`: the whole system on one machine — the server on an embedded SQLite file,
//! simulated mobile operators over real HTTP and their simulated SMSC over SMPP (every
//! operator bound as a transceiver), the seeded catalogue of Kazakh cities — and `smsbus sms`,
//! which sends as a phone through that SMSC (or, without a demo, plays the HTTP gateway).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use domain::OperatorId;
use partners::operator::OperatorEndpoint;
use partners::operator::oauth::{ClientCredentials, Credentials};
use service::Settings;
use simulators::operator::OperatorSimulator;

/// The catalogue the demo starts with: the published fares of PRODUCT.md as data.
pub const SEED_CATALOGUE: &str = include_str!("../data/catalogue.json");

/// The built-in catalogue, read.
pub fn seed_catalogue() -> anyhow::Result<domain::catalogue_file::CatalogueFile> {
    domain::catalogue_file::decode(SEED_CATALOGUE)
        .map_err(|e| anyhow::anyhow!("seed catalogue: {e}"))
}

/// Writes the built-in catalogue into the app's store (the demo, the benchmarks, the simulation).
pub async fn load_seed_catalogue(app: &service::App) -> anyhow::Result<()> {
    service::catalogue::apply_file(app, &seed_catalogue()?)
        .await
        .map_err(|e| anyhow::anyhow!("seed catalogue: {}", e.detail))?;
    Ok(())
}
/// The demo's SQLite file.
pub const DEMO_DB: &str = "smsbus-demo.db";
/// (login, password, role, cities, carriers).
pub type DemoAccount = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);
/// The demo's staff accounts, one per role: (login, password, role, cities, carriers). The
/// admin signs in with a TOTP code too: `smsbus staff totp-code --secret` [`DEMO_ADMIN_TOTP`].
pub const DEMO_STAFF: [DemoAccount; 5] = [
    ("admin", "demo-admin-password", "admin", &[], &[]),
    (
        "office-astana",
        "demo-office-password",
        "office",
        &["astana"],
        &[],
    ),
    (
        "carrier-park-1",
        "demo-carrier-password",
        "carrier",
        &[],
        &["astana-avtobus-park-1"],
    ),
    (
        "controller",
        "demo-controller-password",
        "controller",
        &["astana", "almaty", "shymkent"],
        &[],
    ),
    ("support", "demo-support-password", "support", &[], &[]),
];
/// The demo admin's TOTP secret (base32), enrolled in any authenticator app.
pub const DEMO_ADMIN_TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
/// The demo's machine credentials: the SMS gateway's and the metrics reader's secrets.
pub const DEMO_SMS_GATEWAY_TOKEN: &str = "demo-sms-gateway-token-0000";
pub const DEMO_METRICS_TOKEN: &str = "demo-metrics-token-0000";
/// The password of every operator's account at the demo's simulated SMSC.
pub const DEMO_SMSC_PASSWORD: &str = "demo2505";
/// `smsbus sms` waits this long for the reply to reach the phone.
pub const SMS_REPLY_WAIT_S: u64 = 15;
/// With `--message-id` (a redelivery, answered before), the wait is short.
pub const SMS_REDELIVERY_WAIT_S: u64 = 3;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// SQLite file (created if missing) or a postgres:// URL.
    #[arg(long, default_value = DEMO_DB)]
    pub db: String,
    /// Where the simulated mobile operators listen (their admin API breaks them on purpose).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub simulator_addr: String,
    /// Where the simulated SMSC takes SMPP binds (port 0: a free one; the guide prints it).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub smsc_addr: String,
    /// Where the simulated SMSC's phone API listens (phones send, inboxes, faults).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub smsc_admin_addr: String,
    /// The passenger's web app (installed from npm on first start).
    #[command(flatten)]
    pub web: crate::web_cli::WebArgs,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let addr = crate::parse_addr(&args.addr)?;
    let simulator = OperatorSimulator::start(crate::parse_addr(&args.simulator_addr)?)
        .await
        .with_context(|| {
            format!(
                "starting the operator simulator on {} (--simulator-addr)",
                args.simulator_addr
            )
        })?;
    simulators::demo::seed(&simulator)?;
    let endpoints = simulator_endpoints(&simulator)?;
    let listener = crate::wiring::bind(addr).await?;
    let local = listener.local_addr()?;
    let settings = Settings {
        public_base_url: format!("http://{local}"),
        ..Settings::default()
    };
    let app = crate::wiring::open_app_with(
        &args.db,
        endpoints,
        settings,
        crate::wiring::KekSource::DemoFile,
    )
    .await?;
    load_seed_catalogue(&app).await?;
    seed_passengers(&app).await?;
    let demo_card = crate::bank_cli::seed_demo(&app).await?;
    let acquirer = crate::acquirer_cli::start_demo(&app).await?;
    crate::transit_cli::seed_demo(&app).await?;
    seed_staff(&app)
        .await
        .map_err(|e| anyhow::anyhow!("seed staff: {}: {}", e.code.code(), e.detail))?;
    let api_settings = api::ApiSettings {
        outbox_view: api::OutboxView::WithRecentSmpp,
        web: args.web.web_app(true)?,
        ..api::ApiSettings::new()
    };
    let bound = crate::wiring::start_with(Arc::clone(&app), listener, api_settings).await?;
    let (smpp, smsc_admin) = start_smsc(&app, &args).await?;
    crate::live_cli::start_demo_city(&app).await?;
    print_guide(&format!("http://{bound}"), simulator.addr(), &smsc_admin);
    println!(
        "Card acquirer (simulated Halyk ePay): {acquirer} — top-ups in the app at #/cards/<number>/top-up; test cards {ok} (paid), {declined} (declined), {no_funds} (no funds); PUT {acquirer}/faults, GET {acquirer}/reports/YYYY-MM-DD
    smsbus reconcile bank|acquirer|operator --partner ID --date YYYY-MM-DD FILE   (match a partner's daily file)",
        ok = simulators::acquirer::CARD_OK,
        declined = simulators::acquirer::CARD_DECLINED,
        no_funds = simulators::acquirer::CARD_NO_FUNDS,
    );
    println!(
        "Transport card of {holder}: {demo_card}
    smsbus bank pay --bank kaspi --card {number} --sum 500   (the simulated Kaspi checks, then pays)
    smsbus sms --from {holder} \"10101 к{last4}\"              (a ride paid from the card)
    curl -s {base}/v1/cards -H 'Authorization: Bearer TOKEN'     (the holder's cards and balances)
The office (office-astana): preferential applications and refunds of Astana:
    OFFICE=$(curl -s -X POST {base}/v1/staff/session -H 'Content-Type: application/json' -d '{{\"login\":\"office-astana\",\"password\":\"demo-office-password\"}}' | jq -r .token)
    curl -s {base}/v1/office/card-applications -H \"Authorization: Bearer $OFFICE\"
    curl -s {base}/v1/staff/passengers/{holder}/tickets -H \"Authorization: Bearer $OFFICE\"",
        holder = crate::bank_cli::DEMO_CARD_HOLDER,
        number = demo_card.as_str(),
        last4 = demo_card.last_four(),
        base = format!("http://{bound}"),
    );
    tokio::signal::ctrl_c().await?;
    smpp.shutdown().await;
    if let Err(error) = std::fs::remove_file(crate::smpp_cli::demo_smsc_file(&args.db)) {
        tracing::warn!(%error, "removing the demo's SMSC file");
    }
    eprintln!("smsbus demo: stopped");
    Ok(())
}

/// One staff account per role and the machine credentials, with the fixed secrets the guide
/// prints (given again on every start: the demo's database outlives a run).
async fn seed_staff(app: &service::App) -> Result<(), service::ServiceError> {
    use service::staff::credentials::MachineKind;
    let actor = service::staff::Actor::command_line();
    for (login, password, role, cities, carriers) in DEMO_STAFF {
        let role = domain::staff::Role::parse(role).unwrap_or(domain::staff::Role::Support);
        let new = service::staff::accounts::NewAccount {
            login: login.to_owned(),
            role,
            scope: domain::staff::Scope {
                cities: cities.iter().map(|c| (*c).to_owned()).collect(),
                carriers: carriers.iter().map(|c| (*c).to_owned()).collect(),
            },
            password: Some(password.to_owned()),
        };
        let totp = role.requires_totp().then_some(DEMO_ADMIN_TOTP);
        service::staff::accounts::ensure(app, &actor, new, totp).await?;
    }
    service::staff::credentials::ensure(
        app,
        &actor,
        MachineKind::SmsGateway,
        "demo-gateway",
        DEMO_SMS_GATEWAY_TOKEN,
    )
    .await?;
    service::staff::credentials::ensure(
        app,
        &actor,
        MachineKind::Metrics,
        "demo-monitoring",
        DEMO_METRICS_TOKEN,
    )
    .await
}

/// The simulated SMSC, every operator bound to it, and the file that tells `smsbus sms` where
/// phones send from. Returns the binds and the phone API's URL.
async fn start_smsc(
    app: &Arc<service::App>,
    args: &DemoArgs,
) -> anyhow::Result<(service::smpp::SmppService, String)> {
    let accounts = simulators::smsc::demo_accounts(DEMO_SMSC_PASSWORD);
    let smsc =
        simulators::smsc::SmscSimulator::start(crate::parse_addr(&args.smsc_addr)?, accounts)
            .await
            .with_context(|| {
                format!(
                    "starting the simulated SMSC on {} (--smsc-addr)",
                    args.smsc_addr
                )
            })?;
    let admin =
        simulators::smsc::admin::serve(smsc.clone(), crate::parse_addr(&args.smsc_admin_addr)?)
            .await
            .with_context(|| {
                format!("starting the SMSC's phone API on {}", args.smsc_admin_addr)
            })?;
    let configs = crate::smpp_cli::demo_configs(smsc.smpp_addr(), DEMO_SMSC_PASSWORD)?;
    let smpp = service::smpp::SmppService::start(Arc::clone(app), configs).await?;
    anyhow::ensure!(
        smpp.wait_bound(std::time::Duration::from_secs(10)).await,
        "the demo's binds to the simulated SMSC did not come up"
    );
    let admin_url = format!("http://{admin}");
    let file = crate::smpp_cli::demo_smsc_file(&args.db);
    std::fs::write(&file, format!("{admin_url}\n"))
        .with_context(|| format!("writing {}", file.display()))?;
    Ok((smpp, admin_url))
}

async fn seed_passengers(app: &service::App) -> anyhow::Result<()> {
    service::staff::set_rider_category(
        app,
        &service::staff::Actor::command_line(),
        &domain::PhoneNumber::parse("+77021234567")?,
        domain::catalogue::RiderCategory::Pensioner,
        domain::Language::Ru,
    )
    .await
    .map_err(|e| anyhow::anyhow!("seeding passengers: {}", e.detail))
}

fn print_guide(base: &str, simulator: std::net::SocketAddr, smsc_admin: &str) {
    let mut subscribers = String::new();
    for (phone, operator, note) in simulators::demo::SUBSCRIBERS {
        subscribers.push_str(&format!("    {phone}  {operator:<8} {note}\n"));
    }
    let mut staff = String::new();
    for (login, password, role, cities, carriers) in DEMO_STAFF {
        let scope = [cities.join(","), carriers.join(",")].join(" ");
        staff.push_str(&format!(
            "    {login:<16} {password:<26} {role:<10} {}\n",
            scope.trim()
        ));
    }
    println!(
        r#"
SMSBUS demo is running at {base}   (operator simulator at http://{simulator}; Ctrl-C stops)
The passenger app (a PWA, phone-first): open {base}/ — sign in with a demo phone below; the code arrives in its inbox.
Every operator's SMSC is simulated over SMPP 3.4 (phone API at {smsc_admin}); we are bound to it.

Buses (transport code · plate · route):
    10101 · 101 ABC 01 · Astana 10 (90 ₸)        13101 · 310 EKX 01 · Astana 310 express (180 ₸)
    13011 · 301 KOS 01 · Astana 301 suburban (zones 1-4: 90/200/300/400 ₸)
    20032 · 032 AAA 02 · Almaty 32 (80 ₸, pensioner 40 ₸)   30015 · 015 SHY 17 · Shymkent 15 (70 ₸)

Phones on the simulated operators:
{subscribers}
Pay by SMS (in another terminal):
    smsbus sms --from +77011234567 10101          (or: cargo run -q -p smsbus -- sms ...)
    smsbus sms --from +77011234567 "101 авс 01"   (plate, any script)
    smsbus sms --from +77011234567 ENG            (КАЗ / РУС / ENG)
    smsbus sms --from +77011234567 "13011 3"      (suburban, zone 3)
    smsbus sms --from +77010000005 10101          (refused: SIM swapped)
    smsbus sms-status --db smsbus-demo.db         (each reply's SMSC id and delivery receipt)

The passenger's phone (what reached it, over SMPP):
    curl -s {smsc_admin}/phones/+77011234567/inbox
    curl -s -X PUT {smsc_admin}/faults -H 'Content-Type: application/json' -d '{{"throttle":3}}'

Pay by API (sign in with a code sent by SMS; the demo's SMS gateway outbox shows it):
    curl -s -X POST {base}/v1/auth/code -H 'Content-Type: application/json' -d '{{"phone":"+77011234567"}}'
    curl -s {base}/v1/sms/outbox -H 'Authorization: Bearer {DEMO_SMS_GATEWAY_TOKEN}'
    curl -s -X POST {base}/v1/auth/session -H 'Content-Type: application/json' -d '{{"phone":"+77011234567","code":"CODE"}}'
    curl -s -X POST {base}/v1/rides -H 'Authorization: Bearer TOKEN' -H 'Idempotency-Key: my-key-1' \
         -H 'Accept-Language: en' -H 'Content-Type: application/json' -d '{{"transport_code":"10101"}}'
    curl -s {base}/v1/tickets/valid -H 'Authorization: Bearer TOKEN'
    curl -s '{base}/v1/tickets/history?limit=10' -H 'Authorization: Bearer TOKEN'

Journeys in Astana (routes 10, 12, 310 express, 301 suburban):
    curl -s {base}/v1/cities/astana/routes
    curl -s '{base}/v1/cities/astana/search?q=Abaya'
    curl -s '{base}/v1/cities/astana/plan?from=51.1284,71.4303&to=stop:airport'

Staff accounts (login / password; sign in for a bearer token, POST /v1/staff/session):
{staff}    admin's TOTP secret {DEMO_ADMIN_TOTP} (any authenticator app, or: smsbus staff totp-code --secret {DEMO_ADMIN_TOTP})
    CTL=$(curl -s -X POST {base}/v1/staff/session -H 'Content-Type: application/json' -d '{{"login":"controller","password":"demo-controller-password"}}' | jq -r .token)
    ADMIN=$(curl -s -X POST {base}/v1/staff/session -H 'Content-Type: application/json' \
         -d "{{\"login\":\"admin\",\"password\":\"demo-admin-password\",\"totp\":\"$(smsbus staff totp-code --secret {DEMO_ADMIN_TOTP})\"}}" | jq -r .token)
Machine credentials: SMS gateway {DEMO_SMS_GATEWAY_TOKEN}, metrics {DEMO_METRICS_TOKEN}

Controller:
    curl -s -X POST {base}/v1/inspections -H "Authorization: Bearer $CTL" \
         -H 'Content-Type: application/json' -d '{{"token":"SB3....","transport_code":"10101","inspector":"ctl-7","holder_phone":"+77011234567"}}'
    curl -s {base}/v1/keys > keys.json && smsbus verify SB3.... --keys keys.json --vehicle 10101
    curl -s {base}/v1/controller/holder-keys -H "Authorization: Bearer $CTL" > holder-keys.json
    smsbus verify SB3.... --keys keys.json --vehicle 10101 --holder +77011234567 --holder-keys holder-keys.json
    (a card's ticket: --holder with the card's 16 digits, or "holder_card" in the check)

Operator (admin):
    curl -s {base}/v1/admin/ledger -H "Authorization: Bearer $ADMIN"
    curl -s {base}/v1/cities      curl -s {base}/openapi.json
    curl -s {base}/metrics -H 'Authorization: Bearer {DEMO_METRICS_TOKEN}'   (metrics token)
"#
    );
}

#[derive(clap::Args, Debug)]
pub struct SmsArgs {
    /// The passenger's number.
    #[arg(long)]
    pub from: String,
    /// The running server.
    #[arg(long, env = "SMSBUS_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The SMSC that delivers it (over the HTTP gateway).
    #[arg(long, default_value = "smsc-demo")]
    pub smsc: String,
    /// The demo's simulated SMSC's phone API: the message goes through it as a phone's would.
    /// Found beside the demo's database when not given; without one, the HTTP gateway is used.
    #[arg(long, env = "SMSBUS_SMSC_ADMIN")]
    pub smsc_admin: Option<String>,
    /// The demo's database, beside which the demo notes its SMSC.
    #[arg(long, default_value = DEMO_DB)]
    pub db: String,
    /// The SMS gateway's credential, when the message goes over the HTTP gateway.
    #[arg(long, env = "SMSBUS_SMS_GATEWAY_CREDENTIAL", default_value = DEMO_SMS_GATEWAY_TOKEN)]
    pub gateway_credential: String,
    /// The SMSC's message id; the same id twice is one message delivered twice.
    #[arg(long)]
    pub message_id: Option<String>,
    /// The text of the SMS.
    #[arg(required = true, num_args = 1..)]
    pub text: Vec<String>,
}

pub async fn sms(args: SmsArgs) -> anyhow::Result<()> {
    let demo_file = crate::smpp_cli::demo_smsc_file(&args.db);
    let smsc_admin = args.smsc_admin.clone().or_else(|| {
        std::fs::read_to_string(&demo_file)
            .ok()
            .map(|text| text.trim().to_owned())
    });
    match smsc_admin {
        Some(admin) => sms_through_smsc(&args, &admin).await,
        None => sms_through_gateway(args).await,
    }
}

async fn sms_through_smsc(args: &SmsArgs, admin: &str) -> anyhow::Result<()> {
    let text = args.text.join(" ");
    let wait_s = if args.message_id.is_some() {
        SMS_REDELIVERY_WAIT_S
    } else {
        SMS_REPLY_WAIT_S
    };
    let reply = crate::smpp_cli::send_as_phone(
        admin,
        &args.from,
        &text,
        args.message_id.as_deref(),
        std::time::Duration::from_secs(wait_s),
    )
    .await?;
    match (reply, &args.message_id) {
        (Some(reply), _) => {
            println!("{reply}");
            Ok(())
        }
        (None, Some(id)) => {
            println!("(no new reply: message {id} was answered when it first came)");
            Ok(())
        }
        (None, None) => anyhow::bail!("no reply reached {} within {wait_s} s", args.from),
    }
}

async fn sms_through_gateway(args: SmsArgs) -> anyhow::Result<()> {
    let token = args.gateway_credential.clone();
    let message_id = args.message_id.unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("cli-{now}")
    });
    let body = serde_json::json!({"smsc": args.smsc, "message_id": message_id, "sender": args.from, "text": args.text.join(" ")});
    let url = format!("{}/v1/sms/incoming", args.server.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("is the server running at {}?", args.server))?;
    let status = response.status();
    let reply: serde_json::Value = response.json().await.context("reading the reply")?;
    match reply.get("text").and_then(|t| t.as_str()) {
        Some(text) if status.is_success() => {
            println!("{text}");
            Ok(())
        }
        _ => anyhow::bail!(
            "{status}: {}",
            reply
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("no reply")
        ),
    }
}

/// Every simulated operator as production reaches a real one: its API root, and an OAuth 2.0
/// client whose token endpoint is found through the operator's discovery document.
pub fn simulator_endpoints(
    simulator: &simulators::operator::SimulatorHandle,
) -> anyhow::Result<HashMap<OperatorId, OperatorEndpoint>> {
    simulator_endpoints_at(|operator| simulator.base_url(operator))
}

/// [`simulator_endpoints`] of a simulator whose API root of each operator is `base_url`'s.
pub fn simulator_endpoints_at(
    base_url: impl Fn(&OperatorId) -> String,
) -> anyhow::Result<HashMap<OperatorId, OperatorEndpoint>> {
    let mut endpoints = HashMap::new();
    for operator in simulators::demo::OPERATORS {
        let id = OperatorId::parse(operator)?;
        let base_url = base_url(&id);
        let credentials = Credentials::ClientCredentials(ClientCredentials {
            token_url: format!("{base_url}{}", partners::operator::oauth::DISCOVERY_SUFFIX),
            client_id: simulators::demo::OAUTH_CLIENT_ID.into(),
            client_secret: simulators::demo::OAUTH_CLIENT_SECRET.into(),
            scope: None,
        });
        endpoints.insert(
            id,
            OperatorEndpoint {
                base_url,
                credentials,
            },
        );
    }
    Ok(endpoints)
}
