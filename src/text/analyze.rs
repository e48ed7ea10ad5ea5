//! Text → terms for keyword search, the same way for passages and questions: words and
//! numbers, lower-cased, optionally reduced to a stem, then folded to ASCII-like letters
//! so that "Lukaszenka" finds "Łukaszenka" and "Bialorusi" finds "Białorusi".
//!
//! Stemming runs before folding because the Polish Snowball rules are written over
//! Polish letters (`-ością`, `-ach`, `-ów`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use snowstem::{Algorithm, Stemmer};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// How words are reduced before matching. The index records which one built it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Analyzer {
    /// Folding only: every inflected form is its own term.
    Plain,
    /// Snowball's Polish stemmer, then folding.
    SnowballPolish,
    /// Folding, then the first N characters of each word (a crude, language-blind stemmer).
    Prefix(usize),
}

impl Analyzer {
    /// The analyzer indexes are built with (chosen on the eval sets; see the README).
    pub const DEFAULT: Analyzer = Analyzer::SnowballPolish;

    /// The terms of `text`, in order, repeats kept (BM25 counts them).
    pub fn terms(&self, text: &str) -> Vec<String> {
        let stemmer = match self {
            Analyzer::SnowballPolish => Some(Stemmer::create(Algorithm::Polish)),
            _ => None,
        };
        words(text)
            .map(|word| {
                let lower = word.to_lowercase();
                let stemmed = match &stemmer {
                    Some(s) => s.stem(&lower).into_owned(),
                    None => lower,
                };
                let folded = fold(&stemmed);
                match self {
                    Analyzer::Prefix(n) => folded.chars().take(*n).collect(),
                    _ => folded,
                }
            })
            .filter(|t| !t.is_empty())
            .collect()
    }
}

impl fmt::Display for Analyzer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Analyzer::Plain => f.write_str("plain"),
            Analyzer::SnowballPolish => f.write_str("snowball-polish"),
            Analyzer::Prefix(n) => write!(f, "prefix{n}"),
        }
    }
}

impl FromStr for Analyzer {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "plain" => Ok(Analyzer::Plain),
            "snowball-polish" => Ok(Analyzer::SnowballPolish),
            _ => s
                .strip_prefix("prefix")
                .and_then(|n| n.parse().ok())
                .filter(|&n| n >= 3)
                .map(Analyzer::Prefix)
                .ok_or_else(|| format!("unknown analyzer `{s}` (plain, snowball-polish, prefixN)")),
        }
    }
}

/// Runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Diacritics removed: canonical decomposition minus combining marks, plus the letters
/// that do not decompose (`ł`, `ø`, `đ`, `ß` …).
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.nfkd() {
        match c {
            'ł' => out.push('l'),
            'Ł' => out.push('L'),
            'ø' => out.push('o'),
            'Ø' => out.push('O'),
            'đ' => out.push('d'),
            'Đ' => out.push('D'),
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ı' => out.push('i'),
            c if is_combining_mark(c) => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_matches_letters_typed_without_diacritics() {
        assert_eq!(fold("łukaszenka"), "lukaszenka");
        assert_eq!(fold("Żangaözen"), "Zangaozen");
        assert_eq!(fold("więźniów"), "wiezniow");
        assert_eq!(fold("straße"), "strasse");
        assert_eq!(
            Analyzer::Plain.terms("Łukaszenka"),
            Analyzer::Plain.terms("Lukaszenka")
        );
    }

    #[test]
    fn words_split_on_punctuation_and_keep_numbers() {
        let text = "„Z głębokim niepokojem” – 160 wspólnych działań (40%)";
        assert_eq!(
            Analyzer::Plain.terms(text),
            [
                "z",
                "glebokim",
                "niepokojem",
                "160",
                "wspolnych",
                "dzialan",
                "40"
            ]
        );
    }

    #[test]
    fn snowball_joins_inflected_forms_from_the_seeds() {
        // Forms of Białoruś/białoruski as they occur in the seed articles.
        let a = Analyzer::SnowballPolish;
        let stem = |w: &str| a.terms(w).remove(0);
        assert_eq!(stem("Białorusi"), stem("Białorusią"));
        assert_eq!(stem("Białorusi"), stem("Białoruś"));
        assert_eq!(stem("białoruskich"), stem("białoruskie"));
        assert_eq!(stem("integracji"), stem("integracja"));
        assert_eq!(stem("Kazachstanu"), stem("Kazachstanie"));
        assert_eq!(stem("Łukaszenki"), stem("Łukaszenko"));
        assert_eq!(stem("nadzwyczajnego"), stem("nadzwyczajny"));
        assert_eq!(stem("ćwiczeń"), stem("ćwiczenia"));
        // Not every pair: Snowball keeps "więźniów" and "więźniowie" apart.
        assert_ne!(stem("więźniów"), stem("więźniowie"));
        // Folded after stemming, so ASCII-typed queries meet the same stem.
        assert_eq!(stem("Łukaszenki"), stem("Lukaszenki"));
    }

    #[test]
    fn prefix_truncates_folded_words() {
        assert_eq!(
            Analyzer::Prefix(5).terms("Białorusią wojskowej"),
            ["bialo", "wojsk"]
        );
        assert_eq!(Analyzer::Prefix(5).terms("NATO"), ["nato"]);
    }

    #[test]
    fn names_round_trip() {
        for a in [
            Analyzer::Plain,
            Analyzer::SnowballPolish,
            Analyzer::Prefix(6),
        ] {
            assert_eq!(a.to_string().parse::<Analyzer>(), Ok(a));
        }
        assert!("prefix1".parse::<Analyzer>().is_err());
    }
}
