//! Extractors that turn a request into domain values or a problem+json refusal: the caller's
//! language, JSON bodies (a malformed one is a 400 with the parser's words, never text/plain),
//! the idempotency key and bearer tokens.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use domain::{ErrorCode, Language};
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// The language to answer in: `?lang=`, else `Accept-Language`, else Russian.
pub(crate) struct Lang(pub Language);

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Lang, Problem> {
        Ok(Lang(language_of(parts)))
    }
}

/// The language the caller asked for (`?lang=` or `Accept-Language`), if they asked.
pub(crate) struct ChosenLang(pub Option<Language>);

impl<S: Send + Sync> FromRequestParts<S> for ChosenLang {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ChosenLang, Problem> {
        Ok(ChosenLang(chosen_language(parts)))
    }
}

pub(crate) fn language_of(parts: &Parts) -> Language {
    chosen_language(parts).unwrap_or_default()
}

fn chosen_language(parts: &Parts) -> Option<Language> {
    let from_query = parts
        .uri
        .query()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("lang=")))
        .and_then(Language::from_code);
    let from_header = || {
        parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Language::from_accept_language)
    };
    from_query.or_else(from_header)
}

/// A JSON body; any failure to read it is a problem+json 400 (or 413 when too large).
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<ApiJson<T>, Problem> {
        let (parts, body) = request.into_parts();
        let language = language_of(&parts);
        let request = Request::from_parts(parts, body);
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => {
                let code = if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ErrorCode::BodyTooLarge
                } else {
                    ErrorCode::BadRequest
                };
                Err(Problem::new(code, language).detail(rejection.body_text()))
            }
        }
    }
}

/// The `Idempotency-Key` header, required on every request that moves money.
pub(crate) struct IdempotencyKeyHeader(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKeyHeader {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<IdempotencyKeyHeader, Problem> {
        let language = language_of(parts);
        match parts.headers.get("idempotency-key") {
            None => Err(Problem::new(ErrorCode::IdempotencyKeyMissing, language)),
            Some(value) => match value.to_str() {
                Ok(key) if !key.trim().is_empty() => {
                    Ok(IdempotencyKeyHeader(key.trim().to_owned()))
                }
                Ok(_) => Err(Problem::new(ErrorCode::IdempotencyKeyMissing, language)),
                // Not visible ASCII (e.g. Cyrillic letters): the header is there, the key is bad.
                Err(_) => Err(Problem::new(ErrorCode::BadRequest, language)
                    .detail(service::rides::IDEMPOTENCY_KEY_RULE)),
            },
        }
    }
}

/// Who may call an endpoint besides passengers. As an extractor it checks the bearer token
/// before the body is read, so a caller without the token learns only that (401).
pub(crate) trait Role {
    fn token(access: &crate::Access) -> &str;
}

/// The caller holds the token of role `R`.
pub(crate) struct Authorized<R>(std::marker::PhantomData<R>);

pub(crate) struct AdminRole;
pub(crate) struct ControllerRole;
pub(crate) struct SmsGatewayRole;

impl Role for AdminRole {
    fn token(access: &crate::Access) -> &str {
        &access.admin_token
    }
}

impl Role for ControllerRole {
    fn token(access: &crate::Access) -> &str {
        &access.controller_token
    }
}

impl Role for SmsGatewayRole {
    fn token(access: &crate::Access) -> &str {
        &access.sms_gateway_token
    }
}

pub(crate) type Admin = Authorized<AdminRole>;
pub(crate) type Controller = Authorized<ControllerRole>;
pub(crate) type SmsGateway = Authorized<SmsGatewayRole>;

impl<R: Role> FromRequestParts<crate::State> for Authorized<R> {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::State,
    ) -> Result<Authorized<R>, Problem> {
        require_bearer(
            &parts.headers,
            R::token(&state.settings.access),
            language_of(parts),
        )?;
        Ok(Authorized(std::marker::PhantomData))
    }
}

/// Checks `Authorization: Bearer <token>` against the expected token in constant time.
pub(crate) fn require_bearer(
    parts_headers: &axum::http::HeaderMap,
    expected: &str,
    language: Language,
) -> Result<(), Problem> {
    let given = parts_headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let same_length = given.len() == expected.len();
    let differences = given
        .bytes()
        .zip(expected.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if same_length && differences == 0 && !expected.is_empty() {
        Ok(())
    } else {
        Err(Problem::new(ErrorCode::Unauthorized, language))
    }
}

/// The signed-in passenger (`Authorization: Bearer <session token>` from `/v1/auth/session`).
pub(crate) struct Passenger(pub domain::PhoneNumber);

impl FromRequestParts<crate::State> for Passenger {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::State,
    ) -> Result<Passenger, Problem> {
        let language = language_of(parts);
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        service::sessions::passenger(&state.app, token)
            .await
            .map(Passenger)
            .map_err(|e| Problem::from_service(e, language))
    }
}

/// Query parameters; a value that does not parse is a problem+json 400, never text/plain.
pub(crate) struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ApiQuery<T>, Problem> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(Problem::new(ErrorCode::BadRequest, language_of(parts))
                .detail(rejection.body_text())),
        }
    }
}
