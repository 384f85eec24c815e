//! Stop and address search that forgives how people type in Kazakhstan.
//!
//! Every name and every query is folded to one Latin skeleton: Cyrillic (Russian and Kazakh
//! letters ә ғ қ ң ө ұ ү һ і) and Kazakh Latin (ä ğ q ñ ö ū ü ı ş) are transliterated, sounds
//! spelled several ways are merged (ж/zh/j, х/kh/h, ц/ts, й/y/i, ы/i), doubled letters and a
//! final Russian genitive -а are dropped, so `Абая`, `Abaya`, `Abay` and `Абай` all become
//! `abai`. Street-type words and their abbreviations (ул., пр., просп., мкр., көшесі,
//! даңғылы, street, st, avenue...) are ignored. Query words match a name's words exactly, as a
//! prefix, or within a small edit distance; results are ranked by how well they match.
//!
//! # Address list format
//!
//! A UTF-8 CSV file with a header naming at least the columns `street`, `house`, `lat`, `lon`
//! (any order, extra columns ignored), one address per row, coordinates in WGS84 degrees:
//!
//! ```text
//! street,house,lat,lon
//! проспект Абая,52,43.2389,76.9286
//! Kabanbay Batyr avenue,11,51.1282,71.4306
//! ```
//!
//! An OpenStreetMap extract gives it directly from `addr:street`, `addr:housenumber` and the
//! building's centroid. Rows with an empty street or a bad coordinate are skipped and
//! reported with their line.

use std::collections::HashMap;
use std::io::Read;

use crate::geo::Coordinate;
use crate::gtfs::{Feed, LocationKind};
use crate::ids::StopIdx;

/// Longest query accepted, in characters; longer ones are cut.
pub const QUERY_CHARS_MAX: usize = 200;
/// Most query words used.
pub const QUERY_WORDS_MAX: usize = 8;
/// Most results a search may ask for.
pub const RESULTS_LIMIT: usize = 50;
/// Most addresses in one list.
pub const ADDRESSES_MAX: usize = 5_000_000;

/// An address from the operator's list.
#[derive(Clone, Debug, PartialEq)]
pub struct Address {
    /// Street name as written.
    pub street: String,
    /// House number as written (may be empty).
    pub house: String,
    /// Position.
    pub coordinate: Coordinate,
}

/// A skipped address row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressProblem {
    /// 1-based line (the header is line 1).
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// Why an address list cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    /// A required column is missing from the header.
    #[error("address list: the header has no column {0} (expected street,house,lat,lon)")]
    MissingColumn(&'static str),
    /// Not UTF-8.
    #[error("address list line {0}: not valid UTF-8")]
    Encoding(u64),
    /// Broken CSV.
    #[error("address list line {line}: {reason}")]
    Csv {
        /// Line.
        line: u64,
        /// Reader's explanation.
        reason: String,
    },
    /// Too many rows.
    #[error("address list has more than {ADDRESSES_MAX} rows")]
    TooLarge,
}

fn address_csv_error(error: &csv::Error) -> AddressError {
    let line = error.position().map_or(1, csv::Position::line);
    match error.kind() {
        csv::ErrorKind::Utf8 { pos, .. } => {
            AddressError::Encoding(pos.as_ref().map_or(line, csv::Position::line))
        }
        _ => AddressError::Csv {
            line,
            reason: error.to_string(),
        },
    }
}

/// Reads an address list (format in the module docs); bad rows are skipped and returned.
pub fn read_addresses<R: Read>(
    input: R,
) -> Result<(Vec<Address>, Vec<AddressProblem>), AddressError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| address_csv_error(&e))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_lowercase())
        .collect();
    let column = |name: &'static str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or(AddressError::MissingColumn(name))
    };
    let (street, house, lat, lon) = (
        column("street")?,
        column("house")?,
        column("lat")?,
        column("lon")?,
    );
    let mut addresses = Vec::new();
    let mut problems = Vec::new();
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|e| address_csv_error(&e))?
    {
        let line = record.position().map_or(0, csv::Position::line);
        if addresses.len() >= ADDRESSES_MAX {
            return Err(AddressError::TooLarge);
        }
        let field = |i: usize| record.get(i).unwrap_or("");
        if field(street).is_empty() {
            problems.push(AddressProblem {
                line,
                reason: "street is empty".to_owned(),
            });
            continue;
        }
        let coordinate = match (field(lat).parse::<f64>(), field(lon).parse::<f64>()) {
            (Ok(la), Ok(lo)) => Coordinate::new(la, lo).ok(),
            _ => None,
        };
        let Some(coordinate) = coordinate else {
            let reason = format!("bad coordinate {:?},{:?}", field(lat), field(lon));
            problems.push(AddressProblem { line, reason });
            continue;
        };
        addresses.push(Address {
            street: field(street).to_owned(),
            house: field(house).to_owned(),
            coordinate,
        });
    }
    Ok((addresses, problems))
}

/// Latin letters for one lower-case character; `None` for a separator.
fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        'а' | 'ә' | 'ä' | 'á' | 'à' | 'â' | 'ą' => "a",
        'б' => "b",
        'в' | 'w' => "v",
        'г' | 'ғ' | 'ğ' => "g",
        'д' => "d",
        'е' | 'ё' | 'э' | 'é' | 'è' | 'ê' | 'ë' | 'ė' | 'ę' => "e",
        'ж' | 'ž' => "j",
        'з' => "z",
        'и' | 'й' | 'і' | 'ы' | 'ı' | 'ï' | 'í' | 'î' | 'į' | 'y' => "i",
        'к' | 'қ' | 'q' => "k",
        'л' => "l",
        'м' => "m",
        'н' | 'ң' | 'ñ' => "n",
        'о' | 'ө' | 'ö' | 'ó' | 'ô' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' | 'ұ' | 'ү' | 'ū' | 'ü' | 'ú' | 'ù' | 'û' | 'ų' | 'ў' => "u",
        'ф' => "f",
        'х' | 'һ' => "h",
        'ц' => "c",
        'ч' | 'ç' | 'č' => "ch",
        'ш' | 'щ' | 'ş' | 'š' => "sh",
        'ъ' | 'ь' | '\'' | '’' | 'ʼ' => "",
        'ю' => "iu",
        'я' => "ia",
        'a'..='z' | '0'..='9' => return ascii(c),
        _ => return None,
    })
}

fn ascii(c: char) -> Option<&'static str> {
    const LETTERS: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
    let i = LETTERS.find(c)?;
    LETTERS.get(i..i + c.len_utf8())
}

/// Merges spellings of the same sound in a transliterated word.
fn skeleton(word: &str) -> String {
    let merged = word
        .replace("zh", "j")
        .replace("kh", "h")
        .replace("ts", "c")
        .replace("ph", "f");
    let mut out = String::with_capacity(merged.len());
    for c in merged.chars() {
        if !out.ends_with(c) || c.is_ascii_digit() {
            out.push(c);
        }
    }
    let letters = out.chars().filter(char::is_ascii_alphabetic).count();
    // A final Russian genitive -а / -я: "Абая" -> "abai", "Кунаева" -> "kunaev".
    let genitive = (letters >= 4 && out.ends_with("ia")) || (letters >= 5 && out.ends_with('a'));
    if genitive {
        out.pop();
    }
    out
}

/// Street-type words and abbreviations, in any of the three languages; ignored in matching.
const STREET_WORDS: &[&str] = &[
    "ул",
    "улица",
    "пр",
    "просп",
    "проспект",
    "пр-т",
    "мкр",
    "мкрн",
    "микрорайон",
    "пер",
    "переулок",
    "бул",
    "бульвар",
    "пл",
    "площадь",
    "шоссе",
    "ш",
    "көшесі",
    "көш",
    "даңғылы",
    "даңғ",
    "шағын",
    "ауданы",
    "ықшамауданы",
    "алаңы",
    "st",
    "street",
    "str",
    "ave",
    "avenue",
    "av",
    "rd",
    "road",
    "blvd",
    "boulevard",
    "lane",
    "ln",
    "dr",
    "drive",
    "sq",
    "square",
    "ulitsa",
    "ulica",
    "prospekt",
    "prosp",
    "pr",
    "mkr",
    "mikroraion",
    "mikrorayon",
    "koshesi",
    "kosh",
    "dangyly",
    "dangy",
    "g",
    "gatve",
];

/// Folded words of a text, street-type words removed.
pub fn normalize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in text
        .chars()
        .take(QUERY_CHARS_MAX * 4)
        .flat_map(char::to_lowercase)
    {
        match transliterate(c) {
            Some(latin) => current.push_str(latin),
            None => flush(&mut current, &mut words),
        }
    }
    flush(&mut current, &mut words);
    words
}

fn flush(current: &mut String, words: &mut Vec<String>) {
    if current.is_empty() {
        return;
    }
    let word = skeleton(current);
    current.clear();
    if !word.is_empty() && !is_street_word(&word) {
        words.push(word);
    }
}

fn is_street_word(word: &str) -> bool {
    thread_local! {
        static FOLDED: Vec<String> = STREET_WORDS
            .iter()
            .map(|w| {
                let latin: String = w.chars().filter_map(transliterate).collect();
                skeleton(&latin)
            })
            .collect();
    }
    FOLDED.with(|folded| folded.iter().any(|f| f == word))
}

/// What a search result points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchTarget {
    /// A stop of the feed.
    Stop(StopIdx),
    /// An address, by position in the list given to [`SearchIndex::build`].
    Address(usize),
}

/// One result.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    /// What it is.
    pub target: SearchTarget,
    /// Display text ("Abay avenue 52", "Raiymbek Batyr").
    pub label: String,
    /// Where it is.
    pub coordinate: Option<Coordinate>,
    /// Higher is better.
    pub score: u32,
}

struct Entry {
    target: SearchTarget,
    label: String,
    coordinate: Option<Coordinate>,
    words: Vec<u32>,
    house: Option<String>,
}

/// Searchable stops and addresses of one city.
pub struct SearchIndex {
    entries: Vec<Entry>,
    vocabulary: Vec<String>,
    postings: Vec<Vec<u32>>,
}

const SCORE_EXACT: u32 = 100;
const SCORE_PREFIX: u32 = 80;
const SCORE_ONE_TYPO: u32 = 60;
const SCORE_TWO_TYPOS: u32 = 45;
const SCORE_HOUSE: u32 = 50;

impl SearchIndex {
    /// Indexes the stops of a feed (platforms and stations) and an address list.
    pub fn build(feed: &Feed, addresses: &[Address]) -> Self {
        let mut index = Self {
            entries: Vec::new(),
            vocabulary: Vec::new(),
            postings: Vec::new(),
        };
        let mut word_ids: HashMap<String, u32> = HashMap::new();
        for (i, stop) in feed.stops.iter().enumerate() {
            if stop.kind == LocationKind::Other || stop.name.is_empty() {
                continue;
            }
            let target = SearchTarget::Stop(StopIdx::new(i as u32));
            index.add(&mut word_ids, target, &stop.name, stop.coordinate, None);
        }
        for (i, address) in addresses.iter().enumerate() {
            let label = if address.house.is_empty() {
                address.street.clone()
            } else {
                format!("{} {}", address.street, address.house)
            };
            let house = normalize(&address.house).concat();
            let house = (!house.is_empty()).then_some(house);
            index.add(
                &mut word_ids,
                SearchTarget::Address(i),
                &label,
                Some(address.coordinate),
                house,
            );
        }
        index
    }

    fn add(
        &mut self,
        word_ids: &mut HashMap<String, u32>,
        target: SearchTarget,
        label: &str,
        coordinate: Option<Coordinate>,
        house: Option<String>,
    ) {
        let entry_id = self.entries.len() as u32;
        let mut words = Vec::new();
        for word in normalize(label) {
            let id = *word_ids.entry(word.clone()).or_insert_with(|| {
                self.vocabulary.push(word);
                self.postings.push(Vec::new());
                self.vocabulary.len() as u32 - 1
            });
            if !words.contains(&id) {
                words.push(id);
                if let Some(list) = self.postings.get_mut(id as usize) {
                    list.push(entry_id);
                }
            }
        }
        self.entries.push(Entry {
            target,
            label: label.to_owned(),
            coordinate,
            words,
            house,
        });
    }

    /// Number of searchable entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is searchable.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The best `limit` matches of `query` (at most [`RESULTS_LIMIT`]), best first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<SearchHit> {
        let query: String = query.chars().take(QUERY_CHARS_MAX).collect();
        let words: Vec<String> = normalize(&query)
            .into_iter()
            .take(QUERY_WORDS_MAX)
            .collect();
        let (numbers, names): (Vec<String>, Vec<String>) = words
            .into_iter()
            .partition(|w| w.starts_with(|c: char| c.is_ascii_digit()));
        if names.is_empty() {
            return Vec::new();
        }
        // Per entry: the best score of each name word of the query.
        let mut scores: HashMap<u32, Vec<u32>> = HashMap::new();
        for (q, name) in names.iter().enumerate() {
            for (word_id, word) in self.vocabulary.iter().enumerate() {
                let score = word_score(name, word);
                if score == 0 {
                    continue;
                }
                for &entry in self.postings.get(word_id).map_or(&[][..], Vec::as_slice) {
                    let slot = scores.entry(entry).or_insert_with(|| vec![0; names.len()]);
                    if let Some(best) = slot.get_mut(q) {
                        *best = (*best).max(score);
                    }
                }
            }
        }
        let mut hits: Vec<(u32, usize, &Entry)> = scores
            .into_iter()
            .filter(|(_, per_word)| per_word.iter().all(|&s| s > 0))
            .filter_map(|(entry, per_word)| {
                let entry = self.entries.get(entry as usize)?;
                let house_bonus = match &entry.house {
                    Some(house) if numbers.iter().any(|n| n == house) => SCORE_HOUSE,
                    _ => 0,
                };
                let score = per_word.iter().sum::<u32>() * 100 / names.len() as u32 + house_bonus;
                Some((score, entry.words.len(), entry))
            })
            .collect();
        hits.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(a.1.cmp(&b.1))
                .then(a.2.label.cmp(&b.2.label))
        });
        hits.into_iter()
            .take(limit.min(RESULTS_LIMIT))
            .map(|(score, _, entry)| SearchHit {
                target: entry.target,
                label: entry.label.clone(),
                coordinate: entry.coordinate,
                score,
            })
            .collect()
    }
}

/// How well a query word matches a name word (0 = not at all).
fn word_score(query: &str, word: &str) -> u32 {
    if query == word {
        return SCORE_EXACT;
    }
    if query.len() >= 2 && word.starts_with(query) {
        return SCORE_PREFIX;
    }
    let allowed = match query.len() {
        0..=3 => 0,
        4..=6 => 1,
        _ => 2,
    };
    match edit_distance_within(query.as_bytes(), word.as_bytes(), allowed) {
        Some(0) => SCORE_EXACT,
        Some(1) => SCORE_ONE_TYPO,
        Some(_) => SCORE_TWO_TYPOS,
        None => 0,
    }
}

/// Levenshtein distance if it is at most `limit`.
fn edit_distance_within(a: &[u8], b: &[u8], limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        let mut row_min = i + 1;
        if let Some(first) = current.first_mut() {
            *first = i + 1;
        }
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous.get(j).copied().unwrap_or(usize::MAX) + usize::from(ca != cb);
            let delete = previous
                .get(j + 1)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            let insert = current
                .get(j)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            let value = substitute.min(delete).min(insert);
            if let Some(cell) = current.get_mut(j + 1) {
                *cell = value;
            }
            row_min = row_min.min(value);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous.last().copied().filter(|&d| d <= limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_kazakh_russian_and_latin_spellings_together() {
        for text in ["Абая", "Abaya", "Abay", "Абай", "ABAI"] {
            assert_eq!(normalize(text), vec!["abai".to_owned()], "{text}");
        }
        assert_eq!(normalize("пр. Абая"), normalize("Abay avenue"));
        assert_eq!(
            normalize("Жолдасбеков көшесі"),
            normalize("Zholdasbekov street")
        );
        assert_eq!(normalize("Қабанбай батыр"), normalize("Kabanbay Batyr"));
        assert_eq!(normalize("Қабанбай батыр"), normalize("Qabanbai batyr"));
        assert_eq!(
            normalize("мкр. Самал-2"),
            vec!["samal".to_owned(), "2".to_owned()]
        );
    }

    #[test]
    fn edit_distance_is_bounded() {
        assert_eq!(edit_distance_within(b"kunaev", b"kunaiev", 1), Some(1));
        assert_eq!(edit_distance_within(b"abai", b"baia", 1), None);
        assert_eq!(edit_distance_within(b"satpaev", b"satpayev", 2), Some(1));
    }
}
