//! Fuzz target: see `domain::fuzz_checks::biller_query`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| domain::fuzz_checks::biller_query(bytes));
