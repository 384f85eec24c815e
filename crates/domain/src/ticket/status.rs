//! A ticket's stored status and the moves allowed between them, in one table
//! ([`TicketStatus::TRANSITIONS`]). A ticket is born `valid`; the server may take it out of use
//! (`revoked`), and a refund pays its fare back to the payer (`refunded`). Neither is
//! ever undone. The end of the bus's run does not change the status: it sets the ticket's end
//! time, and is told as `ended` / `run_ended` ([`TicketStatus::shown`],
//! [`TicketStatus::invalidation_word`]).

crate::states! {
    /// A ticket's stored status.
    pub enum TicketStatus ("ticket status") {
        Valid = "valid",
        /// Taken out of use by the server (staff); its fare is given back to the payer.
        Revoked = "revoked",
        /// Its fare was paid back to the source that paid.
        Refunded = "refunded",
    }
    moves {
        Valid => Revoked, Refunded;
    }
}

impl TicketStatus {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_valid_ticket_moves_and_never_back() {
        assert_eq!(crate::check_states!(TicketStatus), Ok(()));
        for from in TicketStatus::ALL.iter().copied() {
            for to in TicketStatus::ALL.iter().copied() {
                let allowed = from == TicketStatus::Valid && to != TicketStatus::Valid;
                assert_eq!(from.can_move_to(to), allowed, "{from} -> {to}");
            }
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
