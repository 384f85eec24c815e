//! The properties the fuzz targets in `fuzz/` check, one function per target, taking the raw
//! bytes libFuzzer hands over. The same functions replay every file of `fuzz/corpus/TARGET/` in
//! `cargo test` (`tests/fuzz_corpus.rs`), so a crash once found stays fixed. Each function
//! panics only when a property is broken; on any input the parsers themselves must not.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::OnceLock;

use ed25519_dalek::{Signer as _, SigningKey};

use crate::phone::PhoneNumber;
use crate::sms::{SmsCommand, VehicleRef, parse_command};
use crate::ticket::{FORMATS, KeyList, KeyWindow, Rejection, TicketSigningKey, authenticate, sign};
use crate::vehicle::{PlateNumber, TransportCode};

/// The seed of the key the fuzzed key list trusts.
pub const TRUSTED_KEY_SEED: [u8; 32] = [0x5b; 32];
/// The seed of a key nobody trusts: what an attacker signs with.
pub const ATTACKER_KEY_SEED: [u8; 32] = [0xa7; 32];

/// An SMS body (any bytes, read as UTF-8 with replacement) never panics the parser; padding it
/// with spaces changes nothing; a vehicle it names reads back as itself.
pub fn sms_command(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let command = parse_command(&text);
    assert_eq!(parse_command(&format!(" {text}\n")), command, "{text:?}");
    if let SmsCommand::Ride { vehicle, .. } = &command {
        match vehicle {
            VehicleRef::Code(code) => {
                assert_eq!(TransportCode::parse(code.as_str()).as_ref(), Ok(code));
            }
            VehicleRef::Plate(plate) => {
                assert_eq!(PlateNumber::parse(plate.as_str()).as_ref(), Ok(plate));
            }
        }
    }
}

/// A phone number that parses is `+7` and ten digits, and parses again to itself.
pub fn phone(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(number) = PhoneNumber::parse(&text) {
        let e164 = number.as_e164();
        assert!(e164.starts_with("+7") && e164.len() == 12, "{e164}");
        assert!(number.national().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(PhoneNumber::parse(e164).as_ref(), Ok(&number));
        assert_eq!(PhoneNumber::parse(number.national()).as_ref(), Ok(&number));
        let _masked = number.masked();
    }
}

/// Transport codes and plates that parse read back as themselves, also from their display form.
pub fn vehicle(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(code) = TransportCode::parse(&text) {
        assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(TransportCode::parse(code.as_str()).as_ref(), Ok(&code));
    }
    if let Ok(plate) = PlateNumber::parse(&text) {
        assert!(
            plate
                .as_str()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(PlateNumber::parse(plate.as_str()).as_ref(), Ok(&plate));
        assert_eq!(PlateNumber::parse(&plate.display()).as_ref(), Ok(&plate));
    }
}

/// Ticket tokens. The first byte picks what the rest is:
///
/// - `0`: a token's text, checked against a list trusting only [`TRUSTED_KEY_SEED`];
/// - `1`, `2`, `3`: a payload signed by the trusted key as an `SB2.` (`1`), `SB1.` (`2`) or
///   `SB3.` (`3`) token, as a careless issuer could sign anything;
/// - otherwise: a payload signed by [`ATTACKER_KEY_SEED`] as a token of the format the byte
///   picks among all read, which must never be accepted.
///
/// Whatever is accepted is exactly the token [`sign`] makes from its claims: decoding is
/// canonical, so no second spelling of a ticket exists.
pub fn ticket_token(bytes: &[u8]) {
    let Some((mode, rest)) = bytes.split_first() else {
        return;
    };
    let Some(keys) = fuzz_keys() else {
        panic!("the fuzz keys are not valid keys");
    };
    let (trusted, list, attacker) = (&keys.trusted, &keys.list, &keys.attacker);
    let token = match mode {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => raw_token(rest, &keys.trusted_raw, 2),
        2 => raw_token(rest, &keys.trusted_raw, 1),
        3 => raw_token(rest, &keys.trusted_raw, 3),
        other => raw_token(rest, attacker, other % 3 + 1),
    };
    match authenticate(&token, list) {
        Ok(verified) => {
            assert!(
                *mode <= 3,
                "a token signed by an untrusted key was accepted"
            );
            assert_eq!(sign(verified.claims(), trusted).as_ref(), Ok(&token));
        }
        Err(Rejection::Malformed | Rejection::UnknownKey | Rejection::Forged) => {}
        Err(other) => panic!("authenticate does not check time or vehicle, yet said {other:?}"),
    }
}

/// The keys of [`ticket_token`], made once (a key takes longer to make than a token to check).
struct FuzzKeys {
    trusted: TicketSigningKey,
    trusted_raw: SigningKey,
    attacker: SigningKey,
    list: KeyList,
}

fn fuzz_keys() -> Option<&'static FuzzKeys> {
    static KEYS: OnceLock<Option<FuzzKeys>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let window = KeyWindow::new(0, u64::MAX).ok()?;
        let trusted = TicketSigningKey::from_secret_bytes(&TRUSTED_KEY_SEED, window).ok()?;
        let list = KeyList::new([trusted.published().clone()]).ok()?;
        Some(FuzzKeys {
            trusted,
            trusted_raw: SigningKey::from_bytes(&TRUSTED_KEY_SEED),
            attacker: SigningKey::from_bytes(&ATTACKER_KEY_SEED),
            list,
        })
    })
    .as_ref()
}

/// The version's prefix (`SB3.`, `SB2.`, `SB1.`) and base64url of the payload and its Ed25519
/// signature under `key`, made with that version's signing context.
fn raw_token(payload: &[u8], key: &SigningKey, format_version: u8) -> String {
    let Some(format) = FORMATS.into_iter().find(|f| f.version == format_version) else {
        panic!("no token format {format_version}");
    };
    let message = [format.context, payload].concat();
    let signature = key.sign(&message);
    let mut token = format.prefix.to_owned();
    URL_SAFE_NO_PAD.encode_string([payload, &signature.to_bytes()].concat(), &mut token);
    token
}

/// A bank's biller query (`command=…&txn_id=…&txn_date=…&account=…&sum=…`, any bytes, fields
/// split on `&` and `=` as the query reader hands them over) never panics the checks; a sum
/// taken is within the top-up limits, written as the protocol writes sums, and reads back the
/// same from its own decimal; a card number taken has 16 digits, reads back from its grouped
/// form, and its last digit changed is caught by the check digit; a transaction id or date
/// taken has the protocol's shape.
pub fn biller_query(bytes: &[u8]) {
    use crate::biller::{Dialect, Outcome, txn_date_valid, txn_id_valid};
    use crate::card::{CardError, CardNumber, TOP_UP_MAX, TOP_UP_MIN, parse_top_up_sum};
    let text = String::from_utf8_lossy(bytes);
    for pair in text.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "sum" => {
                if let Ok(sum) = parse_top_up_sum(value) {
                    assert!(sum.tiyn() >= TOP_UP_MIN.tiyn() && sum.tiyn() <= TOP_UP_MAX.tiyn());
                    assert!(value.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
                    assert!(value.matches('.').count() <= 1, "{value:?}");
                    assert_eq!(parse_top_up_sum(&sum.to_decimal()), Ok(sum), "{value:?}");
                }
            }
            "account" => {
                if let Ok(number) = CardNumber::parse(value) {
                    assert_eq!(number.as_str().len(), 16);
                    assert!(number.as_str().bytes().all(|b| b.is_ascii_digit()));
                    assert_eq!(CardNumber::parse(&number.grouped()).as_ref(), Ok(&number));
                    let mut typo: Vec<u8> = number.as_str().bytes().collect();
                    if let Some(last) = typo.last_mut() {
                        *last = b'0' + (*last - b'0' + 1) % 10;
                    }
                    let typo = String::from_utf8_lossy(&typo).into_owned();
                    assert_eq!(CardNumber::parse(&typo), Err(CardError::CheckDigit));
                }
            }
            "txn_id" if txn_id_valid(value) => {
                assert!(!value.is_empty() && value.len() <= 64);
            }
            "txn_date" if txn_date_valid(value) => {
                assert_eq!(value.len(), 14);
            }
            "command" => {
                if let Some(outcome) = Outcome::parse(value) {
                    assert_eq!(outcome.as_str(), value);
                    for dialect in [Dialect::Kaspi, Dialect::Osmp] {
                        let _ = outcome.result_code(dialect);
                    }
                }
                if let Some(dialect) = Dialect::parse(value) {
                    assert_eq!(dialect.as_str(), value);
                }
            }
            _ => {}
        }
    }
}

/// A catalogue file (any bytes, read as UTF-8 with replacement) is refused or read, never a
/// panic; what reads writes back as a text that reads as the same file.
pub fn catalogue_file(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let Ok(file) = crate::catalogue_file::decode(&text) else {
        return;
    };
    let again = crate::catalogue_file::decode(&crate::catalogue_file::encode(&file));
    assert_eq!(again.as_ref(), Ok(&file), "{text:?}");
}
