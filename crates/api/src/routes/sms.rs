//! The SMS gateway's side: incoming messages to 2505 in, replies out, and the outbox of
//! messages produced later (a pending payment settled by recovery).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use service::sms::{IncomingSms, handle_sms};

use crate::extract::{ApiJson, Lang, SmsGateway};
use crate::problem::{ApiResult, Problem};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncomingBody {
    /// The SMSC (operator) that delivered the message.
    smsc: String,
    message_id: String,
    sender: String,
    text: String,
}

#[derive(Serialize)]
pub(crate) struct Reply {
    to: String,
    text: String,
    duplicate: bool,
}

pub(crate) async fn incoming(
    State(state): State<crate::State>,
    _caller: SmsGateway,
    Lang(language): Lang,
    ApiJson(body): ApiJson<IncomingBody>,
) -> ApiResult<Json<Reply>> {
    let sms = IncomingSms {
        smsc: body.smsc,
        message_id: body.message_id,
        sender: body.sender,
        text: body.text,
    };
    let reply = handle_sms(&state.app, sms)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Reply {
        to: reply.to,
        text: reply.text,
        duplicate: reply.duplicate,
    }))
}

#[derive(Serialize)]
pub(crate) struct Outbox {
    messages: Vec<OutboxMessage>,
}

#[derive(Serialize)]
struct OutboxMessage {
    id: i64,
    to: String,
    text: String,
    /// `gateway`: the HTTP gateway sends it; `smpp`: an SMPP bind did (listed for reading).
    via: &'static str,
    /// Over SMPP: `submitting`, `retry`, `submitted`, `delivered`, `undeliverable`, `failed`…
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
}

/// Messages waiting to be sent: sign-in codes first, then oldest first; the gateway marks
/// each sent.
pub(crate) async fn outbox(
    State(state): State<crate::State>,
    _caller: SmsGateway,
    Lang(language): Lang,
) -> ApiResult<Json<Outbox>> {
    let pending = service::outbox::pending(&state.app)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let mut messages: Vec<OutboxMessage> = pending
        .into_iter()
        .map(|m| OutboxMessage {
            id: m.id,
            to: m.to,
            text: m.text,
            via: "gateway",
            state: None,
        })
        .collect();
    if state.settings.outbox_view == crate::OutboxView::WithRecentSmpp {
        let since_ms = state.app.now_ms() - crate::OUTBOX_SMPP_RECENT_MS;
        let sent = service::outbox::recent_smpp(&state.app, since_ms)
            .await
            .map_err(|e| Problem::from_service(e, language))?;
        messages.extend(sent.into_iter().map(|m| OutboxMessage {
            id: m.id,
            to: m.to,
            text: m.text,
            via: "smpp",
            state: Some(m.state),
        }));
    }
    Ok(Json(Outbox { messages }))
}

pub(crate) async fn sent(
    State(state): State<crate::State>,
    _caller: SmsGateway,
    Lang(language): Lang,
    Path(id): Path<i64>,
) -> ApiResult<axum::http::StatusCode> {
    service::outbox::mark_sent(&state.app, id)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
