//! A ride's identity and the states of its payment, with the one table of moves between them.
//! The store moves a ride by compare-and-set (`… WHERE status = from`); this module says which
//! moves exist at all, so a move not in [`TRANSITIONS`] is refused before any SQL runs.

use std::fmt;

/// A ride id is 12 hex digits of milliseconds, then 16 random ones.
pub const RIDE_ID_CHARS: usize = 28;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RideError {
    #[error("ride id `{0}` is not 28 hex digits")]
    BadId(String),
    #[error("unknown ride status `{0}`")]
    BadStatus(String),
}

/// Time-ordered, so the rides index stays append-mostly.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RideId(String);

impl RideId {
    /// A new id from the time and 8 random bytes (both passed in: the domain has no clock).
    pub fn new(now_ms: i64, random: [u8; 8]) -> RideId {
        use std::fmt::Write;
        let mut id = String::with_capacity(RIDE_ID_CHARS);
        let _infallible = write!(id, "{:012x}", now_ms.max(0));
        for byte in random {
            let _infallible = write!(id, "{byte:02x}");
        }
        RideId(id)
    }

    pub fn parse(text: &str) -> Result<RideId, RideError> {
        if text.len() == RIDE_ID_CHARS && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(RideId(text.to_owned()))
        } else {
            Err(RideError::BadId(text.chars().take(64).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RideId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a ride's payment stands: `reserving → reserved → confirming → issued | failed`,
/// through `cancelling` while a refused capture's reservation is not released yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RideStatus {
    /// Inserted; the reservation is being asked for (or its answer was lost).
    Reserving,
    /// The payment source holds the fare but has not said it is final.
    Reserved,
    /// The capture was sent; its outcome is not known yet.
    Confirming,
    /// Refused, but the reservation is still to be released.
    Cancelling,
    /// Paid: the ticket exists.
    Issued,
    /// Not paid, and nothing is held.
    Failed,
}

/// Every move a ride may make, and no other.
pub const TRANSITIONS: &[(RideStatus, RideStatus)] = {
    use RideStatus::*;
    &[
        (Reserving, Reserved),
        (Reserving, Confirming),
        (Reserving, Cancelling),
        (Reserving, Issued),
        (Reserving, Failed),
        (Reserved, Confirming),
        (Reserved, Cancelling),
        (Reserved, Issued),
        (Reserved, Failed),
        (Confirming, Cancelling),
        (Confirming, Issued),
        (Confirming, Failed),
        (Cancelling, Issued),
        (Cancelling, Failed),
    ]
};

impl RideStatus {
    pub const ALL: [RideStatus; 6] = [
        RideStatus::Reserving,
        RideStatus::Reserved,
        RideStatus::Confirming,
        RideStatus::Cancelling,
        RideStatus::Issued,
        RideStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RideStatus::Reserving => "reserving",
            RideStatus::Reserved => "reserved",
            RideStatus::Confirming => "confirming",
            RideStatus::Cancelling => "cancelling",
            RideStatus::Issued => "issued",
            RideStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Result<RideStatus, RideError> {
        RideStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| RideError::BadStatus(text.chars().take(64).collect()))
    }

    /// Whether `self → to` is in [`TRANSITIONS`].
    pub fn can_move_to(self, to: RideStatus) -> bool {
        TRANSITIONS.contains(&(self, to))
    }

    /// No move leaves it.
    pub fn is_final(self) -> bool {
        !TRANSITIONS.iter().any(|(from, _)| *from == self)
    }

    /// The payment is still open: the ride may yet give a ticket.
    pub fn in_flight(self) -> bool {
        matches!(
            self,
            RideStatus::Reserving | RideStatus::Reserved | RideStatus::Confirming
        )
    }
}

impl fmt::Display for RideStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_listed_moves_are_allowed() {
        let mut allowed = 0;
        for from in RideStatus::ALL {
            for to in RideStatus::ALL {
                let listed = TRANSITIONS.contains(&(from, to));
                assert_eq!(from.can_move_to(to), listed, "{from} → {to}");
                allowed += usize::from(listed);
            }
        }
        assert_eq!(allowed, TRANSITIONS.len(), "no move is listed twice");
        for status in RideStatus::ALL {
            assert!(
                !status.can_move_to(status),
                "{status} does not move to itself"
            );
        }
        assert!(RideStatus::Issued.is_final() && RideStatus::Failed.is_final());
        assert!(!RideStatus::Cancelling.is_final());
        assert!(!RideStatus::Issued.can_move_to(RideStatus::Failed));
        assert!(!RideStatus::Failed.can_move_to(RideStatus::Issued));
    }

    #[test]
    fn statuses_and_ids_round_trip_as_text() {
        for status in RideStatus::ALL {
            assert_eq!(RideStatus::parse(status.as_str()), Ok(status));
        }
        assert!(RideStatus::parse("ended").is_err());
        let id = RideId::new(0x0123_4567_89ab, [0xff, 0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(id.as_str(), "0123456789abff00010203040506");
        assert_eq!(RideId::parse(id.as_str()), Ok(id));
        assert!(RideId::parse("0123456789abff0001020304050").is_err());
        assert!(RideId::parse("0123456789abff00010203040z06").is_err());
    }
}
