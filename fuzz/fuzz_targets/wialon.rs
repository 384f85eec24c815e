//! Fuzz target: see `live::fuzz_checks::wialon`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| live::fuzz_checks::wialon(bytes));
