//! The properties the `catalogue` fuzz target in `fuzz/` checks: the file's codec's
//! (`domain::fuzz_checks::catalogue_file`: read or refused, and written back as itself), then
//! that a file that reads builds a catalogue or a list of problems, never a panic. Its test replays every file of
//! `fuzz/corpus/catalogue/` through it in `cargo test`, so a crash once found stays fixed.

use crate::catalogue::{Catalogue, rows_of};

/// A catalogue file (any bytes, read as UTF-8 with replacement) is refused or read, and what
/// it names builds a catalogue or a list of problems, never a panic.
pub fn catalogue(bytes: &[u8]) {
    domain::fuzz_checks::catalogue_file(bytes);
    let text = String::from_utf8_lossy(bytes);
    let Ok(file) = domain::catalogue_file::decode(&text) else {
        return;
    };
    if let Err(problems) = Catalogue::from_rows(&rows_of(&file)) {
        assert!(!problems.is_empty());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use std::path::PathBuf;

    /// Every file of the corpus passes; a missing or empty corpus fails.
    #[test]
    fn catalogue_fuzz_corpus() {
        let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/catalogue");
        let entries = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("corpus {} missing: {e}", folder.display()));
        let mut replayed = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| super::catalogue(&bytes));
            assert!(outcome.is_ok(), "{} fails its check", path.display());
            replayed += 1;
        }
        assert!(replayed > 0, "corpus {} is empty", folder.display());
    }
}
