//! What controllers and the public see of a ticket: the QR and the public page reveal no phone
//! number (issue 9), the controller checks the holder online and offline and gets holder keys
//! that nobody else gets, sharing is flagged only on what sharing looks like, with the reason
//! and local times (issue 8), the signing keys are sealed at rest, and a revoked ticket's page
//! says revoked.

use std::sync::Arc;

use domain::PhoneNumber;
use domain::card::CardNumber;
use domain::ticket::{
    Holder, HolderBinding, HolderCheck, HolderKeys, HolderKind, TOKEN_PREFIX, TOKEN_PREFIX_V1,
};
use serde_json::Value;

use crate::harness::{Db, Method, TestApp, spawn};
use crate::on_both_stores;

const GOOD: &str = "+77011234567";
const BEELINE: &str = "+77051234567";
const TELE2: &str = "+77071234567";

async fn check(
    t: &TestApp,
    token: &str,
    vehicle: &str,
    inspector: &str,
    holder_phone: Option<&str>,
) -> Value {
    let body =
        serde_json::json!({"token": token, "transport_code": vehicle, "inspector": inspector});
    check_with(t, body, holder_phone.map(|phone| ("holder_phone", phone))).await
}

/// A check with the holder told as `(field, text)`: `holder_phone` or `holder_card`.
async fn check_with(t: &TestApp, mut body: Value, told: Option<(&str, &str)>) -> Value {
    if let Some((field, text)) = told {
        body[field] = text.into();
    }
    t.call(Method::POST, "/v1/inspections")
        .token(&t.controller)
        .json(body)
        .expect(200)
        .await
}

async fn buy(t: &TestApp, phone: &str, vehicle: &str, key: &str) -> Value {
    let (status, ticket) = t.ride(phone, vehicle, key, "en").await;
    assert_eq!(status, 201, "{ticket}");
    ticket
}

async fn public_keys(t: &TestApp) -> (String, domain::ticket::KeyList) {
    let text = t.call(Method::GET, "/v1/keys").send().await.text();
    let list = api::keys_wire::from_dto(&serde_json::from_str(&text).unwrap()).unwrap();
    (text, list)
}

async fn holder_keys_as_controller(t: &TestApp) -> (String, HolderKeys) {
    let text = t
        .call(Method::GET, "/v1/controller/holder-keys")
        .token(&t.controller)
        .send()
        .await
        .expect(200)
        .text();
    let keys = api::keys_wire::holder_keys_from_dto(&serde_json::from_str(&text).unwrap()).unwrap();
    (text, keys)
}

async fn ticket_page(t: &TestApp, ticket: &Value) -> String {
    let link = ticket["link"].as_str().unwrap();
    let path = link.get(link.find("/t/").unwrap()..).unwrap();
    t.call(Method::GET, path)
        .header("Accept-Language", "en")
        .send()
        .await
        .text()
}

/// Issue 9 item 4: with everything public (the token in the QR, the ticket page, the key
/// list) no number can be tested against a ticket; a signed-in controller's holder keys can.
async fn the_qr_and_the_public_page_reveal_no_number(db: Db) {
    let t = spawn(db).await;
    let ticket = buy(&t, GOOD, "10101", "qr-1").await;
    let token = ticket["token"].as_str().unwrap();
    assert!(token.starts_with(TOKEN_PREFIX), "{token}");
    assert!(token.len() <= 180, "{} chars: {token}", token.len());

    let (keys_json, public) = public_keys(&t).await;
    let verified = domain::ticket::authenticate(token, &public).unwrap();
    let claims = verified.claims();
    assert!(matches!(
        claims.holder,
        HolderBinding::Keyed {
            kind: HolderKind::Phone,
            ..
        }
    ));
    // The attack of the issue: try numbers against the ticket with what is public. Nothing
    // can be tested, the true number included.
    let public_only = HolderKeys::default();
    for candidate in [GOOD, BEELINE, TELE2, "+77011234568"] {
        let phone = Holder::Phone(PhoneNumber::parse(candidate).unwrap());
        assert_eq!(
            claims.check_holder(&phone, &public_only),
            HolderCheck::NotChecked,
            "{candidate}"
        );
    }
    let page = ticket_page(&t, &ticket).await;
    assert!(page.contains("<svg"), "the page shows the QR");
    for shape in ["7011234567", "701 123", "701-123", "1234567"] {
        assert!(!page.contains(shape), "the page shows {shape}");
    }

    // The holder keys: not to the public, not in the public key list, only to controllers.
    t.call(Method::GET, "/v1/controller/holder-keys")
        .expect(401)
        .await;
    assert_eq!(
        t.get(&t.admin, "/v1/controller/holder-keys").await.0,
        403,
        "holder keys go to controllers only"
    );
    let (holder_json, holder_keys) = holder_keys_as_controller(&t).await;
    let listed: Value = serde_json::from_str(&holder_json).unwrap();
    let key_text = listed["holder_keys"][0]["key"].as_str().unwrap();
    assert!(!keys_json.contains(key_text), "{keys_json}");
    assert!(!page.contains(key_text));
    assert_eq!(
        claims.check_holder(
            &Holder::Phone(PhoneNumber::parse(GOOD).unwrap()),
            &holder_keys
        ),
        HolderCheck::Matches
    );
    assert_eq!(
        claims.check_holder(
            &Holder::Phone(PhoneNumber::parse(BEELINE).unwrap()),
            &holder_keys
        ),
        HolderCheck::DoesNotMatch
    );
}
on_both_stores!(
    the_qr_and_the_public_page_reveal_no_number,
    the_qr_and_the_public_page_reveal_no_number
);

/// Issue 8: the controller checks the number the passenger tells, online; a ticket of the old
/// format signed before the change stays valid and checkable until it ends.
async fn the_holder_is_checked_online_and_old_tickets_still_verify(db: Db) {
    let t = spawn(db).await;
    let ticket = buy(&t, GOOD, "10101", "holder-1").await;
    let token = ticket["token"].as_str().unwrap();
    let mine = check(&t, token, "10101", "ctl-1", Some("+7 701 123 45 67")).await;
    assert_eq!(
        (mine["result"].as_str(), mine["holder"].as_str()),
        (Some("VALID"), Some("MATCHES")),
        "{mine}"
    );
    let friend = check(&t, token, "10101", "ctl-1", Some(BEELINE)).await;
    assert_eq!(friend["holder"], "DOES_NOT_MATCH", "{friend}");
    let untold = check(&t, token, "10101", "ctl-1", None).await;
    assert_eq!(untold["holder"], "NOT_CHECKED", "{untold}");
    let (status, malformed) = t
        .post(
            &t.controller,
            "/v1/inspections",
            serde_json::json!({"token": token, "transport_code": "10101", "inspector": "ctl-1", "holder_phone": "12"}),
        )
        .await;
    assert_eq!(status, 400, "{malformed}");

    // The same ticket as the server issued it before the keyed binding (`SB1.`, salted).
    let (_, public) = public_keys(&t).await;
    let claims = domain::ticket::authenticate(token, &public)
        .unwrap()
        .claims()
        .clone();
    let signer = service::keys::signer(&t.app).await.unwrap();
    let old_claims = domain::ticket::TicketClaims {
        holder: HolderBinding::salted([3; 8], &PhoneNumber::parse(GOOD).unwrap()),
        ..claims
    };
    let old = domain::ticket::sign(&old_claims, &signer.key).unwrap();
    assert!(old.starts_with(TOKEN_PREFIX_V1));
    let old_check = check(&t, &old, "10101", "ctl-9", Some(GOOD)).await;
    assert_eq!(old_check["result"], "VALID", "{old_check}");
    assert_eq!(old_check["holder"], "MATCHES", "{old_check}");
}
on_both_stores!(
    the_holder_is_checked_online_and_old_tickets_still_verify,
    the_holder_is_checked_online_and_old_tickets_still_verify
);

/// Issue 10: a ticket paid from a transport card is bound to the card, not to the account's
/// phone (a school card's pupil rides with their own card): the controller asks for the card,
/// online and offline, and a phone number told for it is not checked rather than "not theirs".
async fn a_card_ride_is_bound_to_its_card(db: Db) {
    use crate::cards::{HOLDER, card_ride, configure_bank, open_card, pay};
    let t = spawn(db).await;
    configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let card = open_card(&t, HOLDER).await;
    pay(&t, "bound-1", &card, "500.00").await;
    let (status, ticket) = card_ride(&t, &card, "10101", "bound-ride-1").await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(ticket["holder"]["kind"], "card", "{ticket}");
    assert_eq!(ticket["holder"]["card"], card, "{ticket}");
    let token = ticket["token"].as_str().unwrap();
    assert!(token.starts_with(TOKEN_PREFIX), "{token}");
    let body = serde_json::json!({"token": token, "transport_code": "10101", "inspector": "ctl-1"});

    let grouped = CardNumber::parse(&card).unwrap().grouped();
    let own = check_with(&t, body.clone(), Some(("holder_card", &grouped))).await;
    assert_eq!(
        (own["result"].as_str(), own["holder"].as_str()),
        (Some("VALID"), Some("MATCHES")),
        "{own}"
    );
    assert_eq!(own["ticket"]["holder"], "card", "{own}");
    let other = CardNumber::issue(42).as_str().to_owned();
    let friend = check_with(&t, body.clone(), Some(("holder_card", &other))).await;
    assert_eq!(friend["holder"], "DOES_NOT_MATCH", "{friend}");
    // The account's own phone is not what the ticket is bound to: nothing is said.
    let phone = check_with(&t, body.clone(), Some(("holder_phone", HOLDER))).await;
    assert_eq!(phone["holder"], "NOT_CHECKED", "{phone}");
    // A mistyped card is caught by its check digit; both kinds at once are refused.
    let mut typo = card.clone().into_bytes();
    let last = typo.last_mut().unwrap();
    *last = b'0' + (*last - b'0' + 1) % 10;
    let mut mistyped = body.clone();
    mistyped["holder_card"] = String::from_utf8(typo).unwrap().into();
    let (status, problem) = t.post(&t.controller, "/v1/inspections", mistyped).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("CARD_NUMBER_MISTYPED")),
        "{problem}"
    );
    let mut both = body.clone();
    both["holder_card"] = card.clone().into();
    both["holder_phone"] = HOLDER.into();
    let (status, problem) = t.post(&t.controller, "/v1/inspections", both).await;
    assert_eq!(status, 400, "{problem}");

    // Offline, on a controller's device: the same answers from the token and the holder keys.
    let (_, public) = public_keys(&t).await;
    let (_, holder_keys) = holder_keys_as_controller(&t).await;
    let verified = domain::ticket::authenticate(token, &public).unwrap();
    let claims = verified.claims();
    assert_eq!(claims.holder.kind(), HolderKind::Card);
    let told = |text: &str| claims.check_holder(&Holder::parse(text).unwrap(), &holder_keys);
    assert_eq!(told(&card), HolderCheck::Matches);
    assert_eq!(told(&other), HolderCheck::DoesNotMatch);
    assert_eq!(told(HOLDER), HolderCheck::NotChecked);

    // A phone balance ride of the same account stays bound to the number.
    let phone_ticket = buy(&t, HOLDER, "10101", "bound-ride-2").await;
    assert_eq!(phone_ticket["holder"]["kind"], "phone", "{phone_ticket}");
    assert!(
        phone_ticket["holder"].get("card").is_none(),
        "{phone_ticket}"
    );
}
on_both_stores!(
    a_card_ride_is_bound_to_its_card,
    a_card_ride_is_bound_to_its_card
);

/// Issue 8: a single wrong-bus scan is WRONG_VEHICLE, and does not flag the ticket in its own
/// bus; the ticket shown elsewhere after its own bus is flagged, with the reason and the
/// earlier showing, in the city's local time.
async fn sharing_across_vehicles_is_flagged_only_when_it_looks_like_sharing(db: Db) {
    let t = spawn(db).await;
    let mistaken = buy(&t, GOOD, "10101", "share-1").await;
    let token = mistaken["token"].as_str().unwrap();
    let wrong_bus = check(&t, token, "10102", "ctl-1", None).await;
    assert_eq!(wrong_bus["result"], "WRONG_VEHICLE");
    assert_eq!(wrong_bus["flagged_shared"], false, "{wrong_bus}");
    assert_eq!(wrong_bus["flag_reason"], Value::Null);
    t.clock.advance_ms(5 * 60_000);
    let own_bus = check(&t, token, "10101", "ctl-2", None).await;
    assert_eq!(own_bus["result"], "VALID");
    assert_eq!(own_bus["flagged_shared"], false, "{own_bus}");
    let bought_at = own_bus["ticket"]["bought_at"].as_str().unwrap();
    assert!(bought_at.ends_with("+05:00"), "{bought_at}");
    assert!(
        own_bus["ticket"]["valid_until"]
            .as_str()
            .unwrap()
            .ends_with("+05:00"),
        "{own_bus}"
    );

    // The buyer is checked in their bus; a copy turns up in another bus.
    let shared = buy(&t, BEELINE, "10101", "share-2").await;
    let token = shared["token"].as_str().unwrap();
    assert_eq!(
        check(&t, token, "10101", "ctl-1", None).await["flagged_shared"],
        false
    );
    t.clock.advance_ms(60_000);
    let copy = check(&t, token, "10102", "ctl-2", None).await;
    assert_eq!(copy["result"], "WRONG_VEHICLE");
    assert_eq!(copy["flagged_shared"], true, "{copy}");
    assert_eq!(copy["flag_reason"], "SHOWN_IN_TWO_VEHICLES");
    assert_eq!(copy["flagged_because_of"]["transport_code"], "10101");
    assert_eq!(copy["flagged_because_of"]["inspector"], "ctl-1");
    assert!(
        copy["flagged_because_of"]["at"]
            .as_str()
            .unwrap()
            .ends_with("+05:00"),
        "{copy}"
    );
    // Checked again in its own bus within its validity, it says why it is flagged.
    let again = check(&t, token, "10101", "ctl-3", None).await;
    assert_eq!(
        (again["result"].as_str(), again["flag_reason"].as_str()),
        (Some("VALID"), Some("SHOWN_IN_TWO_VEHICLES")),
        "{again}"
    );
    assert_eq!(
        again["seen_in_vehicles"],
        serde_json::json!(["10101", "10102"])
    );
}
on_both_stores!(
    sharing_across_vehicles_is_flagged_only_when_it_looks_like_sharing,
    sharing_across_vehicles_is_flagged_only_when_it_looks_like_sharing
);

/// Issue 8: a screenshot shown twice in one bus within an inspection round is flagged; a
/// controller re-scanning the same phone is not.
async fn a_ticket_shown_twice_in_one_bus_is_flagged(db: Db) {
    let t = spawn(db).await;
    let shown = buy(&t, GOOD, "10101", "twice-1").await;
    let other = buy(&t, BEELINE, "10101", "twice-2").await;
    let token = shown["token"].as_str().unwrap();
    assert_eq!(
        check(&t, token, "10101", "ctl-1", None).await["flagged_shared"],
        false
    );
    // A re-scan at once, nobody else in between: the same passenger.
    t.clock.advance_ms(10_000);
    let rescan = check(&t, token, "10101", "ctl-1", None).await;
    assert_eq!(rescan["flagged_shared"], false, "{rescan}");
    // The controller moves on to the next passenger, then is shown the same ticket again.
    t.clock.advance_ms(30_000);
    let next = check(&t, other["token"].as_str().unwrap(), "10101", "ctl-1", None).await;
    assert_eq!(next["flagged_shared"], false, "{next}");
    t.clock.advance_ms(30_000);
    let second = check(&t, token, "10101", "ctl-1", None).await;
    assert_eq!(second["result"], "VALID");
    assert_eq!(second["flagged_shared"], true, "{second}");
    assert_eq!(second["flag_reason"], "SHOWN_TWICE_IN_VEHICLE");
    assert_eq!(second["flagged_because_of"]["transport_code"], "10101");

    // Another controller in the same bus within the round: flagged too.
    let third = buy(&t, TELE2, "10101", "twice-3").await;
    let token = third["token"].as_str().unwrap();
    assert_eq!(
        check(&t, token, "10101", "ctl-1", None).await["flagged_shared"],
        false
    );
    t.clock.advance_ms(2 * 60_000);
    let other_device = check(&t, token, "10101", "ctl-2", None).await;
    assert_eq!(
        other_device["flag_reason"], "SHOWN_TWICE_IN_VEHICLE",
        "{other_device}"
    );
    // A later round (a new controller team boards) is not the same round.
    let fourth = buy(&t, GOOD, "10102", "twice-4").await;
    let token = fourth["token"].as_str().unwrap();
    assert_eq!(
        check(&t, token, "10102", "ctl-1", None).await["flagged_shared"],
        false
    );
    t.clock
        .advance_ms((service::inspect::INSPECTION_ROUND_S + 60) * 1000);
    let later = check(&t, token, "10102", "ctl-5", None).await;
    assert_eq!(later["flagged_shared"], false, "{later}");
}
on_both_stores!(
    a_ticket_shown_twice_in_one_bus_is_flagged,
    a_ticket_shown_twice_in_one_bus_is_flagged
);

/// Issue 9 item 7: the signing key is sealed at rest; a row stored in plain before is sealed
/// on the next start; a server with another key-encryption key refuses to load the keys and
/// says why.
async fn signing_keys_are_sealed_at_rest(db: Db) {
    let t = spawn(db).await;
    let rows = {
        let mut conn = t.store.reader().await.unwrap();
        store::keys::all(&mut conn).await.unwrap()
    };
    let signer = service::keys::signer(&t.app).await.unwrap();
    let row = rows
        .iter()
        .find(|r| r.kid == signer.key.id().to_string())
        .unwrap();
    assert_eq!(row.secret_hex, "", "no plain secret");
    let sealed = row.secret_sealed.as_deref().unwrap();
    assert!(sealed.starts_with("kek1."), "{sealed}");
    // The secret opens with the server's KEK only, and is nowhere in the row in plain.
    let secret = t
        .app
        .settings
        .key_vault
        .open(&format!("ticket signing key {}", row.kid), sealed)
        .unwrap();
    let secret_hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(secret.len(), 32);
    assert!(!format!("{row:?}").contains(&secret_hex), "{row:?}");
    let secret: [u8; 32] = secret.try_into().unwrap();
    let reopened =
        domain::ticket::TicketSigningKey::from_secret_bytes(&secret, signer.key.window()).unwrap();
    assert_eq!(reopened.id(), signer.key.id());

    // A row written in plain before sealing existed (what an old database holds).
    let plain_secret = [0x42_u8; 32];
    let window = domain::ticket::KeyWindow::new(1, 2).unwrap();
    let plain_key =
        domain::ticket::TicketSigningKey::from_secret_bytes(&plain_secret, window).unwrap();
    let plain_hex: String = plain_secret.iter().map(|b| format!("{b:02x}")).collect();
    {
        let public_hex: String = plain_key
            .published()
            .public_key()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut tx = t.store.begin().await.unwrap();
        store::keys::insert(
            &mut tx,
            &store::keys::SigningKeyRow {
                kid: plain_key.id().to_string(),
                secret_hex: plain_hex.clone(),
                secret_sealed: None,
                public_key_hex: public_hex,
                not_before_ms: 1_000,
                sign_until_ms: 1_500,
                not_after_ms: 2_000,
                created_at_ms: 1_000,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    // Starting seals the plain row; the app itself is not needed after.
    let _restarted = service::App::start(
        t.store.clone(),
        Arc::clone(&t.app.billing),
        Arc::clone(&t.app.sim_swap),
        t.clock.clone(),
        t.app.settings.clone(),
    )
    .await
    .unwrap();
    let rows = {
        let mut conn = t.store.reader().await.unwrap();
        store::keys::all(&mut conn).await.unwrap()
    };
    let migrated = rows
        .iter()
        .find(|r| r.kid == plain_key.id().to_string())
        .unwrap();
    assert_eq!(migrated.secret_hex, "");
    assert!(
        migrated
            .secret_sealed
            .as_deref()
            .unwrap()
            .starts_with("kek1.")
    );
    for row in &rows {
        assert!(!format!("{row:?}").contains(&plain_hex), "{row:?}");
    }

    // Another KEK: the keys do not open, and the error says which key to start with.
    let wrong = service::Settings {
        key_vault: Arc::new(service::vault::KeyEncryptionKey::from_bytes([9; 32])),
        ..t.app.settings.clone()
    };
    let refused = service::App::start(
        t.store.clone(),
        Arc::clone(&t.app.billing),
        Arc::clone(&t.app.sim_swap),
        t.clock.clone(),
        wrong,
    )
    .await
    .err()
    .unwrap();
    assert!(
        refused.detail.contains("key-encryption key")
            && refused.detail.contains("SMSBUS_KEY_ENCRYPTION_KEY"),
        "{refused}"
    );
}
on_both_stores!(
    signing_keys_are_sealed_at_rest,
    signing_keys_are_sealed_at_rest
);

/// Issue 10: a revoked ticket's page says revoked, not refunded.
async fn a_revoked_ticket_page_says_revoked(db: Db) {
    let t = spawn(db).await;
    let ticket = buy(&t, GOOD, "10101", "page-1").await;
    let check_number = ticket["check_number"].as_str().unwrap();
    let (status, revoked) = t
        .post(
            &t.admin,
            &format!("/v1/admin/tickets/{check_number}/revoke"),
            serde_json::json!({"reason": "a test"}),
        )
        .await;
    assert_eq!(status, 200, "{revoked}");
    let page = ticket_page(&t, &ticket).await;
    assert!(page.contains("The ticket was revoked"), "{page}");
    assert!(!page.contains("refunded"), "{page}");
}
on_both_stores!(
    a_revoked_ticket_page_says_revoked,
    a_revoked_ticket_page_says_revoked
);
