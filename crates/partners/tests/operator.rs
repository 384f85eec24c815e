//! The CAMARA client against the operator simulator over real HTTP on 127.0.0.1: the two-step
//! flow, every refusal reason, SIM swap, retries and every injected fault. No test sleeps: a
//! hanging operator is ended by the client's own short timeout.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "helpers of a test fail it loudly"
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use domain::{OperatorId, PhoneNumber, Tenge};
use partners::operator::{
    CamaraClient, CarrierBilling, DenialReason, FIND_PER_PAGE, OperatorEndpoint, OperatorError,
    OperatorPaymentId, PaymentRequest, PaymentStatus, SimSwap,
};
use simulators::operator::{
    CorrelatorReplay, Endpoint, Fault, OperatorSettings, OperatorSimulator, SettleReply,
    SimulatorHandle, Subscriber,
};

const NOW_UNIX_S: i64 = 1_750_000_000;
const HOUR_S: i64 = 3600;
/// The client timeout of the tests that make the operator hang: long enough for a loaded
/// machine to answer every normal request, short enough to keep the suite quick.
const SHORT_TIMEOUT_MS: u64 = 1_000;
const FARE: Tenge = Tenge::from_tiyn(9_050);

struct World {
    sim: SimulatorHandle,
    client: CamaraClient,
    beeline: OperatorId,
    kcell: OperatorId,
}

fn op(id: &str) -> OperatorId {
    OperatorId::parse(id).unwrap()
}

fn phone(text: &str) -> PhoneNumber {
    PhoneNumber::parse(text).unwrap()
}

async fn world() -> World {
    world_with(
        Duration::from_secs(5),
        OperatorSettings::new("beeline-token"),
    )
    .await
}

/// A simulator with beeline (given settings) and kcell, and a client for both.
async fn world_with(timeout: Duration, beeline_settings: OperatorSettings) -> World {
    let sim = OperatorSimulator::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    sim.set_now(NOW_UNIX_S);
    let (beeline, kcell) = (op("beeline"), op("kcell"));
    let token = beeline_settings.access_token.clone();
    sim.add_operator(beeline.clone(), beeline_settings);
    sim.add_operator(kcell.clone(), OperatorSettings::new("kcell-token"));
    let endpoints = HashMap::from([
        (
            beeline.clone(),
            OperatorEndpoint {
                base_url: sim.base_url(&beeline),
                credentials: partners::operator::oauth::Credentials::Bearer(token),
            },
        ),
        (
            kcell.clone(),
            OperatorEndpoint {
                base_url: sim.base_url(&kcell),
                credentials: partners::operator::oauth::Credentials::Bearer(
                    "kcell-token".to_owned(),
                ),
            },
        ),
    ]);
    let client = CamaraClient::new(endpoints, timeout).unwrap();
    World {
        sim,
        client,
        beeline,
        kcell,
    }
}

impl World {
    fn subscriber(&self, number: &str, balance: Tenge) -> PhoneNumber {
        let phone = phone(number);
        self.sim
            .add_subscriber(Subscriber::new(
                phone.clone(),
                self.beeline.clone(),
                balance,
            ))
            .unwrap();
        phone
    }

    fn with(&self, number: &str, change: impl FnOnce(&mut Subscriber)) -> PhoneNumber {
        let phone = self.subscriber(number, Tenge::from_whole(1_000));
        assert!(self.sim.update_subscriber(&phone, change));
        phone
    }
}

fn ride(correlator: &str, phone: &PhoneNumber, amount: Tenge) -> PaymentRequest {
    PaymentRequest {
        client_correlator: correlator.to_owned(),
        phone: phone.clone(),
        amount,
        description: "Bus ride, route 10, Astana".to_owned(),
        merchant_id: "smsbus".to_owned(),
    }
}

#[tokio::test]
async fn two_step_payment_reserves_then_captures_exact_amount() {
    let w = world().await;
    let passenger = w.subscriber("+77051112233", Tenge::from_tiyn(100_000));
    let reserved = w
        .client
        .prepare(&w.beeline, &ride("ride-1", &passenger, FARE))
        .await
        .unwrap();
    assert_eq!(reserved.status, PaymentStatus::Reserved);
    assert_eq!(reserved.amount, FARE);
    assert_eq!(reserved.client_correlator.as_deref(), Some("ride-1"));
    assert_eq!(w.sim.held(&passenger), FARE);
    assert_eq!(w.sim.balance(&passenger), Some(Tenge::from_tiyn(100_000)));

    let confirmed = w.client.confirm(&w.beeline, &reserved.id).await.unwrap();
    assert_eq!(
        (confirmed.status, confirmed.amount),
        (PaymentStatus::Succeeded, FARE)
    );
    assert_eq!(
        w.sim.balance(&passenger),
        Some(Tenge::from_tiyn(100_000 - 9_050))
    );
    assert_eq!(w.sim.captured_total(&passenger), FARE);
    assert_eq!(w.sim.held(&passenger), Tenge::ZERO);
    let read = w.client.get(&w.beeline, &reserved.id).await.unwrap();
    assert_eq!(
        (read.id, read.status),
        (reserved.id, PaymentStatus::Succeeded)
    );
}

#[tokio::test]
async fn large_and_odd_amounts_travel_exactly() {
    let w = world().await;
    let passenger = w.subscriber("+77051112234", Tenge::from_tiyn(200_000_000));
    for (number, tiyn) in [(1, 1), (2, 10), (3, 99_999_999), (4, 12_345_678)] {
        let amount = Tenge::from_tiyn(tiyn);
        let payment = w
            .client
            .prepare(
                &w.beeline,
                &ride(&format!("odd-{number}"), &passenger, amount),
            )
            .await
            .unwrap();
        assert_eq!(payment.amount, amount);
        w.client.confirm(&w.beeline, &payment.id).await.unwrap();
    }
    assert_eq!(
        w.sim.captured_total(&passenger),
        Tenge::from_tiyn(1 + 10 + 99_999_999 + 12_345_678)
    );
    assert_eq!(
        w.sim.balance(&passenger),
        Some(Tenge::from_tiyn(
            200_000_000 - 1 - 10 - 99_999_999 - 12_345_678
        ))
    );
}

#[tokio::test]
async fn cancel_releases_the_reservation_and_late_calls_report_the_state() {
    let w = world().await;
    let passenger = w.subscriber("+77051112235", Tenge::from_whole(500));
    let reserved = w
        .client
        .prepare(&w.beeline, &ride("ride-c", &passenger, FARE))
        .await
        .unwrap();
    let cancelled = w.client.cancel(&w.beeline, &reserved.id).await.unwrap();
    assert_eq!(cancelled.status, PaymentStatus::Cancelled);
    assert_eq!(w.sim.held(&passenger), Tenge::ZERO);
    // A second cancel and a confirm after the cancel both say what the payment is: cancelled.
    assert_eq!(
        w.client
            .cancel(&w.beeline, &reserved.id)
            .await
            .unwrap()
            .status,
        PaymentStatus::Cancelled
    );
    assert_eq!(
        w.client
            .confirm(&w.beeline, &reserved.id)
            .await
            .unwrap()
            .status,
        PaymentStatus::Cancelled
    );
    assert_eq!(w.sim.captured_total(&passenger), Tenge::ZERO);
    assert_eq!(w.sim.balance(&passenger), Some(Tenge::from_whole(500)));
}

#[tokio::test]
async fn each_refusal_reason_is_its_own_denial_and_charges_nothing() {
    let w = world().await;
    let cases: Vec<(PhoneNumber, DenialReason)> = vec![
        (
            w.with("+77050000001", |s| s.corporate = true),
            DenialReason::CorporateNumber,
        ),
        (
            w.with("+77050000002", |s| s.unpaid_trust_payment = true),
            DenialReason::UnpaidTrustPayment,
        ),
        (
            w.with("+77050000003", |s| s.topped_up_since_purchase = false),
            DenialReason::NeverToppedUp,
        ),
        (
            w.with("+77050000004", |s| {
                s.balance = Tenge::from_whole(100);
                s.starting_balance = Tenge::from_whole(50);
            }),
            DenialReason::StartingBalanceOnly,
        ),
        (
            w.with("+77050000005", |s| {
                s.last_sim_swap_unix_s = Some(NOW_UNIX_S - 23 * HOUR_S)
            }),
            DenialReason::SimSwappedRecently,
        ),
        (
            w.with("+77050000006", |s| s.balance = Tenge::from_tiyn(9_049)),
            DenialReason::InsufficientBalance,
        ),
    ];
    for (index, (passenger, reason)) in cases.iter().enumerate() {
        let outcome = w
            .client
            .prepare(
                &w.beeline,
                &ride(&format!("refused-{index}"), passenger, FARE),
            )
            .await;
        match outcome {
            Err(OperatorError::Denied(got)) => assert_eq!(&got, reason),
            other => panic!("{reason:?}: expected a denial, got {other:?}"),
        }
        assert_eq!(w.sim.held(passenger), Tenge::ZERO);
        assert_eq!(w.sim.captured_total(passenger), Tenge::ZERO);
    }
    assert!(
        w.sim.payments().is_empty(),
        "a refused payment is never created"
    );

    // The same numbers pass once the cause is gone: a SIM swap 25 hours ago no longer blocks.
    let swapped = &cases.get(4).unwrap().0;
    w.sim.set_now(NOW_UNIX_S + 2 * HOUR_S);
    let paid = w
        .client
        .prepare(&w.beeline, &ride("after-swap", swapped, FARE))
        .await
        .unwrap();
    assert_eq!(paid.status, PaymentStatus::Reserved);
}

#[tokio::test]
async fn starting_balance_counts_reservations_already_held() {
    let w = world().await;
    let passenger = w.with("+77050000011", |s| {
        s.balance = Tenge::from_whole(200);
        s.starting_balance = Tenge::from_whole(50);
    });
    // 150 spendable: 90.50 passes, a second 90.50 does not (59.50 spendable left) though 109.50 is on the account.
    w.client
        .prepare(&w.beeline, &ride("sb-1", &passenger, FARE))
        .await
        .unwrap();
    let second = w
        .client
        .prepare(&w.beeline, &ride("sb-2", &passenger, FARE))
        .await;
    assert!(
        matches!(
            second,
            Err(OperatorError::Denied(DenialReason::StartingBalanceOnly))
        ),
        "{second:?}"
    );
    let third = w
        .client
        .prepare(
            &w.beeline,
            &ride("sb-3", &passenger, Tenge::from_whole(110)),
        )
        .await;
    assert!(
        matches!(
            third,
            Err(OperatorError::Denied(DenialReason::InsufficientBalance))
        ),
        "{third:?}"
    );
}

#[tokio::test]
async fn a_number_the_operator_does_not_serve_is_refused() {
    let w = world().await;
    let stranger = phone("+77079998877");
    let outcome = w
        .client
        .prepare(&w.beeline, &ride("stranger", &stranger, FARE))
        .await;
    assert!(
        matches!(
            &outcome,
            Err(OperatorError::Denied(DenialReason::NumberUnknown))
        ),
        "{outcome:?}"
    );
    let kcell_subscriber = phone("+77019998877");
    w.sim
        .add_subscriber(Subscriber::new(
            kcell_subscriber.clone(),
            w.kcell.clone(),
            Tenge::from_whole(500),
        ))
        .unwrap();
    let at_beeline = w
        .client
        .prepare(&w.beeline, &ride("wrong-operator", &kcell_subscriber, FARE))
        .await;
    assert!(
        matches!(
            at_beeline,
            Err(OperatorError::Denied(DenialReason::NumberUnknown))
        ),
        "{at_beeline:?}"
    );
    let at_kcell = w
        .client
        .prepare(&w.kcell, &ride("right-operator", &kcell_subscriber, FARE))
        .await
        .unwrap();
    assert_eq!(at_kcell.status, PaymentStatus::Reserved);
    let swap = w.client.swapped_within(&w.beeline, &stranger, 24).await;
    assert!(
        matches!(
            swap,
            Err(OperatorError::Denied(DenialReason::NumberUnknown))
        ),
        "{swap:?}"
    );
}

#[tokio::test]
async fn sim_swap_check_answers_by_max_age() {
    let w = world().await;
    let swapped_10h_ago = w.with("+77050000021", |s| {
        s.last_sim_swap_unix_s = Some(NOW_UNIX_S - 10 * HOUR_S)
    });
    let never = w.subscriber("+77050000022", Tenge::from_whole(10));
    let brand_new = phone("+77050000023");
    w.sim
        .add_subscriber(Subscriber::new_subscription(
            brand_new.clone(),
            w.beeline.clone(),
            Tenge::from_whole(50),
            NOW_UNIX_S - 60,
        ))
        .unwrap();
    assert!(
        w.client
            .swapped_within(&w.beeline, &swapped_10h_ago, 24)
            .await
            .unwrap()
    );
    assert!(
        w.client
            .swapped_within(&w.beeline, &swapped_10h_ago, 11)
            .await
            .unwrap()
    );
    assert!(
        !w.client
            .swapped_within(&w.beeline, &swapped_10h_ago, 10)
            .await
            .unwrap()
    );
    assert!(
        !w.client
            .swapped_within(&w.beeline, &swapped_10h_ago, 6)
            .await
            .unwrap()
    );
    assert!(
        !w.client
            .swapped_within(&w.beeline, &never, 2400)
            .await
            .unwrap()
    );
    assert!(
        w.client
            .swapped_within(&w.beeline, &brand_new, 1)
            .await
            .unwrap(),
        "a new subscription counts as a swap"
    );
    for bad in [0, 2401] {
        assert!(matches!(
            w.client.swapped_within(&w.beeline, &never, bad).await,
            Err(OperatorError::Protocol(_))
        ));
    }
    assert_eq!(w.sim.requests(&w.beeline, Endpoint::SimSwapCheck), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_with_one_correlator_never_capture_twice() {
    let w = Arc::new(world().await);
    let passenger = w.subscriber("+77050000031", Tenge::from_whole(1_000));
    let mut retries = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (w, passenger) = (w.clone(), passenger.clone());
        retries.spawn(async move {
            w.client
                .prepare(&w.beeline, &ride("one-ride", &passenger, FARE))
                .await
                .unwrap()
                .id
        });
    }
    let first = w
        .client
        .prepare(&w.beeline, &ride("one-ride", &passenger, FARE))
        .await
        .unwrap();
    while let Some(id) = retries.join_next().await {
        assert_eq!(id.unwrap(), first.id);
    }
    assert_eq!(w.sim.held(&passenger), FARE);
    for _ in 0..3 {
        assert_eq!(
            w.client
                .confirm(&w.beeline, &first.id)
                .await
                .unwrap()
                .status,
            PaymentStatus::Succeeded
        );
    }
    let replayed = w
        .client
        .prepare(&w.beeline, &ride("one-ride", &passenger, FARE))
        .await
        .unwrap();
    assert_eq!(
        (replayed.id, replayed.status),
        (first.id, PaymentStatus::Succeeded)
    );
    assert_eq!(w.sim.captured_total(&passenger), FARE);
    assert_eq!(w.sim.payments().len(), 1);
    assert_eq!(w.sim.requests(&w.beeline, Endpoint::Prepare), 22);
}

#[tokio::test]
async fn already_exist_reply_is_outcome_unknown_and_the_payment_is_found_by_correlator() {
    let mut settings = OperatorSettings::new("beeline-token");
    settings.correlator_replay = CorrelatorReplay::RejectAlreadyExists;
    let w = world_with(Duration::from_secs(5), settings).await;
    let passenger = w.subscriber("+77050000041", Tenge::from_whole(1_000));
    let first = w
        .client
        .prepare(&w.beeline, &ride("dup-1", &passenger, FARE))
        .await
        .unwrap();
    let retry = w
        .client
        .prepare(&w.beeline, &ride("dup-1", &passenger, FARE))
        .await;
    assert!(
        matches!(retry, Err(OperatorError::OutcomeUnknown(_))),
        "{retry:?}"
    );
    let found = w
        .client
        .find_by_correlator(&w.beeline, "dup-1", NOW_UNIX_S)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.status, found.amount),
        (first.id, PaymentStatus::Reserved, FARE)
    );
    assert!(
        w.client
            .find_by_correlator(&w.beeline, "never-sent", NOW_UNIX_S)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(w.sim.held(&passenger), FARE);
}

#[tokio::test]
async fn duplicate_reply_fault_answers_a_retry_with_already_exist_once() {
    let w = world().await;
    let passenger = w.subscriber("+77050000042", Tenge::from_whole(1_000));
    let first = w
        .client
        .prepare(&w.beeline, &ride("dup-2", &passenger, FARE))
        .await
        .unwrap();
    w.sim
        .inject(&w.beeline, Endpoint::Prepare, Fault::DuplicateReply, 1)
        .unwrap();
    let fresh = w
        .client
        .prepare(&w.beeline, &ride("dup-2-other", &passenger, FARE))
        .await
        .unwrap();
    assert_eq!(
        fresh.status,
        PaymentStatus::Reserved,
        "the fault waits for a retry of a known correlator"
    );
    assert!(matches!(
        w.client
            .prepare(&w.beeline, &ride("dup-2", &passenger, FARE))
            .await,
        Err(OperatorError::OutcomeUnknown(_))
    ));
    assert_eq!(
        w.client
            .prepare(&w.beeline, &ride("dup-2", &passenger, FARE))
            .await
            .unwrap()
            .id,
        first.id
    );
    assert_eq!(w.sim.held(&passenger), Tenge::from_tiyn(2 * 9_050));
}

#[tokio::test]
async fn find_by_correlator_looks_near_the_request_first_then_pages_through_the_window() {
    let w = world().await;
    let passenger = w.subscriber("+77050000051", Tenge::from_whole(100_000));
    w.sim.set_now(NOW_UNIX_S);
    w.client
        .prepare(
            &w.beeline,
            &ride("near-0", &passenger, Tenge::from_whole(1)),
        )
        .await
        .unwrap();
    // A busy half-minute later: more payments than a page.
    let count = FIND_PER_PAGE as usize + 30;
    for index in 0..count {
        w.sim.set_now(NOW_UNIX_S + 30 + index as i64 / 10);
        w.client
            .prepare(
                &w.beeline,
                &ride(&format!("page-{index}"), &passenger, Tenge::from_whole(1)),
            )
            .await
            .unwrap();
    }
    // Our payment is found in the seconds around its request, in one listing.
    let near = w
        .client
        .find_by_correlator(&w.beeline, "near-0", NOW_UNIX_S)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(near.client_correlator.as_deref(), Some("near-0"));
    assert_eq!(w.sim.requests(&w.beeline, Endpoint::ListPayments), 1);
    // One made later than the near part (another clock): the near part, then the rest of the
    // window before and after it, paged.
    let last = format!("page-{}", count - 1);
    let found = w
        .client
        .find_by_correlator(&w.beeline, &last, NOW_UNIX_S)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.client_correlator.as_deref(), Some(last.as_str()));
    assert_eq!(w.sim.requests(&w.beeline, Endpoint::ListPayments), 1 + 4);
    // Outside the search window the payment is not seen.
    let far = w
        .client
        .find_by_correlator(&w.beeline, &last, NOW_UNIX_S + 10 * HOUR_S)
        .await
        .unwrap();
    assert!(far.is_none());
}

#[tokio::test]
async fn a_hanging_prepare_times_out_as_outcome_unknown_and_reserves_nothing() {
    let w = world_with(
        Duration::from_millis(SHORT_TIMEOUT_MS),
        OperatorSettings::new("beeline-token"),
    )
    .await;
    let passenger = w.subscriber("+77050000061", Tenge::from_whole(1_000));
    w.sim
        .inject(&w.beeline, Endpoint::Prepare, Fault::Hang, 1)
        .unwrap();
    let outcome = w
        .client
        .prepare(&w.beeline, &ride("hang-1", &passenger, FARE))
        .await;
    assert!(
        matches!(outcome, Err(OperatorError::OutcomeUnknown(_))),
        "{outcome:?}"
    );
    assert!(
        w.client
            .find_by_correlator(&w.beeline, "hang-1", NOW_UNIX_S)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(w.sim.held(&passenger), Tenge::ZERO);
    let retried = w
        .client
        .prepare(&w.beeline, &ride("hang-1", &passenger, FARE))
        .await
        .unwrap();
    assert_eq!(retried.status, PaymentStatus::Reserved);
}

#[tokio::test]
async fn a_lost_prepare_reply_is_found_by_correlator_and_confirmed_once() {
    let w = world().await;
    let passenger = w.subscriber("+77050000071", Tenge::from_whole(1_000));
    w.sim
        .inject(&w.beeline, Endpoint::Prepare, Fault::LostReply, 1)
        .unwrap();
    let outcome = w
        .client
        .prepare(&w.beeline, &ride("lost-1", &passenger, FARE))
        .await;
    assert!(
        matches!(outcome, Err(OperatorError::OutcomeUnknown(_))),
        "{outcome:?}"
    );
    assert_eq!(w.sim.held(&passenger), FARE, "the operator did reserve");
    let found = w
        .client
        .find_by_correlator(&w.beeline, "lost-1", NOW_UNIX_S)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        w.client
            .confirm(&w.beeline, &found.id)
            .await
            .unwrap()
            .status,
        PaymentStatus::Succeeded
    );
    assert_eq!(w.sim.captured_total(&passenger), FARE);
}

#[tokio::test]
async fn server_errors_before_processing_change_nothing() {
    let w = world().await;
    let passenger = w.subscriber("+77050000081", Tenge::from_whole(1_000));
    w.sim
        .inject(&w.beeline, Endpoint::Prepare, Fault::Status(503), 1)
        .unwrap();
    let unavailable = w
        .client
        .prepare(&w.beeline, &ride("5xx-1", &passenger, FARE))
        .await;
    assert!(
        matches!(unavailable, Err(OperatorError::Unavailable(_))),
        "{unavailable:?}"
    );
    w.sim
        .inject(&w.beeline, Endpoint::Prepare, Fault::Status(500), 1)
        .unwrap();
    let unknown = w
        .client
        .prepare(&w.beeline, &ride("5xx-1", &passenger, FARE))
        .await;
    assert!(
        matches!(unknown, Err(OperatorError::OutcomeUnknown(_))),
        "{unknown:?}"
    );
    assert_eq!(w.sim.held(&passenger), Tenge::ZERO);

    let reserved = w
        .client
        .prepare(&w.beeline, &ride("5xx-1", &passenger, FARE))
        .await
        .unwrap();
    w.sim
        .inject(&w.beeline, Endpoint::Confirm, Fault::Status(502), 1)
        .unwrap();
    let confirm = w.client.confirm(&w.beeline, &reserved.id).await;
    assert!(
        matches!(confirm, Err(OperatorError::OutcomeUnknown(_))),
        "{confirm:?}"
    );
    assert_eq!(
        w.client.get(&w.beeline, &reserved.id).await.unwrap().status,
        PaymentStatus::Reserved
    );
    w.sim
        .inject(&w.beeline, Endpoint::GetPayment, Fault::Status(500), 1)
        .unwrap();
    assert!(matches!(
        w.client.get(&w.beeline, &reserved.id).await,
        Err(OperatorError::Unavailable(_))
    ));
    assert_eq!(
        w.client
            .confirm(&w.beeline, &reserved.id)
            .await
            .unwrap()
            .status,
        PaymentStatus::Succeeded
    );
    assert_eq!(w.sim.captured_total(&passenger), FARE);
}

#[tokio::test]
async fn a_lost_confirm_reply_is_settled_by_reading_the_payment() {
    let w = world_with(
        Duration::from_millis(SHORT_TIMEOUT_MS),
        OperatorSettings::new("beeline-token"),
    )
    .await;
    let passenger = w.subscriber("+77050000091", Tenge::from_whole(1_000));
    for (index, fault) in [
        Fault::LostReply,
        Fault::LostReplyReset,
        Fault::LostReplyHang,
    ]
    .into_iter()
    .enumerate()
    {
        let reserved = w
            .client
            .prepare(
                &w.beeline,
                &ride(&format!("lost-confirm-{index}"), &passenger, FARE),
            )
            .await
            .unwrap();
        w.sim
            .inject(&w.beeline, Endpoint::Confirm, fault, 1)
            .unwrap();
        let outcome = w.client.confirm(&w.beeline, &reserved.id).await;
        assert!(
            matches!(outcome, Err(OperatorError::OutcomeUnknown(_))),
            "{fault:?}: {outcome:?}"
        );
        assert_eq!(
            w.client.get(&w.beeline, &reserved.id).await.unwrap().status,
            PaymentStatus::Succeeded,
            "{fault:?}"
        );
        // The caller's retry is harmless: it reports the payment, it does not capture again.
        assert_eq!(
            w.client
                .confirm(&w.beeline, &reserved.id)
                .await
                .unwrap()
                .status,
            PaymentStatus::Succeeded
        );
    }
    assert_eq!(
        w.sim.captured_total(&passenger),
        Tenge::from_tiyn(3 * 9_050)
    );
    assert_eq!(
        w.sim.balance(&passenger),
        Some(Tenge::from_tiyn(100_000 - 3 * 9_050))
    );
}

#[tokio::test]
async fn latency_within_the_timeout_is_only_slow_and_beyond_it_is_a_timeout() {
    let w = world_with(
        Duration::from_millis(SHORT_TIMEOUT_MS),
        OperatorSettings::new("beeline-token"),
    )
    .await;
    let passenger = w.subscriber("+77050000101", Tenge::from_whole(1_000));
    w.sim
        .inject(&w.beeline, Endpoint::Any, Fault::Latency { ms: 20 }, 2)
        .unwrap();
    let reserved = w
        .client
        .prepare(&w.beeline, &ride("slow-1", &passenger, FARE))
        .await
        .unwrap();
    assert_eq!(
        w.client
            .confirm(&w.beeline, &reserved.id)
            .await
            .unwrap()
            .status,
        PaymentStatus::Succeeded
    );
    w.sim
        .inject(
            &w.beeline,
            Endpoint::GetPayment,
            Fault::Latency { ms: 5_000 },
            1,
        )
        .unwrap();
    let slow_read = w.client.get(&w.beeline, &reserved.id).await;
    assert!(
        matches!(slow_read, Err(OperatorError::Unavailable(_))),
        "a failed read changed nothing: {slow_read:?}"
    );
    assert_eq!(w.sim.captured_total(&passenger), FARE);
}

#[tokio::test]
async fn settle_reply_with_the_payment_saves_the_read() {
    let mut settings = OperatorSettings::new("beeline-token");
    settings.settle_reply = SettleReply::Payment;
    let w = world_with(Duration::from_secs(5), settings).await;
    let passenger = w.subscriber("+77050000111", Tenge::from_whole(1_000));
    let reserved = w
        .client
        .prepare(&w.beeline, &ride("fast-1", &passenger, FARE))
        .await
        .unwrap();
    assert_eq!(
        w.client
            .confirm(&w.beeline, &reserved.id)
            .await
            .unwrap()
            .status,
        PaymentStatus::Succeeded
    );
    assert_eq!(w.sim.requests(&w.beeline, Endpoint::GetPayment), 0);
    let w2 = world().await;
    let passenger = w2.subscriber("+77050000112", Tenge::from_whole(1_000));
    let reserved = w2
        .client
        .prepare(&w2.beeline, &ride("fast-2", &passenger, FARE))
        .await
        .unwrap();
    w2.client.confirm(&w2.beeline, &reserved.id).await.unwrap();
    assert_eq!(
        w2.sim.requests(&w2.beeline, Endpoint::GetPayment),
        1,
        "an empty 202 is followed by a read"
    );
}

#[tokio::test]
async fn an_unconfirmed_reservation_expires() {
    let w = world().await;
    let passenger = w.subscriber("+77050000121", Tenge::from_whole(1_000));
    let reserved = w
        .client
        .prepare(&w.beeline, &ride("expire-1", &passenger, FARE))
        .await
        .unwrap();
    w.sim
        .set_now(NOW_UNIX_S + simulators::operator::RESERVATION_TTL_S + 1);
    assert_eq!(
        w.client.get(&w.beeline, &reserved.id).await.unwrap().status,
        PaymentStatus::Cancelled
    );
    assert_eq!(
        w.client
            .confirm(&w.beeline, &reserved.id)
            .await
            .unwrap()
            .status,
        PaymentStatus::Cancelled
    );
    assert_eq!(w.sim.held(&passenger), Tenge::ZERO);
    assert_eq!(w.sim.captured_total(&passenger), Tenge::ZERO);
}

#[tokio::test]
async fn configuration_and_lookup_errors_are_typed() {
    let w = world().await;
    let passenger = w.subscriber("+77050000131", Tenge::from_whole(1_000));
    let unknown_id = OperatorPaymentId::new("no-such/payment id".to_owned());
    assert!(matches!(
        w.client.get(&w.beeline, &unknown_id).await,
        Err(OperatorError::NotFound)
    ));
    assert!(matches!(
        w.client.confirm(&w.beeline, &unknown_id).await,
        Err(OperatorError::NotFound)
    ));
    let tele2 = op("tele2");
    assert!(
        matches!(w.client.get(&tele2, &unknown_id).await, Err(OperatorError::UnknownOperator(id)) if id == tele2)
    );

    let wrong_token = HashMap::from([(
        w.beeline.clone(),
        OperatorEndpoint {
            base_url: w.sim.base_url(&w.beeline),
            credentials: partners::operator::oauth::Credentials::Bearer("stolen".to_owned()),
        },
    )]);
    let client = CamaraClient::new(wrong_token, Duration::from_secs(5)).unwrap();
    let outcome = client
        .prepare(&w.beeline, &ride("token-1", &passenger, FARE))
        .await;
    assert!(
        matches!(outcome, Err(OperatorError::Protocol(_))),
        "{outcome:?}"
    );
    assert!(matches!(
        client
            .prepare(&w.beeline, &ride("zero", &passenger, Tenge::ZERO))
            .await,
        Err(OperatorError::Protocol(_))
    ));
    let bad_url = HashMap::from([(
        w.beeline.clone(),
        OperatorEndpoint {
            base_url: "not a url".to_owned(),
            credentials: partners::operator::oauth::Credentials::Bearer("t".to_owned()),
        },
    )]);
    assert!(matches!(
        CamaraClient::new(bad_url, Duration::from_secs(1)),
        Err(OperatorError::Protocol(_))
    ));
}

#[tokio::test]
async fn an_operator_that_cannot_be_reached_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let beeline = op("beeline");
    let endpoints = HashMap::from([(
        beeline.clone(),
        OperatorEndpoint {
            base_url: format!("http://{addr}/beeline"),
            credentials: partners::operator::oauth::Credentials::Bearer("t".to_owned()),
        },
    )]);
    let client = CamaraClient::new(endpoints, Duration::from_secs(2)).unwrap();
    let outcome = client
        .prepare(&beeline, &ride("down-1", &phone("+77050000141"), FARE))
        .await;
    assert!(
        matches!(outcome, Err(OperatorError::Unavailable(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn the_admin_api_drives_the_simulator_from_another_process() {
    let w = world().await;
    let http = reqwest::Client::new();
    let admin = format!("http://{}/_admin", w.sim.addr());
    let added = http
        .post(format!("{admin}/subscribers"))
        .json(&serde_json::json!({"phone": "+77050000151", "operator": "beeline", "balance_tiyn": 20_000, "starting_balance_tiyn": 5_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let fault = serde_json::json!({"operator": "beeline", "endpoint": "confirm", "fault": {"kind": "lost_reply"}, "times": 1});
    assert_eq!(
        http.post(format!("{admin}/faults"))
            .json(&fault)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );

    let passenger = phone("+77050000151");
    let reserved = w
        .client
        .prepare(&w.beeline, &ride("admin-1", &passenger, FARE))
        .await
        .unwrap();
    assert!(matches!(
        w.client.confirm(&w.beeline, &reserved.id).await,
        Err(OperatorError::OutcomeUnknown(_))
    ));
    let seen: serde_json::Value = http
        .get(format!("{admin}/subscribers/+77050000151"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["captured_tiyn"], 9_050);
    assert_eq!(seen["balance_tiyn"], 20_000 - 9_050);
    assert_eq!(seen["held_tiyn"], 0);

    let clock = serde_json::json!({"now_unix_s": NOW_UNIX_S + 5});
    assert_eq!(
        http.post(format!("{admin}/clock"))
            .json(&clock)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(w.sim.now_unix_s(), NOW_UNIX_S + 5);
    let operator = serde_json::json!({"operator": "tele2", "access_token": "tele2-token", "correlator_replay": "reject_already_exists"});
    assert_eq!(
        http.post(format!("{admin}/operators"))
            .json(&operator)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let unknown =
        serde_json::json!({"phone": "+77070000151", "operator": "altel", "balance_tiyn": 1});
    assert_eq!(
        http.post(format!("{admin}/subscribers"))
            .json(&unknown)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
