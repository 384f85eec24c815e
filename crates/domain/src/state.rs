//! Typed states, made one way: [`states!`] declares a state column's enum with the word each
//! state is stored and shown as, and its one table of allowed moves. Every such enum gets the
//! same API — `ALL`, `TRANSITIONS`, `as_str`, `parse` (an [`UnknownState`] for any other word),
//! `can_move_to`, `is_final`, `Display` — and [`check_table`] tests that the table and the
//! words hold together. The store's SQL may compare a state column only with these words (the
//! tidy test `the_stores_sql_writes_only_names_of_the_typed_states`).

/// A stored state word that is none of the enum's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{text}`")]
pub struct UnknownState {
    /// What it was to be the state of (`ride status`).
    pub what: &'static str,
    /// The word read, cut to [`UNKNOWN_STATE_SHOWN_CHARS`].
    pub text: String,
}

/// Of an unknown state word, this many characters are kept for the message.
pub const UNKNOWN_STATE_SHOWN_CHARS: usize = 64;

/// Declares a state enum: its states (each with the word it is stored as), what it is the
/// state of (for [`UnknownState`]), and every move allowed (`From => To, To;`).
#[macro_export]
macro_rules! states {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$variant_meta:meta])* $variant:ident = $word:literal, )+
        }
        moves {
            $( $from:ident => $( $to:ident ),+ ; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            /// Every state, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )+ ];

            /// Every move a state may make, and no other.
            pub const TRANSITIONS: &'static [($name, $name)] =
                &[ $( $( ($name::$from, $name::$to), )+ )* ];

            /// The word it is stored and shown as.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $word, )+
                }
            }

            /// The state a stored word names.
            pub fn parse(text: &str) -> Result<$name, $crate::state::UnknownState> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|s| s.as_str() == text)
                    .ok_or_else(|| $crate::state::UnknownState {
                        what: $what,
                        text: text
                            .chars()
                            .take($crate::state::UNKNOWN_STATE_SHOWN_CHARS)
                            .collect(),
                    })
            }

            /// Whether `self → to` is in the table of moves.
            pub fn can_move_to(self, to: $name) -> bool {
                $name::TRANSITIONS.contains(&(self, to))
            }

            /// No move leaves it.
            pub fn is_final(self) -> bool {
                !$name::TRANSITIONS.iter().any(|(from, _)| *from == self)
            }

            /// Every word, as [`Self::ALL`] lists the states.
            pub fn words() -> Vec<&'static str> {
                $name::ALL.iter().map(|s| s.as_str()).collect()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// What every state enum must hold, for its tests: distinct words that read back (and a word
/// that is none of them does not), no move listed twice or from a state to itself, and
/// `can_move_to` saying exactly the table.
pub fn check_table<S>(
    all: &[S],
    transitions: &[(S, S)],
    as_str: impl Fn(S) -> &'static str,
    parse: impl Fn(&str) -> Result<S, UnknownState>,
    can_move_to: impl Fn(S, S) -> bool,
) -> Result<(), String>
where
    S: Copy + PartialEq + std::fmt::Debug,
{
    for (i, state) in all.iter().enumerate() {
        if parse(as_str(*state)) != Ok(*state) {
            return Err(format!(
                "{state:?} does not read back from `{}`",
                as_str(*state)
            ));
        }
        if all
            .iter()
            .skip(i + 1)
            .any(|other| as_str(*other) == as_str(*state))
        {
            return Err(format!("`{}` names two states", as_str(*state)));
        }
    }
    for (i, (from, to)) in transitions.iter().enumerate() {
        if from == to {
            return Err(format!("{from:?} moves to itself"));
        }
        if transitions.iter().skip(i + 1).any(|m| m == &(*from, *to)) {
            return Err(format!("{from:?} → {to:?} is listed twice"));
        }
    }
    for from in all {
        for to in all {
            if can_move_to(*from, *to) != transitions.contains(&(*from, *to)) {
                return Err(format!(
                    "can_move_to({from:?}, {to:?}) disagrees with the table"
                ));
            }
        }
    }
    for word in ["", "UNKNOWN", " "] {
        if parse(word).is_ok() {
            return Err(format!("`{word}` reads as a state"));
        }
    }
    Ok(())
}

/// [`check_table`] for an enum made by [`states!`].
#[macro_export]
macro_rules! check_states {
    ($name:ty) => {
        $crate::state::check_table(
            <$name>::ALL,
            <$name>::TRANSITIONS,
            <$name>::as_str,
            <$name>::parse,
            <$name>::can_move_to,
        )
    };
}

#[cfg(test)]
mod tests {
    states! {
        /// A planted example.
        enum Door ("door") {
            Open = "open",
            Shut = "shut",
            Locked = "locked",
        }
        moves {
            Open => Shut;
            Shut => Open, Locked;
            Locked => Shut;
        }
    }

    #[test]
    fn a_declared_state_enum_reads_its_words_and_allows_its_moves() {
        assert_eq!(check_states!(Door), Ok(()));
        assert_eq!(Door::parse("shut"), Ok(Door::Shut));
        let unknown = Door::parse("ajar").unwrap_err();
        assert_eq!(unknown.to_string(), "unknown door `ajar`");
        assert!(Door::Shut.can_move_to(Door::Locked));
        assert!(!Door::Open.can_move_to(Door::Locked));
        assert!(!Door::Open.is_final());
        assert_eq!(Door::words(), ["open", "shut", "locked"]);
    }

    #[test]
    fn the_table_check_finds_what_breaks_it() {
        fn bad_parse(text: &str) -> Result<Door, super::UnknownState> {
            match text {
                "open" => Ok(Door::Open),
                _ => Door::parse(text),
            }
        }
        let twice = [(Door::Open, Door::Shut), (Door::Open, Door::Shut)];
        assert!(
            super::check_table(Door::ALL, &twice, Door::as_str, bad_parse, |a, b| {
                twice.contains(&(a, b))
            })
            .unwrap_err()
            .contains("listed twice")
        );
        let to_itself = [(Door::Open, Door::Open)];
        assert!(
            super::check_table(Door::ALL, &to_itself, Door::as_str, Door::parse, |a, b| {
                to_itself.contains(&(a, b))
            })
            .unwrap_err()
            .contains("itself")
        );
        let same_word = |d: Door| match d {
            Door::Locked => "shut",
            other => other.as_str(),
        };
        assert!(
            super::check_table(
                Door::ALL,
                Door::TRANSITIONS,
                same_word,
                Door::parse,
                |a, b| { a.can_move_to(b) }
            )
            .is_err()
        );
        assert!(
            super::check_table(
                Door::ALL,
                Door::TRANSITIONS,
                Door::as_str,
                Door::parse,
                |_, _| { true }
            )
            .unwrap_err()
            .contains("disagrees")
        );
    }
}
