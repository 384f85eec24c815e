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
}

impl ServiceError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> ServiceError {
        ServiceError {
            code,
            detail: detail.into(),
        }
    }

    pub fn internal(detail: impl Into<String>) -> ServiceError {
        ServiceError::new(ErrorCode::Internal, detail)
    }
}

impl From<ErrorCode> for ServiceError {
    fn from(code: ErrorCode) -> ServiceError {
        ServiceError {
            code,
            detail: String::new(),
        }
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
