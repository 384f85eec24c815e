//! Staff sign in with login, password and (for admins, and anyone enrolled) a TOTP code, and
//! get a session: a bearer token for API clients and devices, or a cookie for the web apps
//! with its CSRF token. Only digests of tokens are stored. Failed attempts count per login and
//! per client address; past the free ones each waits longer ([`domain::staff::delay_after_ms`])
//! and a caller who does not wait is refused before any password is checked. Sessions expire
//! ([`SESSION_TTL_MS`]), are listed and ended by their owner and by an admin, and end when the
//! password is changed or reset or the account is disabled.

use std::net::IpAddr;

use domain::ErrorCode;
use domain::staff::{Role, delay_after_ms};
use sha2::{Digest, Sha256};
use store::staff::{FailuresRow, SessionRow};

use super::Actor;
use super::accounts::{Account, account_of, verify_password};
use crate::{App, ServiceError};

/// A staff session lives this long (a working day and a half), whatever its use.
pub const SESSION_TTL_MS: i64 = 12 * 60 * 60 * 1_000;
/// A session's "last used" is written at most this often.
pub const SESSION_TOUCH_STEP_MS: i64 = 60_000;
/// A client address gets this many more free failures than a login (offices share one).
pub const ADDRESS_FAILURES_EXTRA: i64 = 30;
/// Failures are forgotten after this long without one.
pub const FAILURES_FORGOTTEN_MS: i64 = 24 * 60 * 60 * 1_000;
pub const TOKEN_CHARS_MAX: usize = 128;
/// A password hash checked when the login is unknown, so that an unknown login costs the same
/// time as a wrong password (argon2id, the same parameters).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c21zYnVzLWR1bW15LXNhbHQ$Sg3Hj2m0O7B0a9rPvB2pX7o8mR0a0xqj8C2fYQw4b6s";

/// How the session travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Bearer,
    Cookie,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Bearer => "bearer",
            SessionKind::Cookie => "cookie",
        }
    }
}

pub struct SignIn<'a> {
    pub login: &'a str,
    pub password: &'a str,
    pub totp: Option<&'a str>,
    pub kind: SessionKind,
    pub address: Option<IpAddr>,
}

/// A new session: the token (shown once), its CSRF token (cookie sessions send it back in a
/// header on every state-changing request), its public id.
#[derive(Clone, Debug)]
pub struct Opened {
    pub token: String,
    pub csrf: String,
    pub id: String,
    pub expires_at_ms: i64,
    pub account: Account,
}

/// A signed-in staff member as a request sees them.
#[derive(Clone, Debug)]
pub struct Caller {
    pub actor: Actor,
    pub session_id: String,
    pub kind: SessionKind,
    /// The digest of the CSRF token a cookie session's state-changing requests must carry.
    pub csrf_hash: String,
}

pub(crate) fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    crate::hex(&hasher.finalize())
}

/// The digest stored for a session token.
fn token_hash(token: &str) -> String {
    digest(&["staff-session", token])
}

/// The digest of a CSRF token, compared with [`Caller::csrf_hash`].
pub fn csrf_hash(csrf: &str) -> String {
    digest(&["staff-csrf", csrf])
}

pub(crate) fn login_subject(login: &str) -> String {
    format!("login:{login}")
}

fn address_subject(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => format!("address:{v4}"),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("address:{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

fn locked(row: Option<FailuresRow>, now_ms: i64) -> Option<i64> {
    row.filter(|r| r.locked_until_ms > now_ms)
        .map(|r| r.locked_until_ms - now_ms)
}

fn after_failure(previous: Option<FailuresRow>, extra_free: i64, now_ms: i64) -> FailuresRow {
    let failures = match previous {
        Some(p) if now_ms - p.last_failure_at_ms < FAILURES_FORGOTTEN_MS => {
            p.failures.saturating_add(1)
        }
        _ => 1,
    };
    let delay = delay_after_ms(failures - extra_free);
    FailuresRow {
        failures,
        last_failure_at_ms: now_ms,
        locked_until_ms: if delay > 0 { now_ms + delay } else { 0 },
    }
}

/// Counts one failure against the login and the address; the refusal says how long to wait.
async fn fail(
    app: &App,
    login: &str,
    address: Option<IpAddr>,
    code: ErrorCode,
    detail: &str,
) -> Result<ServiceError, ServiceError> {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let subject = login_subject(login);
    let row = after_failure(store::staff::failures(&mut tx, &subject).await?, 0, now);
    store::staff::put_failures(&mut tx, &subject, &row).await?;
    let mut wait = row.locked_until_ms - now;
    if let Some(address) = address {
        let subject = address_subject(address);
        let at = after_failure(
            store::staff::failures(&mut tx, &subject).await?,
            ADDRESS_FAILURES_EXTRA,
            now,
        );
        store::staff::put_failures(&mut tx, &subject, &at).await?;
        wait = wait.max(at.locked_until_ms - now);
    }
    tx.commit().await?;
    tracing::warn!(
        login,
        ?address,
        failures = row.failures,
        "staff sign-in failed"
    );
    let error = ServiceError::new(code, detail.to_owned());
    Ok(if wait > 0 {
        error.retry_after_ms(wait)
    } else {
        error
    })
}

/// Signs a staff member in. Refuses, without looking at the password, while the login or the
/// address must wait; an unknown login, a disabled account, a wrong password and a wrong or
/// reused TOTP code are one refusal (`STAFF_SIGN_IN_FAILED`) and count as failures. A right
/// password without the code its account requires is `STAFF_TOTP_REQUIRED`.
pub async fn sign_in(app: &App, request: &SignIn<'_>) -> Result<Opened, ServiceError> {
    let now = app.now_ms();
    let (row, login_wait, address_wait) = {
        let mut conn = app.store.reader().await?;
        let row = store::staff::account(&mut conn, request.login).await?;
        let login_wait = locked(
            store::staff::failures(&mut conn, &login_subject(request.login)).await?,
            now,
        );
        let address_wait = match request.address {
            Some(a) => locked(
                store::staff::failures(&mut conn, &address_subject(a)).await?,
                now,
            ),
            None => None,
        };
        (row, login_wait, address_wait)
    };
    if let Some(wait) = login_wait.into_iter().chain(address_wait).max() {
        return Err(ServiceError::new(
            ErrorCode::StaffSignInLocked,
            "too many failed sign-ins: wait",
        )
        .retry_after_ms(wait));
    }
    let failed = |detail: &'static str| {
        fail(
            app,
            request.login,
            request.address,
            ErrorCode::StaffSignInFailed,
            detail,
        )
    };
    let Some(row) = row else {
        let _ = verify_password(request.password, DUMMY_HASH).await?;
        return Err(failed("unknown login").await?);
    };
    if !verify_password(request.password, &row.password_hash).await? || row.disabled {
        return Err(failed("wrong password or disabled account").await?);
    }
    let account = account_of(&row)?;
    let needs_code = account.role.requires_totp() || !row.totp_secret.is_empty();
    if needs_code {
        let Some(code) = request.totp else {
            return Err(ServiceError::new(
                ErrorCode::StaffTotpRequired,
                "this account signs in with a TOTP code",
            ));
        };
        let secret = super::accounts::open_totp(app, &row)?;
        let step = (!secret.is_empty())
            .then(|| domain::staff::totp_matches(&secret, code, now.div_euclid(1_000)))
            .flatten();
        let Some(step) = step else {
            return Err(failed("wrong TOTP code").await?);
        };
        let mut tx = app.store.begin().await?;
        let fresh = store::staff::take_totp_step(&mut tx, &row.login, step).await?;
        tx.commit().await?;
        if !fresh {
            return Err(failed("TOTP code used already").await?);
        }
    }
    open(app, &account, request.kind, request.address, now).await
}

async fn open(
    app: &App,
    account: &Account,
    kind: SessionKind,
    address: Option<IpAddr>,
    now: i64,
) -> Result<Opened, ServiceError> {
    let token = format!("st_{}", crate::hex(&crate::random_bytes::<32>()?));
    let csrf = crate::hex(&crate::random_bytes::<16>()?);
    let id = crate::hex(&crate::random_bytes::<16>()?);
    let session = SessionRow {
        token_hash: token_hash(&token),
        id: id.clone(),
        login: account.login.clone(),
        kind: kind.as_str().to_owned(),
        csrf_hash: csrf_hash(&csrf),
        address: address.map(|a| a.to_string()).unwrap_or_default(),
        created_at_ms: now,
        last_used_at_ms: now,
        expires_at_ms: now + SESSION_TTL_MS,
    };
    let mut tx = app.store.begin().await?;
    store::staff::clear_failures(&mut tx, &login_subject(&account.login)).await?;
    store::staff::insert_session(&mut tx, &session).await?;
    tx.commit().await?;
    tracing::info!(
        login = account.login,
        kind = kind.as_str(),
        "staff signed in"
    );
    Ok(Opened {
        token,
        csrf,
        id,
        expires_at_ms: session.expires_at_ms,
        account: account.clone(),
    })
}

/// The signed-in staff member of a token, acting from `address`; `UNAUTHORIZED` for a token
/// that names no live session of an enabled account.
pub async fn caller(
    app: &App,
    token: &str,
    address: Option<IpAddr>,
) -> Result<Caller, ServiceError> {
    let unauthorized = || ServiceError::new(ErrorCode::Unauthorized, "no live staff session");
    if token.is_empty() || token.len() > TOKEN_CHARS_MAX {
        return Err(unauthorized());
    }
    let now = app.now_ms();
    let hash = token_hash(token);
    let (session, row) = {
        let mut conn = app.store.reader().await?;
        let Some(session) = store::staff::session(&mut conn, &hash, now).await? else {
            return Err(unauthorized());
        };
        let row = store::staff::account(&mut conn, &session.login).await?;
        (session, row)
    };
    let Some(row) = row.filter(|r| !r.disabled) else {
        return Err(unauthorized());
    };
    if session.last_used_at_ms < now - SESSION_TOUCH_STEP_MS {
        let mut tx = app.store.begin().await?;
        store::staff::touch_session(&mut tx, &hash, now, now - SESSION_TOUCH_STEP_MS).await?;
        tx.commit().await?;
    }
    let account = account_of(&row)?;
    Ok(Caller {
        actor: Actor {
            name: account.login,
            role: account.role,
            scope: account.scope,
            address: address.map(|a| a.to_string()).unwrap_or_default(),
        },
        session_id: session.id,
        kind: if session.kind == "cookie" {
            SessionKind::Cookie
        } else {
            SessionKind::Bearer
        },
        csrf_hash: session.csrf_hash,
    })
}

/// A live session as its owner (or an admin) sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: String,
    pub login: String,
    pub kind: String,
    pub address: String,
    pub created_at_ms: i64,
    pub last_used_at_ms: i64,
    pub expires_at_ms: i64,
}

/// The live sessions of `login`.
pub async fn sessions(app: &App, login: &str) -> Result<Vec<SessionInfo>, ServiceError> {
    let mut conn = app.store.reader().await?;
    Ok(store::staff::sessions_of(&mut conn, login, app.now_ms())
        .await?
        .into_iter()
        .map(|s| SessionInfo {
            id: s.id,
            login: s.login,
            kind: s.kind,
            address: s.address,
            created_at_ms: s.created_at_ms,
            last_used_at_ms: s.last_used_at_ms,
            expires_at_ms: s.expires_at_ms,
        })
        .collect())
}

/// Ends the session `id`: its owner may end their own, an admin anyone's (audited);
/// `STAFF_SESSION_UNKNOWN` otherwise, so nobody learns of others' sessions.
pub async fn end_session(app: &App, actor: &Actor, id: &str) -> Result<(), ServiceError> {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let session = store::staff::session_by_id(&mut tx, id)
        .await?
        .filter(|s| s.login == actor.name || actor.role == Role::Admin)
        .ok_or_else(|| ServiceError::new(ErrorCode::StaffSessionUnknown, id))?;
    store::staff::delete_session(&mut tx, id).await?;
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "staff.end_session",
            object: &format!("staff:{}", session.login),
            before: &format!("session {id}"),
            after: "",
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Signs out: ends the caller's own session. Not an audited change (a sign-out changes nothing
/// but the caller's own access).
pub async fn sign_out(app: &App, caller: &Caller) -> Result<(), ServiceError> {
    let mut tx = app.store.begin().await?;
    store::staff::delete_session(&mut tx, &caller.session_id).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The hash checked for unknown logins is a real argon2id PHC string with the accounts'
    /// parameters, so an unknown login costs a full hash like a wrong password.
    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash_with_the_account_parameters() {
        let hash = argon2::password_hash::PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(hash.algorithm.as_str(), "argon2id");
        let params = argon2::Params::try_from(&hash).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (
                super::super::accounts::ARGON2_M_KIB,
                super::super::accounts::ARGON2_T,
                super::super::accounts::ARGON2_P
            )
        );
    }

    #[test]
    fn failures_grow_the_wait_and_are_forgotten() {
        let mut row = None;
        let mut waits = Vec::new();
        for n in 0..6 {
            let next = after_failure(row, 0, 1_000 * n);
            waits.push((next.locked_until_ms - 1_000 * n).max(0));
            row = Some(next);
        }
        assert_eq!(waits, vec![0, 0, 0, 1_000, 2_000, 4_000]);
        let later = after_failure(row, 0, FAILURES_FORGOTTEN_MS * 2);
        assert_eq!(later.failures, 1);
        // An address has more free failures than a login.
        assert_eq!(
            after_failure(None, ADDRESS_FAILURES_EXTRA, 0).locked_until_ms,
            0
        );
        assert_eq!(
            address_subject("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "address:2001:db8:1:2::/64"
        );
    }
}
