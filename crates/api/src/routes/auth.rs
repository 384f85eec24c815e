//! Passengers sign in with their phone number: a code by SMS, then a session token.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use super::rides::phone;
use crate::extract::{ApiJson, Lang};
use crate::keys_wire::rfc3339_ms;
use crate::problem::{ApiResult, Problem};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeBody {
    phone: String,
}

#[derive(Serialize)]
pub(crate) struct CodeSent {
    sent: bool,
    expires_in_s: i64,
}

pub(crate) async fn request_code(
    State(state): State<crate::State>,
    Lang(language): Lang,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    let phone = phone(&body.phone, language)?;
    service::sessions::request_code(&state.app, &phone, language)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeSent {
            sent: true,
            expires_in_s: service::sessions::SIGN_IN_CODE_TTL_MS / 1000,
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionBody {
    phone: String,
    code: String,
}

#[derive(Serialize)]
pub(crate) struct SessionReply {
    token: String,
    phone: String,
    expires_at: String,
}

pub(crate) async fn open_session(
    State(state): State<crate::State>,
    Lang(language): Lang,
    ApiJson(body): ApiJson<SessionBody>,
) -> ApiResult<(StatusCode, Json<SessionReply>)> {
    let phone = phone(&body.phone, language)?;
    let session = service::sessions::sign_in(&state.app, &phone, &body.code)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let reply = SessionReply {
        token: session.token,
        phone: session.phone.as_e164().to_owned(),
        expires_at: rfc3339_ms(session.expires_at_ms),
    };
    Ok((StatusCode::CREATED, Json(reply)))
}

pub(crate) async fn close_session(
    State(state): State<crate::State>,
    Lang(language): Lang,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let token = crate::extract::bearer_token(&headers).unwrap_or("");
    service::sessions::sign_out(&state.app, token)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(StatusCode::NO_CONTENT)
}
