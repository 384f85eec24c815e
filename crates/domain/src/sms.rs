//! The SMS conversation on the short number 2505: what a passenger's text means, and the texts
//! we answer with. Transport-agnostic: the SMS gateway endpoint, the CLI and SMPP all
//! feed the same parser and send the same replies.

use crate::catalogue::Zone;
use crate::messages::{Language, Text};
use crate::money::Tenge;
use crate::vehicle::{PlateNumber, TransportCode};

/// Longer messages are not commands; they get the help text without further parsing.
pub const SMS_COMMAND_CHARS_MAX: usize = 40;

crate::states! {
    /// An outbox message's way over SMPP (none while it waits for a channel: the HTTP gateway
    /// or an SMSC bind takes it). The parts' delivery receipts are kept apart, per part.
    pub enum SmppState ("SMPP state") {
        /// Handed to the HTTP SMS gateway instead; SMPP never sends it.
        Gateway = "gateway",
        /// Being submitted to the SMSC now.
        Submitting = "submitting",
        /// Every part was accepted by the SMSC (`submit_sm_resp` OK).
        Submitted = "submitted",
        /// A transient refusal or a lost bind: submitted again once due.
        Retry = "retry",
        /// Refused for good (a permanent error, or out of attempts).
        Failed = "failed",
    }
    moves {
        Submitting => Submitted, Retry, Failed;
        Retry => Submitting;
    }
}

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
        /// `+` before or after the code: one more ticket on a bus the passenger already holds a
        /// valid ticket for (a companion's). Without it such a repeat is not charged.
        additional: bool,
    },
    /// A ride paid from one of the sender's transport cards, named by its last four digits
    /// after the code: `10101 к1234`, `10101 c1234`, `10101 card 1234`, `13011 2 карта 1234`.
    RideFromCard {
        vehicle: VehicleRef,
        zone: Option<Zone>,
        additional: bool,
        /// The card's last four digits.
        card_last_four: String,
    },
    Help,
    /// A code or plate followed by zone `0`, or by a zone word and a number no route has.
    ZoneInvalid,
    /// Looks like neither a code nor a plate nor a word we know.
    Unrecognised,
}

/// What marks a request for one more ticket on the same bus.
pub const ADDITIONAL_MARK: char = '+';

/// Reads an incoming SMS. Never fails: what it cannot read is `Unrecognised`.
pub fn parse_command(text: &str) -> SmsCommand {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > SMS_COMMAND_CHARS_MAX {
        return SmsCommand::Unrecognised;
    }
    let upper = text.to_uppercase();
    if let Some(language) = language_word(&upper) {
        return SmsCommand::SetLanguage(language);
    }
    if matches!(
        upper.as_str(),
        "?" | "HELP" | "ПОМОЩЬ" | "СПРАВКА" | "КӨМЕК" | "АНЫҚТАМА" | "INFO"
    ) {
        return SmsCommand::Help;
    }
    if let Some((rest, card_last_four)) = split_card(&upper) {
        return match parse_command(&rest) {
            SmsCommand::Ride {
                vehicle,
                zone,
                additional,
            } => SmsCommand::RideFromCard {
                vehicle,
                zone,
                additional,
                card_last_four,
            },
            SmsCommand::ZoneInvalid => SmsCommand::ZoneInvalid,
            _ => SmsCommand::Unrecognised,
        };
    }
    let additional = upper.contains(ADDITIONAL_MARK);
    let upper: String = upper.chars().filter(|c| *c != ADDITIONAL_MARK).collect();
    let (body, zone) = match split_zone(upper.trim()) {
        ZoneSpec::None(body) => (body, None),
        ZoneSpec::Zone(body, zone) => (body, Some(zone)),
        ZoneSpec::Invalid(body) => {
            return if vehicle_ref(body).is_some() {
                SmsCommand::ZoneInvalid
            } else {
                SmsCommand::Unrecognised
            };
        }
    };
    match vehicle_ref(body) {
        Some(vehicle) => SmsCommand::Ride {
            vehicle,
            zone,
            additional,
        },
        None => SmsCommand::Unrecognised,
    }
}

/// Words that name a card before its last four digits: `К1234`, `C1234`, `CARD 1234`.
const CARD_WORDS: [&str; 7] = ["КАРТА", "КАРТ", "CARD", "К", "K", "С", "C"];

/// Splits a trailing card reference (a card word and exactly four digits, apart from the
/// code) off an upper-cased message: the rest and the four digits.
fn split_card(upper: &str) -> Option<(String, String)> {
    let tokens: Vec<&str> = upper.split_whitespace().collect();
    let (last, before) = tokens.split_last()?;
    let four = |t: &str| t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit());
    let (digits, rest) = if let Some(digits) = CARD_WORDS
        .iter()
        .find_map(|w| last.strip_prefix(w).filter(|d| four(d)))
    {
        (digits, before)
    } else if four(last) {
        let (word, rest) = before.split_last()?;
        if !CARD_WORDS.contains(word) || word.chars().count() == 1 {
            return None;
        }
        (*last, rest)
    } else {
        return None;
    };
    if rest.is_empty() {
        return None;
    }
    Some((rest.join(" "), digits.to_owned()))
}

fn vehicle_ref(text: &str) -> Option<VehicleRef> {
    if let Ok(code) = TransportCode::parse(text) {
        return Some(VehicleRef::Code(code));
    }
    PlateNumber::parse(text).ok().map(VehicleRef::Plate)
}

/// `КАЗ`, `РУС`, `ENG` and the ways people write them; phones mix scripts, so `ЕNG` typed
/// with a Cyrillic Е is still ENG.
fn language_word(upper: &str) -> Option<Language> {
    let word = upper.trim_end_matches('.');
    let latin: String = word
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
        return Some(Language::En);
    }
    match word {
        "КАЗ" | "ҚАЗ" | "KAZ" | "KZ" | "KK" | "ҚАЗАҚША" | "КАЗАХСКИЙ" => {
            Some(Language::Kk)
        }
        "РУС" | "RUS" | "RU" | "РУ" | "ПО-РУССКИ" | "РУССКИЙ" | "ОРЫСША" => {
            Some(Language::Ru)
        }
        "АНГ" | "АНГЛ" | "ЕНГ" | "ИНГ" | "АНГЛИЙСКИЙ" | "АҒЫЛШЫН" | "АҒЫЛШЫНША" | "АГЫЛШЫН" => {
            Some(Language::En)
        }
        _ => None,
    }
}

enum ZoneSpec<'a> {
    None(&'a str),
    Zone(&'a str, Zone),
    Invalid(&'a str),
}

/// Words that may stand before the zone number: `13011 зона 3`, `13011 з3`, `13011 zone 3`.
const ZONE_WORDS: [&str; 8] = ["ZONE", "ZONA", "Z", "ЗОНА", "ЗОН", "З", "АЙМАҚ", "АЙМАК"];
/// What may separate the code from its zone: `13011 3`, `13011-3`, `13011/3`.
const ZONE_SEPARATORS: [char; 6] = [' ', '-', '/', ',', ':', '.'];

/// Splits a trailing zone off a code or plate. A lone digit after a separator is a zone
/// (`10234 2`, `10234-2`); after a zone word any number is meant as a zone (`зона 12` is a
/// bad zone, not another code); two digits without a word are a plate's region (`101 ABC 01`).
fn split_zone(text: &str) -> ZoneSpec<'_> {
    let digits_start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit())
        .last()
        .map(|(i, _)| i);
    let Some(digits_start) = digits_start else {
        return ZoneSpec::None(text);
    };
    let digits = text.get(digits_start..).unwrap_or("");
    let before = text.get(..digits_start).unwrap_or("");
    let trimmed = before.trim_end_matches(|c: char| ZONE_SEPARATORS.contains(&c));
    let word = ZONE_WORDS
        .iter()
        .find(|w| trimmed.ends_with(*w))
        .filter(|w| {
            // The word must stand apart from the code: `13011 З3`, `13011З3`, not a plate's letters.
            let rest = trimmed.get(..trimmed.len() - w.len()).unwrap_or("");
            rest.ends_with(|c: char| c.is_ascii_digit() || ZONE_SEPARATORS.contains(&c))
        });
    let body = match word {
        Some(w) => trimmed.get(..trimmed.len() - w.len()).unwrap_or(""),
        None if trimmed.len() < before.len() => trimmed,
        None => return ZoneSpec::None(text),
    };
    let body = body.trim_end_matches(|c: char| ZONE_SEPARATORS.contains(&c));
    if body.is_empty() {
        return ZoneSpec::None(text);
    }
    if word.is_none() && digits.len() > 1 {
        return ZoneSpec::None(text);
    }
    match digits.parse::<u32>().map(Zone::new) {
        Ok(Ok(zone)) => ZoneSpec::Zone(body, zone),
        _ => ZoneSpec::Invalid(body),
    }
}

pub const HELP: Text = Text {
    kk: "SMSBUS: жол ақысын төлеу үшін автобустағы көлік кодын немесе мемлекеттік нөмірін 2505-ке жіберіңіз. Қала маңы: код пен аймақ, мысалы 13011 2. Серігіңізге тағы бір билет: кодқа плюс қосыңыз, мысалы 10101+. Көлік картасынан: кодтан кейін к және картаның соңғы төрт цифры, мысалы 10101 к1234. Тіл: КАЗ, РУС, ENG.",
    ru: "SMSBUS: чтобы оплатить проезд, отправьте на 2505 код транспорта с наклейки в салоне или госномер автобуса. Пригород: код и зона, например 13011 2. Ещё билет для попутчика: код с плюсом, например 10101+. С транспортной карты: после кода к и последние четыре цифры карты, например 10101 к1234. Язык: КАЗ, РУС, ENG.",
    en: "SMSBUS: to pay a ride, send the transport code from the sticker inside the bus, or its plate number, to 2505. Suburban: code and zone, e.g. 13011 2. One more ticket for a companion: the code with a plus, e.g. 10101+. From a transport card: after the code c and the card's last four digits, e.g. 10101 c1234. Language: КАЗ, РУС, ENG.",
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

/// The reply while the operator has not confirmed yet: an SMS passenger has no app section to
/// look in, the ticket comes as its own SMS.
pub const PENDING: Text = Text {
    kk: "Төлем оператормен расталуда. Билет бөлек SMS болып келеді; ақша екі рет алынбайды. Қайта жіберудің қажеті жоқ.",
    ru: "Платёж подтверждается оператором. Билет придёт отдельным SMS; дважды деньги не спишутся. Повторно отправлять не нужно.",
    en: "Your operator is confirming the payment. The ticket will come in a separate SMS; you will never be charged twice. No need to send again.",
};

/// What the ticket reply says; plain fields so this module stays free of storage types.
#[derive(Clone, Debug)]
pub struct TicketReply<'a> {
    pub check_number: &'a str,
    pub city_name: &'a str,
    pub route_number: &'a str,
    /// The destination zone of a zone fare.
    pub zone: Option<Zone>,
    pub plate: &'a str,
    pub fare: Tenge,
    /// Local time of purchase as `HH:MM DD.MM`.
    pub bought_at_local: &'a str,
    pub link: &'a str,
    /// 1 for the passenger's only valid ticket on this bus, 2 for a second one, …
    pub ordinal_on_vehicle: u32,
    /// The last four digits of the transport card that paid; None: the phone balance.
    pub card_last_four: Option<&'a str>,
    /// A card ride's transfer or daily cap, said after the fare.
    pub fare_basis: crate::fare_policy::FareBasis,
}

pub fn ticket_text(language: Language, t: &TicketReply<'_>) -> String {
    let TicketReply {
        check_number,
        city_name,
        route_number,
        zone,
        plate,
        fare,
        bought_at_local,
        link,
        ordinal_on_vehicle,
        card_last_four,
        fare_basis,
    } = t;
    // "90 ₸ с карты •••• 6587": a card ride says which card paid.
    let fare = match card_last_four {
        Some(last) => match language {
            Language::Kk => format!("{fare}, •••• {last} картасынан"),
            Language::Ru => format!("{fare} с карты •••• {last}"),
            Language::En => format!("{fare} from card •••• {last}"),
        },
        None => fare.to_string(),
    };
    // "0 ₸ (пересадка)", "20 ₸ (дневной лимит)": why a card ride cost less.
    let fare = match (fare_basis, language) {
        (crate::fare_policy::FareBasis::Full, _) => fare,
        (crate::fare_policy::FareBasis::Transfer, Language::Kk) => format!("{fare} (ауысып отыру)"),
        (crate::fare_policy::FareBasis::Transfer, Language::Ru) => format!("{fare} (пересадка)"),
        (crate::fare_policy::FareBasis::Transfer, Language::En) => format!("{fare} (transfer)"),
        (crate::fare_policy::FareBasis::Capped, Language::Kk) => format!("{fare} (күндік шек)"),
        (crate::fare_policy::FareBasis::Capped, Language::Ru) => format!("{fare} (дневной лимит)"),
        (crate::fare_policy::FareBasis::Capped, Language::En) => format!("{fare} (daily cap)"),
    };
    let zone = zone.map_or(String::new(), |z| format!(", {}", zone_words(language, z)));
    let ordinal = if *ordinal_on_vehicle > 1 {
        format!(" {}", ordinal_sentence(language, *ordinal_on_vehicle))
    } else {
        String::new()
    };
    match language {
        Language::Kk => format!(
            "Билет №{check_number}. {city_name}, {route_number} бағыт{zone}, {plate}. {fare}. {bought_at_local}.{ordinal} Соңғы аялдамаға дейін жарамды. QR: {link}"
        ),
        Language::Ru => format!(
            "Билет №{check_number}. {city_name}, маршрут {route_number}{zone}, {plate}. {fare}. {bought_at_local}.{ordinal} Действует до конечной. QR: {link}"
        ),
        Language::En => format!(
            "Ticket {check_number}. {city_name}, route {route_number}{zone}, {plate}. {fare}. {bought_at_local}.{ordinal} Valid to the final stop. QR: {link}"
        ),
    }
}

/// A zone as passengers read it: `зона 3`, `3-аймақ`, `zone 3`.
pub fn zone_words(language: Language, zone: Zone) -> String {
    match language {
        Language::Kk => format!("{}-аймақ", zone.number()),
        Language::Ru => format!("зона {}", zone.number()),
        Language::En => format!("zone {}", zone.number()),
    }
}

/// "Your 2nd ticket on this bus." in the passenger's language.
pub fn ordinal_sentence(language: Language, n: u32) -> String {
    match language {
        Language::Kk => format!("Осы автобустағы {} билетіңіз.", ordinal(language, n)),
        Language::Ru => format!("Ваш {} билет в этом автобусе.", ordinal(language, n)),
        Language::En => format!("Your {} ticket on this bus.", ordinal(language, n)),
    }
}

/// A number written as an ordinal: `2nd`, `2-й`, `2-ші`.
pub fn ordinal(language: Language, n: u32) -> String {
    match language {
        Language::En => {
            let suffix = match (n % 10, n % 100) {
                (_, 11..=13) => "th",
                (1, _) => "st",
                (2, _) => "nd",
                (3, _) => "rd",
                _ => "th",
            };
            format!("{n}{suffix}")
        }
        Language::Ru => format!("{n}-й"),
        Language::Kk => {
            // The suffix follows the vowel of the last word spoken: алты-ншы, тоғыз-ыншы,
            // жиырма-сыншы, but екі-нші, елу-інші, жүз-інші.
            let back_vowel = match (n % 10, (n / 10) % 10) {
                (6 | 9, _) => true,
                (0, 0) => false,
                (0, tens) => matches!(tens, 1 | 2 | 3 | 4 | 6 | 9),
                _ => false,
            };
            format!("{n}-{}", if back_vowel { "шы" } else { "ші" })
        }
    }
}

/// The first sentence of a refusal for a zone the route does not have.
pub const NO_SUCH_ZONE: Text = Text {
    kk: "Бұл бағытта мұндай аймақ жоқ.",
    ru: "На этом маршруте нет такой зоны.",
    en: "This route has no such zone.",
};

/// A zone fare asked for without its zone: the zones and their fares, and how to send one.
pub fn zone_required_text(
    language: Language,
    route_number: &str,
    zones: &[(Zone, Tenge)],
    example_code: &str,
) -> String {
    let list = zones
        .iter()
        .map(|(zone, fare)| format!("{} — {fare}", zone.number()))
        .collect::<Vec<_>>()
        .join(", ");
    let example_zone = zones.last().map_or(2, |(zone, _)| zone.number());
    match language {
        Language::Kk => format!(
            "{route_number} бағытының жол ақысы аймақ бойынша: {list}. Ақша алынбады. Кодты және бара жатқан аймақты жіберіңіз, мысалы: {example_code} {example_zone}"
        ),
        Language::Ru => format!(
            "Маршрут {route_number} оплачивается по зонам: {list}. Деньги не списаны. Отправьте код и зону, до которой едете, например: {example_code} {example_zone}"
        ),
        Language::En => format!(
            "Route {route_number} is priced by zone: {list}. Nothing was charged. Send the code and the zone you travel to, e.g. {example_code} {example_zone}"
        ),
    }
}

/// A repeat of a ride the passenger already holds a valid ticket for: nothing is charged; the
/// reply names that ticket and says how to buy one more on purpose.
#[derive(Clone, Debug)]
pub struct RepeatReply<'a> {
    pub check_number: &'a str,
    pub bought_at_local: &'a str,
    pub link: &'a str,
    /// The valid tickets the passenger holds on this bus.
    pub tickets_held: u32,
    /// What to send for one more ticket, e.g. `10101+` or `13011 3+`.
    pub command_for_another: &'a str,
}

pub fn repeat_text(language: Language, r: &RepeatReply<'_>) -> String {
    let RepeatReply {
        check_number,
        bought_at_local,
        link,
        tickets_held,
        command_for_another,
    } = r;
    let next = ordinal(language, tickets_held.saturating_add(1));
    match language {
        Language::Kk => format!(
            "Сізде осы автобусқа билет бар: №{check_number}, {bought_at_local} сатып алынған, QR: {link}. Қайта ақша алынбады. Серігіңізге {next} билет керек болса, {command_for_another} жіберіңіз."
        ),
        Language::Ru => format!(
            "У вас уже есть билет в этом автобусе: №{check_number}, куплен {bought_at_local}, QR: {link}. Повторно деньги не списаны. Нужен {next} билет (для попутчика)? Отправьте {command_for_another}"
        ),
        Language::En => format!(
            "You already have a ticket on this bus: {check_number}, bought {bought_at_local}, QR: {link}. Nothing was charged again. Need a {next} ticket (for a companion)? Send {command_for_another}"
        ),
    }
}

/// Where a refunded fare went back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundedTo<'a> {
    PhoneBalance,
    /// A transport card, by its last four digits.
    Card(&'a str),
}

/// The passenger's SMS when staff refunded a ride: the ticket is no longer valid, the fare is back.
pub fn refund_text(
    language: Language,
    check_number: &str,
    amount: crate::Tenge,
    to: RefundedTo<'_>,
) -> String {
    let amount = amount.to_decimal();
    match (language, to) {
        (Language::Kk, RefundedTo::PhoneBalance) => format!(
            "SMSBUS: {check_number} билеті қайтарылды, {amount} ₸ телефон балансыңызға оралды. Билет енді жарамсыз."
        ),
        (Language::Kk, RefundedTo::Card(last)) => format!(
            "SMSBUS: {check_number} билеті қайтарылды, {amount} ₸ •••• {last} картасына оралды. Билет енді жарамсыз."
        ),
        (Language::Ru, RefundedTo::PhoneBalance) => format!(
            "SMSBUS: билет {check_number} возвращён, {amount} ₸ вернулись на баланс телефона. Билет больше не действует."
        ),
        (Language::Ru, RefundedTo::Card(last)) => format!(
            "SMSBUS: билет {check_number} возвращён, {amount} ₸ вернулись на карту •••• {last}. Билет больше не действует."
        ),
        (Language::En, RefundedTo::PhoneBalance) => format!(
            "SMSBUS: ticket {check_number} was refunded, {amount} ₸ went back to your phone balance. The ticket is no longer valid."
        ),
        (Language::En, RefundedTo::Card(last)) => format!(
            "SMSBUS: ticket {check_number} was refunded, {amount} ₸ went back to card •••• {last}. The ticket is no longer valid."
        ),
    }
}

/// A repeat while the first payment on this bus is still being confirmed.
pub fn repeat_pending_text(language: Language, command_for_another: &str) -> String {
    match language {
        Language::Kk => format!(
            "Осы автобустағы төлеміңіз әлі расталуда; билет бөлек SMS болып келеді. Қайта ақша алынбады. Серігіңізге тағы бір билет керек болса, {command_for_another} жіберіңіз."
        ),
        Language::Ru => format!(
            "Ваш платёж за проезд в этом автобусе ещё подтверждается; билет придёт отдельным SMS. Повторно деньги не списаны. Нужен ещё билет (для попутчика)? Отправьте {command_for_another}"
        ),
        Language::En => format!(
            "Your payment for this bus is still being confirmed; the ticket will come in a separate SMS. Nothing was charged again. Need another ticket (for a companion)? Send {command_for_another}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_smpp_message_moves_only_along_its_table() {
        assert_eq!(crate::check_states!(SmppState), Ok(()));
        assert!(SmppState::Gateway.is_final() && SmppState::Failed.is_final());
        assert!(SmppState::Retry.can_move_to(SmppState::Submitting));
        assert!(!SmppState::Submitted.can_move_to(SmppState::Retry));
    }

    fn code(s: &str) -> VehicleRef {
        VehicleRef::Code(TransportCode::parse(s).unwrap())
    }

    fn ride(vehicle: VehicleRef, zone: Option<u32>, additional: bool) -> SmsCommand {
        SmsCommand::Ride {
            vehicle,
            zone: zone.map(|z| Zone::new(z).unwrap()),
            additional,
        }
    }

    #[test]
    fn a_card_is_named_by_its_last_four_digits() {
        let card = |vehicle, zone: Option<u32>, additional, four: &str| SmsCommand::RideFromCard {
            vehicle,
            zone: zone.map(|z| Zone::new(z).unwrap()),
            additional,
            card_last_four: four.into(),
        };
        for text in [
            "10101 к1234",
            "10101 К1234",
            "10101 c1234",
            "10101 C1234",
            "10101 с1234",
            "10101 card 1234",
            "10101 карта 1234",
            "10101 CARD1234",
        ] {
            assert_eq!(
                parse_command(text),
                card(code("10101"), None, false, "1234"),
                "{text}"
            );
        }
        assert_eq!(
            parse_command("13011 2 к0042"),
            card(code("13011"), Some(2), false, "0042")
        );
        assert_eq!(
            parse_command("10101+ к1234"),
            card(code("10101"), None, true, "1234")
        );
        // Not a card: three digits, a bare single letter (read as before), nothing before it.
        assert!(!matches!(
            parse_command("10101 к123"),
            SmsCommand::RideFromCard { .. }
        ));
        assert!(!matches!(
            parse_command("10101 к 1234"),
            SmsCommand::RideFromCard { .. }
        ));
        assert!(!matches!(
            parse_command("к1234"),
            SmsCommand::RideFromCard { .. }
        ));
        assert_eq!(parse_command("xyz к1234"), SmsCommand::Unrecognised);
        for language in Language::ALL {
            assert!(HELP.get(language).contains("1234"));
        }
    }

    #[test]
    fn reads_language_words_in_any_script() {
        assert_eq!(parse_command("каз"), SmsCommand::SetLanguage(Language::Kk));
        assert_eq!(
            parse_command(" РУС "),
            SmsCommand::SetLanguage(Language::Ru)
        );
        for english in [
            "eng",
            "ЕNG",
            "ЕНГ",
            "енг",
            "англ",
            "Англ.",
            "АНГ",
            "English",
        ] {
            assert_eq!(
                parse_command(english),
                SmsCommand::SetLanguage(Language::En),
                "{english}"
            );
        }
        assert_eq!(parse_command("Көмек"), SmsCommand::Help);
    }

    #[test]
    fn zone_zero_is_a_bad_zone_not_another_code() {
        assert_eq!(parse_command("13011 0"), SmsCommand::ZoneInvalid);
        assert_eq!(parse_command("101 ABC 01 0"), SmsCommand::ZoneInvalid);
        assert_eq!(parse_command("13011 зона 12"), SmsCommand::ZoneInvalid);
        assert_eq!(parse_command("13011 з0"), SmsCommand::ZoneInvalid);
    }

    #[test]
    fn reads_codes_plates_and_zones() {
        assert_eq!(parse_command("10234"), ride(code("10234"), None, false));
        assert_eq!(
            parse_command("10234 3"),
            ride(code("10234"), Some(3), false)
        );
        let plate = VehicleRef::Plate(PlateNumber::parse("123ABC02").unwrap());
        assert_eq!(
            parse_command("123 авс 02"),
            ride(plate.clone(), None, false)
        );
        assert_eq!(
            parse_command("123ABC02 2"),
            ride(plate.clone(), Some(2), false)
        );
        assert_eq!(
            parse_command("123 ABC 02 зона 2"),
            ride(plate, Some(2), false)
        );
    }

    #[test]
    fn reads_every_way_of_writing_a_zone() {
        for text in [
            "13011 3",
            "13011-3",
            "13011 - 3",
            "13011/3",
            "13011 з3",
            "13011 З 3",
            "13011з3",
            "13011 зона 3",
            "13011 Зона 3",
            "13011 zone 3",
            "13011 Z3",
            "13011 аймақ 3",
            "13011, 3",
        ] {
            assert_eq!(
                parse_command(text),
                ride(code("13011"), Some(3), false),
                "{text}"
            );
        }
    }

    #[test]
    fn a_plus_asks_for_one_more_ticket() {
        for text in ["10101+", "+10101", "10101 +", "+ 10101"] {
            assert_eq!(
                parse_command(text),
                ride(code("10101"), None, true),
                "{text}"
            );
        }
        assert_eq!(
            parse_command("13011 3+"),
            ride(code("13011"), Some(3), true)
        );
        assert_eq!(
            parse_command("13011+ 3"),
            ride(code("13011"), Some(3), true)
        );
    }

    #[test]
    fn anything_else_is_unrecognised() {
        for text in [
            "",
            "hello there",
            "12",
            "билет пожалуйста",
            &"9".repeat(80),
            "+",
        ] {
            assert_eq!(parse_command(text), SmsCommand::Unrecognised, "{text}");
        }
    }

    #[test]
    fn ordinals_in_three_languages() {
        let en: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101]
            .iter()
            .map(|n| ordinal(Language::En, *n))
            .collect();
        assert_eq!(
            en,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"
            ]
        );
        assert_eq!(ordinal(Language::Ru, 2), "2-й");
        let kk: Vec<String> = [1, 2, 6, 9, 10, 20, 50, 100]
            .iter()
            .map(|n| ordinal(Language::Kk, *n))
            .collect();
        assert_eq!(
            kk,
            [
                "1-ші", "2-ші", "6-шы", "9-шы", "10-шы", "20-шы", "50-ші", "100-ші"
            ]
        );
    }

    fn reply(zone: Option<u32>, ordinal_on_vehicle: u32) -> TicketReply<'static> {
        TicketReply {
            check_number: "2505-0001-0002",
            city_name: "Astana",
            route_number: "10",
            zone: zone.map(|z| Zone::new(z).unwrap()),
            plate: "123 ABC 02",
            fare: Tenge::from_whole(90),
            bought_at_local: "08:15 23.11",
            link: "http://x/t/abc",
            ordinal_on_vehicle,
            card_last_four: None,
            fare_basis: crate::fare_policy::FareBasis::Full,
        }
    }

    #[test]
    fn ticket_text_in_three_languages() {
        for language in Language::ALL {
            let text = ticket_text(language, &reply(None, 1));
            assert!(
                text.contains("2505-0001-0002")
                    && text.contains("90 ₸")
                    && text.contains("http://x/t/abc")
            );
            assert!(!text.contains("2nd") && !text.contains("2-й"));
        }
    }

    #[test]
    fn a_card_ride_names_the_card_that_paid() {
        let card = TicketReply {
            card_last_four: Some("6587"),
            ..reply(None, 1)
        };
        let texts: Vec<String> = Language::ALL
            .iter()
            .map(|l| ticket_text(*l, &card))
            .collect();
        assert!(
            texts[0].contains("90 ₸, •••• 6587 картасынан"),
            "{}",
            texts[0]
        );
        assert!(texts[1].contains("90 ₸ с карты •••• 6587"), "{}", texts[1]);
        assert!(
            texts[2].contains("90 ₸ from card •••• 6587"),
            "{}",
            texts[2]
        );
        let phone = ticket_text(Language::Ru, &reply(None, 1));
        assert!(!phone.contains("карты"), "{phone}");
        let transfer = TicketReply {
            fare: Tenge::ZERO,
            fare_basis: crate::fare_policy::FareBasis::Transfer,
            ..card
        };
        let texts: Vec<String> = Language::ALL
            .iter()
            .map(|l| ticket_text(*l, &transfer))
            .collect();
        assert!(texts[1].contains("(пересадка)"), "{}", texts[1]);
        assert!(texts[2].contains("(transfer)"), "{}", texts[2]);
        assert!(texts[0].contains("(ауысып отыру)"), "{}", texts[0]);
    }

    #[test]
    fn ticket_text_names_the_zone_and_a_repeat() {
        let texts: Vec<String> = Language::ALL
            .iter()
            .map(|l| ticket_text(*l, &reply(Some(3), 2)))
            .collect();
        assert!(texts[0].contains("3-аймақ") && texts[0].contains("2-ші билетіңіз"));
        assert!(texts[1].contains("зона 3") && texts[1].contains("Ваш 2-й билет"));
        assert!(texts[2].contains("zone 3") && texts[2].contains("Your 2nd ticket"));
    }

    #[test]
    fn zone_list_and_repeat_say_how_to_go_on() {
        let zones: Vec<(Zone, Tenge)> = [(1, 90), (2, 200), (3, 300)]
            .iter()
            .map(|(z, t)| (Zone::new(*z).unwrap(), Tenge::from_whole(*t)))
            .collect();
        let text = zone_required_text(Language::Ru, "301", &zones, "13011");
        assert!(text.contains("1 — 90 ₸, 2 — 200 ₸, 3 — 300 ₸"), "{text}");
        assert!(
            text.contains("13011 3") && text.contains("не списаны"),
            "{text}"
        );
        let repeat = RepeatReply {
            check_number: "1-2-3",
            bought_at_local: "08:15 23.11",
            link: "http://x/t/abc",
            tickets_held: 1,
            command_for_another: "10101+",
        };
        for language in Language::ALL {
            let text = repeat_text(language, &repeat);
            assert!(text.contains("1-2-3") && text.contains("10101+"), "{text}");
        }
        assert!(repeat_text(Language::En, &repeat).contains("2nd ticket"));
    }
}
