//! The one error type of the use cases: a stable [`ErrorCode`] the passenger can be told, plus
//! a detail for the logs. Store and partner failures become `Internal` or a precise code here,
//! so the HTTP layer only renders.

use domain::catalogue::Zone;
use domain::ride::RideId;
use domain::{ErrorCode, Tenge};

use crate::tickets::IssuedTicket;

#[derive(Debug, thiserror::Error)]
#[error("{code:?}: {detail}")]
pub struct ServiceError {
    pub code: ErrorCode,
    /// For operators and logs, never shown as the passenger's message.
    pub detail: String,
    /// How long the caller must wait before the same request can succeed (a limit or a
    /// lockout), when that is known.
    pub retry_after_ms: Option<i64>,
    /// What the passenger needs to go on from this refusal, where the code alone is not
    /// enough (the zones to choose from, the ticket already held).
    pub context: Option<Box<Refusal>>,
}

/// The facts a refusal carries to the passenger beside its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A zone-priced route asked for without a zone: the zones and their fares.
    ZoneRequired {
        route_number: String,
        transport_code: String,
        zones: Vec<(Zone, Tenge)>,
    },
    /// The passenger holds a valid ticket (or a payment in flight) on this bus already.
    AlreadyHeld {
        /// The most recent ticket held, when one is issued.
        ticket: Option<Box<IssuedTicket>>,
        /// A payment of theirs on this bus still being confirmed.
        pending_ride_id: Option<RideId>,
        tickets_held: u32,
        /// The bus and zone of the request, to say how to buy one more on purpose.
        transport_code: String,
        zone: Option<Zone>,
    },
    /// A ride that ended failed, read back: why it failed.
    RideFailed { ride_id: RideId, failure: ErrorCode },
}

impl ServiceError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> ServiceError {
        ServiceError {
            code,
            detail: detail.into(),
            context: None,
            retry_after_ms: None,
        }
    }

    pub fn refusal(code: ErrorCode, context: Refusal) -> ServiceError {
        ServiceError {
            code,
            detail: String::new(),
            context: Some(Box::new(context)),
            retry_after_ms: None,
        }
    }

    /// The wait before trying again.
    pub fn retry_after_ms(mut self, wait_ms: i64) -> ServiceError {
        self.retry_after_ms = Some(wait_ms.max(0));
        self
    }

    pub fn internal(detail: impl Into<String>) -> ServiceError {
        ServiceError::new(ErrorCode::Internal, detail)
    }
}

impl From<ErrorCode> for ServiceError {
    fn from(code: ErrorCode) -> ServiceError {
        ServiceError::new(code, "")
    }
}

impl From<store::StoreError> for ServiceError {
    fn from(error: store::StoreError) -> ServiceError {
        match &error {
            // A card's balance refused the debit: the passenger's card does not hold the fare.
            store::StoreError::Overdrawn { account_kind, .. }
                if account_kind == domain::ledger::AccountKind::CardBalance.as_str() =>
            {
                ServiceError::new(ErrorCode::CardInsufficientFunds, error.to_string())
            }
            _ => ServiceError::internal(format!("store: {error}")),
        }
    }
}

impl From<domain::money::MoneyError> for ServiceError {
    fn from(error: domain::money::MoneyError) -> ServiceError {
        ServiceError::internal(format!("money: {error}"))
    }
}

impl From<domain::ledger::LedgerError> for ServiceError {
    fn from(error: domain::ledger::LedgerError) -> ServiceError {
        ServiceError::internal(format!("ledger: {error}"))
    }
}
