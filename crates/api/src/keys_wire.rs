//! The published key list on the wire — what `/v1/keys` serves and what controllers and
//! `smsbus verify` read: `{"keys":[{"kid","alg":"Ed25519","public_key":base64url,"not_before","not_after"}]}`
//! — and the controllers' holder key list, served only to signed-in controllers by
//! `/v1/controller/holder-keys`: `{"holder_keys":[{"kid","alg":"HMAC-SHA-256","key":base64url,"not_before","not_after"}]}`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::ticket::{
    HOLDER_KEY_BYTES, HolderKey, HolderKeys, KeyId, KeyList, KeyWindow, PublishedKey,
};
use serde::{Deserialize, Serialize};

pub const KEY_ALGORITHM: &str = "Ed25519";
/// The holder tag of format 2 tickets (truncated; see `domain::ticket::HolderBinding`).
pub const HOLDER_KEY_ALGORITHM: &str = "HMAC-SHA-256";
/// A holder key list larger than this many keys is refused.
pub const HOLDER_KEYS_MAX: usize = domain::ticket::KEY_LIST_KEYS_MAX;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = HolderKeyList)]
pub struct HolderKeyListDto {
    pub holder_keys: Vec<HolderKeyDto>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = HolderKey)]
pub struct HolderKeyDto {
    /// The signing key whose tickets this key checks.
    pub kid: String,
    #[schema(schema_with = holder_key_algorithm)]
    pub alg: String,
    /// The 32-byte holder key, base64url without padding.
    pub key: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub not_before: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub not_after: String,
}

fn holder_key_algorithm() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&[HOLDER_KEY_ALGORITHM])
}

pub fn holder_keys_to_dto(keys: &[(PublishedKey, HolderKey)]) -> HolderKeyListDto {
    HolderKeyListDto {
        holder_keys: keys
            .iter()
            .map(|(published, holder)| HolderKeyDto {
                kid: published.id().to_string(),
                alg: HOLDER_KEY_ALGORITHM.to_owned(),
                key: URL_SAFE_NO_PAD.encode(holder.bytes()),
                not_before: rfc3339(published.not_before_unix_s()),
                not_after: rfc3339(published.not_after_unix_s()),
            })
            .collect(),
    }
}

/// Reads a holder key list.
pub fn holder_keys_from_dto(dto: &HolderKeyListDto) -> Result<HolderKeys, String> {
    if dto.holder_keys.len() > HOLDER_KEYS_MAX {
        return Err(format!(
            "a holder key list holds at most {HOLDER_KEYS_MAX} keys"
        ));
    }
    let mut keys = Vec::with_capacity(dto.holder_keys.len());
    for key in &dto.holder_keys {
        if key.alg != HOLDER_KEY_ALGORITHM {
            return Err(format!(
                "holder key {}: algorithm {} is not {HOLDER_KEY_ALGORITHM}",
                key.kid, key.alg
            ));
        }
        let id = KeyId::parse_hex(&key.kid).map_err(|e| format!("holder key {}: {e}", key.kid))?;
        let bytes: [u8; HOLDER_KEY_BYTES] = URL_SAFE_NO_PAD
            .decode(&key.key)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| format!("holder key {}: a key is 32 bytes of base64url", key.kid))?;
        keys.push((id, HolderKey::from_bytes(bytes)));
    }
    Ok(HolderKeys::new(keys))
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = KeyList)]
pub struct KeyListDto {
    pub keys: Vec<PublishedKeyDto>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = PublishedKey)]
pub struct PublishedKeyDto {
    /// 8 hex digits: the first 4 bytes of the SHA-256 of the public key.
    pub kid: String,
    #[schema(schema_with = key_algorithm)]
    pub alg: String,
    /// The 32-byte public key, base64url without padding.
    pub public_key: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub not_before: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub not_after: String,
}

fn key_algorithm() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::apidoc::one_of(&[KEY_ALGORITHM])
}

pub fn to_dto<'k>(keys: impl IntoIterator<Item = &'k PublishedKey>) -> KeyListDto {
    KeyListDto {
        keys: keys
            .into_iter()
            .map(|key| PublishedKeyDto {
                kid: key.id().to_string(),
                alg: KEY_ALGORITHM.to_owned(),
                public_key: URL_SAFE_NO_PAD.encode(key.public_key()),
                not_before: rfc3339(key.not_before_unix_s()),
                not_after: rfc3339(key.not_after_unix_s()),
            })
            .collect(),
    }
}

/// Reads a key list, refusing any key whose `kid` is not derived from its public key.
pub fn from_dto(dto: &KeyListDto) -> Result<KeyList, String> {
    let mut keys = Vec::with_capacity(dto.keys.len());
    for key in &dto.keys {
        if key.alg != KEY_ALGORITHM {
            return Err(format!(
                "key {}: algorithm {} is not {KEY_ALGORITHM}",
                key.kid, key.alg
            ));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(&key.public_key)
            .map_err(|e| format!("key {}: public key: {e}", key.kid))?;
        let public: [u8; 32] = bytes
            .try_into()
            .map_err(|_| format!("key {}: a public key is 32 bytes", key.kid))?;
        let window = KeyWindow::new(
            parse_rfc3339(&key.not_before)?,
            parse_rfc3339(&key.not_after)?,
        )
        .map_err(|e| format!("key {}: {e}", key.kid))?;
        let published =
            PublishedKey::new(public, window).map_err(|e| format!("key {}: {e}", key.kid))?;
        let listed = KeyId::parse_hex(&key.kid).map_err(|e| format!("key {}: {e}", key.kid))?;
        if listed != published.id() {
            return Err(format!(
                "key {}: the id does not match the public key (its id is {})",
                key.kid,
                published.id()
            ));
        }
        keys.push(published);
    }
    KeyList::new(keys).map_err(|e| e.to_string())
}

fn parse_rfc3339(text: &str) -> Result<u64, String> {
    let timestamp: jiff::Timestamp = text
        .parse()
        .map_err(|e| format!("`{text}` is not an RFC 3339 time: {e}"))?;
    u64::try_from(timestamp.as_second()).map_err(|_| format!("`{text}` is before 1970"))
}

pub fn rfc3339(unix_s: u64) -> String {
    i64::try_from(unix_s)
        .ok()
        .and_then(|second| jiff::Timestamp::from_second(second).ok())
        .map_or_else(|| format!("@{unix_s}"), |timestamp| timestamp.to_string())
}

/// Milliseconds since the epoch as RFC 3339 UTC.
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Milliseconds since the epoch as RFC 3339 in a city's local time, with its offset
/// (`2026-11-24T08:15:00+05:00`), as the passenger's ticket shows it.
pub fn rfc3339_local_ms(ms: i64, utc_offset_minutes: i32) -> String {
    let offset = jiff::tz::Offset::from_seconds(utc_offset_minutes.saturating_mul(60))
        .unwrap_or(jiff::tz::Offset::UTC);
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(jiff::tz::TimeZone::fixed(offset))
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_carry_the_city_offset() {
        // 2026-11-24T03:15:00Z
        let ms = 1_795_490_100_000;
        assert_eq!(rfc3339_local_ms(ms, 300), "2026-11-24T08:15:00+05:00");
        assert_eq!(rfc3339_local_ms(ms, 0), "2026-11-24T03:15:00+00:00");
    }
}
