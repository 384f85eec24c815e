//! A ticket's stored status and the moves allowed between them, in one table
//! ([`TICKET_TRANSITIONS`]). A ticket is born `valid`; the server may take it out of use
//! (`revoked`), and refunds (the cards issue) will pay its fare back (`refunded`). Neither is
//! ever undone. The end of the bus's run does not change the status: it sets the ticket's end
//! time, and is told as `ended` / `run_ended` ([`TicketStatus::shown`],
//! [`TicketStatus::invalidation_word`]).

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TicketStatus {
    Valid,
    Revoked,
    Refunded,
}

/// Every move a ticket's status may make; anything else is refused.
pub const TICKET_TRANSITIONS: &[(TicketStatus, TicketStatus)] = &[
    (TicketStatus::Valid, TicketStatus::Revoked),
    (TicketStatus::Valid, TicketStatus::Refunded),
];

/// A stored status that is none of ours.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown ticket status `{0}`")]
pub struct UnknownTicketStatus(pub String);

impl TicketStatus {
    pub const ALL: [TicketStatus; 3] = [
        TicketStatus::Valid,
        TicketStatus::Revoked,
        TicketStatus::Refunded,
    ];

    /// The word stored in `tickets.status` and shown by the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Valid => "valid",
            TicketStatus::Revoked => "revoked",
            TicketStatus::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Result<TicketStatus, UnknownTicketStatus> {
        TicketStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| UnknownTicketStatus(text.chars().take(32).collect()))
    }

    /// `next` is a move [`TICKET_TRANSITIONS`] allows from `self`.
    pub fn may_become(self, next: TicketStatus) -> bool {
        TICKET_TRANSITIONS.contains(&(self, next))
    }

    /// The status a passenger's ticket is shown with: `ended` once its run has ended,
    /// otherwise the stored one.
    pub const fn shown(self, run_ended: bool) -> &'static str {
        if run_ended { "ended" } else { self.as_str() }
    }

    /// Why an invalidated ticket may no longer be used, as a controller's list says it: a
    /// ticket still `valid` was invalidated by its run's end (`run_ended`).
    pub const fn invalidation_word(self, run_ended: bool) -> &'static str {
        match self {
            TicketStatus::Valid if run_ended => "run_ended",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_valid_ticket_moves_and_never_back() {
        for from in TicketStatus::ALL {
            for to in TicketStatus::ALL {
                let allowed = from == TicketStatus::Valid && to != TicketStatus::Valid;
                assert_eq!(from.may_become(to), allowed, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn every_status_reads_back_and_nothing_else_reads() {
        for status in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(status.as_str()), Ok(status));
        }
        for text in ["", "Valid", "ended", "run_ended", "reserving"] {
            assert!(TicketStatus::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn a_run_end_is_told_but_not_stored() {
        assert_eq!(TicketStatus::Valid.shown(false), "valid");
        assert_eq!(TicketStatus::Valid.shown(true), "ended");
        assert_eq!(TicketStatus::Revoked.shown(true), "ended");
        assert_eq!(TicketStatus::Valid.invalidation_word(true), "run_ended");
        assert_eq!(TicketStatus::Revoked.invalidation_word(true), "revoked");
        assert_eq!(TicketStatus::Refunded.invalidation_word(false), "refunded");
    }
}
