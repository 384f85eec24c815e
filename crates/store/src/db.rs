//! The one seam between the store's queries and the two databases.
//!
//! Every query of the store is written once, in the SQL both dialects share (`$1` parameters,
//! `ON CONFLICT`, `RETURNING`, integers for booleans and times), and run through [`query`]:
//! on SQLite it runs in place on an embedded connection (a statement takes microseconds, and
//! no thread hop or wake-up sits between the caller and the file); on PostgreSQL it goes over
//! sqlx's connection. Rows come back as plain values, read by column index.

use std::borrow::Cow;

use sqlx::postgres::PgRow;
use sqlx::{Column, PgConnection, TypeInfo, ValueRef};

use crate::{Result, StoreError};

/// What a query runs on: a reader, a transaction, or a bare connection of the store.
pub trait Executor: Send {
    fn target(&mut self) -> Target<'_>;
}

/// The connection under an [`Executor`].
pub enum Target<'a> {
    Sqlite(&'a mut rusqlite::Connection),
    Postgres(&'a mut PgConnection),
}

impl Executor for rusqlite::Connection {
    fn target(&mut self) -> Target<'_> {
        Target::Sqlite(self)
    }
}

impl Executor for PgConnection {
    fn target(&mut self) -> Target<'_> {
        Target::Postgres(self)
    }
}

/// A bound parameter. Nulls are typed, so PostgreSQL knows the column's type.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
    Blob(Option<&'a [u8]>),
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(Some(v))
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(v: Option<i64>) -> Self {
        Param::Int(v)
    }
}

impl From<&Option<i64>> for Param<'_> {
    fn from(v: &Option<i64>) -> Self {
        Param::Int(*v)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(Some(v))
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(Some(v))
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Param::Text(v.as_deref())
    }
}

impl<'a> From<&'a [u8]> for Param<'a> {
    fn from(v: &'a [u8]) -> Self {
        Param::Blob(Some(v))
    }
}

impl<'a> From<&'a Vec<u8>> for Param<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Param::Blob(Some(v))
    }
}

/// A column value as read.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// One row, its values in the order of the query's columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Row(Vec<Value>);

impl Row {
    pub fn try_get<T: FromValue>(&self, index: usize) -> Result<T> {
        let value = self.0.get(index).ok_or_else(|| StoreError::Corrupt {
            column: "?",
            detail: format!("no column {index}"),
        })?;
        T::from_value(value).ok_or_else(|| StoreError::Corrupt {
            column: "?",
            detail: format!("column {index} holds {value:?}, not {}", T::NAME),
        })
    }
}

/// A Rust type a column can be read as.
pub trait FromValue: Sized {
    const NAME: &'static str;
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    const NAME: &'static str = "an integer";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromValue for String {
    const NAME: &'static str = "text";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    const NAME: &'static str = "bytes";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Blob(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const NAME: &'static str = T::NAME;
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// A statement with its parameters, built like sqlx's: `query(sql).bind(a).bind(b)`.
#[must_use]
pub struct Query<'q> {
    sql: Cow<'q, str>,
    params: Vec<Param<'q>>,
}

pub fn query<'q>(sql: impl Into<Cow<'q, str>>) -> Query<'q> {
    Query {
        sql: sql.into(),
        params: Vec::new(),
    }
}

/// What a statement changed.
pub struct Done {
    rows_affected: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

impl<'q> Query<'q> {
    pub fn bind(mut self, value: impl Into<Param<'q>>) -> Self {
        self.params.push(value.into());
        self
    }

    pub fn try_map<T, F: Fn(Row) -> Result<T>>(self, map: F) -> Map<'q, F> {
        Map { query: self, map }
    }

    pub async fn execute(self, db: &mut dyn Executor) -> Result<Done> {
        match db.target() {
            Target::Sqlite(conn) => sqlite::execute(conn, &self.sql, &self.params),
            Target::Postgres(conn) => {
                let done = postgres::bound(&self.sql, &self.params)
                    .execute(conn)
                    .await?;
                Ok(Done {
                    rows_affected: done.rows_affected(),
                })
            }
        }
    }

    pub async fn fetch_all(self, db: &mut dyn Executor) -> Result<Vec<Row>> {
        match db.target() {
            Target::Sqlite(conn) => sqlite::fetch(conn, &self.sql, &self.params, usize::MAX),
            Target::Postgres(conn) => postgres::bound(&self.sql, &self.params)
                .fetch_all(conn)
                .await?
                .iter()
                .map(postgres::row)
                .collect(),
        }
    }

    pub async fn fetch_optional(self, db: &mut dyn Executor) -> Result<Option<Row>> {
        match db.target() {
            Target::Sqlite(conn) => Ok(sqlite::fetch(conn, &self.sql, &self.params, 1)?.pop()),
            Target::Postgres(conn) => postgres::bound(&self.sql, &self.params)
                .fetch_optional(conn)
                .await?
                .as_ref()
                .map(postgres::row)
                .transpose(),
        }
    }

    pub async fn fetch_one(self, db: &mut dyn Executor) -> Result<Row> {
        self.fetch_optional(db)
            .await?
            .ok_or(StoreError::Database(DatabaseError::RowNotFound))
    }
}

/// A query whose rows are turned into values as they are read.
#[must_use]
pub struct Map<'q, F> {
    query: Query<'q>,
    map: F,
}

impl<T, F: Fn(Row) -> Result<T>> Map<'_, F> {
    pub async fn fetch_all(self, db: &mut dyn Executor) -> Result<Vec<T>> {
        let rows = self.query.fetch_all(db).await?;
        rows.into_iter().map(&self.map).collect()
    }

    pub async fn fetch_optional(self, db: &mut dyn Executor) -> Result<Option<T>> {
        self.query
            .fetch_optional(db)
            .await?
            .map(&self.map)
            .transpose()
    }

    pub async fn fetch_one(self, db: &mut dyn Executor) -> Result<T> {
        (self.map)(self.query.fetch_one(db).await?)
    }
}

/// Runs a script of several statements without parameters (the migrations).
pub async fn execute_script(db: &mut dyn Executor, sql: &str) -> Result<()> {
    match db.target() {
        Target::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
        Target::Postgres(conn) => {
            sqlx::raw_sql(sql).execute(conn).await?;
            Ok(())
        }
    }
}

/// An error of either database.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Postgres(#[from] sqlx::Error),
    #[error("no row where one was expected")]
    RowNotFound,
}

impl DatabaseError {
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DatabaseError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            DatabaseError::Postgres(sqlx::Error::Database(db)) => db.is_unique_violation(),
            _ => false,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(DatabaseError::Sqlite(e))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(DatabaseError::Postgres(e))
    }
}

mod sqlite {
    use rusqlite::types::ValueRef;

    use super::{Done, Param, Row, Value};
    use crate::{Result, StoreError};

    fn prepare<'c>(
        conn: &'c rusqlite::Connection,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<rusqlite::CachedStatement<'c>> {
        let mut statement = conn.prepare_cached(sql)?;
        for index in 1..=statement.parameter_count() {
            // `$3` (or `?3`) is the third bound value, wherever and however often it appears.
            let position = statement
                .parameter_name(index)
                .and_then(|name| name.get(1..))
                .and_then(|digits| digits.parse::<usize>().ok())
                .unwrap_or(index);
            let param = position
                .checked_sub(1)
                .and_then(|i| params.get(i))
                .ok_or_else(|| StoreError::Corrupt {
                    column: "?",
                    detail: format!(
                        "statement wants parameter {position}, {} bound",
                        params.len()
                    ),
                })?;
            match *param {
                Param::Int(v) => statement.raw_bind_parameter(index, v)?,
                Param::Text(v) => statement.raw_bind_parameter(index, v)?,
                Param::Blob(v) => statement.raw_bind_parameter(index, v)?,
            }
        }
        Ok(statement)
    }

    pub(super) fn execute(
        conn: &rusqlite::Connection,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Done> {
        let mut statement = prepare(conn, sql, params)?;
        let changed = statement.raw_execute()?;
        Ok(Done {
            rows_affected: u64::try_from(changed).unwrap_or(u64::MAX),
        })
    }

    pub(super) fn fetch(
        conn: &rusqlite::Connection,
        sql: &str,
        params: &[Param<'_>],
        limit: usize,
    ) -> Result<Vec<Row>> {
        let mut statement = prepare(conn, sql, params)?;
        let columns = statement.column_count();
        let mut rows = statement.raw_query();
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(row) = rows.next()? else { break };
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match row.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Real(v),
                    ValueRef::Text(v) => Value::Text(String::from_utf8_lossy(v).into_owned()),
                    ValueRef::Blob(v) => Value::Blob(v.to_vec()),
                });
            }
            out.push(Row(values));
        }
        Ok(out)
    }
}

mod postgres {
    use sqlx::Postgres;
    use sqlx::postgres::PgArguments;
    use sqlx::query::Query;

    use sqlx::Row as _;

    use super::{Column, Param, PgRow, Row, TypeInfo, Value, ValueRef};
    use crate::{Result, StoreError};

    pub(super) fn bound<'q>(
        sql: &'q str,
        params: &[Param<'q>],
    ) -> Query<'q, Postgres, PgArguments> {
        let mut query = sqlx::query(sql);
        for param in params {
            query = match *param {
                Param::Int(v) => query.bind(v),
                Param::Text(v) => query.bind(v),
                Param::Blob(v) => query.bind(v),
            };
        }
        query
    }

    pub(super) fn row(row: &PgRow) -> Result<Row> {
        let mut values = Vec::with_capacity(row.len());
        for (i, column) in row.columns().iter().enumerate() {
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                values.push(Value::Null);
                continue;
            }
            values.push(match column.type_info().name() {
                "INT8" => Value::Int(row.try_get::<i64, _>(i)?),
                "INT4" => Value::Int(i64::from(row.try_get::<i32, _>(i)?)),
                "INT2" => Value::Int(i64::from(row.try_get::<i16, _>(i)?)),
                "FLOAT8" => Value::Real(row.try_get::<f64, _>(i)?),
                "FLOAT4" => Value::Real(f64::from(row.try_get::<f32, _>(i)?)),
                "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => Value::Text(row.try_get::<String, _>(i)?),
                "BYTEA" => Value::Blob(row.try_get::<Vec<u8>, _>(i)?),
                other => {
                    return Err(StoreError::Corrupt {
                        column: "?",
                        detail: format!("column {} has type {other}", column.name()),
                    });
                }
            });
        }
        Ok(Row(values))
    }
}
