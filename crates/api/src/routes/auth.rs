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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CodeBody {
    #[schema(pattern = "^\\+7[67][0-9]{9}$", example = "+77011234567")]
    phone: String,
}

/// A sign-in code was sent by SMS.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CodeSent {
    #[schema(schema_with = sent)]
    sent: bool,
    expires_in_s: i64,
}

fn sent() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Boolean)
        .enum_values(Some([true]))
        .into()
}

#[utoipa::path(post, path = "/v1/auth/code",
    summary = "Send a sign-in code by SMS to the number: at most one per 30 s and 10 a day per number, 30 per 10 minutes per client address, a budget per minute overall; none while the number is locked",
    params(crate::apidoc::LangQuery), request_body = CodeBody,
    responses((status = 202, description = "Sent; valid 5 minutes", body = CodeSent),
        (status = 422, description = "PHONE_FOREIGN or OPERATOR_NOT_SERVED (no operator serves the number): nothing is sent",
            body = crate::problem::ProblemBody, content_type = crate::apidoc::PROBLEM)))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionBody {
    #[schema(pattern = "^\\+7[67][0-9]{9}$", example = "+77011234567")]
    phone: String,
    #[schema(example = "123456")]
    code: String,
}

/// A passenger's session: `token` goes in `Authorization: Bearer` on passenger endpoints.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Session)]
pub(crate) struct SessionReply {
    token: String,
    id: String,
    phone: String,
    #[schema(format = DateTime)]
    expires_at: String,
}

#[utoipa::path(post, path = "/v1/auth/session",
    summary = "Trade the code for a session token (Authorization: Bearer on passenger endpoints)",
    params(crate::apidoc::LangQuery), request_body = SessionBody,
    responses((status = 201, description = "Signed in", body = SessionReply),
        (status = 401, description = "A wrong or ended code", body = crate::problem::ProblemBody,
            content_type = crate::apidoc::PROBLEM)))]
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

#[utoipa::path(delete, path = "/v1/auth/session",
    summary = "Sign out (without a token, or with one already ended, there is nothing to end: 204 too)",
    security(("bearer" = []), ()), params(crate::apidoc::LangQuery),
    responses((status = 204, description = "Signed out")))]
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

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SessionList {
    sessions: Vec<SessionItem>,
}

/// A live session of the passenger's.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PassengerSession)]
struct SessionItem {
    /// The session's public id (never its token)
    id: String,
    /// The device's User-Agent when it signed in, cut short; null if it sent none.
    #[schema(max_length = 120)]
    device: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    last_used_at: String,
    #[schema(format = DateTime)]
    expires_at: String,
    /// The session of this request
    current: bool,
}

#[utoipa::path(get, path = "/v1/auth/sessions",
    summary = "The signed-in passenger's live sessions, most recently used first (at most 10)",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "Sessions", body = SessionList)))]
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

#[utoipa::path(delete, path = "/v1/auth/sessions/{id}",
    summary = "End one of the passenger's sessions (a lost or stolen device)",
    security(("bearer" = [])), params(("id" = String, Path), crate::apidoc::LangQuery),
    responses((status = 204, description = "Ended")))]
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

/// How many sessions ended.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Ended {
    ended: u64,
}

#[utoipa::path(post, path = "/v1/auth/sessions/end-others",
    summary = "End every session of the passenger but this one",
    security(("bearer" = [])), params(crate::apidoc::LangQuery),
    responses((status = 200, description = "How many ended", body = Ended)))]
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
