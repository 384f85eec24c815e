//! SMS seen on the short number, deduplicated by (operator, message id, sender): an SMSC may
//! deliver one message twice and the passenger must not pay twice for it. Replies that are
//! produced later (a payment settled by recovery) wait in the outbox.

use domain::ride::RideId;

use crate::db::{Executor, Row, query};

use crate::Result;

pub enum Recorded {
    New,
    /// Seen before; carries the reply we gave then, if it was already produced.
    Duplicate(Option<String>),
}

/// How a message reached us, which decides where its reply goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// The HTTP gateway: the reply is its answer.
    Gateway,
    /// One of our SMPP binds: the reply goes out through the outbox.
    Smpp,
}

impl Via {
    fn column(self) -> Option<&'static str> {
        match self {
            Via::Gateway => None,
            Via::Smpp => Some("smpp"),
        }
    }
}

pub async fn record_incoming(
    conn: &mut dyn Executor,
    operator: &str,
    message_id: &str,
    sender: &str,
    body: &str,
    now_ms: i64,
) -> Result<Recorded> {
    record_incoming_via(
        conn,
        operator,
        message_id,
        sender,
        body,
        Via::Gateway,
        now_ms,
    )
    .await
}

pub async fn record_incoming_via(
    conn: &mut dyn Executor,
    operator: &str,
    message_id: &str,
    sender: &str,
    body: &str,
    via: Via,
    now_ms: i64,
) -> Result<Recorded> {
    let inserted = query(
        "INSERT INTO sms_messages (operator, message_id, sender, body, received_at_ms, via) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (operator, message_id, sender) DO NOTHING RETURNING message_id",
    )
    .bind(operator)
    .bind(message_id)
    .bind(sender)
    .bind(body)
    .bind(now_ms)
    .bind(via.column())
    .fetch_optional(conn)
    .await?;
    if inserted.is_some() {
        return Ok(Recorded::New);
    }
    Ok(Recorded::Duplicate(
        reply_to(conn, operator, message_id, sender).await?,
    ))
}

pub async fn set_reply(
    conn: &mut dyn Executor,
    operator: &str,
    message_id: &str,
    sender: &str,
    reply: &str,
) -> Result<()> {
    query("UPDATE sms_messages SET reply = $1 WHERE operator = $2 AND message_id = $3 AND sender = $4")
        .bind(reply)
        .bind(operator)
        .bind(message_id)
        .bind(sender)
        .execute(conn)
        .await?;
    Ok(())
}

/// The reply given to a message, if one was stored.
async fn reply_to(
    conn: &mut dyn Executor,
    operator: &str,
    message_id: &str,
    sender: &str,
) -> Result<Option<String>> {
    Ok(query(
        "SELECT reply FROM sms_messages WHERE operator = $1 AND message_id = $2 AND sender = $3",
    )
    .bind(operator)
    .bind(message_id)
    .bind(sender)
    .try_map(|r: Row| r.try_get(0))
    .fetch_optional(conn)
    .await?
    .flatten())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub phone: String,
    pub body: String,
    pub ride_id: Option<RideId>,
    pub created_at_ms: i64,
}

/// Which outbox messages the gateway takes first: a sign-in code must not wait behind a
/// backlog of ticket replies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxPriority {
    SignInCode,
    Reply,
}

impl OutboxPriority {
    fn rank(self) -> i64 {
        match self {
            OutboxPriority::SignInCode => 0,
            OutboxPriority::Reply => 1,
        }
    }
}

/// Queues a reply (a ticket settled later, a refusal) behind any sign-in codes.
pub async fn enqueue(
    conn: &mut dyn Executor,
    phone: &str,
    body: &str,
    ride_id: Option<&RideId>,
    now_ms: i64,
) -> Result<()> {
    enqueue_with(conn, phone, body, ride_id, OutboxPriority::Reply, now_ms).await
}

pub async fn enqueue_with(
    conn: &mut dyn Executor,
    phone: &str,
    body: &str,
    ride_id: Option<&RideId>,
    priority: OutboxPriority,
    now_ms: i64,
) -> Result<()> {
    query("INSERT INTO sms_outbox (phone, body, ride_id, created_at_ms, priority) VALUES ($1, $2, $3, $4, $5)")
        .bind(phone)
        .bind(body)
        .bind(ride_id)
        .bind(now_ms)
        .bind(priority.rank())
        .execute(conn)
        .await?;
    Ok(())
}

/// Messages not yet handed to the SMS gateway: sign-in codes first, then oldest first.
/// Messages an SMPP bind took are not the gateway's (see [`smpp_due`]).
pub async fn pending_outbox(conn: &mut dyn Executor, limit: i64) -> Result<Vec<OutboxRow>> {
    query("SELECT id, phone, body, ride_id, created_at_ms FROM sms_outbox WHERE sent_at_ms IS NULL AND (smpp_state IS NULL OR smpp_state = 'gateway') ORDER BY priority, id LIMIT $1")
        .bind(limit)
        .try_map(|r: Row| {
            Ok(OutboxRow { id: r.try_get(0)?, phone: r.try_get(1)?, body: r.try_get(2)?, ride_id: r.try_get(3)?, created_at_ms: r.try_get(4)? })
        })
        .fetch_all(conn)
        .await
}

pub async fn mark_sent(conn: &mut dyn Executor, id: i64, now_ms: i64) -> Result<()> {
    query("UPDATE sms_outbox SET sent_at_ms = $1 WHERE id = $2")
        .bind(now_ms)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Answers a message at most once: true when this call set its reply (the caller then queues
/// it, in the same transaction), false when another delivery of it already did.
pub async fn set_reply_once(
    conn: &mut dyn Executor,
    operator: &str,
    message_id: &str,
    sender: &str,
    reply: &str,
) -> Result<bool> {
    let done = query("UPDATE sms_messages SET reply = $1 WHERE operator = $2 AND message_id = $3 AND sender = $4 AND reply IS NULL")
        .bind(reply)
        .bind(operator)
        .bind(message_id)
        .bind(sender)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingRow {
    pub operator: String,
    pub message_id: String,
    pub sender: String,
    pub body: String,
}

/// Messages our SMPP binds stored that have no reply yet (the process stopped on them).
/// Those received before `received_before_ms`, oldest first.
pub async fn unanswered_smpp(
    conn: &mut dyn Executor,
    received_before_ms: i64,
    limit: i64,
) -> Result<Vec<IncomingRow>> {
    query("SELECT operator, message_id, sender, body FROM sms_messages WHERE via = 'smpp' AND reply IS NULL AND received_at_ms <= $1 ORDER BY received_at_ms LIMIT $2")
        .bind(received_before_ms)
        .bind(limit)
        .try_map(|r: Row| {
            Ok(IncomingRow { operator: r.try_get(0)?, message_id: r.try_get(1)?, sender: r.try_get(2)?, body: r.try_get(3)? })
        })
        .fetch_all(conn)
        .await
}

/// Queues the reply to a message an SMSC delivered, to go back through that SMSC.
pub async fn enqueue_via_operator(
    conn: &mut dyn Executor,
    phone: &str,
    body: &str,
    operator: &str,
    now_ms: i64,
) -> Result<()> {
    query("INSERT INTO sms_outbox (phone, body, ride_id, created_at_ms, priority, operator) VALUES ($1, $2, NULL, $3, $4, $5)")
        .bind(phone)
        .bind(body)
        .bind(now_ms)
        .bind(OutboxPriority::Reply.rank())
        .bind(operator)
        .execute(conn)
        .await?;
    Ok(())
}

/// One part of a concatenated incoming message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingPart<'a> {
    pub operator: &'a str,
    pub sender: &'a str,
    pub reference: i64,
    pub total: i64,
    pub number: i64,
    pub message_id: &'a str,
    pub body: &'a str,
}

/// The whole message once its last part is stored: the first part's message id and the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    pub message_id: String,
    pub body: String,
}

/// Stores a part (a redelivered part is kept once); when all parts are there, removes them and
/// returns the joined message, to be recorded in the same transaction. Parts older than
/// `window_ms` under the same reference are another message's (references wrap) and go.
pub async fn record_incoming_part(
    conn: &mut dyn Executor,
    part: &IncomingPart<'_>,
    window_ms: i64,
    now_ms: i64,
) -> Result<Option<Joined>> {
    query("DELETE FROM sms_incoming_parts WHERE operator = $1 AND sender = $2 AND reference = $3 AND received_at_ms < $4")
        .bind(part.operator)
        .bind(part.sender)
        .bind(part.reference)
        .bind(now_ms - window_ms)
        .execute(conn)
        .await?;
    query("INSERT INTO sms_incoming_parts (operator, sender, reference, total, number, message_id, body, received_at_ms) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (operator, sender, reference, total, number) DO NOTHING")
        .bind(part.operator)
        .bind(part.sender)
        .bind(part.reference)
        .bind(part.total)
        .bind(part.number)
        .bind(part.message_id)
        .bind(part.body)
        .bind(now_ms)
        .execute(conn)
        .await?;
    let parts: Vec<(i64, String, String)> = query(
        "SELECT number, message_id, body FROM sms_incoming_parts WHERE operator = $1 AND sender = $2 AND reference = $3 AND total = $4 ORDER BY number",
    )
    .bind(part.operator)
    .bind(part.sender)
    .bind(part.reference)
    .bind(part.total)
    .try_map(|r: Row| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .fetch_all(conn)
    .await?;
    if i64::try_from(parts.len()).unwrap_or(i64::MAX) < part.total {
        return Ok(None);
    }
    query("DELETE FROM sms_incoming_parts WHERE operator = $1 AND sender = $2 AND reference = $3 AND total = $4")
        .bind(part.operator)
        .bind(part.sender)
        .bind(part.reference)
        .bind(part.total)
        .execute(conn)
        .await?;
    let message_id = parts
        .first()
        .map(|(_, id, _)| id.clone())
        .unwrap_or_default();
    let body = parts.into_iter().map(|(_, _, body)| body).collect();
    Ok(Some(Joined { message_id, body }))
}

/// An outbox message for an SMPP bind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmppOutboxRow {
    pub id: i64,
    pub phone: String,
    pub body: String,
    /// The SMSC it must go back through, when it answers a message.
    pub operator: Option<String>,
    pub attempts: i64,
}

/// Messages the SMPP dispatcher may take now: sign-in codes first, then oldest first.
pub async fn smpp_due(
    conn: &mut dyn Executor,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<SmppOutboxRow>> {
    query("SELECT id, phone, body, operator, attempts FROM sms_outbox WHERE sent_at_ms IS NULL \
           AND (smpp_state IS NULL OR smpp_state = 'retry') AND next_attempt_at_ms <= $1 ORDER BY priority, id LIMIT $2")
        .bind(now_ms)
        .bind(limit)
        .try_map(|r: Row| {
            Ok(SmppOutboxRow { id: r.try_get(0)?, phone: r.try_get(1)?, body: r.try_get(2)?, operator: r.try_get(3)?, attempts: r.try_get(4)? })
        })
        .fetch_all(conn)
        .await
}

/// Takes a message for sending (compare-and-set: one dispatcher takes it once).
pub async fn claim_for_smpp(conn: &mut dyn Executor, id: i64) -> Result<bool> {
    let done = query("UPDATE sms_outbox SET smpp_state = 'submitting', attempts = attempts + 1 WHERE id = $1 AND sent_at_ms IS NULL AND (smpp_state IS NULL OR smpp_state = 'retry')")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// No bind serves the number's operator: the HTTP gateway's outbox lists it.
pub async fn leave_to_gateway(conn: &mut dyn Executor, id: i64) -> Result<()> {
    query("UPDATE sms_outbox SET smpp_state = 'gateway' WHERE id = $1 AND smpp_state IS NULL")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Parts of a message the SMSC already took (their numbers, 1-based).
pub async fn submitted_parts(conn: &mut dyn Executor, outbox_id: i64) -> Result<Vec<i64>> {
    query("SELECT part FROM sms_outbox_parts WHERE outbox_id = $1 ORDER BY part")
        .bind(outbox_id)
        .try_map(|r: Row| r.try_get(0))
        .fetch_all(conn)
        .await
}

pub async fn record_submitted_part(
    conn: &mut dyn Executor,
    outbox_id: i64,
    part: i64,
    operator: &str,
    smsc_message_id: &str,
    now_ms: i64,
) -> Result<()> {
    query("INSERT INTO sms_outbox_parts (outbox_id, part, operator, smsc_message_id, state, submitted_at_ms, updated_at_ms) \
           VALUES ($1, $2, $3, $4, COALESCE((SELECT state FROM sms_early_receipts WHERE operator = $3 AND smsc_message_id = $4), 'submitted'), $5, $5) \
           ON CONFLICT (outbox_id, part) DO NOTHING")
        .bind(outbox_id)
        .bind(part)
        .bind(operator)
        .bind(smsc_message_id)
        .bind(now_ms)
        .execute(conn)
        .await?;
    query("DELETE FROM sms_early_receipts WHERE operator = $1 AND smsc_message_id = $2")
        .bind(operator)
        .bind(smsc_message_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn mark_submitted(conn: &mut dyn Executor, id: i64, now_ms: i64) -> Result<()> {
    query("UPDATE sms_outbox SET smpp_state = 'submitted', sent_at_ms = $1, smpp_error = NULL WHERE id = $2 AND smpp_state = 'submitting'")
        .bind(now_ms)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn schedule_retry(
    conn: &mut dyn Executor,
    id: i64,
    at_ms: i64,
    error: &str,
) -> Result<()> {
    query("UPDATE sms_outbox SET smpp_state = 'retry', next_attempt_at_ms = $1, smpp_error = $2 WHERE id = $3 AND smpp_state = 'submitting'")
        .bind(at_ms)
        .bind(error)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn mark_failed(conn: &mut dyn Executor, id: i64, error: &str) -> Result<()> {
    query("UPDATE sms_outbox SET smpp_state = 'failed', smpp_error = $1 WHERE id = $2 AND smpp_state = 'submitting'")
        .bind(error)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// At start: messages a stopped process was sending go again, but only their parts without a
/// recorded message id; those it was backing off from are due at once (a new bind).
pub async fn release_in_doubt(conn: &mut dyn Executor) -> Result<u64> {
    let done = query("UPDATE sms_outbox SET smpp_state = 'retry', next_attempt_at_ms = 0 WHERE smpp_state = 'submitting' OR smpp_state = 'retry'")
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// A receipt for no part we recorded (yet): kept until the part is, or for good if the id is
/// not ours. Receipts older than `older_than_ms` that never found their part are dropped.
pub async fn record_early_receipt(
    conn: &mut dyn Executor,
    operator: &str,
    smsc_message_id: &str,
    state: &str,
    older_than_ms: i64,
    now_ms: i64,
) -> Result<()> {
    query("DELETE FROM sms_early_receipts WHERE received_at_ms < $1")
        .bind(older_than_ms)
        .execute(conn)
        .await?;
    query("INSERT INTO sms_early_receipts (operator, smsc_message_id, state, received_at_ms) VALUES ($1, $2, $3, $4) \
           ON CONFLICT (operator, smsc_message_id) DO UPDATE SET state = excluded.state")
        .bind(operator)
        .bind(smsc_message_id)
        .bind(state)
        .bind(now_ms)
        .execute(conn)
        .await?;
    Ok(())
}

/// A delivery receipt: true when it named a part we sent.
pub async fn record_receipt(
    conn: &mut dyn Executor,
    operator: &str,
    smsc_message_id: &str,
    state: &str,
    now_ms: i64,
) -> Result<bool> {
    let done = query("UPDATE sms_outbox_parts SET state = $1, updated_at_ms = $2 WHERE operator = $3 AND smsc_message_id = $4")
        .bind(state)
        .bind(now_ms)
        .bind(operator)
        .bind(smsc_message_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// A message's way to the phone, for the API and the CLI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: i64,
    pub phone: String,
    pub body: String,
    pub created_at_ms: i64,
    pub sent_at_ms: Option<i64>,
    /// NULL: waiting (or the gateway's); see the migration for the words.
    pub smpp_state: Option<String>,
    pub smpp_error: Option<String>,
    pub attempts: i64,
    /// Each part's (number, SMSC message id, state).
    pub parts: Vec<(i64, String, String)>,
}

/// The newest messages (to `phone`, or all), newest first, with their parts' states.
pub async fn deliveries(
    conn: &mut dyn Executor,
    phone: Option<&str>,
    since_ms: i64,
    limit: i64,
) -> Result<Vec<DeliveryRow>> {
    const COLUMNS: &str = "SELECT id, phone, body, created_at_ms, sent_at_ms, smpp_state, smpp_error, attempts FROM sms_outbox";
    let sql = match phone {
        Some(_) => {
            format!("{COLUMNS} WHERE phone = $1 AND created_at_ms >= $2 ORDER BY id DESC LIMIT $3")
        }
        None => {
            format!("{COLUMNS} WHERE phone <> $1 AND created_at_ms >= $2 ORDER BY id DESC LIMIT $3")
        }
    };
    let mut rows: Vec<DeliveryRow> = query(&sql)
        .bind(phone.unwrap_or(""))
        .bind(since_ms)
        .bind(limit)
        .try_map(|r: Row| {
            Ok(DeliveryRow {
                id: r.try_get(0)?,
                phone: r.try_get(1)?,
                body: r.try_get(2)?,
                created_at_ms: r.try_get(3)?,
                sent_at_ms: r.try_get(4)?,
                smpp_state: r.try_get(5)?,
                smpp_error: r.try_get(6)?,
                attempts: r.try_get(7)?,
                parts: Vec::new(),
            })
        })
        .fetch_all(conn)
        .await?;
    for row in &mut rows {
        row.parts = query("SELECT part, smsc_message_id, state FROM sms_outbox_parts WHERE outbox_id = $1 ORDER BY part")
            .bind(row.id)
            .try_map(|r: Row| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .fetch_all(conn)
            .await?;
    }
    Ok(rows)
}

/// Replies waiting for an SMPP bind (not taken yet, or backing off after throttling, a full
/// queue or no bind; not those being sent), counted by the operator they answer (`None`:
/// chosen by the number) and the number's first five characters (`+7701`), from which the
/// operator of the others is told.
pub async fn smpp_backlog(conn: &mut dyn Executor) -> Result<Vec<(Option<String>, String, i64)>> {
    query(
        "SELECT operator, substr(phone, 1, 5), COUNT(*) FROM sms_outbox WHERE sent_at_ms IS NULL \
         AND (smpp_state IS NULL OR smpp_state = 'retry') GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .try_map(|r: Row| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .fetch_all(conn)
    .await
}
