//! Ticket numbers and their human form, the *check number* a passenger reads out or a
//! controller types (`2505-4821-7738`): eleven digits of the number and a Damm check digit,
//! which catches every single wrong digit and every swap of two neighbouring digits.

use std::fmt;

use super::TicketError;

/// Ticket numbers have at most this many decimal digits (the check form adds one).
pub const TICKET_NUMBER_DIGITS: usize = 11;
/// The largest ticket number, `99_999_999_999`; it fits in the token's five bytes.
pub const TICKET_NUMBER_MAX: u64 = 99_999_999_999;

/// The Damm algorithm's quasigroup of order 10 (totally anti-symmetric, zero diagonal).
const DAMM_TABLE: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// A ticket's number, unique per issuer. The service chooses it (at random, so numbers are not
/// guessable); this type only keeps it in range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TicketNumber(u64);

impl TicketNumber {
    /// The lowest number, 0 (a cursor before every ticket).
    pub const LOWEST: TicketNumber = TicketNumber(0);

    pub fn new(number: u64) -> Result<TicketNumber, TicketError> {
        if number <= TICKET_NUMBER_MAX {
            Ok(TicketNumber(number))
        } else {
            Err(TicketError::TicketNumberOutOfRange)
        }
    }

    pub fn value(self) -> u64 {
        self.0
    }

    /// The check number, `DDDD-DDDD-DDDC`: the number zero-padded to eleven digits, then the
    /// check digit.
    pub fn check_form(self) -> String {
        let digits = format!("{:0width$}", self.0, width = TICKET_NUMBER_DIGITS);
        let check = damm_digit(digits.bytes().map(|b| b.wrapping_sub(b'0')));
        let all = format!("{digits}{check}");
        match (all.get(..4), all.get(4..8), all.get(8..)) {
            (Some(a), Some(b), Some(c)) => format!("{a}-{b}-{c}"),
            _ => all,
        }
    }

    /// Reads a check number as people type it (spaces and hyphens anywhere) and refuses it when
    /// the check digit does not match.
    pub fn parse_check_form(text: &str) -> Result<TicketNumber, TicketError> {
        if text.len() > 32 {
            return Err(TicketError::CheckNumberMalformed);
        }
        let mut digits = Vec::with_capacity(TICKET_NUMBER_DIGITS + 1);
        for byte in text.trim().bytes() {
            match byte {
                b'0'..=b'9' => digits.push(byte - b'0'),
                b' ' | b'-' => {}
                _ => return Err(TicketError::CheckNumberMalformed),
            }
        }
        if digits.len() != TICKET_NUMBER_DIGITS + 1 || damm_digit(digits.iter().copied()) != 0 {
            return Err(TicketError::CheckNumberMalformed);
        }
        let number = digits
            .iter()
            .take(TICKET_NUMBER_DIGITS)
            .fold(0_u64, |number, digit| number * 10 + u64::from(*digit));
        TicketNumber::new(number)
    }
}

/// The number as the signed integer the stores and the API's JSON carry (every number fits:
/// [`TICKET_NUMBER_MAX`] is far below `i64::MAX`).
impl From<TicketNumber> for i64 {
    fn from(number: TicketNumber) -> i64 {
        i64::try_from(number.0).unwrap_or(i64::MAX)
    }
}

/// Reads the integer form back: a negative or too large value is no ticket number.
impl TryFrom<i64> for TicketNumber {
    type Error = TicketError;

    fn try_from(value: i64) -> Result<TicketNumber, TicketError> {
        u64::try_from(value)
            .map_err(|_| TicketError::TicketNumberOutOfRange)
            .and_then(TicketNumber::new)
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.check_form())
    }
}

/// The Damm check digit of `digits`; over digits that end with their check digit it is 0.
fn damm_digit(digits: impl Iterator<Item = u8>) -> u8 {
    digits.fold(0, |interim, digit| {
        DAMM_TABLE
            .get(usize::from(interim))
            .and_then(|row| row.get(usize::from(digit)))
            .copied()
            .unwrap_or(0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_form_roundtrips_and_is_grouped() {
        for value in [0, 1, 25_054_821_773, TICKET_NUMBER_MAX, 12_345] {
            let number = TicketNumber::new(value).unwrap();
            let text = number.check_form();
            assert_eq!(text.len(), 14, "{text}");
            assert_eq!(TicketNumber::parse_check_form(&text), Ok(number));
            assert_eq!(
                TicketNumber::parse_check_form(&text.replace('-', " ")),
                Ok(number)
            );
        }
        assert_eq!(
            TicketNumber::new(25_054_821_773).unwrap().to_string(),
            "2505-4821-7738"
        );
        assert_eq!(
            TicketNumber::new(TICKET_NUMBER_MAX + 1),
            Err(TicketError::TicketNumberOutOfRange)
        );
    }

    #[test]
    fn the_integer_form_reads_back_and_refuses_what_is_no_number() {
        let number = TicketNumber::new(TICKET_NUMBER_MAX).unwrap();
        assert_eq!(TicketNumber::try_from(i64::from(number)), Ok(number));
        assert_eq!(i64::from(TicketNumber::new(42).unwrap()), 42);
        for bad in [-1, i64::MIN, 100_000_000_000, i64::MAX] {
            assert_eq!(
                TicketNumber::try_from(bad),
                Err(TicketError::TicketNumberOutOfRange),
                "{bad}"
            );
        }
    }

    #[test]
    fn check_digit_catches_typos_and_swaps() {
        let text: Vec<u8> = TicketNumber::new(25_054_821_773)
            .unwrap()
            .check_form()
            .replace('-', "")
            .into_bytes();
        for position in 0..text.len() {
            for digit in b'0'..=b'9' {
                let mut typo = text.clone();
                typo[position] = digit;
                let typo = String::from_utf8(typo).unwrap();
                let parsed = TicketNumber::parse_check_form(&typo);
                assert_eq!(parsed.is_ok(), digit == text[position], "{typo}");
            }
        }
        for position in 0..text.len() - 1 {
            let mut swapped = text.clone();
            swapped.swap(position, position + 1);
            if swapped != text {
                assert!(
                    TicketNumber::parse_check_form(&String::from_utf8(swapped).unwrap()).is_err()
                );
            }
        }
        for bad in [
            "",
            "2505-4821-773",
            "2505-4821-77380",
            "2505/4821/7738",
            "٢٥٠٥-4821-7738",
        ] {
            assert_eq!(
                TicketNumber::parse_check_form(bad),
                Err(TicketError::CheckNumberMalformed),
                "{bad}"
            );
        }
    }
}
