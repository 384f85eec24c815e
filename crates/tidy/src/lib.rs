//! Tidy checks: the invariants of `ARCHITECTURE.md` as code, so `cargo test` fails when one
//! breaks (after rust-analyzer's `tidy` and OpenTripPlanner's architecture test).
//!
//! Each check is a pure function over its input — the `cargo metadata` JSON, a source tree, two
//! migration trees — and returns the violations it found, so the tests in `tests/tidy.rs` run it
//! on the real workspace and on fixtures with a violation planted, and see it fail. This crate is
//! never linked by anything else.

pub mod graph;
pub mod schema;
pub mod sources;
pub mod states;

/// One broken invariant: where, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// A crate name, a file path relative to the checked root, or a migration tree.
    pub place: String,
    pub problem: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.problem)
    }
}

impl Violation {
    pub fn new(place: impl Into<String>, problem: impl Into<String>) -> Violation {
        Violation {
            place: place.into(),
            problem: problem.into(),
        }
    }
}
