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
