//! SMS over SMPP 3.4 with the operators' SMSCs for the short number 2505.
//!
//! The use cases see two traits: [`SmsLink`] sends one part of a reply and answers with the
//! SMSC's `message_id`, sorted like the operator client's errors by what the caller must do
//! next ([`SubmitError`]); [`DeliverHandler`] receives what the SMSC delivers (a passenger's
//! message or a delivery receipt) and decides the answer, so nothing is acknowledged before it
//! is stored. [`esme::Esme`] implements the link over one transceiver bind; [`pdu`] is the
//! codec (shared with the simulated SMSC and fuzzed), [`text`] the GSM 03.38 / UCS-2 coding
//! and concatenation.

pub mod esme;
pub mod pdu;
pub mod status;
pub mod text;
mod tls;

use domain::OperatorId;

use crate::operator::BoxFuture;
pub use esme::{Esme, SmscConfig, Timeouts};
pub use status::{BindSnapshot, BindState, BindStatus, SmscDescription};
pub use text::{Concatenation, Part};

/// Why a part was not accepted, sorted by what the caller does next.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// ESME_RTHROTTLED: too fast; back off and send again.
    #[error("the SMSC throttles us")]
    Throttled,
    /// ESME_RMSGQFUL: the SMSC's queue (for this number) is full; back off and send again.
    #[error("the SMSC's queue is full")]
    QueueFull,
    /// No bind right now: nothing was sent.
    #[error("not bound to the SMSC")]
    NotBound,
    /// Written, but no answer came (timeout, connection lost): the SMSC may have taken it.
    #[error("no answer from the SMSC")]
    OutcomeUnknown,
    /// Another temporary error status; send again later.
    #[error("the SMSC answered {0:#010x}")]
    Temporary(u32),
    /// The SMSC will never take it (bad destination, bad length): do not send again.
    #[error("the SMSC refused it with {0:#010x}")]
    Rejected(u32),
}

/// Sends parts of replies through one operator's SMSC.
pub trait SmsLink: Send + Sync {
    /// Submits one part to `to` (E.164 with `+`), with a delivery receipt requested; the
    /// SMSC's message id on success.
    fn submit_part<'a>(
        &'a self,
        to: &'a str,
        part: &'a Part,
    ) -> BoxFuture<'a, Result<String, SubmitError>>;

    fn is_bound(&self) -> bool;
}

/// What an SMSC delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    Message(MoMessage),
    Receipt(Receipt),
}

/// A passenger's message, or one part of a concatenated one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoMessage {
    /// The SMSC's id of the message (the same on a redelivery).
    pub message_id: String,
    /// E.164 with `+` when the SMSC gave an international number.
    pub sender: String,
    pub destination: String,
    pub text: String,
    pub concatenation: Option<Concatenation>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The message id the SMSC gave our submit_sm.
    pub message_id: String,
    pub state: ReceiptState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiptState {
    Enroute,
    Delivered,
    Expired,
    Deleted,
    Undeliverable,
    Accepted,
    Rejected,
    Unknown,
}

impl ReceiptState {
    /// The `message_state` TLV values of SMPP 3.4 §5.2.28.
    pub fn from_message_state(value: u8) -> ReceiptState {
        match value {
            1 => ReceiptState::Enroute,
            2 => ReceiptState::Delivered,
            3 => ReceiptState::Expired,
            4 => ReceiptState::Deleted,
            5 => ReceiptState::Undeliverable,
            6 => ReceiptState::Accepted,
            8 => ReceiptState::Rejected,
            _ => ReceiptState::Unknown,
        }
    }

    pub fn message_state(self) -> u8 {
        match self {
            ReceiptState::Enroute => 1,
            ReceiptState::Delivered => 2,
            ReceiptState::Expired => 3,
            ReceiptState::Deleted => 4,
            ReceiptState::Undeliverable => 5,
            ReceiptState::Accepted => 6,
            ReceiptState::Unknown => 7,
            ReceiptState::Rejected => 8,
        }
    }

    /// The `stat:` word of the receipt text (appendix B).
    pub fn from_stat(word: &str) -> ReceiptState {
        match word.to_ascii_uppercase().as_str() {
            "ENROUTE" => ReceiptState::Enroute,
            "DELIVRD" => ReceiptState::Delivered,
            "EXPIRED" => ReceiptState::Expired,
            "DELETED" => ReceiptState::Deleted,
            "UNDELIV" => ReceiptState::Undeliverable,
            "ACCEPTD" => ReceiptState::Accepted,
            "REJECTD" => ReceiptState::Rejected,
            _ => ReceiptState::Unknown,
        }
    }

    pub fn stat(self) -> &'static str {
        match self {
            ReceiptState::Enroute => "ENROUTE",
            ReceiptState::Delivered => "DELIVRD",
            ReceiptState::Expired => "EXPIRED",
            ReceiptState::Deleted => "DELETED",
            ReceiptState::Undeliverable => "UNDELIV",
            ReceiptState::Accepted => "ACCEPTD",
            ReceiptState::Rejected => "REJECTD",
            ReceiptState::Unknown => "UNKNOWN",
        }
    }

    /// The word we store: `delivered`, `undeliverable`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptState::Enroute => "enroute",
            ReceiptState::Delivered => "delivered",
            ReceiptState::Expired => "expired",
            ReceiptState::Deleted => "deleted",
            ReceiptState::Undeliverable => "undeliverable",
            ReceiptState::Accepted => "accepted",
            ReceiptState::Rejected => "rejected",
            ReceiptState::Unknown => "unknown",
        }
    }
}

/// What to answer a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliverAnswer {
    /// Stored durably (or seen before): ESME_ROK.
    Stored,
    /// Could not store it now: ESME_RX_T_APPDN, the SMSC redelivers.
    TryLater,
    /// Never acceptable (not for our number): ESME_RX_P_APPDN.
    Refused,
}

/// Receives what an SMSC delivers on a bind.
pub trait DeliverHandler: Send + Sync {
    fn deliver(
        &self,
        operator: &OperatorId,
        delivery: Delivery,
    ) -> BoxFuture<'static, DeliverAnswer>;
}
