//! What a ticket says: the facts a controller shows (route, vehicle, fare, rider category,
//! bought at, valid until) and the binding to its [`Holder`] (the phone number or the transport
//! card that paid, as the payment source decides). Every text field is a short code with a
//! byte limit, because the whole token has to fit a small QR code.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{KeyId, TICKET_LIFETIME_S_MAX, TicketError, TicketNumber};
use crate::card::CardNumber;
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
/// Separates the keyed holder tag of format 2 (a phone's) from every other HMAC in the system.
const HOLDER_TAG_CONTEXT_V2: &[u8] = b"SMSBUS holder v2\0";
/// Separates the keyed holder tag of format 3 (any [`HolderKind`]) from every other HMAC.
const HOLDER_TAG_CONTEXT_V3: &[u8] = b"SMSBUS holder v3\0";
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

/// What kind of identity a ticket is bound to. Its byte is the token's (format 3); a controller
/// asks the passenger for that kind (a number of the other kind is not checked against it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HolderKind {
    /// The mobile number that paid, or whose account bought the ride.
    Phone,
    /// The transport card that paid: its 16 digits, shown in the passenger's app.
    Card,
}

impl HolderKind {
    pub const ALL: [HolderKind; 2] = [HolderKind::Phone, HolderKind::Card];

    /// The byte that names the kind in a format 3 token.
    pub fn byte(self) -> u8 {
        match self {
            HolderKind::Phone => 1,
            HolderKind::Card => 2,
        }
    }

    pub fn from_byte(byte: u8) -> Option<HolderKind> {
        HolderKind::ALL.into_iter().find(|kind| kind.byte() == byte)
    }

    /// The word of the API and the apps: `phone`, `card`.
    pub fn as_str(self) -> &'static str {
        match self {
            HolderKind::Phone => "phone",
            HolderKind::Card => "card",
        }
    }
}

impl fmt::Display for HolderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whom a ticket belongs to: what the passenger tells a controller who doubts the ticket is
/// theirs. The payment source decides it (the phone balance: the paying number; a transport
/// card: the card), so a ticket bought with a child's school card is the card's, not the
/// parent's phone's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Holder {
    Phone(PhoneNumber),
    Card(CardNumber),
}

impl Holder {
    /// A holder as a controller types it: a phone number as people write it
    /// (`8 701 123 45 67`), or a card's 16 digits (spaces and dashes ignored). `None`: neither.
    pub fn parse(text: &str) -> Option<Holder> {
        PhoneNumber::parse(text)
            .map(Holder::Phone)
            .or_else(|_| CardNumber::parse(text).map(Holder::Card))
            .ok()
    }

    pub fn kind(&self) -> HolderKind {
        match self {
            Holder::Phone(_) => HolderKind::Phone,
            Holder::Card(_) => HolderKind::Card,
        }
    }

    /// The bytes the tag is made over: the number in E.164, the card's 16 digits. The two
    /// never look alike (`+7…`, 12 bytes; 16 digits), and the kind byte is in the tag too.
    fn identity(&self) -> &[u8] {
        match self {
            Holder::Phone(phone) => phone.as_e164().as_bytes(),
            Holder::Card(card) => card.as_str().as_bytes(),
        }
    }
}

impl fmt::Display for Holder {
    /// The number in E.164, the card grouped (`9398 1234 5678 9012`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Phone(phone) => f.write_str(phone.as_e164()),
            Holder::Card(card) => write!(f, "card {card}"),
        }
    }
}

/// Binds a ticket to its holder without showing who that is.
///
/// Format 3 tokens (`SB3.`, issued now) name the [`HolderKind`] and carry a *keyed* tag: the
/// first [`HOLDER_TAG_BYTES`] bytes of HMAC-SHA-256 under the [`HolderKey`] of the key that
/// signs the ticket, over the kind, the ticket number and the holder's identity (the number in
/// E.164, the card's digits). Without the holder key (only signed-in controller devices get
/// it) the tag says nothing about the holder. The tag is deliberately short: the ~2.5·10⁸
/// Kazakh mobile numbers (and the 10¹¹ card numbers) fall into 65,536 tags, so even a device
/// that holds the key cannot single one out (thousands share each tag), while a friend's number
/// or card shown with a screenshot fails the check 65,535 times in 65,536.
///
/// Format 2 tokens (`SB2.`) are the same for a phone alone, with no kind byte; format 1
/// (`SB1.`) carry a salted SHA-256 of the phone that anyone can test every number against.
/// Both are still read, and checked their own way, until they end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HolderBinding {
    /// Format 1: a per-ticket salt and the truncated SHA-256 of salt and phone number.
    Salted {
        salt: [u8; HOLDER_SALT_BYTES],
        digest: [u8; HOLDER_DIGEST_BYTES],
    },
    /// Format 2: a phone's truncated HMAC-SHA-256 under the signing key's holder key.
    KeyedPhone { tag: [u8; HOLDER_TAG_BYTES] },
    /// Format 3: the holder's kind and its truncated HMAC-SHA-256 under the holder key.
    Keyed {
        kind: HolderKind,
        tag: [u8; HOLDER_TAG_BYTES],
    },
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

    /// The format 2 binding of ticket `number` to `phone` (tests and old tokens only).
    pub fn keyed_phone(
        key: &HolderKey,
        number: TicketNumber,
        phone: &PhoneNumber,
    ) -> HolderBinding {
        HolderBinding::KeyedPhone {
            tag: key.tag_v2(number, phone),
        }
    }

    /// The binding of ticket `number` to `holder` under the signing key's holder key: the one
    /// the issuer makes (format 3).
    pub fn keyed(key: &HolderKey, number: TicketNumber, holder: &Holder) -> HolderBinding {
        HolderBinding::Keyed {
            kind: holder.kind(),
            tag: key.tag(number, holder),
        }
    }

    /// The token format this binding belongs to.
    pub fn format_version(&self) -> u8 {
        match self {
            HolderBinding::Salted { .. } => 1,
            HolderBinding::KeyedPhone { .. } => 2,
            HolderBinding::Keyed { .. } => 3,
        }
    }

    /// The kind of holder the ticket is bound to (formats 1 and 2 bind a phone).
    pub fn kind(&self) -> HolderKind {
        match self {
            HolderBinding::Salted { .. } | HolderBinding::KeyedPhone { .. } => HolderKind::Phone,
            HolderBinding::Keyed { kind, .. } => *kind,
        }
    }
}

fn salted_digest(salt: &[u8; HOLDER_SALT_BYTES], phone: &PhoneNumber) -> [u8; HOLDER_DIGEST_BYTES] {
    let full = Sha256::new()
        .chain_update(HOLDER_DIGEST_CONTEXT)
        .chain_update(salt)
        .chain_update(phone.as_e164().as_bytes())
        .finalize();
    truncated(&full)
}

fn truncated<const N: usize>(full: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    for (out, byte) in out.iter_mut().zip(full.iter()) {
        *out = *byte;
    }
    out
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

    /// The format 3 tag: over the holder's kind, the ticket number and the holder's identity.
    fn tag(&self, number: TicketNumber, holder: &Holder) -> [u8; HOLDER_TAG_BYTES] {
        truncated(&hmac_sha256(
            &self.0,
            &[
                HOLDER_TAG_CONTEXT_V3,
                &[holder.kind().byte()],
                &number.value().to_be_bytes(),
                holder.identity(),
            ],
        ))
    }

    /// The format 2 tag: a phone's, with no kind.
    fn tag_v2(&self, number: TicketNumber, phone: &PhoneNumber) -> [u8; HOLDER_TAG_BYTES] {
        truncated(&hmac_sha256(
            &self.0,
            &[
                HOLDER_TAG_CONTEXT_V2,
                &number.value().to_be_bytes(),
                phone.as_e164().as_bytes(),
            ],
        ))
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

/// Does a ticket belong to the holder the passenger tells?
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HolderCheck {
    Matches,
    DoesNotMatch,
    /// Nothing was told, or a holder of another kind than the ticket's (a phone number for a
    /// card's ticket: ask for the card), or the holder key of the ticket's signing key is not
    /// at hand. Never read as "not theirs".
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

    /// Does the ticket belong to `holder`? Only a holder of the ticket's own kind is checked. A
    /// format 1 ticket is checked by its salted digest; formats 2 and 3 need the holder key of
    /// the signing key among `holder_keys`.
    pub fn check_holder(&self, holder: &Holder, holder_keys: &HolderKeys) -> HolderCheck {
        if holder.kind() != self.holder.kind() {
            return HolderCheck::NotChecked;
        }
        let key = holder_keys.get(self.key_id);
        match (self.holder, holder, key) {
            (HolderBinding::Salted { salt, digest }, Holder::Phone(phone), _) => {
                HolderCheck::of(salted_digest(&salt, phone) == digest)
            }
            (HolderBinding::KeyedPhone { tag }, Holder::Phone(phone), Some(key)) => {
                HolderCheck::of(key.tag_v2(self.number, phone) == tag)
            }
            (HolderBinding::Keyed { tag, .. }, holder, Some(key)) => {
                HolderCheck::of(key.tag(self.number, holder) == tag)
            }
            _ => HolderCheck::NotChecked,
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
        assert_eq!(
            claims.check_holder(&Holder::Phone(phone.clone()), &no_keys),
            HolderCheck::Matches
        );
        assert_eq!(
            claims.check_holder(&Holder::Phone(other), &no_keys),
            HolderCheck::DoesNotMatch
        );
        assert_ne!(
            HolderBinding::salted([7; HOLDER_SALT_BYTES], &phone),
            HolderBinding::salted([8; HOLDER_SALT_BYTES], &phone)
        );
    }

    #[test]
    fn keyed_binding_needs_the_holder_key() {
        let phone = Holder::Phone(PhoneNumber::parse("+7 701 123 45 67").unwrap());
        let other = Holder::Phone(PhoneNumber::parse("+7 701 123 45 68").unwrap());
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
            3
        );
    }

    fn card(text: &str) -> Holder {
        Holder::Card(CardNumber::parse(text).unwrap())
    }

    fn own_grouped_with_dashes() -> String {
        CardNumber::issue(12_345_678_901)
            .grouped()
            .replace(' ', "-")
    }

    /// A card's ticket is the card's: its own number matches, another card does not, and a
    /// phone number (the parent's, the buyer's) is not checked against it at all, rather than
    /// told "not theirs". The same holds the other way round.
    #[test]
    fn a_cards_ticket_is_checked_against_cards_only() {
        let key_id = KeyId::parse_hex("01020304").unwrap();
        let key = HolderKey::derive(&[5; 32]);
        let keys = HolderKeys::new([(key_id, key.clone())]);
        let number = TicketNumber::new(25_054_821_773).unwrap();
        let own = CardNumber::issue(12_345_678_901);
        let other = CardNumber::issue(12_345_678_902);
        let phone = Holder::Phone(PhoneNumber::parse("+7 701 123 45 67").unwrap());
        let claims = claims_with(
            HolderBinding::keyed(&key, number, &Holder::Card(own.clone())),
            key_id,
        );
        assert_eq!(claims.holder.kind(), HolderKind::Card);
        assert_eq!(
            claims.check_holder(&card(&own.grouped()), &keys),
            HolderCheck::Matches
        );
        assert_eq!(
            claims.check_holder(&Holder::Card(other), &keys),
            HolderCheck::DoesNotMatch
        );
        assert_eq!(claims.check_holder(&phone, &keys), HolderCheck::NotChecked);
        assert_eq!(
            claims.check_holder(&Holder::Card(own.clone()), &HolderKeys::default()),
            HolderCheck::NotChecked
        );
        let phones = claims_with(HolderBinding::keyed(&key, number, &phone), key_id);
        assert_eq!(
            phones.check_holder(&Holder::Card(own), &keys),
            HolderCheck::NotChecked
        );
        for kind in HolderKind::ALL {
            assert_eq!(HolderKind::from_byte(kind.byte()), Some(kind));
        }
        // As a controller types them: a phone, a card, or neither (a card's digit mistyped).
        assert_eq!(Holder::parse("8 701 123 45 67"), Some(phone.clone()));
        let typed = own_grouped_with_dashes();
        assert_eq!(
            Holder::parse(&typed).map(|h| h.kind()),
            Some(HolderKind::Card)
        );
        assert_eq!(Holder::parse("1234 5678 9012 3456"), None);
        assert_eq!(Holder::parse("12"), None);
        assert_eq!(HolderKind::from_byte(0), None);
    }

    /// The kind is inside the tag: the same digits as a phone and as a card tag differently,
    /// and a format 2 tag (a phone's, without the kind) is not a format 3 one.
    #[test]
    fn tags_are_separated_by_kind_and_format() {
        let key = HolderKey::derive(&[5; 32]);
        let number = TicketNumber::new(25_054_821_773).unwrap();
        let phone = PhoneNumber::parse("+7 701 123 45 67").unwrap();
        let as_v2 = HolderBinding::keyed_phone(&key, number, &phone);
        let as_v3 = HolderBinding::keyed(&key, number, &Holder::Phone(phone.clone()));
        assert_eq!(as_v2.format_version(), 2);
        assert_eq!(as_v2.kind(), HolderKind::Phone);
        let (HolderBinding::KeyedPhone { tag: v2 }, HolderBinding::Keyed { tag: v3, .. }) =
            (as_v2, as_v3)
        else {
            panic!("{as_v2:?} {as_v3:?}");
        };
        // One pair in 65,536 could agree by chance; these do not, and the inputs differ.
        assert_ne!(v2, v3);
        let key_id = KeyId::parse_hex("01020304").unwrap();
        let keys = HolderKeys::new([(key_id, key.clone())]);
        let old = claims_with(as_v2, key_id);
        assert_eq!(
            old.check_holder(&Holder::Phone(phone), &keys),
            HolderCheck::Matches
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
        let phone = Holder::Phone(phone);
        let claims = claims_with(HolderBinding::keyed(&key, number, &phone), key_id);
        let candidates = (1_230_000..1_240_000)
            .map(|n| Holder::Phone(PhoneNumber::parse(&format!("+7701{n:07}")).unwrap()));
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
