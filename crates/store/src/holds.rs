//! How long SQLite's connections were held, and where: each write transaction's turn on the
//! writer (and how long it waited for it), each `COMMIT`, each read, each checkpoint that held
//! the writer back. Gathered since the last look ([`crate::Store::take_holds`]), by the call
//! site that began the transaction or took the reader, so when latency climbs a soak or an
//! operator reads which code holds the one writer, instead of guessing.

use std::collections::HashMap;
use std::panic::Location;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// What the connections were held for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HoldKind {
    /// A write transaction's own work, from its turn to its commit (a grouped one's savepoint
    /// released) or rollback.
    Write,
    /// The wait for the writer's turn.
    WaitForWriter,
    /// SQLite's `COMMIT` (for a batch: once, for all its members).
    Commit,
    /// A reader connection, from taking it to giving it back.
    Read,
    /// A checkpoint that holds the writer's turn (the WAL restarts after it).
    CheckpointHoldingWriter,
    /// A checkpoint beside the writer and readers.
    CheckpointBeside,
}

impl HoldKind {
    pub const ALL: [HoldKind; 6] = [
        HoldKind::Write,
        HoldKind::WaitForWriter,
        HoldKind::Commit,
        HoldKind::Read,
        HoldKind::CheckpointHoldingWriter,
        HoldKind::CheckpointBeside,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HoldKind::Write => "write",
            HoldKind::WaitForWriter => "wait_for_writer",
            HoldKind::Commit => "commit",
            HoldKind::Read => "read",
            HoldKind::CheckpointHoldingWriter => "checkpoint_holding_writer",
            HoldKind::CheckpointBeside => "checkpoint_beside",
        }
    }
}

/// One kind of hold at one call site, since the last look.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HoldSite {
    pub kind: HoldKind,
    /// The source line that began the transaction or took the reader (the store's own for
    /// commits and checkpoints).
    pub at: &'static Location<'static>,
    pub count: u64,
    pub total: Duration,
    pub longest: Duration,
}

/// Every hold since the last look, by kind and call site. Call sites are source lines, fixed
/// when the program is built, so the map is bounded by the program, not by its load.
#[derive(Default)]
pub(crate) struct Holds(Mutex<HashMap<(HoldKind, &'static Location<'static>), HoldSite>>);

impl Holds {
    pub(crate) fn record(&self, kind: HoldKind, at: &'static Location<'static>, held: Duration) {
        let mut sites = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let site = sites.entry((kind, at)).or_insert(HoldSite {
            kind,
            at,
            count: 0,
            total: Duration::ZERO,
            longest: Duration::ZERO,
        });
        site.count += 1;
        site.total += held;
        site.longest = site.longest.max(held);
    }

    /// The holds since the last call, the longest-held first within each kind.
    pub(crate) fn take(&self) -> Vec<HoldSite> {
        let sites = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        let mut sites: Vec<HoldSite> = sites.into_values().collect();
        sites.sort_by(|a, b| a.kind.cmp(&b.kind).then(b.total.cmp(&a.total)));
        sites
    }
}

/// The holds of one kind, summed over their call sites: (count, total, longest, where the
/// longest was).
pub fn summary(
    sites: &[HoldSite],
    kind: HoldKind,
) -> (u64, Duration, Duration, Option<&'static Location<'static>>) {
    let of_kind = sites.iter().filter(|s| s.kind == kind);
    let (count, total) = of_kind
        .clone()
        .fold((0, Duration::ZERO), |(c, t), s| (c + s.count, t + s.total));
    let longest = of_kind.max_by_key(|s| s.longest);
    (
        count,
        total,
        longest.map_or(Duration::ZERO, |s| s.longest),
        longest.map(|s| s.at),
    )
}
