//! Ticket signing keys: created on first start, rotated by a command, published as a list.
//! A key signs for `KEY_SIGNING_PERIOD_S` and stays on the list until every ticket it signed
//! has expired, so a ticket never outlives its key.
//!
//! Secrets are stored sealed by the settings' [`crate::vault::KeyVault`], never in plain
//! bytes; a row written before sealing existed is sealed the first time a server reads the
//! keys (and should then be rotated: its plain bytes may be in old backups). A server with
//! the wrong key-encryption key cannot open them and says so.
//!
//! Each signing key has a holder key derived from it ([`domain::ticket::HolderKey`]) that
//! controllers' devices get from [`holder_keys`], so they can check offline that a format 2
//! ticket belongs to the number a passenger tells.

use std::sync::Arc;

use domain::ErrorCode;
use domain::ticket::{
    HolderKey, KeyId, KeyList, KeyWindow, PublishedKey, TICKET_LIFETIME_S_MAX, TicketSigningKey,
    plan_rotation,
};
use store::keys::SigningKeyRow;

use crate::{App, ServiceError};

/// A rotated key is published this long before it signs, so controllers who sync their key
/// list at least this often never meet a ticket whose key they lack.
pub const KEY_PUBLISH_LEAD_S: u64 = 60 * 60;

/// When a new key takes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// After [`KEY_PUBLISH_LEAD_S`]: the routine rotation.
    Scheduled,
    /// Now: the old key is compromised. Offline controllers must refresh their list.
    Immediately,
}

/// How long one key signs new tickets before the next one takes over.
pub const KEY_SIGNING_PERIOD_S: u64 = 30 * 24 * 60 * 60;

/// The cached signer is checked against the store at least this often, so a key rotated by
/// another process (`smsbus keys rotate` beside a running server) takes over within it.
pub const SIGNER_RECHECK_MS: i64 = 5_000;

pub struct Signer {
    pub key: TicketSigningKey,
    pub sign_until_ms: i64,
    /// When this was read from the store.
    pub loaded_at_ms: i64,
}

fn ms_to_s(ms: i64) -> u64 {
    u64::try_from(ms.max(0) / 1000).unwrap_or(0)
}

fn s_to_ms(s: u64) -> i64 {
    i64::try_from(s)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
}

fn corrupt(kid: &str, what: &str) -> ServiceError {
    ServiceError::internal(format!("signing key {kid}: {what}"))
}

/// What a signing key's sealed secret is bound to: its purpose and its row.
fn seal_label(kid: &str) -> String {
    format!("ticket signing key {kid}")
}

fn signing_key(app: &App, row: &SigningKeyRow) -> Result<TicketSigningKey, ServiceError> {
    let bytes = match &row.secret_sealed {
        Some(sealed) => app
            .settings
            .key_vault
            .open(&seal_label(&row.kid), sealed)
            .map_err(|e| corrupt(&row.kid, &e.to_string()))?,
        // Written before sealing and not sealed yet (`seal_plain_keys` does it).
        None => unhex(&row.secret_hex).ok_or_else(|| corrupt(&row.kid, "bad secret"))?,
    };
    let secret: [u8; 32] = bytes
        .try_into()
        .map_err(|_| corrupt(&row.kid, "bad secret"))?;
    let window = KeyWindow::new(ms_to_s(row.not_before_ms), ms_to_s(row.not_after_ms))
        .map_err(|e| corrupt(&row.kid, &e.to_string()))?;
    TicketSigningKey::from_secret_bytes(&secret, window)
        .map_err(|e| corrupt(&row.kid, &e.to_string()))
}

fn published(row: &SigningKeyRow) -> Result<PublishedKey, ServiceError> {
    let public: [u8; 32] = unhex(&row.public_key_hex)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt(&row.kid, "bad public key"))?;
    let window = KeyWindow::new(ms_to_s(row.not_before_ms), ms_to_s(row.not_after_ms))
        .map_err(|e| corrupt(&row.kid, &e.to_string()))?;
    PublishedKey::new(public, window).map_err(|e| corrupt(&row.kid, &e.to_string()))
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect()
}

/// The key that signs now, creating one when none can (first start, or the last one's
/// signing period is over).
pub async fn signer(app: &App) -> Result<Arc<Signer>, ServiceError> {
    let now_ms = app.now_ms();
    let cached = app
        .signer
        .read()
        .map(|guard| guard.clone())
        .unwrap_or_else(|p| p.into_inner().clone());
    if let Some(signer) = cached.filter(|s| {
        can_sign(s, now_ms) && now_ms.saturating_sub(s.loaded_at_ms) < SIGNER_RECHECK_MS
    }) {
        return Ok(signer);
    }
    ensure_signing_key(app).await
}

fn can_sign(signer: &Signer, now_ms: i64) -> bool {
    let window = signer.key.window();
    let now_s = ms_to_s(now_ms);
    window.not_before_unix_s() <= now_s
        && now_ms < signer.sign_until_ms
        && now_s.saturating_add(TICKET_LIFETIME_S_MAX) <= window.not_after_unix_s()
}

/// Seals the secrets of rows written before sealing existed and empties their plain column.
/// Each row is sealed once even when two processes start together.
async fn seal_plain_keys(app: &App, rows: &[SigningKeyRow]) -> Result<(), ServiceError> {
    let plain: Vec<&SigningKeyRow> = rows.iter().filter(|r| r.secret_sealed.is_none()).collect();
    if plain.is_empty() {
        return Ok(());
    }
    let mut tx = app.store.begin().await?;
    let mut sealed_kids = Vec::new();
    for row in plain {
        let secret = unhex(&row.secret_hex).ok_or_else(|| corrupt(&row.kid, "bad secret"))?;
        let sealed = app
            .settings
            .key_vault
            .seal(&seal_label(&row.kid), &secret)
            .map_err(|e| corrupt(&row.kid, &e.to_string()))?;
        if store::keys::seal_plain(&mut tx, &row.kid, &sealed).await? {
            sealed_kids.push(row.kid.clone());
        }
    }
    tx.commit().await?;
    if !sealed_kids.is_empty() {
        tracing::warn!(
            kids = ?sealed_kids,
            kek = %app.settings.key_vault.key_id(),
            "sealed signing keys stored in plain before; rotate them (`smsbus keys rotate`), \
             their plain bytes may be in old backups"
        );
    }
    Ok(())
}

pub async fn ensure_signing_key(app: &App) -> Result<Arc<Signer>, ServiceError> {
    let now_ms = app.now_ms();
    let mut rows = {
        let mut conn = app.store.reader().await?;
        store::keys::all(&mut conn).await?
    };
    if rows.iter().any(|r| r.secret_sealed.is_none()) {
        seal_plain_keys(app, &rows).await?;
        let mut conn = app.store.reader().await?;
        rows = store::keys::all(&mut conn).await?;
    }
    for row in &rows {
        let signer = Signer {
            key: signing_key(app, row)?,
            sign_until_ms: row.sign_until_ms,
            loaded_at_ms: now_ms,
        };
        if can_sign(&signer, now_ms) {
            return Ok(cache(app, signer));
        }
    }
    create_key(app, &rows, now_ms).await
}

/// Starts a new key (published at once, signing after the lead time unless `Immediately`); the
/// old ones sign until then and stay published until their tickets end. Staff ask for it.
pub async fn rotate(
    app: &App,
    actor: &crate::staff::Actor,
    when: Rotation,
) -> Result<PublishedKey, ServiceError> {
    tracing::info!(?actor, ?when, "key rotation");
    let now_ms = match when {
        Rotation::Scheduled => app.now_ms().saturating_add(s_to_ms(KEY_PUBLISH_LEAD_S)),
        Rotation::Immediately => app.now_ms(),
    };
    let rows = {
        let mut conn = app.store.reader().await?;
        store::keys::all(&mut conn).await?
    };
    let signer = create_key(app, &rows, now_ms).await?;
    let published = signer.key.published().clone();
    let mut tx = app.store.begin().await?;
    crate::audit::record(
        &mut tx,
        actor,
        &crate::audit::Change {
            action: "key.rotate",
            object: &format!("key:{}", published.id()),
            before: &format!("{} keys", rows.len()),
            after: &format!("{when:?}"),
        },
        app.now_ms(),
    )
    .await?;
    tx.commit().await?;
    Ok(published)
}

async fn create_key(
    app: &App,
    existing: &[SigningKeyRow],
    now_ms: i64,
) -> Result<Arc<Signer>, ServiceError> {
    let published_keys: Vec<PublishedKey> =
        existing.iter().map(published).collect::<Result<_, _>>()?;
    let window = plan_rotation(
        &published_keys,
        ms_to_s(now_ms),
        KEY_SIGNING_PERIOD_S,
        TICKET_LIFETIME_S_MAX,
    )
    .map_err(|e| ServiceError::internal(format!("key rotation: {e}")))?;
    let secret: [u8; 32] = crate::random_bytes()?;
    let key = TicketSigningKey::from_secret_bytes(&secret, window)
        .map_err(|e| ServiceError::internal(e.to_string()))?;
    let not_before_ms = s_to_ms(window.not_before_unix_s());
    let sign_until_ms = s_to_ms(
        window
            .not_before_unix_s()
            .saturating_add(KEY_SIGNING_PERIOD_S),
    );
    let kid = key.id().to_string();
    let sealed = app
        .settings
        .key_vault
        .seal(&seal_label(&kid), &secret)
        .map_err(|e| corrupt(&kid, &e.to_string()))?;
    let row = SigningKeyRow {
        kid,
        secret_hex: String::new(),
        secret_sealed: Some(sealed),
        public_key_hex: crate::hex(&key.published().public_key()),
        not_before_ms,
        sign_until_ms,
        not_after_ms: s_to_ms(window.not_after_unix_s()),
        created_at_ms: now_ms,
    };
    let mut tx = app.store.begin().await?;
    store::keys::stop_signing(&mut tx, not_before_ms).await?;
    store::keys::insert(&mut tx, &row).await?;
    tx.commit().await?;
    tracing::info!(kid = %row.kid, "created a ticket signing key");
    Ok(cache(
        app,
        Signer {
            key,
            sign_until_ms,
            loaded_at_ms: app.now_ms(),
        },
    ))
}

fn cache(app: &App, signer: Signer) -> Arc<Signer> {
    let signer = Arc::new(signer);
    let mut guard = app.signer.write().unwrap_or_else(|p| p.into_inner());
    *guard = Some(Arc::clone(&signer));
    signer
}

/// Every key a valid ticket may carry: the published list, newest first.
pub async fn published_keys(app: &App) -> Result<Vec<PublishedKey>, ServiceError> {
    let now_ms = app.now_ms();
    let mut conn = app.store.reader().await?;
    let rows = store::keys::all(&mut conn).await?;
    rows.iter()
        .filter(|r| r.not_after_ms > now_ms)
        .map(published)
        .collect()
}

pub async fn key_list(app: &App) -> Result<KeyList, ServiceError> {
    KeyList::new(published_keys(app).await?)
        .map_err(|e| ServiceError::new(ErrorCode::Internal, e.to_string()))
}

/// The holder keys of every signing key a valid ticket may carry, newest first, with the key's
/// window: what a signed-in controller's device caches to check holders offline. Never public.
pub async fn holder_keys(app: &App) -> Result<Vec<(PublishedKey, HolderKey)>, ServiceError> {
    let now_ms = app.now_ms();
    let rows = {
        let mut conn = app.store.reader().await?;
        store::keys::all(&mut conn).await?
    };
    rows.iter()
        .filter(|r| r.not_after_ms > now_ms)
        .map(|row| {
            let key = signing_key(app, row)?;
            Ok((key.published().clone(), key.holder_key()))
        })
        .collect()
}

/// [`holder_keys`] as the pure check wants them.
pub async fn holder_key_set(app: &App) -> Result<domain::ticket::HolderKeys, ServiceError> {
    let keys = holder_keys(app).await?;
    Ok(domain::ticket::HolderKeys::new(
        keys.into_iter()
            .map(|(published, holder)| (published.id(), holder)),
    ))
}

/// The holder key of one signing key, if it is still current.
pub async fn holder_key(app: &App, id: KeyId) -> Result<Option<HolderKey>, ServiceError> {
    Ok(holder_key_set(app).await?.get(id).cloned())
}
