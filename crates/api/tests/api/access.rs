//! Every route of the router × every caller — no credentials, a passenger, each machine
//! credential, each staff role, a role outside its scope, an expired session — answered as
//! the one declared access matrix (`api::access::MATRIX`) says; and every staff call the
//! matrix marks as changing something leaves exactly one audit entry (the others none).

use std::collections::BTreeMap;

use api::access::{MATRIX, Rule, ScopeRule, Who};
use domain::staff::{Role, Scope};
use serde_json::{Value, json};
use service::clock::Clock as _;
use service::staff::credentials::MachineKind;

use crate::harness::{CONTROLLER_CITIES, Db, GATEWAY, METRICS, Method, TestApp, spawn};
use crate::on_both_stores;

const GOOD: &str = "+77011234567";
/// The passenger whose session the walk signs out.
const SIGNS_OUT: &str = "+77051234567";
/// The carrier of the carrier account, and one it does not work for.
const OWN_CARRIER: &str = "astana-avtobus-park-1";
const OTHER_CARRIER: &str = "almaty-onay-park";

/// Who calls, with what.
#[derive(Clone, Debug)]
enum Caller {
    Nobody,
    Passenger(String),
    Machine(MachineKind, &'static str),
    Staff {
        role: Role,
        scope: Scope,
        token: String,
    },
}

fn scope(cities: &[&str], carriers: &[&str]) -> Scope {
    Scope {
        cities: cities.iter().map(|c| (*c).to_owned()).collect(),
        carriers: carriers.iter().map(|c| (*c).to_owned()).collect(),
    }
}

/// The path with its parameters filled: the carrier's own carrier unless `other`.
/// The bank of the walk: it calls from a network none of the walk's callers is in.
const WALK_BANK: &str = "walk-bank";

/// The path with its parameters filled: the carrier's own carrier unless `other`.
fn concrete(path: &str, other_carrier: bool) -> String {
    path.replace("{city}", "astana")
        .replace(
            "{carrier}",
            if other_carrier {
                OTHER_CARRIER
            } else {
                OWN_CARRIER
            },
        )
        .replace("{login}", "victim")
        .replace("{id}", "no-such-id")
        .replace("{check_number}", "0000-0000-0000")
        .replace("{ride_id}", "no-such-ride")
        .replace("{link_code}", "no-such-link")
        .replace("{route_id}", "astana-10")
        .replace("{card}", "9398000000000009")
        .replace("{bank}", WALK_BANK)
        .replace("{phone}", "+77011234567")
        .replace("{code}", "10101")
        .replace("{month}", "2026-01")
        .replace("{kind}", "bank")
        .replace("{partner}", WALK_BANK)
        .replace("{day}", "2026-12-01")
        .replace("{acquirer}", "halyk-epay")
}

/// A body the route's extractors accept far enough to reach the access check.
fn body_of(rule: &Rule) -> Option<Value> {
    match (rule.method, rule.path) {
        ("GET", _) | ("DELETE", _) => None,
        (_, "/v1/inspections") => Some(
            json!({"token": "SB2.not-a-ticket", "transport_code": "10101", "inspector": "walk"}),
        ),
        (_, "/v1/controller/inspections/sync") => Some(json!({"inspections": [
            {"id": "walk-1", "token": "SB2.not-a-ticket", "transport_code": "10101",
             "scanned_at_ms": 0, "result": "VALID", "offline": true}]})),
        _ => Some(json!({})),
    }
}

/// The rule's route called on `path` with `token` (a stream is judged by its head alone).
async fn call_route(t: &TestApp, rule: &Rule, path: &str, token: Option<&str>) -> (u16, Value) {
    let method = Method::from_bytes(rule.method.as_bytes()).unwrap();
    let mut call = t.call(method, path).header("Idempotency-Key", "walk");
    if let Some(token) = token {
        call = call.token(token);
    }
    if let Some(body) = body_of(rule) {
        call = call.json(body);
    }
    let answer = call.send().await;
    (answer.status, answer.body)
}

/// What the matrix promises `caller` on `rule` (with the carrier of the path `other` or own):
/// `None` allowed (anything but 401 and 403), `Some(code)` refused with that code.
fn expected(rule: &Rule, caller: &Caller, other_carrier: bool) -> Option<&'static str> {
    let unauthorized = Some("UNAUTHORIZED");
    match (rule.who, caller) {
        (Who::Public, _) => None,
        (Who::Passenger, Caller::Passenger(_)) => None,
        // Signing out without a session is a 204: there is nothing to end.
        (Who::Passenger, _) if rule.method == "DELETE" && rule.path == "/v1/auth/session" => None,
        // Any other credential is no passenger session: "sign in".
        (Who::Passenger, _) => Some("SIGN_IN_REQUIRED"),
        (Who::FeedToken, _) => unauthorized,
        // The walk's bank lets in none of the walk's addresses.
        (Who::Bank, _) => Some("BANK_SOURCE_NOT_ALLOWED"),
        (Who::Machine(kind), Caller::Machine(held, _)) if kind == *held => None,
        (Who::Machine(_), _) => unauthorized,
        (Who::Staff(roles), Caller::Staff { role, scope, .. }) => {
            if !roles.contains(role) {
                return Some("ROLE_FORBIDDEN");
            }
            let carrier = if other_carrier {
                OTHER_CARRIER
            } else {
                OWN_CARRIER
            };
            match rule.scope {
                ScopeRule::CarrierInPath(_) if !scope.reaches_carrier(*role, carrier) => {
                    Some("SCOPE_FORBIDDEN")
                }
                // The walk's vehicle is 10101: Astana, the own carrier.
                ScopeRule::VehicleInBody
                    if !scope.reaches_vehicle(*role, "astana", OWN_CARRIER) =>
                {
                    Some("SCOPE_FORBIDDEN")
                }
                _ => None,
            }
        }
        (Who::Staff(_), _) => unauthorized,
    }
}

fn token_of(caller: &Caller) -> Option<&str> {
    match caller {
        Caller::Nobody => None,
        Caller::Passenger(token) => Some(token),
        Caller::Machine(_, secret) => Some(secret),
        Caller::Staff { token, .. } => Some(token),
    }
}

async fn the_matrix_holds_on_every_route_for_every_caller(db: Db) {
    let t = spawn(db).await;
    crate::cards::configure_bank(&t, WALK_BANK, "kaspi", "10.99.0.0/16").await;
    // Every served route has its row (and no row lacks a route).
    let mut declared = api::declared_routes();
    declared.sort_unstable();
    let mut rows: Vec<(&str, String)> = MATRIX
        .iter()
        .map(|r| (r.method, r.path.to_owned()))
        .collect();
    rows.sort_unstable();
    assert_eq!(declared, rows, "the router and the access matrix differ");

    t.add_staff("office", Role::Office, &["astana"], &[]).await;
    t.add_staff("carrier", Role::Carrier, &[], &[OWN_CARRIER])
        .await;
    t.add_staff("support", Role::Support, &[], &[]).await;
    t.add_staff("far-controller", Role::Controller, &["kyzylorda"], &[])
        .await;
    t.add_staff("victim", Role::Support, &[], &[]).await;
    let mut callers = vec![
        ("nobody", Caller::Nobody),
        ("passenger", Caller::Passenger(t.session(GOOD).await)),
        ("gateway", Caller::Machine(MachineKind::SmsGateway, GATEWAY)),
        ("metrics", Caller::Machine(MachineKind::Metrics, METRICS)),
        (
            "admin",
            Caller::Staff {
                role: Role::Admin,
                scope: Scope::default(),
                token: t.admin.clone(),
            },
        ),
        (
            "controller",
            Caller::Staff {
                role: Role::Controller,
                scope: scope(&CONTROLLER_CITIES, &[]),
                token: t.controller.clone(),
            },
        ),
    ];
    for (login, role, cities, carriers) in [
        ("office", Role::Office, &["astana"][..], &[][..]),
        ("carrier", Role::Carrier, &[][..], &[OWN_CARRIER][..]),
        ("support", Role::Support, &[][..], &[][..]),
        (
            "far-controller",
            Role::Controller,
            &["kyzylorda"][..],
            &[][..],
        ),
    ] {
        callers.push((
            login,
            Caller::Staff {
                role,
                scope: scope(cities, carriers),
                token: t.staff_session(login).await,
            },
        ));
    }
    let mut checked = 0;
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for rule in MATRIX {
        let scoped = matches!(rule.scope, ScopeRule::CarrierInPath(_));
        for other_carrier in [false, true] {
            if other_carrier && !scoped {
                continue;
            }
            let path = concrete(rule.path, other_carrier);
            for (name, caller) in &callers {
                // Signing out ends the session: each staff caller signs out a fresh one.
                let fresh;
                let token = match caller {
                    Caller::Staff { .. }
                        if rule.method == "DELETE" && rule.path == "/v1/staff/session" =>
                    {
                        fresh = t.staff_session(name).await;
                        Some(fresh.as_str())
                    }
                    // Likewise a passenger signs out a session of another number.
                    Caller::Passenger(_)
                        if rule.method == "DELETE" && rule.path == "/v1/auth/session" =>
                    {
                        fresh = t.session(SIGNS_OUT).await;
                        Some(fresh.as_str())
                    }
                    _ => token_of(caller),
                };
                let (status, body) = call_route(&t, rule, &path, token).await;
                let want = expected(rule, caller, other_carrier);
                match want {
                    None => assert!(
                        status != 401 && status != 403,
                        "{} {path} as {name}: allowed by the matrix, got {status} {body}",
                        rule.method
                    ),
                    Some(code) => {
                        assert!(
                            status == 401 || status == 403,
                            "{} {path} as {name}: refused by the matrix ({code}), got {status} {body}",
                            rule.method
                        );
                        assert_eq!(
                            body["code"], code,
                            "{} {path} as {name}: {body}",
                            rule.method
                        );
                    }
                }
                *outcomes.entry(want.unwrap_or("allowed")).or_default() += 1;
                checked += 1;
            }
        }
    }
    assert!(
        outcomes.get("SCOPE_FORBIDDEN").copied().unwrap_or(0) >= 3,
        "{outcomes:?}"
    );
    assert!(
        outcomes.get("ROLE_FORBIDDEN").copied().unwrap_or(0) > 50,
        "{outcomes:?}"
    );
    // An expired session: every staff route refuses it as no session at all.
    let support = t.staff_session("support").await;
    t.clock
        .advance_ms(service::staff::sign_in::SESSION_TTL_MS + 1);
    for rule in MATRIX.iter().filter(|r| matches!(r.who, Who::Staff(_))) {
        for token in [&support, &t.admin] {
            let (status, body) =
                call_route(&t, rule, &concrete(rule.path, false), Some(token)).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (401, Some("UNAUTHORIZED")),
                "{} {} with an expired session",
                rule.method,
                rule.path
            );
            checked += 1;
        }
    }
    eprintln!("access matrix: {checked} calls checked, {outcomes:?}");
}

on_both_stores!(
    the_matrix_holds_on_every_route_for_every_caller,
    the_matrix_holds_on_every_route_for_every_caller
);

async fn audit_count(t: &TestApp) -> usize {
    let mut conn = t.store.reader().await.unwrap();
    usize::try_from(store::audit::written(&mut conn).await.unwrap()).unwrap()
}

/// A successful call of every staff route, with a body that works; the ones the matrix marks
/// audited leave exactly one entry, the others none. A staff route without a case here fails.
async fn every_audited_route_leaves_exactly_one_entry(db: Db) {
    let t = spawn(db).await;
    t.add_staff("victim", Role::Support, &[], &[]).await;
    t.add_staff("carrier", Role::Carrier, &[], &[OWN_CARRIER])
        .await;
    let (status, ticket) = t.ride(GOOD, "10101", "audit-walk", "en").await;
    assert_eq!(status, 201, "{ticket}");
    let carrier = t.staff_session("carrier").await;
    // A second session of the carrier, for it to end.
    let second = t.staff_session("carrier").await;
    let (_, me) = t.get(&second, "/v1/staff/me").await;
    let second_id = me["session_id"].as_str().unwrap().to_owned();
    let (_, credential) = t
        .post(
            &t.admin,
            "/v1/admin/credentials",
            json!({"kind": "metrics", "partner": "walk"}),
        )
        .await;
    let credential_id = credential["id"].as_str().unwrap().to_owned();
    let check = ticket["check_number"].as_str().unwrap().to_owned();
    let token = ticket["token"].as_str().unwrap().to_owned();
    // The office's objects: two applications, a card ride to refund.
    t.add_staff("office", Role::Office, &["astana"], &[]).await;
    let office = t.staff_session("office").await;
    crate::cards::configure_bank(&t, "kaspi", "kaspi", "127.0.0.1, ::1").await;
    let card = crate::cards::open_card(&t, crate::cards::HOLDER).await;
    crate::cards::pay(&t, "walk-1", &card, "500.00").await;
    let (status, card_ticket) = crate::cards::card_ride(&t, &card, "10101", "walk-card").await;
    assert_eq!(status, 201, "{card_ticket}");
    let card_check = card_ticket["check_number"].as_str().unwrap().to_owned();
    // A reconciliation report with a discrepancy to resolve (the walk imports another day).
    let registry = format!(
        "txn_id;txn_date;account;sum\nwalk-1;20261201120000;{card};500.00\nwalk-x;20261201120000;{card};50.00\n"
    );
    let report = service::reconcile::import(
        &t.app,
        &service::staff::Actor::command_line(),
        service::reconcile::PartnerKind::Bank,
        "kaspi",
        "2026-12-01",
        registry.as_bytes(),
    )
    .await
    .unwrap();
    let discrepancy = report
        .lines
        .iter()
        .find(|l| l.reference == "walk-x")
        .unwrap()
        .id;
    let mut applications = Vec::new();
    for category in ["pensioner", "student"] {
        let (status, applied) = t
            .post_as(
                crate::cards::HOLDER,
                "/v1/card-applications",
                json!({"city": "astana", "category": category, "full_name": "Walk",
                   "document_kind": "certificate", "document_number": "W-1"}),
            )
            .await;
        assert_eq!(status, 201, "{applied}");
        applications.push(applied["id"].as_i64().unwrap());
    }
    // Feedback on the walk's ride, for its carrier to answer.
    let (status, feedback) = t
        .post_as(
            GOOD,
            "/v1/feedback",
            json!({"ticket_number": ticket["number"], "service_rating": 4, "vehicle_rating": 4}),
        )
        .await;
    assert_eq!(status, 201, "{feedback}");
    let feedback_id = feedback["id"].as_i64().unwrap();
    let today = {
        use service::clock::Clock;
        jiff::Timestamp::from_millisecond(t.clock.now_ms())
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
            .to_string()
    };
    // (method, path, caller's token, body): one successful call per staff route.
    let admin = t.admin.clone();
    let controller = t.controller.clone();
    let cases: Vec<(&str, &str, String, String, Option<Value>)> = vec![
        (
            "POST",
            "/v1/inspections",
            "/v1/inspections".into(),
            controller.clone(),
            Some(json!({"token": token, "transport_code": "10101", "inspector": "walk"})),
        ),
        (
            "GET",
            "/v1/controller/invalidations",
            "/v1/controller/invalidations".into(),
            controller.clone(),
            None,
        ),
        (
            "GET",
            "/v1/controller/holder-keys",
            "/v1/controller/holder-keys".into(),
            controller.clone(),
            None,
        ),
        (
            "POST",
            "/v1/controller/inspections/sync",
            "/v1/controller/inspections/sync".into(),
            controller.clone(),
            Some(
                json!({"inspections": [{"id": "walk-sync-1", "token": token, "transport_code": "10101",
                "scanned_at_ms": t.clock.now_ms(), "result": "VALID", "offline": true}]}),
            ),
        ),
        (
            "GET",
            "/v1/controller/shift",
            "/v1/controller/shift".into(),
            controller.clone(),
            None,
        ),
        (
            "GET",
            "/v1/controller/vehicles",
            "/v1/controller/vehicles".into(),
            controller.clone(),
            None,
        ),
        (
            "POST",
            "/v1/admin/tickets/{check_number}/revoke",
            format!("/v1/admin/tickets/{check}/revoke"),
            admin.clone(),
            Some(json!({"reason": "walk"})),
        ),
        (
            "PUT",
            "/v1/admin/catalogue",
            "/v1/admin/catalogue".into(),
            admin.clone(),
            Some(serde_json::from_str(crate::harness::CATALOGUE).unwrap()),
        ),
        (
            "POST",
            "/v1/admin/keys/rotate",
            "/v1/admin/keys/rotate".into(),
            admin.clone(),
            None,
        ),
        (
            "GET",
            "/v1/admin/ledger",
            "/v1/admin/ledger".into(),
            admin.clone(),
            None,
        ),
        (
            "GET",
            "/v1/admin/audit",
            "/v1/admin/audit".into(),
            admin.clone(),
            None,
        ),
        (
            "GET",
            "/v1/admin/audit/verify",
            "/v1/admin/audit/verify".into(),
            admin.clone(),
            None,
        ),
        (
            "POST",
            "/v1/admin/recovery",
            "/v1/admin/recovery".into(),
            admin.clone(),
            None,
        ),
        (
            "GET",
            "/v1/staff/me",
            "/v1/staff/me".into(),
            carrier.clone(),
            None,
        ),
        (
            "GET",
            "/v1/staff/sessions",
            "/v1/staff/sessions".into(),
            carrier.clone(),
            None,
        ),
        (
            "DELETE",
            "/v1/staff/sessions/{id}",
            format!("/v1/staff/sessions/{second_id}"),
            carrier.clone(),
            None,
        ),
        (
            "GET",
            "/v1/admin/staff",
            "/v1/admin/staff".into(),
            admin.clone(),
            None,
        ),
        (
            "POST",
            "/v1/admin/staff",
            "/v1/admin/staff".into(),
            admin.clone(),
            Some(json!({"login": "walk-office", "role": "office", "cities": ["astana"]})),
        ),
        (
            "POST",
            "/v1/admin/staff/{login}/reset-password",
            "/v1/admin/staff/victim/reset-password".into(),
            admin.clone(),
            None,
        ),
        (
            "POST",
            "/v1/admin/staff/{login}/disable",
            "/v1/admin/staff/victim/disable".into(),
            admin.clone(),
            None,
        ),
        (
            "POST",
            "/v1/admin/staff/{login}/enable",
            "/v1/admin/staff/victim/enable".into(),
            admin.clone(),
            None,
        ),
        (
            "GET",
            "/v1/admin/staff/{login}/sessions",
            "/v1/admin/staff/carrier/sessions".into(),
            admin.clone(),
            None,
        ),
        (
            "GET",
            "/v1/admin/credentials",
            "/v1/admin/credentials".into(),
            admin.clone(),
            None,
        ),
        (
            "POST",
            "/v1/admin/credentials",
            "/v1/admin/credentials".into(),
            admin.clone(),
            Some(json!({"kind": "sms_gateway", "partner": "walk"})),
        ),
        (
            "POST",
            "/v1/admin/credentials/{id}/revoke",
            format!("/v1/admin/credentials/{credential_id}/revoke"),
            admin.clone(),
            None,
        ),
        (
            "GET",
            "/v1/carriers/{carrier}/vehicles",
            format!("/v1/carriers/{OWN_CARRIER}/vehicles"),
            carrier.clone(),
            None,
        ),
        (
            "POST",
            "/v1/admin/live/trackers",
            "/v1/admin/live/trackers".into(),
            admin.clone(),
            Some(
                json!({"tracker_id": "864000000000009", "password": "pw", "transport_code": "10101"}),
            ),
        ),
        (
            "POST",
            "/v1/admin/live/feed-tokens",
            "/v1/admin/live/feed-tokens".into(),
            admin.clone(),
            Some(json!({"city": "astana", "name": "walk", "vehicles": ["10101"]})),
        ),
        (
            "GET",
            "/v1/admin/live/trackers",
            "/v1/admin/live/trackers".into(),
            admin.clone(),
            None,
        ),
        (
            "GET",
            "/v1/admin/live/feed-tokens",
            "/v1/admin/live/feed-tokens".into(),
            admin.clone(),
            None,
        ),
        (
            "GET",
            "/v1/staff/passengers/{phone}/tickets",
            format!("/v1/staff/passengers/{GOOD}/tickets"),
            office.clone(),
            None,
        ),
        (
            "GET",
            "/v1/carriers/{carrier}/feedback",
            format!("/v1/carriers/{OWN_CARRIER}/feedback"),
            carrier.clone(),
            None,
        ),
        (
            "GET",
            "/v1/office/card-applications",
            "/v1/office/card-applications".into(),
            office.clone(),
            None,
        ),
        (
            "POST",
            "/v1/office/card-applications/{id}/approve",
            format!("/v1/office/card-applications/{}/approve", applications[0]),
            office.clone(),
            Some(
                json!({"document_kind": "certificate", "document_number": "W-1", "valid_until": "2030-12-31"}),
            ),
        ),
        (
            "POST",
            "/v1/office/card-applications/{id}/reject",
            format!("/v1/office/card-applications/{}/reject", applications[1]),
            office.clone(),
            Some(json!({"reason": "walk"})),
        ),
        (
            "POST",
            "/v1/office/tickets/{check_number}/refund",
            format!("/v1/office/tickets/{card_check}/refund"),
            office.clone(),
            Some(json!({"reason": "walk"})),
        ),
        (
            "GET",
            "/v1/office/search",
            format!("/v1/office/search?q={card}"),
            office.clone(),
            None,
        ),
        (
            "GET",
            "/v1/office/passengers/{phone}",
            format!("/v1/office/passengers/{}", crate::cards::HOLDER),
            office.clone(),
            None,
        ),
        (
            "POST",
            "/v1/office/cards/{card}/block",
            format!("/v1/office/cards/{card}/block"),
            office.clone(),
            Some(json!({"reason": "walk"})),
        ),
        (
            "POST",
            "/v1/office/cards/{card}/unblock",
            format!("/v1/office/cards/{card}/unblock"),
            office.clone(),
            Some(json!({"reason": "walk"})),
        ),
        (
            "POST",
            "/v1/office/cards/{card}/payout",
            format!("/v1/office/cards/{card}/payout"),
            office.clone(),
            Some(json!({"way": "cash"})),
        ),
        (
            "GET",
            "/v1/admin/catalogue",
            "/v1/admin/catalogue".into(),
            admin.clone(),
            None,
        ),
        (
            "GET",
            "/v1/admin/banks",
            "/v1/admin/banks".into(),
            admin.clone(),
            None,
        ),
        (
            "GET",
            "/v1/admin/partners",
            "/v1/admin/partners".into(),
            admin.clone(),
            None,
        ),
        (
            "POST",
            "/v1/admin/cities/{city}/gtfs",
            "/v1/admin/cities/astana/gtfs".into(),
            admin.clone(),
            None,
        ),
        (
            "PUT",
            "/v1/admin/banks/{bank}",
            "/v1/admin/banks/kaspi".into(),
            admin.clone(),
            Some(
                json!({"name": "KASPI", "dialect": "kaspi", "networks": "127.0.0.1", "secret": "kaspi-walk-secret-0001"}),
            ),
        ),
        (
            "POST",
            "/v1/carriers/{carrier}/feedback/{id}/reply",
            format!("/v1/carriers/{OWN_CARRIER}/feedback/{feedback_id}/reply"),
            carrier.clone(),
            Some(json!({"text": "walk"})),
        ),
        (
            "POST",
            "/v1/carriers/{carrier}/feedback/{id}/status",
            format!("/v1/carriers/{OWN_CARRIER}/feedback/{feedback_id}/status"),
            carrier.clone(),
            Some(json!({"status": "resolved"})),
        ),
        (
            "POST",
            "/v1/carriers/{carrier}/vehicles",
            format!("/v1/carriers/{OWN_CARRIER}/vehicles"),
            carrier.clone(),
            Some(json!({"transport_code": "10199", "plate": "199 WLK 01", "route": "astana-10"})),
        ),
        (
            "POST",
            "/v1/carriers/{carrier}/vehicles/{code}/suspend",
            format!("/v1/carriers/{OWN_CARRIER}/vehicles/10199/suspend"),
            carrier.clone(),
            None,
        ),
        (
            "POST",
            "/v1/carriers/{carrier}/vehicles/{code}/resume",
            format!("/v1/carriers/{OWN_CARRIER}/vehicles/10199/resume"),
            carrier.clone(),
            None,
        ),
        (
            "POST",
            "/v1/carriers/{carrier}/vehicles/{code}/move",
            format!("/v1/carriers/{OWN_CARRIER}/vehicles/10199/move"),
            carrier.clone(),
            Some(json!({"route": "astana-12"})),
        ),
        (
            "GET",
            "/v1/carriers/{carrier}/stickers",
            format!("/v1/carriers/{OWN_CARRIER}/stickers"),
            carrier.clone(),
            None,
        ),
        (
            "GET",
            "/v1/carriers/{carrier}/reports/rides",
            format!("/v1/carriers/{OWN_CARRIER}/reports/rides?from={today}&to={today}"),
            carrier.clone(),
            None,
        ),
        (
            "GET",
            "/v1/carriers/{carrier}/settlement/{month}",
            format!(
                "/v1/carriers/{OWN_CARRIER}/settlement/{}?format=pdf",
                &today[..7]
            ),
            carrier.clone(),
            None,
        ),
        (
            "GET",
            "/v1/reports/rides",
            format!("/v1/reports/rides?from={today}&to={today}&format=csv"),
            admin.clone(),
            None,
        ),
        (
            "POST",
            "/v1/admin/reconciliation/{kind}/{partner}/{day}",
            "/v1/admin/reconciliation/bank/kaspi/2026-12-02".into(),
            admin.clone(),
            // A string is sent as the raw body: the file.
            Some(Value::String("txn_id;txn_date;account;sum\n".into())),
        ),
        (
            "GET",
            "/v1/admin/reconciliation/reports",
            "/v1/admin/reconciliation/reports".into(),
            admin.clone(),
            None,
        ),
        (
            "GET",
            "/v1/admin/reconciliation/discrepancies",
            "/v1/admin/reconciliation/discrepancies".into(),
            admin.clone(),
            None,
        ),
        (
            "POST",
            "/v1/admin/reconciliation/discrepancies/{id}/resolve",
            format!("/v1/admin/reconciliation/discrepancies/{discrepancy}/resolve"),
            admin.clone(),
            Some(json!({"resolution": "credit"})),
        ),
        // Last: they end the caller's sessions.
        (
            "POST",
            "/v1/staff/password",
            "/v1/staff/password".into(),
            carrier.clone(),
            Some(json!({"current": crate::harness::PASSWORD, "new": "a-new-password-0001"})),
        ),
        (
            "DELETE",
            "/v1/staff/session",
            "/v1/staff/session".into(),
            admin.clone(),
            None,
        ),
    ];
    for rule in MATRIX.iter().filter(|r| matches!(r.who, Who::Staff(_))) {
        assert!(
            cases.iter().any(|c| c.0 == rule.method && c.1 == rule.path),
            "{} {} has no audit case",
            rule.method,
            rule.path
        );
    }
    for (method, pattern, path, token, body) in cases {
        let rule = api::access::rule_of(method, pattern).unwrap();
        let before = audit_count(&t).await;
        let mut call = t
            .call(Method::from_bytes(method.as_bytes()).unwrap(), &path)
            .token(&token)
            .header("Idempotency-Key", format!("walk-{pattern}"));
        match body {
            Some(Value::String(raw)) => call = call.body(raw),
            Some(body) => call = call.json(body),
            None => {}
        }
        if pattern == "/v1/admin/cities/{city}/gtfs" {
            call = call
                .header("Content-Type", "application/zip")
                .body(crate::transit::ASTANA_FEED);
        }
        call.send().await.expect_success();
        let after = audit_count(&t).await;
        assert_eq!(
            after - before,
            usize::from(rule.audited),
            "{method} {path} left {} audit entries",
            after - before
        );
    }
    // The carrier's password changed: its sessions ended, the old password is refused.
    assert_eq!(t.get(&carrier, "/v1/staff/me").await.0, 401);
    let verified = service::audit::verify(&t.app).await.unwrap();
    assert!(verified.is_ok(), "{verified:?}");
}

on_both_stores!(
    every_audited_route_leaves_exactly_one_entry,
    every_audited_route_leaves_exactly_one_entry
);
