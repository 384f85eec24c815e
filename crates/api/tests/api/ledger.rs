//! The ledger's invariants under load (issue 10): many random rides with operator faults,
//! recovery passes, revocations and refunds keep every layer and every transfer balanced and every
//! account's balance equal to the sum of its entries; the write path itself refuses a transfer
//! that does not balance or that would overdraw a card's balance, and writes nothing then.

use domain::OperatorId;
use domain::Tenge;
use domain::catalogue::CarrierId;
use domain::ledger::{
    Account, AccountKind, CardAccountId, Layer, Movement, Transfer, TransferId, TransferKind,
};
use serde_json::Value;
use simulators::operator::{Endpoint, Fault, PaymentStatus};
use store::ledger::TransferRow;

use crate::harness::{Db, spawn};
use crate::on_both_stores;

/// splitmix64: the same seed gives the same steps.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

const PASSENGERS: [(&str, &str); 4] = [
    ("+77011234567", "kcell"),
    ("+77051234567", "beeline"),
    ("+77071234567", "tele2"),
    // Refused for an insufficient balance: rides that fail and void.
    ("+77010000006", "kcell"),
];

/// Faults that answer at once (no client timeout to wait for).
const FAULTS: [Option<(Endpoint, Fault)>; 9] = [
    None,
    None,
    Some((Endpoint::Prepare, Fault::LostReply)),
    Some((Endpoint::Prepare, Fault::Status(503))),
    Some((Endpoint::Confirm, Fault::LostReply)),
    Some((Endpoint::Confirm, Fault::Refuse)),
    Some((Endpoint::Confirm, Fault::Status(503))),
    Some((Endpoint::Cancel, Fault::Status(503))),
    Some((Endpoint::GetPayment, Fault::Status(503))),
];

const STEPS: usize = 80;

async fn random_rides_faults_revocations_and_refunds_keep_the_books(db: Db) {
    let t = spawn(db).await;
    let mut rng = Rng(10);
    // (check number, fare) of tickets issued and not revoked or refunded yet.
    let mut held: Vec<(String, i64)> = Vec::new();
    let (mut revoked_tiyn, mut revocations) = (0, 0);
    let (mut refunded_tiyn, mut refunds) = (0, 0);
    for step in 0..STEPS {
        match rng.below(11) {
            0..=6 => {
                let (phone, operator) = PASSENGERS[rng.below(4) as usize];
                let operator = OperatorId::parse(operator).unwrap();
                if let Some((endpoint, fault)) = FAULTS[rng.below(9) as usize] {
                    t.sim.inject(&operator, endpoint, fault, 1).unwrap();
                }
                let (status, body) = t.ride(phone, "10101", &format!("k{step}"), "en").await;
                if status == 201 || status == 200 {
                    held.push(ticket_fact(&body));
                }
            }
            7 if !held.is_empty() => {
                let (check, fare) = held.swap_remove(rng.below(held.len() as u64) as usize);
                service::revocations::revoke(
                    &t.app,
                    &service::staff::Actor::command_line(),
                    &check,
                    "sold in error",
                )
                .await
                .unwrap();
                revoked_tiyn += fare;
                revocations += 1;
            }
            // Refunded through the operator: now, or by a later recovery pass; either way the
            // fare is reversed once the operator says so.
            8 if !held.is_empty() => {
                let (check, fare) = held.swap_remove(rng.below(held.len() as u64) as usize);
                service::refunds::refund_ride(
                    &t.app,
                    &service::staff::Actor::command_line(),
                    &check,
                    "the bus broke down",
                )
                .await
                .unwrap();
                refunded_tiyn += fare;
                refunds += 1;
            }
            _ => {
                t.clock.advance_ms(service::recovery::RECOVERY_IDLE_MS);
                service::recovery::settle_unsettled(&t.app, service::recovery::RECOVERY_IDLE_MS)
                    .await
                    .unwrap();
            }
        }
        t.assert_ledger_balanced().await;
    }
    for op in simulators::demo::OPERATORS {
        t.sim.clear_faults(&OperatorId::parse(op).unwrap());
    }
    t.clock
        .advance_ms(service::phone_balance::COMPLETE_WINDOW_MS + 60_000);
    for _ in 0..5 {
        service::recovery::settle_unsettled(&t.app, 0)
            .await
            .unwrap();
    }
    t.assert_ledger_balanced().await;
    t.assert_nothing_charged_twice().await;

    let report = service::ledger::report(&t.app).await.unwrap();
    assert!(
        report.accounts.iter().all(|a| a.pending.tiyn() == 0),
        "a reservation is left pending: {report:?}"
    );
    let captured: i64 = t
        .sim
        .payments()
        .iter()
        .filter(|p| p.status == PaymentStatus::Succeeded)
        .map(|p| p.amount.tiyn())
        .sum();
    let owed_to_carriers: i64 = report
        .accounts
        .iter()
        .filter(|a| a.account.kind() == AccountKind::CarrierPayable)
        .map(|a| -a.posted.tiyn())
        .sum();
    assert!(
        revocations > 0 && refunds > 0 && captured > 0,
        "the seed exercises revocations and refunds"
    );
    assert_eq!(
        owed_to_carriers,
        captured - revoked_tiyn - refunded_tiyn,
        "carriers are owed the captured fares less the revoked and the refunded ones"
    );
    let mut conn = t.store.reader().await.unwrap();
    let kinds = store::ledger::count_by_kind(&mut conn).await.unwrap();
    assert!(
        kinds.contains(&("reversal".to_owned(), revocations + refunds)),
        "one reversal per revocation and per refund: {kinds:?}"
    );
    let refunded = t.sim.refunds();
    assert_eq!(
        refunded.len() as i64,
        refunds,
        "one operator refund per refund"
    );
}
on_both_stores!(
    random_rides_faults_revocations_and_refunds_keep_the_books,
    random_rides_faults_revocations_and_refunds_keep_the_books
);

fn ticket_fact(body: &Value) -> (String, i64) {
    (
        body["check_number"].as_str().unwrap().to_owned(),
        body["fare"]["tiyn"].as_i64().unwrap(),
    )
}

fn card() -> Account {
    Account::CardBalance(CardAccountId::parse("card-1").unwrap())
}

fn carrier() -> Account {
    Account::CarrierPayable(CarrierId::parse("astana-bus").unwrap())
}

fn row_of(transfer: &Transfer) -> TransferRow {
    service::ledger::transfer_row(transfer)
}

fn transfer(id: &str, movement: &Movement, layer: Layer) -> Transfer {
    let entries = match layer {
        Layer::Posted => movement.posted_entries().unwrap(),
        Layer::Pending => movement.reserve_entries().unwrap(),
    };
    Transfer::new(
        TransferId::parse(id).unwrap(),
        TransferKind::Adjustment,
        entries,
        1,
    )
    .unwrap()
}

async fn card_balance(t: &crate::harness::TestApp) -> Option<(i64, i64)> {
    let mut conn = t.store.reader().await.unwrap();
    store::ledger::account(&mut conn, "card_balance", "card-1")
        .await
        .unwrap()
        .map(|a| (a.pending_tiyn, a.posted_tiyn))
}

async fn write(t: &crate::harness::TestApp, row: &TransferRow) -> Result<(), store::StoreError> {
    let mut tx = t.store.begin().await.unwrap();
    store::ledger::write(&mut tx, row).await?;
    tx.commit().await.unwrap();
    Ok(())
}

async fn the_write_path_refuses_unbalanced_and_overdrawing_transfers(db: Db) {
    let t = spawn(db).await;
    // Money onto the card (a top-up, as the cards issue will book it): the carrier account
    // stands in for the other side.
    let top_up = Movement {
        debit: carrier(),
        credit: card(),
        amount: Tenge::from_tiyn(10_000),
    };
    write(&t, &row_of(&transfer("top-up-1", &top_up, Layer::Posted)))
        .await
        .unwrap();
    assert_eq!(card_balance(&t).await, Some((0, -10_000)));

    let spend = |tiyn| Movement {
        debit: card(),
        credit: carrier(),
        amount: Tenge::from_tiyn(tiyn),
    };
    // A reservation of 6 000, then a posting of 5 000 more: the card holds 10 000.
    write(
        &t,
        &row_of(&transfer("ride-1", &spend(6_000), Layer::Pending)),
    )
    .await
    .unwrap();
    let refused = write(
        &t,
        &row_of(&transfer("ride-2", &spend(5_000), Layer::Posted)),
    )
    .await;
    assert!(
        matches!(refused, Err(store::StoreError::Overdrawn { ref account_kind, .. }) if account_kind == "card_balance"),
        "{refused:?}"
    );
    assert_eq!(
        card_balance(&t).await,
        Some((6_000, -10_000)),
        "nothing written"
    );
    write(
        &t,
        &row_of(&transfer("ride-3", &spend(4_000), Layer::Posted)),
    )
    .await
    .unwrap();
    assert_eq!(
        card_balance(&t).await,
        Some((6_000, -6_000)),
        "exactly all of it"
    );

    // A card never written cannot be overdrawn by its first entry either.
    let other = Account::CardBalance(CardAccountId::parse("card-2").unwrap());
    let first = Movement {
        debit: other,
        credit: carrier(),
        amount: Tenge::from_tiyn(1),
    };
    assert!(matches!(
        write(&t, &row_of(&transfer("ride-4", &first, Layer::Posted))).await,
        Err(store::StoreError::Overdrawn { .. })
    ));

    // Unbalanced rows are refused before any SQL: the transfer id stays free.
    let mut unbalanced = row_of(&transfer("adj-1", &top_up, Layer::Posted));
    unbalanced.entries[0].amount_tiyn += 1;
    assert!(matches!(
        write(&t, &unbalanced).await,
        Err(store::StoreError::Unbalanced { .. })
    ));
    let mut across_layers = row_of(&transfer("adj-1", &top_up, Layer::Posted));
    across_layers.entries[0].layer = "pending".into();
    assert!(matches!(
        write(&t, &across_layers).await,
        Err(store::StoreError::Unbalanced { .. })
    ));
    let mut empty = row_of(&transfer("adj-1", &top_up, Layer::Posted));
    empty.entries.clear();
    assert!(matches!(
        write(&t, &empty).await,
        Err(store::StoreError::Unbalanced { .. })
    ));
    // A transfer id is booked once.
    assert!(
        write(&t, &row_of(&transfer("top-up-1", &top_up, Layer::Posted)))
            .await
            .is_err()
    );
    assert_eq!(card_balance(&t).await, Some((6_000, -6_000)));
    t.assert_ledger_balanced().await;
}
on_both_stores!(
    the_write_path_refuses_unbalanced_and_overdrawing_transfers,
    the_write_path_refuses_unbalanced_and_overdrawing_transfers
);
