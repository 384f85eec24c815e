//! Ticket keys: the issuer's signing key, the published public keys a controller caches, and
//! the rotation rule. A key is valid for a window `[not_before, not_after]`; it signs only
//! tickets that end inside its window, so once `not_after` has passed nothing it signed is
//! still valid and it may leave the published list. A key therefore signs until
//! `not_after − longest ticket` and only verifies after that; a rotation plans the next window.

use std::fmt;

use ed25519_dalek::{
    PUBLIC_KEY_LENGTH, SECRET_KEY_LENGTH, Signature, Signer, SigningKey, VerifyingKey,
};
use sha2::{Digest, Sha256};

use super::{HolderKey, TICKET_LIFETIME_S_MAX, TicketError};

/// A key id is this many bytes of the SHA-256 of the public key (shown as twice as many hex
/// digits).
pub const KEY_ID_BYTES: usize = 4;
/// A published key list holds at most this many keys (a few overlapping rotations).
pub const KEY_LIST_KEYS_MAX: usize = 64;

/// Names a ticket key: the first bytes of the SHA-256 of its public key, so anyone can check
/// that a listed id belongs to its key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId([u8; KEY_ID_BYTES]);

impl KeyId {
    pub fn of_public_key(public_key: &[u8; PUBLIC_KEY_LENGTH]) -> KeyId {
        let digest = Sha256::digest(public_key);
        let mut id = [0; KEY_ID_BYTES];
        for (out, byte) in id.iter_mut().zip(digest.iter()) {
            *out = *byte;
        }
        KeyId(id)
    }

    /// Reads the hex form (`1a2b3c4d`, either case).
    pub fn parse_hex(text: &str) -> Result<KeyId, TicketError> {
        if text.len() != KEY_ID_BYTES * 2 || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(TicketError::KeyIdMalformed);
        }
        let mut id = [0; KEY_ID_BYTES];
        for (index, out) in id.iter_mut().enumerate() {
            let pair = text
                .get(index * 2..index * 2 + 2)
                .ok_or(TicketError::KeyIdMalformed)?;
            *out = u8::from_str_radix(pair, 16).map_err(|_| TicketError::KeyIdMalformed)?;
        }
        Ok(KeyId(id))
    }

    pub fn bytes(self) -> [u8; KEY_ID_BYTES] {
        self.0
    }

    /// As read from a token; only a key's own public key makes an id that verifies.
    pub(super) fn from_bytes(bytes: [u8; KEY_ID_BYTES]) -> KeyId {
        KeyId(bytes)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// When a key is valid, inclusive at both ends, in unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyWindow {
    not_before_unix_s: u64,
    not_after_unix_s: u64,
}

impl KeyWindow {
    pub fn new(not_before_unix_s: u64, not_after_unix_s: u64) -> Result<KeyWindow, TicketError> {
        if not_before_unix_s < not_after_unix_s {
            Ok(KeyWindow {
                not_before_unix_s,
                not_after_unix_s,
            })
        } else {
            Err(TicketError::KeyWindowInvalid)
        }
    }

    pub fn not_before_unix_s(self) -> u64 {
        self.not_before_unix_s
    }

    pub fn not_after_unix_s(self) -> u64 {
        self.not_after_unix_s
    }

    pub fn contains(self, at_unix_s: u64) -> bool {
        (self.not_before_unix_s..=self.not_after_unix_s).contains(&at_unix_s)
    }
}

/// A public key as the key list publishes it. Its id is derived, never given, and the key is
/// decoded once here rather than at every verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedKey {
    id: KeyId,
    verifying_key: VerifyingKey,
    window: KeyWindow,
}

impl PublishedKey {
    /// Refuses bytes that are not a usable Ed25519 public key (including the weak, small-order
    /// ones that would let anyone sign).
    pub fn new(
        public_key: [u8; PUBLIC_KEY_LENGTH],
        window: KeyWindow,
    ) -> Result<PublishedKey, TicketError> {
        let verifying_key =
            VerifyingKey::from_bytes(&public_key).map_err(|_| TicketError::PublicKeyInvalid)?;
        if verifying_key.is_weak() {
            return Err(TicketError::PublicKeyInvalid);
        }
        Ok(PublishedKey {
            id: KeyId::of_public_key(&public_key),
            verifying_key,
            window,
        })
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LENGTH] {
        self.verifying_key.to_bytes()
    }

    pub fn window(&self) -> KeyWindow {
        self.window
    }

    pub fn not_before_unix_s(&self) -> u64 {
        self.window.not_before_unix_s
    }

    pub fn not_after_unix_s(&self) -> u64 {
        self.window.not_after_unix_s
    }

    pub(super) fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying_key
    }
}

/// The keys a verifier trusts, looked up by id. Built by hand from whatever the wire format is
/// (the HTTP edge owns the JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyList {
    keys: Vec<PublishedKey>,
}

impl KeyList {
    /// Refuses two keys with one id and more than [`KEY_LIST_KEYS_MAX`] keys.
    pub fn new(keys: impl IntoIterator<Item = PublishedKey>) -> Result<KeyList, TicketError> {
        let mut list = KeyList { keys: Vec::new() };
        for key in keys {
            if list.keys.len() == KEY_LIST_KEYS_MAX {
                return Err(TicketError::TooManyKeys(KEY_LIST_KEYS_MAX));
            }
            if list.get(key.id).is_some() {
                return Err(TicketError::DuplicateKey(key.id));
            }
            list.keys.push(key);
        }
        Ok(list)
    }

    pub fn get(&self, id: KeyId) -> Option<&PublishedKey> {
        self.keys.iter().find(|key| key.id == id)
    }

    pub fn keys(&self) -> &[PublishedKey] {
        &self.keys
    }
}

/// The issuer's signing key. The secret never leaves it and is never printed; the bytes are
/// wiped when it is dropped.
pub struct TicketSigningKey {
    signing_key: SigningKey,
    published: PublishedKey,
}

impl TicketSigningKey {
    /// `secret` is the 32-byte Ed25519 seed, created from real randomness and kept by the
    /// caller's key store.
    pub fn from_secret_bytes(
        secret: &[u8; SECRET_KEY_LENGTH],
        window: KeyWindow,
    ) -> Result<TicketSigningKey, TicketError> {
        let signing_key = SigningKey::from_bytes(secret);
        let published = PublishedKey::new(signing_key.verifying_key().to_bytes(), window)?;
        Ok(TicketSigningKey {
            signing_key,
            published,
        })
    }

    pub fn id(&self) -> KeyId {
        self.published.id
    }

    pub fn window(&self) -> KeyWindow {
        self.published.window
    }

    /// What the key list publishes for this key.
    pub fn published(&self) -> &PublishedKey {
        &self.published
    }

    /// The key that binds this key's format 2 tickets to their holder (derived from the
    /// secret; see [`HolderKey::derive`]). Controllers' devices get it, never the secret.
    pub fn holder_key(&self) -> HolderKey {
        HolderKey::derive(&self.signing_key.to_bytes())
    }

    pub(super) fn sign_message(&self, message: &[u8]) -> Signature {
        self.signing_key.sign(message)
    }
}

impl fmt::Debug for TicketSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TicketSigningKey")
            .field("id", &self.published.id)
            .field("window", &self.published.window)
            .finish_non_exhaustive()
    }
}

/// The window of the next key when rotating at `now_unix_s`: valid from now (never before the
/// newest key already started, so the new key is the newest of those; a key scheduled to start
/// later keeps its own window), signing for `signing_period_s`, then
/// verifying for `max_ticket_lifetime_s` more so every ticket it signed ends inside it. The
/// existing keys keep their windows: each stays on the list until its `not_after`, which is
/// after every ticket it signed. Publish the new key before signing with it, so controllers'
/// cached lists know it.
pub fn plan_rotation(
    existing: &[PublishedKey],
    now_unix_s: u64,
    signing_period_s: u64,
    max_ticket_lifetime_s: u64,
) -> Result<KeyWindow, TicketError> {
    if signing_period_s == 0 || !(1..=TICKET_LIFETIME_S_MAX).contains(&max_ticket_lifetime_s) {
        return Err(TicketError::RotationInvalid);
    }
    // Keys that start later (a routine rotation already scheduled) keep their place; an
    // immediate rotation must not wait for them.
    let after_newest = existing
        .iter()
        .filter(|key| key.not_before_unix_s() <= now_unix_s)
        .map(|key| key.not_before_unix_s().saturating_add(1))
        .max()
        .unwrap_or(0);
    let not_before_unix_s = now_unix_s.max(after_newest);
    let not_after_unix_s = not_before_unix_s
        .checked_add(signing_period_s)
        .and_then(|end| end.checked_add(max_ticket_lifetime_s))
        .ok_or(TicketError::RotationInvalid)?;
    KeyWindow::new(not_before_unix_s, not_after_unix_s)
}

/// The key to sign with at `now_unix_s`: the newest key that is valid now and stays valid for
/// a ticket of `max_ticket_lifetime_s`. `None` means a rotation is overdue.
pub fn select_signing_key(
    keys: &[TicketSigningKey],
    now_unix_s: u64,
    max_ticket_lifetime_s: u64,
) -> Option<&TicketSigningKey> {
    let ticket_end_unix_s = now_unix_s.checked_add(max_ticket_lifetime_s)?;
    keys.iter()
        .filter(|key| {
            key.window().not_before_unix_s <= now_unix_s
                && ticket_end_unix_s <= key.window().not_after_unix_s
        })
        .max_by_key(|key| key.window().not_before_unix_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_S: u64 = 24 * 60 * 60;

    fn key(seed: u8, not_before_unix_s: u64, not_after_unix_s: u64) -> TicketSigningKey {
        TicketSigningKey::from_secret_bytes(
            &[seed; 32],
            KeyWindow::new(not_before_unix_s, not_after_unix_s).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn key_ids_are_hash_prefixes_in_hex() {
        let key = key(1, 0, 10);
        let id = key.id();
        assert_eq!(id, KeyId::of_public_key(&key.published().public_key()));
        assert_eq!(id.to_string().len(), 8);
        assert_eq!(KeyId::parse_hex(&id.to_string()), Ok(id));
        assert_eq!(KeyId::parse_hex(&id.to_string().to_uppercase()), Ok(id));
        for bad in ["", "1234567", "123456789", "zzzzzzzz", "+1234567", "ééééé"] {
            assert_eq!(
                KeyId::parse_hex(bad),
                Err(TicketError::KeyIdMalformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn signing_key_never_prints_its_secret() {
        let secret = [0xab; 32];
        let key =
            TicketSigningKey::from_secret_bytes(&secret, KeyWindow::new(0, 10).unwrap()).unwrap();
        let printed = format!("{key:?} {key:#?}");
        assert!(printed.contains(&key.id().to_string()), "{printed}");
        assert!(!printed.to_lowercase().contains("abab"), "{printed}");
        assert!(!printed.contains("171, 171"), "{printed}");
    }

    #[test]
    fn weak_and_invalid_public_keys_are_refused() {
        let window = KeyWindow::new(0, 10).unwrap();
        // The identity point is a small-order (weak) key: it would accept forged signatures.
        let mut identity = [0; 32];
        identity[0] = 1;
        assert_eq!(
            PublishedKey::new(identity, window),
            Err(TicketError::PublicKeyInvalid)
        );
        assert_eq!(KeyWindow::new(10, 10), Err(TicketError::KeyWindowInvalid));
    }

    #[test]
    fn key_lists_refuse_duplicates_and_excess() {
        let a = key(1, 0, 10).published().clone();
        let b = key(2, 0, 10).published().clone();
        let list = KeyList::new([a.clone(), b.clone()]).unwrap();
        assert_eq!(list.get(b.id()), Some(&b));
        assert_eq!(
            KeyList::new([a.clone(), a.clone()]),
            Err(TicketError::DuplicateKey(a.id()))
        );
        let many = (0..=KEY_LIST_KEYS_MAX)
            .map(|seed| key(u8::try_from(seed).unwrap(), 0, 10).published().clone());
        assert_eq!(
            KeyList::new(many),
            Err(TicketError::TooManyKeys(KEY_LIST_KEYS_MAX))
        );
    }

    #[test]
    fn rotation_plans_a_window_that_outlives_its_tickets() {
        let lifetime_s = 3 * 60 * 60;
        let first = plan_rotation(&[], 1_000, 30 * DAY_S, lifetime_s).unwrap();
        assert_eq!(
            first,
            KeyWindow::new(1_000, 1_000 + 30 * DAY_S + lifetime_s).unwrap()
        );
        let old = key(1, first.not_before_unix_s(), first.not_after_unix_s());
        let now = 1_000 + 29 * DAY_S;
        let next = plan_rotation(&[old.published().clone()], now, 30 * DAY_S, lifetime_s).unwrap();
        assert_eq!(next.not_before_unix_s(), now);
        let new = key(2, next.not_before_unix_s(), next.not_after_unix_s());
        let keys = [old, new];
        // Once the new key exists it signs; the old one only verifies.
        assert_eq!(
            select_signing_key(&keys, now, lifetime_s).map(TicketSigningKey::id),
            Some(keys[1].id())
        );
        assert_eq!(
            select_signing_key(&keys, now - 1, lifetime_s).map(TicketSigningKey::id),
            Some(keys[0].id())
        );
        // A rotation never plans a key older than the newest key already started…
        let same = plan_rotation(&[keys[1].published().clone()], now, DAY_S, lifetime_s).unwrap();
        assert_eq!(same.not_before_unix_s(), now + 1);
        // …but does not wait for one scheduled to start later (an immediate rotation of a
        // compromised key, after a routine one was scheduled).
        let early = plan_rotation(&[keys[1].published().clone()], 5, DAY_S, lifetime_s).unwrap();
        assert_eq!(early.not_before_unix_s(), 5);
        assert!(select_signing_key(&keys, u64::MAX - 1, lifetime_s).is_none());
        assert_eq!(
            plan_rotation(&[], 0, 0, lifetime_s),
            Err(TicketError::RotationInvalid)
        );
        assert_eq!(
            plan_rotation(&[], 0, DAY_S, TICKET_LIFETIME_S_MAX + 1),
            Err(TicketError::RotationInvalid)
        );
        assert_eq!(
            plan_rotation(&[], u64::MAX, DAY_S, lifetime_s),
            Err(TicketError::RotationInvalid)
        );
    }
}
