//! Offsets: byte spans (what Rust slices by) turned into character offsets (what the JSON
//! output promises, and what a reader in any language can index by).

use std::ops::Range;

/// A byte span of `text` as character offsets, end exclusive.
pub fn char_offsets(text: &str, span: &Range<usize>) -> Range<usize> {
    let to_chars = |byte: usize| text[..byte].chars().count();
    to_chars(span.start)..to_chars(span.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_offsets_count_characters_not_bytes() {
        let text = "Łódź i Żółć. Koniec";
        let bytes = text.find('Ż').unwrap()..text.find('.').unwrap() + 1;
        assert_eq!(char_offsets(text, &bytes), 7..12);
        let back: String = text.chars().skip(7).take(5).collect();
        assert_eq!(back, "Żółć.");
    }
}
