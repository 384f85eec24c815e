//! Reconciliation of a partner's daily file with our records, as pure rules: [`matching`]
//! sorts every line of their file and every record of ours into [`Outcome`]s, and [`booking`]
//! says what money an admin's [`Resolution`] of a discrepancy moves. The use case reads the
//! file and our records and books what this module decides; nothing here knows a file format
//! or a table.

use std::collections::{HashMap, HashSet};

use crate::money::Tenge;

/// A reconciliation file holds at most this many lines.
pub const RECONCILIATION_LINES_MAX: usize = 100_000;

/// A payment as one side records it: the partner's reference (`txn_id`, the acquirer's order
/// id, the operator's `clientCorrelator`), the day it belongs to (`YYYY-MM-DD`), whose it is
/// (card number, phone), and its sum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub reference: String,
    pub day: String,
    pub account: String,
    pub sum: Tenge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Matched,
    /// In their file, not in our records: they took money we never booked.
    MissingOurs,
    /// In our records, not in their file: we booked money they never took.
    MissingTheirs,
    /// On both sides with different sums.
    SumMismatch,
    /// A reference their file lists more than once (the repeats).
    Duplicate,
    /// A line of their file dated another day than the file's.
    WrongDate,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Matched,
        Outcome::MissingOurs,
        Outcome::MissingTheirs,
        Outcome::SumMismatch,
        Outcome::Duplicate,
        Outcome::WrongDate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Matched => "matched",
            Outcome::MissingOurs => "missing_ours",
            Outcome::MissingTheirs => "missing_theirs",
            Outcome::SumMismatch => "sum_mismatch",
            Outcome::Duplicate => "duplicate",
            Outcome::WrongDate => "wrong_date",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

/// One line of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub reference: String,
    pub outcome: Outcome,
    pub account: String,
    pub theirs: Option<Tenge>,
    pub ours: Option<Tenge>,
}

/// Matches their file of `day` against our records (which may include neighbouring days: a
/// record of ours is expected in their file only when it is of `day`). Their lines come first,
/// in file order, then what is missing on their side, in our order.
pub fn matching(day: &str, theirs: &[Record], ours: &[Record]) -> Vec<Line> {
    let by_reference: HashMap<&str, &Record> =
        ours.iter().map(|r| (r.reference.as_str(), r)).collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut lines = Vec::with_capacity(theirs.len() + 8);
    for their in theirs {
        let ours = by_reference.get(their.reference.as_str()).copied();
        let outcome = if !seen.insert(their.reference.as_str()) {
            Outcome::Duplicate
        } else if their.day != day {
            // Not of this file's day: it is reconciled with the day it names.
            seen.remove(their.reference.as_str());
            Outcome::WrongDate
        } else {
            match ours {
                None => Outcome::MissingOurs,
                Some(ours) if ours.sum != their.sum => Outcome::SumMismatch,
                Some(_) => Outcome::Matched,
            }
        };
        lines.push(Line {
            reference: their.reference.clone(),
            outcome,
            account: their.account.clone(),
            theirs: Some(their.sum),
            ours: ours.map(|o| o.sum),
        });
    }
    for our in ours {
        if our.day == day && !seen.contains(our.reference.as_str()) {
            lines.push(Line {
                reference: our.reference.clone(),
                outcome: Outcome::MissingTheirs,
                account: our.account.clone(),
                theirs: None,
                ours: Some(our.sum),
            });
        }
    }
    lines
}

/// What an admin decides for a discrepancy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// The money they took reaches the holder (their sum, or what it exceeds ours by).
    Credit,
    /// What we booked and they never took goes back from the holder to the partner's account.
    Reversal,
    /// The difference is accepted: what they owed us and will not pay is a loss; nothing else
    /// moves.
    WriteOff,
}

impl Resolution {
    pub const ALL: [Resolution; 3] = [
        Resolution::Credit,
        Resolution::Reversal,
        Resolution::WriteOff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Credit => "credit",
            Resolution::Reversal => "reversal",
            Resolution::WriteOff => "write_off",
        }
    }

    pub fn parse(text: &str) -> Option<Resolution> {
        Resolution::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// Which way a resolution moves money.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Partner's receivable → the holder's balance.
    ToHolder,
    /// The holder's balance → the partner's receivable.
    FromHolder,
    /// Partner's receivable → written off.
    ToWrittenOff,
}

/// A resolution that does not fit the line it was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{resolution:?} does not resolve {outcome:?}")]
pub struct NotApplicable {
    pub outcome: Outcome,
    pub resolution: Resolution,
}

/// The money a resolution of this line moves (`None`: it is recorded, nothing moves).
pub fn booking(
    line: &Line,
    resolution: Resolution,
) -> Result<Option<(Direction, Tenge)>, NotApplicable> {
    let refused = NotApplicable {
        outcome: line.outcome,
        resolution,
    };
    let theirs = line.theirs.unwrap_or(Tenge::ZERO);
    let ours = line.ours.unwrap_or(Tenge::ZERO);
    let more_theirs = theirs.checked_sub(ours).map_err(|_| refused)?;
    let more_ours = ours.checked_sub(theirs).map_err(|_| refused)?;
    match (line.outcome, resolution) {
        (Outcome::Matched, _) => Err(refused),
        (Outcome::MissingOurs | Outcome::SumMismatch, Resolution::Credit)
            if more_theirs.is_positive() =>
        {
            Ok(Some((Direction::ToHolder, more_theirs)))
        }
        (Outcome::MissingTheirs | Outcome::SumMismatch, Resolution::Reversal)
            if more_ours.is_positive() =>
        {
            Ok(Some((Direction::FromHolder, more_ours)))
        }
        (Outcome::MissingTheirs | Outcome::SumMismatch, Resolution::WriteOff)
            if more_ours.is_positive() =>
        {
            Ok(Some((Direction::ToWrittenOff, more_ours)))
        }
        // They took more than we booked, or listed a line twice or on another day: accepting
        // it moves nothing of ours.
        (
            Outcome::MissingOurs | Outcome::SumMismatch | Outcome::Duplicate | Outcome::WrongDate,
            Resolution::WriteOff,
        ) => Ok(None),
        _ => Err(refused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(reference: &str, day: &str, sum: i64) -> Record {
        Record {
            reference: reference.into(),
            day: day.into(),
            account: format!("acct-{reference}"),
            sum: Tenge::from_whole(sum),
        }
    }

    #[test]
    fn every_kind_of_discrepancy_is_found() {
        let day = "2026-12-01";
        let theirs = [
            record("a", day, 100),
            record("b", day, 200),
            record("c", day, 300),
            record("a", day, 100),
            record("x", "2026-11-30", 50),
        ];
        let ours = [
            record("a", day, 100),
            record("b", day, 250),
            record("d", day, 400),
            record("e", "2026-12-02", 500),
        ];
        let found: Vec<(String, Outcome)> = matching(day, &theirs, &ours)
            .into_iter()
            .map(|l| (l.reference, l.outcome))
            .collect();
        assert_eq!(
            found,
            [
                ("a".into(), Outcome::Matched),
                ("b".into(), Outcome::SumMismatch),
                ("c".into(), Outcome::MissingOurs),
                ("a".into(), Outcome::Duplicate),
                ("x".into(), Outcome::WrongDate),
                ("d".into(), Outcome::MissingTheirs),
            ]
        );
    }

    #[test]
    fn a_resolution_moves_only_the_difference_and_only_where_it_fits() {
        let no = |outcome, resolution| {
            Err(NotApplicable {
                outcome,
                resolution,
            })
        };
        let line = |outcome, theirs: Option<i64>, ours: Option<i64>| Line {
            reference: "r".into(),
            outcome,
            account: "a".into(),
            theirs: theirs.map(Tenge::from_whole),
            ours: ours.map(Tenge::from_whole),
        };
        let t = Tenge::from_whole;
        assert_eq!(
            booking(
                &line(Outcome::MissingOurs, Some(500), None),
                Resolution::Credit
            ),
            Ok(Some((Direction::ToHolder, t(500))))
        );
        assert_eq!(
            booking(
                &line(Outcome::SumMismatch, Some(250), Some(200)),
                Resolution::Credit
            ),
            Ok(Some((Direction::ToHolder, t(50))))
        );
        assert_eq!(
            booking(
                &line(Outcome::SumMismatch, Some(250), Some(200)),
                Resolution::Reversal
            ),
            no(Outcome::SumMismatch, Resolution::Reversal)
        );
        assert_eq!(
            booking(
                &line(Outcome::MissingTheirs, None, Some(300)),
                Resolution::Reversal
            ),
            Ok(Some((Direction::FromHolder, t(300))))
        );
        assert_eq!(
            booking(
                &line(Outcome::MissingTheirs, None, Some(300)),
                Resolution::WriteOff
            ),
            Ok(Some((Direction::ToWrittenOff, t(300))))
        );
        assert_eq!(
            booking(
                &line(Outcome::Duplicate, Some(100), Some(100)),
                Resolution::WriteOff
            ),
            Ok(None)
        );
        assert_eq!(
            booking(
                &line(Outcome::Matched, Some(1), Some(1)),
                Resolution::WriteOff
            ),
            no(Outcome::Matched, Resolution::WriteOff)
        );
        assert_eq!(
            booking(
                &line(Outcome::MissingOurs, Some(1), None),
                Resolution::Reversal
            ),
            no(Outcome::MissingOurs, Resolution::Reversal)
        );
    }
}
