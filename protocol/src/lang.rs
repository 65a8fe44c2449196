//! Language codes: the floor languages people speak in and the interface languages.
//!
//! A closed set on purpose: an interpretation booth can only prepare for a language it
//! knows, and a typo ("sp" for Spanish) must be a located error, not a silent new language.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An ISO 639-1 language code that Podium knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Arabic (written right to left).
    Ar,
    /// German.
    De,
    /// English.
    En,
    /// Spanish.
    Es,
    /// French.
    Fr,
    /// Italian.
    It,
    /// Portuguese.
    Pt,
    /// Russian.
    Ru,
    /// Swedish.
    Sv,
    /// Chinese.
    Zh,
}

impl Lang {
    /// Every language Podium knows, in code order.
    pub const ALL: [Lang; 10] = [
        Lang::Ar,
        Lang::De,
        Lang::En,
        Lang::Es,
        Lang::Fr,
        Lang::It,
        Lang::Pt,
        Lang::Ru,
        Lang::Sv,
        Lang::Zh,
    ];

    /// The two-letter code, as on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ar => "ar",
            Lang::De => "de",
            Lang::En => "en",
            Lang::Es => "es",
            Lang::Fr => "fr",
            Lang::It => "it",
            Lang::Pt => "pt",
            Lang::Ru => "ru",
            Lang::Sv => "sv",
            Lang::Zh => "zh",
        }
    }

    /// The language's English name, for summaries and error hints.
    pub fn english_name(self) -> &'static str {
        match self {
            Lang::Ar => "Arabic",
            Lang::De => "German",
            Lang::En => "English",
            Lang::Es => "Spanish",
            Lang::Fr => "French",
            Lang::It => "Italian",
            Lang::Pt => "Portuguese",
            Lang::Ru => "Russian",
            Lang::Sv => "Swedish",
            Lang::Zh => "Chinese",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A code that is not one of [`Lang::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language code {0:?}: use one of ar, de, en, es, fr, it, pt, ru, sv, zh")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lang::ALL
            .into_iter()
            .find(|l| l.code() == s)
            .ok_or_else(|| UnknownLang(s.to_string()))
    }
}
