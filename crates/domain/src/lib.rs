//! The pure core of SMSBUS: money, identifiers, phone numbers, vehicles, fares, messages,
//! e-ticket tokens and the catalogue file's codec. Nothing here does IO: time, randomness and keys are passed in, so every
//! rule is tested in microseconds and cannot fail on a network or a disk.

pub mod audit;
pub mod biller;
pub mod card;
pub mod catalogue;
pub mod catalogue_file;
pub mod error;
pub mod fare_policy;
#[doc(hidden)]
pub mod fuzz_checks;
pub mod ledger;
pub mod messages;
pub mod money;
pub mod phone;
pub mod reconcile;
pub mod ride;
pub mod sms;
pub mod staff;
pub mod state;
pub mod ticket;
pub mod vehicle;

pub use error::ErrorCode;
pub use messages::Language;
pub use money::Tenge;
pub use phone::{OperatorId, PhoneNumber, PrefixTable};
pub use vehicle::{PlateNumber, TransportCode};
