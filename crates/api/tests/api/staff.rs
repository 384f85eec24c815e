//! Staff accounts end to end: brute force against one login (wrong passwords, then wrong
//! TOTP codes) ends in growing waits and a locked login while others sign in; cookie sessions
//! refuse a state-changing request without their CSRF token; sessions are listed and ended by
//! their owner and an admin, and end on a password reset or a disabled account; machine
//! credentials are per partner and revocable.

use domain::staff::Role;
use serde_json::{Value, json};

use crate::harness::{Db, GATEWAY, Method, PASSWORD, TestApp, spawn, spawn_with};
use crate::on_both_stores;

/// Signs in from `from` (the trusted proxy names the client); (status, body, Retry-After).
async fn attempt(
    t: &TestApp,
    login: &str,
    password: &str,
    totp: Option<&str>,
    from: &str,
) -> (u16, Value, Option<i64>) {
    let mut body = json!({"login": login, "password": password});
    if let Some(code) = totp {
        body["totp"] = code.into();
    }
    let answer = t
        .call(Method::POST, "/v1/staff/session")
        .header("x-forwarded-for", from)
        .json(body)
        .send()
        .await;
    let retry = answer.header("retry-after").and_then(|v| v.parse().ok());
    (answer.status, answer.body, retry)
}

/// 1,000 wrong tries against one login: the first few cost nothing, then each failure waits
/// twice as long as the one before, up to an hour, and tries within the wait are refused
/// without a password being checked. Returns the waits seen and the refusals counted.
async fn hammer(t: &TestApp, login: &str, password: &str, totp: Option<&str>) -> (Vec<i64>, usize) {
    let (mut waits, mut refused, mut checked, mut advances) = (Vec::new(), 0, 0, 0);
    for _ in 0..1_000 {
        let (status, body, retry) = attempt(t, login, password, totp, "203.0.113.7").await;
        match status {
            401 => {
                assert_eq!(body["code"], "STAFF_SIGN_IN_FAILED", "{body}");
                checked += 1;
                waits.extend(retry);
            }
            429 => {
                assert_eq!(body["code"], "STAFF_SIGN_IN_LOCKED", "{body}");
                let wait = retry.expect("a refusal says how long to wait");
                refused += 1;
                // Wait out the first waits, to see them grow; then keep hammering.
                if advances < 15 {
                    t.clock.advance_ms(wait * 1_000);
                    advances += 1;
                }
            }
            other => panic!("{login}: {other} {body}"),
        }
    }
    assert!(
        checked <= 20,
        "{checked} tries were checked, not refused at once"
    );
    (waits, refused)
}

fn assert_growing_to_the_cap(waits: &[i64]) {
    assert!(waits.len() >= 10, "{waits:?}");
    for pair in waits.windows(2) {
        assert!(pair[1] >= pair[0], "the waits grow: {waits:?}");
    }
    assert_eq!(waits[0], 1, "{waits:?}");
    assert_eq!(*waits.last().unwrap(), 3_600, "{waits:?}");
}

async fn brute_force_ends_in_a_locked_login_while_others_sign_in(db: Db) {
    let t = spawn_with(db, |s| {
        s.trusted_proxies = api::TrustedProxies::parse("127.0.0.1/32").unwrap();
    })
    .await;
    t.add_staff("target", Role::Office, &["astana"], &[]).await;
    t.add_staff("bystander", Role::Support, &[], &[]).await;
    let (waits, refused) = hammer(&t, "target", "wrong-password-000", None).await;
    assert_growing_to_the_cap(&waits);
    assert!(refused >= 980, "{refused} refused");
    // Locked: even the right password waits.
    let (status, body, retry) = attempt(&t, "target", PASSWORD, None, "198.51.100.1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("STAFF_SIGN_IN_LOCKED"))
    );
    assert!(retry.unwrap() > 3_000);
    // Another login signs in, from the attacker's address and from another.
    for from in ["203.0.113.7", "198.51.100.1"] {
        let (status, body, _) = attempt(&t, "bystander", PASSWORD, None, from).await;
        assert_eq!(status, 201, "{body}");
    }

    // Wrong TOTP codes with the right password: the same.
    let secret = t.add_staff("boss", Role::Admin, &[], &[]).await.unwrap();
    let right = t.totp_code(&secret);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (status, body, _) = attempt(&t, "boss", PASSWORD, None, "203.0.113.8").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("STAFF_TOTP_REQUIRED"))
    );
    let (waits, refused) = hammer(&t, "boss", PASSWORD, Some(wrong)).await;
    assert_growing_to_the_cap(&waits);
    assert!(refused >= 980, "{refused} refused");
    let code = t.totp_code(&secret);
    let (status, _, _) = attempt(&t, "boss", PASSWORD, Some(&code), "198.51.100.1").await;
    assert_eq!(
        status, 429,
        "the locked admin waits even with the right code"
    );
    let (status, body, _) = attempt(&t, "bystander", PASSWORD, None, "203.0.113.8").await;
    assert_eq!(status, 201, "{body}");
    // The wait over, the right password and code sign in (and a code is good once).
    t.clock.advance_ms(3_600 * 1_000 + 1);
    let code = t.totp_code(&secret);
    let (status, body, _) = attempt(&t, "boss", PASSWORD, Some(&code), "198.51.100.1").await;
    assert_eq!(status, 201, "{body}");
    let (status, body, _) = attempt(&t, "boss", PASSWORD, Some(&code), "198.51.100.1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("STAFF_SIGN_IN_FAILED")),
        "replayed"
    );
}

on_both_stores!(
    brute_force_ends_in_a_locked_login_while_others_sign_in,
    brute_force_ends_in_a_locked_login_while_others_sign_in
);

async fn cookie_sessions_need_their_csrf_token(db: Db) {
    let t = spawn(db).await;
    t.add_staff("clerk", Role::Office, &["astana"], &[]).await;
    let opened = t
        .call(Method::POST, "/v1/staff/session")
        .json(json!({"login": "clerk", "password": PASSWORD, "cookie": true}))
        .send()
        .await
        .expect(201);
    let set_cookie = opened.header("set-cookie").unwrap().to_owned();
    for attribute in [
        "__Host-smsbus-staff=",
        "Path=/",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
    ] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    let body = opened.body;
    assert!(
        body["token"].is_null(),
        "the cookie's token is not shown to scripts: {body}"
    );
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let token = cookie.split_once('=').unwrap().1.to_owned();
    // A second (bearer) session of the clerk, to end with the cookie.
    let other = t.staff_session("clerk").await;
    let (status, other_me) = t.get(&other, "/v1/staff/me").await;
    assert_eq!(status, 200, "{other_me}");
    let other_id = other_me["session_id"].as_str().unwrap().to_owned();
    // Reading needs no CSRF token.
    let me = t
        .call(Method::GET, "/v1/staff/me")
        .header("cookie", &cookie)
        .expect(200)
        .await;
    assert_eq!(
        (me["login"].as_str(), me["session_kind"].as_str()),
        (Some("clerk"), Some("cookie"))
    );
    // A state-changing request with the cookie: refused without the token, or with a wrong one.
    let end = |csrf: Option<String>| {
        let mut call = t
            .call(Method::DELETE, &format!("/v1/staff/sessions/{other_id}"))
            .header("cookie", &cookie);
        if let Some(csrf) = csrf {
            call = call.header("x-csrf-token", csrf);
        }
        call.send()
    };
    for wrong in [None, Some(String::new()), Some("0".repeat(32))] {
        let refused = end(wrong).await.expect(403);
        assert_eq!(refused.body["code"], "CSRF_TOKEN_INVALID");
    }
    end(Some(csrf.clone())).await.expect(204);
    assert_eq!(t.get(&other, "/v1/staff/me").await.0, 401);
    // The cookie's token is no bearer token.
    assert_eq!(t.get(&token, "/v1/staff/me").await.0, 401);
    // Signing out with the cookie needs the token too, and clears the cookie.
    t.call(Method::DELETE, "/v1/staff/session")
        .header("cookie", &cookie)
        .expect(403)
        .await;
    let out = t
        .call(Method::DELETE, "/v1/staff/session")
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect(204);
    let cleared = out.header("set-cookie").unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    t.call(Method::GET, "/v1/staff/me")
        .header("cookie", &cookie)
        .expect(401)
        .await;
}

on_both_stores!(
    cookie_sessions_need_their_csrf_token,
    cookie_sessions_need_their_csrf_token
);

async fn sessions_are_listed_ended_and_end_with_the_password(db: Db) {
    let t = spawn(db).await;
    // An admin creates the account over the API; the password is generated.
    let (status, created) = t
        .post(
            &t.admin,
            "/v1/admin/staff",
            json!({"login": "manager", "role": "carrier", "carriers": ["astana-avtobus-park-1"]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let password = created["password"].as_str().unwrap().to_owned();
    assert!(created["totp_secret"].is_null());
    let (status, taken) = t
        .post(
            &t.admin,
            "/v1/admin/staff",
            json!({"login": "manager", "role": "support"}),
        )
        .await;
    assert_eq!(
        (status, taken["code"].as_str()),
        (409, Some("STAFF_LOGIN_TAKEN"))
    );
    let (status, invalid) = t
        .post(
            &t.admin,
            "/v1/admin/staff",
            json!({"login": "two", "role": "carrier", "carriers": ["a", "b"]}),
        )
        .await;
    assert_eq!(
        (status, invalid["code"].as_str()),
        (422, Some("STAFF_ACCOUNT_INVALID"))
    );
    let (status, admin) = t
        .post(
            &t.admin,
            "/v1/admin/staff",
            json!({"login": "second-admin", "role": "admin"}),
        )
        .await;
    assert_eq!(status, 201);
    assert!(
        admin["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/SMSBUS:second-admin?secret=")
    );
    // The TOTP secret is stored sealed by the key vault, never as the base32 shown once.
    let stored = {
        let mut conn = t.store.reader().await.unwrap();
        store::staff::account(&mut conn, "second-admin")
            .await
            .unwrap()
            .unwrap()
            .totp_secret
    };
    assert!(stored.starts_with("kek1."), "{stored}");
    assert!(!stored.contains(admin["totp_secret"].as_str().unwrap()));
    let sign_in = async |password: String| {
        let answer = t
            .call(Method::POST, "/v1/staff/session")
            .json(json!({"login": "manager", "password": password}))
            .send()
            .await;
        (answer.status, answer.body)
    };
    let (_, first) = sign_in(password.clone()).await;
    let (_, second) = sign_in(password.clone()).await;
    let first = first["token"].as_str().unwrap().to_owned();
    let second = second["token"].as_str().unwrap().to_owned();
    let (status, own) = t.get(&first, "/v1/staff/sessions").await;
    assert_eq!(status, 200);
    let own = own["sessions"].as_array().unwrap().clone();
    assert_eq!(own.len(), 2);
    assert_eq!(own.iter().filter(|s| s["current"] == true).count(), 1);
    let (status, seen) = t.get(&t.admin, "/v1/admin/staff/manager/sessions").await;
    assert_eq!(
        (status, seen["sessions"].as_array().unwrap().len()),
        (200, 2)
    );
    // Nobody else's session may be ended by a non-admin; an admin ends anyone's.
    let second_id = own.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let end_second = |token: &str| {
        t.call(Method::DELETE, &format!("/v1/staff/sessions/{second_id}"))
            .token(token)
    };
    end_second(&t.controller).expect(404).await;
    end_second(&t.admin).expect(204).await;
    assert_eq!(t.get(&second, "/v1/staff/me").await.0, 401);
    assert_eq!(t.get(&first, "/v1/staff/me").await.0, 200);
    // A reset ends the rest; the old password is refused, the new one signs in.
    let (status, reset) = t
        .post(
            &t.admin,
            "/v1/admin/staff/manager/reset-password",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(t.get(&first, "/v1/staff/me").await.0, 401);
    assert_eq!(sign_in(password).await.0, 401);
    let new = reset["password"].as_str().unwrap().to_owned();
    let (status, opened) = sign_in(new.clone()).await;
    assert_eq!(status, 201);
    let token = opened["token"].as_str().unwrap().to_owned();
    // The owner changes it; then a disabled account neither works nor signs in.
    let (status, _) = t
        .post(
            &token,
            "/v1/staff/password",
            json!({"current": "wrong-wrong-wrong", "new": "another-password-1"}),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = t
        .post(
            &token,
            "/v1/staff/password",
            json!({"current": new, "new": "another-password-1"}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(t.get(&token, "/v1/staff/me").await.0, 401);
    let (status, opened) = sign_in("another-password-1".into()).await;
    assert_eq!(status, 201);
    let token = opened["token"].as_str().unwrap().to_owned();
    let (status, disabled) = t
        .post(&t.admin, "/v1/admin/staff/manager/disable", json!({}))
        .await;
    assert_eq!((status, disabled["disabled"].as_bool()), (200, Some(true)));
    assert_eq!(t.get(&token, "/v1/staff/me").await.0, 401);
    assert_eq!(sign_in("another-password-1".into()).await.0, 401);
    let (status, _) = t
        .post(&t.admin, "/v1/admin/staff/manager/enable", json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(sign_in("another-password-1".into()).await.0, 201);
    let (status, list) = t.get(&t.admin, "/v1/admin/staff").await;
    assert_eq!(status, 200);
    let logins: Vec<&str> = list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["login"].as_str().unwrap())
        .collect();
    assert!(
        logins.contains(&"manager") && logins.contains(&"admin"),
        "{logins:?}"
    );
}

on_both_stores!(
    sessions_are_listed_ended_and_end_with_the_password,
    sessions_are_listed_ended_and_end_with_the_password
);

async fn machine_credentials_are_per_partner_and_revocable(db: Db) {
    let t = spawn(db).await;
    let (status, created) = t
        .post(
            &t.admin,
            "/v1/admin/credentials",
            json!({"kind": "sms_gateway", "partner": "aggregator-2"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    let outbox = async |token: String| t.get(&token, "/v1/sms/outbox").await.0;
    assert_eq!(outbox(secret.clone()).await, 200);
    // A metrics credential reads metrics, not the outbox.
    let (_, metrics) = t
        .post(
            &t.admin,
            "/v1/admin/credentials",
            json!({"kind": "metrics", "partner": "monitoring"}),
        )
        .await;
    assert_eq!(
        outbox(metrics["secret"].as_str().unwrap().to_owned()).await,
        401
    );
    let revoke = || {
        t.call(Method::POST, &format!("/v1/admin/credentials/{id}/revoke"))
            .token(&t.admin)
    };
    revoke().expect(204).await;
    assert_eq!(outbox(secret).await, 401, "revoked");
    assert_eq!(
        outbox(GATEWAY.to_owned()).await,
        200,
        "the other partner's still works"
    );
    let (status, list) = t.get(&t.admin, "/v1/admin/credentials").await;
    assert_eq!(status, 200);
    let list = list["credentials"].as_array().unwrap();
    assert!(
        list.iter().all(|c| c["secret"].is_null()),
        "secrets are never listed"
    );
    let mine = list.iter().find(|c| c["id"] == id.as_str()).unwrap();
    assert!(mine["revoked_at"].is_string(), "{mine}");
    revoke().expect(404).await;
}

on_both_stores!(
    machine_credentials_are_per_partner_and_revocable,
    machine_credentials_are_per_partner_and_revocable
);

/// Wrong passwords spread over many logins from one address: past the address's free
/// failures it waits too, whichever login it tries next; other addresses are not held up.
async fn one_address_guessing_many_logins_is_held_up(db: Db) {
    let t = spawn_with(db, |s| {
        s.trusted_proxies = api::TrustedProxies::parse("127.0.0.1/32").unwrap();
    })
    .await;
    t.add_staff("clerk", Role::Support, &[], &[]).await;
    let free = domain::staff::FAILURES_FREE + service::staff::sign_in::ADDRESS_FAILURES_EXTRA;
    let mut last = (0, Value::Null, None);
    for i in 0..=free {
        last = attempt(
            &t,
            &format!("guess-{i}"),
            "wrong-password-000",
            None,
            "203.0.113.9",
        )
        .await;
        assert_eq!(last.0, 401, "{}", last.1);
    }
    assert_eq!(
        last.2,
        Some(1),
        "the first failure beyond the free ones waits 1 s"
    );
    let (status, body, retry) = attempt(&t, "clerk", PASSWORD, None, "203.0.113.9").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("STAFF_SIGN_IN_LOCKED"))
    );
    assert_eq!(retry, Some(1));
    let (status, body, _) = attempt(&t, "clerk", PASSWORD, None, "198.51.100.2").await;
    assert_eq!(status, 201, "{body}");
}

on_both_stores!(
    one_address_guessing_many_logins_is_held_up,
    one_address_guessing_many_logins_is_held_up
);

/// Support and the office read a passenger's tickets (the office: of its cities only), without
/// the token or link that would let them show the ticket; a carrier's manager may not.
async fn staff_read_a_passengers_tickets_within_their_scope(db: Db) {
    let t = spawn(db).await;
    let phone = "+77011234567";
    let (status, ticket) = t.ride(phone, "10101", "staff-read-1", "en").await;
    assert_eq!(status, 201, "{ticket}");
    t.add_staff("support", Role::Support, &[], &[]).await;
    t.add_staff("office-astana", Role::Office, &["astana"], &[])
        .await;
    t.add_staff("office-almaty", Role::Office, &["almaty"], &[])
        .await;
    t.add_staff("carrier", Role::Carrier, &[], &["astana-avtobus-park-1"])
        .await;
    let read = |login: &'static str| {
        let t = &t;
        async move {
            let token = t.staff_session(login).await;
            t.get(&token, &format!("/v1/staff/passengers/{phone}/tickets"))
                .await
        }
    };
    let (status, support) = read("support").await;
    assert_eq!(status, 200, "{support}");
    let tickets = support["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1, "{support}");
    assert_eq!(tickets[0]["number"], ticket["number"]);
    assert!(tickets[0].get("token").is_none() && tickets[0].get("link").is_none());
    let (_, astana) = read("office-astana").await;
    assert_eq!(astana["tickets"].as_array().unwrap().len(), 1, "{astana}");
    let (_, almaty) = read("office-almaty").await;
    assert_eq!(almaty["tickets"].as_array().unwrap().len(), 0, "{almaty}");
    let (status, carrier) = read("carrier").await;
    assert_eq!(status, 403);
    assert_eq!(carrier["code"], "ROLE_FORBIDDEN", "{carrier}");
}
on_both_stores!(
    staff_read_a_passengers_tickets_within_their_scope,
    staff_read_a_passengers_tickets_within_their_scope
);
