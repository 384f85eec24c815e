//! Fuzz target: see `domain::fuzz_checks::sms_command`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| domain::fuzz_checks::sms_command(bytes));
