//! Fare capping and transfer windows: a city's rules, as data, that lower a card ride's fare
//! from what the passenger already paid that day.
//!
//! - **Transfer**: a ride on another route within `window_minutes` of a full-fare ride costs
//!   the transfer fare (often nothing) — one transfer per full-fare ride.
//! - **Daily cap**: the card's rides of one local day never cost more than the cap in all; a
//!   ride that would cross it costs what is left, and the rides after it are free.
//!
//! Both only ever lower a fare; what they apply to is decided by [`apply`] from the card's
//! rides of the day (refunded and failed ones left out by the caller), so a quote and the
//! ride itself agree when nothing happened in between.

use crate::Tenge;
use crate::catalogue::RiderCategory;

/// Why a ride costs what it costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FareBasis {
    /// The route's fare for the rider's category.
    Full,
    /// A transfer within the window after a full-fare ride.
    Transfer,
    /// Lowered (maybe to nothing) by the daily cap.
    Capped,
}

impl FareBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            FareBasis::Full => "full",
            FareBasis::Transfer => "transfer",
            FareBasis::Capped => "capped",
        }
    }

    /// A stored basis; rows written before fare rules existed (`None`) were full fares.
    pub fn parse(text: Option<&str>) -> Option<FareBasis> {
        match text {
            None | Some("full") => Some(FareBasis::Full),
            Some("transfer") => Some(FareBasis::Transfer),
            Some("capped") => Some(FareBasis::Capped),
            Some(_) => None,
        }
    }
}

/// A daily cap, for one rider category or (`None`) for every category without its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyCap {
    pub rider_category: Option<RiderCategory>,
    pub amount: Tenge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferRule {
    /// Minutes after a full-fare ride's purchase during which a ride on another route is a transfer.
    pub window_minutes: u32,
    /// What a transfer ride costs (never more than its own full fare).
    pub amount: Tenge,
}

/// A city's fare rules beyond the fare table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FarePolicy {
    pub daily_caps: Vec<DailyCap>,
    pub transfer: Option<TransferRule>,
}

/// One of the card's rides of the day, as the rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaidRide {
    pub at_ms: i64,
    pub route_id: String,
    pub amount: Tenge,
    pub basis: FareBasis,
}

/// The fare after the rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub amount: Tenge,
    pub basis: FareBasis,
    /// The fare before the rules.
    pub full: Tenge,
    /// What the rides of the day cost so far, and the cap that applies (if any).
    pub spent_today: Tenge,
    pub cap: Option<Tenge>,
}

impl FarePolicy {
    pub fn is_empty(&self) -> bool {
        self.daily_caps.is_empty() && self.transfer.is_none()
    }

    /// The cap of this category: its own, else the one for every category.
    pub fn cap_for(&self, category: RiderCategory) -> Option<Tenge> {
        self.daily_caps
            .iter()
            .find(|c| c.rider_category == Some(category))
            .or_else(|| self.daily_caps.iter().find(|c| c.rider_category.is_none()))
            .map(|c| c.amount)
    }
}

/// The fare of a ride on `route_id` at `now_ms` whose full fare is `full`, given the card's
/// rides since the start of the local day (`today`, any order).
pub fn apply(
    policy: &FarePolicy,
    category: RiderCategory,
    full: Tenge,
    route_id: &str,
    now_ms: i64,
    today: &[PaidRide],
) -> Applied {
    let spent: i64 = today.iter().map(|r| r.amount.tiyn()).sum();
    let mut amount = full.tiyn();
    let mut basis = FareBasis::Full;
    if let Some(rule) = policy.transfer {
        let window_ms = i64::from(rule.window_minutes) * 60_000;
        let mut by_time: Vec<&PaidRide> = today.iter().filter(|r| r.at_ms <= now_ms).collect();
        by_time.sort_by_key(|r| r.at_ms);
        // The last full-fare ride, if no transfer was taken from it yet.
        let position = by_time.iter().rposition(|r| r.basis == FareBasis::Full);
        if let Some(position) = position
            && let (Some(last_full), Some(after)) =
                (by_time.get(position), by_time.get(position + 1..))
        {
            let taken = after.iter().any(|r| r.basis == FareBasis::Transfer);
            if !taken
                && last_full.route_id != route_id
                && now_ms - last_full.at_ms <= window_ms
                && rule.amount.tiyn() < amount
            {
                amount = rule.amount.tiyn().max(0);
                basis = FareBasis::Transfer;
            }
        }
    }
    let cap = policy.cap_for(category);
    if let Some(cap) = cap {
        let left = (cap.tiyn() - spent).max(0);
        if left < amount {
            amount = left;
            basis = FareBasis::Capped;
        }
    }
    Applied {
        amount: Tenge::from_tiyn(amount),
        basis,
        full,
        spent_today: Tenge::from_tiyn(spent),
        cap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn tenge(t: i64) -> Tenge {
        Tenge::from_tiyn(t * 100)
    }

    fn policy(cap: Option<i64>, transfer: Option<(u32, i64)>) -> FarePolicy {
        FarePolicy {
            daily_caps: cap
                .map(|c| DailyCap {
                    rider_category: None,
                    amount: tenge(c),
                })
                .into_iter()
                .collect(),
            transfer: transfer.map(|(window_minutes, amount)| TransferRule {
                window_minutes,
                amount: tenge(amount),
            }),
        }
    }

    fn ride(at_min: i64, route: &str, amount: i64, basis: FareBasis) -> PaidRide {
        PaidRide {
            at_ms: at_min * MIN,
            route_id: route.into(),
            amount: tenge(amount),
            basis,
        }
    }

    fn fare(p: &FarePolicy, route: &str, at_min: i64, today: &[PaidRide]) -> (i64, FareBasis) {
        let a = apply(
            p,
            RiderCategory::Regular,
            tenge(90),
            route,
            at_min * MIN,
            today,
        );
        (a.amount.tiyn() / 100, a.basis)
    }

    #[test]
    fn no_rules_change_nothing() {
        let p = FarePolicy::default();
        assert!(p.is_empty());
        let today = [ride(0, "a", 90, FareBasis::Full)];
        assert_eq!(fare(&p, "b", 5, &today), (90, FareBasis::Full));
    }

    #[test]
    fn one_transfer_per_full_fare_within_the_window_on_another_route() {
        let p = policy(None, Some((40, 0)));
        let first = ride(0, "a", 90, FareBasis::Full);
        assert_eq!(
            fare(&p, "b", 39, std::slice::from_ref(&first)),
            (0, FareBasis::Transfer)
        );
        assert_eq!(
            fare(&p, "b", 40, std::slice::from_ref(&first)),
            (0, FareBasis::Transfer)
        );
        // Too late, the same route, or a transfer already taken: full fare.
        assert_eq!(
            fare(&p, "b", 41, std::slice::from_ref(&first)),
            (90, FareBasis::Full)
        );
        assert_eq!(
            fare(&p, "a", 10, std::slice::from_ref(&first)),
            (90, FareBasis::Full)
        );
        let taken = [first.clone(), ride(10, "b", 0, FareBasis::Transfer)];
        assert_eq!(fare(&p, "c", 20, &taken), (90, FareBasis::Full));
        // A new full fare opens a new window.
        let again = [
            first,
            ride(10, "b", 0, FareBasis::Transfer),
            ride(30, "c", 90, FareBasis::Full),
        ];
        assert_eq!(fare(&p, "a", 50, &again), (0, FareBasis::Transfer));
        // A transfer fare above the route's own fare changes nothing.
        let dear = policy(None, Some((40, 120)));
        assert_eq!(
            fare(&dear, "b", 5, &[ride(0, "a", 90, FareBasis::Full)]),
            (90, FareBasis::Full)
        );
    }

    #[test]
    fn the_daily_cap_charges_what_is_left_then_nothing() {
        let p = policy(Some(200), None);
        let mut today = vec![];
        let mut paid = vec![];
        for minute in 0..4 {
            let (amount, basis) = fare(&p, "a", minute * 60, &today);
            paid.push((amount, basis));
            today.push(ride(minute * 60, "a", amount, basis));
        }
        assert_eq!(
            paid,
            [
                (90, FareBasis::Full),
                (90, FareBasis::Full),
                (20, FareBasis::Capped),
                (0, FareBasis::Capped)
            ]
        );
        let spent: i64 = today.iter().map(|r| r.amount.tiyn()).sum();
        assert_eq!(spent, 20_000);
    }

    #[test]
    fn a_category_has_its_own_cap_else_the_common_one() {
        let mut p = policy(Some(300), None);
        p.daily_caps.push(DailyCap {
            rider_category: Some(RiderCategory::Student),
            amount: tenge(100),
        });
        assert_eq!(p.cap_for(RiderCategory::Student), Some(tenge(100)));
        assert_eq!(p.cap_for(RiderCategory::Pensioner), Some(tenge(300)));
        let a = apply(
            &p,
            RiderCategory::Student,
            tenge(45),
            "a",
            0,
            &[
                ride(0, "a", 45, FareBasis::Full),
                ride(1, "a", 45, FareBasis::Full),
            ],
        );
        assert_eq!((a.amount, a.basis), (tenge(10), FareBasis::Capped));
    }

    #[test]
    fn a_transfer_counts_towards_the_cap_and_never_raises_a_fare() {
        let p = policy(Some(100), Some((40, 20)));
        let today = [ride(0, "a", 90, FareBasis::Full)];
        assert_eq!(fare(&p, "b", 10, &today), (10, FareBasis::Capped));
        for basis in [FareBasis::Full, FareBasis::Transfer, FareBasis::Capped] {
            assert_eq!(FareBasis::parse(Some(basis.as_str())), Some(basis));
        }
        assert_eq!(FareBasis::parse(None), Some(FareBasis::Full));
        assert_eq!(FareBasis::parse(Some("x")), None);
    }
}
