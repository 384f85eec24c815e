//! A busy operator (issue 9's soak): a ride in doubt whose payment a listing cannot reach is
//! asked for again by its clientCorrelator, never charged twice.

use simulators::operator::{Endpoint, Fault};

use crate::harness::{Db, spawn};
use crate::on_both_stores;

const GOOD: &str = "+77011234567";

fn kcell() -> domain::OperatorId {
    domain::OperatorId::parse("kcell").unwrap()
}

fn captured(t: &crate::harness::TestApp, phone: &str) -> i64 {
    t.sim
        .captured_total(&domain::PhoneNumber::parse(phone).unwrap())
        .tiyn()
}

/// A busy operator: a ride in doubt whose payment the listing cannot reach (here every listing
/// fails, as a window holding more payments than the page limit does) is asked for again with
/// the same clientCorrelator once it is a minute old; the operator answers with the payment its
/// lost reply made, and the ride is settled with one charge.
async fn a_ride_the_listing_cannot_find_is_asked_again_with_its_correlator(db: Db) {
    let t = spawn(db).await;
    t.sim
        .inject(&kcell(), Endpoint::Prepare, Fault::LostReply, 1)
        .unwrap();
    t.sim
        .inject(&kcell(), Endpoint::ListPayments, Fault::Status(503), 1_000)
        .unwrap();
    let (status, pending) = t.ride(GOOD, "10101", "busy-1", "en").await;
    assert_eq!(status, 202, "{pending}");
    service::recovery::settle_unsettled(&t.app, 0)
        .await
        .unwrap();
    // Not a minute old yet: left in doubt, nothing captured.
    assert_eq!(captured(&t, GOOD), 0);
    t.clock
        .advance_ms(service::phone_balance::PREPARE_SETTLE_MS + 1_000);
    service::recovery::settle_unsettled(&t.app, 0)
        .await
        .unwrap();
    assert_eq!(captured(&t, GOOD), 9_000);
    let ride_id = pending["ride_id"].as_str().unwrap();
    let made: Vec<_> = t
        .sim
        .payments()
        .into_iter()
        .filter(|p| p.client_correlator.as_deref() == Some(ride_id))
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    t.sim.clear_faults(&kcell());
    let (status, ride) = t.get_as(GOOD, &format!("/v1/rides/{ride_id}")).await;
    assert_eq!(status, 200, "{ride}");
    t.assert_nothing_charged_twice().await;
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    a_ride_the_listing_cannot_find_is_asked_again_with_its_correlator,
    a_ride_the_listing_cannot_find_is_asked_again_with_its_correlator
);
