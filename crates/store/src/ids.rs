//! The ids every layer shares, read from a column and bound as their domain types, so a row
//! carries a [`TicketNumber`] or a [`RideId`] rather than an integer or a string that might be
//! one: a ticket number is stored as its integer, a ride id as its text. A stored value that is no such id reads as
//! [`crate::StoreError::Corrupt`], like any column of the wrong type.

use domain::ride::RideId;
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

impl FromValue for RideId {
    const NAME: &'static str = "a ride id";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(v) => RideId::parse(v).ok(),
            _ => None,
        }
    }
}

impl<'a> From<&'a RideId> for Param<'a> {
    fn from(id: &'a RideId) -> Self {
        Param::Text(Some(id.as_str()))
    }
}

impl<'a> From<Option<&'a RideId>> for Param<'a> {
    fn from(id: Option<&'a RideId>) -> Self {
        Param::Text(id.map(RideId::as_str))
    }
}

impl<'a> From<&'a Option<RideId>> for Param<'a> {
    fn from(id: &'a Option<RideId>) -> Self {
        Param::Text(id.as_ref().map(RideId::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ride_id_is_read_only_from_text_that_is_one() {
        let id = RideId::new(1_757_491_200_000, [7; 8]);
        let stored = Value::Text(id.as_str().to_owned());
        assert_eq!(RideId::from_value(&stored), Some(id.clone()));
        assert!(matches!(Param::from(&id), Param::Text(Some(text)) if text == id.as_str()));
        let mut not_hex = id.as_str().to_owned();
        not_hex.replace_range(..1, "g");
        for not_one in [
            Value::Text("r1".to_owned()),
            Value::Text(not_hex),
            Value::Int(1),
            Value::Null,
        ] {
            assert_eq!(RideId::from_value(&not_one), None, "{not_one:?}");
        }
    }
}
