//! SQLite's one writer, and group commit: short write transactions that ask for it
//! ([`crate::Store::begin_grouped`]: the ride path's) share one SQLite `COMMIT`. Each runs in
//! its own `SAVEPOINT` inside the writer's open transaction (the batch); its commit releases
//! the savepoint and, when other writers wait for their turn, hands the turn on instead of
//! committing. It then takes its turn again: by then the batch was committed by another
//! member (it reads that commit's result), or it commits the batch itself, for every member.
//! So a commit returns only once its writes are durable (or with the error that lost them),
//! a rolled-back member undoes only its own savepoint, and a batch never waits for a writer
//! that did not ask to group: [`Writer::settle`] commits it before any other use of the writer.

use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::OwnedMutexGuard;

use crate::holds::{HoldKind, Holds};
use crate::{Result, StoreError};

/// A batch commits once this many transactions are in it, whoever waits.
pub const GROUP_COMMIT_MEMBERS_MAX: usize = 32;

/// The writer connection and the batch open on it, if any.
pub(crate) struct Writer {
    pub(crate) conn: rusqlite::Connection,
    batch: Option<Batch>,
    stats: Arc<Stats>,
    /// Writers waiting for their turn (shared with [`Turns`]).
    waiting: Arc<AtomicUsize>,
    holds: Arc<Holds>,
}

/// Transactions released into the writer's open transaction, not yet committed.
struct Batch {
    members: usize,
    outcome: Arc<Outcome>,
}

/// A batch's `COMMIT`, as its members read it once it is known: `None` until then.
#[derive(Default)]
pub(crate) struct Outcome(Mutex<Option<std::result::Result<(), String>>>);

impl Outcome {
    fn set(&self, result: std::result::Result<(), String>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
    }

    fn get(&self) -> Option<std::result::Result<(), String>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The writer behind its turn-taking lock, and how many wait for a turn.
pub(crate) struct Turns {
    writer: Arc<tokio::sync::Mutex<Writer>>,
    waiting: Arc<AtomicUsize>,
    stats: Arc<Stats>,
    pub(crate) holds: Arc<Holds>,
}

/// What group commit did since the store opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCommits {
    /// Grouped transactions committed.
    pub members: u64,
    /// SQLite `COMMIT`s that committed them.
    pub commits: u64,
}

#[derive(Default)]
struct Stats {
    members: AtomicU64,
    commits: AtomicU64,
}

/// A write transaction's hold on the writer: whether it is one savepoint of a batch.
pub(crate) struct Held {
    pub(crate) guard: OwnedMutexGuard<Writer>,
    grouped: bool,
    /// When the turn was taken, and by which call site.
    since: Instant,
    at: &'static Location<'static>,
}

impl Turns {
    pub(crate) fn new(conn: rusqlite::Connection, holds: Arc<Holds>) -> Turns {
        let stats = Arc::new(Stats::default());
        let waiting = Arc::new(AtomicUsize::new(0));
        Turns {
            writer: Arc::new(tokio::sync::Mutex::new(Writer {
                conn,
                batch: None,
                stats: Arc::clone(&stats),
                waiting: Arc::clone(&waiting),
                holds: Arc::clone(&holds),
            })),
            waiting,
            stats,
            holds,
        }
    }

    /// Writers waiting for their turn now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    pub(crate) fn stats(&self) -> GroupCommits {
        GroupCommits {
            members: self.stats.members.load(Ordering::Relaxed),
            commits: self.stats.commits.load(Ordering::Relaxed),
        }
    }

    async fn turn(&self) -> OwnedMutexGuard<Writer> {
        // Counted while waiting, also when the wait is given up.
        struct Counted<'a>(&'a AtomicUsize);
        impl Drop for Counted<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _counted = Counted(&self.waiting);
        Arc::clone(&self.writer).lock_owned().await
    }

    /// The writer, with no batch open on it (one open is committed first).
    pub(crate) async fn alone(&self) -> OwnedMutexGuard<Writer> {
        let mut guard = self.turn().await;
        guard.settle();
        guard
    }

    /// The same, for a thread outside the runtime (the checkpointer).
    pub(crate) fn alone_blocking(&self) -> OwnedMutexGuard<Writer> {
        let mut guard = Arc::clone(&self.writer).blocking_lock_owned();
        guard.settle();
        guard
    }

    /// Starts a write transaction for the call site `at`; `grouped`: as a savepoint of the
    /// open batch (opening one).
    pub(crate) async fn begin(
        &self,
        grouped: bool,
        at: &'static Location<'static>,
    ) -> Result<Held> {
        let asked = Instant::now();
        if !grouped {
            let guard = self.alone().await;
            let since = Instant::now();
            self.holds
                .record(HoldKind::WaitForWriter, at, since - asked);
            guard.conn.execute_batch("BEGIN IMMEDIATE")?;
            return Ok(Held {
                guard,
                grouped,
                since,
                at,
            });
        }
        let mut guard = self.turn().await;
        let since = Instant::now();
        self.holds
            .record(HoldKind::WaitForWriter, at, since - asked);
        if guard.batch.is_none() {
            guard.conn.execute_batch("BEGIN IMMEDIATE")?;
            guard.batch = Some(Batch {
                members: 0,
                outcome: Arc::default(),
            });
        }
        guard.conn.execute_batch("SAVEPOINT grouped")?;
        Ok(Held {
            guard,
            grouped,
            since,
            at,
        })
    }

    /// Commits: at once when alone, or as one member of the batch.
    pub(crate) async fn commit(&self, held: Held) -> Result<()> {
        let Held {
            mut guard,
            grouped,
            since,
            at,
        } = held;
        if !grouped {
            let committed = guard.commit_now();
            self.holds.record(HoldKind::Write, at, since.elapsed());
            return committed;
        }
        if guard.conn.is_autocommit() {
            // SQLite rolled the whole transaction back (a full disk, an I/O error): every
            // member's writes are gone.
            let lost = "the batch's transaction was rolled back by SQLite".to_owned();
            guard.fail_batch(lost.clone());
            return Err(StoreError::GroupCommit(lost));
        }
        let released = guard.conn.execute_batch("RELEASE grouped");
        self.holds.record(HoldKind::Write, at, since.elapsed());
        released?;
        let Some(batch) = guard.batch.as_mut() else {
            return Err(StoreError::GroupCommit("no batch open".into()));
        };
        batch.members += 1;
        let outcome = Arc::clone(&batch.outcome);
        if self.waiting.load(Ordering::SeqCst) == 0 || batch.members >= GROUP_COMMIT_MEMBERS_MAX {
            return guard.commit_batch();
        }
        drop(guard);
        // Should this wait be given up (the caller's future dropped), the batch is still
        // committed: here when the writer is free, else by whoever holds it or comes next.
        let waiting = Waiting {
            writer: &self.writer,
            outcome: &outcome,
        };
        let mut guard = self.turn().await;
        std::mem::forget(waiting);
        if let Some(result) = outcome.get() {
            return result.map_err(StoreError::GroupCommit);
        }
        guard.commit_batch()
    }
}

/// A member waiting for its turn again after handing it on.
struct Waiting<'a> {
    writer: &'a Arc<tokio::sync::Mutex<Writer>>,
    outcome: &'a Outcome,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.outcome.get().is_none()
            && let Ok(mut writer) = self.writer.try_lock()
        {
            writer.settle();
        }
    }
}

impl Writer {
    /// Commits the open batch, if any, and tells its members.
    fn settle(&mut self) {
        if self.batch.is_some()
            && let Err(error) = self.commit_batch()
        {
            tracing::warn!(%error, "a group commit failed; its members are told");
        }
    }

    fn commit_batch(&mut self) -> Result<()> {
        let Some(batch) = self.batch.take() else {
            return Ok(());
        };
        let result = self.commit_now();
        if result.is_ok() {
            let members = u64::try_from(batch.members).unwrap_or(u64::MAX);
            self.stats.members.fetch_add(members, Ordering::Relaxed);
            self.stats.commits.fetch_add(1, Ordering::Relaxed);
        }
        batch.outcome.set(match &result {
            Ok(()) => Ok(()),
            Err(error) => Err(error.to_string()),
        });
        result
    }

    fn fail_batch(&mut self, why: String) {
        if let Some(batch) = self.batch.take() {
            batch.outcome.set(Err(why));
        }
    }
}

impl Writer {
    /// SQLite's `COMMIT` of the transaction open on the writer (rolled back if it fails).
    fn commit_now(&self) -> Result<()> {
        let started = Instant::now();
        let committed = self.conn.execute_batch("COMMIT");
        self.holds
            .record(HoldKind::Commit, Location::caller(), started.elapsed());
        if let Err(error) = committed {
            let _rolled_back = self.conn.execute_batch("ROLLBACK");
            return Err(error.into());
        }
        Ok(())
    }
}

impl Held {
    /// Undoes this transaction's writes: its savepoint, or the whole transaction when alone
    /// (or when it was the batch's only writer so far).
    pub(crate) fn roll_back(&mut self) {
        let writer = &mut *self.guard;
        writer
            .holds
            .record(HoldKind::Write, self.at, self.since.elapsed());
        if writer.conn.is_autocommit() {
            writer.fail_batch("the batch's transaction was rolled back by SQLite".into());
            return;
        }
        if !self.grouped {
            let _rolled_back = writer.conn.execute_batch("ROLLBACK");
            return;
        }
        let _undone = writer
            .conn
            .execute_batch("ROLLBACK TO grouped; RELEASE grouped");
        match writer.batch.as_ref().map(|b| b.members) {
            Some(0) => {
                writer.batch = None;
                let _rolled_back = writer.conn.execute_batch("ROLLBACK");
            }
            // The members before it wait for their turn to commit; with nobody waiting (their
            // waits were given up) nobody would, so it commits them now.
            Some(_) if writer.waiting.load(Ordering::SeqCst) == 0 => writer.settle(),
            _ => {}
        }
    }
}
