//! The demo's card acquirer: the simulated Halyk ePay on a free local port, wired as the
//! acquirer of in-app top-ups (`smsbus serve` reaches a real one only).

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
    app.set_acquirer(Arc::new(client));
    Ok(sim.base_url())
}
