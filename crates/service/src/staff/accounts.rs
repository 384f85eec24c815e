//! Staff accounts: created (by an admin, or by the command line — the first admin on an empty
//! database), listed, passwords reset (ending the account's sessions) or changed by their
//! owner, disabled, TOTP enrolled. Passwords are stored as argon2id PHC strings
//! ([`ARGON2_M_KIB`], [`ARGON2_T`], [`ARGON2_P`]); TOTP secrets sealed by the key vault like
//! signing keys; every change is audited.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use domain::ErrorCode;
use domain::staff::{Role, Scope};
use store::staff::AccountRow;

use super::Actor;
use crate::audit::{Change, record};
use crate::{App, ServiceError};

/// argon2id memory in KiB, passes and lanes: OWASP's first recommended set (19 MiB, 2, 1).
pub const ARGON2_M_KIB: u32 = 19 * 1024;
pub const ARGON2_T: u32 = 2;
pub const ARGON2_P: u32 = 1;
/// Passwords shorter than this are refused; generated ones are longer.
pub const PASSWORD_CHARS_MIN: usize = 12;
pub const PASSWORD_CHARS_MAX: usize = 256;
pub const LOGIN_CHARS_MAX: usize = 64;
/// Random bytes in a generated password (hex, so twice as many characters).
const GENERATED_PASSWORD_BYTES: usize = 12;

/// An account as staff see it (never the hash or the TOTP secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub login: String,
    pub role: Role,
    pub scope: Scope,
    pub totp_enrolled: bool,
    pub disabled: bool,
    pub created_at_ms: i64,
}

pub(crate) fn account_of(row: &AccountRow) -> Result<Account, ServiceError> {
    Ok(Account {
        login: row.login.clone(),
        role: Role::parse(&row.role).ok_or_else(|| {
            ServiceError::internal(format!("account {}: role {}", row.login, row.role))
        })?,
        scope: Scope {
            cities: Scope::split(&row.cities),
            carriers: Scope::split(&row.carriers),
        },
        totp_enrolled: !row.totp_secret.is_empty(),
        disabled: row.disabled,
        created_at_ms: row.created_at_ms,
    })
}

fn argon2() -> Result<argon2::Argon2<'static>, ServiceError> {
    let params = argon2::Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None)
        .map_err(|e| ServiceError::internal(format!("argon2 parameters: {e}")))?;
    Ok(argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

/// The argon2id PHC string of a password (off the async threads: it takes tens of ms).
pub async fn hash_password(password: &str) -> Result<String, ServiceError> {
    let salt_bytes = crate::random_bytes::<16>()?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt_bytes)
            .map_err(|e| ServiceError::internal(format!("salt: {e}")))?;
        argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ServiceError::internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| ServiceError::internal(format!("hashing task: {e}")))?
}

/// Whether `password` matches the PHC string (any parameters it names).
pub async fn verify_password(password: &str, phc: &str) -> Result<bool, ServiceError> {
    let password = password.to_owned();
    let phc = phc.to_owned();
    tokio::task::spawn_blocking(move || {
        let Ok(hash) = PasswordHash::new(&phc) else {
            return Ok(false);
        };
        Ok(argon2()?
            .verify_password(password.as_bytes(), &hash)
            .is_ok())
    })
    .await
    .map_err(|e| ServiceError::internal(format!("hashing task: {e}")))?
}

/// A new random password (hex).
pub fn generate_password() -> Result<String, ServiceError> {
    Ok(crate::hex(
        &crate::random_bytes::<GENERATED_PASSWORD_BYTES>()?,
    ))
}

/// What a TOTP secret is sealed under: the account it belongs to (a sealed secret copied to
/// another account's row does not open).
fn totp_label(login: &str) -> String {
    format!("staff-totp:{login}")
}

/// Seals a base32 TOTP secret with the key vault, as signing keys are: a copy of the database
/// gives no one an admin's second factor.
fn seal_totp(app: &App, login: &str, base32: &str) -> Result<String, ServiceError> {
    let bytes = domain::staff::base32_decode(base32)
        .ok_or_else(|| ServiceError::internal("a TOTP secret that is not base32"))?;
    app.settings
        .key_vault
        .seal(&totp_label(login), &bytes)
        .map_err(|e| ServiceError::internal(format!("sealing the TOTP secret: {e}")))
}

/// The TOTP secret of an account's row, opened; empty when none is enrolled.
pub(crate) fn open_totp(app: &App, row: &AccountRow) -> Result<Vec<u8>, ServiceError> {
    if row.totp_secret.is_empty() {
        return Ok(Vec::new());
    }
    app.settings
        .key_vault
        .open(&totp_label(&row.login), &row.totp_secret)
        .map_err(|e| ServiceError::internal(format!("{}'s TOTP secret: {e}", row.login)))
}

fn invalid(detail: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::StaffAccountInvalid, detail)
}

fn check_password(password: &str) -> Result<(), ServiceError> {
    let chars = password.chars().count();
    if !(PASSWORD_CHARS_MIN..=PASSWORD_CHARS_MAX).contains(&chars) {
        return Err(invalid(format!(
            "a password has {PASSWORD_CHARS_MIN} to {PASSWORD_CHARS_MAX} characters"
        )));
    }
    Ok(())
}

/// What a new account is.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub login: String,
    pub role: Role,
    pub scope: Scope,
    /// `None`: one is generated (and returned).
    pub password: Option<String>,
}

/// What creating an account gives back once: its password and, for roles that require one,
/// its TOTP secret (base32) for the authenticator app.
#[derive(Clone, Debug)]
pub struct Created {
    pub account: Account,
    pub password: String,
    pub totp_secret: Option<String>,
}

/// Checks the scope against the role and the catalogue: cities and carriers must exist.
fn check_scope(app: &App, role: Role, scope: &Scope) -> Result<(), ServiceError> {
    scope.check(role).map_err(|e| invalid(e.0))?;
    let catalogue = app.catalogue();
    for city in &scope.cities {
        if !catalogue.cities.keys().any(|c| c.as_str() == city) {
            return Err(invalid(format!("no city {city} in the catalogue")));
        }
    }
    for carrier in &scope.carriers {
        if !catalogue.carriers.keys().any(|c| c.as_str() == carrier) {
            return Err(invalid(format!("no carrier {carrier} in the catalogue")));
        }
    }
    Ok(())
}

fn check_login(login: &str) -> Result<(), ServiceError> {
    let fine = !login.is_empty()
        && login.len() <= LOGIN_CHARS_MAX
        && login
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.@".contains(&b));
    if fine {
        Ok(())
    } else {
        Err(invalid(format!(
            "a login is 1-{LOGIN_CHARS_MAX} of a-z 0-9 - _ . @"
        )))
    }
}

/// Creates an account. An admin gets a TOTP secret at once (it cannot sign in without one).
pub async fn add(app: &App, actor: &Actor, new: NewAccount) -> Result<Created, ServiceError> {
    check_login(&new.login)?;
    check_scope(app, new.role, &new.scope)?;
    let password = match new.password {
        Some(p) => p,
        None => generate_password()?,
    };
    check_password(&password)?;
    let totp_secret = new
        .role
        .requires_totp()
        .then(|| {
            crate::random_bytes::<{ domain::staff::TOTP_SECRET_BYTES }>()
                .map(|b| domain::staff::base32_encode(&b))
        })
        .transpose()?;
    let password_hash = hash_password(&password).await?;
    let sealed_totp = totp_secret
        .as_deref()
        .map(|secret| seal_totp(app, &new.login, secret))
        .transpose()?;
    let now = app.now_ms();
    let row = AccountRow {
        login: new.login.clone(),
        password_hash,
        role: new.role.as_str().to_owned(),
        cities: Scope::join(&new.scope.cities),
        carriers: Scope::join(&new.scope.carriers),
        totp_secret: sealed_totp.unwrap_or_default(),
        totp_last_step: 0,
        disabled: false,
        created_at_ms: now,
        password_changed_at_ms: now,
    };
    let mut tx = app.store.begin().await?;
    if !store::staff::insert_account(&mut tx, &row).await? {
        return Err(ServiceError::new(ErrorCode::StaffLoginTaken, new.login));
    }
    let account = account_of(&row)?;
    record(
        &mut tx,
        actor,
        &Change {
            action: "staff.add",
            object: &format!("staff:{}", new.login),
            before: "",
            after: &describe(&account),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Created {
        account,
        password,
        totp_secret,
    })
}

/// How an account is written into the audit trail.
fn describe(account: &Account) -> String {
    format!(
        "role={} cities={} carriers={} disabled={}",
        account.role.as_str(),
        Scope::join(&account.scope.cities),
        Scope::join(&account.scope.carriers),
        account.disabled
    )
}

pub async fn list(app: &App) -> Result<Vec<Account>, ServiceError> {
    let mut conn = app.store.reader().await?;
    store::staff::accounts(&mut conn)
        .await?
        .iter()
        .map(account_of)
        .collect()
}

pub async fn get(app: &App, login: &str) -> Result<Account, ServiceError> {
    let mut conn = app.store.reader().await?;
    let row = store::staff::account(&mut conn, login)
        .await?
        .ok_or_else(|| ServiceError::new(ErrorCode::StaffAccountUnknown, login))?;
    account_of(&row)
}

/// Sets a new password for `login` (given, or generated and returned) and ends every session
/// of the account. `action` names it in the trail: an admin's reset or the owner's change.
async fn set_password(
    app: &App,
    actor: &Actor,
    login: &str,
    password: Option<String>,
    action: &str,
) -> Result<String, ServiceError> {
    let password = match password {
        Some(p) => p,
        None => generate_password()?,
    };
    check_password(&password)?;
    let hash = hash_password(&password).await?;
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    if !store::staff::set_password(&mut tx, login, &hash, now).await? {
        return Err(ServiceError::new(ErrorCode::StaffAccountUnknown, login));
    }
    let ended = store::staff::delete_sessions_of(&mut tx, login).await?;
    store::staff::clear_failures(&mut tx, &super::sign_in::login_subject(login)).await?;
    record(
        &mut tx,
        actor,
        &Change {
            action,
            object: &format!("staff:{login}"),
            before: "",
            after: &format!("password changed, {ended} sessions ended"),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(password)
}

/// An admin (or the command line) sets a new password; returns it.
pub async fn reset_password(
    app: &App,
    actor: &Actor,
    login: &str,
    password: Option<String>,
) -> Result<String, ServiceError> {
    set_password(app, actor, login, password, "staff.reset_password").await
}

/// The owner changes their password, proving the current one.
pub async fn change_password(
    app: &App,
    actor: &Actor,
    current: &str,
    new: &str,
) -> Result<(), ServiceError> {
    let row = {
        let mut conn = app.store.reader().await?;
        store::staff::account(&mut conn, &actor.name).await?
    }
    .ok_or_else(|| ServiceError::new(ErrorCode::StaffAccountUnknown, actor.name.clone()))?;
    if !verify_password(current, &row.password_hash).await? {
        return Err(ServiceError::new(
            ErrorCode::StaffSignInFailed,
            "the current password is wrong",
        ));
    }
    set_password(
        app,
        actor,
        &actor.name,
        Some(new.to_owned()),
        "staff.change_password",
    )
    .await
    .map(|_| ())
}

/// Disables (or enables again) an account; disabling ends its sessions.
pub async fn set_disabled(
    app: &App,
    actor: &Actor,
    login: &str,
    disabled: bool,
) -> Result<Account, ServiceError> {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    let before = store::staff::account(&mut tx, login)
        .await?
        .ok_or_else(|| ServiceError::new(ErrorCode::StaffAccountUnknown, login))?;
    store::staff::set_disabled(&mut tx, login, disabled).await?;
    if disabled {
        store::staff::delete_sessions_of(&mut tx, login).await?;
    }
    let after = AccountRow {
        disabled,
        ..before.clone()
    };
    record(
        &mut tx,
        actor,
        &Change {
            action: if disabled {
                "staff.disable"
            } else {
                "staff.enable"
            },
            object: &format!("staff:{login}"),
            before: &describe(&account_of(&before)?),
            after: &describe(&account_of(&after)?),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    account_of(&after)
}

/// Enrols a new TOTP secret for the account (given, e.g. the demo's, or generated); returns
/// it in base32.
pub async fn enrol_totp(
    app: &App,
    actor: &Actor,
    login: &str,
    secret: Option<&str>,
) -> Result<String, ServiceError> {
    let secret = match secret {
        Some(text) => {
            let bytes = domain::staff::base32_decode(text)
                .filter(|b| b.len() >= 10)
                .ok_or_else(|| invalid("a TOTP secret is base32 of at least 80 bits"))?;
            domain::staff::base32_encode(&bytes)
        }
        None => domain::staff::base32_encode(&crate::random_bytes::<
            { domain::staff::TOTP_SECRET_BYTES },
        >()?),
    };
    let sealed = seal_totp(app, login, &secret)?;
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    if !store::staff::set_totp_secret(&mut tx, login, &sealed).await? {
        return Err(ServiceError::new(ErrorCode::StaffAccountUnknown, login));
    }
    record(
        &mut tx,
        actor,
        &Change {
            action: "staff.enrol_totp",
            object: &format!("staff:{login}"),
            before: "",
            after: "new TOTP secret",
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(secret)
}

/// The demo's accounts: each created with the given password, or given it again when it
/// exists (the demo's database outlives a run). Not for production paths.
pub async fn ensure(
    app: &App,
    actor: &Actor,
    new: NewAccount,
    totp_secret: Option<&str>,
) -> Result<(), ServiceError> {
    let login = new.login.clone();
    let password = new.password.clone();
    let exists = {
        let mut conn = app.store.reader().await?;
        store::staff::account(&mut conn, &login).await?.is_some()
    };
    if exists {
        reset_password(app, actor, &login, password).await?;
    } else {
        add(app, actor, new).await?;
    }
    if let Some(secret) = totp_secret {
        enrol_totp(app, actor, &login, Some(secret)).await?;
    }
    Ok(())
}
