//! Refunds in the simulation: staff refund a random issued ride — a phone-balance ride through
//! the operator's CAMARA refund, with the same faults and crash points as rides — and the
//! checker holds the books to it: a payment is refunded at the operator at most once, a ticket
//! is REFUNDED exactly when its payment was refunded there, no refund request stays open, and
//! what a number paid is its tickets still valid.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use domain::ride::RideId;
use simulators::operator::RefundStatus;

use super::{World, crashable};

/// What the operator refunded, per payment id.
pub(super) fn refunded_by_payment(world: &World) -> HashMap<String, Vec<i64>> {
    let mut refunded: HashMap<String, Vec<i64>> = HashMap::new();
    for refund in world.sim.refunds() {
        if refund.status == RefundStatus::Succeeded {
            refunded
                .entry(refund.payment_id.clone())
                .or_default()
                .push(refund.amount.tiyn());
        }
    }
    refunded
}

impl World {
    /// Staff refund one issued ride, picked by the seed (nothing when none is issued yet).
    pub(super) async fn refund_one(&mut self, number: u64) -> anyhow::Result<()> {
        let mut issued = Vec::new();
        {
            let mut conn = self.store.store.reader().await?;
            for sent in &self.sent {
                if let Some(row) = store::rides::by_key(&mut conn, &sent.scope, &sent.key).await?
                    && let Some(ticket) = store::tickets::by_ride(&mut conn, &row.ride.id).await?
                    && ticket.status == "valid"
                {
                    issued.push(ticket.number);
                }
            }
        }
        let Some(&ticket) = self.rng.pick(&issued) else {
            self.log(format!("#{number} refund: no ticket to refund"));
            return Ok(());
        };
        let check = ticket.check_form();
        self.log(format!("#{number} refund ticket {check}"));
        self.inject_faults()?;
        let polls = self.maybe_crash();
        let app = Arc::clone(&self.app);
        let switch = Arc::clone(&self.partners.switch);
        let actor = service::staff::Actor::command_line();
        let outcome = crashable(
            &switch,
            polls,
            service::refunds::refund_ride(&app, &actor, &check, "simulated refund"),
        )
        .await;
        self.partners.switch.disarm();
        match outcome {
            Some(Ok(refunded)) => self.log(format!("  → {:?}", refunded.state)),
            Some(Err(error)) => self.log(format!("  → refund refused {}", error.code.code())),
            None => {
                self.log("  → CRASH".into());
                self.restart().await?;
            }
        }
        Ok(())
    }
}

/// The refund invariants after the run has settled; `tickets` maps each ride id to its
/// (ticket status, operator payment id).
pub(super) async fn check(
    world: &World,
    tickets: &BTreeMap<RideId, (String, Option<String>)>,
    violations: &mut Vec<String>,
) -> anyhow::Result<()> {
    let refunded = refunded_by_payment(world);
    let mut conn = world.store.store.reader().await?;
    for (ride, (status, payment)) in tickets {
        let at_operator = payment
            .as_ref()
            .and_then(|p| refunded.get(p))
            .map_or(0, Vec::len);
        if at_operator > 1 {
            violations.push(format!("ride {ride}: refunded {at_operator} times"));
        }
        let request = store::refunds::by_ride(&mut conn, ride).await?;
        if let Some(request) = &request
            && matches!(request.status.as_str(), "requested" | "processing")
        {
            violations.push(format!("ride {ride}: refund still {}", request.status));
        }
        let phone_ride = request.is_some() || at_operator > 0;
        if phone_ride && (status == "refunded") != (at_operator == 1) {
            violations.push(format!(
                "ride {ride}: ticket {status}, refunded {at_operator} times at the operator"
            ));
        }
    }
    Ok(())
}
