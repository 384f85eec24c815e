//! The SMPP side's bookkeeping, committed together: delivery receipts, the SMSC's id of each
//! part sent and a message wholly submitted are small independent writes that come at several
//! per message. One writer task takes every write waiting (up to [`BATCH_MAX`]), applies them
//! in arrival order in one transaction and answers each caller once it committed (group
//! commit). What the callers promise is unchanged: a receipt is stored before its
//! `deliver_sm_resp`, a part's id before the next part goes. When a batch fails, each write
//! is tried alone, so one bad write does not refuse the others.

use std::sync::Arc;

use partners::smpp::Receipt;
use tokio::sync::{mpsc, oneshot};

use super::EARLY_RECEIPT_KEEP_MS;
use crate::{App, ServiceError};

/// Writes taken into one transaction at most.
pub const BATCH_MAX: usize = 512;
/// Writes waiting for the writer at most; a caller past it waits (back-pressure).
pub const QUEUE_MAX: usize = 4_096;

/// One bookkeeping write.
#[derive(Debug)]
pub(super) enum Write {
    /// A delivery receipt for a part we sent (or one not yet recorded: kept for it).
    Receipt { operator: String, receipt: Receipt },
    /// The SMSC took part `number` of outbox message `id` and named it `message_id`.
    Part {
        id: i64,
        number: i64,
        operator: String,
        message_id: String,
    },
    /// Every part of outbox message `id` went.
    Submitted { id: i64 },
}

type Answer = oneshot::Sender<Result<(), String>>;

/// The way to the writer task; cloned by every bind's handler and the dispatcher.
#[derive(Clone)]
pub(super) struct Books {
    queue: mpsc::Sender<(Write, Answer)>,
}

impl Books {
    /// Starts the writer; it ends when the last `Books` is dropped.
    pub(super) fn start(app: Arc<App>) -> Books {
        let (queue, waiting) = mpsc::channel(QUEUE_MAX);
        tokio::spawn(run(app, waiting));
        Books { queue }
    }

    /// Returns once `write` is committed.
    pub(super) async fn write(&self, write: Write) -> Result<(), ServiceError> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send((write, answer))
            .await
            .map_err(|_| ServiceError::internal("the SMPP books writer has stopped"))?;
        answered
            .await
            .map_err(|_| ServiceError::internal("the SMPP books writer has stopped"))?
            .map_err(ServiceError::internal)
    }
}

async fn run(app: Arc<App>, mut waiting: mpsc::Receiver<(Write, Answer)>) {
    let mut batch = Vec::with_capacity(BATCH_MAX);
    while waiting.recv_many(&mut batch, BATCH_MAX).await > 0 {
        let writes: Vec<&Write> = batch.iter().map(|(write, _)| write).collect();
        match commit(&app, &writes).await {
            Ok(()) => {
                for (_, answer) in batch.drain(..) {
                    drop(answer.send(Ok(())));
                }
            }
            Err(error) => {
                tracing::warn!(%error, writes = batch.len(), "an SMPP books batch failed; writing one by one");
                for (write, answer) in batch.drain(..) {
                    let alone = commit(&app, &[&write]).await.map_err(|e| e.to_string());
                    drop(answer.send(alone));
                }
            }
        }
    }
}

async fn commit(app: &App, writes: &[&Write]) -> Result<(), store::StoreError> {
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    for write in writes {
        match write {
            Write::Receipt { operator, receipt } => {
                let state = receipt.state.as_str();
                let known = store::sms::record_receipt(
                    &mut tx,
                    operator,
                    &receipt.message_id,
                    state,
                    now_ms,
                )
                .await?;
                if !known {
                    // It overtook our record of the submit (or is not ours): kept for the part.
                    store::sms::record_early_receipt(
                        &mut tx,
                        operator,
                        &receipt.message_id,
                        state,
                        now_ms - EARLY_RECEIPT_KEEP_MS,
                        now_ms,
                    )
                    .await?;
                }
            }
            Write::Part {
                id,
                number,
                operator,
                message_id,
            } => {
                store::sms::record_submitted_part(
                    &mut tx, *id, *number, operator, message_id, now_ms,
                )
                .await?;
            }
            Write::Submitted { id } => store::sms::mark_submitted(&mut tx, *id, now_ms).await?,
        }
    }
    tx.commit().await
}
