//! Virtual transport cards: the number (16 digits, the last a Luhn check digit, shown grouped
//! `9398 1234 5678 9012`), the kinds a passenger opens (regular, school; preferential ones are
//! approved at the office), the lifecycle with its one table of moves ([`CardStatus::TRANSITIONS`]),
//! the top-up limits, and the sum of a bank's top-up as the biller protocol writes it.

use std::fmt;

use crate::catalogue::RiderCategory;
use crate::money::Tenge;

/// Card numbers are this many digits, the last one the Luhn check digit.
pub const CARD_NUMBER_DIGITS: usize = 16;
/// Our issuer prefix: every card number we issue starts with it.
pub const CARD_NUMBER_PREFIX: &str = "9398";
/// What a school card's text fields may hold.
pub const CARD_TEXT_CHARS_MAX: usize = 80;
/// A holder may keep at most this many cards open (a family's children).
pub const CARDS_PER_HOLDER_MAX: usize = 10;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("a card number is 16 digits")]
    Malformed,
    #[error("the card number's check digit does not match (a mistyped digit)")]
    CheckDigit,
    #[error("unknown card kind `{0}`")]
    BadKind(String),
}

/// A card number whose check digit holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardNumber(String);

/// The Luhn check digit of `payload` (the digits before it).
fn luhn_digit(payload: &[u8]) -> u8 {
    let mut sum = 0u32;
    for (i, d) in payload.iter().rev().enumerate() {
        let mut v = u32::from(*d);
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

impl CardNumber {
    /// Reads a number as people write it: spaces and dashes between digits are ignored. A
    /// number of the right length whose check digit fails is [`CardError::CheckDigit`].
    pub fn parse(text: &str) -> Result<CardNumber, CardError> {
        let mut digits = Vec::with_capacity(CARD_NUMBER_DIGITS);
        for c in text.trim().chars() {
            match c {
                '0'..='9' => digits.push(c as u8 - b'0'),
                ' ' | '-' => {}
                _ => return Err(CardError::Malformed),
            }
            if digits.len() > CARD_NUMBER_DIGITS {
                return Err(CardError::Malformed);
            }
        }
        let Some((check, payload)) = digits.split_last() else {
            return Err(CardError::Malformed);
        };
        if digits.len() != CARD_NUMBER_DIGITS {
            return Err(CardError::Malformed);
        }
        if luhn_digit(payload) != *check {
            return Err(CardError::CheckDigit);
        }
        Ok(CardNumber(
            digits.iter().map(|d| char::from(b'0' + d)).collect(),
        ))
    }

    /// A new number from 11 random digits (passed in: the domain draws no randomness) after our
    /// prefix, and its check digit.
    pub fn issue(random: u64) -> CardNumber {
        let body = format!("{CARD_NUMBER_PREFIX}{:011}", random % 100_000_000_000);
        let payload: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
        let check = luhn_digit(&payload);
        CardNumber(format!("{body}{check}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `9398 1234 5678 9012`.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(19);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }

    /// The last four digits, as the SMS command names a card.
    pub fn last_four(&self) -> &str {
        self.0.get(CARD_NUMBER_DIGITS - 4..).unwrap_or("")
    }

    /// `•••• 9012`, for banks' display fields and logs.
    pub fn masked(&self) -> String {
        format!("•••• {}", self.last_four())
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CardKind {
    Regular,
    /// A pupil's card held by a parent's phone account.
    School,
    /// A preferential category approved at the office.
    Preferential,
}

impl CardKind {
    pub const ALL: [CardKind; 3] = [CardKind::Regular, CardKind::School, CardKind::Preferential];

    pub fn as_str(self) -> &'static str {
        match self {
            CardKind::Regular => "regular",
            CardKind::School => "school",
            CardKind::Preferential => "preferential",
        }
    }

    pub fn parse(text: &str) -> Result<CardKind, CardError> {
        CardKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| CardError::BadKind(text.chars().take(32).collect()))
    }

    /// The rider category a new card of this kind pays as.
    pub fn default_category(self) -> RiderCategory {
        match self {
            CardKind::School => RiderCategory::School,
            CardKind::Regular | CardKind::Preferential => RiderCategory::Regular,
        }
    }

    /// The most a card of this kind may hold.
    pub fn balance_max(self) -> Tenge {
        match self {
            CardKind::School => Tenge::from_whole(20_000),
            CardKind::Regular | CardKind::Preferential => Tenge::from_whole(100_000),
        }
    }
}

/// The least and the most one top-up may bring.
pub const TOP_UP_MIN: Tenge = Tenge::from_whole(50);
pub const TOP_UP_MAX: Tenge = Tenge::from_whole(50_000);

crate::states! {
    /// Where a card stands. `Closed` is for good.
    pub enum CardStatus ("card status") {
        /// Opened, not yet usable (a preferential card waits for the office).
        Open = "open",
        Active = "active",
        /// Lost phone or stolen: pays nothing, takes no top-up until unblocked.
        Blocked = "blocked",
        /// For good; its balance went to another card.
        Closed = "closed",
    }
    moves {
        Open => Active, Closed;
        Active => Blocked, Closed;
        Blocked => Active, Closed;
    }
}

crate::states! {
    /// A top-up paid by card on the acquirer's page: `created`, then `paid` or `failed` as the
    /// acquirer's callback (or its order status, asked by recovery) says.
    pub enum TopUpStatus ("top-up status") {
        /// Waiting for the passenger to pay on the acquirer's page.
        Created = "created",
        /// The acquirer took the money: the card was credited.
        Paid = "paid",
        /// Declined, expired or refused: nothing moved.
        Failed = "failed",
    }
    moves {
        Created => Paid, Failed;
    }
}

crate::states! {
    /// An application for a preferential card, as the office decides it.
    pub enum ApplicationStatus ("card application status") {
        /// Waiting for a clerk.
        Pending = "pending",
        /// Approved: the card is active with its category.
        Approved = "approved",
        /// Refused, with the clerk's reason.
        Rejected = "rejected",
    }
    moves {
        Pending => Approved, Rejected;
    }
}

/// A holder's name as a bank shows it before paying: `А*** Б***` (first letters only).
pub fn masked_name(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|word| word.chars().next())
        .map(|c| format!("{c}***"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The SMS a school card's holder gets when the card runs low.
pub fn low_balance_text(
    language: crate::messages::Language,
    pupil: &str,
    last_four: &str,
    balance: Tenge,
) -> String {
    let amount = balance.to_decimal();
    match language {
        crate::messages::Language::Kk => format!(
            "SMSBUS: {pupil} мектеп картасында (•••• {last_four}) {amount} ₸ қалды. Картаны Kaspi немесе Halyk қосымшасынан толтырыңыз."
        ),
        crate::messages::Language::Ru => format!(
            "SMSBUS: на школьной карте {pupil} (•••• {last_four}) осталось {amount} ₸. Пополните её в приложении Kaspi или Halyk."
        ),
        crate::messages::Language::En => format!(
            "SMSBUS: {pupil}'s school card (•••• {last_four}) has {amount} ₸ left. Top it up in the Kaspi or Halyk app."
        ),
    }
}

/// The SMS a preferential card's holder gets before the status ends: the card, the last day
/// of the status (`DD.MM.YYYY`, the city's calendar) and what to do to keep the fare.
pub fn status_ending_text(
    language: crate::messages::Language,
    last_four: &str,
    last_day: &str,
) -> String {
    match language {
        crate::messages::Language::Kk => format!(
            "SMSBUS: жеңілдікті картаңыздың (•••• {last_four}) жеңілдігі {last_day} аяқталады. Одан кейін толық баға төленеді. Ұзарту үшін құжаттарыңызбен кеңсеге келіңіз."
        ),
        crate::messages::Language::Ru => format!(
            "SMSBUS: льгота по вашей карте (•••• {last_four}) действует до {last_day} включительно. После этого проезд по полному тарифу. Чтобы продлить, придите в офис с документами."
        ),
        crate::messages::Language::En => format!(
            "SMSBUS: the preferential fare of your card (•••• {last_four}) ends after {last_day}. The regular fare applies then. To renew it, bring your documents to the office."
        ),
    }
}

/// Why a top-up sum is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SumError {
    /// Not written as the protocol writes sums: digits, optionally `.` and two decimals.
    Malformed,
    TooSmall,
    TooLarge,
}

/// A bank's `sum` exactly as the protocol writes it: `200`, `200.5` or `200.00` — at most
/// nine whole digits, no sign, no spaces, no comma, no exponent — and within
/// [`TOP_UP_MIN`]..=[`TOP_UP_MAX`].
pub fn parse_top_up_sum(text: &str) -> Result<Tenge, SumError> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let fraction_ok = fraction.is_none_or(|f| digits(f) && f.len() <= 2);
    if !digits(whole) || whole.len() > 9 || !fraction_ok {
        return Err(SumError::Malformed);
    }
    let sum = Tenge::parse_decimal(text).map_err(|_| SumError::TooLarge)?;
    if sum.tiyn() < TOP_UP_MIN.tiyn() {
        return Err(SumError::TooSmall);
    }
    if sum.tiyn() > TOP_UP_MAX.tiyn() {
        return Err(SumError::TooLarge);
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_numbers_pass_their_check_digit_and_a_typo_fails_it() {
        for random in [0, 1, 42, 99_999_999_999, 12_345_678_901] {
            let number = CardNumber::issue(random);
            assert_eq!(number.as_str().len(), 16);
            assert_eq!(CardNumber::parse(number.as_str()), Ok(number.clone()));
            assert_eq!(CardNumber::parse(&number.grouped()), Ok(number.clone()));
            // Every single-digit change is caught.
            for i in 0..16 {
                let mut digits: Vec<u8> = number.as_str().bytes().collect();
                let d = digits.get_mut(i).unwrap();
                *d = b'0' + (*d - b'0' + 1) % 10;
                let typo = String::from_utf8(digits).unwrap();
                assert_eq!(CardNumber::parse(&typo), Err(CardError::CheckDigit));
            }
        }
        assert_eq!(
            CardNumber::parse("4111 1111 1111 1111").unwrap().grouped(),
            "4111 1111 1111 1111"
        );
        assert_eq!(CardNumber::parse("4111"), Err(CardError::Malformed));
        assert_eq!(
            CardNumber::parse("41111111111111111"),
            Err(CardError::Malformed)
        );
        assert_eq!(
            CardNumber::parse("4111x111111111111"),
            Err(CardError::Malformed)
        );
        assert_eq!(CardNumber::parse(""), Err(CardError::Malformed));
    }

    #[test]
    fn the_lifecycle_moves_only_along_its_table() {
        use CardStatus::*;
        assert!(Open.can_move_to(Active));
        assert!(Active.can_move_to(Blocked));
        assert!(Blocked.can_move_to(Active));
        assert!(Active.can_move_to(Closed));
        assert!(!Closed.can_move_to(Active));
        assert!(!Blocked.can_move_to(Open));
        assert_eq!(crate::check_states!(CardStatus), Ok(()));
    }

    #[test]
    fn a_top_up_and_an_application_are_decided_once() {
        assert_eq!(crate::check_states!(TopUpStatus), Ok(()));
        assert_eq!(crate::check_states!(ApplicationStatus), Ok(()));
        assert!(TopUpStatus::Paid.is_final() && TopUpStatus::Failed.is_final());
        assert!(!TopUpStatus::Failed.can_move_to(TopUpStatus::Paid));
        assert!(ApplicationStatus::Approved.is_final() && ApplicationStatus::Rejected.is_final());
    }

    #[test]
    fn sums_are_read_as_the_protocol_writes_them() {
        assert_eq!(parse_top_up_sum("200.00"), Ok(Tenge::from_whole(200)));
        assert_eq!(parse_top_up_sum("200"), Ok(Tenge::from_whole(200)));
        assert_eq!(parse_top_up_sum("200.5"), Ok(Tenge::from_tiyn(20_050)));
        for bad in [
            "200,00",
            "-5",
            "1e3",
            "+200",
            " 200",
            "200.",
            ".5",
            "200.001",
            "12345678901234567890",
            "",
            "2 00",
        ] {
            assert_eq!(parse_top_up_sum(bad), Err(SumError::Malformed), "{bad}");
        }
        assert_eq!(parse_top_up_sum("49.99"), Err(SumError::TooSmall));
        assert_eq!(parse_top_up_sum("50000.01"), Err(SumError::TooLarge));
        assert_eq!(parse_top_up_sum("999999999"), Err(SumError::TooLarge));
    }

    #[test]
    fn names_are_masked_to_initials() {
        assert_eq!(masked_name("Айгерим Серикова"), "А*** С***");
        assert_eq!(masked_name(""), "");
    }
}
