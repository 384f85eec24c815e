//! The audit trail (issue 11's groundwork): every mutating admin endpoint leaves exactly one
//! entry saying who, from where, what and on which object; the chain verifies; an edited or a
//! removed row makes the verification fail and name the entry.

use serde_json::Value;

use crate::harness::{Db, Method, TestApp, spawn};
use crate::on_both_stores;

/// A call as the admin that must succeed: its body.
async fn admin(t: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut call = t.call(method, path).token(&t.admin);
    if let Some(body) = body {
        call = call.json(body);
    }
    call.send().await.expect_success().body
}

async fn entries(t: &TestApp, query: &str) -> Vec<Value> {
    let page = admin(t, Method::GET, &format!("/v1/admin/audit{query}"), None).await;
    page["entries"].as_array().unwrap().clone()
}

async fn verify(t: &TestApp) -> Value {
    admin(t, Method::GET, "/v1/admin/audit/verify", None).await
}

async fn each_admin_action_leaves_one_entry_and_tampering_is_named(db: Db) {
    let t = spawn(db).await;
    assert_eq!(verify(&t).await["intact"], true);
    let (status, ticket) = t.ride("+77011234567", "10101", "audit-1", "en").await;
    assert_eq!(status, 201, "{ticket}");
    let check_number = ticket["check_number"].as_str().unwrap();
    let before = entries(&t, "").await.len();

    // Every mutating admin endpoint, once each.
    let catalogue = serde_json::json!({"cities": []});
    let actions: Vec<(Method, String, Option<Value>, &str)> = vec![
        (
            Method::POST,
            format!("/v1/admin/tickets/{check_number}/revoke"),
            Some(serde_json::json!({"reason": "audit test"})),
            "ticket.revoke",
        ),
        (
            Method::POST,
            "/v1/admin/keys/rotate".into(),
            None,
            "key.rotate",
        ),
        (
            Method::PUT,
            "/v1/admin/catalogue".into(),
            Some(catalogue),
            "catalogue.upsert",
        ),
        (
            Method::POST,
            "/v1/admin/live/trackers".into(),
            Some(
                serde_json::json!({"tracker_id": "864000000000001", "password": "pw", "transport_code": "10101"}),
            ),
            "tracker.register",
        ),
        (
            Method::POST,
            "/v1/admin/live/feed-tokens".into(),
            Some(
                serde_json::json!({"city": "astana", "name": "audit test", "vehicles": ["10101"]}),
            ),
            "feed_token.create",
        ),
    ];
    for (method, path, body, action) in &actions {
        let count = entries(&t, "").await.len();
        admin(&t, method.clone(), path, body.clone()).await;
        let after = entries(&t, "").await;
        assert_eq!(
            after.len(),
            count + 1,
            "{path} left {} entries",
            after.len() - count
        );
        let newest = &after[0];
        assert_eq!(newest["action"], *action, "{newest}");
        assert_eq!(newest["actor"], "admin");
        assert_eq!(newest["address"], "127.0.0.1");
    }
    let all = entries(&t, "").await;
    assert_eq!(all.len(), before + actions.len());
    let revoked = entries(&t, &format!("?object=ticket:{}", ticket["number"])).await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["before"], "valid");
    assert!(entries(&t, "?actor=nobody").await.is_empty());
    assert!(entries(&t, "?since=2999-01-01T00:00:00Z").await.is_empty());
    let check = verify(&t).await;
    assert_eq!(check["intact"], true, "{check}");
    assert_eq!(
        check["entries"].as_i64().unwrap(),
        i64::try_from(all.len()).unwrap()
    );

    // An edited row is named.
    let seq = revoked[0]["seq"].as_i64().unwrap();
    let mut tx = t.store.begin().await.unwrap();
    store::audit::tamper::set_after(&mut tx, seq, "valid")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let check = verify(&t).await;
    assert_eq!(check["intact"], false);
    assert!(
        check["broken"]
            .as_str()
            .unwrap()
            .contains(&format!("entry {seq}")),
        "{check}"
    );

    // So is a removed one, and the newest removed is found by the count.
    let last = all[0]["seq"].as_i64().unwrap();
    let mut tx = t.store.begin().await.unwrap();
    store::audit::tamper::remove(&mut tx, last).await.unwrap();
    tx.commit().await.unwrap();
    let check = verify(&t).await;
    assert_eq!(check["intact"], false, "{check}");
}
on_both_stores!(
    each_admin_action_leaves_one_entry_and_tampering_is_named,
    each_admin_action_leaves_one_entry_and_tampering_is_named
);

async fn the_audit_trail_is_for_admins_only(db: Db) {
    let t = spawn(db).await;
    for path in ["/v1/admin/audit", "/v1/admin/audit/verify"] {
        t.call(Method::GET, path).expect(401).await;
        assert_eq!(t.get("not-the-admin-token", path).await.0, 401, "{path}");
    }
    assert_eq!(
        t.get(&t.admin, "/v1/admin/audit?since=yesterday").await.0,
        400
    );
}
on_both_stores!(
    the_audit_trail_is_for_admins_only,
    the_audit_trail_is_for_admins_only
);
