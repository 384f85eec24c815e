//! Machine callers' credentials: each partner that calls us as a machine (an SMS gateway, a
//! metrics scraper) holds its own secret, stored as a digest, created, listed and revoked by
//! an admin or the command line (audited). Revoking one partner's secret leaves the others.

use domain::ErrorCode;
use store::staff::CredentialRow;

use super::Actor;
use super::sign_in::digest;
use crate::audit::{Change, record};
use crate::{App, ServiceError};

/// Secrets shorter than this are refused; generated ones are longer.
pub const SECRET_CHARS_MIN: usize = 16;
pub const SECRET_CHARS_MAX: usize = 128;
pub const PARTNER_CHARS_MAX: usize = 64;

/// What a machine caller may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineKind {
    /// `POST /v1/sms/incoming`, `GET /v1/sms/outbox`, `POST /v1/sms/outbox/{id}/sent`.
    SmsGateway,
    /// `GET /metrics`.
    Metrics,
}

impl MachineKind {
    pub const ALL: [MachineKind; 2] = [MachineKind::SmsGateway, MachineKind::Metrics];

    pub fn as_str(self) -> &'static str {
        match self {
            MachineKind::SmsGateway => "sms_gateway",
            MachineKind::Metrics => "metrics",
        }
    }

    pub fn parse(text: &str) -> Option<MachineKind> {
        MachineKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A credential as an admin sees it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    pub kind: String,
    pub partner: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

fn secret_hash(secret: &str) -> String {
    digest(&["machine-credential", secret])
}

fn credential_of(row: CredentialRow) -> Credential {
    Credential {
        id: row.id,
        kind: row.kind,
        partner: row.partner,
        created_at_ms: row.created_at_ms,
        revoked_at_ms: (row.revoked_at_ms > 0).then_some(row.revoked_at_ms),
    }
}

/// Creates a credential for `partner`; the secret is generated unless given (the demo's are
/// fixed). Returns the credential and its secret, shown once.
pub async fn add(
    app: &App,
    actor: &Actor,
    kind: MachineKind,
    partner: &str,
    secret: Option<String>,
) -> Result<(Credential, String), ServiceError> {
    let invalid = |d: &str| ServiceError::new(ErrorCode::BadRequest, d.to_owned());
    if partner.is_empty() || partner.chars().count() > PARTNER_CHARS_MAX {
        return Err(invalid("partner: 1-64 characters"));
    }
    let secret = match secret {
        Some(s) => s,
        None => format!("mc_{}", crate::hex(&crate::random_bytes::<24>()?)),
    };
    if !(SECRET_CHARS_MIN..=SECRET_CHARS_MAX).contains(&secret.len())
        || !secret.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(invalid("secret: 16-128 visible ASCII characters"));
    }
    let now = app.now_ms();
    let row = CredentialRow {
        id: format!("cred_{}", crate::hex(&crate::random_bytes::<8>()?)),
        kind: kind.as_str().to_owned(),
        partner: partner.to_owned(),
        secret_hash: secret_hash(&secret),
        created_at_ms: now,
        revoked_at_ms: 0,
    };
    let mut tx = app.store.begin().await?;
    if !store::staff::insert_credential(&mut tx, &row).await? {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            "this secret is in use; choose another",
        ));
    }
    record(
        &mut tx,
        actor,
        &Change {
            action: "credential.add",
            object: &format!("credential:{}", row.id),
            before: "",
            after: &format!("{} for {}", row.kind, row.partner),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((credential_of(row), secret))
}

pub async fn list(app: &App) -> Result<Vec<Credential>, ServiceError> {
    let mut conn = app.store.reader().await?;
    Ok(store::staff::credentials(&mut conn)
        .await?
        .into_iter()
        .map(credential_of)
        .collect())
}

pub async fn revoke(app: &App, actor: &Actor, id: &str) -> Result<(), ServiceError> {
    let now = app.now_ms();
    let mut tx = app.store.begin().await?;
    if !store::staff::revoke_credential(&mut tx, id, now).await? {
        return Err(ServiceError::new(ErrorCode::CredentialUnknown, id));
    }
    record(
        &mut tx,
        actor,
        &Change {
            action: "credential.revoke",
            object: &format!("credential:{id}"),
            before: "active",
            after: "revoked",
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The partner holding `secret`, if it is a live credential of `kind`; `UNAUTHORIZED` else.
pub async fn machine(app: &App, kind: MachineKind, secret: &str) -> Result<String, ServiceError> {
    let unauthorized = || ServiceError::new(ErrorCode::Unauthorized, "no such machine credential");
    if secret.is_empty() || secret.len() > SECRET_CHARS_MAX {
        return Err(unauthorized());
    }
    let mut conn = app.store.reader().await?;
    store::staff::credential_by_secret(&mut conn, &secret_hash(secret))
        .await?
        .filter(|c| c.kind == kind.as_str())
        .map(|c| c.partner)
        .ok_or_else(unauthorized)
}

/// Whether an account or credential exists at all: the command line tells an operator who
/// starts a server on a database nobody can sign in to.
pub async fn anyone_can_sign_in(app: &App) -> Result<bool, ServiceError> {
    let mut conn = app.store.reader().await?;
    Ok(store::staff::count_accounts(&mut conn).await? > 0)
}

/// The demo's fixed credentials: created unless a live one holds the secret already (the
/// demo's database outlives a run). Not for production paths.
pub async fn ensure(
    app: &App,
    actor: &Actor,
    kind: MachineKind,
    partner: &str,
    secret: &str,
) -> Result<(), ServiceError> {
    if machine(app, kind, secret).await.is_ok() {
        return Ok(());
    }
    add(app, actor, kind, partner, Some(secret.to_owned()))
        .await
        .map(|_| ())
}
