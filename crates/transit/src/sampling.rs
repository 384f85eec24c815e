//! Reproducible random stop-to-stop queries for benchmarks: a seeded SplitMix64 generator
//! (randomness is passed in as a seed, never read from the system).

use crate::ids::StopIdx;
use crate::spi::TransitData;
use crate::timetable::Timetable;

/// SplitMix64: small, fast, good enough to pick benchmark queries.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound.max(1) as u64) as usize
    }
}

/// `count` pairs of distinct stops served by at least one trip on the timetable's date.
pub fn random_stop_pairs(
    timetable: &Timetable,
    count: usize,
    seed: u64,
) -> Vec<(StopIdx, StopIdx)> {
    let served: Vec<StopIdx> = (0..timetable.stop_count() as u32)
        .map(StopIdx::new)
        .filter(|&s| timetable.is_served(s))
        .collect();
    if served.len() < 2 {
        return Vec::new();
    }
    let mut random = SplitMix64::new(seed);
    let mut pairs = Vec::with_capacity(count);
    while pairs.len() < count {
        let from = served.get(random.below(served.len())).copied();
        let to = served.get(random.below(served.len())).copied();
        if let (Some(from), Some(to)) = (from, to)
            && from != to
        {
            pairs.push((from, to));
        }
    }
    pairs
}
