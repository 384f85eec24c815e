//! Fuzz target: see `domain::fuzz_checks::ticket_token`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| domain::fuzz_checks::ticket_token(bytes));
