//! Fuzz target: see `transit::fuzz_checks::gtfs_zip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| transit::fuzz_checks::gtfs_zip(bytes));
