//! Passengers sign in to the API with their phone number: a one-time code goes out by SMS, and
//! the code buys a session token. Only hashes are stored. (The SMS channel needs no sign-in:
//! the operator vouches for the sender's number.)

use domain::{ErrorCode, Language, PhoneNumber};
use sha2::{Digest, Sha256};

use crate::{App, ServiceError};

pub const SIGN_IN_CODE_TTL_MS: i64 = 5 * 60_000;
/// A new code for the same number is sent at most this often.
pub const SIGN_IN_RESEND_MS: i64 = 30_000;
/// Wrong codes allowed before the code is void.
pub const SIGN_IN_ATTEMPTS_MAX: i64 = 5;
pub const SESSION_TTL_MS: i64 = 30 * 24 * 60 * 60_000;
pub const SESSION_TOKEN_CHARS_MAX: usize = 128;

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

/// Sends a fresh six-digit code to the number (through the SMS outbox), in the language the
/// passenger chose by SMS (КАЗ/РУС/ENG) if they did, else in `language`.
pub async fn request_code(
    app: &App,
    phone: &PhoneNumber,
    language: Language,
) -> Result<(), ServiceError> {
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let language = store::passengers::get(&mut tx, phone.as_e164())
        .await?
        .and_then(|p| Language::from_code(&p.language))
        .unwrap_or(language);
    if let Some(existing) = store::sessions::code_of(&mut tx, phone.as_e164()).await?
        && now_ms - existing.created_at_ms < SIGN_IN_RESEND_MS
    {
        return Err(ServiceError::new(
            ErrorCode::RateLimited,
            "a code was sent less than 30 s ago",
        ));
    }
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
    store::sms::enqueue(
        &mut tx,
        phone.as_e164(),
        &code_text(language, &code),
        None,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub phone: PhoneNumber,
    pub expires_at_ms: i64,
}

/// Trades a correct code for a session.
pub async fn sign_in(app: &App, phone: &PhoneNumber, code: &str) -> Result<Session, ServiceError> {
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let Some(stored) = store::sessions::code_of(&mut tx, phone.as_e164()).await? else {
        return Err(ErrorCode::SignInCodeInvalid.into());
    };
    if stored.expires_at_ms <= now_ms || stored.attempts >= SIGN_IN_ATTEMPTS_MAX {
        return Err(ErrorCode::SignInCodeInvalid.into());
    }
    if stored.code_hash != digest(&[phone.as_e164(), code.trim()]) {
        store::sessions::count_attempt(&mut tx, phone.as_e164()).await?;
        tx.commit().await?;
        return Err(ErrorCode::SignInCodeInvalid.into());
    }
    let random: [u8; 32] = crate::random_bytes()?;
    let token = crate::hex(&random);
    let expires_at_ms = now_ms + SESSION_TTL_MS;
    store::sessions::delete_code(&mut tx, phone.as_e164()).await?;
    store::sessions::insert_session(
        &mut tx,
        &digest(&[&token]),
        phone.as_e164(),
        expires_at_ms,
        now_ms,
    )
    .await?;
    tx.commit().await?;
    Ok(Session {
        token,
        phone: phone.clone(),
        expires_at_ms,
    })
}

/// The passenger behind a session token.
pub async fn passenger(app: &App, token: &str) -> Result<PhoneNumber, ServiceError> {
    if token.is_empty() || token.len() > SESSION_TOKEN_CHARS_MAX {
        return Err(ErrorCode::SignInRequired.into());
    }
    let mut conn = app.store.reader().await?;
    let phone = store::sessions::phone_of(&mut conn, &digest(&[token]), app.now_ms())
        .await?
        .ok_or(ErrorCode::SignInRequired)?;
    PhoneNumber::parse(&phone).map_err(|e| ServiceError::internal(format!("session phone: {e}")))
}

pub async fn sign_out(app: &App, token: &str) -> Result<(), ServiceError> {
    let mut tx = app.store.begin().await?;
    store::sessions::delete_session(&mut tx, &digest(&[token])).await?;
    tx.commit().await?;
    Ok(())
}
