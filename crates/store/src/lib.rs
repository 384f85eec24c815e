//! All SQL of SMSBUS lives here: the SQLite and PostgreSQL dialects, both migration trees,
//! and the row types. Nothing above this crate writes a query; nothing in this crate knows a
//! domain rule. Rows are plain values (strings, integers) that the service converts, but for
//! the ids every layer shares, which are their domain types (`ids`: ticket numbers).
//!
//! SQLite is the embedded default (one file, WAL, one writer connection so writes never race
//! each other for the lock), run in place through rusqlite; PostgreSQL is the production store,
//! through sqlx. The same queries run on both through [`db::query`], written in the common
//! subset (`$1` parameters, `ON CONFLICT`, `RETURNING`, integers for booleans and times).

pub mod audit;
pub mod cards;
pub mod catalogue;
pub mod db;
pub mod feedback;
mod group_commit;
pub mod holds;
mod ids;
pub mod inspections;
pub mod keys;
pub mod ledger;
pub mod live;
mod migrate;
pub mod office;
pub mod passengers;
pub mod reconcile;
pub mod refunds;
pub mod reports;
pub mod rides;
pub mod sessions;
pub mod sms;
pub mod staff;
pub mod tickets;
pub mod top_ups;
pub mod transit;

use std::future::Future;
use std::panic::Location;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor as _, PgPool, Postgres};

pub use db::{DatabaseError, Executor};
pub use group_commit::{GROUP_COMMIT_MEMBERS_MAX, GroupCommits};
pub use holds::{HoldKind, HoldSite};

/// How long a query may wait for a connection or a lock before it fails.
pub const ACQUIRE_TIMEOUT_S: u64 = 10;
pub const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;
/// Idle SQLite reader connections kept open; more are opened while many read at once.
pub const SQLITE_IDLE_READERS_MAX: usize = 16;
/// Prepared statements kept per SQLite connection.
pub const SQLITE_STATEMENT_CACHE: usize = 128;
pub const POSTGRES_CONNECTIONS_MAX: u32 = 24;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(DatabaseError),
    #[error("database url `{0}` is neither a SQLite path nor a postgres:// URL")]
    BadUrl(String),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        source: Box<StoreError>,
    },
    #[error("unexpected data in column {column}: {detail}")]
    Corrupt {
        column: &'static str,
        detail: String,
    },
    /// Refused by the ledger's write path before anything was written.
    #[error("ledger transfer {transfer} does not balance in every layer")]
    Unbalanced { transfer: String },
    /// Refused by the ledger's write path: the transfer would overdraw a flagged account.
    #[error("ledger transfer {transfer} would overdraw {account_kind}:{account_owner}")]
    Overdrawn {
        transfer: String,
        account_kind: String,
        account_owner: String,
    },
    /// A group commit that did not happen: the writes of every member of its batch are lost.
    #[error("group commit: {0}")]
    GroupCommit(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Where the data lives.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// A SQLite file path (or `sqlite:` URL), or a `postgres://` URL.
    pub url: String,
    /// PostgreSQL only: keep every table in this schema (created if missing). Tests give each
    /// run its own schema so they never see each other's rows.
    pub postgres_schema: Option<String>,
}

#[derive(Clone)]
pub struct Store {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Sqlite(Arc<Sqlite>),
    Postgres(PgPool),
}

/// One SQLite file: a single writer connection, taken in turn (writes never race each other
/// for the file's lock), and readers that never wait for it (WAL).
struct Sqlite {
    path: PathBuf,
    writer: group_commit::Turns,
    readers: Mutex<Vec<rusqlite::Connection>>,
    /// One checkpoint at a time in this process: a second one would only find SQLite's
    /// checkpoint lock taken and give up.
    checkpointing: Mutex<()>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

/// A write transaction. Commit it with `tx.commit().await`; dropping it rolls back. Every
/// query function of this crate takes it (or a [`Reader`]) as `&mut tx`.
pub struct Tx {
    inner: TxInner,
}

enum TxInner {
    /// `None` once committed.
    Sqlite {
        held: Option<group_commit::Held>,
        store: Arc<Sqlite>,
    },
    Postgres(sqlx::Transaction<'static, Postgres>),
    /// Committed.
    Done,
}

impl Tx {
    pub async fn commit(mut self) -> Result<()> {
        match &mut self.inner {
            TxInner::Sqlite { held, store } => {
                let Some(held) = held.take() else {
                    return Ok(());
                };
                store.writer.commit(held).await
            }
            TxInner::Postgres(_) => match std::mem::replace(&mut self.inner, TxInner::Done) {
                TxInner::Postgres(tx) => Ok(tx.commit().await?),
                _ => Ok(()),
            },
            TxInner::Done => Ok(()),
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if let TxInner::Sqlite {
            held: Some(held), ..
        } = &mut self.inner
        {
            held.roll_back();
        }
    }
}

impl Executor for Tx {
    fn target(&mut self) -> db::Target<'_> {
        match &mut self.inner {
            TxInner::Sqlite {
                held: Some(held), ..
            } => db::Target::Sqlite(&mut held.guard.conn),
            // A committed transaction is consumed by `commit`, so these arms are never
            // reached; a fresh in-memory connection would only hide a bug, so fail loudly.
            TxInner::Sqlite { held: None, .. } | TxInner::Done => unreachable_target(),
            TxInner::Postgres(tx) => db::Target::Postgres(tx),
        }
    }
}

/// A connection for reads; on SQLite it never waits for the writer.
pub struct Reader {
    inner: ReaderInner,
}

enum ReaderInner {
    Sqlite {
        conn: Option<rusqlite::Connection>,
        store: Arc<Sqlite>,
        /// When it was taken, and by which call site.
        since: Instant,
        at: &'static Location<'static>,
    },
    Postgres(PoolConnection<Postgres>),
}

impl Executor for Reader {
    fn target(&mut self) -> db::Target<'_> {
        match &mut self.inner {
            ReaderInner::Sqlite {
                conn: Some(conn), ..
            } => db::Target::Sqlite(conn),
            ReaderInner::Sqlite { conn: None, .. } => unreachable_target(),
            ReaderInner::Postgres(conn) => db::Target::Postgres(conn),
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let ReaderInner::Sqlite {
            conn,
            store,
            since,
            at,
        } = &mut self.inner
            && let Some(conn) = conn.take()
        {
            store
                .writer
                .holds
                .record(HoldKind::Read, at, since.elapsed());
            let mut idle = store.readers.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < SQLITE_IDLE_READERS_MAX {
                idle.push(conn);
            }
        }
    }
}

fn unreachable_target() -> ! {
    unreachable!("a store connection used after it was given back")
}

impl Store {
    pub async fn open(url: &str) -> Result<Store> {
        Store::open_with(StoreOptions {
            url: url.to_owned(),
            postgres_schema: None,
        })
        .await
    }

    /// Connects, creates what is missing and applies pending migrations.
    pub async fn open_with(options: StoreOptions) -> Result<Store> {
        let store = match sqlite_path(&options.url) {
            None => open_postgres(&options).await?,
            Some(_) => open_sqlite(&options.url)?,
        };
        migrate::run(&store).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        match &self.inner {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a write transaction. On SQLite writers take turns, first come first served.
    #[track_caller]
    pub fn begin(&self) -> impl Future<Output = Result<Tx>> + Send + '_ {
        self.begin_with(false, Location::caller())
    }

    /// Starts a short write transaction whose commit may share SQLite's `COMMIT` with others
    /// (group commit, [`group_commit`]): its `commit` still returns only once its writes are
    /// durable. For the hot paths whose transactions hold the writer briefly; a long one
    /// would make every member of its batch wait. PostgreSQL: [`Store::begin`].
    #[track_caller]
    pub fn begin_grouped(&self) -> impl Future<Output = Result<Tx>> + Send + '_ {
        self.begin_with(true, Location::caller())
    }

    async fn begin_with(&self, grouped: bool, at: &'static Location<'static>) -> Result<Tx> {
        match &self.inner {
            Inner::Sqlite(sqlite) => {
                let held = sqlite.writer.begin(grouped, at).await?;
                Ok(Tx {
                    inner: TxInner::Sqlite {
                        held: Some(held),
                        store: Arc::clone(sqlite),
                    },
                })
            }
            Inner::Postgres(pool) => Ok(Tx {
                inner: TxInner::Postgres(pool.begin().await?),
            }),
        }
    }

    /// SQLite: what group commit did so far; `None` on PostgreSQL.
    pub fn group_commits(&self) -> Option<GroupCommits> {
        match &self.inner {
            Inner::Sqlite(sqlite) => Some(sqlite.writer.stats()),
            Inner::Postgres(_) => None,
        }
    }

    /// SQLite: write transactions waiting for the writer now; 0 on PostgreSQL.
    pub fn writers_waiting(&self) -> usize {
        match &self.inner {
            Inner::Sqlite(sqlite) => sqlite.writer.waiting(),
            Inner::Postgres(_) => 0,
        }
    }

    /// SQLite: how long each call site held the writer, waited for it, and read, with the
    /// `COMMIT`s and checkpoints, since the last call ([`holds`]); `None` on PostgreSQL.
    pub fn take_holds(&self) -> Option<Vec<HoldSite>> {
        match &self.inner {
            Inner::Sqlite(sqlite) => Some(sqlite.writer.holds.take()),
            Inner::Postgres(_) => None,
        }
    }

    /// A connection for reads; on SQLite it never waits for writers.
    #[track_caller]
    pub fn reader(&self) -> impl Future<Output = Result<Reader>> + Send + '_ {
        self.reader_for(Location::caller())
    }

    async fn reader_for(&self, at: &'static Location<'static>) -> Result<Reader> {
        match &self.inner {
            Inner::Sqlite(sqlite) => {
                let idle = sqlite
                    .readers
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop();
                let conn = match idle {
                    Some(conn) => conn,
                    None => sqlite_connection(&sqlite.path, false)?,
                };
                Ok(Reader {
                    inner: ReaderInner::Sqlite {
                        conn: Some(conn),
                        store: Arc::clone(sqlite),
                        since: Instant::now(),
                        at,
                    },
                })
            }
            Inner::Postgres(pool) => Ok(Reader {
                inner: ReaderInner::Postgres(pool.acquire().await?),
            }),
        }
    }

    /// SQLite: copies the WAL into the database file now, holding writers back, so the next
    /// write starts the WAL afresh (the checkpointer does this by itself when the WAL grows long).
    /// `None` on PostgreSQL, which checkpoints by itself.
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>> {
        match &self.inner {
            Inner::Sqlite(sqlite) => {
                let writer = sqlite.writer.alone().await;
                let _alone = sqlite
                    .checkpointing
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                Ok(Some(wal_checkpoint(&writer.conn, CheckpointMode::Full)?))
            }
            Inner::Postgres(_) => Ok(None),
        }
    }

    pub async fn close(&self) {
        match &self.inner {
            Inner::Sqlite(sqlite) => sqlite
                .readers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear(),
            Inner::Postgres(pool) => pool.close().await,
        }
    }
}

/// The SQLite file a database URL names (a path, or a `sqlite:` URL); `None` for PostgreSQL.
pub fn sqlite_path(url: &str) -> Option<&str> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    Some(
        url.strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url),
    )
}

fn open_sqlite(url: &str) -> Result<Store> {
    let path = sqlite_path(url).unwrap_or_default();
    if path.is_empty() || path.contains('?') {
        return Err(StoreError::BadUrl(url.to_owned()));
    }
    let path = PathBuf::from(path);
    let writer = sqlite_connection(&path, true)?;
    // Commits only append to the WAL; copying it back into the file (with its fsync) is the
    // checkpointer's job, off the writer's path.
    // Once checkpointed, the WAL restarts from its beginning and is cut back to this size.
    writer.execute_batch("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;")?;
    let checkpointer = sqlite_connection(&path, false)?;
    let sqlite = Arc::new(Sqlite {
        path,
        writer: group_commit::Turns::new(writer, Arc::default()),
        readers: Mutex::new(Vec::new()),
        checkpointing: Mutex::new(()),
    });
    let store = Arc::downgrade(&sqlite);
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || checkpoint_while_open(&store, &checkpointer))
        .map_err(|e| StoreError::BadUrl(format!("{url}: cannot start the checkpointer: {e}")))?;
    Ok(Store {
        inner: Inner::Sqlite(sqlite),
    })
}

/// How often the WAL is copied back into the database file.
pub const SQLITE_CHECKPOINT_EVERY_MS: u64 = 200;
/// A WAL longer than this many pages is checkpointed with writers held back for a moment, so
/// it can restart from its beginning; under a steady stream of writes it never would.
pub const SQLITE_WAL_RESTART_PAGES: i64 = 8_192;

/// Copies the WAL into the database file now and then, until the store is dropped. Mostly
/// `PASSIVE` beside the writer and the readers; when the WAL has grown long, once more while
/// holding the writer's turn (`FULL`), which copies the few frames left and lets the WAL restart.
fn checkpoint_while_open(store: &std::sync::Weak<Sqlite>, conn: &rusqlite::Connection) {
    loop {
        std::thread::sleep(Duration::from_millis(SQLITE_CHECKPOINT_EVERY_MS));
        let Some(sqlite) = store.upgrade() else {
            return;
        };
        let passive = {
            let _alone = sqlite
                .checkpointing
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let started = Instant::now();
            let done = wal_checkpoint(conn, CheckpointMode::Passive);
            sqlite.writer.holds.record(
                HoldKind::CheckpointBeside,
                Location::caller(),
                started.elapsed(),
            );
            done
        };
        let pages = match passive {
            Ok(done) => done.wal_pages,
            Err(error) => {
                tracing::warn!(%error, "SQLite checkpoint failed; will try again");
                continue;
            }
        };
        if pages > SQLITE_WAL_RESTART_PAGES {
            let started = Instant::now();
            let writer = sqlite.writer.alone_blocking();
            let holding = Instant::now();
            let done = {
                let _alone = sqlite
                    .checkpointing
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                wal_checkpoint(&writer.conn, CheckpointMode::Full)
            };
            drop(writer);
            sqlite.writer.holds.record(
                HoldKind::CheckpointHoldingWriter,
                Location::caller(),
                holding.elapsed(),
            );
            match done {
                Ok(done) => tracing::debug!(
                    ?done,
                    held_ms = started.elapsed().as_secs_f64() * 1000.0,
                    "SQLite WAL checkpointed for restart"
                ),
                Err(error) => tracing::warn!(%error, "SQLite checkpoint failed; will try again"),
            }
        }
    }
}

/// What a checkpoint found and did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Another process held the checkpoint (or a reader held it back): not everything was copied.
    pub busy: bool,
    /// Pages in the WAL.
    pub wal_pages: i64,
    /// Of those, pages now copied into the database file.
    pub copied_pages: i64,
}

/// How a checkpoint treats the others on the file.
#[derive(Clone, Copy)]
enum CheckpointMode {
    /// Copies what it can without waiting for anyone.
    Passive,
    /// Waits (up to the busy timeout) for a checkpoint in progress and for readers of older
    /// snapshots, so everything gets copied. Run only while holding the writer's turn.
    Full,
}

fn wal_checkpoint(
    conn: &rusqlite::Connection,
    mode: CheckpointMode,
) -> rusqlite::Result<Checkpoint> {
    let sql = match mode {
        CheckpointMode::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
        CheckpointMode::Full => "PRAGMA wal_checkpoint(FULL)",
    };
    conn.query_row(sql, [], |row| {
        Ok(Checkpoint {
            busy: row.get::<_, i64>(0)? != 0,
            wal_pages: row.get(1)?,
            copied_pages: row.get(2)?,
        })
    })
}

/// WAL with synchronous=NORMAL: a committed transaction survives a crash of the process (the
/// case recovery is built for); only an OS crash or power loss can lose the last few commits.
fn sqlite_connection(path: &std::path::Path, create: bool) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = rusqlite::Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )?;
    conn.set_prepared_statement_cache_capacity(SQLITE_STATEMENT_CACHE);
    // The query planner's stability guarantee: a plan never depends on a bound value. Without
    // it SQLite marks a statement to be compiled again whenever a parameter it looked at is
    // bound anew (a `LIMIT $n`, a column a partial index implies non-null), which made every
    // run of the ride path's queries parse its SQL again: a cached statement stays compiled.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(conn)
}

async fn open_postgres(options: &StoreOptions) -> Result<Store> {
    let connect: PgConnectOptions = options.url.parse()?;
    let schema = options.postgres_schema.clone();
    if let Some(schema) = &schema {
        let valid = !schema.is_empty()
            && schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(StoreError::BadUrl(format!("schema {schema}")));
        }
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&connect).await?;
        conn.execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
            .await?;
    }
    let pool = PgPoolOptions::new()
        .max_connections(POSTGRES_CONNECTIONS_MAX)
        .acquire_timeout(Duration::from_secs(ACQUIRE_TIMEOUT_S))
        .after_connect(move |conn, _| {
            let schema = schema.clone();
            Box::pin(async move {
                if let Some(schema) = schema {
                    conn.execute(format!("SET search_path TO {schema}").as_str())
                        .await?;
                }
                Ok(())
            })
        })
        .connect_with(connect)
        .await?;
    Ok(Store {
        inner: Inner::Postgres(pool),
    })
}

/// True when the error is a unique-key violation (the idempotency guard fired).
pub fn is_unique_violation(error: &StoreError) -> bool {
    match error {
        StoreError::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    // Test code: a failed unwrap is a failed test, with its message.
    #![allow(clippy::unwrap_used)]

    use rusqlite::StatementStatus;
    use rusqlite::config::DbConfig;

    /// How often a cached statement was compiled again over runs with other bound values.
    fn reprepares(conn: &rusqlite::Connection) -> i32 {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS t (a INTEGER, b TEXT);
             CREATE INDEX IF NOT EXISTS t_b ON t (b, a) WHERE b IS NOT NULL;",
        )
        .unwrap();
        let sql = "SELECT a FROM t WHERE b = ?1 ORDER BY a LIMIT ?2";
        for (b, limit) in [("x", 5), ("y", 6), ("z", 7)] {
            let mut statement = conn.prepare_cached(sql).unwrap();
            let _rows: Vec<i64> = statement
                .query_map(rusqlite::params![b, limit], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        }
        conn.prepare_cached(sql)
            .unwrap()
            .get_status(StatementStatus::RePrepare)
    }

    #[test]
    fn a_cached_statement_is_not_compiled_again_for_new_bound_values() {
        let path = std::env::temp_dir().join(format!("smsbus-qpsg-{}.db", std::process::id()));
        let _gone = std::fs::remove_file(&path);
        let conn = super::sqlite_connection(&path, true).unwrap();
        assert_eq!(reprepares(&conn), 0, "the store's connections keep plans");
        // Without the planner's stability guarantee the same statement is compiled again on
        // every run: what the setting is there to prevent.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, false)
            .unwrap();
        conn.flush_prepared_statement_cache();
        assert!(reprepares(&conn) > 0, "SQLite recompiles without QPSG");
        drop(conn);
        for suffix in ["", "-wal", "-shm"] {
            let _gone = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
