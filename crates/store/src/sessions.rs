//! Sign-in codes and sessions of passengers, stored as hashes only: a leaked table gives no
//! one a session.

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInCodeRow {
    pub phone: String,
    pub code_hash: String,
    pub attempts: i64,
    pub expires_at_ms: i64,
    pub created_at_ms: i64,
}

/// Replaces the phone's pending code.
pub async fn put_code(conn: &mut dyn Executor, code: &SignInCodeRow) -> Result<()> {
    query(
        "INSERT INTO sign_in_codes (phone, code_hash, attempts, expires_at_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (phone) DO UPDATE SET code_hash = excluded.code_hash, attempts = excluded.attempts, \
         expires_at_ms = excluded.expires_at_ms, created_at_ms = excluded.created_at_ms",
    )
    .bind(&code.phone)
    .bind(&code.code_hash)
    .bind(code.attempts)
    .bind(code.expires_at_ms)
    .bind(code.created_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn code_of(conn: &mut dyn Executor, phone: &str) -> Result<Option<SignInCodeRow>> {
    query("SELECT phone, code_hash, attempts, expires_at_ms, created_at_ms FROM sign_in_codes WHERE phone = $1")
        .bind(phone)
        .try_map(|r: Row| {
            Ok(SignInCodeRow {
                phone: r.try_get(0)?,
                code_hash: r.try_get(1)?,
                attempts: r.try_get(2)?,
                expires_at_ms: r.try_get(3)?,
                created_at_ms: r.try_get(4)?,
            })
        })
        .fetch_optional(conn)
        .await
}

pub async fn count_attempt(conn: &mut dyn Executor, phone: &str) -> Result<()> {
    query("UPDATE sign_in_codes SET attempts = attempts + 1 WHERE phone = $1")
        .bind(phone)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_code(conn: &mut dyn Executor, phone: &str) -> Result<()> {
    query("DELETE FROM sign_in_codes WHERE phone = $1")
        .bind(phone)
        .execute(conn)
        .await?;
    Ok(())
}

/// A new session; `id` is its public name (listed, ended by), never the token or its hash.
pub struct NewSession<'a> {
    pub id: &'a str,
    pub token_hash: &'a str,
    pub phone: &'a str,
    pub device: Option<&'a str>,
    pub expires_at_ms: i64,
    pub now_ms: i64,
}

pub async fn insert_session(conn: &mut dyn Executor, session: &NewSession<'_>) -> Result<()> {
    query(
        "INSERT INTO sessions (token_hash, id, phone, device, expires_at_ms, created_at_ms, last_used_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(session.token_hash)
    .bind(session.id)
    .bind(session.phone)
    .bind(session.device)
    .bind(session.expires_at_ms)
    .bind(session.now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// A live session as its passenger sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub phone: String,
    pub device: Option<String>,
    pub created_at_ms: i64,
    pub last_used_at_ms: i64,
    pub expires_at_ms: i64,
}

/// Reads the columns `id, phone, device, created_at_ms, last used, expires_at_ms`.
fn session_row(r: Row) -> Result<SessionRow> {
    Ok(SessionRow {
        id: r.try_get(0)?,
        phone: r.try_get(1)?,
        device: r.try_get(2)?,
        created_at_ms: r.try_get(3)?,
        last_used_at_ms: r.try_get(4)?,
        expires_at_ms: r.try_get(5)?,
    })
}

/// The live session of a token.
pub async fn session_of(
    conn: &mut dyn Executor,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<SessionRow>> {
    query(
        "SELECT id, phone, device, created_at_ms, COALESCE(last_used_at_ms, created_at_ms), expires_at_ms \
         FROM sessions WHERE token_hash = $1 AND expires_at_ms > $2",
    )
    .bind(token_hash)
    .bind(now_ms)
    .try_map(session_row)
    .fetch_optional(conn)
    .await
}

/// The passenger's live sessions, most recently used first.
pub async fn sessions_of_phone(
    conn: &mut dyn Executor,
    phone: &str,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<SessionRow>> {
    query(
        "SELECT id, phone, device, created_at_ms, COALESCE(last_used_at_ms, created_at_ms), expires_at_ms \
         FROM sessions WHERE phone = $1 AND expires_at_ms > $2 \
         ORDER BY COALESCE(last_used_at_ms, created_at_ms) DESC, created_at_ms DESC LIMIT $3",
    )
    .bind(phone)
    .bind(now_ms)
    .bind(limit)
    .try_map(session_row)
    .fetch_all(conn)
    .await
}

/// Notes a use of the session, if the last noted one is older than `before_ms`.
pub async fn touch_session(
    conn: &mut dyn Executor,
    token_hash: &str,
    now_ms: i64,
    before_ms: i64,
) -> Result<()> {
    query(
        "UPDATE sessions SET last_used_at_ms = $2 WHERE token_hash = $1 \
         AND COALESCE(last_used_at_ms, created_at_ms) < $3",
    )
    .bind(token_hash)
    .bind(now_ms)
    .bind(before_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends one session of the passenger; false if the passenger has no such session.
pub async fn delete_session_of_phone(
    conn: &mut dyn Executor,
    phone: &str,
    id: &str,
) -> Result<bool> {
    let done = query("DELETE FROM sessions WHERE phone = $1 AND id = $2")
        .bind(phone)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of the passenger but `keep_id`; returns how many ended.
pub async fn delete_other_sessions(
    conn: &mut dyn Executor,
    phone: &str,
    keep_id: &str,
) -> Result<u64> {
    let done = query("DELETE FROM sessions WHERE phone = $1 AND id <> $2")
        .bind(phone)
        .bind(keep_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Drops the passenger's expired sessions and all but the `keep` most recently used.
pub async fn trim_sessions(
    conn: &mut dyn Executor,
    phone: &str,
    now_ms: i64,
    keep: i64,
) -> Result<()> {
    query("DELETE FROM sessions WHERE phone = $1 AND expires_at_ms <= $2")
        .bind(phone)
        .bind(now_ms)
        .execute(conn)
        .await?;
    query(
        "DELETE FROM sessions WHERE phone = $1 AND token_hash NOT IN (SELECT token_hash FROM sessions \
         WHERE phone = $1 ORDER BY COALESCE(last_used_at_ms, created_at_ms) DESC, created_at_ms DESC LIMIT $2)",
    )
    .bind(phone)
    .bind(keep)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_session(conn: &mut dyn Executor, token_hash: &str) -> Result<()> {
    query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Wrong codes of a number, across its codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailuresRow {
    pub failures: i64,
    pub last_failure_at_ms: i64,
    pub locked_until_ms: i64,
}

pub async fn failures_of(conn: &mut dyn Executor, phone: &str) -> Result<Option<FailuresRow>> {
    query("SELECT failures, last_failure_at_ms, locked_until_ms FROM sign_in_failures WHERE phone = $1")
        .bind(phone)
        .try_map(|r: Row| {
            Ok(FailuresRow {
                failures: r.try_get(0)?,
                last_failure_at_ms: r.try_get(1)?,
                locked_until_ms: r.try_get(2)?,
            })
        })
        .fetch_optional(conn)
        .await
}

/// A number's wrong codes, locking its row until the transaction ends so that concurrent
/// guesses at one number are judged one after the other (on PostgreSQL; SQLite has one
/// writer). A number without wrong codes reads as zero of them.
pub async fn lock_failures(conn: &mut dyn Executor, phone: &str) -> Result<FailuresRow> {
    query(
        "INSERT INTO sign_in_failures (phone, failures, last_failure_at_ms, locked_until_ms) VALUES ($1, 0, 0, 0) \
         ON CONFLICT (phone) DO UPDATE SET failures = sign_in_failures.failures \
         RETURNING failures, last_failure_at_ms, locked_until_ms",
    )
    .bind(phone)
    .try_map(|r: Row| {
        Ok(FailuresRow {
            failures: r.try_get(0)?,
            last_failure_at_ms: r.try_get(1)?,
            locked_until_ms: r.try_get(2)?,
        })
    })
    .fetch_one(conn)
    .await
}

pub async fn put_failures(conn: &mut dyn Executor, phone: &str, row: &FailuresRow) -> Result<()> {
    query(
        "INSERT INTO sign_in_failures (phone, failures, last_failure_at_ms, locked_until_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (phone) DO UPDATE SET failures = excluded.failures, \
         last_failure_at_ms = excluded.last_failure_at_ms, locked_until_ms = excluded.locked_until_ms",
    )
    .bind(phone)
    .bind(row.failures)
    .bind(row.last_failure_at_ms)
    .bind(row.locked_until_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets a number's wrong codes (after a right one).
pub async fn clear_failures(conn: &mut dyn Executor, phone: &str) -> Result<()> {
    query("DELETE FROM sign_in_failures WHERE phone = $1")
        .bind(phone)
        .execute(conn)
        .await?;
    Ok(())
}

/// How much of a budget is used in its current window, after taking one more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetUse {
    pub window_started_at_ms: i64,
    pub used: i64,
}

/// Takes one from a fixed-window budget: a window older than `window_ms` starts again at
/// `now_ms`. The caller rolls its transaction back when the answer is over its limit, so a
/// refused request takes nothing.
pub async fn take_budget(
    conn: &mut dyn Executor,
    budget: &str,
    now_ms: i64,
    window_ms: i64,
) -> Result<BudgetUse> {
    query(
        "INSERT INTO sign_in_budgets (budget, window_started_at_ms, used) VALUES ($1, $2, 1) \
         ON CONFLICT (budget) DO UPDATE SET \
         used = CASE WHEN sign_in_budgets.window_started_at_ms <= $3 THEN 1 ELSE sign_in_budgets.used + 1 END, \
         window_started_at_ms = CASE WHEN sign_in_budgets.window_started_at_ms <= $3 THEN $2 \
         ELSE sign_in_budgets.window_started_at_ms END \
         RETURNING window_started_at_ms, used",
    )
    .bind(budget)
    .bind(now_ms)
    .bind(now_ms.saturating_sub(window_ms))
    .try_map(|r: Row| {
        Ok(BudgetUse {
            window_started_at_ms: r.try_get(0)?,
            used: r.try_get(1)?,
        })
    })
    .fetch_one(conn)
    .await
}

/// Drops budgets whose window started before `before_ms` and failures last seen before it,
/// so a flood of numbers and addresses leaves no rows behind once its windows pass.
pub async fn forget_before(conn: &mut dyn Executor, before_ms: i64) -> Result<()> {
    query("DELETE FROM sign_in_budgets WHERE window_started_at_ms < $1")
        .bind(before_ms)
        .execute(conn)
        .await?;
    query("DELETE FROM sign_in_failures WHERE last_failure_at_ms < $1 AND locked_until_ms < $1")
        .bind(before_ms)
        .execute(conn)
        .await?;
    Ok(())
}
