//! Money as integer minor units. One tenge is 100 tiyn; nothing in the system ever holds money
//! as a float, and every arithmetic step is checked so an overflow is an error, not a wrap.

use std::fmt;

/// The largest single amount the system accepts anywhere (one million tenge), in tiyn.
pub const AMOUNT_TIYN_MAX: i64 = 100_000_000;

/// An amount of Kazakh tenge in tiyn. Signed, because ledger entries are signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Tenge(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount {0} is not a valid sum of tenge (at most two decimals, no sign)")]
    Malformed(String),
    #[error("amount is out of range")]
    OutOfRange,
    #[error("arithmetic overflow")]
    Overflow,
}

impl Tenge {
    pub const ZERO: Tenge = Tenge(0);

    pub const fn from_tiyn(tiyn: i64) -> Tenge {
        Tenge(tiyn)
    }

    /// Whole tenge, as published fares are written.
    pub const fn from_whole(tenge: i64) -> Tenge {
        Tenge(tenge * 100)
    }

    pub const fn tiyn(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Tenge) -> Result<Tenge, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Tenge)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Tenge) -> Result<Tenge, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Tenge)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_neg(self) -> Result<Tenge, MoneyError> {
        self.0.checked_neg().map(Tenge).ok_or(MoneyError::Overflow)
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Parses a positive decimal amount such as `90`, `90.5` or `90.00` (the form banks and
    /// operators send), rejecting signs, exponents, more than two decimals and huge values.
    pub fn parse_decimal(text: &str) -> Result<Tenge, MoneyError> {
        let malformed = || MoneyError::Malformed(text.chars().take(32).collect());
        let text = text.trim();
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (text, ""),
        };
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 12 || !digits_only(whole) || !digits_only(fraction) {
            return Err(malformed());
        }
        if fraction.len() > 2 {
            return Err(malformed());
        }
        let whole: i64 = whole.parse().map_err(|_| malformed())?;
        let mut fraction_tiyn: i64 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| malformed())?
        };
        if fraction.len() == 1 {
            fraction_tiyn *= 10;
        }
        let tiyn = whole
            .checked_mul(100)
            .and_then(|t| t.checked_add(fraction_tiyn))
            .ok_or(MoneyError::OutOfRange)?;
        if tiyn > AMOUNT_TIYN_MAX {
            return Err(MoneyError::OutOfRange);
        }
        Ok(Tenge(tiyn))
    }

    /// The amount as a decimal string with two places (`90.00`), as wire protocols want it.
    pub fn to_decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Display for Tenge {
    /// Shown to people: whole tenge without decimals when there are none (`90 ₸`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % 100 == 0 {
            write!(f, "{} ₸", self.0 / 100)
        } else {
            write!(f, "{} ₸", self.to_decimal())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_amounts() {
        assert_eq!(Tenge::parse_decimal("90"), Ok(Tenge::from_tiyn(9000)));
        assert_eq!(Tenge::parse_decimal("90.5"), Ok(Tenge::from_tiyn(9050)));
        assert_eq!(Tenge::parse_decimal("0.01"), Ok(Tenge::from_tiyn(1)));
        for bad in ["", "-5", "1e3", "9.001", "abc", ".5", "1.2.3", "+4"] {
            assert!(Tenge::parse_decimal(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Tenge::parse_decimal("99999999999"),
            Err(MoneyError::OutOfRange)
        );
    }

    #[test]
    fn formats_for_wire_and_people() {
        assert_eq!(Tenge::from_whole(90).to_decimal(), "90.00");
        assert_eq!(Tenge::from_tiyn(-5).to_decimal(), "-0.05");
        assert_eq!(Tenge::from_whole(80).to_string(), "80 ₸");
        assert_eq!(Tenge::from_tiyn(8050).to_string(), "80.50 ₸");
    }

    #[test]
    fn arithmetic_is_checked() {
        assert!(
            Tenge::from_tiyn(i64::MAX)
                .checked_add(Tenge::from_tiyn(1))
                .is_err()
        );
        assert_eq!(
            Tenge::from_whole(1).checked_sub(Tenge::from_whole(2)),
            Ok(Tenge::from_whole(-1))
        );
    }
}
