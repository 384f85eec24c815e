//! Errors as `application/problem+json` (RFC 9457) with our stable `code` and the message in
//! the caller's language. A passenger's mistake is a 4xx; only our own faults are 5xx.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{ErrorCode, Language};
use serde::Serialize;
use service::ServiceError;

use crate::extract::Lang;

#[derive(Debug)]
pub struct Problem {
    pub code: ErrorCode,
    pub language: Language,
    /// Extra detail for developers (which field, which limit); never a secret.
    pub detail: Option<String>,
    /// Members beside the standard ones (RFC 9457 extensions): what the passenger needs to go
    /// on, e.g. the zones to choose from or the ticket already held.
    pub extensions: serde_json::Map<String, serde_json::Value>,
    /// Seconds to wait before trying again: the `Retry-After` header and `retry_after_s`.
    pub retry_after_s: Option<u64>,
}

/// A refusal on the wire (`application/problem+json`); members beside these carry the facts
/// of some refusals (the zones to choose from, the ticket already held).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub(crate) struct Body<'a> {
    r#type: String,
    title: &'a str,
    status: u16,
    /// Stable machine code, e.g. PAYMENT_INSUFFICIENT_BALANCE
    code: &'a str,
    message: &'a str,
    #[schema(schema_with = crate::apidoc::language)]
    language: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(flatten)]
    #[schema(ignore)]
    extensions: &'a serde_json::Map<String, serde_json::Value>,
    /// Seconds to wait before trying again (also the Retry-After header)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    retry_after_s: Option<u64>,
}

/// A refusal, as the document names it.
pub(crate) type ProblemBody = Body<'static>;

impl Problem {
    pub fn new(code: ErrorCode, language: Language) -> Problem {
        Problem {
            code,
            language,
            detail: None,
            extensions: serde_json::Map::new(),
            retry_after_s: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Problem {
        self.detail = Some(detail.into());
        self
    }

    /// Tells the caller to wait this many seconds (`Retry-After`), at least one.
    pub fn retry_after(mut self, seconds: u64) -> Problem {
        self.retry_after_s = Some(seconds.max(1));
        self
    }

    pub fn from_service(error: ServiceError, language: Language) -> Problem {
        if error.code == ErrorCode::Internal {
            tracing::error!(detail = %error.detail, "internal error");
            return Problem::new(ErrorCode::Internal, language);
        }
        let detail = (!error.detail.is_empty()).then_some(error.detail);
        let extensions = error
            .context
            .as_deref()
            .map(crate::routes::wire::refusal_members)
            .unwrap_or_default();
        // Whole seconds, rounded up: waiting the seconds told is always enough.
        let retry_after_s = error.retry_after_ms.map(|ms| {
            u64::try_from(ms.saturating_add(999) / 1000)
                .unwrap_or(1)
                .max(1)
        });
        Problem {
            code: error.code,
            language,
            detail,
            extensions,
            retry_after_s,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = Body {
            r#type: format!(
                "https://smsbus.kz/problems/{}",
                self.code.code().to_ascii_lowercase().replace('_', "-")
            ),
            title: self.code.message(Language::En),
            status: status.as_u16(),
            code: self.code.code(),
            message: self.code.message(self.language),
            language: self.language.code(),
            detail: self.detail.as_deref(),
            extensions: &self.extensions,
            retry_after_s: self.retry_after_s,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, json).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub(crate) async fn method_not_allowed(Lang(language): Lang) -> Problem {
    Problem::new(ErrorCode::MethodNotAllowed, language)
}

pub(crate) type ApiResult<T> = Result<T, Problem>;
