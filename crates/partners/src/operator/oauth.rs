//! How the client authenticates at an operator: a bearer token issued out of band, or OAuth 2.0
//! client credentials (RFC 6749 §4.4) against the operator's token endpoint — CAMARA's
//! `openIdConnect` scheme for server-to-server calls. Tokens are fetched once, shared by every
//! request, renewed shortly before they expire, and renewed at once when the operator answers
//! `401` to one of them (see `CamaraClient::send`).

use std::fmt;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use super::OperatorError;

/// A token is renewed this long before it expires (or at 90 % of its life, if sooner).
pub const TOKEN_RENEW_BEFORE_S: u64 = 60;
/// A token whose reply gives no lifetime is used until the operator refuses it, or this long.
pub const TOKEN_LIFETIME_S_UNKNOWN: u64 = 300;
/// The path of an OpenID Connect discovery document.
pub const DISCOVERY_SUFFIX: &str = "/.well-known/openid-configuration";

/// How we prove who we are to one operator.
#[derive(Clone)]
pub enum Credentials {
    /// A bearer token issued out of band.
    Bearer(String),
    ClientCredentials(ClientCredentials),
}

/// An OAuth 2.0 client registered at the operator.
#[derive(Clone)]
pub struct ClientCredentials {
    /// The token endpoint, or an OpenID Connect discovery document (a URL ending in
    /// `/.well-known/openid-configuration`) that names it.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Space-separated scopes to ask for; none when `None`.
    pub scope: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Bearer(_) => f.write_str("Bearer(…)"),
            Credentials::ClientCredentials(c) => f
                .debug_struct("ClientCredentials")
                .field("token_url", &c.token_url)
                .field("client_id", &c.client_id)
                .finish_non_exhaustive(),
        }
    }
}

/// The `Authorization` header of one operator's requests, kept current.
pub(crate) enum Auth {
    Static(HeaderValue),
    OAuth(Box<OAuthClient>),
}

pub(crate) struct OAuthClient {
    configured_url: Url,
    basic: HeaderValue,
    scope: Option<String>,
    current: RwLock<Option<Token>>,
    /// One fetch at a time; holds the token endpoint once discovery found it.
    fetching: tokio::sync::Mutex<Option<Url>>,
}

#[derive(Clone)]
struct Token {
    header: HeaderValue,
    renew_at: Instant,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct Discovery {
    token_endpoint: String,
}

impl Auth {
    pub(crate) fn new(credentials: &Credentials) -> Result<Auth, String> {
        match credentials {
            Credentials::Bearer(token) => {
                let mut header = HeaderValue::from_str(&format!("Bearer {token}"))
                    .map_err(|_| "the access token is not a valid header value".to_owned())?;
                header.set_sensitive(true);
                Ok(Auth::Static(header))
            }
            Credentials::ClientCredentials(c) => {
                let url = Url::parse(&c.token_url)
                    .map_err(|error| format!("token_url {}: {error}", c.token_url))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err("token_url must be an http(s) URL".into());
                }
                // RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined for Basic.
                let encode =
                    |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let pair = format!("{}:{}", encode(&c.client_id), encode(&c.client_secret));
                let mut basic = HeaderValue::from_str(&format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
                .map_err(|_| "the client credentials are not a valid header value".to_owned())?;
                basic.set_sensitive(true);
                Ok(Auth::OAuth(Box::new(OAuthClient {
                    configured_url: url,
                    basic,
                    scope: c.scope.clone(),
                    current: RwLock::new(None),
                    fetching: tokio::sync::Mutex::new(None),
                })))
            }
        }
    }

    /// The header to send now.
    pub(crate) async fn header(
        &self,
        http: &reqwest::Client,
    ) -> Result<HeaderValue, OperatorError> {
        match self {
            Auth::Static(header) => Ok(header.clone()),
            Auth::OAuth(client) => client.header(http).await,
        }
    }

    /// The operator refused `used`: forget it, so the next call fetches a new token. False when
    /// there is nothing to renew (a static token).
    pub(crate) fn refused(&self, used: &HeaderValue) -> bool {
        match self {
            Auth::Static(_) => false,
            Auth::OAuth(client) => {
                let mut current = client
                    .current
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                if current.as_ref().is_some_and(|t| t.header == *used) {
                    *current = None;
                }
                true
            }
        }
    }
}

impl OAuthClient {
    fn valid(&self) -> Option<HeaderValue> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current
            .as_ref()
            .filter(|t| Instant::now() < t.renew_at)
            .map(|t| t.header.clone())
    }

    async fn header(&self, http: &reqwest::Client) -> Result<HeaderValue, OperatorError> {
        if let Some(header) = self.valid() {
            return Ok(header);
        }
        let mut endpoint = self.fetching.lock().await;
        // Someone else may have fetched one while we waited.
        if let Some(header) = self.valid() {
            return Ok(header);
        }
        let token_url = match endpoint.as_ref() {
            Some(url) => url.clone(),
            None => {
                let url = self.token_endpoint(http).await?;
                *endpoint = Some(url.clone());
                url
            }
        };
        let token = self.fetch(http, &token_url).await?;
        let header = token.header.clone();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(token);
        Ok(header)
    }

    async fn token_endpoint(&self, http: &reqwest::Client) -> Result<Url, OperatorError> {
        if !self.configured_url.path().ends_with(DISCOVERY_SUFFIX) {
            return Ok(self.configured_url.clone());
        }
        let reply = http
            .get(self.configured_url.clone())
            .send()
            .await
            .map_err(|e| unavailable(&format!("discovery: {e}")))?;
        if !reply.status().is_success() {
            return Err(unavailable(&format!(
                "discovery answered {}",
                reply.status()
            )));
        }
        let document: Discovery = reply
            .json()
            .await
            .map_err(|e| OperatorError::Protocol(format!("discovery document: {e}")))?;
        Url::parse(&document.token_endpoint)
            .map_err(|e| OperatorError::Protocol(format!("discovery token_endpoint: {e}")))
    }

    async fn fetch(&self, http: &reqwest::Client, url: &Url) -> Result<Token, OperatorError> {
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(scope) = &self.scope {
                form.append_pair("scope", scope);
            }
            form.finish()
        };
        let started = Instant::now();
        let reply = http
            .post(url.clone())
            .header(AUTHORIZATION, self.basic.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| unavailable(&e.to_string()))?;
        let status = reply.status();
        let body = reply
            .bytes()
            .await
            .map_err(|e| unavailable(&e.to_string()))?;
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(unavailable(&format!("answered {status}")));
        }
        if !status.is_success() {
            let why = serde_json::from_slice::<TokenError>(&body).map_or_else(
                |_| String::from_utf8_lossy(&body).into_owned(),
                |e| format!("{} {}", e.error, e.error_description.unwrap_or_default()),
            );
            tracing::error!(%status, %why, "the operator's token endpoint refused our client");
            return Err(OperatorError::Protocol(format!(
                "token endpoint refused our client ({status}): {}",
                why.trim()
            )));
        }
        let token: TokenReply = serde_json::from_slice(&body)
            .map_err(|e| OperatorError::Protocol(format!("token reply: {e}")))?;
        if !token.token_type.eq_ignore_ascii_case("bearer") {
            return Err(OperatorError::Protocol(format!(
                "token type {} is not Bearer",
                token.token_type
            )));
        }
        let mut header = HeaderValue::from_str(&format!("Bearer {}", token.access_token))
            .map_err(|_| OperatorError::Protocol("token is not a valid header value".into()))?;
        header.set_sensitive(true);
        let lifetime = token.expires_in.unwrap_or(TOKEN_LIFETIME_S_UNKNOWN);
        let renew_after = lifetime
            .saturating_sub(TOKEN_RENEW_BEFORE_S)
            .min(lifetime * 9 / 10);
        tracing::debug!(lifetime, "fetched an operator access token");
        Ok(Token {
            header,
            renew_at: started + Duration::from_secs(renew_after),
        })
    }
}

fn unavailable(why: &str) -> OperatorError {
    OperatorError::Unavailable(format!("token endpoint: {why}"))
}
