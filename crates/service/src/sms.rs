//! Answering an SMS to 2505, whatever carried it (the gateway endpoint, the CLI, later SMPP).
//! The SMSC may deliver a message twice: it is recorded by (SMSC, message id, sender) and its
//! ride uses the message id as idempotency key, so a redelivery never pays twice.

use domain::sms::{HELP, LANGUAGE_SET, SmsCommand, TicketReply, parse_command, ticket_text};
use domain::{ErrorCode, Language, PhoneNumber};
use store::sms::Recorded;

use crate::metrics::Metrics;
use crate::rides::{Channel, IdempotencyKey, RideOutcome, RideRequest, buy_ticket};
use crate::tickets::IssuedTicket;
use crate::{App, ServiceError};

/// What the SMSC hands us.
#[derive(Clone, Debug)]
pub struct IncomingSms {
    /// The SMSC (operator) that delivered it.
    pub smsc: String,
    pub message_id: String,
    pub sender: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsReply {
    pub to: String,
    pub text: String,
    /// True when the message was delivered before and this is the reply given then.
    pub duplicate: bool,
}

pub const SMS_FIELD_CHARS_MAX: usize = 64;
pub const SMS_TEXT_CHARS_MAX: usize = 1_000;

pub async fn handle_sms(app: &App, mut sms: IncomingSms) -> Result<SmsReply, ServiceError> {
    let too_long = sms.smsc.len() > SMS_FIELD_CHARS_MAX
        || sms.message_id.len() > SMS_FIELD_CHARS_MAX
        || sms.sender.len() > SMS_FIELD_CHARS_MAX;
    if too_long || sms.smsc.is_empty() || sms.message_id.is_empty() {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            "smsc, message_id and sender are 1..=64 characters",
        ));
    }
    // A passenger's long message (a concatenated SMS) still gets an answer — the help text, as
    // no command is that long; only its beginning is kept.
    if sms.text.chars().count() > SMS_TEXT_CHARS_MAX {
        sms.text = sms.text.chars().take(SMS_TEXT_CHARS_MAX).collect();
    }
    Metrics::add(&app.metrics.sms_received);
    let phone = match PhoneNumber::parse(&sms.sender) {
        Ok(phone) => phone,
        Err(domain::phone::PhoneError::OtherCountry) => {
            return Ok(reply(&sms, ErrorCode::PhoneForeign.message(Language::Ru)));
        }
        Err(domain::phone::PhoneError::Malformed) => {
            return Err(ServiceError::new(ErrorCode::PhoneMalformed, "sender"));
        }
    };
    let now_ms = app.now_ms();
    // A message seen before but never answered (the process stopped on it) is handled again;
    // its ride's idempotency key makes sure it is charged once.
    let redelivered;
    {
        let mut tx = app.store.begin().await?;
        let recorded = store::sms::record_incoming(
            &mut tx,
            &sms.smsc,
            &sms.message_id,
            phone.as_e164(),
            &sms.text,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        redelivered = matches!(recorded, Recorded::Duplicate(_));
        if let Recorded::Duplicate(Some(text)) = recorded {
            Metrics::add(&app.metrics.sms_duplicates);
            return Ok(SmsReply {
                to: phone.as_e164().into(),
                text,
                duplicate: true,
            });
        }
    }
    let language = {
        let mut conn = app.store.reader().await?;
        store::passengers::get(&mut conn, phone.as_e164())
            .await?
            .and_then(|p| Language::from_code(&p.language))
            .unwrap_or_default()
    };
    let text = match parse_command(&sms.text) {
        SmsCommand::SetLanguage(new) => {
            let mut tx = app.store.begin().await?;
            store::passengers::set_language(&mut tx, phone.as_e164(), new.code(), now_ms).await?;
            tx.commit().await?;
            LANGUAGE_SET.get(new).to_owned()
        }
        SmsCommand::Help | SmsCommand::Unrecognised => HELP.get(language).to_owned(),
        SmsCommand::ZoneInvalid => ErrorCode::ZoneUnknown.message(language).to_owned(),
        SmsCommand::Ride { vehicle, zone } => {
            let request = RideRequest {
                phone: phone.clone(),
                vehicle,
                zone,
                channel: Channel::Sms,
                idempotency: IdempotencyKey::new(
                    format!("sms:{}:{}", sms.smsc, phone.as_e164()),
                    &sms.message_id,
                )?,
                language,
            };
            match buy_ticket(app, request).await {
                Ok(RideOutcome::Issued(ticket)) => ticket_reply(app, language, &ticket),
                Ok(RideOutcome::Pending { .. }) => {
                    ErrorCode::PaymentPending.message(language).to_owned()
                }
                Err(error) => {
                    if error.code == ErrorCode::Internal {
                        tracing::error!(%error, "SMS ride failed");
                    }
                    error.code.message(language).to_owned()
                }
            }
        }
    };
    let mut tx = app.store.begin().await?;
    store::sms::set_reply(&mut tx, &sms.smsc, &sms.message_id, phone.as_e164(), &text).await?;
    tx.commit().await?;
    Ok(SmsReply {
        to: phone.as_e164().into(),
        text,
        duplicate: redelivered,
    })
}

fn reply(sms: &IncomingSms, text: &str) -> SmsReply {
    SmsReply {
        to: sms.sender.clone(),
        text: text.to_owned(),
        duplicate: false,
    }
}

/// The ticket SMS in the passenger's language, with the time of purchase in the city's time.
pub fn ticket_reply(app: &App, language: Language, ticket: &IssuedTicket) -> String {
    let catalogue = app.catalogue();
    let city = domain::catalogue::CityId::parse(&ticket.city_id)
        .ok()
        .and_then(|id| catalogue.cities.get(&id).cloned());
    let city_name = city
        .as_ref()
        .map(|c| c.name(language).to_owned())
        .unwrap_or_else(|| ticket.city_id.clone());
    let offset_minutes = city.as_ref().map_or(300, |c| c.utc_offset_minutes);
    let bought_at_local = local_time(ticket.issued_at_ms, offset_minutes);
    ticket_text(
        language,
        &TicketReply {
            check_number: &ticket.check_number,
            city_name: &city_name,
            route_number: &ticket.route_number,
            plate: &ticket.plate,
            fare: ticket.amount,
            bought_at_local: &bought_at_local,
            link: &ticket.link,
        },
    )
}

/// `HH:MM DD.MM` at a fixed UTC offset (Kazakhstan has one time zone, UTC+5, since 2024-03-01).
pub fn local_time(at_ms: i64, utc_offset_minutes: i32) -> String {
    let zone = jiff::tz::Offset::from_seconds(utc_offset_minutes.saturating_mul(60))
        .unwrap_or(jiff::tz::Offset::UTC);
    match jiff::Timestamp::from_millisecond(at_ms) {
        Ok(ts) => ts
            .to_zoned(jiff::tz::TimeZone::fixed(zone))
            .strftime("%H:%M %d.%m")
            .to_string(),
        Err(_) => String::new(),
    }
}
