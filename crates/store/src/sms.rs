//! SMS seen on the short number, deduplicated by (operator, message id, sender): an SMSC may
//! deliver one message twice and the passenger must not pay twice for it. Replies that are
//! produced later (a payment settled by recovery) wait in the outbox.

use crate::db::{Executor, Row, query};

use crate::Result;

pub enum Recorded {
    New,
    /// Seen before; carries the reply we gave then, if it was already produced.
    Duplicate(Option<String>),
}

pub async fn record_incoming(
    conn: &mut dyn Executor,
    operator: &str,
    message_id: &str,
    sender: &str,
    body: &str,
    now_ms: i64,
) -> Result<Recorded> {
    let inserted = query(
        "INSERT INTO sms_messages (operator, message_id, sender, body, received_at_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (operator, message_id, sender) DO NOTHING RETURNING message_id",
    )
    .bind(operator)
    .bind(message_id)
    .bind(sender)
    .bind(body)
    .bind(now_ms)
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
    pub ride_id: Option<String>,
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
    ride_id: Option<&str>,
    now_ms: i64,
) -> Result<()> {
    enqueue_with(conn, phone, body, ride_id, OutboxPriority::Reply, now_ms).await
}

pub async fn enqueue_with(
    conn: &mut dyn Executor,
    phone: &str,
    body: &str,
    ride_id: Option<&str>,
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
pub async fn pending_outbox(conn: &mut dyn Executor, limit: i64) -> Result<Vec<OutboxRow>> {
    query("SELECT id, phone, body, ride_id, created_at_ms FROM sms_outbox WHERE sent_at_ms IS NULL ORDER BY priority, id LIMIT $1")
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
