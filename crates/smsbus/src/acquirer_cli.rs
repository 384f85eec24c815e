//! The card acquirer of in-app top-ups: `smsbus serve --acquirer NAME=URL` reaches a real one
//! with its credentials from the environment ([`configured`]); the demo starts the simulated
//! Halyk ePay on a free local port and wires it ([`start_demo`]).

use std::sync::Arc;
use std::time::Duration;

use partners::acquirer::{AcquirerClient, AcquirerConfig};
use simulators::acquirer::{AcquirerAccount, AcquirerSimulator};

/// The demo acquirer's id: its ledger account and its callback's path.
pub const DEMO_ACQUIRER: &str = "halyk-epay";
/// The acquirer's calls give up after this long.
pub const ACQUIRER_TIMEOUT_MS: u64 = 10_000;

/// Starts the simulated acquirer and makes it the app's; returns its address.
pub async fn start_demo(app: &service::App) -> anyhow::Result<String> {
    let account = AcquirerAccount {
        client_id: "smsbus-demo".into(),
        client_secret: "demo-acquirer-client-secret-0000".into(),
        callback_secret: "demo-acquirer-callback-secret-0000".into(),
    };
    let sim = AcquirerSimulator::start("127.0.0.1:0".parse()?, account.clone()).await?;
    let client = AcquirerClient::new(
        AcquirerConfig {
            id: DEMO_ACQUIRER.into(),
            base_url: sim.base_url(),
            client_id: account.client_id,
            client_secret: account.client_secret,
            callback_secret: account.callback_secret,
        },
        Duration::from_millis(ACQUIRER_TIMEOUT_MS),
    )
    .map_err(|e| anyhow::anyhow!("acquirer client: {e}"))?;
    app.partners.set_acquirer(client.describe());
    app.set_acquirer(Arc::new(client));
    Ok(sim.base_url())
}

/// The acquirer `NAME=URL` names, its client id and secrets read from the environment.
pub fn configured(spec: &str) -> anyhow::Result<AcquirerClient> {
    let (id, url) = spec
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--acquirer is NAME=URL, e.g. halyk-epay=https://…"))?;
    let env = |name: &str| {
        std::env::var(name).map_err(|_| anyhow::anyhow!("--acquirer {id}: {name} is not set"))
    };
    let config = AcquirerConfig {
        id: id.trim().to_owned(),
        base_url: url.trim().to_owned(),
        client_id: env("SMSBUS_ACQUIRER_CLIENT_ID")?,
        client_secret: env("SMSBUS_ACQUIRER_CLIENT_SECRET")?,
        callback_secret: env("SMSBUS_ACQUIRER_CALLBACK_SECRET")?,
    };
    if domain::ledger::CardAccountId::parse(&config.id).is_err()
        || config.callback_secret.len() < 16
    {
        anyhow::bail!(
            "--acquirer: a name of [a-z0-9-] and a callback secret of at least 16 characters"
        );
    }
    AcquirerClient::new(config, Duration::from_millis(ACQUIRER_TIMEOUT_MS))
        .map_err(|e| anyhow::anyhow!("acquirer client: {e}"))
}
