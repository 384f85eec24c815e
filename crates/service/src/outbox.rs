//! The SMS outbox the gateway drains: replies settled later, refusals, sign-in codes. A row
//! leaves the queue only when the gateway says it was sent, so a gateway crash resends.

use crate::{App, ServiceError};

/// The most messages handed to the gateway in one call.
pub const OUTBOX_BATCH_MAX: i64 = 100;

/// One text to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingSms {
    pub id: i64,
    pub to: String,
    pub text: String,
}

/// Messages waiting to be sent: sign-in codes first, then oldest first, at most
/// [`OUTBOX_BATCH_MAX`].
pub async fn pending(app: &App) -> Result<Vec<OutgoingSms>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let rows = store::sms::pending_outbox(&mut conn, OUTBOX_BATCH_MAX).await?;
    Ok(rows
        .into_iter()
        .map(|r| OutgoingSms {
            id: r.id,
            to: r.phone,
            text: r.body,
        })
        .collect())
}

/// The gateway has sent message `id`.
pub async fn mark_sent(app: &App, id: i64) -> Result<(), ServiceError> {
    let mut tx = app.store.begin().await?;
    store::sms::mark_sent(&mut tx, id, app.now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

/// A reply one of our SMPP binds sent, with its delivery state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmppSent {
    pub id: i64,
    pub to: String,
    pub text: String,
    /// `submitting`, `retry`, `submitted`, `delivered`, `undeliverable`, `failed`…
    pub state: String,
}

/// Replies the SMPP binds took since `since_ms`, oldest first, at most [`OUTBOX_BATCH_MAX`]
/// (the demo lists them beside the gateway's queue, for reading).
pub async fn recent_smpp(app: &App, since_ms: i64) -> Result<Vec<SmppSent>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let rows = store::sms::deliveries(&mut conn, None, since_ms, OUTBOX_BATCH_MAX).await?;
    Ok(rows
        .into_iter()
        .rev()
        .filter_map(|row| {
            let state = crate::smpp::delivery_state(&row)?;
            Some(SmppSent {
                id: row.id,
                to: row.phone,
                text: row.body,
                state,
            })
        })
        .collect())
}
