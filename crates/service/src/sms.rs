//! Answering an SMS to 2505, whatever carried it (the gateway endpoint, the CLI, later SMPP).
//! The SMSC may deliver a message twice: it is recorded by (SMSC, message id, sender) and its
//! ride uses the message id as idempotency key, so a redelivery never pays twice.

use domain::sms::{
    HELP, LANGUAGE_SET, NO_SUCH_ZONE, PENDING, RepeatReply, SmsCommand, TicketReply, parse_command,
    repeat_pending_text, repeat_text, ticket_text, zone_required_text,
};
use domain::{ErrorCode, Language, PhoneNumber};
use store::sms::Recorded;

use crate::error::Refusal;
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
    let too_long = |field: &str| field.chars().count() > SMS_FIELD_CHARS_MAX;
    let too_long = too_long(&sms.smsc) || too_long(&sms.message_id) || too_long(&sms.sender);
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
        SmsCommand::Ride {
            vehicle,
            zone,
            additional,
        } => {
            let request = RideRequest {
                payer: crate::payment::Payer::PhoneBalance(phone.clone()),
                vehicle,
                zone,
                additional,
                channel: Channel::Sms,
                idempotency: IdempotencyKey::of_message_id(
                    format!("sms:{}:{}", sms.smsc, phone.as_e164()),
                    &sms.message_id,
                ),
                language,
            };
            match buy_ticket(app, request).await {
                Ok(RideOutcome::Issued(ticket)) => ticket_reply(app, language, &ticket),
                Ok(RideOutcome::Pending { .. }) => PENDING.get(language).to_owned(),
                Err(error) => {
                    if error.code == ErrorCode::Internal {
                        tracing::error!(%error, "SMS ride failed");
                    }
                    refusal_text(app, language, &error)
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

/// A refusal as an SMS: the code's message, or, where the refusal carries facts, a text built
/// from them (the zones and their fares; the ticket already held and how to buy another).
pub fn refusal_text(app: &App, language: Language, error: &ServiceError) -> String {
    match error.context.as_deref() {
        Some(Refusal::ZoneRequired {
            route_number,
            transport_code,
            zones,
        }) if !zones.is_empty() => {
            let text = zone_required_text(language, route_number, zones, transport_code);
            if error.code == ErrorCode::ZoneUnknown {
                format!("{} {text}", NO_SUCH_ZONE.get(language))
            } else {
                text
            }
        }
        Some(Refusal::AlreadyHeld {
            ticket,
            tickets_held,
            transport_code,
            zone,
            ..
        }) => {
            let another = command_for_another(transport_code, *zone);
            match ticket.as_deref() {
                Some(ticket) => {
                    let bought_at_local = local_time(ticket.issued_at_ms, city_offset(app, ticket));
                    repeat_text(
                        language,
                        &RepeatReply {
                            check_number: &ticket.check_number,
                            bought_at_local: &bought_at_local,
                            link: &ticket.link,
                            tickets_held: *tickets_held,
                            command_for_another: &another,
                        },
                    )
                }
                None => repeat_pending_text(language, &another),
            }
        }
        _ => error.code.message(language).to_owned(),
    }
}

/// What a passenger sends for one more ticket on this bus: `10101+`, `13011 3+`.
fn command_for_another(transport_code: &str, zone: Option<domain::catalogue::Zone>) -> String {
    match zone {
        Some(zone) => format!("{transport_code} {}+", zone.number()),
        None => format!("{transport_code}+"),
    }
}

fn city_offset(app: &App, ticket: &IssuedTicket) -> i32 {
    domain::catalogue::CityId::parse(&ticket.city_id)
        .ok()
        .and_then(|id| {
            app.catalogue()
                .cities
                .get(&id)
                .map(|c| c.utc_offset_minutes)
        })
        .unwrap_or(KAZAKHSTAN_UTC_OFFSET_MINUTES)
}

/// Kazakhstan has one time zone, UTC+5, since 2024-03-01; a city missing from the catalogue
/// is read in it.
pub const KAZAKHSTAN_UTC_OFFSET_MINUTES: i32 = 300;

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
    let offset_minutes = city
        .as_ref()
        .map_or(KAZAKHSTAN_UTC_OFFSET_MINUTES, |c| c.utc_offset_minutes);
    let bought_at_local = local_time(ticket.issued_at_ms, offset_minutes);
    ticket_text(
        language,
        &TicketReply {
            check_number: &ticket.check_number,
            city_name: &city_name,
            route_number: &ticket.route_number,
            zone: ticket.zone,
            plate: &ticket.plate,
            fare: ticket.amount,
            bought_at_local: &bought_at_local,
            link: &ticket.link,
            ordinal_on_vehicle: ticket.ordinal_on_vehicle,
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
