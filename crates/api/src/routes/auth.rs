//! Passengers sign in with their phone number: a code by SMS, then a session token. A
//! signed-in passenger lists their sessions and ends one or all others.

use std::net::{IpAddr, Ipv4Addr};

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};

use super::rides::phone;
use crate::extract::{ApiJson, ClientAddr, Lang, bearer_token, language_of};
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
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    let phone = phone(&body.phone, language)?;
    // The real client (behind a trusted proxy, from X-Forwarded-For); a server started
    // without connection info (never the case in `smsbus serve`) counts all as one client.
    let client = client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    service::sessions::request_code(&state.app, &phone, language, client)
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
    id: String,
    phone: String,
    expires_at: String,
}

pub(crate) async fn open_session(
    State(state): State<crate::State>,
    Lang(language): Lang,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SessionBody>,
) -> ApiResult<(StatusCode, Json<SessionReply>)> {
    let phone = phone(&body.phone, language)?;
    let device = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let session = service::sessions::sign_in(&state.app, &phone, &body.code, device)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    let reply = SessionReply {
        token: session.token,
        id: session.id,
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
    let token = bearer_token(&headers).unwrap_or("");
    service::sessions::sign_out(&state.app, token)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in passenger with the session the request came with.
pub(crate) struct SignedIn(service::sessions::SignedIn);

impl FromRequestParts<crate::State> for SignedIn {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::State,
    ) -> Result<SignedIn, Problem> {
        let language = language_of(parts);
        let token = bearer_token(&parts.headers).unwrap_or("");
        service::sessions::current(&state.app, token)
            .await
            .map(SignedIn)
            .map_err(|e| Problem::from_service(e, language))
    }
}

#[derive(Serialize)]
pub(crate) struct SessionList {
    sessions: Vec<SessionItem>,
}

#[derive(Serialize)]
struct SessionItem {
    id: String,
    /// The device's User-Agent when it signed in, cut short; null if it sent none.
    device: Option<String>,
    created_at: String,
    last_used_at: String,
    expires_at: String,
    current: bool,
}

pub(crate) async fn list_sessions(
    State(state): State<crate::State>,
    Lang(language): Lang,
    SignedIn(signed_in): SignedIn,
) -> ApiResult<Json<SessionList>> {
    let sessions = service::sessions::list(&state.app, &signed_in)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(SessionList {
        sessions: sessions
            .into_iter()
            .map(|s| SessionItem {
                id: s.id,
                device: s.device,
                created_at: rfc3339_ms(s.created_at_ms),
                last_used_at: rfc3339_ms(s.last_used_at_ms),
                expires_at: rfc3339_ms(s.expires_at_ms),
                current: s.current,
            })
            .collect(),
    }))
}

pub(crate) async fn end_session(
    State(state): State<crate::State>,
    Lang(language): Lang,
    SignedIn(signed_in): SignedIn,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    service::sessions::end(&state.app, &signed_in, &id)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub(crate) struct Ended {
    ended: u64,
}

pub(crate) async fn end_other_sessions(
    State(state): State<crate::State>,
    Lang(language): Lang,
    SignedIn(signed_in): SignedIn,
) -> ApiResult<Json<Ended>> {
    let ended = service::sessions::end_others(&state.app, &signed_in)
        .await
        .map_err(|e| Problem::from_service(e, language))?;
    Ok(Json(Ended { ended }))
}
