//! Lets a retry of a request that is still in flight wait for the first one to finish, instead
//! of answering "in progress" at once. One watch channel per ride waited for; no polling. A
//! ride's channel lives while a retry waits for it: it goes when the ride settles, or when its
//! last waiter leaves (a retry of a ride already settled, or one that stopped waiting), so the
//! table holds only rides somebody waits for now.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use domain::ride::RideId;
use tokio::sync::watch;

#[derive(Default)]
pub(crate) struct Waiters {
    rides: Mutex<HashMap<RideId, watch::Sender<bool>>>,
}

/// One retry's wait for a ride; leaving it (dropping it) forgets the ride's channel when
/// nobody else waits for it.
pub(crate) struct Subscription<'a> {
    waiters: &'a Waiters,
    ride_id: RideId,
    receiver: watch::Receiver<bool>,
}

impl Waiters {
    /// A wait that ends when `ride_id` settles. Subscribe before re-reading the ride so a
    /// settlement in between is not missed.
    pub(crate) fn subscribe(&self, ride_id: &RideId) -> Subscription<'_> {
        let mut rides = self.rides.lock().unwrap_or_else(PoisonError::into_inner);
        let receiver = rides
            .entry(ride_id.clone())
            .or_insert_with(|| watch::channel(false).0)
            .subscribe();
        Subscription {
            waiters: self,
            ride_id: ride_id.clone(),
            receiver,
        }
    }

    pub(crate) fn settled(&self, ride_id: &RideId) {
        let sender = self
            .rides
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(ride_id);
        if let Some(sender) = sender {
            sender.send_replace(true);
        }
    }

    /// Rides somebody waits for now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.rides
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Subscription<'_> {
    /// Until the ride settles, at most `timeout`.
    pub(crate) async fn wait(&mut self, timeout: Duration) {
        let receiver = &mut self.receiver;
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

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        let mut rides = self
            .waiters
            .rides
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only this ride's channel as this wait knew it (not a later one under the same id),
        // and only when this receiver and the probe are all that is left of it.
        let last = rides.get(&self.ride_id).is_some_and(|sender| {
            let probe = sender.subscribe();
            probe.same_channel(&self.receiver) && sender.receiver_count() <= 2
        });
        if last {
            rides.remove(&self.ride_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ride_is_forgotten_when_it_settles_or_its_last_waiter_leaves() {
        let ride = |digit: u8| RideId::new(1, [digit; 8]);
        let (a, b, c) = (ride(0xa), ride(0xb), ride(0xc));
        let waiters = Waiters::default();
        // A retry of a ride already settled: it subscribes, reads the answer, leaves.
        drop(waiters.subscribe(&a));
        assert_eq!(waiters.len(), 0);

        let first = waiters.subscribe(&b);
        let second = waiters.subscribe(&b);
        drop(first);
        assert_eq!(waiters.len(), 1, "the second retry still waits");
        drop(second);
        assert_eq!(waiters.len(), 0);

        let mut waiting = waiters.subscribe(&c);
        waiters.settled(&c);
        assert_eq!(waiters.len(), 0);
        assert!(*waiting.receiver.borrow_and_update(), "the waiter is told");
        drop(waiting);
        assert_eq!(waiters.len(), 0);
    }
}
