//! The running system as `smsbus serve` starts it, shared by the binary and the API's tests so
//! both run the same thing: the rides a previous run left in doubt settled first, the recovery
//! worker, the status reminders and the catalogue reload in the background, then the hardened accept loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use service::App;
use tokio::net::TcpListener;

use crate::ApiSettings;

/// How often a server reads the catalogue anew (a `catalogue load` by another process).
pub const CATALOGUE_RELOAD_S: u64 = 10;
/// How often the recovery worker looks for rides in doubt.
pub const RECOVERY_PERIOD_S: u64 = 10;

/// Starts everything on `listener` and returns the address it listens on; the server and the
/// workers run until the runtime stops.
pub async fn start(
    app: Arc<App>,
    listener: TcpListener,
    settings: ApiSettings,
) -> std::io::Result<SocketAddr> {
    let report = service::recovery::settle_unsettled(&app, 0)
        .await
        .map_err(|e| std::io::Error::other(format!("settling rides in doubt: {}", e.detail)))?;
    if report.examined > 0 {
        tracing::warn!(?report, "settled rides left in doubt by the previous run");
    }
    tokio::spawn(service::recovery::run_forever(
        Arc::clone(&app),
        Duration::from_secs(RECOVERY_PERIOD_S),
    ));
    tokio::spawn(service::status_reminders::run_forever(
        Arc::clone(&app),
        settings.status_reminders,
        Duration::from_secs(service::status_reminders::REMINDER_PERIOD_S),
    ));
    tokio::spawn(service::catalogue::keep_current(
        Arc::clone(&app),
        Duration::from_secs(CATALOGUE_RELOAD_S),
    ));
    let bound = listener.local_addr()?;
    let router = crate::router(app, settings.clone());
    tokio::spawn(async move {
        if let Err(error) = crate::serve(listener, router, &settings).await {
            tracing::error!(%error, "server stopped");
        }
    });
    Ok(bound)
}
