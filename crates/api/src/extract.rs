//! Extractors that turn a request into domain values or a problem+json refusal: the caller's
//! language, JSON bodies (a malformed one is a 400 with the parser's words, never text/plain),
//! the idempotency key, bearer tokens (one parser, one constant-time comparison) and the real
//! client address behind trusted reverse proxies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
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

/// The name of the staff web apps' session cookie. `__Host-`: the browser keeps it only when
/// it was set `Secure`, with `Path=/` and no `Domain`, so no sibling host can plant one.
pub const STAFF_COOKIE: &str = "__Host-smsbus-staff";
/// The header a cookie session's state-changing requests carry its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The access row of the route being served (see [`crate::access::MATRIX`]).
fn rule_of(parts: &Parts) -> Option<&'static crate::access::Rule> {
    let path = parts.extensions.get::<axum::extract::MatchedPath>()?;
    crate::access::rule_of(parts.method.as_str(), path.as_str())
}

/// The value of the staff session cookie, if the request carries one.
fn staff_cookie(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == STAFF_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// A signed-in staff member allowed on this route by the access matrix: the session is a
/// bearer token (`Authorization: Bearer st_…`) or the web apps' cookie, which on a
/// state-changing request must come with its CSRF token in `X-CSRF-Token`. Checked before the
/// body is read: no session is 401, a role the row does not allow is 403 `ROLE_FORBIDDEN`, a
/// path naming a city or carrier outside the account's scope is 403 `SCOPE_FORBIDDEN`.
/// Handlers pass [`Staff::actor`] to the use cases (the audit trail records it).
pub(crate) struct Staff {
    pub actor: service::staff::Actor,
    pub caller: service::staff::sign_in::Caller,
}

impl FromRequestParts<crate::State> for Staff {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &crate::State) -> Result<Staff, Problem> {
        use crate::access::{ScopeRule, Who};
        use service::staff::sign_in::SessionKind;
        let language = language_of(parts);
        let Some(rule) = rule_of(parts) else {
            return Err(Problem::new(ErrorCode::RoleForbidden, language)
                .detail("this route is not in the access matrix"));
        };
        let Who::Staff(roles) = rule.who else {
            return Err(Problem::new(ErrorCode::RoleForbidden, language)
                .detail("this route is not for staff in the access matrix"));
        };
        let address = client_of(parts, &state.settings.trusted_proxies);
        let (token, kind) = match (bearer_token(&parts.headers), staff_cookie(&parts.headers)) {
            (Some(token), _) => (token, SessionKind::Bearer),
            (None, Some(cookie)) => (cookie, SessionKind::Cookie),
            (None, None) => return Err(Problem::new(ErrorCode::Unauthorized, language)),
        };
        let caller = service::staff::sign_in::caller(&state.app, token, address)
            .await
            .map_err(|e| Problem::from_service(e, language))?;
        if caller.kind != kind {
            // A cookie session's token is never a bearer token, nor the other way round.
            return Err(Problem::new(ErrorCode::Unauthorized, language));
        }
        if kind == SessionKind::Cookie && !parts.method.is_safe() {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let given = service::staff::sign_in::csrf_hash(given.trim());
            if given.is_empty() || !same_secret(&given, &caller.csrf_hash) {
                return Err(Problem::new(ErrorCode::CsrfTokenInvalid, language));
            }
        }
        if !roles.contains(&caller.actor.role) {
            return Err(
                Problem::new(ErrorCode::RoleForbidden, language).detail(format!(
                    "{} may not call {} {}",
                    caller.actor.role.as_str(),
                    rule.method,
                    rule.path
                )),
            );
        }
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .ok();
        let in_path = |name: &str| -> Option<String> {
            params
                .as_ref()?
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_owned())
        };
        let scoped = match rule.scope {
            ScopeRule::CarrierInPath(name) => in_path(name)
                .map(|carrier| caller.actor.require_carrier(&carrier))
                .transpose(),
            ScopeRule::CityInPath(name) => in_path(name)
                .map(|city| caller.actor.require_city(&city))
                .transpose(),
            ScopeRule::Unscoped
            | ScopeRule::VehicleInBody
            | ScopeRule::Own
            | ScopeRule::CityOfObject => Ok(None),
        };
        scoped.map_err(|e| Problem::from_service(e, language))?;
        Ok(Staff {
            actor: caller.actor.clone(),
            caller,
        })
    }
}

/// A machine caller holding a live credential of the kind `K` names (see
/// `service::staff::credentials`), given as `Authorization: Bearer`.
pub(crate) struct Machine<K>(std::marker::PhantomData<K>);

pub(crate) trait MachineKindOf {
    const KIND: service::staff::credentials::MachineKind;
}

pub(crate) struct SmsGatewayKind;
pub(crate) struct MetricsKind;

impl MachineKindOf for SmsGatewayKind {
    const KIND: service::staff::credentials::MachineKind =
        service::staff::credentials::MachineKind::SmsGateway;
}

impl MachineKindOf for MetricsKind {
    const KIND: service::staff::credentials::MachineKind =
        service::staff::credentials::MachineKind::Metrics;
}

pub(crate) type SmsGateway = Machine<SmsGatewayKind>;
pub(crate) type MetricsReader = Machine<MetricsKind>;

impl<K: MachineKindOf> FromRequestParts<crate::State> for Machine<K> {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::State,
    ) -> Result<Machine<K>, Problem> {
        let language = language_of(parts);
        let token = bearer_token(&parts.headers).unwrap_or("");
        let partner = service::staff::credentials::machine(&state.app, K::KIND, token)
            .await
            .map_err(|e| Problem::from_service(e, language))?;
        tracing::debug!(partner, kind = K::KIND.as_str(), "machine caller");
        Ok(Machine(std::marker::PhantomData))
    }
}

/// The token of `Authorization: Bearer <token>`; the scheme is matched in any case (RFC 9110
/// §11.1), the token is what follows it with surrounding spaces removed. The one parser of
/// bearer tokens in the API.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether a presented secret equals the expected one, in time that depends on neither: both
/// are hashed to SHA-256 first, so the comparison runs over equal-length digests and a
/// mismatch at the first byte costs as long as one at the last. An empty expected secret
/// matches nothing (the credential is not configured). The one secret comparison of the API.
pub(crate) fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let given = Sha256::digest(given.as_bytes());
    let wanted = Sha256::digest(expected.as_bytes());
    let differences = given
        .iter()
        .zip(wanted.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(differences) == 0 && !expected.is_empty()
}

/// A bank calling the biller endpoint: from one of its allowed networks (the real client,
/// behind the trusted proxies) and with its secret as `Authorization: Bearer`, compared by
/// digest in constant time. An empty allow-list lets nobody in.
pub(crate) fn check_bank(
    headers: &axum::http::HeaderMap,
    client: Option<IpAddr>,
    bank: &service::banks::Bank,
    language: Language,
) -> Result<(), Problem> {
    let networks = TrustedProxies::parse(&bank.networks).unwrap_or_default();
    if !client.is_some_and(|address| networks.trusts(address)) {
        return Err(Problem::new(ErrorCode::BankSourceNotAllowed, language));
    }
    let given = bearer_token(headers).unwrap_or("");
    let digest = service::banks::secret_digest(given);
    if given.is_empty() || !same_secret(&digest, &bank.secret_sha256) {
        return Err(Problem::new(ErrorCode::Unauthorized, language));
    }
    Ok(())
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
        let token = bearer_token(&parts.headers).unwrap_or("");
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

/// At most this many trusted proxy networks may be configured.
pub const TRUSTED_PROXIES_MAX: usize = 64;
/// At most this many `X-Forwarded-For` hops are read, from the right.
pub const FORWARDED_HOPS_MAX: usize = 16;

/// One network of a trusted reverse proxy (`10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyNetwork {
    network: IpAddr,
    prefix_bits: u8,
}

impl ProxyNetwork {
    /// Parses an address or a CIDR network; the bits after the prefix must be zero.
    pub fn parse(text: &str) -> Result<ProxyNetwork, String> {
        let text = text.trim();
        let (address, bits) = match text.split_once('/') {
            Some((address, bits)) => (address, Some(bits)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{text}: not an IP address or CIDR network"))?;
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix_bits = match bits {
            None => width,
            Some(bits) => bits
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= width)
                .ok_or_else(|| format!("{text}: the prefix length must be 0 to {width}"))?,
        };
        let parsed = ProxyNetwork {
            network,
            prefix_bits,
        };
        if parsed.contains(network) && masked(network, prefix_bits) == network {
            Ok(parsed)
        } else {
            Err(format!("{text}: bits are set after the prefix"))
        }
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.network.is_ipv4()
            && masked(address, self.prefix_bits) == self.network
    }
}

/// `address` with every bit after the first `prefix_bits` cleared.
pub(crate) fn masked(address: IpAddr, prefix_bits: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix_bits.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & mask))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix_bits.min(128)))
                .unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & mask))
        }
    }
}

/// The reverse proxies whose `X-Forwarded-For` the server believes. Empty (the default): the
/// TCP peer is the client and `X-Forwarded-For` is ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ProxyNetwork>);

impl TrustedProxies {
    /// Comma- or space-separated addresses and CIDR networks.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let networks = text
            .split([',', ' '])
            .filter(|part| !part.trim().is_empty())
            .map(ProxyNetwork::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if networks.len() > TRUSTED_PROXIES_MAX {
            return Err(format!(
                "at most {TRUSTED_PROXIES_MAX} trusted proxy networks"
            ));
        }
        Ok(TrustedProxies(networks))
    }

    pub fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(address))
    }
}

/// The real client of a request whose TCP peer is `peer`: the peer itself, unless the peer is
/// a trusted proxy; then the right-most `X-Forwarded-For` address that is not a trusted proxy
/// (the left part is whatever the client wrote and proves nothing). A hop that does not parse
/// ends the walk at the last trusted address seen, so garbage never picks a bucket.
pub fn client_addr(
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
    proxies: &TrustedProxies,
) -> IpAddr {
    let mut client = peer.to_canonical();
    if !proxies.trusts(client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    for hop in hops.iter().rev().take(FORWARDED_HOPS_MAX) {
        let Some(address) = forwarded_address(hop) else {
            break;
        };
        client = address;
        if !proxies.trusts(address) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port (`1.2.3.4:80`, `[::1]:80`).
fn forwarded_address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .map(|address| address.to_canonical())
}

/// The real client of this request (see [`client_addr`]); `None` when the router runs without
/// [`crate::serve`] and so without a peer address.
pub(crate) fn client_of(parts: &Parts, proxies: &TrustedProxies) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    Some(client_addr(peer, &parts.headers, proxies))
}

/// The real client as an extractor: the address staff actions are recorded from.
pub(crate) struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<crate::State> for ClientAddr {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::State,
    ) -> Result<ClientAddr, Problem> {
        Ok(ClientAddr(client_of(
            parts,
            &state.settings.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_contain() {
        let net = ProxyNetwork::parse("10.1.0.0/16").unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")));
        assert!(ProxyNetwork::parse("10.1.0.1/16").is_err());
        assert!(ProxyNetwork::parse("10.1.0.0/33").is_err());
        assert!(ProxyNetwork::parse("proxy").is_err());
        let v6 = ProxyNetwork::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")));
        assert!(!v6.contains(ip("10.1.0.1")));
        assert!(
            ProxyNetwork::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
        assert_eq!(
            TrustedProxies::parse("127.0.0.1, 10.0.0.0/8")
                .unwrap()
                .0
                .len(),
            2
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let peer = ip("10.0.0.1");
        let headers = forwarded(&["6.6.6.6, 203.0.113.7", "10.0.0.2"]);
        assert_eq!(client_addr(peer, &headers, &proxies), ip("203.0.113.7"));
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_addr(ip("198.51.100.1"), &headers, &proxies),
            ip("198.51.100.1")
        );
        // No header: the proxy itself.
        assert_eq!(client_addr(peer, &HeaderMap::new(), &proxies), peer);
        // Garbage ends the walk at the last trusted hop.
        let garbage = forwarded(&["203.0.113.7, not-an-address, 10.0.0.2"]);
        assert_eq!(client_addr(peer, &garbage, &proxies), ip("10.0.0.2"));
        // Ports are allowed.
        let ported = forwarded(&["[2001:db8::1]:443"]);
        assert_eq!(client_addr(peer, &ported, &proxies), ip("2001:db8::1"));
    }

    #[test]
    fn the_bearer_scheme_is_matched_in_any_case() {
        let mut headers = HeaderMap::new();
        for (value, token) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER   abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer", None),
            ("Bearer ", None),
            ("Bearerabc", None),
        ] {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            assert_eq!(bearer_token(&headers), token, "{value}");
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("token-123", "token-123"));
        assert!(!same_secret("token-124", "token-123"));
        assert!(!same_secret("token-12", "token-123"));
        assert!(!same_secret("", ""));
    }
}
