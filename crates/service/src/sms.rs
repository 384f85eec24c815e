//! Answering an SMS to 2505, whatever carried it (the gateway endpoint, the CLI, later SMPP).
//! The SMSC may deliver a message twice: it is recorded by (SMSC, message id, sender) and its
//! ride uses the message id as idempotency key, so a redelivery never pays twice.

use domain::ride::RideStatus;
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
    let (text, told) = compose_reply(app, &sms, &phone).await?;
    let mut tx = app.store.begin().await?;
    store::sms::set_reply(&mut tx, &sms.smsc, &sms.message_id, phone.as_e164(), &text).await?;
    if let Some(told) = &told {
        told.record(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(SmsReply {
        to: phone.as_e164().into(),
        text,
        duplicate: redelivered,
    })
}

/// What a reply tells its passenger of their ride, recorded in the reply's transaction so the
/// recovery pass knows who still has to hear the outcome.
struct Told {
    scope: String,
    key: String,
    /// `Issued` or `Failed`.
    status: RideStatus,
}

impl Told {
    async fn record(&self, tx: &mut dyn store::db::Executor) -> Result<(), ServiceError> {
        store::rides::mark_told(tx, &self.scope, &self.key, self.status.as_str()).await?;
        Ok(())
    }
}

/// The reply to a recorded message: runs its command (a ride, a language switch, help), and
/// what it tells of a ride.
async fn compose_reply(
    app: &App,
    sms: &IncomingSms,
    phone: &PhoneNumber,
) -> Result<(String, Option<Told>), ServiceError> {
    let language = {
        let mut conn = app.store.reader().await?;
        store::passengers::get(&mut conn, phone.as_e164())
            .await?
            .and_then(|p| Language::from_code(&p.language))
            .unwrap_or_default()
    };
    let now_ms = app.now_ms();
    let mut told: Option<Told> = None;
    let text = match parse_command(&sms.text) {
        SmsCommand::SetLanguage(new) => {
            let mut tx = app.store.begin().await?;
            store::passengers::set_language(&mut tx, phone.as_e164(), new.code(), now_ms).await?;
            tx.commit().await?;
            LANGUAGE_SET.get(new).to_owned()
        }
        SmsCommand::Help | SmsCommand::Unrecognised => HELP.get(language).to_owned(),
        SmsCommand::ZoneInvalid => ErrorCode::ZoneUnknown.message(language).to_owned(),
        command @ (SmsCommand::Ride { .. } | SmsCommand::RideFromCard { .. }) => {
            let (vehicle, zone, additional, card) = match command {
                SmsCommand::Ride {
                    vehicle,
                    zone,
                    additional,
                } => (vehicle, zone, additional, None),
                SmsCommand::RideFromCard {
                    vehicle,
                    zone,
                    additional,
                    card_last_four,
                } => (vehicle, zone, additional, Some(card_last_four)),
                _ => return Err(ServiceError::internal("not a ride")),
            };
            let payer = match card {
                None => crate::payment::Payer::PhoneBalance(phone.clone()),
                Some(four) => {
                    let choice = crate::cards::CardChoice::LastFour(four);
                    match crate::cards::payer(app, phone, &choice).await {
                        Ok(payer) => payer,
                        Err(error) => return Ok((refusal_text(app, language, &error), None)),
                    }
                }
            };
            let request = RideRequest {
                payer,
                vehicle,
                zone,
                additional,
                channel: Channel::Sms,
                idempotency: IdempotencyKey::of_message_id(
                    idempotency_scope(&sms.smsc, phone),
                    &sms.message_id,
                ),
                language,
            };
            let (scope, key) = (
                request.idempotency.scope.clone(),
                request.idempotency.key.clone(),
            );
            match buy_ticket(app, request).await {
                Ok(RideOutcome::Issued(ticket)) => {
                    told = Some(Told {
                        scope,
                        key,
                        status: RideStatus::Issued,
                    });
                    ticket_reply(app, language, &ticket)
                }
                Ok(RideOutcome::Pending { .. }) => PENDING.get(language).to_owned(),
                Err(error) => {
                    if error.code == ErrorCode::Internal {
                        tracing::error!(%error, "SMS ride failed");
                    } else {
                        told = Some(Told {
                            scope,
                            key,
                            status: RideStatus::Failed,
                        });
                    }
                    refusal_text(app, language, &error)
                }
            }
        }
    };
    Ok((text, told))
}

/// An SMS ride's idempotency scope: its message ids are unique per SMSC and sender.
fn idempotency_scope(smsc: &str, phone: &PhoneNumber) -> String {
    format!("sms:{smsc}:{}", phone.as_e164())
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
                    let bought_at_local = app
                        .catalogue()
                        .local_time_text(&ticket.city_id, ticket.issued_at_ms);
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
    let bought_at_local = catalogue.local_time_text(&ticket.city_id, ticket.issued_at_ms);
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
            card_last_four: ticket.card_last_four.as_deref(),
            fare_basis: ticket.fare_basis,
        },
    )
}

/// Answers a message one of our SMPP binds stored (`record_incoming_via(.., Via::Smpp, ..)`):
/// runs its command and queues the reply for the SMSC that delivered it, at most once however
/// often this runs for the message (a redelivery, the sweep after a restart). True when this
/// call queued the reply.
pub async fn answer_into_outbox(
    app: &App,
    sms: &IncomingSms,
    sender_key: &str,
) -> Result<bool, ServiceError> {
    let (text, told) = match PhoneNumber::parse(&sms.sender) {
        Ok(phone) => compose_reply(app, sms, &phone).await?,
        Err(domain::phone::PhoneError::OtherCountry) => (
            ErrorCode::PhoneForeign.message(Language::Ru).to_owned(),
            None,
        ),
        // An alphanumeric or broken sender cannot be answered; the message is closed unanswered.
        Err(domain::phone::PhoneError::Malformed) => (String::new(), None),
    };
    let now_ms = app.now_ms();
    let mut tx = app.store.begin().await?;
    let first =
        store::sms::set_reply_once(&mut tx, &sms.smsc, &sms.message_id, sender_key, &text).await?;
    if first && !text.is_empty() {
        store::sms::enqueue_via_operator(&mut tx, sender_key, &text, &sms.smsc, now_ms).await?;
        if let Some(told) = &told {
            told.record(&mut tx).await?;
        }
    }
    tx.commit().await?;
    Ok(first)
}
