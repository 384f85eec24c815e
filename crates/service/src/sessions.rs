//! Passengers sign in to the API with their phone number: a one-time code goes out by SMS, and
//! the code buys a session token. Only hashes are stored. (The SMS channel needs no sign-in:
//! the operator vouches for the sender's number.) A session starts only here, by a code.
//!
//! Against guessing: wrong codes count per number across codes, and past
//! [`SIGN_IN_FAILURES_FREE`] each one locks the number for a wait that doubles, from
//! [`SIGN_IN_LOCKOUT_FIRST_MS`] up to [`SIGN_IN_LOCKOUT_MAX_MS`]; a right code or a quiet
//! [`SIGN_IN_FAILURES_FORGOTTEN_MS`] forgets them. Against floods: a number no operator serves
//! gets nothing, and codes are budgeted per number, per client address and overall, in fixed
//! windows kept in the store (a restart resets nothing). Every refusal says how long to wait.
//! Codes leave the outbox before any other message.
//!
//! A passenger lists their sessions and ends one or all others, so a stolen token is
//! ended by its owner; a session lives at most [`SESSION_TTL_MS`].

use std::net::IpAddr;

use domain::{ErrorCode, Language, PhoneNumber};
use sha2::{Digest, Sha256};

use crate::{App, ServiceError};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

pub const SIGN_IN_CODE_TTL_MS: i64 = 5 * MINUTE_MS;
/// A new code for the same number is sent at most this often.
pub const SIGN_IN_RESEND_MS: i64 = 30_000;
/// Wrong tries allowed on one code before the code is void.
pub const SIGN_IN_ATTEMPTS_MAX: i64 = 5;
/// Wrong codes of a number (across codes) before each further one locks the number.
pub const SIGN_IN_FAILURES_FREE: i64 = 5;
/// The lockout after the first wrong code beyond the free ones; each further one doubles it.
pub const SIGN_IN_LOCKOUT_FIRST_MS: i64 = MINUTE_MS;
pub const SIGN_IN_LOCKOUT_MAX_MS: i64 = 60 * MINUTE_MS;
/// A number's wrong codes are forgotten after this long without one (or after a right code).
pub const SIGN_IN_FAILURES_FORGOTTEN_MS: i64 = DAY_MS;
/// Codes sent to one number per window.
pub const SIGN_IN_CODES_PER_PHONE_MAX: i64 = 10;
pub const SIGN_IN_PHONE_WINDOW_MS: i64 = DAY_MS;
/// Codes asked from one client address (an IPv6 /64) per window. Generous, because mobile
/// operators put many passengers behind one address.
pub const SIGN_IN_CODES_PER_ADDRESS_MAX: i64 = 30;
pub const SIGN_IN_ADDRESS_WINDOW_MS: i64 = 10 * MINUTE_MS;
/// The default of `Settings::sign_in_codes_per_minute_max`: codes sent to everyone together.
pub const SIGN_IN_CODES_PER_MINUTE_MAX: i64 = 300;
pub const SIGN_IN_OVERALL_WINDOW_MS: i64 = MINUTE_MS;
pub const SESSION_TTL_MS: i64 = 30 * DAY_MS;
pub const SESSION_TOKEN_CHARS_MAX: usize = 128;
/// A passenger's sessions kept; a new one ends the least recently used beyond this.
pub const SESSIONS_PER_PASSENGER_MAX: i64 = 10;
/// A session's "last used" is written at most this often, not on every request.
pub const SESSION_LAST_USED_STEP_MS: i64 = MINUTE_MS;
/// The device label (from the User-Agent) kept with a session.
pub const SESSION_DEVICE_CHARS_MAX: usize = 120;
/// A session id is this many hex characters.
const SESSION_ID_CHARS: usize = 32;

fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    crate::hex(&hasher.finalize())
}

pub fn code_text(language: Language, code: &str) -> String {
    match language {
        Language::Kk => format!("SMSBUS кіру коды: {code}. Оны ешкімге айтпаңыз."),
        Language::Ru => format!("Код входа SMSBUS: {code}. Никому его не сообщайте."),
        Language::En => format!("SMSBUS sign-in code: {code}. Do not share it."),
    }
}

/// The lockout that the `failures`-th wrong code in a row starts: none for the free ones,
/// then doubling from the first lockout, capped.
pub fn lockout_ms(failures: i64) -> i64 {
    let beyond = failures.saturating_sub(SIGN_IN_FAILURES_FREE);
    if beyond <= 0 {
        return 0;
    }
    let doublings = u32::try_from(beyond - 1).unwrap_or(u32::MAX).min(31);
    SIGN_IN_LOCKOUT_FIRST_MS
        .saturating_mul(2i64.saturating_pow(doublings))
        .min(SIGN_IN_LOCKOUT_MAX_MS)
}

/// A number's record after one more wrong code at `now_ms`.
fn after_failure(
    previous: Option<store::sessions::FailuresRow>,
    now_ms: i64,
) -> store::sessions::FailuresRow {
    let failures = match previous {
        Some(p) if now_ms - p.last_failure_at_ms < SIGN_IN_FAILURES_FORGOTTEN_MS => {
            p.failures.saturating_add(1)
        }
        _ => 1,
    };
    let lockout = lockout_ms(failures);
    store::sessions::FailuresRow {
        failures,
        last_failure_at_ms: now_ms,
        locked_until_ms: if lockout > 0 { now_ms + lockout } else { 0 },
    }
}

/// The budget of a client address: an IPv4 address, or the /64 of an IPv6 one (a subscriber
/// usually holds a whole /64, so single addresses would not limit anyone).
fn address_budget(client: IpAddr) -> String {
    match client {
        IpAddr::V4(v4) => format!("address:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("address:{v4}"),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("address:{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
    }
}

/// Takes one from a budget, or refuses with the wait until its window starts again.
async fn take(
    tx: &mut store::Tx,
    budget: &str,
    window_ms: i64,
    max: i64,
    refusal: ErrorCode,
    now_ms: i64,
) -> Result<i64, ServiceError> {
    let used = store::sessions::take_budget(tx, budget, now_ms, window_ms).await?;
    if used.used > max {
        let wait_ms = used.window_started_at_ms + window_ms - now_ms;
        return Err(ServiceError::new(
            refusal,
            format!("at most {max} codes per {} s", window_ms / 1000),
        )
        .retry_after_ms(wait_ms));
    }
    Ok(used.used)
}

fn locked(row: &store::sessions::FailuresRow, now_ms: i64) -> Option<ServiceError> {
    (row.locked_until_ms > now_ms).then(|| {
        ServiceError::new(
            ErrorCode::SignInLocked,
            format!("{} wrong codes in a row", row.failures),
        )
        .retry_after_ms(row.locked_until_ms - now_ms)
    })
}

/// No code for a locked number, nor within the resend interval of the last one.
async fn refuse_locked_or_too_soon(
    tx: &mut store::Tx,
    phone: &PhoneNumber,
    now_ms: i64,
) -> Result<(), ServiceError> {
    if let Some(failures) = store::sessions::failures_of(tx, phone.as_e164()).await?
        && let Some(refusal) = locked(&failures, now_ms)
    {
        return Err(refusal);
    }
    if let Some(existing) = store::sessions::code_of(tx, phone.as_e164()).await?
        && now_ms - existing.created_at_ms < SIGN_IN_RESEND_MS
    {
        return Err(ServiceError::new(
            ErrorCode::RateLimited,
            "a code was sent less than 30 s ago",
        )
        .retry_after_ms(existing.created_at_ms + SIGN_IN_RESEND_MS - now_ms));
    }
    Ok(())
}

/// Sends a fresh six-digit code to the number (through the SMS outbox, ahead of other
/// messages), in the language the passenger chose by SMS (КАЗ/РУС/ENG) if they did, else in
/// `language`. `client` is the address asking, for its budget. Nothing is sent to a number no
/// operator serves, to a locked number, or beyond a budget.
pub async fn request_code(
    app: &App,
    phone: &PhoneNumber,
    language: Language,
    client: IpAddr,
) -> Result<(), ServiceError> {
    let now_ms = app.now_ms();
    if app.catalogue().prefixes.operator_of(phone).is_none() {
        return Err(ServiceError::new(
            ErrorCode::OperatorNotServed,
            "no operator serves this number's prefix",
        ));
    }
    let mut tx = app.store.begin().await?;
    // The number's budget first: its row stays locked until the end, so requests for one
    // number at once are judged one after the other (one code per resend interval).
    let phone_budget = format!("phone:{}", phone.as_e164());
    take(
        &mut tx,
        &phone_budget,
        SIGN_IN_PHONE_WINDOW_MS,
        SIGN_IN_CODES_PER_PHONE_MAX,
        ErrorCode::SignInCodesExhausted,
        now_ms,
    )
    .await?;
    refuse_locked_or_too_soon(&mut tx, phone, now_ms).await?;
    // A refusal drops the transaction, so what the budgets before it took is given back.
    let address = address_budget(client);
    take(
        &mut tx,
        &address,
        SIGN_IN_ADDRESS_WINDOW_MS,
        SIGN_IN_CODES_PER_ADDRESS_MAX,
        ErrorCode::RateLimited,
        now_ms,
    )
    .await?;
    let overall_max = app.settings.sign_in_codes_per_minute_max;
    let overall_used = take(
        &mut tx,
        "all",
        SIGN_IN_OVERALL_WINDOW_MS,
        overall_max,
        ErrorCode::SignInBusy,
        now_ms,
    )
    .await?;
    let language = store::passengers::get(&mut tx, phone.as_e164())
        .await?
        .and_then(|p| Language::from_code(&p.language))
        .unwrap_or(language);
    let random: [u8; 4] = crate::random_bytes()?;
    let code = format!("{:06}", u32::from_le_bytes(random) % 1_000_000);
    let row = store::sessions::SignInCodeRow {
        phone: phone.as_e164().to_owned(),
        code_hash: digest(&[phone.as_e164(), &code]),
        attempts: 0,
        expires_at_ms: now_ms + SIGN_IN_CODE_TTL_MS,
        created_at_ms: now_ms,
    };
    store::sessions::put_code(&mut tx, &row).await?;
    store::sms::enqueue_with(
        &mut tx,
        phone.as_e164(),
        &code_text(language, &code),
        None,
        store::sms::OutboxPriority::SignInCode,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    if overall_used == 1 {
        forget_old_budgets(app, now_ms).await;
    }
    Ok(())
}

/// Drops budgets and failures older than a day, once per overall window (by the request that
/// started it) and in a transaction of its own: the rows of a flood of numbers and addresses
/// go once their windows pass, and no request waits on the clean-up. A failure only leaves
/// the rows to the next clean-up.
async fn forget_old_budgets(app: &App, now_ms: i64) {
    let forgotten = async {
        let mut tx = app.store.begin().await?;
        store::sessions::forget_before(&mut tx, now_ms - DAY_MS).await?;
        tx.commit().await
    };
    if let Err(error) = forgotten.await {
        tracing::warn!(%error, "sign-in budgets not cleaned up");
    }
}

#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    /// The public name of the session (listed, ended by); not a secret.
    pub id: String,
    pub phone: PhoneNumber,
    pub expires_at_ms: i64,
}

/// A label for the device from its User-Agent: printable characters only, cut to length.
pub fn device_label(user_agent: &str) -> Option<String> {
    let label: String = user_agent
        .chars()
        .filter(|c| !c.is_control())
        .take(SESSION_DEVICE_CHARS_MAX)
        .collect();
    let label = label.trim();
    (!label.is_empty()).then(|| label.to_owned())
}

/// Trades a correct code for a session; `device` labels it in the passenger's list.
pub async fn sign_in(
    app: &App,
    phone: &PhoneNumber,
    code: &str,
    device: Option<&str>,
) -> Result<Session, ServiceError> {
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    // First, so that guesses sent at once are counted one after the other, none unseen.
    let failures = store::sessions::lock_failures(&mut tx, phone.as_e164()).await?;
    if let Some(refusal) = locked(&failures, now_ms) {
        return Err(refusal);
    }
    let Some(stored) = store::sessions::code_of(&mut tx, phone.as_e164()).await? else {
        return Err(ErrorCode::SignInCodeInvalid.into());
    };
    if stored.expires_at_ms <= now_ms || stored.attempts >= SIGN_IN_ATTEMPTS_MAX {
        return Err(ErrorCode::SignInCodeInvalid.into());
    }
    if stored.code_hash != digest(&[phone.as_e164(), code.trim()]) {
        store::sessions::count_attempt(&mut tx, phone.as_e164()).await?;
        let after = after_failure(Some(failures), now_ms);
        store::sessions::put_failures(&mut tx, phone.as_e164(), &after).await?;
        tx.commit().await?;
        return Err(locked(&after, now_ms).unwrap_or_else(|| ErrorCode::SignInCodeInvalid.into()));
    }
    let random: [u8; 32] = crate::random_bytes()?;
    let token = crate::hex(&random);
    let id_bytes: [u8; SESSION_ID_CHARS / 2] = crate::random_bytes()?;
    let id = crate::hex(&id_bytes);
    let expires_at_ms = now_ms + SESSION_TTL_MS;
    store::sessions::clear_failures(&mut tx, phone.as_e164()).await?;
    store::sessions::delete_code(&mut tx, phone.as_e164()).await?;
    store::sessions::trim_sessions(
        &mut tx,
        phone.as_e164(),
        now_ms,
        SESSIONS_PER_PASSENGER_MAX - 1,
    )
    .await?;
    let device = device.and_then(device_label);
    let new = store::sessions::NewSession {
        id: &id,
        token_hash: &digest(&[&token]),
        phone: phone.as_e164(),
        device: device.as_deref(),
        expires_at_ms,
        now_ms,
    };
    store::sessions::insert_session(&mut tx, &new).await?;
    tx.commit().await?;
    Ok(Session {
        token,
        id,
        phone: phone.clone(),
        expires_at_ms,
    })
}

/// The passenger and session behind a session token.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub phone: PhoneNumber,
    pub session_id: String,
}

/// Who holds this session token; notes the use (at most once a
/// [`SESSION_LAST_USED_STEP_MS`]) for the passenger's list of sessions.
pub async fn current(app: &App, token: &str) -> Result<SignedIn, ServiceError> {
    if token.is_empty() || token.len() > SESSION_TOKEN_CHARS_MAX {
        return Err(ErrorCode::SignInRequired.into());
    }
    let now_ms = app.now_ms();
    let token_hash = digest(&[token]);
    let mut conn = app.store.reader().await?;
    let session = store::sessions::session_of(&mut conn, &token_hash, now_ms)
        .await?
        .ok_or(ErrorCode::SignInRequired)?;
    drop(conn);
    let step_before_ms = now_ms - SESSION_LAST_USED_STEP_MS;
    if session.last_used_at_ms < step_before_ms {
        let mut tx = app.store.begin().await?;
        store::sessions::touch_session(&mut tx, &token_hash, now_ms, step_before_ms).await?;
        tx.commit().await?;
    }
    let phone = PhoneNumber::parse(&session.phone)
        .map_err(|e| ServiceError::internal(format!("session phone: {e}")))?;
    Ok(SignedIn {
        phone,
        session_id: session.id,
    })
}

/// The passenger behind a session token.
pub async fn passenger(app: &App, token: &str) -> Result<PhoneNumber, ServiceError> {
    current(app, token).await.map(|signed_in| signed_in.phone)
}

pub async fn sign_out(app: &App, token: &str) -> Result<(), ServiceError> {
    let mut tx = app.store.begin().await?;
    store::sessions::delete_session(&mut tx, &digest(&[token])).await?;
    tx.commit().await?;
    Ok(())
}

/// One of a passenger's sessions as they see it: never the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: String,
    pub device: Option<String>,
    pub created_at_ms: i64,
    pub last_used_at_ms: i64,
    pub expires_at_ms: i64,
    /// The session this request came with.
    pub current: bool,
}

/// The passenger's live sessions, most recently used first.
pub async fn list(app: &App, signed_in: &SignedIn) -> Result<Vec<SessionInfo>, ServiceError> {
    let mut conn = app.store.reader().await?;
    let rows = store::sessions::sessions_of_phone(
        &mut conn,
        signed_in.phone.as_e164(),
        app.now_ms(),
        SESSIONS_PER_PASSENGER_MAX,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| SessionInfo {
            current: row.id == signed_in.session_id,
            id: row.id,
            device: row.device,
            created_at_ms: row.created_at_ms,
            last_used_at_ms: row.last_used_at_ms,
            expires_at_ms: row.expires_at_ms,
        })
        .collect())
}

/// Ends one of the passenger's own sessions (the current one too); another passenger's
/// session, or none, is `NOT_FOUND`.
pub async fn end(app: &App, signed_in: &SignedIn, id: &str) -> Result<(), ServiceError> {
    if id.len() != SESSION_ID_CHARS {
        return Err(ErrorCode::NotFound.into());
    }
    let mut tx = app.store.begin().await?;
    let ended =
        store::sessions::delete_session_of_phone(&mut tx, signed_in.phone.as_e164(), id).await?;
    tx.commit().await?;
    if ended {
        Ok(())
    } else {
        Err(ErrorCode::NotFound.into())
    }
}

/// Ends every session of the passenger except the one this request came with.
pub async fn end_others(app: &App, signed_in: &SignedIn) -> Result<u64, ServiceError> {
    let mut tx = app.store.begin().await?;
    let ended = store::sessions::delete_other_sessions(
        &mut tx,
        signed_in.phone.as_e164(),
        &signed_in.session_id,
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lockout_grows_from_the_first_failure_beyond_the_free_ones_and_is_capped() {
        let waits: Vec<i64> = (1..=14).map(lockout_ms).collect();
        let minute = SIGN_IN_LOCKOUT_FIRST_MS;
        assert_eq!(
            waits,
            [
                0,
                0,
                0,
                0,
                0,
                minute,
                2 * minute,
                4 * minute,
                8 * minute,
                16 * minute,
                32 * minute
            ]
            .into_iter()
            .chain([SIGN_IN_LOCKOUT_MAX_MS; 3])
            .collect::<Vec<_>>()
        );
        assert_eq!(lockout_ms(i64::MAX), SIGN_IN_LOCKOUT_MAX_MS);
    }

    #[test]
    fn a_quiet_day_forgets_the_failures() {
        let row = store::sessions::FailuresRow {
            failures: 9,
            last_failure_at_ms: 0,
            locked_until_ms: 0,
        };
        assert_eq!(after_failure(Some(row), 1_000).failures, 10);
        let later = after_failure(Some(row), SIGN_IN_FAILURES_FORGOTTEN_MS);
        assert_eq!((later.failures, later.locked_until_ms), (1, 0));
    }

    #[test]
    fn an_ipv6_client_is_budgeted_by_its_64() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let two: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(address_budget(one), address_budget(two));
        assert_eq!(address_budget(one), "address:2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(address_budget(mapped), "address:203.0.113.7");
    }
}
