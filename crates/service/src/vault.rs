//! Secrets at rest: the ticket signing keys are stored sealed, never in plain bytes, so a copy
//! of the database signs nothing. [`KeyVault`] is the seam: [`KeyEncryptionKey`] seals with
//! ChaCha20-Poly1305 under a key-encryption key (KEK) that the binary reads from its
//! environment or a key file; an HSM or a cloud KMS can stand in by implementing the trait.
//!
//! A sealed secret is text: `kek1.<KEK id, 8 hex>.<base64url of nonce ‖ ciphertext ‖ tag>`.
//! The KEK id (a SHA-256 prefix of the KEK) lets a server with the wrong KEK say so instead of
//! failing to decrypt; the `label` (what the secret is, and the row it belongs to) is the
//! associated data, so a sealed secret moved to another row does not open.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

/// The KEK is this many bytes (a ChaCha20-Poly1305 key).
pub const KEK_BYTES: usize = 32;
/// The KEK id is this many bytes of its SHA-256 (shown as twice as many hex digits).
pub const KEK_ID_BYTES: usize = 4;
const NONCE_BYTES: usize = 12;
/// A sealed secret is refused unread beyond this length.
pub const SEALED_CHARS_MAX: usize = 1_024;
const SEALED_PREFIX: &str = "kek1";
/// Separates the KEK id from every other SHA-256 in the system.
const KEK_ID_CONTEXT: &[u8] = b"SMSBUS key-encryption key id\0";

/// Why a secret could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error(
        "sealed with key-encryption key {sealed_with}, but this server has {this_key}: \
         start it with the SMSBUS_KEY_ENCRYPTION_KEY (or _FILE) the keys were sealed with"
    )]
    WrongKey {
        sealed_with: String,
        this_key: String,
    },
    #[error("the sealed secret is damaged or was moved from another row")]
    Damaged,
    #[error("not a sealed secret (kek1.<id>.<base64url>)")]
    Malformed,
    #[error("a key-encryption key is 32 bytes as 64 hex digits or base64")]
    KekMalformed,
    #[error("no randomness: {0}")]
    NoRandomness(String),
}

/// Seals and opens small secrets (signing keys). `label` names what is sealed and is bound to
/// it: opening with another label fails.
pub trait KeyVault: Send + Sync + fmt::Debug {
    /// Names the key that seals, for messages (never the key itself).
    fn key_id(&self) -> String;
    fn seal(&self, label: &str, secret: &[u8]) -> Result<String, VaultError>;
    fn open(&self, label: &str, sealed: &str) -> Result<Vec<u8>, VaultError>;
}

/// A 32-byte key-encryption key held in memory, sealing with ChaCha20-Poly1305 and a random
/// 96-bit nonce per secret (a few secrets a month: no nonce reuse worth counting).
#[derive(Clone)]
pub struct KeyEncryptionKey {
    key: [u8; KEK_BYTES],
    id: [u8; KEK_ID_BYTES],
}

impl KeyEncryptionKey {
    pub fn from_bytes(key: [u8; KEK_BYTES]) -> KeyEncryptionKey {
        let digest = Sha256::new()
            .chain_update(KEK_ID_CONTEXT)
            .chain_update(key)
            .finalize();
        let mut id = [0; KEK_ID_BYTES];
        for (out, byte) in id.iter_mut().zip(digest.iter()) {
            *out = *byte;
        }
        KeyEncryptionKey { key, id }
    }

    /// Reads a KEK as an operator writes it: 64 hex digits, or base64 (standard or URL-safe,
    /// padded or not) of 32 bytes; surrounding whitespace (a key file's newline) is ignored.
    pub fn parse(text: &str) -> Result<KeyEncryptionKey, VaultError> {
        let text = text.trim();
        let bytes = if text.len() == KEK_BYTES * 2 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            unhex(text)
        } else {
            [URL_SAFE_NO_PAD, URL_SAFE, STANDARD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
        };
        bytes
            .and_then(|bytes| <[u8; KEK_BYTES]>::try_from(bytes).ok())
            .map(KeyEncryptionKey::from_bytes)
            .ok_or(VaultError::KekMalformed)
    }

    /// A fresh random KEK (the demo's, written to its key file).
    pub fn generate() -> Result<KeyEncryptionKey, VaultError> {
        let mut key = [0; KEK_BYTES];
        getrandom::getrandom(&mut key).map_err(|e| VaultError::NoRandomness(e.to_string()))?;
        Ok(KeyEncryptionKey::from_bytes(key))
    }

    /// The fixed KEK of tests and of [`crate::Settings::default`]. Everybody knows it, so it
    /// protects nothing: the `smsbus` binary never uses it (`serve` refuses to start without
    /// a real one).
    pub fn insecure_for_tests() -> KeyEncryptionKey {
        let digest = Sha256::digest(b"SMSBUS insecure test key-encryption key");
        KeyEncryptionKey::from_bytes(digest.into())
    }

    /// The KEK as 64 hex digits, for a key file.
    pub fn to_hex(&self) -> String {
        crate::hex(&self.key)
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(&self.key))
    }
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyEncryptionKey({})", crate::hex(&self.id))
    }
}

impl KeyVault for KeyEncryptionKey {
    fn key_id(&self) -> String {
        crate::hex(&self.id)
    }

    fn seal(&self, label: &str, secret: &[u8]) -> Result<String, VaultError> {
        let mut nonce = [0; NONCE_BYTES];
        getrandom::getrandom(&mut nonce).map_err(|e| VaultError::NoRandomness(e.to_string()))?;
        let ciphertext = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Damaged)?;
        let mut bytes = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&ciphertext);
        Ok(format!(
            "{SEALED_PREFIX}.{}.{}",
            self.key_id(),
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    fn open(&self, label: &str, sealed: &str) -> Result<Vec<u8>, VaultError> {
        if sealed.len() > SEALED_CHARS_MAX {
            return Err(VaultError::Malformed);
        }
        let mut parts = sealed.splitn(3, '.');
        let (Some(SEALED_PREFIX), Some(sealed_with), Some(body)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(VaultError::Malformed);
        };
        if sealed_with != self.key_id() {
            return Err(VaultError::WrongKey {
                sealed_with: sealed_with.to_owned(),
                this_key: self.key_id(),
            });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| VaultError::Malformed)?;
        let (nonce, ciphertext) = bytes
            .split_at_checked(NONCE_BYTES)
            .ok_or(VaultError::Malformed)?;
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Damaged)
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_label() {
        let kek = KeyEncryptionKey::from_bytes([7; 32]);
        let secret = [0xab_u8; 32];
        let sealed = kek.seal("signing key 01020304", &secret).unwrap();
        assert!(
            sealed.starts_with(&format!("kek1.{}.", kek.key_id())),
            "{sealed}"
        );
        assert!(!sealed.to_lowercase().contains("abab"), "{sealed}");
        assert_eq!(kek.open("signing key 01020304", &sealed).unwrap(), secret);
        // Two seals of one secret differ (fresh nonce).
        assert_ne!(kek.seal("signing key 01020304", &secret).unwrap(), sealed);
        assert_eq!(
            kek.open("signing key 05060708", &sealed),
            Err(VaultError::Damaged)
        );
        let other = KeyEncryptionKey::from_bytes([8; 32]);
        let wrong = other.open("signing key 01020304", &sealed).unwrap_err();
        assert!(matches!(wrong, VaultError::WrongKey { .. }), "{wrong}");
        assert!(wrong.to_string().contains("SMSBUS_KEY_ENCRYPTION_KEY"));
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 3;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            kek.open("signing key 01020304", &String::from_utf8(flipped).unwrap()),
            Err(VaultError::Damaged)
        );
        for bad in ["", "kek1", "kek2.x.y", "abababab", &"x".repeat(2_000)] {
            assert!(kek.open("signing key 01020304", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keks_are_read_as_hex_or_base64() {
        let kek = KeyEncryptionKey::from_bytes([0x5a; 32]);
        let hex = kek.to_hex();
        assert_eq!(
            KeyEncryptionKey::parse(&format!("{hex}\n"))
                .unwrap()
                .key_id(),
            kek.key_id()
        );
        let base64 = STANDARD.encode([0x5a; 32]);
        assert_eq!(
            KeyEncryptionKey::parse(&base64).unwrap().key_id(),
            kek.key_id()
        );
        for bad in ["", "00", &"zz".repeat(32), &STANDARD.encode([1; 16])] {
            assert_eq!(
                KeyEncryptionKey::parse(bad).unwrap_err(),
                VaultError::KekMalformed,
                "{bad}"
            );
        }
        assert!(!format!("{kek:?}").contains("5a5a"));
    }
}
