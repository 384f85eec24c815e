//! The SMS conversation on the short number 2505: what a passenger's text means, and the texts
//! we answer with. Transport-agnostic: the SMS gateway endpoint, the CLI and (later) SMPP all
//! feed the same parser and send the same replies.

use crate::catalogue::{CatalogueError, Zone};
use crate::messages::{Language, Text};
use crate::vehicle::{PlateNumber, TransportCode};

/// Longer messages are not commands; they get the help text without further parsing.
pub const SMS_COMMAND_CHARS_MAX: usize = 40;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VehicleRef {
    Code(TransportCode),
    Plate(PlateNumber),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmsCommand {
    /// `КАЗ`, `РУС`, `ENG`: answer in this language from now on.
    SetLanguage(Language),
    /// Pay a ride in this bus; suburban routes take the destination zone after the code.
    Ride {
        vehicle: VehicleRef,
        zone: Option<Zone>,
    },
    Help,
    /// A code or plate followed by zone `0`, which no route has.
    ZoneInvalid,
    /// Looks like neither a code nor a plate nor a word we know.
    Unrecognised,
}

/// Reads an incoming SMS. Never fails: what it cannot read is `Unrecognised`.
pub fn parse_command(text: &str) -> SmsCommand {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > SMS_COMMAND_CHARS_MAX {
        return SmsCommand::Unrecognised;
    }
    let upper = text.to_uppercase();
    // Phones mix scripts: `ЕNG` typed with a Cyrillic Е is still ENG.
    let latin: String = upper
        .chars()
        .map(|c| match c {
            'Е' => 'E',
            'А' => 'A',
            'К' => 'K',
            'Н' => 'H',
            'О' => 'O',
            'Р' => 'P',
            'С' => 'C',
            'Т' => 'T',
            'Х' => 'X',
            other => other,
        })
        .collect();
    if matches!(latin.as_str(), "ENG" | "EN" | "ENGLISH") {
        return SmsCommand::SetLanguage(Language::En);
    }
    match upper.as_str() {
        "КАЗ" | "ҚАЗ" | "KAZ" | "KZ" | "KK" | "ҚАЗАҚША" => {
            return SmsCommand::SetLanguage(Language::Kk);
        }
        "РУС" | "RUS" | "RU" | "РУ" | "ПО-РУССКИ" => {
            return SmsCommand::SetLanguage(Language::Ru);
        }
        "ENG" | "EN" | "АНГ" | "ENGLISH" => return SmsCommand::SetLanguage(Language::En),
        "?" | "HELP" | "ПОМОЩЬ" | "СПРАВКА" | "КӨМЕК" | "АНЫҚТАМА" | "INFO" =>
        {
            return SmsCommand::Help;
        }
        _ => {}
    }
    if let Some((body, "0")) = upper.rsplit_once(char::is_whitespace) {
        let body = body.trim_end();
        if TransportCode::parse(body).is_ok() || PlateNumber::parse(body).is_ok() {
            return SmsCommand::ZoneInvalid;
        }
    }
    let (body, zone) = split_zone(&upper);
    if let Ok(code) = TransportCode::parse(body) {
        return SmsCommand::Ride {
            vehicle: VehicleRef::Code(code),
            zone,
        };
    }
    if let Ok(plate) = PlateNumber::parse(body) {
        return SmsCommand::Ride {
            vehicle: VehicleRef::Plate(plate),
            zone,
        };
    }
    SmsCommand::Unrecognised
}

/// `10234 2` is code 10234 to zone 2: a trailing lone digit 1..=9 after a space is the zone.
fn split_zone(text: &str) -> (&str, Option<Zone>) {
    if let Some((body, last)) = text.rsplit_once(char::is_whitespace) {
        let zone: Option<Result<Zone, CatalogueError>> = (last.len() == 1).then(|| {
            last.parse::<u32>()
                .map_err(|_| CatalogueError::BadZone(0))
                .and_then(Zone::new)
        });
        if let Some(Ok(zone)) = zone {
            return (body.trim_end(), Some(zone));
        }
    }
    (text, None)
}

pub const HELP: Text = Text {
    kk: "SMSBUS: жол ақысын төлеу үшін автобустағы көлік кодын немесе мемлекеттік нөмірін 2505-ке жіберіңіз. Қала маңы: код пен аймақ, мысалы 13011 2. Тіл: КАЗ, РУС, ENG.",
    ru: "SMSBUS: чтобы оплатить проезд, отправьте на 2505 код транспорта с наклейки в салоне или госномер автобуса. Пригород: код и зона, например 13011 2. Язык: КАЗ, РУС, ENG.",
    en: "SMSBUS: to pay a ride, send the transport code from the sticker inside the bus, or its plate number, to 2505. Suburban: code and zone, e.g. 13011 2. Language: КАЗ, РУС, ENG.",
};

pub const LANGUAGE_SET: Text = Text {
    kk: "Жауаптар енді қазақ тілінде болады.",
    ru: "Ответы теперь будут на русском языке.",
    en: "Replies will now be in English.",
};

pub const SMS_TERMS: Text = Text {
    kk: "Төлей отырып, сіз қызмет ережелерімен келісесіз.",
    ru: "Оплачивая, вы соглашаетесь с правилами сервиса.",
    en: "By paying you accept the service rules.",
};

/// What the ticket reply says; plain fields so this module stays free of storage types.
#[derive(Clone, Debug)]
pub struct TicketReply<'a> {
    pub check_number: &'a str,
    pub city_name: &'a str,
    pub route_number: &'a str,
    pub plate: &'a str,
    pub fare: crate::money::Tenge,
    /// Local time of purchase as `HH:MM DD.MM`.
    pub bought_at_local: &'a str,
    pub link: &'a str,
}

pub fn ticket_text(language: Language, t: &TicketReply<'_>) -> String {
    let TicketReply {
        check_number,
        city_name,
        route_number,
        plate,
        fare,
        bought_at_local,
        link,
    } = t;
    match language {
        Language::Kk => format!(
            "Билет №{check_number}. {city_name}, {route_number} бағыт, {plate}. {fare}. {bought_at_local}. Соңғы аялдамаға дейін жарамды. QR: {link}"
        ),
        Language::Ru => format!(
            "Билет №{check_number}. {city_name}, маршрут {route_number}, {plate}. {fare}. {bought_at_local}. Действует до конечной. QR: {link}"
        ),
        Language::En => format!(
            "Ticket {check_number}. {city_name}, route {route_number}, {plate}. {fare}. {bought_at_local}. Valid to the final stop. QR: {link}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_language_words_in_any_script() {
        assert_eq!(parse_command("каз"), SmsCommand::SetLanguage(Language::Kk));
        assert_eq!(
            parse_command(" РУС "),
            SmsCommand::SetLanguage(Language::Ru)
        );
        assert_eq!(parse_command("eng"), SmsCommand::SetLanguage(Language::En));
        assert_eq!(parse_command("ЕNG"), SmsCommand::SetLanguage(Language::En));
        assert_eq!(parse_command("Көмек"), SmsCommand::Help);
    }

    #[test]
    fn zone_zero_is_a_bad_zone_not_another_code() {
        assert_eq!(parse_command("13011 0"), SmsCommand::ZoneInvalid);
        assert_eq!(parse_command("101 ABC 01 0"), SmsCommand::ZoneInvalid);
    }

    #[test]
    fn reads_codes_plates_and_zones() {
        let code = |s| VehicleRef::Code(TransportCode::parse(s).unwrap());
        assert_eq!(
            parse_command("10234"),
            SmsCommand::Ride {
                vehicle: code("10234"),
                zone: None
            }
        );
        assert_eq!(
            parse_command("10234 3"),
            SmsCommand::Ride {
                vehicle: code("10234"),
                zone: Some(Zone::new(3).unwrap())
            }
        );
        let plate = VehicleRef::Plate(PlateNumber::parse("123ABC02").unwrap());
        assert_eq!(
            parse_command("123 авс 02"),
            SmsCommand::Ride {
                vehicle: plate.clone(),
                zone: None
            }
        );
        assert_eq!(
            parse_command("123ABC02 2"),
            SmsCommand::Ride {
                vehicle: plate,
                zone: Some(Zone::new(2).unwrap())
            }
        );
    }

    #[test]
    fn anything_else_is_unrecognised() {
        for text in ["", "hello there", "12", "билет пожалуйста", &"9".repeat(80)] {
            assert_eq!(parse_command(text), SmsCommand::Unrecognised, "{text}");
        }
    }

    #[test]
    fn ticket_text_in_three_languages() {
        let reply = TicketReply {
            check_number: "2505-0001-0002",
            city_name: "Astana",
            route_number: "10",
            plate: "123 ABC 02",
            fare: crate::money::Tenge::from_whole(90),
            bought_at_local: "08:15 23.11",
            link: "http://x/t/abc",
        };
        for language in Language::ALL {
            let text = ticket_text(language, &reply);
            assert!(
                text.contains("2505-0001-0002")
                    && text.contains("90 ₸")
                    && text.contains("http://x/t/abc")
            );
        }
    }
}
