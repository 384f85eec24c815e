//! The published key list on the wire — what `/v1/keys` serves and what controllers and
//! `smsbus verify` read: `{"keys":[{"kid","alg":"Ed25519","public_key":base64url,"not_before","not_after"}]}`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::ticket::{KeyId, KeyList, KeyWindow, PublishedKey};
use serde::{Deserialize, Serialize};

pub const KEY_ALGORITHM: &str = "Ed25519";

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct KeyListDto {
    pub keys: Vec<PublishedKeyDto>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PublishedKeyDto {
    /// 8 hex digits: the first 4 bytes of the SHA-256 of the public key.
    pub kid: String,
    pub alg: String,
    /// The 32-byte public key, base64url without padding.
    pub public_key: String,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
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
