//! Kazakh phone numbers and the table that routes a number to its mobile operator.
//!
//! Kazakhstan shares country code +7 with Russia: `+7 7xx` (and `+7 6xx`) is Kazakh, `+7 9xx`
//! and the rest are Russian and are refused with their own error, because a passenger who
//! writes from a Russian SIM must learn why, not get "malformed". People write numbers as
//! `+7 701 123 45 67`, `8 (701) 123-45-67`, `87011234567` or `7011234567`; all mean the same.

use std::fmt;

/// A Kazakh subscriber number in E.164 (`+77011234567`). The only constructor checks it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("not a phone number")]
    Malformed,
    #[error("a number of another country")]
    OtherCountry,
}

/// An international number has at most 15 digits (E.164) and, in practice, at least 8.
const E164_DIGITS_MIN: usize = 8;
const E164_DIGITS_MAX: usize = 15;

impl PhoneNumber {
    pub fn parse(text: &str) -> Result<PhoneNumber, PhoneError> {
        if text.len() > 32 {
            return Err(PhoneError::Malformed);
        }
        let mut digits = String::with_capacity(12);
        let mut plus = false;
        for (position, c) in text.trim().chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if position == 0 => plus = true,
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => return Err(PhoneError::Malformed),
            }
        }
        let national = match (plus, digits.len()) {
            (true, 11) if digits.starts_with('7') => &digits[1..],
            // `+7 701 123 45 6`: a Kazakh number with a digit missing (or one too many) is
            // malformed, not foreign.
            (true, _) if digits.starts_with('7') => return Err(PhoneError::Malformed),
            (true, len) => {
                return Err(if (E164_DIGITS_MIN..=E164_DIGITS_MAX).contains(&len) {
                    PhoneError::OtherCountry
                } else {
                    PhoneError::Malformed
                });
            }
            (false, 11) if digits.starts_with('8') || digits.starts_with('7') => &digits[1..],
            // `8 701 123 45 6` is a trunk prefix and a short number, not a foreign one.
            (false, 10) if digits.starts_with('8') => return Err(PhoneError::Malformed),
            (false, 10) => digits.as_str(),
            _ => return Err(PhoneError::Malformed),
        };
        match national.as_bytes().first() {
            Some(b'7') | Some(b'6') => Ok(PhoneNumber(format!("+7{national}"))),
            Some(_) => Err(PhoneError::OtherCountry),
            None => Err(PhoneError::Malformed),
        }
    }

    /// `+77011234567`.
    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// The ten national digits, `7011234567`.
    pub fn national(&self) -> &str {
        self.0.get(2..).unwrap_or("")
    }

    /// Shown to people with the middle hidden: `+7 701 *** ** 67`.
    pub fn masked(&self) -> String {
        let n = self.national();
        format!(
            "+7 {} *** ** {}",
            n.get(..3).unwrap_or(""),
            n.get(8..).unwrap_or("")
        )
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mobile operator, by our short id (`beeline`, `kcell`, `tele2`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OperatorId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorIdError {
    #[error("an operator id is 1 to 32 lowercase latin letters, digits or '-'")]
    Malformed,
}

impl OperatorId {
    pub fn parse(text: &str) -> Result<OperatorId, OperatorIdError> {
        let ok = !text.is_empty()
            && text.len() <= 32
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(OperatorId(text.to_owned()))
        } else {
            Err(OperatorIdError::Malformed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OperatorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Routes a number to its operator by the longest matching national prefix (`701` → kcell).
/// Numbers move between operators only through the table, which comes from configuration.
#[derive(Clone, Debug, Default)]
pub struct PrefixTable {
    /// (national prefix digits, operator), longest prefixes first.
    entries: Vec<(String, OperatorId)>,
}

impl PrefixTable {
    pub fn new(entries: impl IntoIterator<Item = (String, OperatorId)>) -> PrefixTable {
        let mut entries: Vec<_> = entries.into_iter().collect();
        entries.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        PrefixTable { entries }
    }

    pub fn operator_of(&self, phone: &PhoneNumber) -> Option<&OperatorId> {
        let national = phone.national();
        self.entries
            .iter()
            .find(|(prefix, _)| national.starts_with(prefix.as_str()))
            .map(|(_, op)| op)
    }

    pub fn entries(&self) -> impl Iterator<Item = (&str, &OperatorId)> {
        self.entries.iter().map(|(p, o)| (p.as_str(), o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ways_people_write_kazakh_numbers() {
        for text in [
            "+7 701 123 45 67",
            "87011234567",
            "8 (701) 123-45-67",
            "77011234567",
            "7011234567",
            "+77011234567",
        ] {
            assert_eq!(
                PhoneNumber::parse(text).map(|p| p.0),
                Ok("+77011234567".to_owned()),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_other_countries_and_garbage() {
        assert_eq!(
            PhoneNumber::parse("+7 916 123 45 67"),
            Err(PhoneError::OtherCountry)
        );
        assert_eq!(
            PhoneNumber::parse("89161234567"),
            Err(PhoneError::OtherCountry)
        );
        assert_eq!(
            PhoneNumber::parse("+996 555 123 456"),
            Err(PhoneError::OtherCountry)
        );
        for bad in [
            "",
            "abc",
            "+7 701",
            "7011234567890",
            "70112345a7",
            "++77011234567",
        ] {
            assert_eq!(PhoneNumber::parse(bad), Err(PhoneError::Malformed), "{bad}");
        }
    }

    #[test]
    fn a_kazakh_number_with_a_digit_missing_is_malformed_not_foreign() {
        for text in [
            "+7 701 123 45 6",
            "+7 701 123 45 678",
            "8 701 123 45 6",
            "+7701123456",
        ] {
            assert_eq!(
                PhoneNumber::parse(text),
                Err(PhoneError::Malformed),
                "{text}"
            );
        }
    }

    #[test]
    fn routes_by_longest_prefix() {
        let op = |s: &str| OperatorId::parse(s).unwrap();
        let table = PrefixTable::new([
            ("70".to_owned(), op("tele2")),
            ("701".to_owned(), op("kcell")),
        ]);
        let phone = PhoneNumber::parse("+77011234567").unwrap();
        assert_eq!(table.operator_of(&phone), Some(&op("kcell")));
        let phone = PhoneNumber::parse("+77071234567").unwrap();
        assert_eq!(table.operator_of(&phone), Some(&op("tele2")));
        let phone = PhoneNumber::parse("+77771234567").unwrap();
        assert_eq!(table.operator_of(&phone), None);
        assert_eq!(
            PhoneNumber::parse("+77011234567").unwrap().masked(),
            "+7 701 *** ** 67"
        );
    }
}
