//! Lets a retry of a request that is still in flight wait for the first one to finish, instead
//! of answering "in progress" at once. One watch channel per ride in flight; no polling.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

#[derive(Default)]
pub(crate) struct Waiters {
    rides: Mutex<HashMap<String, watch::Sender<bool>>>,
}

impl Waiters {
    /// A receiver that changes when `ride_id` settles. Subscribe before re-reading the ride so a
    /// settlement in between is not missed.
    pub(crate) fn subscribe(&self, ride_id: &str) -> watch::Receiver<bool> {
        let mut rides = self.rides.lock().unwrap_or_else(|p| p.into_inner());
        rides
            .entry(ride_id.to_owned())
            .or_insert_with(|| watch::channel(false).0)
            .subscribe()
    }

    pub(crate) fn settled(&self, ride_id: &str) {
        let sender = self
            .rides
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(ride_id);
        if let Some(sender) = sender {
            sender.send_replace(true);
        }
    }

    pub(crate) async fn wait(mut receiver: watch::Receiver<bool>, timeout: Duration) {
        let settled = async {
            while !*receiver.borrow_and_update() {
                if receiver.changed().await.is_err() {
                    return;
                }
            }
        };
        let _elapsed = tokio::time::timeout(timeout, settled).await;
    }
}
