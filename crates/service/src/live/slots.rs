//! A cap on connections held open at once, overall and per client address: the Wialon IPS
//! listener's tracker connections and the live stream's subscribers both take a slot for as
//! long as they stay open. A slot is given back when it is dropped, however the connection
//! ends, so a crashed client cannot leak one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::lock;

/// The two caps of one kind of connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotLimits {
    pub total_max: usize,
    pub per_address_max: usize,
}

/// Why no slot was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotRefusal {
    /// Every slot is taken.
    Full,
    /// This address holds its share already.
    AddressFull,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// The connections open now, counted against changeable limits.
#[derive(Debug)]
pub struct SlotTable {
    limits: Mutex<SlotLimits>,
    open: Mutex<Open>,
}

/// One open connection's place; given back on drop.
#[derive(Debug)]
pub struct Slot {
    table: Arc<SlotTable>,
    address: Option<IpAddr>,
}

impl SlotTable {
    pub fn new(limits: SlotLimits) -> Arc<SlotTable> {
        Arc::new(SlotTable {
            limits: Mutex::new(limits),
            open: Mutex::new(Open::default()),
        })
    }

    pub fn limits(&self) -> SlotLimits {
        *lock(&self.limits)
    }

    /// New limits apply to the next slot asked for; open ones stay.
    pub fn set_limits(&self, limits: SlotLimits) {
        *lock(&self.limits) = limits;
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        lock(&self.open).total
    }

    /// A slot for a connection from `address` (unknown: counted overall only).
    pub fn take(self: &Arc<Self>, address: Option<IpAddr>) -> Result<Slot, SlotRefusal> {
        let limits = self.limits();
        let mut open = lock(&self.open);
        if open.total >= limits.total_max {
            return Err(SlotRefusal::Full);
        }
        if let Some(address) = address {
            let held = open.by_address.entry(address).or_insert(0);
            if *held >= limits.per_address_max {
                return Err(SlotRefusal::AddressFull);
            }
            *held += 1;
        }
        open.total += 1;
        Ok(Slot {
            table: Arc::clone(self),
            address,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = lock(&self.table.open);
        open.total = open.total.saturating_sub(1);
        if let Some(address) = self.address {
            let emptied = open.by_address.get_mut(&address).is_some_and(|held| {
                *held = held.saturating_sub(1);
                *held == 0
            });
            if emptied {
                open.by_address.remove(&address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn slots_are_capped_overall_and_per_address_and_come_back_when_dropped() {
        let table = SlotTable::new(SlotLimits {
            total_max: 3,
            per_address_max: 2,
        });
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = table.take(Some(a)).unwrap();
        let _second = table.take(Some(a)).unwrap();
        assert_eq!(table.take(Some(a)).unwrap_err(), SlotRefusal::AddressFull);
        let _third = table.take(Some(b)).unwrap();
        assert_eq!(table.take(Some(b)).unwrap_err(), SlotRefusal::Full);
        assert_eq!(table.take(None).unwrap_err(), SlotRefusal::Full);
        drop(first);
        assert_eq!(table.open(), 2);
        let _again = table.take(Some(a)).unwrap();
        assert_eq!(table.open(), 3);
    }
}
