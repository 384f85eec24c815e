//! The SMS gateway's side: incoming messages to 2505 in, replies out, and the outbox of
//! messages produced later (a pending payment settled by recovery).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use service::sms::{IncomingSms, handle_sms};

use crate::extract::{ApiJson, Lang, SmsGateway};
use crate::problem::{ApiResult, Problem};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = IncomingSms)]
pub(crate) struct IncomingBody {
    /// The SMSC (operator) that delivered the message.
    #[schema(min_length = 1, max_length = 64)]
    smsc: String,
    /// The SMSC's id of the message: a redelivery with the same id is answered as the first.
    #[schema(min_length = 1, max_length = 64)]
    message_id: String,
    /// The passenger's number.
    #[schema(pattern = "^\\+7[67][0-9]{9}$")]
    sender: String,
    /// A longer one than 1000 characters is answered by its beginning.
    text: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SmsReply)]
pub(crate) struct Reply {
    to: String,
    text: String,
    /// A redelivery: this is the first delivery's reply, nothing was done again.
    duplicate: bool,
}

#[utoipa::path(post, path = "/v1/sms/incoming", summary = "SMS gateway: a message to 2505",
    security(("bearer" = [])), params(crate::apidoc::LangQuery), request_body = IncomingBody,
    responses((status = 200, description = "The reply to send", body = Reply)))]
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

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Outbox {
    messages: Vec<OutboxMessage>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct OutboxMessage {
    id: i64,
    to: String,
    text: String,
    /// `gateway`: the HTTP gateway sends it; `smpp`: an SMPP bind did (listed for reading).
    #[schema(schema_with = via)]
    via: &'static str,
    /// Over SMPP: `submitting`, `retry`, `submitted`, `delivered`, `undeliverable`, `failed`…
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
}

fn via() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&["gateway", "smpp"])
}

/// Messages waiting to be sent: sign-in codes first, then oldest first; the gateway marks
/// each sent.
#[utoipa::path(get, path = "/v1/sms/outbox", summary = "SMS gateway: replies produced later, waiting to be sent (sign-in codes first, then oldest first)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "Messages", body = Outbox)))]
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

/// A message of the outbox.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct MessagePath {
    /// Its `id` in the outbox.
    #[param(minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)]
    id: i64,
}

#[utoipa::path(post, path = "/v1/sms/outbox/{id}/sent", summary = "SMS gateway: mark a message sent",
    security(("bearer" = [])), params(MessagePath, crate::apidoc::LangQuery),
    responses((status = 204, description = "Marked")))]
pub(crate) async fn sent(
    State(state): State<crate::State>,
    _caller: SmsGateway,
    Lang(language): Lang,
    Path(MessagePath { id }): Path<MessagePath>,
) -> ApiResult<axum::http::StatusCode> {
    service::outbox::mark_sent(&state.app, id)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
