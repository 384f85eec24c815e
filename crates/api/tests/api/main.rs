//! The API's integration tests: the real server on port 0, a fresh real database (SQLite, and
//! PostgreSQL in its own schema), the operator simulator over real HTTP. Every scenario runs on
//! both stores.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod access;
mod arrivals;
mod audit;
mod busy_operator;
mod cards;
mod carrier;
mod controllers;
mod documents;
mod fares;
mod feedback;
mod hardening;
mod harness;
mod inspection_sync;
mod ledger;
mod live;
mod live_listing;
mod office;
mod partners;
mod passenger;
mod reconcile;
mod refunds;
mod rides;
mod signin;
mod smpp;
mod smpp_peer;
mod staff;
mod status_reminders;
mod subsidy;
mod top_ups;
mod transit;
mod web;
