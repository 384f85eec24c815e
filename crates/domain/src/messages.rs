//! The passenger's language. Every text a passenger reads exists in Kazakh, Russian and English;
//! the texts themselves live beside the thing they describe (`error.rs`, `sms.rs`).

use std::fmt;

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

    /// Picks the first supported language of an HTTP `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Language> {
        header
            .split(',')
            .filter_map(|part| part.split(';').next())
            .filter_map(|tag| tag.trim().split('-').next())
            .find_map(Language::from_code)
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
    }
}
