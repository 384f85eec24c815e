//! Staff accounts' pure rules: the roles and what each may be scoped to, the growing delay after
//! failed sign-ins, and one-time passwords (TOTP, RFC 6238 over HOTP, RFC 4226, HMAC-SHA1) with
//! the base32 text (RFC 4648) authenticator apps read. No clock here: times are passed in.

use hmac::{Hmac, Mac};

/// What a staff account may do; each role's reach is narrowed by its [`Scope`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The system operator: everything, everywhere. Signs in with a second factor.
    Admin,
    /// A city office clerk: passengers, cards, applications, refunds of its cities.
    Office,
    /// A carrier's manager: its vehicles, rides, revenue, feedback — never another carrier's.
    Carrier,
    /// A ticket inspector working for carriers or cities.
    Controller,
    /// Support: reads passengers' rides and tickets, moves no money.
    Support,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Office,
        Role::Carrier,
        Role::Controller,
        Role::Support,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Office => "office",
            Role::Carrier => "carrier",
            Role::Controller => "controller",
            Role::Support => "support",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether a second factor is required to sign in.
    pub fn requires_totp(self) -> bool {
        self == Role::Admin
    }
}

/// The cities and carriers an account works for (catalogue slugs and carrier ids).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    pub cities: Vec<String>,
    pub carriers: Vec<String>,
}

/// Why a role and a scope do not go together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScopeInvalid(pub &'static str);

impl Scope {
    /// Checks the scope against the role: `admin` and `support` have none (they reach every
    /// city), `office` one or more cities, `carrier` exactly one carrier, `controller` cities
    /// or carriers (at least one).
    pub fn check(&self, role: Role) -> Result<(), ScopeInvalid> {
        let (cities, carriers) = (self.cities.len(), self.carriers.len());
        match role {
            Role::Admin | Role::Support if cities + carriers > 0 => {
                Err(ScopeInvalid("admin and support accounts have no scope"))
            }
            Role::Office if cities == 0 || carriers > 0 => Err(ScopeInvalid(
                "an office account has one or more cities and no carrier",
            )),
            Role::Carrier if carriers != 1 || cities > 0 => Err(ScopeInvalid(
                "a carrier account has exactly one carrier and no city",
            )),
            Role::Controller if cities + carriers == 0 => {
                Err(ScopeInvalid("a controller account has cities or carriers"))
            }
            _ => Ok(()),
        }
    }

    /// Whether an account of `role` with this scope reaches `city`.
    pub fn reaches_city(&self, role: Role, city: &str) -> bool {
        match role {
            Role::Admin | Role::Support => true,
            Role::Office | Role::Controller => self.cities.iter().any(|c| c == city),
            Role::Carrier => false,
        }
    }

    /// Whether an account of `role` with this scope reaches `carrier`'s data.
    pub fn reaches_carrier(&self, role: Role, carrier: &str) -> bool {
        match role {
            Role::Admin | Role::Support => true,
            Role::Carrier | Role::Controller => self.carriers.iter().any(|c| c == carrier),
            Role::Office => false,
        }
    }

    /// Whether it reaches a vehicle of `carrier` running in `city`: either is enough for a
    /// controller (it inspects for a carrier, or for a city's buses).
    pub fn reaches_vehicle(&self, role: Role, city: &str, carrier: &str) -> bool {
        self.reaches_city(role, city) || self.reaches_carrier(role, carrier)
    }

    /// The list form stored and shown: comma-separated.
    pub fn join(items: &[String]) -> String {
        items.join(",")
    }

    pub fn split(text: &str) -> Vec<String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Wrong sign-ins in a row (per login, or per address) that cost nothing.
pub const FAILURES_FREE: i64 = 3;
/// The wait after the first failure beyond the free ones; each further one doubles it.
pub const DELAY_FIRST_MS: i64 = 1_000;
/// The longest wait: past it the login is locked this long at a time.
pub const DELAY_MAX_MS: i64 = 60 * 60 * 1_000;
/// Failures in a row after which a login is locked (each further one waits [`DELAY_MAX_MS`]).
pub const FAILURES_LOCKED: i64 = FAILURES_FREE + 13;

/// The wait that the `failures`-th failure in a row starts: none for the free ones, then
/// doubling from [`DELAY_FIRST_MS`] up to [`DELAY_MAX_MS`].
pub fn delay_after_ms(failures: i64) -> i64 {
    let beyond = failures.saturating_sub(FAILURES_FREE);
    if beyond <= 0 {
        return 0;
    }
    let doublings = u32::try_from(beyond - 1).unwrap_or(u32::MAX).min(40);
    DELAY_FIRST_MS
        .saturating_mul(2i64.saturating_pow(doublings))
        .min(DELAY_MAX_MS)
}

/// TOTP's time step (RFC 6238 §4: X = 30 s) and its number of digits.
pub const TOTP_STEP_S: i64 = 30;
pub const TOTP_DIGITS: u32 = 6;
/// Steps before and after now that are accepted, for clocks that drift.
pub const TOTP_SKEW_STEPS: i64 = 1;
/// The size of a generated secret (RFC 4226 §4 recommends 160 bits).
pub const TOTP_SECRET_BYTES: usize = 20;

/// HOTP (RFC 4226 §5.3) of `counter` with `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else {
        // HMAC takes a key of any length; this is unreachable.
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash.get(19).copied().unwrap_or(0) & 0x0f);
    let word = hash
        .get(offset..offset + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(|b| u32::from_be_bytes(b) & 0x7fff_ffff)
        .unwrap_or(0);
    word % 10u32.pow(digits.min(9))
}

/// TOTP (RFC 6238) at Unix time `unix_s`, [`TOTP_DIGITS`] digits.
pub fn totp(secret: &[u8], unix_s: i64) -> u32 {
    hotp(secret, totp_counter(unix_s), TOTP_DIGITS)
}

fn totp_counter(unix_s: i64) -> u64 {
    u64::try_from(unix_s.max(0) / TOTP_STEP_S).unwrap_or(0)
}

/// The time step a given code matches at `unix_s` within the allowed skew, if any. The caller
/// refuses a step it has seen used (a code is good once).
pub fn totp_matches(secret: &[u8], code: &str, unix_s: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != TOTP_DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let now = i64::try_from(totp_counter(unix_s)).ok()?;
    (now - TOTP_SKEW_STEPS..=now + TOTP_SKEW_STEPS)
        .filter(|step| *step >= 0)
        .find(|step| hotp(secret, u64::try_from(*step).unwrap_or(0), TOTP_DIGITS) == wanted)
}

/// The six digits as typed (leading zeros kept).
pub fn totp_text(code: u32) -> String {
    format!("{code:0width$}", width = TOTP_DIGITS as usize)
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The base32 digit of the low five bits.
fn base32_digit(bits: u32) -> char {
    BASE32
        .get((bits & 31) as usize)
        .map_or('A', |b| char::from(*b))
}

/// RFC 4648 base32 without padding, as authenticator apps take a secret.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(base32_digit(buffer >> bits));
        }
    }
    if bits > 0 {
        out.push(base32_digit(buffer << (5 - bits)));
    }
    out
}

/// Reads base32 in any case, spaces and padding ignored; `None` on another character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let upper = c.to_ascii_uppercase();
        let value = BASE32.iter().position(|b| char::from(*b) == upper)?;
        buffer = ((buffer << 5) | u32::try_from(value).ok()?) & 0xffff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app scans (Key Uri Format).
pub fn otpauth_uri(issuer: &str, login: &str, secret: &[u8]) -> String {
    let escape = |text: &str| -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_S}",
        escape(issuer),
        escape(login),
        base32_encode(secret),
        escape(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, the SHA-1 rows: the seed is the ASCII of "12345678901234567890";
    /// the codes have 8 digits there, and the 6-digit code is their last six.
    #[test]
    fn totp_matches_the_rfc_6238_vectors() {
        let seed = b"12345678901234567890";
        for (time, code) in [
            (59i64, 94_287_082u32),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            let counter = u64::try_from(time / TOTP_STEP_S).unwrap_or(0);
            assert_eq!(hotp(seed, counter, 8), code, "T = {time}");
            assert_eq!(totp(seed, time), code % 1_000_000, "T = {time}");
            let text = totp_text(code % 1_000_000);
            assert_eq!(totp_matches(seed, &text, time), Some(time / TOTP_STEP_S));
            assert_eq!(
                totp_matches(seed, &text, time + 30),
                Some(time / TOTP_STEP_S)
            );
            assert_eq!(totp_matches(seed, &text, time + 90), None);
        }
        assert_eq!(totp_matches(seed, "12345", 59), None);
        assert_eq!(totp_matches(seed, "28708a", 59), None);
    }

    /// RFC 4226 Appendix D.
    #[test]
    fn hotp_matches_the_rfc_4226_vectors() {
        let seed = b"12345678901234567890";
        let expected = [
            755_224u32, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(seed, counter as u64, 6), *code);
        }
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(base32_decode("mzxw 6ytb oi=="), Some(b"foobar".to_vec()));
        assert_eq!(base32_decode("MZ1"), None);
        let uri = otpauth_uri("SMSBUS", "admin", b"12345678901234567890");
        assert!(
            uri.starts_with("otpauth://totp/SMSBUS:admin?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&")
        );
    }

    #[test]
    fn delays_grow_and_stop_at_the_cap() {
        assert_eq!(delay_after_ms(FAILURES_FREE), 0);
        assert_eq!(delay_after_ms(FAILURES_FREE + 1), DELAY_FIRST_MS);
        assert_eq!(delay_after_ms(FAILURES_FREE + 2), 2 * DELAY_FIRST_MS);
        assert_eq!(delay_after_ms(FAILURES_LOCKED), DELAY_MAX_MS);
        assert_eq!(delay_after_ms(1_000_000), DELAY_MAX_MS);
        let mut previous = 0;
        for failures in 0..100 {
            let delay = delay_after_ms(failures);
            assert!(delay >= previous);
            previous = delay;
        }
    }

    #[test]
    fn scopes_fit_their_roles() {
        let city = |c: &str| Scope {
            cities: vec![c.into()],
            carriers: vec![],
        };
        let carrier = |c: &str| Scope {
            cities: vec![],
            carriers: vec![c.into()],
        };
        assert!(Scope::default().check(Role::Admin).is_ok());
        assert!(city("astana").check(Role::Admin).is_err());
        assert!(city("astana").check(Role::Office).is_ok());
        assert!(Scope::default().check(Role::Office).is_err());
        assert!(carrier("a").check(Role::Carrier).is_ok());
        assert!(city("astana").check(Role::Carrier).is_err());
        assert!(carrier("a").check(Role::Controller).is_ok());
        assert!(Scope::default().check(Role::Controller).is_err());
        assert!(carrier("a").reaches_carrier(Role::Carrier, "a"));
        assert!(!carrier("a").reaches_carrier(Role::Carrier, "b"));
        assert!(!city("astana").reaches_city(Role::Office, "almaty"));
        assert!(carrier("a").reaches_vehicle(Role::Controller, "almaty", "a"));
        assert!(Scope::default().reaches_carrier(Role::Admin, "b"));
        assert_eq!(Scope::split(" a, ,b"), vec!["a".to_owned(), "b".to_owned()]);
    }
}
