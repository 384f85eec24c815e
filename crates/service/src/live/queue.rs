//! The bounded queue between the Wialon IPS listener and the live state: positions wait
//! there (a full queue slows the trackers down) until one worker task applies them in
//! batches, city by city; the same worker drops stale vehicles on a timer. `settle` lets
//! tests and the demo wait for it instead of sleeping.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use ::live::state::Position;
use tokio::sync::mpsc;

use super::{APPLY_BATCH_MAX, QUEUE_CAPACITY, SETTLE_WAIT_MS, SWEEP_PERIOD_S, apply, lock, sweep};
use crate::App;

/// The bounded queue of the Wialon IPS listener; the first call starts the worker that
/// applies it in batches.
pub fn position_queue(app: &Arc<App>) -> mpsc::Sender<Position> {
    let mut slot = lock(&app.live.queue);
    if let Some(sender) = slot.as_ref() {
        return sender.clone();
    }
    let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
    tokio::spawn(run_worker(Arc::downgrade(app), receiver));
    *slot = Some(sender.clone());
    sender
}

async fn run_worker(app: Weak<App>, mut receiver: mpsc::Receiver<Position>) {
    let mut batch = Vec::with_capacity(APPLY_BATCH_MAX);
    let mut sweep_timer = tokio::time::interval(Duration::from_secs(SWEEP_PERIOD_S));
    loop {
        tokio::select! {
            received = receiver.recv_many(&mut batch, APPLY_BATCH_MAX) => {
                if received == 0 {
                    return;
                }
                let Some(app) = app.upgrade() else { return };
                apply_queued(&app, &batch).await;
                app.live.applied_from_queue.fetch_add(u64::try_from(received).unwrap_or(0), Ordering::SeqCst);
                app.live.applied_notify.notify_waiters();
                batch.clear();
            }
            _ = sweep_timer.tick() => {
                let Some(app) = app.upgrade() else { return };
                if let Err(error) = sweep(&app).await {
                    tracing::warn!(%error, "live sweep failed");
                }
            }
        }
    }
}

/// Splits a queued batch by city (through the registry) and applies each part.
async fn apply_queued(app: &App, batch: &[Position]) {
    let mut by_city: HashMap<String, Vec<Position>> = HashMap::new();
    {
        let registry = lock(&app.live.registry);
        for position in batch {
            if let Some(entry) = registry.vehicles.get(&position.vehicle) {
                by_city
                    .entry(entry.city.clone())
                    .or_default()
                    .push(position.clone());
            }
        }
    }
    for (city, positions) in by_city {
        if let Err(error) = apply(app, &city, &positions).await {
            tracing::warn!(%error, city, "queued positions not applied");
        }
    }
}

/// Waits until the worker has applied every position the listener queued so far (tests and
/// the demo use it instead of sleeping). `false` when it took longer than `SETTLE_WAIT_MS`.
pub async fn settle(app: &App) -> bool {
    let wait = async {
        loop {
            let notified = app.live.applied_notify.notified();
            let queued = app.live.wialon.positions_queued.load(Ordering::SeqCst);
            if app.live.applied_from_queue.load(Ordering::SeqCst) >= queued {
                return;
            }
            notified.await;
        }
    };
    tokio::time::timeout(Duration::from_millis(SETTLE_WAIT_MS), wait)
        .await
        .is_ok()
}
