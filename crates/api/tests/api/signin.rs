//! Sign-in against guessing and floods: wrong codes lock a number across codes for longer each
//! time, codes are budgeted per number, per client address and overall, nothing goes to a
//! number no operator serves, codes leave the outbox before a backlog, and a passenger sees and
//! ends their sessions. Every wait is told as `Retry-After` and `retry_after_s`.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use serde_json::Value;
use service::App;
use service::sessions::{
    SESSION_LAST_USED_STEP_MS, SESSION_TTL_MS, SIGN_IN_ADDRESS_WINDOW_MS,
    SIGN_IN_CODES_PER_ADDRESS_MAX, SIGN_IN_CODES_PER_PHONE_MAX, SIGN_IN_LOCKOUT_FIRST_MS,
    SIGN_IN_PHONE_WINDOW_MS, SIGN_IN_RESEND_MS,
};

use crate::harness::{Answer, Db, GATEWAY, Method, TestApp, spawn};
use crate::on_both_stores;

const PHONE: &str = "+77011234567";

async fn ask(t: &TestApp, phone: &str) -> Answer {
    t.call(Method::POST, "/v1/auth/code")
        .header("Accept-Language", "en")
        .json(serde_json::json!({"phone": phone}))
        .send()
        .await
}

async fn open(t: &TestApp, phone: &str, code: &str, device: &str) -> Answer {
    t.call(Method::POST, "/v1/auth/session")
        .header("User-Agent", device)
        .json(serde_json::json!({"phone": phone, "code": code}))
        .send()
        .await
}

/// The newest code sent to the number.
async fn code_sent(t: &TestApp, phone: &str) -> String {
    let mut conn = t.store.reader().await.unwrap();
    let sms = store::sms::pending_outbox(&mut conn, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.phone == phone)
        .max_by_key(|m| m.id)
        .unwrap();
    sms.body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect()
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

/// (status, code, Retry-After header, retry_after_s of the body).
fn refusal(answer: Answer) -> (u16, String, Option<i64>, Option<i64>) {
    let header = answer
        .headers
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let body = answer.body;
    (
        answer.status,
        body["code"].as_str().unwrap_or("").to_owned(),
        header,
        body["retry_after_s"].as_i64(),
    )
}

fn locked(wait_s: i64) -> (u16, String, Option<i64>, Option<i64>) {
    (429, "SIGN_IN_LOCKED".into(), Some(wait_s), Some(wait_s))
}

/// The same store under a second `App`, as after a restart, with other settings if asked.
async fn restarted(t: &TestApp, settings: service::Settings) -> Arc<App> {
    App::start(
        t.store.clone(),
        Arc::clone(&t.app.billing),
        Arc::clone(&t.app.sim_swap),
        Arc::clone(&t.app.clock),
        settings,
    )
    .await
    .unwrap()
}

async fn wrong_codes_lock_the_number_across_codes_for_longer_each_time(db: Db) {
    let t = spawn(db).await;
    assert_eq!(ask(&t, PHONE).await.status, 202);
    let first = code_sent(&t, PHONE).await;
    for _ in 0..service::sessions::SIGN_IN_FAILURES_FREE {
        let (status, code, ..) = refusal(open(&t, PHONE, wrong(&first), "x").await);
        assert_eq!((status, code.as_str()), (401, "SIGN_IN_CODE_INVALID"));
    }
    // A new code does not reset the count: its first wrong try locks the number for a minute.
    t.clock.advance_ms(SIGN_IN_RESEND_MS);
    assert_eq!(ask(&t, PHONE).await.status, 202);
    let second = code_sent(&t, PHONE).await;
    let minute_s = SIGN_IN_LOCKOUT_FIRST_MS / 1000;
    assert_eq!(
        refusal(open(&t, PHONE, wrong(&second), "x").await),
        locked(minute_s)
    );
    // Locked: even the right code is refused, and no code is sent.
    t.clock.advance_ms(1_000);
    assert_eq!(
        refusal(open(&t, PHONE, &second, "x").await),
        locked(minute_s - 1)
    );
    assert_eq!(refusal(ask(&t, PHONE).await), locked(minute_s - 1));
    // A restart forgets nothing: the lockout is in the store.
    let after_restart = restarted(&t, t.app.settings.clone()).await;
    let refused = service::sessions::sign_in(
        &after_restart,
        &domain::PhoneNumber::parse(PHONE).unwrap(),
        &second,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code, domain::ErrorCode::SignInLocked);
    // The next wrong code doubles the wait.
    t.clock.advance_ms(SIGN_IN_LOCKOUT_FIRST_MS);
    assert_eq!(
        refusal(open(&t, PHONE, wrong(&second), "x").await),
        locked(2 * minute_s)
    );
    t.clock.advance_ms(2 * SIGN_IN_LOCKOUT_FIRST_MS);
    assert_eq!(open(&t, PHONE, &second, "x").await.status, 201);
    // A right code forgets the wrong ones.
    t.clock.advance_ms(SIGN_IN_RESEND_MS);
    assert_eq!(ask(&t, PHONE).await.status, 202);
    let third = code_sent(&t, PHONE).await;
    let (status, code, ..) = refusal(open(&t, PHONE, wrong(&third), "x").await);
    assert_eq!((status, code.as_str()), (401, "SIGN_IN_CODE_INVALID"));
}
on_both_stores!(
    wrong_codes_lock_the_number_across_codes_for_longer_each_time,
    wrong_codes_lock_the_number_across_codes_for_longer_each_time
);

async fn guesses_sent_at_once_are_each_counted(db: Db) {
    let t = spawn(db).await;
    assert_eq!(ask(&t, PHONE).await.status, 202);
    let guess = wrong(&code_sent(&t, PHONE).await);
    let mut guesses = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let call = t
            .call(Method::POST, "/v1/auth/session")
            .json(serde_json::json!({"phone": PHONE, "code": guess}));
        guesses.spawn(async move { call.send().await.status });
    }
    let statuses = guesses.join_all().await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    // Judged one after the other: five were compared (and counted), the rest met a void code.
    let mut conn = t.store.reader().await.unwrap();
    let code = store::sessions::code_of(&mut conn, PHONE)
        .await
        .unwrap()
        .unwrap();
    let failures = store::sessions::failures_of(&mut conn, PHONE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((code.attempts, failures.failures), (5, 5));
}
on_both_stores!(
    guesses_sent_at_once_are_each_counted,
    guesses_sent_at_once_are_each_counted
);

async fn a_flood_of_code_requests_sends_what_the_budgets_allow(db: Db) {
    // A hundred connections at once from one address: above the per-client connection cap,
    // which has its own tests; here the sign-in budgets are what is measured.
    let t = crate::harness::spawn_with(db, |settings| {
        settings.connections.connections_per_client_max = 256;
    })
    .await;
    let mut asks = tokio::task::JoinSet::new();
    for i in 0..100 {
        // Half for one number, half for as many others, all from one address, all at once.
        let phone = if i % 2 == 0 {
            PHONE.to_owned()
        } else {
            format!("+7747{:07}", i)
        };
        let call = t
            .call(Method::POST, "/v1/auth/code")
            .json(serde_json::json!({"phone": phone}));
        asks.spawn(async move { call.send().await.status });
    }
    let statuses = asks.join_all().await;
    let accepted = statuses.iter().filter(|s| **s == 202).count() as i64;
    assert_eq!(accepted, SIGN_IN_CODES_PER_ADDRESS_MAX, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 202 || *s == 429),
        "{statuses:?}"
    );
    let mut conn = t.store.reader().await.unwrap();
    let sent = store::sms::pending_outbox(&mut conn, 1_000).await.unwrap();
    assert_eq!(sent.len() as i64, SIGN_IN_CODES_PER_ADDRESS_MAX);
    assert_eq!(
        sent.iter().filter(|m| m.phone == PHONE).count(),
        1,
        "one code per resend interval"
    );
}
on_both_stores!(
    a_flood_of_code_requests_sends_what_the_budgets_allow,
    a_flood_of_code_requests_sends_what_the_budgets_allow
);

async fn a_number_gets_a_few_codes_a_day(db: Db) {
    let t = spawn(db).await;
    for _ in 0..SIGN_IN_CODES_PER_PHONE_MAX {
        assert_eq!(ask(&t, PHONE).await.status, 202);
        t.clock.advance_ms(SIGN_IN_RESEND_MS);
    }
    let used_ms = SIGN_IN_CODES_PER_PHONE_MAX * SIGN_IN_RESEND_MS;
    let wait_s = (SIGN_IN_PHONE_WINDOW_MS - used_ms) / 1000;
    let refused = ask(&t, PHONE).await;
    let (status, code, header, field) = refusal(refused);
    assert_eq!(
        (status, code.as_str(), header, field),
        (429, "SIGN_IN_CODES_EXHAUSTED", Some(wait_s), Some(wait_s))
    );
    let mut conn = t.store.reader().await.unwrap();
    let sent = store::sms::pending_outbox(&mut conn, 1_000).await.unwrap();
    drop(conn);
    assert_eq!(sent.len() as i64, SIGN_IN_CODES_PER_PHONE_MAX);
    // Another number is not concerned; the day over, the number gets codes again.
    assert_eq!(ask(&t, "+77021234567").await.status, 202);
    t.clock.advance_ms(SIGN_IN_PHONE_WINDOW_MS - used_ms);
    assert_eq!(ask(&t, PHONE).await.status, 202);
}
on_both_stores!(
    a_number_gets_a_few_codes_a_day,
    a_number_gets_a_few_codes_a_day
);

async fn nothing_is_sent_to_numbers_no_operator_serves(db: Db) {
    let t = spawn(db).await;
    for (phone, status, code) in [
        // An Astana landline: a Kazakh number, but no mobile operator's prefix.
        ("+77172123456", 422, "OPERATOR_NOT_SERVED"),
        ("+77991234567", 422, "OPERATOR_NOT_SERVED"),
        ("+79161234567", 422, "PHONE_FOREIGN"),
        ("+4915112345678", 422, "PHONE_FOREIGN"),
        ("12345", 400, "PHONE_MALFORMED"),
    ] {
        let (got_status, got_code, ..) = refusal(ask(&t, phone).await);
        assert_eq!((got_status, got_code.as_str()), (status, code), "{phone}");
    }
    let mut conn = t.store.reader().await.unwrap();
    assert!(
        store::sms::pending_outbox(&mut conn, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
on_both_stores!(
    nothing_is_sent_to_numbers_no_operator_serves,
    nothing_is_sent_to_numbers_no_operator_serves
);

async fn codes_are_budgeted_per_client_address_and_overall(db: Db) {
    let t = spawn(db).await;
    // Over HTTP every request comes from 127.0.0.1: one address's budget.
    let numbers: Vec<String> = (0..=SIGN_IN_CODES_PER_ADDRESS_MAX)
        .map(|i| format!("+7705{:07}", 1_000 + i))
        .collect();
    for phone in numbers.iter().take(SIGN_IN_CODES_PER_ADDRESS_MAX as usize) {
        assert_eq!(ask(&t, phone).await.status, 202, "{phone}");
    }
    let wait_s = SIGN_IN_ADDRESS_WINDOW_MS / 1000;
    let last = numbers.last().unwrap();
    assert_eq!(
        refusal(ask(&t, last).await),
        (429, "RATE_LIMITED".into(), Some(wait_s), Some(wait_s))
    );
    // The overall budget holds whatever the addresses: beyond it, a wait instead of a queue.
    t.clock
        .advance_ms(service::sessions::SIGN_IN_OVERALL_WINDOW_MS);
    let small = restarted(
        &t,
        service::Settings {
            sign_in_codes_per_minute_max: 3,
            ..t.app.settings.clone()
        },
    )
    .await;
    let by_service = |i: u8| {
        let app = Arc::clone(&small);
        async move {
            let phone = domain::PhoneNumber::parse(&format!("+7708{:07}", i)).unwrap();
            let client = IpAddr::V4(Ipv4Addr::new(203, 0, 113, i));
            service::sessions::request_code(&app, &phone, domain::Language::En, client).await
        }
    };
    for i in 1..=3 {
        by_service(i).await.unwrap();
    }
    t.clock.advance_ms(10_000);
    let busy = by_service(4).await.unwrap_err();
    assert_eq!(
        (busy.code, busy.retry_after_ms),
        (domain::ErrorCode::SignInBusy, Some(50_000))
    );
    let mut conn = t.store.reader().await.unwrap();
    let sent = store::sms::pending_outbox(&mut conn, 1_000).await.unwrap();
    drop(conn);
    assert_eq!(sent.len() as i64, SIGN_IN_CODES_PER_ADDRESS_MAX + 3);
    t.clock.advance_ms(50_000);
    by_service(4).await.unwrap();
}
on_both_stores!(
    codes_are_budgeted_per_client_address_and_overall,
    codes_are_budgeted_per_client_address_and_overall
);

async fn a_sign_in_code_goes_out_before_a_backlog_of_replies(db: Db) {
    let t = spawn(db).await;
    let mut tx = t.store.begin().await.unwrap();
    for i in 0..150 {
        let phone = format!("+7702{:07}", 5_000 + i);
        store::sms::enqueue(&mut tx, &phone, "SMSBUS ticket reply", None, t.app.now_ms())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(ask(&t, PHONE).await.status, 202);
    let (_, outbox) = t.get(GATEWAY, "/v1/sms/outbox").await;
    let messages = outbox["messages"].as_array().unwrap();
    assert_eq!(messages[0]["to"], PHONE, "{}", messages[0]);
    assert!(
        messages[0]["text"]
            .as_str()
            .unwrap()
            .contains("SMSBUS sign-in code")
    );
    // After the code, the backlog in its order.
    assert_eq!(messages[1]["to"], "+77020005000");
}
on_both_stores!(
    a_sign_in_code_goes_out_before_a_backlog_of_replies,
    a_sign_in_code_goes_out_before_a_backlog_of_replies
);

/// Signs in from a device; returns (token, session id).
async fn sign_in_from(t: &TestApp, phone: &str, device: &str) -> (String, String) {
    assert_eq!(ask(t, phone).await.status, 202);
    let code = code_sent(t, phone).await;
    let body = open(t, phone, &code, device).await.expect(201).body;
    t.clock.advance_ms(SIGN_IN_RESEND_MS);
    (
        body["token"].as_str().unwrap().to_owned(),
        body["id"].as_str().unwrap().to_owned(),
    )
}

async fn sessions_of(t: &TestApp, token: &str) -> (u16, Value) {
    t.get(token, "/v1/auth/sessions").await
}

async fn tickets_status(t: &TestApp, token: &str) -> u16 {
    t.get(token, "/v1/tickets/valid").await.0
}

async fn a_passenger_sees_and_ends_their_sessions(db: Db) {
    let t = spawn(db).await;
    let (phone_token, phone_id) =
        sign_in_from(&t, PHONE, "Mozilla/5.0 (Linux; Android 14) Phone").await;
    let (stolen_token, stolen_id) = sign_in_from(&t, PHONE, "curl/\t8.5").await;
    t.clock.advance_ms(SESSION_LAST_USED_STEP_MS + 1);
    assert_eq!(tickets_status(&t, &phone_token).await, 200);
    let (status, list) = sessions_of(&t, &phone_token).await;
    assert_eq!(status, 200, "{list}");
    let text = list.to_string();
    assert!(
        !text.contains(&phone_token) && !text.contains(&stolen_token),
        "{text}"
    );
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{list}");
    // Most recently used first: the phone, just used, is this session.
    assert_eq!(sessions[0]["id"], phone_id.as_str());
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(
        sessions[0]["device"],
        "Mozilla/5.0 (Linux; Android 14) Phone"
    );
    assert_ne!(sessions[0]["last_used_at"], sessions[0]["created_at"]);
    assert_eq!(sessions[1]["id"], stolen_id.as_str());
    assert_eq!(sessions[1]["current"], false);
    assert_eq!(
        sessions[1]["device"], "curl/8.5",
        "control characters are dropped"
    );
    // The owner ends the stolen session; it buys nothing any more.
    let end = |id: &str, token: &str| {
        t.call(Method::DELETE, &format!("/v1/auth/sessions/{id}"))
            .token(token)
    };
    end(&stolen_id, &phone_token).expect(204).await;
    assert_eq!(tickets_status(&t, &stolen_token).await, 401);
    // Another passenger cannot end (or learn of) this passenger's sessions.
    let other = t.session("+77021234567").await;
    end(&phone_id, &other).expect(404).await;
    assert_eq!(tickets_status(&t, &phone_token).await, 200);
    // End all the others at once.
    let (tablet_token, _) = sign_in_from(&t, PHONE, "Tablet").await;
    let (laptop_token, _) = sign_in_from(&t, PHONE, "Laptop").await;
    let others = t
        .call(Method::POST, "/v1/auth/sessions/end-others")
        .token(&phone_token)
        .send()
        .await
        .body;
    assert_eq!(others["ended"], 2);
    assert_eq!(tickets_status(&t, &tablet_token).await, 401);
    assert_eq!(tickets_status(&t, &laptop_token).await, 401);
    let (_, list) = sessions_of(&t, &phone_token).await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(
        tickets_status(&t, &other).await,
        200,
        "another passenger's session stays"
    );
    // Without a session there is nothing to list; every session ends after its time.
    assert_eq!(sessions_of(&t, "not-a-token").await.0, 401);
    t.clock.advance_ms(SESSION_TTL_MS);
    assert_eq!(tickets_status(&t, &phone_token).await, 401);
    assert_eq!(sessions_of(&t, &phone_token).await.0, 401);
}
on_both_stores!(
    a_passenger_sees_and_ends_their_sessions,
    a_passenger_sees_and_ends_their_sessions
);

async fn a_new_session_beyond_the_most_ends_the_least_recently_used(db: Db) {
    let t = spawn(db).await;
    let mut tokens = Vec::new();
    for device in 0..service::sessions::SESSIONS_PER_PASSENGER_MAX {
        tokens.push(sign_in_from(&t, PHONE, &format!("device {device}")).await.0);
    }
    // The first device is used again, so the second is now the least recently used.
    t.clock.advance_ms(SESSION_LAST_USED_STEP_MS + 1);
    assert_eq!(tickets_status(&t, &tokens[0]).await, 200);
    t.clock.advance_ms(SIGN_IN_PHONE_WINDOW_MS);
    let (newest, _) = sign_in_from(&t, PHONE, "device new").await;
    let (_, list) = sessions_of(&t, &newest).await;
    let devices: Vec<&str> = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["device"].as_str().unwrap())
        .collect();
    assert_eq!(
        devices.len() as i64,
        service::sessions::SESSIONS_PER_PASSENGER_MAX
    );
    assert!(!devices.contains(&"device 1"), "{devices:?}");
    assert_eq!(tickets_status(&t, &tokens[1]).await, 401);
    assert_eq!(tickets_status(&t, &tokens[0]).await, 200);
}
on_both_stores!(
    a_new_session_beyond_the_most_ends_the_least_recently_used,
    a_new_session_beyond_the_most_ends_the_least_recently_used
);
