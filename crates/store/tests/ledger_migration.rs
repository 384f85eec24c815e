//! Migration 0010 on both stores: a database of before ledger v2 (its v1 entries planted by
//! SQL, as the old schema held them) migrates into transfers, accounts and balances.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[derive(Clone, Copy)]
enum Db {
    Sqlite,
    Postgres,
}

/// Removes a test's SQLite folder when the test ends.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

fn store_options(db: Db) -> (store::StoreOptions, Option<TempDir>) {
    match db {
        Db::Sqlite => {
            let dir = std::env::temp_dir().join(unique("smsbus_store_test"));
            std::fs::create_dir_all(&dir).unwrap();
            let url = dir.join("test.db").to_str().unwrap().to_owned();
            let options = store::StoreOptions {
                url,
                postgres_schema: None,
            };
            (options, Some(TempDir(dir)))
        }
        Db::Postgres => {
            let url = std::env::var("SMSBUS_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let options = store::StoreOptions {
                url,
                postgres_schema: Some(unique("t")),
            };
            (options, None)
        }
    }
}

fn old_ride(id: &str) -> store::rides::NewRide {
    store::rides::NewRide {
        id: domain::ride::RideId::parse(id).unwrap(),
        idempotency_scope: "+77011234567".into(),
        idempotency_key: id.into(),
        request_hash: "00".into(),
        channel: "api".into(),
        phone: "+77011234567".into(),
        operator: "kcell".into(),
        transport_code: "10101".into(),
        route_id: "astana-10".into(),
        city_id: "astana".into(),
        carrier_id: "astana-bus".into(),
        rider_category: "regular".into(),
        zone: None,
        amount_tiyn: 9_000,
        language: "en".into(),
        created_at_ms: 1,
        ordinal_on_vehicle: 1,
        card_number: None,
        fare_basis: None,
        regular_fare_tiyn: None,
    }
}

/// A store of before ledger v2 (schema 9) with the v1 entries of three rides — one posted,
/// one voided, one still reserved — migrates into transfers, accounts and balances.
async fn ledger_v1_entries_migrate_into_transfers(db: Db) {
    let (options, _dir) = store_options(db);
    let store = store::Store::open_with(options.clone()).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    store::db::execute_script(
        &mut tx,
        "DROP TABLE ledger_entries; DROP TABLE ledger_transfers; DROP TABLE ledger_accounts; \
         CREATE TABLE ledger_entries (id BIGINT PRIMARY KEY, ride_id TEXT NOT NULL, account TEXT NOT NULL, \
         layer TEXT NOT NULL, amount_tiyn BIGINT NOT NULL, created_at_ms BIGINT NOT NULL); \
         DELETE FROM schema_migrations WHERE version = 10;",
    )
    .await
    .unwrap();
    let (posted, voided, open) = (
        "000000000001aaaaaaaaaaaaaaaa",
        "000000000001bbbbbbbbbbbbbbbb",
        "000000000001cccccccccccccccc",
    );
    for id in [posted, voided, open] {
        store::rides::insert(&mut tx, &old_ride(id)).await.unwrap();
    }
    let (op, carrier) = ("operator:kcell:receivable", "carrier:astana-bus:payable");
    let mut entries = Vec::new();
    for ride in [posted, voided, open] {
        entries.push((ride, op, "pending", 9_000, 1));
        entries.push((ride, carrier, "pending", -9_000, 1));
    }
    for (layer, sign) in [("pending", -1), ("posted", 1)] {
        entries.push((posted, op, layer, sign * 9_000, 2));
        entries.push((posted, carrier, layer, -sign * 9_000, 2));
    }
    entries.push((voided, op, "pending", -9_000, 3));
    entries.push((voided, carrier, "pending", 9_000, 3));
    for (id, (ride, account, layer, amount, at)) in entries.into_iter().enumerate() {
        store::db::query(
            "INSERT INTO ledger_entries (id, ride_id, account, layer, amount_tiyn, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(i64::try_from(id).unwrap() + 1)
        .bind(ride)
        .bind(account)
        .bind(layer)
        .bind(amount)
        .bind(at)
        .execute(&mut tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    drop(store);

    let store = store::Store::open_with(options).await.unwrap();
    let mut conn = store.reader().await.unwrap();
    let balances: Vec<(String, String, i64, i64)> = store::ledger::balances(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.kind, a.owner, a.pending_tiyn, a.posted_tiyn))
        .collect();
    assert_eq!(
        balances,
        vec![
            (
                "carrier_payable".into(),
                "astana-bus".into(),
                -9_000,
                -9_000
            ),
            ("operator_receivable".into(), "kcell".into(), 9_000, 9_000),
        ],
        "one reservation open, one ride posted"
    );
    let audit = store::ledger::audit(&mut conn).await.unwrap();
    assert!(
        audit
            .iter()
            .all(|a| a.account.pending_tiyn == a.entries_pending_tiyn
                && a.account.posted_tiyn == a.entries_posted_tiyn)
    );
    assert_eq!(
        store::ledger::unbalanced_transfers(&mut conn)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        store::ledger::count_by_kind(&mut conn).await.unwrap(),
        vec![("ride".to_owned(), 5)]
    );
    for (transfer, count) in [
        (format!("{posted}.reserve"), 2),
        (format!("{posted}.post"), 4),
        (format!("{voided}.void"), 2),
        (format!("{open}.reserve"), 2),
        (format!("{open}.void"), 0),
    ] {
        let entries = store::ledger::entries_of(&mut conn, &transfer)
            .await
            .unwrap();
        assert_eq!(entries.len(), count, "{transfer}");
    }
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_v1_entries_migrate_into_transfers_on_sqlite() {
    ledger_v1_entries_migrate_into_transfers(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_v1_entries_migrate_into_transfers_on_postgres() {
    ledger_v1_entries_migrate_into_transfers(Db::Postgres).await;
}
