//! Identifiers: dense indices (`StopIdx`, `RouteIdx`, ...) that the planner works with, and the
//! external GTFS ids (`GtfsStopId`, ...) that arrive in feeds and leave in answers.
//!
//! They are distinct types on purpose: a dense index is only meaningful for the feed or the
//! timetable it was made for, while a GTFS id is what a passenger or an operator sees.

use std::fmt;
use std::sync::Arc;

macro_rules! dense_index {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u32);

        impl $name {
            /// Wraps a raw dense index.
            pub const fn new(index: u32) -> Self {
                Self(index)
            }

            /// The raw index, for tables indexed by this id.
            pub const fn get(self) -> u32 {
                self.0
            }

            /// The raw index as `usize`.
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}#{}", stringify!($name), self.0)
            }
        }
    };
}

dense_index!(
    /// A stop of a feed (the same index in the feed and in every timetable built from it).
    StopIdx
);
dense_index!(
    /// A RAPTOR route of one timetable: trips with an identical stop sequence, none overtaking
    /// another. Not a GTFS route: see [`LineIdx`].
    RouteIdx
);
dense_index!(
    /// A GTFS route of a feed, what passengers call a route or a line ("10A").
    LineIdx
);
dense_index!(
    /// A GTFS trip of a feed.
    TripIdx
);
dense_index!(
    /// A service (calendar entry) of a feed.
    ServiceIdx
);
dense_index!(
    /// A shape (polyline) of a feed.
    ShapeIdx
);

/// Why an external id was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Empty or only whitespace.
    #[error("an id must not be empty")]
    Empty,
    /// Longer than [`GTFS_ID_LEN_MAX`].
    #[error("an id must be at most {GTFS_ID_LEN_MAX} bytes long")]
    TooLong,
}

/// Longest external id accepted, in bytes.
pub const GTFS_ID_LEN_MAX: usize = 255;

macro_rules! external_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Cloning is cheap (a shared string): live state copies these into every position.
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Accepts a GTFS id: trimmed, not empty, at most [`GTFS_ID_LEN_MAX`] bytes.
            pub fn new(raw: &str) -> Result<Self, IdError> {
                let trimmed = raw.trim();
                if trimmed.is_empty() {
                    return Err(IdError::Empty);
                }
                if trimmed.len() > GTFS_ID_LEN_MAX {
                    return Err(IdError::TooLong);
                }
                Ok(Self(Arc::from(trimmed)))
            }

            /// The id as written in the feed.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

external_id!(
    /// `stop_id` of a GTFS feed.
    GtfsStopId
);
external_id!(
    /// `route_id` of a GTFS feed; fares are attached to these.
    GtfsRouteId
);
external_id!(
    /// `trip_id` of a GTFS feed.
    GtfsTripId
);
