//! The operator's lists of trackers and feed tokens: what was registered is listed with its
//! vehicle, city and scope, never a password, a token or a digest of one; the controller is
//! refused.

use serde_json::{Value, json};

use crate::harness::{Db, Method, spawn};
use crate::on_both_stores;

on_both_stores!(
    trackers_and_feed_tokens_are_listed_without_their_secrets,
    listing
);
async fn listing(db: Db) {
    let t = spawn(db).await;
    let (status, empty) = t.get(&t.admin, "/v1/admin/live/trackers").await;
    assert_eq!((status, empty), (200, json!({"trackers": []})));
    t.call(Method::POST, "/v1/admin/live/trackers").token(&t.admin).json(json!({"tracker_id": "861230043907626", "password": "s3cret-pw", "transport_code": "10102"})).expect(201)
    .await;
    let made = t.call(Method::POST, "/v1/admin/live/feed-tokens").token(&t.admin).json(json!({"city": "astana", "name": "Astana GPS partner", "vehicles": ["10101"], "authoritative": true})).expect(201)
    .await;
    let token = made["token"].as_str().unwrap().to_owned();

    let (status, trackers) = t.get(&t.admin, "/v1/admin/live/trackers").await;
    assert_eq!(status, 200, "{trackers}");
    let list = trackers["trackers"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{trackers}");
    assert_eq!(list[0]["tracker_id"], "861230043907626");
    assert_eq!(list[0]["transport_code"], "10102");
    assert!(list[0]["created_at"].as_str().unwrap().ends_with('Z'));
    let text = trackers.to_string();
    assert!(
        !text.contains("s3cret-pw") && !text.contains("password"),
        "{text}"
    );

    let (status, tokens) = t.get(&t.admin, "/v1/admin/live/feed-tokens").await;
    assert_eq!(status, 200, "{tokens}");
    let list = tokens["feed_tokens"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{tokens}");
    let listed = &list[0];
    assert_eq!(
        (
            &listed["city"],
            &listed["name"],
            &listed["vehicles"],
            &listed["carrier"],
            &listed["authoritative"]
        ),
        (
            &json!("astana"),
            &json!("Astana GPS partner"),
            &json!(["10101"]),
            &Value::Null,
            &json!(true)
        )
    );
    let id = listed["id"].as_str().unwrap();
    assert_eq!(id.len(), service::live::feeds::FEED_TOKEN_ID_CHARS);
    let text = tokens.to_string();
    assert!(!text.contains(&token), "the token is never listed: {text}");
    let digest = {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert!(digest.starts_with(id), "the id names the token's digest");
    assert!(!text.contains(&digest), "nor its whole digest: {text}");

    for path in ["/v1/admin/live/trackers", "/v1/admin/live/feed-tokens"] {
        let (status, refused) = t.get(&t.controller, path).await;
        assert_eq!(status, 403, "{path}: {refused}");
    }
}
