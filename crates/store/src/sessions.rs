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

pub async fn insert_session(
    conn: &mut dyn Executor,
    token_hash: &str,
    phone: &str,
    expires_at_ms: i64,
    now_ms: i64,
) -> Result<()> {
    query("INSERT INTO sessions (token_hash, phone, expires_at_ms, created_at_ms) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(phone)
        .bind(expires_at_ms)
        .bind(now_ms)
        .execute(conn)
        .await?;
    Ok(())
}

/// The phone of a live session.
pub async fn phone_of(
    conn: &mut dyn Executor,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<String>> {
    query("SELECT phone FROM sessions WHERE token_hash = $1 AND expires_at_ms > $2")
        .bind(token_hash)
        .bind(now_ms)
        .try_map(|r: Row| r.try_get(0))
        .fetch_optional(conn)
        .await
}

pub async fn delete_session(conn: &mut dyn Executor, token_hash: &str) -> Result<()> {
    query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}
