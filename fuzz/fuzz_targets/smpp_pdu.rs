//! Fuzz target: see `partners::smpp::pdu::fuzz_check`.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| partners::smpp::pdu::fuzz_check(bytes));
