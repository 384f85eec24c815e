//! Replays every input of the fuzz corpora (`fuzz/corpus/TARGET/`) through the same checks the
//! fuzz targets run, so that `cargo test` on stable keeps every crash ever found fixed. A
//! missing or empty corpus fails the test rather than passing it silently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;

use domain::fuzz_checks;

/// Runs `check` on every file of `fuzz/corpus/<target>/`, naming the file that fails.
fn replay(target: &str, check: fn(&[u8])) {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("corpus {} missing: {e}", folder.display()));
    let mut replayed = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(outcome.is_ok(), "{} fails its check", path.display());
        replayed += 1;
    }
    assert!(replayed > 0, "corpus {} is empty", folder.display());
}

#[test]
fn sms_command_corpus() {
    replay("sms_command", fuzz_checks::sms_command);
}

#[test]
fn phone_corpus() {
    replay("phone", fuzz_checks::phone);
}

#[test]
fn vehicle_corpus() {
    replay("vehicle", fuzz_checks::vehicle);
}

#[test]
fn ticket_token_corpus() {
    replay("ticket_token", fuzz_checks::ticket_token);
}

#[test]
fn biller_query_corpus() {
    replay("biller_query", fuzz_checks::biller_query);
}

#[test]
fn catalogue_file_corpus() {
    replay("catalogue", fuzz_checks::catalogue_file);
}
