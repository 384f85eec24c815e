//! Message text on SMPP: GSM 03.38 7-bit (one septet per octet, as SMPP carries it with
//! `data_coding` 0) where every character has a GSM code, UCS-2 (`data_coding` 8, big-endian
//! UTF-16) otherwise — Cyrillic, Kazakh letters, `₸`. Long texts are split into concatenated
//! parts with a user data header (UDH, 8-bit reference), never inside an escape pair or a
//! surrogate pair; incoming parts are recognised by UDH (IE 0x00 or 0x08) or SAR TLVs.

use super::pdu::{ESM_UDHI, ShortMessage, tag};

pub const DATA_CODING_DEFAULT: u8 = 0x00;
pub const DATA_CODING_IA5: u8 = 0x01;
pub const DATA_CODING_LATIN1: u8 = 0x03;
pub const DATA_CODING_UCS2: u8 = 0x08;

/// Septets in one GSM part: alone, and when a 6-octet UDH takes its room.
pub const GSM_SEPTETS_SINGLE: usize = 160;
pub const GSM_SEPTETS_PART: usize = 153;
/// UTF-16 units in one UCS-2 part: alone, and beside a UDH.
pub const UCS2_UNITS_SINGLE: usize = 70;
pub const UCS2_UNITS_PART: usize = 67;
/// A reply is never cut into more parts than this (the longest reply needs far fewer).
pub const PARTS_MAX: usize = 16;

/// GSM 03.38 basic character set, code = index.
const GSM_BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1b}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table, reached through the escape septet 0x1B.
const GSM_EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{c}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];
const GSM_ESCAPE: u8 = 0x1B;

/// The septets of one character, if it has a GSM code (the escape itself has none).
fn gsm_septets(c: char) -> Option<Vec<u8>> {
    if c == '\u{1b}' {
        return None;
    }
    if let Some(code) = GSM_BASIC.iter().position(|g| *g == c) {
        return u8::try_from(code).ok().map(|code| vec![code]);
    }
    GSM_EXTENSION
        .iter()
        .find(|(_, g)| *g == c)
        .map(|(code, _)| vec![GSM_ESCAPE, *code])
}

pub fn fits_gsm(text: &str) -> bool {
    text.chars().all(|c| gsm_septets(c).is_some())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Gsm7,
    Ucs2,
}

impl Coding {
    pub fn for_text(text: &str) -> Coding {
        if fits_gsm(text) {
            Coding::Gsm7
        } else {
            Coding::Ucs2
        }
    }

    pub fn data_coding(self) -> u8 {
        match self {
            Coding::Gsm7 => DATA_CODING_DEFAULT,
            Coding::Ucs2 => DATA_CODING_UCS2,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TextError {
    #[error("the text needs more than {PARTS_MAX} parts")]
    TooLong,
    #[error("the text is empty")]
    Empty,
}

/// One part as it goes into `short_message` (its UDH included) and the `esm_class` bit it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub data_coding: u8,
    pub esm_class: u8,
    pub short_message: Vec<u8>,
}

/// Cuts a text into the parts a phone joins back, with `reference` naming the whole message.
pub fn split(text: &str, reference: u8) -> Result<Vec<Part>, TextError> {
    if text.is_empty() {
        return Err(TextError::Empty);
    }
    let coding = Coding::for_text(text);
    // Each character as its encoded units (septets or UTF-16 code units as two octets).
    let units: Vec<Vec<u8>> = text
        .chars()
        .map(|c| match coding {
            Coding::Gsm7 => gsm_septets(c).unwrap_or_default(),
            Coding::Ucs2 => {
                let mut buffer = [0u16; 2];
                c.encode_utf16(&mut buffer)
                    .iter()
                    .flat_map(|u| u.to_be_bytes())
                    .collect()
            }
        })
        .collect();
    let (single_max, part_max) = match coding {
        Coding::Gsm7 => (GSM_SEPTETS_SINGLE, GSM_SEPTETS_PART),
        Coding::Ucs2 => (UCS2_UNITS_SINGLE * 2, UCS2_UNITS_PART * 2),
    };
    let total: usize = units.iter().map(Vec::len).sum();
    let data_coding = coding.data_coding();
    if total <= single_max {
        return Ok(vec![Part {
            data_coding,
            esm_class: 0,
            short_message: units.concat(),
        }]);
    }
    let mut chunks: Vec<Vec<u8>> = vec![Vec::new()];
    for unit in units {
        let fits = chunks
            .last()
            .is_some_and(|c| c.len() + unit.len() <= part_max);
        if !fits {
            chunks.push(Vec::new());
        }
        if let Some(chunk) = chunks.last_mut() {
            chunk.extend_from_slice(&unit);
        }
    }
    if chunks.len() > PARTS_MAX {
        return Err(TextError::TooLong);
    }
    let count = u8::try_from(chunks.len()).map_err(|_| TextError::TooLong)?;
    Ok(chunks
        .into_iter()
        .zip(1u8..)
        .map(|(chunk, number)| {
            let mut short_message = vec![0x05, 0x00, 0x03, reference, count, number];
            short_message.extend_from_slice(&chunk);
            Part {
                data_coding,
                esm_class: ESM_UDHI,
                short_message,
            }
        })
        .collect())
}

/// Where a part belongs: its message's reference, how many parts, which one (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Concatenation {
    pub reference: u16,
    pub total: u8,
    pub number: u8,
}

/// The text of a received short message and its place in a concatenated message, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    pub concatenation: Option<Concatenation>,
}

/// Reads a deliver_sm/submit_sm body: UDH stripped (UDHI set), SAR TLVs read, text decoded.
pub fn decode(sm: &ShortMessage) -> Decoded {
    let payload = sm.payload();
    let (user_data, udh_concatenation) = if sm.esm_class & ESM_UDHI != 0 {
        strip_udh(payload)
    } else {
        (payload, None)
    };
    let sar = match (
        sm.tlv_u16(tag::SAR_MSG_REF_NUM),
        sm.tlv_u8(tag::SAR_TOTAL_SEGMENTS),
        sm.tlv_u8(tag::SAR_SEGMENT_SEQNUM),
    ) {
        (Some(reference), Some(total), Some(number)) => Some(Concatenation {
            reference,
            total,
            number,
        }),
        _ => None,
    };
    let concatenation = udh_concatenation
        .or(sar)
        .filter(|c| c.total > 1 && c.number >= 1 && c.number <= c.total);
    Decoded {
        text: decode_text(sm.data_coding, user_data),
        concatenation,
    }
}

fn strip_udh(payload: &[u8]) -> (&[u8], Option<Concatenation>) {
    let Some((&length, rest)) = payload.split_first() else {
        return (payload, None);
    };
    let length = usize::from(length);
    let (Some(header), Some(user_data)) = (rest.get(..length), rest.get(length..)) else {
        return (payload, None);
    };
    let mut concatenation = None;
    let mut elements = header;
    while let [id, size, tail @ ..] = elements {
        let size = usize::from(*size);
        let (Some(data), Some(next)) = (tail.get(..size), tail.get(size..)) else {
            break;
        };
        concatenation = match (*id, data) {
            (0x00, [reference, total, number]) => Some(Concatenation {
                reference: u16::from(*reference),
                total: *total,
                number: *number,
            }),
            (0x08, [high, low, total, number]) => Some(Concatenation {
                reference: u16::from_be_bytes([*high, *low]),
                total: *total,
                number: *number,
            }),
            _ => concatenation,
        };
        elements = next;
    }
    (user_data, concatenation)
}

/// Octets of `data_coding` as text; an unknown coding is read as Latin-1 so nothing is lost.
pub fn decode_text(data_coding: u8, octets: &[u8]) -> String {
    match data_coding {
        DATA_CODING_UCS2 => {
            let units: Vec<u16> = octets
                .chunks_exact(2)
                .filter_map(|pair| match pair {
                    &[high, low] => Some(u16::from_be_bytes([high, low])),
                    _ => None,
                })
                .collect();
            String::from_utf16_lossy(&units)
        }
        DATA_CODING_DEFAULT => decode_gsm(octets),
        _ => octets.iter().map(|b| char::from(*b)).collect(),
    }
}

fn decode_gsm(septets: &[u8]) -> String {
    let mut text = String::with_capacity(septets.len());
    let mut escaped = false;
    for septet in septets {
        let septet = septet & 0x7F;
        if escaped {
            escaped = false;
            match GSM_EXTENSION.iter().find(|(code, _)| *code == septet) {
                Some((_, c)) => text.push(*c),
                // An unknown escape shows as a space, as 03.38 asks of a receiver.
                None => text.push(' '),
            }
        } else if septet == GSM_ESCAPE {
            escaped = true;
        } else if let Some(c) = GSM_BASIC.get(usize::from(septet)) {
            text.push(*c);
        }
    }
    text
}

/// Joins received parts' texts in order (parts numbered 1..=total, each once).
pub fn join(parts: &[(u8, String)]) -> String {
    let mut sorted: Vec<&(u8, String)> = parts.iter().collect();
    sorted.sort_by_key(|(number, _)| *number);
    sorted.into_iter().map(|(_, text)| text.as_str()).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn sm_of(part: &Part) -> ShortMessage {
        ShortMessage {
            data_coding: part.data_coding,
            esm_class: part.esm_class,
            short_message: part.short_message.clone().into(),
            ..ShortMessage::default()
        }
    }

    fn round_trip(text: &str) -> String {
        let parts = split(text, 7).unwrap();
        let decoded: Vec<Decoded> = parts.iter().map(|p| decode(&sm_of(p))).collect();
        let numbered: Vec<(u8, String)> = decoded
            .iter()
            .map(|d| (d.concatenation.map_or(1, |c| c.number), d.text.clone()))
            .collect();
        join(&numbered)
    }

    #[test]
    fn gsm_where_it_can_ucs2_otherwise() {
        assert_eq!(Coding::for_text("Ticket 10101 {ok} €5"), Coding::Gsm7);
        assert_eq!(Coding::for_text("Билет №"), Coding::Ucs2);
        assert_eq!(Coding::for_text("90 ₸"), Coding::Ucs2);
        assert_eq!(Coding::for_text("Қазақша"), Coding::Ucs2);
    }

    #[test]
    fn part_sizes_follow_the_standard() {
        assert_eq!(split(&"a".repeat(160), 1).unwrap().len(), 1);
        assert_eq!(split(&"a".repeat(161), 1).unwrap().len(), 2);
        assert_eq!(split(&"a".repeat(306), 1).unwrap().len(), 2);
        assert_eq!(split(&"а".repeat(70), 1).unwrap().len(), 1);
        assert_eq!(split(&"а".repeat(71), 1).unwrap().len(), 2);
        assert_eq!(split(&"а".repeat(134), 1).unwrap().len(), 2);
        assert_eq!(split(&"а".repeat(135), 1).unwrap().len(), 3);
        // An escape pair is never cut: 152 letters then `€` (2 septets) go over to part two.
        let parts = split(&format!("{}€{}", "a".repeat(152), "b".repeat(10)), 1).unwrap();
        assert_eq!(parts[0].short_message.len(), 6 + 152);
        assert_eq!(split(&"a".repeat(153 * 17), 1), Err(TextError::TooLong));
    }

    #[test]
    fn texts_round_trip_in_both_codings() {
        for text in [
            "Ticket No 123",
            "Ticket {[~]} ^|\\ €",
            "Билет №12345, маршрут 10, 90 ₸",
            "Қазақ тілі: әіңғүұқөһ ӘІҢҒҮҰҚӨҺ",
            "emoji 🚌 split safe",
            &"Сіздің билетіңіз ".repeat(20),
            &"plain latin ".repeat(40),
            &format!("{}🚌", "а".repeat(66)),
        ] {
            assert_eq!(round_trip(text), text);
        }
    }

    #[test]
    fn sar_tlvs_and_16_bit_references_are_read() {
        let sm = ShortMessage {
            data_coding: DATA_CODING_DEFAULT,
            short_message: b"abc".to_vec().into(),
            tlvs: vec![
                super::super::pdu::Tlv::new(tag::SAR_MSG_REF_NUM, vec![1, 2]),
                super::super::pdu::Tlv::new(tag::SAR_TOTAL_SEGMENTS, vec![3]),
                super::super::pdu::Tlv::new(tag::SAR_SEGMENT_SEQNUM, vec![2]),
            ],
            ..ShortMessage::default()
        };
        let decoded = decode(&sm);
        assert_eq!(
            decoded.concatenation,
            Some(Concatenation {
                reference: 0x0102,
                total: 3,
                number: 2
            })
        );
        let sm = ShortMessage {
            data_coding: DATA_CODING_DEFAULT,
            esm_class: ESM_UDHI,
            short_message: vec![6, 0x08, 4, 0xAB, 0xCD, 2, 1, b'h', b'i'].into(),
            ..ShortMessage::default()
        };
        let decoded = decode(&sm);
        assert_eq!(decoded.text, "hi");
        assert_eq!(
            decoded.concatenation,
            Some(Concatenation {
                reference: 0xABCD,
                total: 2,
                number: 1
            })
        );
    }
}
