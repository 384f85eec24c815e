//! The bank biller protocol's outcomes (`command=check|pay`, Kaspi's and OSMP's), and the
//! result code each bank's dialect gives them. The wire (query string, XML) is the API's.

/// Which result codes a bank reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Kaspi: 0 ok · 1 account not found · 2 cancelled · 3 already paid · 4 in processing ·
    /// 5 other error.
    Kaspi,
    /// OSMP/QIWI: 0 ok · 1 temporary · 4 invalid account format · 5 not found · 7 forbidden ·
    /// 241/242 sum too small/large · 300 other error.
    Osmp,
}

impl Dialect {
    pub const ALL: [Dialect; 2] = [Dialect::Kaspi, Dialect::Osmp];

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Kaspi => "kaspi",
            Dialect::Osmp => "osmp",
        }
    }

    pub fn parse(text: &str) -> Option<Dialect> {
        Dialect::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

/// What a `check` or `pay` came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    /// Not 16 digits, or the check digit fails.
    AccountMalformed,
    AccountNotFound,
    /// Blocked, closed or not active yet: it may not be paid.
    AccountForbidden,
    SumMalformed,
    SumTooSmall,
    SumTooLarge,
    /// The card would hold more than its kind may.
    BalanceTooLarge,
    /// A parameter is missing or malformed (`command`, `txn_id`, `txn_date`).
    BadRequest,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::Ok,
        Outcome::AccountMalformed,
        Outcome::AccountNotFound,
        Outcome::AccountForbidden,
        Outcome::SumMalformed,
        Outcome::SumTooSmall,
        Outcome::SumTooLarge,
        Outcome::BalanceTooLarge,
        Outcome::BadRequest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::AccountMalformed => "account_malformed",
            Outcome::AccountNotFound => "account_not_found",
            Outcome::AccountForbidden => "account_forbidden",
            Outcome::SumMalformed => "sum_malformed",
            Outcome::SumTooSmall => "sum_too_small",
            Outcome::SumTooLarge => "sum_too_large",
            Outcome::BalanceTooLarge => "balance_too_large",
            Outcome::BadRequest => "bad_request",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// The protocol's `result` in this dialect.
    pub fn result_code(self, dialect: Dialect) -> u16 {
        match dialect {
            Dialect::Kaspi => match self {
                Outcome::Ok => 0,
                Outcome::AccountMalformed | Outcome::AccountNotFound => 1,
                _ => 5,
            },
            Dialect::Osmp => match self {
                Outcome::Ok => 0,
                Outcome::AccountMalformed => 4,
                Outcome::AccountNotFound => 5,
                Outcome::AccountForbidden => 7,
                Outcome::SumTooSmall => 241,
                Outcome::SumTooLarge | Outcome::BalanceTooLarge => 242,
                Outcome::SumMalformed | Outcome::BadRequest => 300,
            },
        }
    }

    /// The protocol's `comment`: what a bank's integration engineer reads.
    pub fn comment(self) -> &'static str {
        match self {
            Outcome::Ok => "OK",
            Outcome::AccountMalformed => "account is not a valid card number (16 digits, Luhn)",
            Outcome::AccountNotFound => "no such card",
            Outcome::AccountForbidden => "the card is blocked, closed or not active",
            Outcome::SumMalformed => "sum must be digits with an optional . and two decimals",
            Outcome::SumTooSmall => "sum is below the minimum top-up",
            Outcome::SumTooLarge => "sum is above the maximum top-up",
            Outcome::BalanceTooLarge => "the card would hold more than its maximum balance",
            Outcome::BadRequest => {
                "command, txn_id (1..=64 of [A-Za-z0-9_-]) or txn_date (YYYYMMDDHHMMSS) is missing or malformed"
            }
        }
    }
}

/// A bank's transaction id: 1..=64 of `[A-Za-z0-9_-]`.
pub fn txn_id_valid(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `txn_date` as `YYYYMMDDHHMMSS`, with a plausible month, day, hour, minute and second.
pub fn txn_date_valid(text: &str) -> bool {
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let part = |range: std::ops::Range<usize>| {
        text.get(range)
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(99)
    };
    (1..=12).contains(&part(4..6))
        && (1..=31).contains(&part(6..8))
        && part(8..10) < 24
        && part(10..12) < 60
        && part(12..14) < 60
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dialect_has_its_codes() {
        assert_eq!(Outcome::AccountNotFound.result_code(Dialect::Kaspi), 1);
        assert_eq!(Outcome::AccountNotFound.result_code(Dialect::Osmp), 5);
        assert_eq!(Outcome::SumTooSmall.result_code(Dialect::Osmp), 241);
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
            assert!(outcome.result_code(Dialect::Kaspi) <= 5);
        }
        assert!(txn_date_valid("20261201143000"));
        assert!(!txn_date_valid("20261301143000"));
        assert!(!txn_id_valid("a b"));
        assert!(txn_id_valid("123456789"));
    }
}
