//! Fuzz target: see `service::fuzz_checks::catalogue`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| service::fuzz_checks::catalogue(bytes));
