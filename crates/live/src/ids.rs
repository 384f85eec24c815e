//! Identifiers and time: one struct per id, dense indices distinct from external ids. The
//! GTFS ids (`GtfsTripId`, `GtfsRouteId`, `GtfsStopId`) are `transit::ids`', the only ones.

/// A vehicle as the rest of the system knows it (the server's vehicle table chooses it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VehicleId(pub u64);

/// A tracker's own identifier (IMEI or serial number), as sent in a Wialon IPS login.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrackerId(String);

impl TrackerId {
    pub fn new(value: &str) -> Self {
        Self(value.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Dense index of a run inside one [`crate::network::Network`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunIdx(pub u32);

impl RunIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A moment in time: integer milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TimeMs(pub i64);

impl TimeMs {
    pub const fn from_unix_s(seconds: i64) -> Self {
        Self(seconds.saturating_mul(1000))
    }

    pub const fn unix_s(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub const fn plus_ms(self, milliseconds: i64) -> Self {
        Self(self.0.saturating_add(milliseconds))
    }

    /// `self - earlier` in milliseconds (negative when `earlier` is later).
    pub const fn since_ms(self, earlier: TimeMs) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    pub fn seconds_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}
