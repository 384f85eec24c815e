//! What a ticket says: the facts a controller shows (route, vehicle, fare, rider category,
//! bought at, valid until) and the binding to the holder's phone. Every text field is a short
//! code with a byte limit, because the whole token has to fit a small QR code.

use std::fmt;

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
/// Separates the holder digest from every other SHA-256 in the system.
const HOLDER_DIGEST_CONTEXT: &[u8] = b"SMSBUS holder v1\0";

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

/// Binds a ticket to the holder's phone without showing the number: the first bytes of
/// SHA-256 over a per-ticket salt and the number. A controller who is told the phone can check
/// it. It hides the number from a casual reader only: Kazakh numbers are few enough that a
/// determined one can try them all against one ticket; the salt stops tables across tickets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HolderBinding {
    salt: [u8; HOLDER_SALT_BYTES],
    digest: [u8; HOLDER_DIGEST_BYTES],
}

impl HolderBinding {
    /// `salt` must be fresh random bytes for every ticket.
    pub fn new(salt: [u8; HOLDER_SALT_BYTES], phone: &PhoneNumber) -> HolderBinding {
        HolderBinding {
            salt,
            digest: holder_digest(&salt, phone),
        }
    }

    /// Does the ticket belong to this phone?
    pub fn matches(&self, phone: &PhoneNumber) -> bool {
        holder_digest(&self.salt, phone) == self.digest
    }

    pub fn salt(&self) -> [u8; HOLDER_SALT_BYTES] {
        self.salt
    }

    pub fn digest(&self) -> [u8; HOLDER_DIGEST_BYTES] {
        self.digest
    }

    /// As read from a token; only the codec builds one from parts.
    pub(super) fn from_parts(
        salt: [u8; HOLDER_SALT_BYTES],
        digest: [u8; HOLDER_DIGEST_BYTES],
    ) -> HolderBinding {
        HolderBinding { salt, digest }
    }
}

fn holder_digest(salt: &[u8; HOLDER_SALT_BYTES], phone: &PhoneNumber) -> [u8; HOLDER_DIGEST_BYTES] {
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

    #[test]
    fn holder_binding_matches_only_its_phone() {
        let phone = PhoneNumber::parse("+7 701 123 45 67").unwrap();
        let other = PhoneNumber::parse("+7 701 123 45 68").unwrap();
        let binding = HolderBinding::new([7; HOLDER_SALT_BYTES], &phone);
        assert!(binding.matches(&phone));
        assert!(!binding.matches(&other));
        assert_ne!(
            binding.digest(),
            HolderBinding::new([8; HOLDER_SALT_BYTES], &phone).digest()
        );
    }
}
