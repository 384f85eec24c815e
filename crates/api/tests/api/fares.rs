//! Fare capping and transfer windows as city data (issue 12), applied to card rides: Almaty's
//! demo rules — a ride on another route within 40 minutes of a full fare is free, and the
//! day's rides never cost more than 400 ₸ — priced on the ticket, booked in the ledger as paid,
//! and never slipped under by two rides at once.

use serde_json::Value;

use crate::cards::{HOLDER, card_ride, configure_bank, open_card, pay};
use crate::harness::{Db, TestApp, spawn};
use crate::on_both_stores;

/// A card ride that is sold: its ticket.
async fn ride(t: &TestApp, card: &str, vehicle: &str, key: &str) -> Value {
    let (status, ticket) = card_ride(t, card, vehicle, key).await;
    assert_eq!(status, 201, "{ticket}");
    ticket
}

fn priced(ticket: &Value) -> (String, String) {
    (
        ticket["fare"]["amount"].as_str().unwrap().to_owned(),
        ticket["fare_basis"].as_str().unwrap().to_owned(),
    )
}

fn is(amount: &str, basis: &str) -> (String, String) {
    (amount.to_owned(), basis.to_owned())
}

async fn card_rides_are_capped_and_transfers_are_free(db: Db) {
    let t = spawn(db).await;
    // Not across Almaty's midnight (UTC+5): the rules count the local day.
    let local_minute = (t.app.now_ms().div_euclid(60_000) + 5 * 60).rem_euclid(24 * 60);
    if local_minute > 24 * 60 - 15 {
        t.clock.advance_ms(20 * 60_000);
    }
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let card = open_card(&t, HOLDER).await;
    for txn in ["7001", "7002"] {
        assert!(
            pay(&t, txn, &card, "500")
                .await
                .contains("<result>0</result>")
        );
    }
    // Route 32 at full fare, then route 92 within the window: a free transfer, said on the
    // ticket; the transfer is used, so route 92 again is a full fare.
    assert_eq!(
        priced(&ride(&t, &card, "20032", "f1").await),
        is("80.00", "full")
    );
    t.clock.advance_ms(10 * 60_000);
    assert_eq!(
        priced(&ride(&t, &card, "20092", "f2").await),
        is("0.00", "transfer")
    );
    assert_eq!(
        priced(&ride(&t, &card, "20092", "f3").await),
        is("80.00", "full")
    );
    // The same route is never a transfer.
    assert_eq!(
        priced(&ride(&t, &card, "20092", "f4").await),
        is("80.00", "full")
    );
    // 240 ₸ spent; two rides at once: one pays 80 and one 80 more reaches 400 exactly — never
    // both under a cap they would cross together.
    let (a, b) = tokio::join!(
        ride(&t, &card, "20092", "f5"),
        ride(&t, &card, "20092", "f6")
    );
    let mut both = [priced(&a), priced(&b)];
    both.sort();
    assert_eq!(both, [is("80.00", "full"), is("80.00", "full")]);
    // At the cap: every further ride of the day is free, and says why.
    assert_eq!(
        priced(&ride(&t, &card, "20092", "f7").await),
        is("0.00", "capped")
    );
    // Route 32 within the window of the last full fare: free as a transfer, then as capped.
    assert_eq!(
        priced(&ride(&t, &card, "20032", "f8").await),
        is("0.00", "transfer")
    );
    assert_eq!(
        priced(&ride(&t, &card, "20032", "f9").await),
        is("0.00", "capped")
    );
    let (_, balance) = t.get_as(HOLDER, &format!("/v1/cards/{card}")).await;
    assert_eq!(balance["balance"]["amount"], "600.00", "{balance}");
    // A phone-balance ride knows no caps.
    let (status, phone) = t.ride(HOLDER, "20092", "f-phone", "en").await;
    assert_eq!(status, 201);
    assert_eq!(priced(&phone), is("80.00", "full"));
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    card_rides_are_capped_and_transfers_are_free,
    card_rides_are_capped_and_transfers_are_free
);

async fn the_day_stops_costing_at_the_cap(db: Db) {
    let t = spawn(db).await;
    let local_minute = (t.app.now_ms().div_euclid(60_000) + 5 * 60).rem_euclid(24 * 60);
    if local_minute > 24 * 60 - 15 {
        t.clock.advance_ms(20 * 60_000);
    }
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let card = open_card(&t, HOLDER).await;
    assert!(
        pay(&t, "7101", &card, "500")
            .await
            .contains("<result>0</result>")
    );
    let mut paid = Vec::new();
    for key in ["c1", "c2", "c3", "c4", "c5", "c6"] {
        paid.push(priced(&ride(&t, &card, "20032", key).await));
    }
    // 5 × 80 = 400: the fifth reaches the cap exactly, the sixth is free.
    assert_eq!(paid[4], is("80.00", "full"));
    assert_eq!(paid[5], is("0.00", "capped"));
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    the_day_stops_costing_at_the_cap,
    the_day_stops_costing_at_the_cap
);
