//! A ride's identity and the states of its payment, with the one table of moves between them.
//! The store moves a ride by compare-and-set (`… WHERE status = from`); this module says which
//! moves exist at all, so a move not in [`RideStatus::TRANSITIONS`] is refused before any SQL runs.

use std::fmt;

/// A ride id is 12 hex digits of milliseconds, then 16 random ones.
pub const RIDE_ID_CHARS: usize = 28;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RideError {
    #[error("ride id `{0}` is not 28 hex digits")]
    BadId(String),
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

crate::states! {
    /// Where a ride's payment stands: `reserving → reserved → confirming → issued | failed`,
    /// through `cancelling` while a refused capture's reservation is not released yet.
    pub enum RideStatus ("ride status") {
        /// Inserted; the reservation is being asked for (or its answer was lost).
        Reserving = "reserving",
        /// The payment source holds the fare but has not said it is final.
        Reserved = "reserved",
        /// The capture was sent; its outcome is not known yet.
        Confirming = "confirming",
        /// Refused, but the reservation is still to be released.
        Cancelling = "cancelling",
        /// Paid: the ticket exists.
        Issued = "issued",
        /// Not paid, and nothing is held.
        Failed = "failed",
    }
    moves {
        Reserving => Reserved, Confirming, Cancelling, Issued, Failed;
        Reserved => Confirming, Cancelling, Issued, Failed;
        Confirming => Cancelling, Issued, Failed;
        Cancelling => Issued, Failed;
    }
}

crate::states! {
    /// A refund asked of the operator for a phone-balance ride (CAMARA Carrier Billing Refund).
    pub enum OperatorRefundStatus ("operator refund status") {
        /// Written, and sent (or to be sent again with the same correlator).
        Requested = "requested",
        /// The operator took it and has not said it is done.
        Processing = "processing",
        /// The money is back with the passenger.
        Succeeded = "succeeded",
        /// The operator refused; staff may ask again.
        Denied = "denied",
    }
    moves {
        Requested => Processing, Succeeded, Denied;
        Processing => Succeeded, Denied;
        Denied => Requested;
    }
}

impl RideStatus {
    /// The payment is still open: the ride may yet give a ticket.
    pub fn in_flight(self) -> bool {
        matches!(
            self,
            RideStatus::Reserving | RideStatus::Reserved | RideStatus::Confirming
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_listed_moves_are_allowed() {
        assert_eq!(crate::check_states!(RideStatus), Ok(()));
        assert!(RideStatus::Issued.is_final() && RideStatus::Failed.is_final());
        assert!(!RideStatus::Cancelling.is_final());
        assert!(!RideStatus::Issued.can_move_to(RideStatus::Failed));
        assert!(!RideStatus::Failed.can_move_to(RideStatus::Issued));
        assert!(RideStatus::Reserving.can_move_to(RideStatus::Issued));
        assert_eq!(crate::check_states!(OperatorRefundStatus), Ok(()));
        assert!(OperatorRefundStatus::Succeeded.is_final());
        assert!(
            !OperatorRefundStatus::Denied.is_final(),
            "staff may ask again"
        );
    }

    #[test]
    fn statuses_and_ids_round_trip_as_text() {
        assert!(RideStatus::parse("ended").is_err());
        let id = RideId::new(0x0123_4567_89ab, [0xff, 0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(id.as_str(), "0123456789abff00010203040506");
        assert_eq!(RideId::parse(id.as_str()), Ok(id));
        assert!(RideId::parse("0123456789abff0001020304050").is_err());
        assert!(RideId::parse("0123456789abff00010203040z06").is_err());
    }
}
