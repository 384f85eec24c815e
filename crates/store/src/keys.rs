//! Ticket signing keys. The secret is stored sealed by the service's key vault
//! (`secret_sealed`); `secret_hex` only still holds the plain secret of rows written before
//! sealing, until the first start with a key-encryption key seals them. The public half is
//! published.

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeyRow {
    pub kid: String,
    /// Empty once sealed; the plain secret of a row written before sealing.
    pub secret_hex: String,
    /// The secret sealed by the key vault.
    pub secret_sealed: Option<String>,
    pub public_key_hex: String,
    pub not_before_ms: i64,
    /// New tickets are signed with this key until then.
    pub sign_until_ms: i64,
    /// Tickets signed by it verify until then.
    pub not_after_ms: i64,
    pub created_at_ms: i64,
}

pub async fn insert(conn: &mut dyn Executor, k: &SigningKeyRow) -> Result<()> {
    query(
        "INSERT INTO signing_keys (kid, secret_hex, secret_sealed, public_key_hex, not_before_ms, sign_until_ms, not_after_ms, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&k.kid)
    .bind(&k.secret_hex)
    .bind(k.secret_sealed.as_deref())
    .bind(&k.public_key_hex)
    .bind(k.not_before_ms)
    .bind(k.sign_until_ms)
    .bind(k.not_after_ms)
    .bind(k.created_at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every key, newest first.
pub async fn all(conn: &mut dyn Executor) -> Result<Vec<SigningKeyRow>> {
    query(
        "SELECT kid, secret_hex, secret_sealed, public_key_hex, not_before_ms, sign_until_ms, not_after_ms, created_at_ms FROM signing_keys \
         ORDER BY not_before_ms DESC, created_at_ms DESC",
    )
    .try_map(|r: Row| {
        Ok(SigningKeyRow {
            kid: r.try_get(0)?,
            secret_hex: r.try_get(1)?,
            secret_sealed: r.try_get(2)?,
            public_key_hex: r.try_get(3)?,
            not_before_ms: r.try_get(4)?,
            sign_until_ms: r.try_get(5)?,
            not_after_ms: r.try_get(6)?,
            created_at_ms: r.try_get(7)?,
        })
    })
    .fetch_all(conn)
    .await
}

/// Replaces a plain secret by its sealed form, once: true if this call sealed it.
pub async fn seal_plain(conn: &mut dyn Executor, kid: &str, sealed: &str) -> Result<bool> {
    let changed = query(
        "UPDATE signing_keys SET secret_sealed = $2, secret_hex = '' WHERE kid = $1 AND secret_sealed IS NULL",
    )
    .bind(kid)
    .bind(sealed)
    .execute(conn)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// Ends the signing period of every key still signing (a rotation).
pub async fn stop_signing(conn: &mut dyn Executor, now_ms: i64) -> Result<()> {
    query("UPDATE signing_keys SET sign_until_ms = $1 WHERE sign_until_ms > $1")
        .bind(now_ms)
        .execute(conn)
        .await?;
    Ok(())
}
