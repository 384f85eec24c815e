//! The audit trail's rows (`audit_log`) and its head (`audit_head`: how many rows were
//! appended and the last hash). Rows are only ever inserted; the chain's rule lives in
//! `domain::audit`, the service computes each hash.

use crate::Result;
use crate::db::{Executor, Row, query};

/// One audit row; `hash` is lowercase hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub address: String,
    pub action: String,
    pub object: String,
    pub before: String,
    pub after: String,
    pub hash: String,
}

pub(crate) const COLUMNS: &str =
    "seq, at_ms, actor, address, action, object, before_value, after_value, hash";

pub(crate) fn row(r: Row) -> Result<AuditRow> {
    Ok(AuditRow {
        seq: r.try_get(0)?,
        at_ms: r.try_get(1)?,
        actor: r.try_get(2)?,
        address: r.try_get(3)?,
        action: r.try_get(4)?,
        object: r.try_get(5)?,
        before: r.try_get(6)?,
        after: r.try_get(7)?,
        hash: r.try_get(8)?,
    })
}

/// Takes the next position in the trail inside the caller's transaction and returns it with
/// the hash of the entry before it. The head's row lock (PostgreSQL) or the one writer
/// (SQLite) keeps two appends from taking the same position.
pub async fn next_position(conn: &mut dyn Executor) -> Result<(i64, String)> {
    query("UPDATE audit_head SET written = written + 1 WHERE id = 1 RETURNING written, hash")
        .try_map(|r: Row| Ok((r.try_get(0)?, r.try_get(1)?)))
        .fetch_one(conn)
        .await
}

/// Writes the entry at the position [`next_position`] gave, and makes its hash the head's.
pub async fn append(conn: &mut dyn Executor, entry: &AuditRow) -> Result<()> {
    let sql =
        format!("INSERT INTO audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)");
    query(&sql)
        .bind(entry.seq)
        .bind(entry.at_ms)
        .bind(entry.actor.as_str())
        .bind(entry.address.as_str())
        .bind(entry.action.as_str())
        .bind(entry.object.as_str())
        .bind(entry.before.as_str())
        .bind(entry.after.as_str())
        .bind(entry.hash.as_str())
        .execute(&mut *conn)
        .await?;
    query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(entry.hash.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// How many entries were appended, by the head's count.
pub async fn written(conn: &mut dyn Executor) -> Result<i64> {
    query("SELECT written FROM audit_head WHERE id = 1")
        .try_map(|r: Row| r.try_get(0))
        .fetch_one(conn)
        .await
}

/// Entries after `after_seq` in order, at most `limit`: the pages `verify` walks.
pub async fn page(conn: &mut dyn Executor, after_seq: i64, limit: i64) -> Result<Vec<AuditRow>> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
    query(&sql)
        .bind(after_seq)
        .bind(limit)
        .try_map(row)
        .fetch_all(conn)
        .await
}

/// What an admin asks of the trail; empty filters match everything.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub object: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Entries before this position (the previous page's last), newest first.
    pub before_seq: Option<i64>,
}

/// Entries matching `filter`, newest first, at most `limit`.
pub async fn search(conn: &mut dyn Executor, filter: &Filter, limit: i64) -> Result<Vec<AuditRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR object = $2) \
         AND at_ms >= $3 AND at_ms < $4 AND seq < $5 ORDER BY seq DESC LIMIT $6"
    );
    query(&sql)
        .bind(filter.actor.as_deref())
        .bind(filter.object.as_deref())
        .bind(filter.since_ms.unwrap_or(i64::MIN))
        .bind(filter.until_ms.unwrap_or(i64::MAX))
        .bind(filter.before_seq.unwrap_or(i64::MAX))
        .bind(limit)
        .try_map(row)
        .fetch_all(conn)
        .await
}

/// What an attacker with write access to the database would do, for tests that show the chain
/// finds it (feature `tamper`, enabled only by dev-dependencies).
#[cfg(feature = "tamper")]
pub mod tamper {
    use crate::Result;
    use crate::db::{Executor, query};

    pub async fn set_after(conn: &mut dyn Executor, seq: i64, after: &str) -> Result<()> {
        query("UPDATE audit_log SET after_value = $1 WHERE seq = $2")
            .bind(after)
            .bind(seq)
            .execute(conn)
            .await?;
        Ok(())
    }

    pub async fn remove(conn: &mut dyn Executor, seq: i64) -> Result<()> {
        query("DELETE FROM audit_log WHERE seq = $1")
            .bind(seq)
            .execute(conn)
            .await?;
        Ok(())
    }
}
