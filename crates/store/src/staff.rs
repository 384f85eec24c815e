//! Staff accounts, their sessions (digests of tokens only), failed sign-ins per login and per
//! address, and machine callers' credentials (digests only). A leaked table signs no one in.

use crate::Result;
use crate::db::{Executor, Row, query};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    pub login: String,
    pub password_hash: String,
    pub role: String,
    /// Comma-separated city slugs.
    pub cities: String,
    /// Comma-separated carrier ids.
    pub carriers: String,
    /// Sealed by the key vault (`kek1.…`); empty: no second factor enrolled.
    pub totp_secret: String,
    /// The last TOTP time step used (a code is good once).
    pub totp_last_step: i64,
    pub disabled: bool,
    pub created_at_ms: i64,
    pub password_changed_at_ms: i64,
}

const ACCOUNT_COLUMNS: &str = "login, password_hash, role, cities, carriers, totp_secret, totp_last_step, disabled, created_at_ms, password_changed_at_ms";

fn account_row(r: Row) -> Result<AccountRow> {
    Ok(AccountRow {
        login: r.try_get(0)?,
        password_hash: r.try_get(1)?,
        role: r.try_get(2)?,
        cities: r.try_get(3)?,
        carriers: r.try_get(4)?,
        totp_secret: r.try_get(5)?,
        totp_last_step: r.try_get(6)?,
        disabled: r.try_get::<i64>(7)? != 0,
        created_at_ms: r.try_get(8)?,
        password_changed_at_ms: r.try_get(9)?,
    })
}

/// Adds the account; false when the login is taken.
pub async fn insert_account(conn: &mut dyn Executor, a: &AccountRow) -> Result<bool> {
    let done = query(
        "INSERT INTO staff_accounts (login, password_hash, role, cities, carriers, totp_secret, totp_last_step, disabled, created_at_ms, password_changed_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (login) DO NOTHING",
    )
    .bind(&a.login)
    .bind(&a.password_hash)
    .bind(&a.role)
    .bind(&a.cities)
    .bind(&a.carriers)
    .bind(&a.totp_secret)
    .bind(a.totp_last_step)
    .bind(i64::from(a.disabled))
    .bind(a.created_at_ms)
    .bind(a.password_changed_at_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn account(conn: &mut dyn Executor, login: &str) -> Result<Option<AccountRow>> {
    query(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM staff_accounts WHERE login = $1"
    ))
    .bind(login)
    .try_map(account_row)
    .fetch_optional(conn)
    .await
}

pub async fn accounts(conn: &mut dyn Executor) -> Result<Vec<AccountRow>> {
    query(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM staff_accounts ORDER BY login"
    ))
    .try_map(account_row)
    .fetch_all(conn)
    .await
}

pub async fn count_accounts(conn: &mut dyn Executor) -> Result<i64> {
    query("SELECT COUNT(*) FROM staff_accounts")
        .try_map(|r: Row| r.try_get::<i64>(0))
        .fetch_one(conn)
        .await
}

/// Sets a new password hash; false for an unknown login.
pub async fn set_password(
    conn: &mut dyn Executor,
    login: &str,
    password_hash: &str,
    now_ms: i64,
) -> Result<bool> {
    let done = query(
        "UPDATE staff_accounts SET password_hash = $2, password_changed_at_ms = $3 WHERE login = $1",
    )
    .bind(login)
    .bind(password_hash)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_disabled(conn: &mut dyn Executor, login: &str, disabled: bool) -> Result<bool> {
    let done = query("UPDATE staff_accounts SET disabled = $2 WHERE login = $1")
        .bind(login)
        .bind(i64::from(disabled))
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_totp_secret(conn: &mut dyn Executor, login: &str, secret: &str) -> Result<bool> {
    let done =
        query("UPDATE staff_accounts SET totp_secret = $2, totp_last_step = 0 WHERE login = $1")
            .bind(login)
            .bind(secret)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes a TOTP step for the login if it is later than the last one used; false when the code
/// was used already (a replay).
pub async fn take_totp_step(conn: &mut dyn Executor, login: &str, step: i64) -> Result<bool> {
    let done = query(
        "UPDATE staff_accounts SET totp_last_step = $2 WHERE login = $1 AND totp_last_step < $2",
    )
    .bind(login)
    .bind(step)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A session; `id` is its public name, never the token or its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub token_hash: String,
    pub id: String,
    pub login: String,
    /// `bearer` or `cookie`.
    pub kind: String,
    pub csrf_hash: String,
    pub address: String,
    pub created_at_ms: i64,
    pub last_used_at_ms: i64,
    pub expires_at_ms: i64,
}

const SESSION_COLUMNS: &str = "token_hash, id, login, kind, csrf_hash, address, created_at_ms, last_used_at_ms, expires_at_ms";

fn session_row(r: Row) -> Result<SessionRow> {
    Ok(SessionRow {
        token_hash: r.try_get(0)?,
        id: r.try_get(1)?,
        login: r.try_get(2)?,
        kind: r.try_get(3)?,
        csrf_hash: r.try_get(4)?,
        address: r.try_get(5)?,
        created_at_ms: r.try_get(6)?,
        last_used_at_ms: r.try_get(7)?,
        expires_at_ms: r.try_get(8)?,
    })
}

pub async fn insert_session(conn: &mut dyn Executor, s: &SessionRow) -> Result<()> {
    query(
        "INSERT INTO staff_sessions (token_hash, id, login, kind, csrf_hash, address, created_at_ms, last_used_at_ms, expires_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&s.token_hash)
    .bind(&s.id)
    .bind(&s.login)
    .bind(&s.kind)
    .bind(&s.csrf_hash)
    .bind(&s.address)
    .bind(s.created_at_ms)
    .bind(s.last_used_at_ms)
    .bind(s.expires_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// The live session of a token digest.
pub async fn session(
    conn: &mut dyn Executor,
    token_hash: &str,
    now_ms: i64,
) -> Result<Option<SessionRow>> {
    query(format!(
        "SELECT {SESSION_COLUMNS} FROM staff_sessions WHERE token_hash = $1 AND expires_at_ms > $2"
    ))
    .bind(token_hash)
    .bind(now_ms)
    .try_map(session_row)
    .fetch_optional(conn)
    .await
}

/// The login's live sessions, most recently used first.
pub async fn sessions_of(
    conn: &mut dyn Executor,
    login: &str,
    now_ms: i64,
) -> Result<Vec<SessionRow>> {
    query(format!(
        "SELECT {SESSION_COLUMNS} FROM staff_sessions WHERE login = $1 AND expires_at_ms > $2 \
         ORDER BY last_used_at_ms DESC, id"
    ))
    .bind(login)
    .bind(now_ms)
    .try_map(session_row)
    .fetch_all(conn)
    .await
}

/// The session named `id`, live or not.
pub async fn session_by_id(conn: &mut dyn Executor, id: &str) -> Result<Option<SessionRow>> {
    query(format!(
        "SELECT {SESSION_COLUMNS} FROM staff_sessions WHERE id = $1"
    ))
    .bind(id)
    .try_map(session_row)
    .fetch_optional(conn)
    .await
}

pub async fn touch_session(
    conn: &mut dyn Executor,
    token_hash: &str,
    now_ms: i64,
    before_ms: i64,
) -> Result<()> {
    query("UPDATE staff_sessions SET last_used_at_ms = $2 WHERE token_hash = $1 AND last_used_at_ms < $3")
        .bind(token_hash)
        .bind(now_ms)
        .bind(before_ms)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_session(conn: &mut dyn Executor, id: &str) -> Result<bool> {
    let done = query("DELETE FROM staff_sessions WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of the login; returns how many ended.
pub async fn delete_sessions_of(conn: &mut dyn Executor, login: &str) -> Result<u64> {
    let done = query("DELETE FROM staff_sessions WHERE login = $1")
        .bind(login)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Failed sign-ins in a row of one subject (`login:…` or `address:…`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailuresRow {
    pub failures: i64,
    pub last_failure_at_ms: i64,
    pub locked_until_ms: i64,
}

pub async fn failures(conn: &mut dyn Executor, subject: &str) -> Result<Option<FailuresRow>> {
    query("SELECT failures, last_failure_at_ms, locked_until_ms FROM staff_sign_in_failures WHERE subject = $1")
        .bind(subject)
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

pub async fn put_failures(conn: &mut dyn Executor, subject: &str, row: &FailuresRow) -> Result<()> {
    query(
        "INSERT INTO staff_sign_in_failures (subject, failures, last_failure_at_ms, locked_until_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (subject) DO UPDATE SET failures = excluded.failures, last_failure_at_ms = excluded.last_failure_at_ms, \
         locked_until_ms = excluded.locked_until_ms",
    )
    .bind(subject)
    .bind(row.failures)
    .bind(row.last_failure_at_ms)
    .bind(row.locked_until_ms)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn clear_failures(conn: &mut dyn Executor, subject: &str) -> Result<()> {
    query("DELETE FROM staff_sign_in_failures WHERE subject = $1")
        .bind(subject)
        .execute(conn)
        .await?;
    Ok(())
}

/// A machine caller's credential: its kind (`sms_gateway`, `metrics`), the partner it was
/// given to, the digest of its secret; `revoked_at_ms` 0 while it is good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialRow {
    pub id: String,
    pub kind: String,
    pub partner: String,
    pub secret_hash: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: i64,
}

fn credential_row(r: Row) -> Result<CredentialRow> {
    Ok(CredentialRow {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        partner: r.try_get(2)?,
        secret_hash: r.try_get(3)?,
        created_at_ms: r.try_get(4)?,
        revoked_at_ms: r.try_get(5)?,
    })
}

/// Adds a credential; false when its id or secret exists already.
pub async fn insert_credential(conn: &mut dyn Executor, c: &CredentialRow) -> Result<bool> {
    let done = query(
        "INSERT INTO machine_credentials (id, kind, partner, secret_hash, created_at_ms, revoked_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(&c.id)
    .bind(&c.kind)
    .bind(&c.partner)
    .bind(&c.secret_hash)
    .bind(c.created_at_ms)
    .bind(c.revoked_at_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn credentials(conn: &mut dyn Executor) -> Result<Vec<CredentialRow>> {
    query("SELECT id, kind, partner, secret_hash, created_at_ms, revoked_at_ms FROM machine_credentials ORDER BY created_at_ms, id")
        .try_map(credential_row)
        .fetch_all(conn)
        .await
}

/// The good (unrevoked) credential of a secret digest.
pub async fn credential_by_secret(
    conn: &mut dyn Executor,
    secret_hash: &str,
) -> Result<Option<CredentialRow>> {
    query("SELECT id, kind, partner, secret_hash, created_at_ms, revoked_at_ms FROM machine_credentials WHERE secret_hash = $1 AND revoked_at_ms = 0")
        .bind(secret_hash)
        .try_map(credential_row)
        .fetch_optional(conn)
        .await
}

/// Revokes a credential; false when there is no unrevoked one of that id.
pub async fn revoke_credential(conn: &mut dyn Executor, id: &str, now_ms: i64) -> Result<bool> {
    let done = query(
        "UPDATE machine_credentials SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms = 0",
    )
    .bind(id)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
