//! Signing a ticket and checking one: the pure function a controller's device runs offline and
//! the server runs before adding what only it knows (refunds, the live end of a run, the same
//! ticket seen in two vehicles).
//!
//! A check goes from the cheapest reason to the dearest: the token's form ([`Rejection::Malformed`]),
//! the key ([`Rejection::UnknownKey`]), the signature and the key's window
//! ([`Rejection::Forged`]), then time ([`Rejection::Expired`]) and vehicle
//! ([`Rejection::WrongVehicle`]). Nothing here panics on any input.

use std::collections::HashMap;

use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};

use super::codec::{self, DecodedToken};
use super::{
    CLOCK_SKEW_S_MAX, KeyList, PublishedKey, Rejection, TicketClaims, TicketError, TicketNumber,
    TicketSigningKey,
};
use crate::vehicle::TransportCode;

/// Signatures are checked together in groups of at most this many; a group with a bad one is
/// checked again one by one.
pub const BATCH_SIGNATURES_MAX: usize = 256;

/// Signs `claims` into a token. Refuses claims that break their rules, name another key, are
/// issued outside the key's window or would outlive the key; and checks that the token it made
/// verifies and reads back as the same claims before handing it out.
pub fn sign(claims: &TicketClaims, key: &TicketSigningKey) -> Result<String, TicketError> {
    claims.check()?;
    if claims.key_id != key.id() {
        return Err(TicketError::KeyIdMismatch {
            claimed: claims.key_id,
            actual: key.id(),
        });
    }
    let window = key.window();
    if !window.contains(claims.issued_at_unix_s) {
        return Err(TicketError::KeyNotValidAtIssue {
            key: key.id(),
            issued_at_unix_s: claims.issued_at_unix_s,
        });
    }
    if claims.not_after_unix_s() > window.not_after_unix_s() {
        return Err(TicketError::OutlivesKey {
            key: key.id(),
            ticket_not_after_unix_s: claims.not_after_unix_s(),
            key_not_after_unix_s: window.not_after_unix_s(),
        });
    }
    let format_version = claims.holder.format_version();
    let context = codec::signing_context(format_version);
    let payload = codec::encode_payload(claims);
    let mut message = Vec::with_capacity(context.len() + payload.len());
    message.extend_from_slice(context);
    message.extend_from_slice(&payload);
    let token = codec::encode_token(format_version, &payload, &key.sign_message(&message));

    let decoded = codec::decode_token(&token).map_err(TicketError::SelfCheckFailed)?;
    match authenticate_decoded(decoded, Some(key.published())) {
        Ok(verified) if verified.claims == *claims => Ok(token),
        Ok(_) => Err(TicketError::SelfCheckFailed(Rejection::Malformed)),
        Err(rejection) => Err(TicketError::SelfCheckFailed(rejection)),
    }
}

/// A ticket whose token is well formed and whose signature holds under a published key that
/// was valid when the ticket was issued. Only this module makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTicket {
    claims: TicketClaims,
}

impl VerifiedTicket {
    pub fn claims(&self) -> &TicketClaims {
        &self.claims
    }

    /// 3 for `SB3.` tokens, 2 and 1 for the older `SB2.` and `SB1.` ones.
    pub fn format_version(&self) -> u8 {
        self.claims.holder.format_version()
    }

    /// Is the ticket valid at `now_unix_s`? It is from its issue (allowing for a controller's
    /// clock up to [`CLOCK_SKEW_S_MAX`] behind) to its `not_after`, both inclusive.
    pub fn check_time(&self, now_unix_s: u64) -> Result<(), Rejection> {
        let issued_too_late =
            self.claims.issued_at_unix_s > now_unix_s.saturating_add(CLOCK_SKEW_S_MAX);
        if issued_too_late || now_unix_s > self.claims.not_after_unix_s() {
            Err(Rejection::Expired)
        } else {
            Ok(())
        }
    }

    /// Was the ticket bought for the vehicle it is shown in?
    pub fn check_vehicle(&self, presented_vehicle: &TransportCode) -> Result<(), Rejection> {
        if &self.claims.vehicle == presented_vehicle {
            Ok(())
        } else {
            Err(Rejection::WrongVehicle)
        }
    }
}

/// Checks a token's form, key and signature, but not time or vehicle: for a caller that shows
/// the facts of an expired or misplaced ticket too.
pub fn authenticate(token: &str, keys: &KeyList) -> Result<VerifiedTicket, Rejection> {
    let decoded = codec::decode_token(token)?;
    let key = keys.get(decoded.claims.key_id);
    authenticate_decoded(decoded, key)
}

/// Is `token` a valid ticket at `now_unix_s` in the vehicle `presented_vehicle`?
pub fn verify(
    token: &str,
    keys: &KeyList,
    now_unix_s: u64,
    presented_vehicle: &TransportCode,
) -> Result<VerifiedTicket, Rejection> {
    let verified = authenticate(token, keys)?;
    verified.check_time(now_unix_s)?;
    verified.check_vehicle(presented_vehicle)?;
    Ok(verified)
}

/// [`authenticate`] for many tokens at once, with one result per token in order. Signatures
/// are checked in batches of [`BATCH_SIGNATURES_MAX`]; a batch that fails is checked again one
/// by one to find the bad tokens.
pub fn authenticate_batch(
    tokens: &[&str],
    keys: &KeyList,
) -> Vec<Result<VerifiedTicket, Rejection>> {
    let mut results = Vec::with_capacity(tokens.len());
    let mut pending = Vec::with_capacity(tokens.len());
    for (index, token) in tokens.iter().enumerate() {
        let candidate = codec::decode_token(token).and_then(|decoded| {
            keys.get(decoded.claims.key_id)
                .map(|key| (decoded, key))
                .ok_or(Rejection::UnknownKey)
        });
        match candidate {
            Ok((decoded, key)) => {
                // Replaced below once the signature is checked.
                results.push(Err(Rejection::Forged));
                pending.push((index, decoded, key));
            }
            Err(rejection) => results.push(Err(rejection)),
        }
    }
    while !pending.is_empty() {
        let batch: Vec<_> = pending
            .drain(..pending.len().min(BATCH_SIGNATURES_MAX))
            .collect();
        let messages: Vec<&[u8]> = batch
            .iter()
            .map(|(_, decoded, _)| decoded.signed_message.as_slice())
            .collect();
        let signatures: Vec<Signature> = batch
            .iter()
            .map(|(_, decoded, _)| decoded.signature)
            .collect();
        let verifying_keys: Vec<VerifyingKey> = batch
            .iter()
            .map(|(_, _, key)| *key.verifying_key())
            .collect();
        let all_hold = ed25519_dalek::verify_batch(&messages, &signatures, &verifying_keys).is_ok();
        for (index, decoded, key) in batch {
            let outcome = if all_hold {
                accept_key_window(decoded.claims, key)
            } else {
                authenticate_decoded(decoded, Some(key))
            };
            if let Some(slot) = results.get_mut(index) {
                *slot = outcome;
            }
        }
    }
    results
}

/// [`verify`] for many tokens shown in one vehicle at one time (a controller's queue, a sync).
pub fn verify_batch(
    tokens: &[&str],
    keys: &KeyList,
    now_unix_s: u64,
    presented_vehicle: &TransportCode,
) -> Vec<Result<VerifiedTicket, Rejection>> {
    authenticate_batch(tokens, keys)
        .into_iter()
        .map(|result| {
            let verified = result?;
            verified.check_time(now_unix_s)?;
            verified.check_vehicle(presented_vehicle)?;
            Ok(verified)
        })
        .collect()
}

fn authenticate_decoded(
    decoded: DecodedToken,
    key: Option<&PublishedKey>,
) -> Result<VerifiedTicket, Rejection> {
    let key = key.ok_or(Rejection::UnknownKey)?;
    if !signature_holds(key, &decoded.signed_message, &decoded.signature) {
        return Err(Rejection::Forged);
    }
    accept_key_window(decoded.claims, key)
}

/// Ed25519 verification as RFC 8032 §5.1.7 has it (cofactorless; `s` must be canonical, so a
/// signature cannot be reshaped). ed25519-dalek's `verify_strict` would also refuse a
/// small-order `R` and re-check the key, which only matters for keys nobody vouches for: weak
/// keys never get here (`PublishedKey::new` refuses them), and the check costs a sixth of a
/// verification.
fn signature_holds(key: &PublishedKey, message: &[u8], signature: &Signature) -> bool {
    key.verifying_key().verify(message, signature).is_ok()
}

/// A genuine signature still does not make a genuine ticket if the issuer could not have made
/// it: the key must have been valid at issue and the ticket must not outlive it. A token that
/// breaks this was signed with a retired (perhaps leaked) key, so it counts as forged.
fn accept_key_window(
    claims: TicketClaims,
    key: &PublishedKey,
) -> Result<VerifiedTicket, Rejection> {
    let window = key.window();
    if window.contains(claims.issued_at_unix_s)
        && claims.not_after_unix_s() <= window.not_after_unix_s()
    {
        Ok(VerifiedTicket { claims })
    } else {
        Err(Rejection::Forged)
    }
}

/// Why a controller refuses a ticket when it also knows revocations and ended runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum OfflineRejection {
    #[error(transparent)]
    Invalid(#[from] Rejection),
    /// Refunded or revoked by the server (the controller's cached list).
    #[error("the ticket was refunded or revoked")]
    Revoked,
    /// The vehicle reached the final stop of the run the ticket was bought on.
    #[error("the ride has ended: the bus reached its final stop")]
    RunEnded,
}

impl OfflineRejection {
    pub fn code(self) -> &'static str {
        match self {
            OfflineRejection::Invalid(rejection) => rejection.code(),
            OfflineRejection::Revoked => "REVOKED",
            OfflineRejection::RunEnded => "RUN_ENDED",
        }
    }
}

/// [`verify`] plus what the caller knows beyond the token: `is_revoked` (refunds and
/// revocations, e.g. [`Revocations::contains`]) and `run_ended`, the place where the live
/// signal ends a ticket before its `not_after` once the bus reaches its final stop.
pub fn verify_offline_with(
    token: &str,
    keys: &KeyList,
    now_unix_s: u64,
    presented_vehicle: &TransportCode,
    is_revoked: impl Fn(TicketNumber) -> bool,
    run_ended: impl Fn(&TicketClaims) -> bool,
) -> Result<VerifiedTicket, OfflineRejection> {
    let verified = authenticate(token, keys)?;
    if is_revoked(verified.claims.number) {
        return Err(OfflineRejection::Revoked);
    }
    verified.check_time(now_unix_s)?;
    if run_ended(&verified.claims) {
        return Err(OfflineRejection::RunEnded);
    }
    verified.check_vehicle(presented_vehicle)?;
    Ok(verified)
}

/// The controller's cached list of refunded or revoked tickets. Each entry remembers when its
/// ticket ends anyway, so the list can forget it then and stays as small as the set of live
/// tickets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Revocations {
    not_after_unix_s_by_number: HashMap<TicketNumber, u64>,
}

impl Revocations {
    pub fn new() -> Revocations {
        Revocations::default()
    }

    pub fn insert(&mut self, number: TicketNumber, ticket_not_after_unix_s: u64) {
        self.not_after_unix_s_by_number
            .insert(number, ticket_not_after_unix_s);
    }

    pub fn contains(&self, number: TicketNumber) -> bool {
        self.not_after_unix_s_by_number.contains_key(&number)
    }

    /// Forgets tickets that have ended by `now_unix_s`: they are refused as expired anyway.
    pub fn forget_ended(&mut self, now_unix_s: u64) {
        self.not_after_unix_s_by_number
            .retain(|_, not_after_unix_s| *not_after_unix_s >= now_unix_s);
    }

    pub fn len(&self) -> usize {
        self.not_after_unix_s_by_number.len()
    }

    pub fn is_empty(&self) -> bool {
        self.not_after_unix_s_by_number.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};

    use super::*;
    use crate::money::Tenge;
    use crate::phone::PhoneNumber;
    use crate::ticket::{
        CityCode, FareProduct, Holder, HolderBinding, HolderCheck, HolderKey, HolderKeys, Issuer,
        KeyId, KeyWindow, RiderCategoryCode, RouteNumber, TICKET_LIFETIME_S_MAX, TOKEN_CHARS_MAX,
        TOKEN_FORMAT_VERSION, TOKEN_PREFIX, TOKEN_PREFIX_V1, TOKEN_PREFIX_V2, Validity,
        plan_rotation, select_signing_key,
    };

    const NOW: u64 = 1_750_000_000;
    const DAY_S: u64 = 24 * 60 * 60;
    const RIDE_S: u64 = 90 * 60;

    fn signing_key(seed: u8, not_before_unix_s: u64, not_after_unix_s: u64) -> TicketSigningKey {
        let window = KeyWindow::new(not_before_unix_s, not_after_unix_s).unwrap();
        TicketSigningKey::from_secret_bytes(&[seed; 32], window).unwrap()
    }

    fn current_key() -> TicketSigningKey {
        signing_key(1, NOW - DAY_S, NOW + 30 * DAY_S)
    }

    #[test]
    fn verification_agrees_with_the_strict_one_on_honest_keys() {
        for seed in 1..=8u8 {
            let key = signing_key(seed, NOW - DAY_S, NOW + DAY_S);
            let published = key.published();
            for length in [0usize, 1, 31, 64, 200] {
                let message: Vec<u8> = (0..length).map(|i| (i as u8) ^ seed).collect();
                let signature = key.sign_message(&message);
                assert!(signature_holds(published, &message, &signature));
                assert!(
                    published
                        .verifying_key()
                        .verify_strict(&message, &signature)
                        .is_ok()
                );
                let mut other = message.clone();
                other.push(1);
                assert!(!signature_holds(published, &other, &signature));
                let mut bytes = signature.to_bytes();
                for bit in [0usize, 7, 255, 256, 300, 511] {
                    let mut flipped = bytes;
                    flipped[bit / 8] ^= 1 << (bit % 8);
                    let flipped = Signature::from_bytes(&flipped);
                    assert_eq!(
                        signature_holds(published, &message, &flipped),
                        published
                            .verifying_key()
                            .verify_strict(&message, &flipped)
                            .is_ok(),
                        "bit {bit}"
                    );
                }
                // `s + l` encodes the same scalar non-canonically: refused (no malleability).
                let l: [u8; 32] = [
                    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde,
                    0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
                ];
                let mut carry = 0u16;
                for (i, limb) in l.iter().enumerate() {
                    let sum = u16::from(bytes[32 + i]) + u16::from(*limb) + carry;
                    bytes[32 + i] = (sum & 0xff) as u8;
                    carry = sum >> 8;
                }
                assert!(!signature_holds(
                    published,
                    &message,
                    &Signature::from_bytes(&bytes)
                ));
            }
        }
    }

    fn phone() -> PhoneNumber {
        PhoneNumber::parse("+7 701 123 45 67").unwrap()
    }

    fn bus() -> TransportCode {
        TransportCode::parse("10234").unwrap()
    }

    fn claims(key_id: KeyId, issued_at_unix_s: u64) -> TicketClaims {
        TicketClaims {
            issuer: Issuer::parse("SMSBUS").unwrap(),
            key_id,
            number: TicketNumber::new(25_054_821_773).unwrap(),
            city: CityCode::parse("astana").unwrap(),
            vehicle: bus(),
            route: RouteNumber::parse("10").unwrap(),
            fare_product: FareProduct::parse("single").unwrap(),
            rider_category: RiderCategoryCode::parse("regular").unwrap(),
            amount: Tenge::from_whole(90),
            issued_at_unix_s,
            validity: Validity::UntilFinalStop {
                not_after_unix_s: issued_at_unix_s + RIDE_S,
            },
            holder: HolderBinding::keyed(
                &HolderKey::derive(&[1; 32]),
                TicketNumber::new(25_054_821_773).unwrap(),
                &Holder::Phone(phone()),
            ),
        }
    }

    fn list(keys: &[&TicketSigningKey]) -> KeyList {
        KeyList::new(keys.iter().map(|key| key.published().clone())).unwrap()
    }

    /// Signs a payload of the issued format without any of `sign`'s refusals, as an attacker
    /// or a careless issuer could.
    fn sign_raw(payload: &[u8], key: &TicketSigningKey) -> String {
        sign_raw_version(TOKEN_FORMAT_VERSION, payload, key)
    }

    fn sign_raw_version(version: u8, payload: &[u8], key: &TicketSigningKey) -> String {
        let message = [codec::signing_context(version), payload].concat();
        codec::encode_token(version, payload, &key.sign_message(&message))
    }

    fn raw_bytes(token: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(token.strip_prefix(TOKEN_PREFIX).unwrap())
            .unwrap()
    }

    fn from_raw_bytes(bytes: &[u8]) -> String {
        format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// xorshift64*: reproducible noise for the robustness test without a dependency.
    struct Noise(u64);

    impl Noise {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, bound: usize) -> usize {
            usize::try_from(self.next() % u64::try_from(bound.max(1)).unwrap()).unwrap()
        }
    }

    #[test]
    fn signed_ticket_verifies_and_reads_back() {
        let key = current_key();
        let claims = claims(key.id(), NOW);
        let token = sign(&claims, &key).unwrap();
        assert!(token.starts_with(TOKEN_PREFIX));
        assert!(token.len() <= 200, "{} chars: {token}", token.len());
        let verified = verify(&token, &list(&[&key]), NOW + 60, &bus()).unwrap();
        assert_eq!(verified.claims(), &claims);
        assert_eq!(verified.format_version(), 3);
        let holder_keys = HolderKeys::new([(key.id(), key.holder_key())]);
        let signed_holder_key = HolderKeys::new([(key.id(), HolderKey::derive(&[1; 32]))]);
        assert_eq!(
            verified
                .claims()
                .check_holder(&Holder::Phone(phone()), &signed_holder_key),
            HolderCheck::Matches
        );
        assert_eq!(
            verified.claims().check_holder(
                &Holder::Phone(PhoneNumber::parse("87011234568").unwrap()),
                &holder_keys
            ),
            HolderCheck::DoesNotMatch
        );
        // Signing is deterministic (Ed25519), so the same claims make the same token.
        assert_eq!(sign(&claims, &key).unwrap(), token);
    }

    #[test]
    fn token_with_every_field_at_its_limit_stays_under_the_input_limit() {
        let key = current_key();
        let mut claims = claims(key.id(), NOW);
        claims.issuer = Issuer::parse("ALEMPAY1").unwrap();
        claims.city = CityCode::parse("ust-kamenogorsk1").unwrap();
        claims.vehicle = TransportCode::parse("12345678").unwrap();
        claims.route = RouteNumber::parse("Э310Э").unwrap();
        claims.fare_product = FareProduct::parse("suburban-zone-4x").unwrap();
        claims.rider_category = RiderCategoryCode::parse("large_family_xxx").unwrap();
        claims.amount = Tenge::from_tiyn(crate::money::AMOUNT_TIYN_MAX);
        claims.validity = Validity::UntilFinalStop {
            not_after_unix_s: NOW + TICKET_LIFETIME_S_MAX,
        };
        let token = sign(&claims, &key).unwrap();
        assert!(
            token.len() <= 250 && token.len() <= TOKEN_CHARS_MAX,
            "{} chars",
            token.len()
        );
        assert_eq!(
            verify(&token, &list(&[&key]), NOW, &claims.vehicle)
                .unwrap()
                .claims(),
            &claims
        );
    }

    #[test]
    fn sign_refuses_claims_it_must_not_sign() {
        let key = current_key();
        let good = claims(key.id(), NOW);

        let mut negative = good.clone();
        negative.amount = Tenge::from_tiyn(-1);
        assert_eq!(sign(&negative, &key), Err(TicketError::AmountOutOfRange));

        let mut ends_at_issue = good.clone();
        ends_at_issue.validity = Validity::UntilFinalStop {
            not_after_unix_s: NOW,
        };
        assert_eq!(
            sign(&ends_at_issue, &key),
            Err(TicketError::LifetimeOutOfRange)
        );

        let mut too_long = good.clone();
        too_long.validity = Validity::UntilFinalStop {
            not_after_unix_s: NOW + TICKET_LIFETIME_S_MAX + 1,
        };
        assert_eq!(sign(&too_long, &key), Err(TicketError::LifetimeOutOfRange));

        let other = key_with_seed(2);
        assert!(matches!(
            sign(&good, &other),
            Err(TicketError::KeyIdMismatch { .. })
        ));

        let before_key = claims(key.id(), NOW - 2 * DAY_S);
        assert!(matches!(
            sign(&before_key, &key),
            Err(TicketError::KeyNotValidAtIssue { .. })
        ));

        // A ticket never outlives its key: near the key's end it is refused, not shortened.
        let near_end = claims(key.id(), key.window().not_after_unix_s() - 60);
        assert!(matches!(
            sign(&near_end, &key),
            Err(TicketError::OutlivesKey { .. })
        ));
    }

    fn key_with_seed(seed: u8) -> TicketSigningKey {
        signing_key(seed, NOW - DAY_S, NOW + 30 * DAY_S)
    }

    #[test]
    fn forged_by_another_key_under_the_same_id() {
        let key = current_key();
        let attacker = key_with_seed(66);
        let payload = codec::encode_payload(&claims(key.id(), NOW));
        let forged = sign_raw(&payload, &attacker);
        assert_eq!(
            verify(&forged, &list(&[&key]), NOW, &bus()),
            Err(Rejection::Forged)
        );
        // The same bytes under the attacker's own id are simply unknown.
        let own = sign(&claims(attacker.id(), NOW), &attacker).unwrap();
        assert_eq!(
            verify(&own, &list(&[&key]), NOW, &bus()),
            Err(Rejection::UnknownKey)
        );
    }

    #[test]
    fn every_truncation_is_malformed() {
        let key = current_key();
        let token = sign(&claims(key.id(), NOW), &key).unwrap();
        let keys = list(&[&key]);
        for length in 0..token.len() {
            let truncated = token.get(..length).unwrap();
            assert_eq!(
                authenticate(truncated, &keys),
                Err(Rejection::Malformed),
                "{length}"
            );
        }
        let bytes = raw_bytes(&token);
        for length in 0..bytes.len() {
            let truncated = from_raw_bytes(bytes.get(..length).unwrap());
            assert_eq!(
                authenticate(&truncated, &keys),
                Err(Rejection::Malformed),
                "{length} bytes"
            );
        }
    }

    #[test]
    fn every_bit_flip_is_rejected_for_the_right_reason() {
        let key = current_key();
        let token = sign(&claims(key.id(), NOW), &key).unwrap();
        let keys = list(&[&key]);
        let bytes = raw_bytes(&token);
        let signature_start = bytes.len() - 64;
        for position in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[position] ^= 1 << bit;
                let outcome = authenticate(&from_raw_bytes(&flipped), &keys);
                let expected: &[Rejection] = if position < 4 {
                    &[Rejection::UnknownKey]
                } else if position >= signature_start {
                    &[Rejection::Forged]
                } else {
                    &[Rejection::Malformed, Rejection::Forged]
                };
                assert!(
                    outcome
                        .as_ref()
                        .is_err_and(|rejection| expected.contains(rejection)),
                    "byte {position} bit {bit}: {outcome:?}"
                );
            }
        }
    }

    /// The old format keeps its strictness: every flipped bit and every cut of an `SB1.` token
    /// is refused.
    #[test]
    fn format_1_tokens_refuse_every_flip_and_cut() {
        let key = current_key();
        let token = sign(&old_claims(key.id(), NOW), &key).unwrap();
        let keys = list(&[&key]);
        let bytes = URL_SAFE_NO_PAD
            .decode(token.strip_prefix(TOKEN_PREFIX_V1).unwrap())
            .unwrap();
        let encode = |bytes: &[u8]| format!("{TOKEN_PREFIX_V1}{}", URL_SAFE_NO_PAD.encode(bytes));
        for position in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[position] ^= 1 << bit;
                assert!(
                    authenticate(&encode(&flipped), &keys).is_err(),
                    "{position} {bit}"
                );
            }
        }
        for length in 0..bytes.len() {
            assert_eq!(
                authenticate(&encode(bytes.get(..length).unwrap()), &keys),
                Err(Rejection::Malformed),
                "{length}"
            );
        }
        assert!(authenticate(&encode(&bytes), &keys).is_ok());
    }

    #[test]
    fn every_changed_character_is_rejected() {
        let key = current_key();
        let token = sign(&claims(key.id(), NOW), &key).unwrap();
        let keys = list(&[&key]);
        for position in 0..token.len() {
            for replacement in ['A', 'B', 'f', 'g', '0', '9', '-', '_', '=', '.', ' ', 'Ж'] {
                let mut changed: Vec<char> = token.chars().collect();
                if changed[position] == replacement {
                    continue;
                }
                changed[position] = replacement;
                let changed: String = changed.into_iter().collect();
                assert!(authenticate(&changed, &keys).is_err(), "{changed}");
            }
        }
    }

    #[test]
    fn re_encoded_tokens_are_malformed() {
        let key = current_key();
        // A payload whose base64 needs padding, so that the padded encodings differ.
        let padded_claims = TicketClaims {
            route: RouteNumber::parse("10A").unwrap(),
            ..claims(key.id(), NOW)
        };
        let token = sign(&padded_claims, &key).unwrap();
        assert_ne!(raw_bytes(&token).len() % 3, 0);
        let keys = list(&[&key]);
        let bytes = raw_bytes(&token);
        for other in [
            format!("{TOKEN_PREFIX}{}", URL_SAFE.encode(&bytes)),
            format!("{TOKEN_PREFIX}{}", STANDARD.encode(&bytes)),
            format!("SB4.{}", URL_SAFE_NO_PAD.encode(&bytes)),
            format!("sb3.{}", URL_SAFE_NO_PAD.encode(&bytes)),
            format!("{token}\n"),
            format!(" {token}"),
            format!("{token}AA"),
            format!("{token}{}", "A".repeat(TOKEN_CHARS_MAX)),
        ] {
            assert_eq!(
                authenticate(&other, &keys),
                Err(Rejection::Malformed),
                "{other}"
            );
        }
        // The last character carries stray bits that a lax decoder ignores; a strict one does not.
        let last = token.chars().last().unwrap();
        for replacement in ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'] {
            if replacement != last {
                let changed = format!("{}{replacement}", &token[..token.len() - 1]);
                assert!(authenticate(&changed, &keys).is_err(), "{changed}");
            }
        }
        // A payload re-encoded with a non-minimal varint is refused even under the real key.
        let claims = claims(key.id(), NOW);
        let payload = codec::encode_payload(&claims);
        // From the end: holder kind and tag, the lifetime, the rule, issued-at, the amount.
        let amount_at = payload.len() - 3 - 2 - 1 - 5 - 2;
        assert_eq!(
            &payload[amount_at..amount_at + 2],
            &[0xa8, 0x46],
            "9000 tiyn as a varint"
        );
        let mut padded = payload.clone();
        padded.splice(amount_at..amount_at + 2, [0xa8, 0xc6, 0x00]);
        assert_eq!(
            authenticate(&sign_raw(&padded, &key), &keys),
            Err(Rejection::Malformed)
        );
        assert!(authenticate(&sign_raw(&payload, &key), &keys).is_ok());
    }

    #[test]
    fn wrong_vehicle_and_expiry() {
        let key = current_key();
        let claims = claims(key.id(), NOW);
        let token = sign(&claims, &key).unwrap();
        let keys = list(&[&key]);
        let other_bus = TransportCode::parse("10235").unwrap();
        assert_eq!(
            verify(&token, &keys, NOW, &other_bus),
            Err(Rejection::WrongVehicle)
        );
        let not_after = claims.not_after_unix_s();
        assert!(verify(&token, &keys, not_after, &bus()).is_ok());
        assert_eq!(
            verify(&token, &keys, not_after + 1, &bus()),
            Err(Rejection::Expired)
        );
        // Expiry is reported before the vehicle, and an expired ticket still shows its facts.
        assert_eq!(
            verify(&token, &keys, not_after + 1, &other_bus),
            Err(Rejection::Expired)
        );
        assert_eq!(authenticate(&token, &keys).unwrap().claims(), &claims);
        // A controller's clock a little behind the issuer's still accepts a fresh ticket.
        assert!(verify(&token, &keys, NOW - CLOCK_SKEW_S_MAX, &bus()).is_ok());
        assert_eq!(
            verify(&token, &keys, NOW - CLOCK_SKEW_S_MAX - 1, &bus()),
            Err(Rejection::Expired)
        );
    }

    #[test]
    fn unknown_key_and_keys_outside_their_window() {
        let key = current_key();
        let token = sign(&claims(key.id(), NOW), &key).unwrap();
        assert_eq!(
            verify(&token, &KeyList::default(), NOW, &bus()),
            Err(Rejection::UnknownKey)
        );
        assert_eq!(
            verify(&token, &list(&[&key_with_seed(2)]), NOW, &bus()),
            Err(Rejection::UnknownKey)
        );

        // A retired key (perhaps leaked) signs a ticket after its window: forged.
        let retired = signing_key(3, NOW - 60 * DAY_S, NOW - 30 * DAY_S);
        let late = sign_raw(&codec::encode_payload(&claims(retired.id(), NOW)), &retired);
        assert_eq!(
            authenticate(&late, &list(&[&retired])),
            Err(Rejection::Forged)
        );
        // A key published ahead signs before its window: forged.
        let future = signing_key(4, NOW + DAY_S, NOW + 30 * DAY_S);
        let early = sign_raw(&codec::encode_payload(&claims(future.id(), NOW)), &future);
        assert_eq!(
            authenticate(&early, &list(&[&future])),
            Err(Rejection::Forged)
        );
        // A ticket that would outlive its key: forged.
        let ending = signing_key(5, NOW - DAY_S, NOW + 60);
        let outliving = sign_raw(&codec::encode_payload(&claims(ending.id(), NOW)), &ending);
        assert_eq!(
            authenticate(&outliving, &list(&[&ending])),
            Err(Rejection::Forged)
        );
    }

    #[test]
    fn key_rotation_keeps_old_tickets_valid_until_they_end() {
        let signing_period_s = 30 * DAY_S;
        let lifetime_s = 6 * 60 * 60;
        let first_window = plan_rotation(&[], NOW, signing_period_s, lifetime_s).unwrap();
        let old = TicketSigningKey::from_secret_bytes(&[1; 32], first_window).unwrap();
        // The last moment the old key may sign a ticket of the longest lifetime.
        let last_old_sale = first_window.not_after_unix_s() - lifetime_s;
        let mut old_claims = claims(old.id(), last_old_sale);
        old_claims.validity = Validity::UntilFinalStop {
            not_after_unix_s: last_old_sale + lifetime_s,
        };
        let old_token = sign(&old_claims, &old).unwrap();

        let rotation_at = last_old_sale - DAY_S;
        let second_window = plan_rotation(
            &[old.published().clone()],
            rotation_at,
            signing_period_s,
            lifetime_s,
        )
        .unwrap();
        let new = TicketSigningKey::from_secret_bytes(&[2; 32], second_window).unwrap();
        let signing_keys = [old, new];
        let chosen = select_signing_key(&signing_keys, rotation_at + 60, lifetime_s).unwrap();
        assert_eq!(
            chosen.id(),
            signing_keys[1].id(),
            "new tickets use the new key"
        );
        let new_token = sign(&claims(chosen.id(), rotation_at + 60), chosen).unwrap();

        let both = list(&[&signing_keys[0], &signing_keys[1]]);
        assert!(verify(&old_token, &both, old_claims.not_after_unix_s(), &bus()).is_ok());
        assert!(old_claims.not_after_unix_s() <= signing_keys[0].window().not_after_unix_s());
        assert!(verify(&new_token, &both, rotation_at + 120, &bus()).is_ok());
        // Once the old key has passed its end it leaves the list; nothing valid depended on it.
        let only_new = list(&[&signing_keys[1]]);
        assert_eq!(
            authenticate(&old_token, &only_new),
            Err(Rejection::UnknownKey)
        );
        assert!(authenticate(&new_token, &only_new).is_ok());
    }

    #[test]
    fn batch_agrees_with_single_verification() {
        let key = current_key();
        let attacker = key_with_seed(66);
        let keys = list(&[&key]);
        let mut tokens = Vec::new();
        for index in 0..200_u64 {
            let mut claims = claims(key.id(), NOW + index);
            claims.number = TicketNumber::new(index).unwrap();
            let token = match index % 50 {
                7 => sign_raw(&codec::encode_payload(&claims), &attacker),
                13 => "SB1.garbage".to_owned(),
                21 => sign(
                    &TicketClaims {
                        key_id: attacker.id(),
                        ..claims.clone()
                    },
                    &attacker,
                )
                .unwrap(),
                _ => sign(&claims, &key).unwrap(),
            };
            tokens.push(token);
        }
        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let batch = verify_batch(&refs, &keys, NOW + 100, &bus());
        let single: Vec<_> = refs
            .iter()
            .map(|token| verify(token, &keys, NOW + 100, &bus()))
            .collect();
        assert_eq!(batch, single);
        assert_eq!(batch.iter().filter(|result| result.is_ok()).count(), 188);
        assert_eq!(batch[7], Err(Rejection::Forged));
        assert_eq!(batch[13], Err(Rejection::Malformed));
        assert_eq!(batch[21], Err(Rejection::UnknownKey));
        assert!(authenticate_batch(&[], &keys).is_empty());
    }

    #[test]
    fn thousands_of_random_and_mutated_inputs_never_panic_or_pass() {
        let key = current_key();
        let keys = list(&[&key]);
        let token = sign(&claims(key.id(), NOW), &key).unwrap();
        let bytes = raw_bytes(&token);
        let mut noise = Noise(0x5eed_1234_abcd_ef01);
        let mut inputs = Vec::new();
        for _ in 0..3_000 {
            let mut mutated = bytes.clone();
            for _ in 0..=noise.below(4) {
                if mutated.is_empty() {
                    break;
                }
                let position = noise.below(mutated.len());
                match noise.below(4) {
                    0 => mutated[position] ^= 1 << noise.below(8),
                    1 => mutated[position] = noise.next() as u8,
                    2 => mutated.insert(position, noise.next() as u8),
                    _ => mutated.truncate(position),
                }
            }
            if mutated != bytes {
                inputs.push(from_raw_bytes(&mutated));
            }
            let random: Vec<u8> = (0..noise.below(300)).map(|_| noise.next() as u8).collect();
            inputs.push(from_raw_bytes(&random));
            let text: String = (0..noise.below(500))
                .map(|_| char::from_u32(u32::try_from(noise.below(0x500)).unwrap()).unwrap_or('x'))
                .collect();
            inputs.push(text.clone());
            inputs.push(format!("{TOKEN_PREFIX}{text}"));
        }
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        for input in &refs {
            assert!(verify(input, &keys, NOW, &bus()).is_err(), "{input}");
        }
        assert!(authenticate_batch(&refs, &keys).iter().all(Result::is_err));
    }

    /// A ticket as issued before the holder binding was keyed: `SB1.`, salted digest.
    fn old_claims(key_id: KeyId, issued_at_unix_s: u64) -> TicketClaims {
        TicketClaims {
            holder: HolderBinding::salted([9; 8], &phone()),
            ..claims(key_id, issued_at_unix_s)
        }
    }

    #[test]
    fn tokens_of_format_1_stay_verifiable_and_checkable_the_old_way() {
        let key = current_key();
        let keys = list(&[&key]);
        let old = sign(&old_claims(key.id(), NOW), &key).unwrap();
        assert!(old.starts_with(TOKEN_PREFIX_V1), "{old}");
        let verified = verify(&old, &keys, NOW + 60, &bus()).unwrap();
        assert_eq!(verified.format_version(), 1);
        let other = Holder::Phone(PhoneNumber::parse("+7 701 999 99 99").unwrap());
        let phone = Holder::Phone(phone());
        let none = HolderKeys::default();
        assert_eq!(
            verified.claims().check_holder(&phone, &none),
            HolderCheck::Matches
        );
        assert_eq!(
            verified.claims().check_holder(&other, &none),
            HolderCheck::DoesNotMatch
        );
        // New tokens are format 3, shorter, and need the holder key.
        let new = sign(&claims(key.id(), NOW), &key).unwrap();
        assert!(new.starts_with(TOKEN_PREFIX), "{new}");
        assert!(
            new.len() + 12 < old.len() + 2,
            "{} vs {}",
            new.len(),
            old.len()
        );
        let verified = verify(&new, &keys, NOW + 60, &bus()).unwrap();
        assert_eq!(verified.format_version(), 3);
        assert_eq!(
            verified.claims().check_holder(&phone, &none),
            HolderCheck::NotChecked
        );
        let holder_keys = HolderKeys::new([(key.id(), HolderKey::derive(&[1; 32]))]);
        assert_eq!(
            verified.claims().check_holder(&phone, &holder_keys),
            HolderCheck::Matches
        );
        assert_eq!(
            verified.claims().check_holder(&other, &holder_keys),
            HolderCheck::DoesNotMatch
        );
    }

    /// A ticket as issued while only a phone could hold one: `SB2.`, a keyed tag with no kind.
    fn format_2_claims(key_id: KeyId, issued_at_unix_s: u64) -> TicketClaims {
        let number = TicketNumber::new(25_054_821_773).unwrap();
        TicketClaims {
            holder: HolderBinding::keyed_phone(&HolderKey::derive(&[1; 32]), number, &phone()),
            ..claims(key_id, issued_at_unix_s)
        }
    }

    #[test]
    fn tokens_of_format_2_stay_verifiable_and_bind_a_phone() {
        let key = current_key();
        let keys = list(&[&key]);
        let old = sign(&format_2_claims(key.id(), NOW), &key).unwrap();
        assert!(old.starts_with(TOKEN_PREFIX_V2), "{old}");
        let verified = verify(&old, &keys, NOW + 60, &bus()).unwrap();
        assert_eq!(verified.format_version(), 2);
        assert_eq!(verified.claims(), &format_2_claims(key.id(), NOW));
        let holder_keys = HolderKeys::new([(key.id(), HolderKey::derive(&[1; 32]))]);
        let phone = Holder::Phone(phone());
        let other = Holder::Phone(PhoneNumber::parse("+7 701 999 99 99").unwrap());
        let card = Holder::Card(crate::card::CardNumber::issue(1));
        let check = |holder: &Holder| verified.claims().check_holder(holder, &holder_keys);
        assert_eq!(check(&phone), HolderCheck::Matches);
        assert_eq!(check(&other), HolderCheck::DoesNotMatch);
        assert_eq!(check(&card), HolderCheck::NotChecked);
        // One byte shorter than the same ticket in format 3, which names the holder's kind.
        let new = sign(&claims(key.id(), NOW), &key).unwrap();
        let bytes = |token: &str, prefix: &str| {
            URL_SAFE_NO_PAD
                .decode(token.strip_prefix(prefix).unwrap())
                .unwrap()
                .len()
        };
        assert_eq!(bytes(&old, TOKEN_PREFIX_V2) + 1, bytes(&new, TOKEN_PREFIX));
    }

    /// Every format's payload, relabelled as every other format (prefix and signing context
    /// both), is refused: no version is read as another.
    #[test]
    fn no_format_reads_as_another() {
        let key = current_key();
        let keys = list(&[&key]);
        let payloads = [
            codec::encode_payload(&old_claims(key.id(), NOW)),
            codec::encode_payload(&format_2_claims(key.id(), NOW)),
            codec::encode_payload(&claims(key.id(), NOW)),
        ];
        for (from, payload) in codec::FORMATS.iter().zip(&payloads) {
            for to in codec::FORMATS {
                let token = sign_raw_version(to.version, payload, &key);
                let read = authenticate(&token, &keys);
                assert_eq!(
                    read.is_ok(),
                    from.version == to.version,
                    "{} as {}: {read:?}",
                    from.version,
                    to.version
                );
            }
        }
    }

    #[test]
    fn a_token_cannot_change_its_format_version() {
        let key = current_key();
        let keys = list(&[&key]);
        let old = sign(&old_claims(key.id(), NOW), &key).unwrap();
        let new = sign(&claims(key.id(), NOW), &key).unwrap();
        let old_as_new = format!(
            "{TOKEN_PREFIX}{}",
            old.strip_prefix(TOKEN_PREFIX_V1).unwrap()
        );
        let new_as_old = format!(
            "{TOKEN_PREFIX_V1}{}",
            new.strip_prefix(TOKEN_PREFIX).unwrap()
        );
        for relabelled in [old_as_new, new_as_old] {
            assert!(
                matches!(
                    authenticate(&relabelled, &keys),
                    Err(Rejection::Malformed | Rejection::Forged)
                ),
                "{relabelled}"
            );
        }
        // A format 1 payload signed under the format 3 context (or the reverse) is forged.
        let payload = codec::encode_payload(&old_claims(key.id(), NOW));
        let mixed = sign_raw_version(3, &payload, &key);
        let mixed = format!(
            "{TOKEN_PREFIX_V1}{}",
            mixed.strip_prefix(TOKEN_PREFIX).unwrap()
        );
        assert_eq!(authenticate(&mixed, &keys), Err(Rejection::Forged));
        assert!(authenticate(&sign_raw_version(1, &payload, &key), &keys).is_ok());
    }

    #[test]
    fn offline_check_adds_revocations_and_ended_runs() {
        let key = current_key();
        let claims = claims(key.id(), NOW);
        let token = sign(&claims, &key).unwrap();
        let keys = list(&[&key]);
        let mut revocations = Revocations::new();
        let never = |_: &TicketClaims| false;
        let check = |revocations: &Revocations, run_ended: &dyn Fn(&TicketClaims) -> bool| {
            verify_offline_with(
                &token,
                &keys,
                NOW + 60,
                &bus(),
                |number| revocations.contains(number),
                run_ended,
            )
        };
        assert!(check(&revocations, &never).is_ok());
        revocations.insert(claims.number, claims.not_after_unix_s());
        assert_eq!(check(&revocations, &never), Err(OfflineRejection::Revoked));
        assert_eq!(check(&revocations, &never).unwrap_err().code(), "REVOKED");
        revocations.forget_ended(claims.not_after_unix_s());
        assert_eq!(revocations.len(), 1);
        revocations.forget_ended(claims.not_after_unix_s() + 1);
        assert!(revocations.is_empty());
        // The live signal: the bus reached its final stop after the ticket was bought.
        let final_stop_at = NOW + 30;
        let ended = move |claims: &TicketClaims| {
            claims.vehicle == bus() && claims.issued_at_unix_s <= final_stop_at
        };
        assert_eq!(check(&revocations, &ended), Err(OfflineRejection::RunEnded));
        assert_eq!(
            verify_offline_with(
                &token,
                &keys,
                NOW,
                &TransportCode::parse("999").unwrap(),
                |_| false,
                never
            ),
            Err(OfflineRejection::Invalid(Rejection::WrongVehicle))
        );
    }
}
