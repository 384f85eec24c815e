//! The API's integration tests: the real server on port 0, a fresh real database (SQLite, and
//! PostgreSQL in its own schema), the operator simulator over real HTTP. Every scenario runs on
//! both stores.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod access;
mod audit;
mod cards;
mod controllers;
mod feedback;
mod hardening;
mod harness;
mod ledger;
mod live;
mod passenger;
mod reconcile;
mod rides;
mod signin;
mod smpp;
mod smpp_peer;
mod staff;
mod top_ups;
mod transit;
mod web;
