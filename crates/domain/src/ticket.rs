//! E-tickets: what a ticket says ([`TicketClaims`]), how it is signed into a token small enough
//! for a QR code ([`sign`]), and how a controller's device checks it offline from the published
//! key list ([`verify`]).
//!
//! The token is `SB3.` followed by base64url (no padding) of a compact binary payload and its
//! Ed25519 signature (`SB2.` tokens, which could bind only a phone, and `SB1.` ones, issued
//! before the holder binding was keyed, are still read until they end; see [`HolderBinding`]).
//! The signed message is a context string naming the format version followed
//! by the payload, so a signature made for anything else never verifies as a ticket. Keys are
//! named by a [`KeyId`], a prefix of the SHA-256 of the public key (as the EU digital COVID
//! certificate does), and a ticket never outlives the key that signed it, so a key may be dropped
//! from the published list once its `not_after` has passed.
//!
//! Everything here is pure: the time and the key bytes are passed in. What
//! only the server knows (refunds, revocations, the live end of a run) is added by the caller
//! through [`verify_offline_with`] or on top of a [`VerifiedTicket`].

mod claims;
mod codec;
mod keys;
mod number;
mod status;
mod verification;

pub use claims::{
    CITY_CODE_BYTES_MAX, CityCode, FARE_PRODUCT_BYTES_MAX, FareProduct, HOLDER_DIGEST_BYTES,
    HOLDER_KEY_BYTES, HOLDER_SALT_BYTES, HOLDER_TAG_BYTES, Holder, HolderBinding, HolderCheck,
    HolderKey, HolderKeys, HolderKind, ISSUER_BYTES_MAX, Issuer, RIDER_CATEGORY_BYTES_MAX,
    ROUTE_NUMBER_BYTES_MAX, RiderCategoryCode, RouteNumber, TicketClaims, Validity,
};
pub(crate) use codec::FORMATS;
pub use keys::{
    KEY_ID_BYTES, KEY_LIST_KEYS_MAX, KeyId, KeyList, KeyWindow, PublishedKey, TicketSigningKey,
    plan_rotation, select_signing_key,
};
pub use number::{TICKET_NUMBER_DIGITS, TICKET_NUMBER_MAX, TicketNumber};
pub use status::TicketStatus;
pub use verification::{
    BATCH_SIGNATURES_MAX, OfflineRejection, Revocations, VerifiedTicket, authenticate,
    authenticate_batch, sign, verify, verify_batch, verify_offline_with,
};

/// Every token issued now starts with this; the digit is the format version.
pub const TOKEN_PREFIX: &str = "SB3.";
/// The format version that [`TOKEN_PREFIX`] names.
pub const TOKEN_FORMAT_VERSION: u8 = 3;
/// Tokens of format 2 (a phone's keyed tag, no holder kind) start with this; read, not issued.
pub const TOKEN_PREFIX_V2: &str = "SB2.";
/// Tokens of format 1 (salted holder digest) start with this; they are read, never issued.
pub const TOKEN_PREFIX_V1: &str = "SB1.";
/// Longer input is refused before it is decoded (a real token is under 200 characters).
pub const TOKEN_CHARS_MAX: usize = 400;
/// No ticket is valid longer than this after it is issued, whatever the route says.
pub const TICKET_LIFETIME_S_MAX: u64 = 6 * 60 * 60;
/// A controller's clock may be this far behind the issuer's before a fresh ticket looks
/// issued in the future.
pub const CLOCK_SKEW_S_MAX: u64 = 5 * 60;

/// The kind of holder an issued token binds, read without checking its signature: only for a
/// token the issuer made and stored itself (what the passenger's ticket screen says to show a
/// controller); it says nothing of whether a token shown is genuine ([`authenticate`] does).
pub fn holder_kind_of_issued(token: &str) -> Result<HolderKind, Rejection> {
    codec::decode_token(token).map(|decoded| decoded.claims.holder.kind())
}

/// Why a ticket could not be made or a key could not be used. Bad input to the signing side is
/// an error of the caller, never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("{field} must be 1 to {max_bytes} bytes of printable text")]
    BadField {
        field: &'static str,
        max_bytes: usize,
    },
    #[error("a ticket number has at most 11 digits")]
    TicketNumberOutOfRange,
    #[error("not a ticket check number (12 digits, e.g. 2505-4821-7738)")]
    CheckNumberMalformed,
    #[error("the amount of a ticket must be between 0 and the largest amount the system accepts")]
    AmountOutOfRange,
    #[error("a ticket must end after it is issued and live at most {TICKET_LIFETIME_S_MAX} s")]
    LifetimeOutOfRange,
    #[error("the claims name key {claimed}, but the signing key is {actual}")]
    KeyIdMismatch { claimed: KeyId, actual: KeyId },
    #[error("key {key} is not valid for signing at {issued_at_unix_s}")]
    KeyNotValidAtIssue { key: KeyId, issued_at_unix_s: u64 },
    #[error(
        "the ticket would end at {ticket_not_after_unix_s}, after its key {key} ends at {key_not_after_unix_s}"
    )]
    OutlivesKey {
        key: KeyId,
        ticket_not_after_unix_s: u64,
        key_not_after_unix_s: u64,
    },
    #[error("a key must start before it ends")]
    KeyWindowInvalid,
    #[error("not an Ed25519 public key")]
    PublicKeyInvalid,
    #[error("key id {listed} does not match the public key, whose id is {derived}")]
    KeyIdNotDerived { listed: KeyId, derived: KeyId },
    #[error("not a key id (8 hex digits)")]
    KeyIdMalformed,
    #[error("key {0} is listed twice")]
    DuplicateKey(KeyId),
    #[error("a key list holds at most {0} keys")]
    TooManyKeys(usize),
    #[error(
        "a rotation needs a positive signing period and a ticket lifetime of at most {TICKET_LIFETIME_S_MAX} s"
    )]
    RotationInvalid,
    #[error("a freshly signed ticket did not verify ({0})")]
    SelfCheckFailed(Rejection),
}

/// Why a token is not a valid ticket, as far as the token and the key list can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Rejection {
    /// Not a token of a known format: wrong prefix, bad base64url, truncated, a field out of
    /// its limits, or bytes that are not in canonical form.
    #[error("the ticket code is damaged or not a ticket")]
    Malformed,
    /// No published key has the token's key id (a key list that is too old, or a made-up id).
    #[error("the ticket is signed with a key that is not on the key list")]
    UnknownKey,
    /// The signature does not hold, or the key could not have signed this ticket (it was not
    /// valid when the ticket says it was issued, or the ticket would outlive it).
    #[error("the ticket is forged")]
    Forged,
    /// The ticket is outside its validity at the given time: it has ended, or it says it was
    /// issued later than the clock allows.
    #[error("the ticket has expired")]
    Expired,
    /// The ticket was bought for another vehicle.
    #[error("the ticket was bought for another vehicle")]
    WrongVehicle,
}

impl Rejection {
    /// A stable machine code (`EXPIRED`, `FORGED`…) for APIs, logs and the controller's screen.
    pub fn code(self) -> &'static str {
        match self {
            Rejection::Malformed => "MALFORMED",
            Rejection::UnknownKey => "UNKNOWN_KEY",
            Rejection::Forged => "FORGED",
            Rejection::Expired => "EXPIRED",
            Rejection::WrongVehicle => "WRONG_VEHICLE",
        }
    }
}
