//! The simulated SMSC's HTTP admin API, for a process other than the one running it (the demo's
//! `smsbus sms`, the Python cross-test): phones send and read their inbox, faults are set.
//!
//! - `POST /phones/{phone}/messages` `{"text", "message_id"?, "wait_ms"?}` → the message id,
//!   and the first message that reached the phone afterwards (the reply), waited for
//!   `wait_ms` (at most [`REPLY_WAIT_MS_MAX`]).
//! - `GET /phones/{phone}/inbox` → every message the phone received.
//! - `GET|PUT /faults` → [`Faults`]; `GET /stats` → [`Stats`](super::Stats).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::{Faults, InboxMessage, SmscHandle};

pub const REPLY_WAIT_MS_MAX: u64 = 30_000;
pub const REPLY_WAIT_MS_DEFAULT: u64 = 10_000;
pub const SHORT_NUMBER: &str = "2505";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Send {
    text: String,
    message_id: Option<String>,
    wait_ms: Option<u64>,
}

#[derive(serde::Serialize)]
struct Sent {
    message_id: String,
    reply: Option<InboxMessage>,
}

#[derive(serde::Serialize)]
struct Inbox {
    messages: Vec<InboxMessage>,
}

/// Serves the admin API on `addr`; the address it got.
pub async fn serve(handle: SmscHandle, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/phones/{phone}/messages", post(send))
        .route("/phones/{phone}/inbox", get(inbox))
        .route("/faults", get(faults).put(set_faults))
        .route("/stats", get(stats))
        .with_state(handle);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "simulated SMSC admin stopped");
        }
    });
    Ok(bound)
}

async fn send(
    State(handle): State<SmscHandle>,
    Path(phone): Path<String>,
    Json(body): Json<Send>,
) -> Result<Json<Sent>, (StatusCode, String)> {
    let wait = Duration::from_millis(
        body.wait_ms
            .unwrap_or(REPLY_WAIT_MS_DEFAULT)
            .min(REPLY_WAIT_MS_MAX),
    );
    let (message_id, reply) = handle
        .send_and_wait_reply(&phone, SHORT_NUMBER, &body.text, body.message_id, wait)
        .await
        .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    Ok(Json(Sent { message_id, reply }))
}

async fn inbox(State(handle): State<SmscHandle>, Path(phone): Path<String>) -> Json<Inbox> {
    Json(Inbox {
        messages: handle.inbox(&phone).await,
    })
}

async fn faults(State(handle): State<SmscHandle>) -> Json<Faults> {
    Json(handle.faults().await)
}

async fn set_faults(State(handle): State<SmscHandle>, Json(faults): Json<Faults>) -> StatusCode {
    handle.set_faults(faults).await;
    StatusCode::NO_CONTENT
}

async fn stats(State(handle): State<SmscHandle>) -> Json<super::Stats> {
    Json(handle.stats().await)
}
