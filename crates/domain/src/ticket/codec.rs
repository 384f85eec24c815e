//! The token's bytes. Three formats are read; only version 3 is issued. Version 3 payload
//! (`SB3.`), in order:
//!
//! | field | encoding |
//! |---|---|
//! | key id | 4 bytes |
//! | ticket number | 5 bytes, big-endian |
//! | issuer, city, vehicle, route, fare product, rider category | each 1 length byte + UTF-8 |
//! | amount, tiyn | LEB128 varint |
//! | issued at, unix s | LEB128 varint |
//! | validity rule | 1 byte: 1 = until the final stop |
//! | not after − issued at, s | LEB128 varint |
//! | holder kind ([`super::HolderKind::byte`]: 1 phone, 2 card) | 1 byte |
//! | holder tag (keyed, see [`super::HolderBinding`]) | 2 bytes |
//!
//! Version 2 (`SB2.`, issued while only a phone could be the holder) is the same without the
//! holder kind byte. Version 1 (`SB1.`, issued until the holder tag was keyed) ends instead
//! with the holder salt and the salted holder digest, 8 + 8 bytes, that anyone could test
//! numbers against. Their tickets stay verifiable until they end.
//!
//! The payload is followed by the 64-byte Ed25519 signature over the version's signing
//! context ([`FORMATS`]) and the payload, so a token cannot be passed off as another version.
//! The token is the version's prefix and base64url without padding of payload and signature.
//!
//! Decoding is strict: every byte string has exactly one token (no padding, no stray trailing
//! base64 bits, minimal varints, no bytes after the last field), so a re-encoded token is
//! refused as malformed rather than reaching the signature check.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{SIGNATURE_LENGTH, Signature};

use super::claims::{
    CITY_CODE_BYTES_MAX, FARE_PRODUCT_BYTES_MAX, HOLDER_DIGEST_BYTES, HOLDER_SALT_BYTES,
    HOLDER_TAG_BYTES, ISSUER_BYTES_MAX, RIDER_CATEGORY_BYTES_MAX, ROUTE_NUMBER_BYTES_MAX,
};
use super::keys::KEY_ID_BYTES;
use super::{
    CityCode, FareProduct, HolderBinding, HolderKind, Issuer, KeyId, Rejection, RiderCategoryCode,
    RouteNumber, TOKEN_CHARS_MAX, TOKEN_PREFIX, TOKEN_PREFIX_V1, TOKEN_PREFIX_V2, TicketClaims,
    TicketNumber, Validity,
};
use crate::money::Tenge;
use crate::vehicle::TransportCode;

/// Every format read, by version: its token prefix and the context signed before the payload,
/// so that no signature made by a ticket key for another purpose (or for another format
/// version) verifies as a ticket. The last is the one issued.
pub(crate) const FORMATS: [Format; 3] = [V1, V2, ISSUED];

const V1: Format = Format {
    version: 1,
    prefix: TOKEN_PREFIX_V1,
    context: b"SMSBUS e-ticket v1\0",
};
const V2: Format = Format {
    version: 2,
    prefix: TOKEN_PREFIX_V2,
    context: b"SMSBUS e-ticket v2\0",
};
/// The format issued now.
const ISSUED: Format = Format {
    version: 3,
    prefix: TOKEN_PREFIX,
    context: b"SMSBUS e-ticket v3\0",
};

/// One token format: see [`FORMATS`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Format {
    pub version: u8,
    pub prefix: &'static str,
    pub context: &'static [u8],
}

/// The format of a version; an unknown one is the issued format's (no binding makes one).
pub(crate) fn format(version: u8) -> Format {
    FORMATS
        .into_iter()
        .find(|f| f.version == version)
        .unwrap_or(ISSUED)
}

/// The signing context of a token format version.
pub(super) fn signing_context(format_version: u8) -> &'static [u8] {
    format(format_version).context
}

/// The vehicle's transport code is read with this limit, wider than today's codes.
const VEHICLE_BYTES_MAX: usize = 16;
const TICKET_NUMBER_BYTES: usize = 5;
const VARINT_BYTES_MAX: usize = 10;
const RULE_UNTIL_FINAL_STOP: u8 = 1;

/// A token taken apart, not yet checked against any key.
pub(super) struct DecodedToken {
    /// The version's signing context followed by the payload: exactly what the signature
    /// covers.
    pub signed_message: Vec<u8>,
    pub signature: Signature,
    pub claims: TicketClaims,
}

/// The payload of checked claims. The field types keep every text under 256 bytes.
pub(super) fn encode_payload(claims: &TicketClaims) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(&claims.key_id.bytes());
    let number = claims.number.value().to_be_bytes();
    out.extend(number.iter().skip(number.len() - TICKET_NUMBER_BYTES));
    for text in [
        claims.issuer.as_str(),
        claims.city.as_str(),
        claims.vehicle.as_str(),
        claims.route.as_str(),
        claims.fare_product.as_str(),
        claims.rider_category.as_str(),
    ] {
        out.push(u8::try_from(text.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(text.as_bytes());
    }
    push_varint(&mut out, u64::try_from(claims.amount.tiyn()).unwrap_or(0));
    push_varint(&mut out, claims.issued_at_unix_s);
    match claims.validity {
        Validity::UntilFinalStop { not_after_unix_s } => {
            out.push(RULE_UNTIL_FINAL_STOP);
            push_varint(
                &mut out,
                not_after_unix_s.saturating_sub(claims.issued_at_unix_s),
            );
        }
    }
    match claims.holder {
        HolderBinding::Salted { salt, digest } => {
            out.extend_from_slice(&salt);
            out.extend_from_slice(&digest);
        }
        HolderBinding::KeyedPhone { tag } => out.extend_from_slice(&tag),
        HolderBinding::Keyed { kind, tag } => {
            out.push(kind.byte());
            out.extend_from_slice(&tag);
        }
    }
    out
}

/// The token of `payload` in format `format_version` (the holder binding's).
pub(super) fn encode_token(format_version: u8, payload: &[u8], signature: &Signature) -> String {
    let prefix = format(format_version).prefix;
    let mut bytes = Vec::with_capacity(payload.len() + SIGNATURE_LENGTH);
    bytes.extend_from_slice(payload);
    bytes.extend_from_slice(&signature.to_bytes());
    let mut token = String::with_capacity(prefix.len() + bytes.len().div_ceil(3) * 4);
    token.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(&bytes, &mut token);
    token
}

pub(super) fn decode_token(token: &str) -> Result<DecodedToken, Rejection> {
    if token.len() > TOKEN_CHARS_MAX {
        return Err(Rejection::Malformed);
    }
    let (format, body) = FORMATS
        .into_iter()
        .find_map(|f| token.strip_prefix(f.prefix).map(|body| (f, body)))
        .ok_or(Rejection::Malformed)?;
    let (format_version, context) = (format.version, format.context);
    let mut bytes = Vec::with_capacity(context.len() + body.len());
    bytes.extend_from_slice(context);
    URL_SAFE_NO_PAD
        .decode_vec(body, &mut bytes)
        .map_err(|_| Rejection::Malformed)?;
    let signature_start = bytes
        .len()
        .checked_sub(SIGNATURE_LENGTH)
        .filter(|start| *start >= context.len())
        .ok_or(Rejection::Malformed)?;
    let signature: [u8; SIGNATURE_LENGTH] = bytes
        .get(signature_start..)
        .and_then(|tail| tail.try_into().ok())
        .ok_or(Rejection::Malformed)?;
    bytes.truncate(signature_start);
    let payload = bytes.get(context.len()..).ok_or(Rejection::Malformed)?;
    let claims = decode_payload(format_version, payload)?;
    Ok(DecodedToken {
        signed_message: bytes,
        signature: Signature::from_bytes(&signature),
        claims,
    })
}

fn decode_payload(format_version: u8, payload: &[u8]) -> Result<TicketClaims, Rejection> {
    let mut reader = Reader { rest: payload };
    let key_id = KeyId::from_bytes(reader.array::<KEY_ID_BYTES>()?);
    let mut number = [0; 8];
    for (out, byte) in number
        .iter_mut()
        .skip(8 - TICKET_NUMBER_BYTES)
        .zip(reader.array::<TICKET_NUMBER_BYTES>()?)
    {
        *out = byte;
    }
    let number = TicketNumber::new(u64::from_be_bytes(number)).map_err(|_| Rejection::Malformed)?;
    let issuer = Issuer::parse(reader.text(ISSUER_BYTES_MAX)?).map_err(|_| Rejection::Malformed)?;
    let city =
        CityCode::parse(reader.text(CITY_CODE_BYTES_MAX)?).map_err(|_| Rejection::Malformed)?;
    let vehicle_text = reader.text(VEHICLE_BYTES_MAX)?;
    let vehicle = TransportCode::parse(vehicle_text).map_err(|_| Rejection::Malformed)?;
    if vehicle.as_str() != vehicle_text {
        return Err(Rejection::Malformed);
    }
    let route = RouteNumber::parse(reader.text(ROUTE_NUMBER_BYTES_MAX)?)
        .map_err(|_| Rejection::Malformed)?;
    let fare_product = FareProduct::parse(reader.text(FARE_PRODUCT_BYTES_MAX)?)
        .map_err(|_| Rejection::Malformed)?;
    let rider_category = RiderCategoryCode::parse(reader.text(RIDER_CATEGORY_BYTES_MAX)?)
        .map_err(|_| Rejection::Malformed)?;
    let amount =
        Tenge::from_tiyn(i64::try_from(reader.varint()?).map_err(|_| Rejection::Malformed)?);
    let issued_at_unix_s = reader.varint()?;
    let validity = match reader.byte()? {
        RULE_UNTIL_FINAL_STOP => {
            let lifetime_s = reader.varint()?;
            let not_after_unix_s = issued_at_unix_s
                .checked_add(lifetime_s)
                .ok_or(Rejection::Malformed)?;
            Validity::UntilFinalStop { not_after_unix_s }
        }
        _ => return Err(Rejection::Malformed),
    };
    let holder = match format_version {
        1 => HolderBinding::Salted {
            salt: reader.array::<HOLDER_SALT_BYTES>()?,
            digest: reader.array::<HOLDER_DIGEST_BYTES>()?,
        },
        2 => HolderBinding::KeyedPhone {
            tag: reader.array::<HOLDER_TAG_BYTES>()?,
        },
        _ => HolderBinding::Keyed {
            kind: HolderKind::from_byte(reader.byte()?).ok_or(Rejection::Malformed)?,
            tag: reader.array::<HOLDER_TAG_BYTES>()?,
        },
    };
    if !reader.rest.is_empty() {
        return Err(Rejection::Malformed);
    }
    let claims = TicketClaims {
        issuer,
        key_id,
        number,
        city,
        vehicle,
        route,
        fare_product,
        rider_category,
        amount,
        issued_at_unix_s,
        validity,
        holder,
    };
    claims.check().map_err(|_| Rejection::Malformed)?;
    Ok(claims)
}

fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value & 0x7f) as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads fields off the front of the payload; running out of bytes is a malformed token.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Rejection> {
        let (head, rest) = self.rest.split_at_checked(N).ok_or(Rejection::Malformed)?;
        self.rest = rest;
        head.try_into().map_err(|_| Rejection::Malformed)
    }

    fn byte(&mut self) -> Result<u8, Rejection> {
        let [byte] = self.array::<1>()?;
        Ok(byte)
    }

    fn text(&mut self, max_bytes: usize) -> Result<&'a str, Rejection> {
        let length = usize::from(self.byte()?);
        if length > max_bytes {
            return Err(Rejection::Malformed);
        }
        let (head, rest) = self
            .rest
            .split_at_checked(length)
            .ok_or(Rejection::Malformed)?;
        self.rest = rest;
        std::str::from_utf8(head).map_err(|_| Rejection::Malformed)
    }

    /// A minimal LEB128 `u64`: no needless trailing zero groups, no bits beyond 64.
    fn varint(&mut self) -> Result<u64, Rejection> {
        let mut value = 0_u64;
        for index in 0..VARINT_BYTES_MAX {
            let byte = self.byte()?;
            let group = u64::from(byte & 0x7f);
            if index == VARINT_BYTES_MAX - 1 && group > 1 {
                return Err(Rejection::Malformed);
            }
            value |= group << (7 * index);
            if byte & 0x80 == 0 {
                if byte == 0 && index > 0 {
                    return Err(Rejection::Malformed);
                }
                return Ok(value);
            }
        }
        Err(Rejection::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issued_format_is_the_tokens_prefix() {
        assert_eq!(ISSUED.prefix, TOKEN_PREFIX);
        assert_eq!(ISSUED.version, super::super::TOKEN_FORMAT_VERSION);
        let prefixes: std::collections::BTreeSet<_> = FORMATS.iter().map(|f| f.prefix).collect();
        assert_eq!(prefixes.len(), FORMATS.len());
    }

    fn read_varint(bytes: &[u8]) -> Result<u64, Rejection> {
        let mut reader = Reader { rest: bytes };
        let value = reader.varint()?;
        if reader.rest.is_empty() {
            Ok(value)
        } else {
            Err(Rejection::Malformed)
        }
    }

    #[test]
    fn varints_roundtrip_and_only_minimal_forms_are_read() {
        for value in [0, 1, 127, 128, 300, 1_750_000_000, u64::MAX] {
            let mut bytes = Vec::new();
            push_varint(&mut bytes, value);
            assert_eq!(read_varint(&bytes), Ok(value), "{value}");
        }
        assert_eq!(read_varint(&[0x81, 0x00]), Err(Rejection::Malformed));
        assert_eq!(read_varint(&[0x80]), Err(Rejection::Malformed));
        assert_eq!(read_varint(&[0xff; 10]), Err(Rejection::Malformed));
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            Err(Rejection::Malformed)
        );
    }
}
