//! The ids every layer shares, read from a column and bound as their domain types, so a row
//! carries a [`TicketNumber`] rather than an integer that might be one: a ticket number is
//! stored as its integer. A stored value that is no such id reads as
//! [`crate::StoreError::Corrupt`], like any column of the wrong type.

use domain::ticket::TicketNumber;

use crate::db::{FromValue, Param, Value};

impl FromValue for TicketNumber {
    const NAME: &'static str = "a ticket number";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(v) => TicketNumber::try_from(*v).ok(),
            _ => None,
        }
    }
}

impl From<TicketNumber> for Param<'_> {
    fn from(number: TicketNumber) -> Self {
        Param::Int(Some(i64::from(number)))
    }
}

impl From<Option<TicketNumber>> for Param<'_> {
    fn from(number: Option<TicketNumber>) -> Self {
        Param::Int(number.map(i64::from))
    }
}
