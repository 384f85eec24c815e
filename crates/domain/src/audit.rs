//! The audit trail's hash chain: every staff action that changes something is an [`Entry`]
//! (who, when, from where, what, on which object, the values before and after), and each
//! entry's hash covers its own fields and the hash of the entry before it. Editing, removing or
//! reordering an entry breaks every hash after it, which [`verify`] finds and names.
//!
//! The hash is SHA-256 over a canonical encoding: a version tag, then each field as its length
//! (8 bytes, big-endian) and its UTF-8 bytes, so no two different entries encode alike.

use sha2::{Digest, Sha256};

/// The hash an empty trail starts from (the "previous hash" of the first entry).
pub const GENESIS: [u8; 32] = [0; 32];
/// Tag of the encoding, so a later encoding can be told apart.
const ENCODING: &[u8] = b"smsbus-audit-1";
/// Longest before/after text kept per entry; callers summarise larger values.
pub const VALUE_CHARS_MAX: usize = 4_000;

/// One staff action, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Position in the trail, from 1, without gaps.
    pub seq: i64,
    pub at_ms: i64,
    /// Who acted: a staff login, or the name of a machine credential.
    pub actor: String,
    /// The client address the action came from (empty for the command line).
    pub address: String,
    /// What was done, as `object_kind.verb` (`ticket.revoke`, `catalogue.replace`).
    pub action: String,
    /// What it was done to (`ticket:81805704858`, `catalogue`, `key:3f2a…`).
    pub object: String,
    pub before: String,
    pub after: String,
}

impl Entry {
    /// The entry's hash, chained to the hash of the entry before it.
    pub fn hash(&self, previous: &[u8; 32]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(ENCODING);
        hasher.update(previous);
        let seq = self.seq.to_be_bytes();
        let at = self.at_ms.to_be_bytes();
        let fields: [&[u8]; 8] = [
            &seq,
            &at,
            self.actor.as_bytes(),
            self.address.as_bytes(),
            self.action.as_bytes(),
            self.object.as_bytes(),
            self.before.as_bytes(),
            self.after.as_bytes(),
        ];
        for field in fields {
            hasher.update(u64::try_from(field.len()).unwrap_or(u64::MAX).to_be_bytes());
            hasher.update(field);
        }
        hasher.finalize().into()
    }
}

/// An entry as stored: the entry and the hash written with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub entry: Entry,
    pub hash: [u8; 32],
}

/// Why a trail does not verify, naming the first entry where it breaks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    #[error(
        "entry {seq}: its hash does not match its contents (edited, or a removed entry before it)"
    )]
    Hash { seq: i64 },
    #[error("entry {expected} is missing (the next stored entry is {found})")]
    Gap { expected: i64, found: i64 },
    #[error("the trail ends at entry {found}, but {expected} entries were written")]
    Truncated { expected: i64, found: i64 },
}

/// Checks a trail entry by entry, in `seq` order from 1, so a long trail is walked in pages.
#[derive(Clone, Debug)]
pub struct Verifier {
    previous: [u8; 32],
    expected: i64,
}

impl Default for Verifier {
    fn default() -> Verifier {
        Verifier {
            previous: GENESIS,
            expected: 1,
        }
    }
}

impl Verifier {
    pub fn push(&mut self, stored: &Stored) -> Result<(), Broken> {
        if stored.entry.seq != self.expected {
            return Err(Broken::Gap {
                expected: self.expected,
                found: stored.entry.seq,
            });
        }
        if stored.entry.hash(&self.previous) != stored.hash {
            return Err(Broken::Hash {
                seq: stored.entry.seq,
            });
        }
        self.previous = stored.hash;
        self.expected += 1;
        Ok(())
    }

    /// The entries checked, when they are all that `written` (the count the store keeps
    /// apart from the rows, so removing the newest entries is found too) says were appended.
    pub fn finish(self, written: i64) -> Result<i64, Broken> {
        let found = self.expected - 1;
        if found == written {
            Ok(found)
        } else {
            Err(Broken::Truncated {
                expected: written,
                found,
            })
        }
    }
}

/// Checks a whole trail at once (see [`Verifier`]).
pub fn verify(entries: impl IntoIterator<Item = Stored>, written: i64) -> Result<i64, Broken> {
    let mut verifier = Verifier::default();
    for stored in entries {
        verifier.push(&stored)?;
    }
    verifier.finish(written)
}

/// Cuts a before/after value to [`VALUE_CHARS_MAX`] characters, marking the cut.
pub fn bounded(value: &str) -> String {
    if value.chars().count() <= VALUE_CHARS_MAX {
        return value.to_owned();
    }
    let mut cut: String = value.chars().take(VALUE_CHARS_MAX - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, object: &str) -> Entry {
        Entry {
            seq,
            at_ms: 1_700_000_000_000 + seq,
            actor: "admin".into(),
            address: "10.0.0.1".into(),
            action: "ticket.revoke".into(),
            object: object.into(),
            before: "valid".into(),
            after: "revoked".into(),
        }
    }

    fn chain(entries: &[Entry]) -> Vec<Stored> {
        let mut previous = GENESIS;
        entries
            .iter()
            .map(|entry| {
                let hash = entry.hash(&previous);
                previous = hash;
                Stored {
                    entry: entry.clone(),
                    hash,
                }
            })
            .collect()
    }

    #[test]
    fn an_intact_trail_verifies() {
        let trail = chain(&[entry(1, "ticket:1"), entry(2, "ticket:2"), entry(3, "x")]);
        assert_eq!(verify(trail, 3), Ok(3));
        assert_eq!(verify(Vec::new(), 0), Ok(0));
    }

    #[test]
    fn an_edited_entry_is_named() {
        let mut trail = chain(&[entry(1, "a"), entry(2, "b"), entry(3, "c")]);
        if let Some(second) = trail.get_mut(1) {
            second.entry.after = "valid".into();
        }
        assert_eq!(verify(trail, 3), Err(Broken::Hash { seq: 2 }));
    }

    #[test]
    fn a_removed_entry_is_found_where_it_was() {
        let mut trail = chain(&[entry(1, "a"), entry(2, "b"), entry(3, "c")]);
        trail.remove(1);
        assert_eq!(
            verify(trail.clone(), 3),
            Err(Broken::Gap {
                expected: 2,
                found: 3
            })
        );
        // Renumbered to hide the gap: the hash no longer matches.
        if let Some(third) = trail.get_mut(1) {
            third.entry.seq = 2;
        }
        assert_eq!(verify(trail, 3), Err(Broken::Hash { seq: 2 }));
    }

    #[test]
    fn removing_the_last_entries_is_found_by_the_count() {
        let mut trail = chain(&[entry(1, "a"), entry(2, "b")]);
        trail.pop();
        assert_eq!(
            verify(trail, 2),
            Err(Broken::Truncated {
                expected: 2,
                found: 1
            })
        );
    }

    #[test]
    fn fields_cannot_be_shifted_into_each_other() {
        let a = Entry {
            object: "ab".into(),
            before: "c".into(),
            ..entry(1, "")
        };
        let b = Entry {
            object: "a".into(),
            before: "bc".into(),
            ..entry(1, "")
        };
        assert_ne!(a.hash(&GENESIS), b.hash(&GENESIS));
    }

    #[test]
    fn long_values_are_cut_and_marked() {
        let long = "x".repeat(VALUE_CHARS_MAX + 10);
        let cut = bounded(&long);
        assert_eq!(cut.chars().count(), VALUE_CHARS_MAX);
        assert!(cut.ends_with('…'));
        assert_eq!(bounded("short"), "short");
    }
}
