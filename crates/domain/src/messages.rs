//! The passenger's language. Every text a passenger reads exists in Kazakh, Russian and English;
//! the texts themselves live beside the thing they describe (`error.rs`, `sms.rs`).

use std::fmt;

/// The passengers' support line (the operator ALEMPAY's numbers), as every text that suggests
/// support writes it.
pub const SUPPORT_PHONES: &str = "+7 777 000 2505, +7 700 000 2505, +7 707 000 2505";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Language {
    Kk,
    #[default]
    Ru,
    En,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::Kk, Language::Ru, Language::En];

    pub fn code(self) -> &'static str {
        match self {
            Language::Kk => "kk",
            Language::Ru => "ru",
            Language::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Language> {
        match code.trim().to_ascii_lowercase().as_str() {
            "kk" | "kz" | "kaz" => Some(Language::Kk),
            "ru" | "rus" => Some(Language::Ru),
            "en" | "eng" => Some(Language::En),
            _ => None,
        }
    }

    /// The supported language the HTTP `Accept-Language` header weighs highest (`q`, default
    /// 1; the first listed wins a tie).
    pub fn from_accept_language(header: &str) -> Option<Language> {
        let mut best: Option<(u16, Language)> = None;
        for part in header.split(',').take(32) {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let Some(language) = tag.split('-').next().and_then(Language::from_code) else {
                continue;
            };
            let weight = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .map_or(1000, |q| (q.clamp(0.0, 1.0) * 1000.0) as u16);
            if weight > 0 && best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, language));
            }
        }
        best.map(|(_, language)| language)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One text in the three languages.
#[derive(Clone, Copy, Debug)]
pub struct Text {
    pub kk: &'static str,
    pub ru: &'static str,
    pub en: &'static str,
}

impl Text {
    pub fn get(&self, language: Language) -> &'static str {
        match language {
            Language::Kk => self.kk,
            Language::Ru => self.ru,
            Language::En => self.en,
        }
    }

    /// Whether `text` is this text in one of the languages.
    pub fn is(&self, text: &str) -> bool {
        [self.kk, self.ru, self.en].contains(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_accept_language() {
        assert_eq!(
            Language::from_accept_language("kk-KZ,ru;q=0.8"),
            Some(Language::Kk)
        );
        assert_eq!(
            Language::from_accept_language("de, en-GB;q=0.5"),
            Some(Language::En)
        );
        assert_eq!(Language::from_accept_language("de"), None);
        assert_eq!(
            Language::from_accept_language("ru;q=0.1, en;q=0.9"),
            Some(Language::En)
        );
        assert_eq!(
            Language::from_accept_language("en;q=0, kk"),
            Some(Language::Kk)
        );
    }
}
