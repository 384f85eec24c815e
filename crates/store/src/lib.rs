//! All SQL of SMSBUS lives here: the SQLite and PostgreSQL dialects, both migration trees,
//! and the row types. Nothing above this crate writes a query; nothing in this crate knows a
//! domain rule. Rows are plain values (strings, integers); the service converts them.
//!
//! SQLite is the embedded default (one file, WAL, one writer connection so writes never race
//! each other for the lock); PostgreSQL is the production store. The same queries run on both
//! through sqlx's `Any` driver, written in the common subset (`$1` parameters, `ON CONFLICT`,
//! `RETURNING`, integers for booleans and times).

pub mod catalogue;
pub mod inspections;
pub mod keys;
pub mod ledger;
pub mod live;
mod migrate;
pub mod passengers;
pub mod rides;
pub mod sessions;
pub mod sms;
pub mod tickets;
pub mod transit;

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Executor};

pub use sqlx::AnyConnection as Connection;

/// A write transaction. Commit it with `tx.commit().await`; dropping it rolls back. It derefs
/// to a connection, so every query function of this crate takes it as `&mut tx`.
pub struct Tx(sqlx::Transaction<'static, Any>);

impl Tx {
    pub async fn commit(self) -> Result<()> {
        Ok(self.0.commit().await?)
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.0
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.0
    }
}

/// How long a query may wait for a connection or a lock before it fails.
pub const ACQUIRE_TIMEOUT_S: u64 = 10;
pub const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;
pub const SQLITE_READERS_MAX: u32 = 8;
pub const POSTGRES_CONNECTIONS_MAX: u32 = 24;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database url `{0}` is neither a SQLite path nor a postgres:// URL")]
    BadUrl(String),
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        source: sqlx::Error,
    },
    #[error("unexpected data in column {column}: {detail}")]
    Corrupt {
        column: &'static str,
        detail: String,
    },
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

#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    write: AnyPool,
    read: AnyPool,
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
        sqlx::any::install_default_drivers();
        let store =
            if options.url.starts_with("postgres://") || options.url.starts_with("postgresql://") {
                open_postgres(&options).await?
            } else {
                open_sqlite(&options.url).await?
            };
        migrate::run(&store).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx(self.write.begin().await?))
    }

    /// A connection for reads; on SQLite it never waits for writers.
    pub async fn reader(&self) -> Result<PoolConnection<Any>> {
        Ok(self.read.acquire().await?)
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

async fn open_sqlite(url: &str) -> Result<Store> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() || path.contains('?') {
        return Err(StoreError::BadUrl(url.to_owned()));
    }
    let connect: AnyConnectOptions = format!("sqlite://{path}?mode=rwc").parse()?;
    let write = AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(ACQUIRE_TIMEOUT_S))
        .after_connect(|conn, _| Box::pin(sqlite_pragmas(conn)))
        .connect_with(connect.clone())
        .await?;
    let read = AnyPoolOptions::new()
        .max_connections(SQLITE_READERS_MAX)
        .acquire_timeout(Duration::from_secs(ACQUIRE_TIMEOUT_S))
        .after_connect(|conn, _| Box::pin(sqlite_pragmas(conn)))
        .connect_with(connect)
        .await?;
    Ok(Store {
        backend: Backend::Sqlite,
        write,
        read,
    })
}

/// WAL with synchronous=NORMAL: a committed transaction survives a crash of the process (the
/// case recovery is built for); only an OS crash or power loss can lose the last few commits.
async fn sqlite_pragmas(conn: &mut sqlx::AnyConnection) -> std::result::Result<(), sqlx::Error> {
    let pragmas = format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};"
    );
    conn.execute(pragmas.as_str()).await?;
    Ok(())
}

async fn open_postgres(options: &StoreOptions) -> Result<Store> {
    let connect: AnyConnectOptions = options.url.parse()?;
    let schema = options.postgres_schema.clone();
    if let Some(schema) = &schema {
        let valid = !schema.is_empty()
            && schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(StoreError::BadUrl(format!("schema {schema}")));
        }
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect_with(&connect).await?;
        conn.execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
            .await?;
    }
    let pool = AnyPoolOptions::new()
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
        backend: Backend::Postgres,
        write: pool.clone(),
        read: pool,
    })
}

/// True when the error is a unique-key violation (the idempotency guard fired).
pub fn is_unique_violation(error: &StoreError) -> bool {
    match error {
        StoreError::Database(sqlx::Error::Database(db)) => db.is_unique_violation(),
        _ => false,
    }
}
