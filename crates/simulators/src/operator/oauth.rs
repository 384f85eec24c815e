//! Each simulated operator's OAuth 2.0 authorization server: the client-credentials grant
//! (RFC 6749 §4.4) at `POST /{operator}/oauth2/token`, the client authenticated by HTTP Basic
//! (`client_secret_basic`) or in the form body (`client_secret_post`), and the discovery
//! document (OpenID Connect Discovery 1.0) at `/{operator}/.well-known/openid-configuration`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HOST};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use domain::OperatorId;

use super::server::Shared;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/{operator}/oauth2/token", post(token))
        .route(
            "/{operator}/.well-known/openid-configuration",
            get(discovery),
        )
}

async fn discovery(Path(operator): Path<String>, headers: HeaderMap) -> Response {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let issuer = format!("http://{host}/{operator}");
    let body = serde_json::json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    });
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// RFC 6749 §5.2 error reply.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": error, "error_description": description});
    let mut response = (
        status,
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Basic realm=\"operator\""),
        );
    }
    response
}

/// The client's id and secret from the Basic header, else from the form.
fn client_of(headers: &HeaderMap, form: &[(String, String)]) -> Option<(String, String)> {
    let from_form = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if let Some(basic) = headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        // RFC 6749 §2.3.1: both are form-urlencoded before they are joined.
        let decode = |s: &str| {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return Some((decode(id)?, decode(secret)?));
    }
    Some((from_form("client_id")?, from_form("client_secret")?))
}

async fn token(
    State(shared): State<Arc<Shared>>,
    Path(operator): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let grant = form
        .iter()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.as_str());
    if grant != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    let Some((client_id, client_secret)) = client_of(&headers, &form) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication missing",
        );
    };
    let Ok(operator) = OperatorId::parse(&operator) else {
        return oauth_error(StatusCode::NOT_FOUND, "invalid_request", "no such operator");
    };
    let token = new_token();
    let issued = shared
        .lock()
        .issue_token(&operator, &client_id, &client_secret, token);
    match issued {
        Some((token, lifetime)) => {
            let body = serde_json::json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": lifetime,
            });
            (
                StatusCode::OK,
                [
                    (CONTENT_TYPE, "application/json"),
                    (CACHE_CONTROL, "no-store"),
                ],
                body.to_string(),
            )
                .into_response()
        }
        None => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        ),
    }
}

fn new_token() -> String {
    let mut bytes = [0u8; 24];
    if getrandom::getrandom(&mut bytes).is_err() {
        // Unique within this simulator even without randomness: the clock's nanoseconds.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = [0u8; 24];
        for (slot, byte) in bytes.iter_mut().zip(nanos.to_le_bytes()) {
            *slot = byte;
        }
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
