//! How a passenger names a bus: the transport code on the sticker inside it, or its state
//! plate. Plates are typed on phones in Latin or Cyrillic letters that look alike (`А`/`A`,
//! `В`/`B`, `Е`/`E`…), with or without spaces; all spellings of one plate fold to one value.

use std::fmt;

/// Transport codes are short digit strings printed on the bus sticker.
pub const TRANSPORT_CODE_DIGITS_MIN: usize = 3;
pub const TRANSPORT_CODE_DIGITS_MAX: usize = 8;
/// Plates are at most this many letters and digits once spaces are removed.
pub const PLATE_CHARS_MAX: usize = 10;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransportCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VehicleIdError {
    #[error("a transport code is 3 to 8 digits")]
    MalformedTransportCode,
    #[error("not a vehicle plate number")]
    MalformedPlate,
}

impl TransportCode {
    pub fn parse(text: &str) -> Result<TransportCode, VehicleIdError> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let ok = (TRANSPORT_CODE_DIGITS_MIN..=TRANSPORT_CODE_DIGITS_MAX).contains(&compact.len())
            && compact.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(TransportCode(compact))
        } else {
            Err(VehicleIdError::MalformedTransportCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TransportCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A state plate folded to Latin capitals and digits without spaces (`123ABC02`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlateNumber(String);

impl PlateNumber {
    pub fn parse(text: &str) -> Result<PlateNumber, VehicleIdError> {
        let mut folded = String::with_capacity(PLATE_CHARS_MAX);
        for c in text.chars() {
            if c.is_whitespace() || c == '-' {
                continue;
            }
            let latin = fold_look_alike(c).ok_or(VehicleIdError::MalformedPlate)?;
            folded.push(latin);
            if folded.len() > PLATE_CHARS_MAX {
                return Err(VehicleIdError::MalformedPlate);
            }
        }
        let letters = folded.chars().filter(|c| c.is_ascii_uppercase()).count();
        let digits = folded.chars().filter(|c| c.is_ascii_digit()).count();
        if folded.len() >= 4 && letters >= 1 && digits >= 2 {
            Ok(PlateNumber(folded))
        } else {
            Err(VehicleIdError::MalformedPlate)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The plate as printed, `123 ABC 02`, for the usual Kazakh layout; others as folded.
    pub fn display(&self) -> String {
        let s = &self.0;
        let b = s.as_bytes();
        let kazakh_layout = b.len() == 8
            && b.iter().take(3).all(u8::is_ascii_digit)
            && b.iter().skip(3).take(3).all(u8::is_ascii_uppercase)
            && b.iter().skip(6).all(u8::is_ascii_digit);
        match (kazakh_layout, s.get(..3), s.get(3..6), s.get(6..)) {
            (true, Some(a), Some(b), Some(c)) => format!("{a} {b} {c}"),
            _ => s.clone(),
        }
    }
}

impl fmt::Display for PlateNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

/// Folds a character of a plate to a Latin capital or digit; Cyrillic letters that look like
/// Latin ones become those. Anything else is not part of a plate.
fn fold_look_alike(c: char) -> Option<char> {
    let upper = c.to_uppercase().next().unwrap_or(c);
    let latin = match upper {
        'А' => 'A',
        'В' => 'B',
        'Е' | 'Ё' => 'E',
        'К' | 'Қ' => 'K',
        'М' => 'M',
        'Н' | 'Ң' => 'H',
        'О' | 'Ө' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'У' | 'Ү' | 'Ұ' => 'Y',
        'Х' | 'Һ' => 'X',
        'І' => 'I',
        c if c.is_ascii_uppercase() || c.is_ascii_digit() => c,
        _ => return None,
    };
    Some(latin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_codes_are_digits() {
        assert_eq!(TransportCode::parse(" 10 234 ").unwrap().as_str(), "10234");
        for bad in ["", "12", "123456789", "12a45", "１２３"] {
            assert!(TransportCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plates_fold_spaces_case_and_cyrillic_look_alikes() {
        let expected = PlateNumber::parse("123ABC02").unwrap();
        for text in [
            "123 ABC 02",
            "123 abc 02",
            "123АВС02",
            "123 авс 02",
            "123-ABC-02",
            " 123 AbС 02 ",
        ] {
            assert_eq!(PlateNumber::parse(text).unwrap(), expected, "{text}");
        }
        assert_eq!(expected.display(), "123 ABC 02");
        for bad in ["", "ABC", "12", "123 ЖЖЖ 02", "123ABC0212345", "12;ABC"] {
            assert!(PlateNumber::parse(bad).is_err(), "{bad}");
        }
    }
}
