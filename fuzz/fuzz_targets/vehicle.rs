//! Fuzz target: see `domain::fuzz_checks::vehicle`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| domain::fuzz_checks::vehicle(bytes));
