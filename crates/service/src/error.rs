//! The one error type of the use cases: a stable [`ErrorCode`] the passenger can be told, plus
//! a detail for the logs. Store and partner failures become `Internal` or a precise code here,
//! so the HTTP layer only renders.

use domain::ErrorCode;

#[derive(Debug, thiserror::Error)]
#[error("{code:?}: {detail}")]
pub struct ServiceError {
    pub code: ErrorCode,
    /// For operators and logs, never shown as the passenger's message.
    pub detail: String,
    /// How long the caller must wait before the same request can succeed (a limit or a
    /// lockout), when that is known.
    pub retry_after_ms: Option<i64>,
}

impl ServiceError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> ServiceError {
        ServiceError {
            code,
            detail: detail.into(),
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
        ServiceError::internal(format!("store: {error}"))
    }
}

impl From<domain::money::MoneyError> for ServiceError {
    fn from(error: domain::money::MoneyError) -> ServiceError {
        ServiceError::internal(format!("money: {error}"))
    }
}
