//! `smsbus import-gtfs`, and the transit data the demo starts with.

/// Imports the demo city's transit data (called by `smsbus demo`).
pub async fn seed_demo(_app: &std::sync::Arc<service::App>) -> anyhow::Result<()> {
    Ok(())
}
