//! The embedded SQLite store's own mechanics: transactions, readers beside the writer, and the
//! WAL that must restart instead of growing without end.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use store::transit::{self, FeedRow};
use store::{Store, is_unique_violation};

struct TempDb(std::path::PathBuf);

impl TempDb {
    fn new(name: &str) -> TempDb {
        let path = std::env::temp_dir().join(format!(
            "smsbus-store-{name}-{}-{:?}.db",
            std::process::id(),
            std::thread::current().id()
        ));
        let db = TempDb(path);
        db.remove();
        db
    }

    fn url(&self) -> String {
        self.0.display().to_string()
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let _gone = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

fn feed(city: &str, bytes: usize) -> FeedRow {
    FeedRow {
        city_id: city.into(),
        feed: (0..bytes).map(|i| (i % 251) as u8).collect(),
        feed_sha256: "00".into(),
        summary: "test".into(),
        imported_at_ms: 1,
    }
}

#[tokio::test]
async fn a_dropped_transaction_leaves_nothing_and_readers_see_only_commits() {
    let db = TempDb::new("tx");
    let store = Store::open(&db.url()).await.expect("open");

    let mut tx = store.begin().await.expect("begin");
    transit::replace_feed(&mut tx, &feed("a", 10))
        .await
        .expect("write");
    let mut reader = store.reader().await.expect("reader");
    assert_eq!(
        transit::feed(&mut reader, "a").await.expect("read"),
        None,
        "a reader must not see an uncommitted write"
    );
    drop(tx);
    assert_eq!(transit::feed(&mut reader, "a").await.expect("read"), None);

    let mut tx = store.begin().await.expect("begin");
    transit::replace_feed(&mut tx, &feed("a", 10))
        .await
        .expect("write");
    tx.commit().await.expect("commit");
    let read = transit::feed(&mut reader, "a").await.expect("read");
    assert_eq!(read.map(|f| f.feed.len()), Some(10));
}

#[tokio::test]
async fn a_unique_violation_is_recognised() {
    let db = TempDb::new("unique");
    let store = Store::open(&db.url()).await.expect("open");
    let mut tx = store.begin().await.expect("begin");
    let insert = "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)";
    let error = store::db::query(insert)
        .bind(1_i64)
        .bind("again")
        .bind(0_i64)
        .execute(&mut tx)
        .await
        .err()
        .expect("migration 1 is recorded already");
    assert!(is_unique_violation(&error), "{error}");
}

#[tokio::test]
async fn parameters_bind_by_their_number_wherever_they_appear() {
    let db = TempDb::new("params");
    let store = Store::open(&db.url()).await.expect("open");
    let mut reader = store.reader().await.expect("reader");
    let row = store::db::query("SELECT $2, $1, $2 || $1, $3")
        .bind("a")
        .bind("b")
        .bind(None::<i64>)
        .fetch_one(&mut reader)
        .await
        .expect("select");
    assert_eq!(row.try_get::<String>(0).expect("0"), "b");
    assert_eq!(row.try_get::<String>(1).expect("1"), "a");
    assert_eq!(row.try_get::<String>(2).expect("2"), "ba");
    assert_eq!(row.try_get::<Option<i64>>(3).expect("3"), None);
    assert!(row.try_get::<i64>(0).is_err(), "text is not an integer");
}

#[tokio::test]
async fn the_wal_starts_afresh_after_a_checkpoint() {
    let db = TempDb::new("wal");
    let store = Store::open(&db.url()).await.expect("open");
    let mut tx = store.begin().await.expect("begin");
    transit::replace_feed(&mut tx, &feed("big", 8 << 20))
        .await
        .expect("write");
    tx.commit().await.expect("commit");

    let done = store
        .checkpoint()
        .await
        .expect("checkpoint")
        .expect("sqlite");
    assert!(done.wal_pages > 2_000, "{done:?}");
    assert_eq!(done.copied_pages, done.wal_pages, "everything copied");

    let mut tx = store.begin().await.expect("begin");
    transit::replace_feed(&mut tx, &feed("small", 10))
        .await
        .expect("write");
    tx.commit().await.expect("commit");
    let after = store
        .checkpoint()
        .await
        .expect("checkpoint")
        .expect("sqlite");
    assert!(
        after.wal_pages < 50,
        "the small write must start the WAL over, not append to it: {after:?}"
    );
}

async fn grouped_table(store: &Store) {
    let mut tx = store.begin().await.expect("begin");
    store::db::query("CREATE TABLE grouped (n INTEGER PRIMARY KEY)")
        .execute(&mut tx)
        .await
        .expect("table");
    tx.commit().await.expect("commit");
}

/// A grouped transaction that has written row `n`, not yet committed.
async fn grouped_insert(store: &Store, n: i64) -> store::Tx {
    let mut tx = store.begin_grouped().await.expect("begin");
    store::db::query("INSERT INTO grouped (n) VALUES ($1)")
        .bind(n)
        .execute(&mut tx)
        .await
        .expect("insert");
    tx
}

async fn grouped_rows(store: &Store) -> Vec<i64> {
    let mut reader = store.reader().await.expect("reader");
    store::db::query("SELECT n FROM grouped ORDER BY n")
        .try_map(|row| row.try_get::<i64>(0))
        .fetch_all(&mut reader)
        .await
        .expect("rows")
}

/// Grouped transactions: many at once share SQLite commits, each commit returns only once its
/// row is visible to a reader, a rolled-back one leaves only its own row out, and a plain
/// transaction among them commits the open batch before its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grouped_transactions_share_commits_and_each_is_durable_when_its_commit_returns() {
    const TRANSACTIONS: i64 = 200;
    let db = TempDb::new("grouped");
    let store = Store::open(&db.url()).await.expect("open");
    grouped_table(&store).await;

    // Every writer queues behind this one, so the batches form whatever the scheduling.
    let blocker = store.begin().await.expect("begin");
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..TRANSACTIONS {
        let store = store.clone();
        tasks.spawn(async move {
            let mut tx = match n % 25 {
                7 => store.begin().await,
                _ => store.begin_grouped().await,
            }
            .expect("begin");
            store::db::query("INSERT INTO grouped (n) VALUES ($1)")
                .bind(n)
                .execute(&mut tx)
                .await
                .expect("insert");
            if n % 10 == 3 {
                drop(tx);
                return (n, false);
            }
            tx.commit().await.expect("commit");
            let mut reader = store.reader().await.expect("reader");
            let seen = store::db::query("SELECT n FROM grouped WHERE n = $1")
                .bind(n)
                .try_map(|row| row.try_get::<i64>(0))
                .fetch_optional(&mut reader)
                .await
                .expect("read");
            assert_eq!(seen, Some(n), "row {n} is durable once its commit returned");
            (n, true)
        });
    }
    while store.writers_waiting() < usize::try_from(TRANSACTIONS).unwrap() {
        tokio::task::yield_now().await;
    }
    drop(blocker);
    let mut committed = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (n, kept) = done.expect("task");
        if kept {
            committed.push(n);
        }
    }
    committed.sort_unstable();
    let rows = grouped_rows(&store).await;
    assert_eq!(
        rows, committed,
        "exactly the committed rows, none rolled back"
    );
    let stats = store.group_commits().expect("SQLite");
    let grouped = committed.iter().filter(|n| *n % 25 != 7).count() as u64;
    assert_eq!(stats.members, grouped, "every grouped commit counted once");
    assert!(
        stats.commits * 2 <= stats.members,
        "grouped transactions shared commits: {stats:?}"
    );
}

/// A grouped transaction whose caller gives up while waiting for the batch's commit (its
/// future dropped) is still committed, also when the only writer after it rolls back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_committed_when_its_member_stops_waiting_and_the_next_rolls_back() {
    let db = TempDb::new("given-up");
    let store = Store::open(&db.url()).await.expect("open");
    grouped_table(&store).await;

    let (inserted, wait_inserted) = tokio::sync::oneshot::channel();
    let (go, wait_go) = tokio::sync::oneshot::channel::<()>();
    let first = {
        let store = store.clone();
        tokio::spawn(async move {
            let tx = grouped_insert(&store, 1).await;
            inserted.send(()).expect("signal");
            wait_go.await.expect("go");
            // Another writer waits: the turn is handed on, and this waits to commit.
            tx.commit().await
        })
    };
    wait_inserted.await.expect("inserted");
    let (drop_it, wait_drop) = tokio::sync::oneshot::channel::<()>();
    let (began, wait_began) = tokio::sync::oneshot::channel();
    let second = {
        let store = store.clone();
        tokio::spawn(async move {
            let tx = grouped_insert(&store, 2).await;
            began.send(()).expect("signal");
            wait_drop.await.expect("drop");
            drop(tx);
        })
    };
    while store.writers_waiting() == 0 {
        tokio::task::yield_now().await;
    }
    go.send(()).expect("go");
    wait_began.await.expect("began");
    // The first writer now waits for its turn again; it gives up.
    while store.writers_waiting() == 0 {
        tokio::task::yield_now().await;
    }
    first.abort();
    assert!(first.await.expect_err("aborted").is_cancelled());
    drop_it.send(()).expect("drop");
    second.await.expect("second");

    let rows = grouped_rows(&store).await;
    assert_eq!(
        rows,
        vec![1],
        "the first writer's row is committed, the second's is not"
    );
}

/// The store says how long each call site held the writer, waited for it and read, by the
/// source line that began the transaction or took the reader; a look empties the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_are_told_by_call_site_and_kind_since_the_last_look() {
    use store::HoldKind;
    let db = TempDb::new("holds");
    let store = Store::open(&db.url()).await.expect("open");
    grouped_table(&store).await;
    let _before = store.take_holds().expect("SQLite");

    let first_line = line!() + 1;
    let first = store.begin().await.expect("begin");
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move {
            let second_line = line!() + 1;
            let tx = store.begin().await.expect("second");
            tx.commit().await.expect("commit");
            second_line
        })
    };
    while store.writers_waiting() == 0 {
        tokio::task::yield_now().await;
    }
    let reader_line = line!() + 1;
    let reader = store.reader().await.expect("reader");
    let held = std::time::Instant::now();
    while held.elapsed() < std::time::Duration::from_millis(20) {
        tokio::task::yield_now().await;
    }
    drop(reader);
    first.commit().await.expect("commit");
    let second_line = waiter.await.expect("waiter");

    let holds = store.take_holds().expect("SQLite");
    let site = |kind: HoldKind, line: u32| {
        holds
            .iter()
            .find(|s| s.kind == kind && s.at.line() == line && s.at.file().ends_with("sqlite.rs"))
            .unwrap_or_else(|| panic!("{kind:?} at line {line} in {holds:?}"))
    };
    let write = site(HoldKind::Write, first_line);
    assert_eq!(write.count, 1);
    assert!(
        write.longest >= std::time::Duration::from_millis(20),
        "{write:?}"
    );
    let wait = site(HoldKind::WaitForWriter, second_line);
    assert!(
        wait.longest >= std::time::Duration::from_millis(20),
        "{wait:?}"
    );
    assert_eq!(site(HoldKind::Write, second_line).count, 1);
    assert!(site(HoldKind::Read, reader_line).longest >= std::time::Duration::from_millis(20));
    let (commits, ..) = store::holds::summary(&holds, HoldKind::Commit);
    assert_eq!(commits, 2, "each plain transaction's COMMIT: {holds:?}");
    let again = store.take_holds().expect("SQLite");
    assert!(
        again.iter().all(|s| s.kind == HoldKind::CheckpointBeside),
        "a look empties the record (but for the checkpointer's own work since): {again:?}"
    );
}
