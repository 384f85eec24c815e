//! What every response carries, whoever made it: `nosniff`; on HTML pages a
//! Content-Security-Policy, frame protection and `Referrer-Policy`; on a 401 the
//! `WWW-Authenticate` challenge (RFC 6750); and any error that is not problem+json yet (axum's
//! own rejections of a bad path, a body over the limit, text that is not UTF-8…) rewritten as
//! one, with the rejection's words as its detail.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::{ErrorCode, Language};

use crate::extract::language_of;
use crate::problem::Problem;

/// At most this much of a rejection's text is kept as the problem's detail.
pub const REJECTION_DETAIL_BYTES_MAX: usize = 1024;

/// Pages are ours alone: inline styles and inline SVG (the QR), nothing else, never framed.
pub const HTML_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; script-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub(crate) async fn harden(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let language = language_of(&parts);
    let credential_given = parts.headers.contains_key(header::AUTHORIZATION);
    let response = next.run(Request::from_parts(parts, body)).await;
    let mut response = as_problem(response, language).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if is_html(headers) {
        // A page that states its own policy keeps it (the web apps add their tile server).
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(HTML_CONTENT_SECURITY_POLICY),
            );
        }
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if response.status() == StatusCode::UNAUTHORIZED
        && !response.headers().contains_key(header::WWW_AUTHENTICATE)
    {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge(credential_given));
    }
    response
}

/// `Bearer realm="smsbus"`, with `error="invalid_token"` when a credential was sent.
fn challenge(credential_given: bool) -> HeaderValue {
    if credential_given {
        HeaderValue::from_static(r#"Bearer realm="smsbus", error="invalid_token""#)
    } else {
        HeaderValue::from_static(r#"Bearer realm="smsbus""#)
    }
}

fn content_type(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn is_html(headers: &axum::http::HeaderMap) -> bool {
    content_type(headers).starts_with("text/html")
}

/// The stable code of an error answered with a bare status.
fn code_of(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        413 => ErrorCode::BodyTooLarge,
        429 => ErrorCode::RateLimited,
        500.. => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    }
}

async fn as_problem(response: Response, language: Language) -> Response {
    let status = response.status();
    let headers = response.headers();
    // Only bare and text/plain errors are axum's own; a JSON or HTML error body was written
    // on purpose (the ticket page's "not found" is a page for a person, and stays one).
    let kind = content_type(headers);
    if status.as_u16() < 400 || !(kind.is_empty() || kind.starts_with("text/plain")) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let code = code_of(status);
    let mut problem = Problem::new(code, language);
    if code == ErrorCode::Internal {
        tracing::error!(%status, "an error answered without a problem body");
    } else if let Ok(text) = axum::body::to_bytes(body, REJECTION_DETAIL_BYTES_MAX).await
        && let Ok(text) = std::str::from_utf8(&text)
        && !text.trim().is_empty()
    {
        problem = problem.detail(text.trim());
    }
    let mut rewritten = problem.into_response();
    for (name, value) in &parts.headers {
        if !is_body_header(name) {
            rewritten.headers_mut().append(name.clone(), value.clone());
        }
    }
    rewritten
}

fn is_body_header(name: &HeaderName) -> bool {
    name == header::CONTENT_TYPE || name == header::CONTENT_LENGTH
}
