//! What a ticket says: the facts a controller shows (route, vehicle, fare, rider category,
//! bought at, valid until) and the binding to the holder's phone. Every text field is a short
//! code with a byte limit, because the whole token has to fit a small QR code.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{KeyId, TICKET_LIFETIME_S_MAX, TicketError, TicketNumber};
use crate::money::{AMOUNT_TIYN_MAX, Tenge};
use crate::phone::PhoneNumber;
use crate::vehicle::TransportCode;

/// Byte limits of the text fields, in UTF-8 bytes.
pub const ISSUER_BYTES_MAX: usize = 8;
pub const CITY_CODE_BYTES_MAX: usize = 16;
pub const ROUTE_NUMBER_BYTES_MAX: usize = 8;
pub const FARE_PRODUCT_BYTES_MAX: usize = 16;
pub const RIDER_CATEGORY_BYTES_MAX: usize = 16;
/// The per-ticket salt and the truncated digest that bind a ticket to its holder's phone.
pub const HOLDER_SALT_BYTES: usize = 8;
pub const HOLDER_DIGEST_BYTES: usize = 8;
/// The keyed holder tag of format 2 tokens, and the holder key it is made with.
pub const HOLDER_TAG_BYTES: usize = 2;
pub const HOLDER_KEY_BYTES: usize = 32;
/// Separates the holder digest from every other SHA-256 in the system.
const HOLDER_DIGEST_CONTEXT: &[u8] = b"SMSBUS holder v1\0";
/// Separates the keyed holder tag from every other HMAC in the system.
const HOLDER_TAG_CONTEXT: &[u8] = b"SMSBUS holder v2\0";
/// What a signing secret is keyed over to derive its holder key.
const HOLDER_KEY_DERIVATION_LABEL: &[u8] = b"SMSBUS holder key v2\0";

macro_rules! short_code {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Accepts 1 to the limit's bytes with no control characters and no surrounding
            /// spaces.
            pub fn parse(text: &str) -> Result<$name, TicketError> {
                if is_short_code(text, $max) {
                    Ok($name(text.to_owned()))
                } else {
                    Err(TicketError::BadField { field: $field, max_bytes: $max })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

short_code!(
    /// Who issued the ticket (`SMSBUS`); one key list per issuer.
    Issuer,
    "issuer",
    ISSUER_BYTES_MAX
);
short_code!(
    /// The city of the ride, as the catalogue names it (`astana`).
    CityCode,
    "city code",
    CITY_CODE_BYTES_MAX
);
short_code!(
    /// The route number as printed on the bus (`10`, `37A`, `310Э`).
    RouteNumber,
    "route number",
    ROUTE_NUMBER_BYTES_MAX
);
short_code!(
    /// The GTFS Fares v2 fare product that was bought (`single`, `express`, `zone-2`).
    FareProduct,
    "fare product",
    FARE_PRODUCT_BYTES_MAX
);
short_code!(
    /// The GTFS Fares v2 rider category (`regular`, `pensioner`); kept as text so a controller
    /// with an older app still reads tickets of a category added later.
    RiderCategoryCode,
    "rider category",
    RIDER_CATEGORY_BYTES_MAX
);

fn is_short_code(text: &str, max_bytes: usize) -> bool {
    !text.is_empty()
        && text.len() <= max_bytes
        && text.trim() == text
        && !text.chars().any(char::is_control)
}

/// Binds a ticket to the holder's phone without showing the number.
///
/// Format 2 tokens (`SB2.`) carry a *keyed* tag: the first [`HOLDER_TAG_BYTES`] bytes of
/// HMAC-SHA-256 under the [`HolderKey`] of the key that signs the ticket, over the ticket
/// number and the number in E.164. Without the holder key (only signed-in controller devices
/// get it) the tag says nothing about the number. The tag is deliberately short: the ~2.5·10⁸
/// Kazakh mobile numbers fall into 65,536 tags, so even a device that holds the key cannot
/// single out one number (thousands share each tag), while a friend's number shown with a
/// screenshot fails the check 65,535 times in 65,536.
///
/// Format 1 tokens (`SB1.`, issued before) carry a salted SHA-256 that anyone can test every
/// number against; they are still read, and checked the old way, until they end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HolderBinding {
    /// Format 1: a per-ticket salt and the truncated SHA-256 of salt and number.
    Salted {
        salt: [u8; HOLDER_SALT_BYTES],
        digest: [u8; HOLDER_DIGEST_BYTES],
    },
    /// Format 2: the truncated HMAC-SHA-256 under the signing key's holder key.
    Keyed { tag: [u8; HOLDER_TAG_BYTES] },
}

impl HolderBinding {
    /// The format 1 binding (tests and old tokens only; the issuer makes [`HolderBinding::keyed`]).
    /// `salt` must be fresh random bytes for every ticket.
    pub fn salted(salt: [u8; HOLDER_SALT_BYTES], phone: &PhoneNumber) -> HolderBinding {
        HolderBinding::Salted {
            salt,
            digest: salted_digest(&salt, phone),
        }
    }

    /// The format 2 binding of ticket `number` to `phone` under the signing key's holder key.
    pub fn keyed(key: &HolderKey, number: TicketNumber, phone: &PhoneNumber) -> HolderBinding {
        HolderBinding::Keyed {
            tag: key.tag(number, phone),
        }
    }

    /// The token format this binding belongs to.
    pub fn format_version(&self) -> u8 {
        match self {
            HolderBinding::Salted { .. } => 1,
            HolderBinding::Keyed { .. } => 2,
        }
    }
}

fn salted_digest(salt: &[u8; HOLDER_SALT_BYTES], phone: &PhoneNumber) -> [u8; HOLDER_DIGEST_BYTES] {
    let full = Sha256::new()
        .chain_update(HOLDER_DIGEST_CONTEXT)
        .chain_update(salt)
        .chain_update(phone.as_e164().as_bytes())
        .finalize();
    let mut digest = [0; HOLDER_DIGEST_BYTES];
    for (out, byte) in digest.iter_mut().zip(full.iter()) {
        *out = *byte;
    }
    digest
}

/// The secret under which format 2 tickets bind their holder: one per signing key, derived
/// from the signing secret (so it rotates with it and needs no storage of its own), handed
/// only to signed-in controller devices. It cannot sign anything.
#[derive(Clone, PartialEq, Eq)]
pub struct HolderKey([u8; HOLDER_KEY_BYTES]);

impl HolderKey {
    pub fn from_bytes(bytes: [u8; HOLDER_KEY_BYTES]) -> HolderKey {
        HolderKey(bytes)
    }

    /// Derives the holder key of a signing key from its 32-byte secret: HMAC-SHA-256 of a
    /// fixed label, which does not reveal the secret.
    pub fn derive(signing_secret: &[u8; 32]) -> HolderKey {
        HolderKey(hmac_sha256(signing_secret, &[HOLDER_KEY_DERIVATION_LABEL]))
    }

    pub fn bytes(&self) -> [u8; HOLDER_KEY_BYTES] {
        self.0
    }

    fn tag(&self, number: TicketNumber, phone: &PhoneNumber) -> [u8; HOLDER_TAG_BYTES] {
        let full = hmac_sha256(
            &self.0,
            &[
                HOLDER_TAG_CONTEXT,
                &number.value().to_be_bytes(),
                phone.as_e164().as_bytes(),
            ],
        );
        let mut tag = [0; HOLDER_TAG_BYTES];
        for (out, byte) in tag.iter_mut().zip(full.iter()) {
            *out = *byte;
        }
        tag
    }
}

impl fmt::Debug for HolderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HolderKey(..)")
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The holder keys a controller's device holds, by the signing key they belong to.
#[derive(Clone, Debug, Default)]
pub struct HolderKeys {
    keys: Vec<(KeyId, HolderKey)>,
}

impl HolderKeys {
    pub fn new(keys: impl IntoIterator<Item = (KeyId, HolderKey)>) -> HolderKeys {
        HolderKeys {
            keys: keys.into_iter().take(super::KEY_LIST_KEYS_MAX).collect(),
        }
    }

    pub fn get(&self, id: KeyId) -> Option<&HolderKey> {
        self.keys
            .iter()
            .find(|(key_id, _)| *key_id == id)
            .map(|(_, key)| key)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Does a ticket belong to the number the passenger tells?
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HolderCheck {
    Matches,
    DoesNotMatch,
    /// No number was given, or the holder key of the ticket's signing key is not at hand.
    NotChecked,
}

impl HolderCheck {
    pub fn code(self) -> &'static str {
        match self {
            HolderCheck::Matches => "MATCHES",
            HolderCheck::DoesNotMatch => "DOES_NOT_MATCH",
            HolderCheck::NotChecked => "NOT_CHECKED",
        }
    }

    fn of(matches: bool) -> HolderCheck {
        if matches {
            HolderCheck::Matches
        } else {
            HolderCheck::DoesNotMatch
        }
    }
}

/// How long a ticket is valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Validity {
    /// Until the vehicle's current run reaches its final stop. The live system ends it there
    /// (the `run_ended` check of [`super::verify_offline_with`]); `not_after_unix_s`, the time
    /// of issue plus the route's longest ride, bounds it when nothing live is known.
    UntilFinalStop { not_after_unix_s: u64 },
}

impl Validity {
    /// The time after which the ticket is invalid whatever else is known.
    pub fn not_after_unix_s(self) -> u64 {
        match self {
            Validity::UntilFinalStop { not_after_unix_s } => not_after_unix_s,
        }
    }
}

/// Everything a ticket token says. Each field's type keeps it within the token's limits;
/// [`TicketClaims::check`] adds the rules between fields, and both signing and decoding apply
/// it, so a ticket that breaks them can neither be made nor read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketClaims {
    pub issuer: Issuer,
    /// The key that signs the ticket; [`super::sign`] refuses any other.
    pub key_id: KeyId,
    pub number: TicketNumber,
    pub city: CityCode,
    pub vehicle: TransportCode,
    pub route: RouteNumber,
    pub fare_product: FareProduct,
    pub rider_category: RiderCategoryCode,
    pub amount: Tenge,
    pub issued_at_unix_s: u64,
    pub validity: Validity,
    pub holder: HolderBinding,
}

impl TicketClaims {
    pub fn not_after_unix_s(&self) -> u64 {
        self.validity.not_after_unix_s()
    }

    /// Does the ticket belong to `phone`? A format 1 ticket is checked by its salted digest; a
    /// format 2 ticket needs the holder key of its signing key among `holder_keys`.
    pub fn check_holder(&self, phone: &PhoneNumber, holder_keys: &HolderKeys) -> HolderCheck {
        match self.holder {
            HolderBinding::Salted { salt, digest } => {
                HolderCheck::of(salted_digest(&salt, phone) == digest)
            }
            HolderBinding::Keyed { tag } => match holder_keys.get(self.key_id) {
                Some(key) => HolderCheck::of(key.tag(self.number, phone) == tag),
                None => HolderCheck::NotChecked,
            },
        }
    }

    /// The rules between fields: a non-negative amount within the system's limit, and a
    /// validity that ends after the ticket is issued and within [`TICKET_LIFETIME_S_MAX`].
    pub fn check(&self) -> Result<(), TicketError> {
        if !(0..=AMOUNT_TIYN_MAX).contains(&self.amount.tiyn()) {
            return Err(TicketError::AmountOutOfRange);
        }
        let lifetime_s = self.not_after_unix_s().checked_sub(self.issued_at_unix_s);
        match lifetime_s {
            Some(lifetime_s) if (1..=TICKET_LIFETIME_S_MAX).contains(&lifetime_s) => Ok(()),
            _ => Err(TicketError::LifetimeOutOfRange),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_codes_have_limits() {
        assert_eq!(RouteNumber::parse("310Э").unwrap().as_str(), "310Э");
        for bad in ["", " 10", "10 ", "1\n0", "123456789"] {
            assert!(RouteNumber::parse(bad).is_err(), "{bad:?}");
        }
        // Five characters, but ten bytes: the limit is in bytes because the token is.
        assert!(RouteNumber::parse("ЭЭЭЭЭ").is_err());
        assert!(Issuer::parse("SMSBUS").is_ok());
    }

    fn claims_with(holder: HolderBinding, key_id: KeyId) -> TicketClaims {
        TicketClaims {
            issuer: Issuer::parse("SMSBUS").unwrap(),
            key_id,
            number: TicketNumber::new(25_054_821_773).unwrap(),
            city: CityCode::parse("astana").unwrap(),
            vehicle: TransportCode::parse("10234").unwrap(),
            route: RouteNumber::parse("10").unwrap(),
            fare_product: FareProduct::parse("ride").unwrap(),
            rider_category: RiderCategoryCode::parse("regular").unwrap(),
            amount: Tenge::from_whole(90),
            issued_at_unix_s: 1_750_000_000,
            validity: Validity::UntilFinalStop {
                not_after_unix_s: 1_750_005_400,
            },
            holder,
        }
    }

    #[test]
    fn salted_binding_of_old_tickets_matches_only_its_phone() {
        let phone = PhoneNumber::parse("+7 701 123 45 67").unwrap();
        let other = PhoneNumber::parse("+7 701 123 45 68").unwrap();
        let key_id = KeyId::parse_hex("01020304").unwrap();
        let claims = claims_with(
            HolderBinding::salted([7; HOLDER_SALT_BYTES], &phone),
            key_id,
        );
        let no_keys = HolderKeys::default();
        assert_eq!(claims.check_holder(&phone, &no_keys), HolderCheck::Matches);
        assert_eq!(
            claims.check_holder(&other, &no_keys),
            HolderCheck::DoesNotMatch
        );
        assert_ne!(
            HolderBinding::salted([7; HOLDER_SALT_BYTES], &phone),
            HolderBinding::salted([8; HOLDER_SALT_BYTES], &phone)
        );
    }

    #[test]
    fn keyed_binding_needs_the_holder_key() {
        let phone = PhoneNumber::parse("+7 701 123 45 67").unwrap();
        let other = PhoneNumber::parse("+7 701 123 45 68").unwrap();
        let key_id = KeyId::parse_hex("01020304").unwrap();
        let key = HolderKey::derive(&[5; 32]);
        let number = TicketNumber::new(25_054_821_773).unwrap();
        let claims = claims_with(HolderBinding::keyed(&key, number, &phone), key_id);
        let keys = HolderKeys::new([(key_id, key.clone())]);
        assert_eq!(claims.check_holder(&phone, &keys), HolderCheck::Matches);
        assert_eq!(
            claims.check_holder(&other, &keys),
            HolderCheck::DoesNotMatch
        );
        // Without the key nothing can be said, and another key's holder key says no.
        assert_eq!(
            claims.check_holder(&phone, &HolderKeys::default()),
            HolderCheck::NotChecked
        );
        let wrong = HolderKeys::new([(key_id, HolderKey::derive(&[6; 32]))]);
        assert_ne!(claims.check_holder(&phone, &wrong), HolderCheck::Matches);
        // The holder key is not the signing secret and never prints.
        assert_ne!(key.bytes(), [5; 32]);
        assert_eq!(format!("{key:?}"), "HolderKey(..)");
        assert_eq!(
            HolderBinding::keyed(&key, number, &phone).format_version(),
            2
        );
    }

    /// The attack of issue 9: try every number of a prefix against the ticket. The salted
    /// digest of format 1 gives the number away; the keyed tag cannot be tested without the
    /// holder key, and even with it one tag fits thousands of numbers.
    #[test]
    fn without_the_holder_key_no_number_can_be_tested() {
        let phone = PhoneNumber::parse("+7 701 123 45 67").unwrap();
        let key_id = KeyId::parse_hex("01020304").unwrap();
        let key = HolderKey::derive(&[5; 32]);
        let number = TicketNumber::new(25_054_821_773).unwrap();
        let claims = claims_with(HolderBinding::keyed(&key, number, &phone), key_id);
        let candidates =
            (1_230_000..1_240_000).map(|n| PhoneNumber::parse(&format!("+7701{n:07}")).unwrap());
        let mut with_key = 0;
        for candidate in candidates {
            assert_eq!(
                claims.check_holder(&candidate, &HolderKeys::default()),
                HolderCheck::NotChecked
            );
            let keys = HolderKeys::new([(key_id, key.clone())]);
            with_key += usize::from(claims.check_holder(&candidate, &keys) == HolderCheck::Matches);
        }
        // 10,000 candidates, one true: about 0.15 false matches expected; the true one matches.
        assert!((1..=3).contains(&with_key), "{with_key}");
    }
}
