//! Ticket signing keys. The secret stays in the store (production deployments point the store
//! at an encrypted volume); the public half is published.

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeyRow {
    pub kid: String,
    pub secret_hex: String,
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
        "INSERT INTO signing_keys (kid, secret_hex, public_key_hex, not_before_ms, sign_until_ms, not_after_ms, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&k.kid)
    .bind(&k.secret_hex)
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
        "SELECT kid, secret_hex, public_key_hex, not_before_ms, sign_until_ms, not_after_ms, created_at_ms FROM signing_keys \
         ORDER BY not_before_ms DESC, created_at_ms DESC",
    )
    .try_map(|r: Row| {
        Ok(SigningKeyRow {
            kid: r.try_get(0)?,
            secret_hex: r.try_get(1)?,
            public_key_hex: r.try_get(2)?,
            not_before_ms: r.try_get(3)?,
            sign_until_ms: r.try_get(4)?,
            not_after_ms: r.try_get(5)?,
            created_at_ms: r.try_get(6)?,
        })
    })
    .fetch_all(conn)
    .await
}

/// Ends the signing period of every key still signing (a rotation).
pub async fn stop_signing(conn: &mut dyn Executor, now_ms: i64) -> Result<()> {
    query("UPDATE signing_keys SET sign_until_ms = $1 WHERE sign_until_ms > $1")
        .bind(now_ms)
        .execute(conn)
        .await?;
    Ok(())
}
