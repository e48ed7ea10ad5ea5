//! Text: decodes a text or Markdown file. UTF-8 (invalid bytes replaced, with a warning),
//! UTF-16 with a byte-order mark; CRLF and CR line ends become LF.

use super::super::source::{Format, Source};
use super::Unreadable;

/// How much of the start of a file is inspected to decide whether it is binary.
const SNIFF_BYTES: usize = 8 * 1024;
/// Share of control bytes in the inspected start above which a file is taken as binary.
const MAX_CONTROL_SHARE: f64 = 0.3;

pub(super) fn read(raw: &[u8], format: Format) -> Result<Source, Unreadable> {
    let (text, lossy) = decode(raw);
    let mut source = Source::plain(normalize_line_ends(&text), format);
    if lossy {
        source
            .warnings
            .push("not valid UTF-8; invalid bytes were replaced with U+FFFD".into());
    }
    Ok(source)
}

/// The text of `raw` and whether undecodable bytes were replaced by U+FFFD.
pub(super) fn decode(raw: &[u8]) -> (String, bool) {
    match utf16_byte_order(raw) {
        Some(big_endian) => decode_utf16(&raw[2..], big_endian),
        None => decode_utf8(raw),
    }
}

/// NUL bytes never occur in UTF-8 text; a start made mostly of other control bytes is not text
/// either. UTF-16 text (full of NUL bytes) is recognised by its byte-order mark first.
pub(super) fn looks_binary(raw: &[u8]) -> bool {
    if utf16_byte_order(raw).is_some() {
        return false;
    }
    let sample = &raw[..raw.len().min(SNIFF_BYTES)];
    if sample.contains(&0) {
        return true;
    }
    // Tab, line feed, form feed (page breaks in PDF-to-text output), carriage return and escape
    // do occur in text files.
    let control = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | 0x0C | b'\r' | 0x1B))
        .count();
    !sample.is_empty() && control as f64 > MAX_CONTROL_SHARE * sample.len() as f64
}

/// `Some(true)` for a big-endian UTF-16 byte-order mark, `Some(false)` for little-endian.
/// UTF-16 text is full of NUL bytes, so it has to be recognised before the binary check.
fn utf16_byte_order(raw: &[u8]) -> Option<bool> {
    match raw {
        [0xFE, 0xFF, ..] => Some(true),
        [0xFF, 0xFE, ..] => Some(false),
        _ => None,
    }
}

fn decode_utf8(raw: &[u8]) -> (String, bool) {
    let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    match std::str::from_utf8(raw) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (String::from_utf8_lossy(raw).into_owned(), true),
    }
}

fn decode_utf16(raw: &[u8], big_endian: bool) -> (String, bool) {
    let units = raw.chunks(2).map(|pair| match (pair, big_endian) {
        ([hi, lo], true) | ([lo, hi], false) => u16::from_be_bytes([*hi, *lo]),
        // An odd trailing byte cannot be a code unit; make it decode as a replacement.
        _ => 0xD800,
    });
    let mut lossy = false;
    let text: String = char::decode_utf16(units)
        .map(|unit| {
            unit.unwrap_or_else(|_| {
                lossy = true;
                char::REPLACEMENT_CHARACTER
            })
        })
        .collect();
    (text, lossy)
}

fn normalize_line_ends(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(raw: &[u8]) -> Source {
        read(raw, Format::Text).unwrap()
    }

    #[test]
    fn strips_the_bom_and_normalises_crlf_and_cr() {
        let raw = "\u{FEFF}Piąta tura rozmów\r\nAnna Maria Dyner\rkoniec".as_bytes();
        let source = text_of(raw);
        assert_eq!(source.text, "Piąta tura rozmów\nAnna Maria Dyner\nkoniec");
        assert!(source.warnings.is_empty());
    }

    #[test]
    fn invalid_utf8_is_replaced_with_a_warning() {
        // "Białoruś" in ISO-8859-2: ł is 0xB3, ś is 0xB6, neither valid on its own in UTF-8.
        let source = text_of(b"Bia\xB3oru\xB6");
        assert_eq!(source.text, "Bia\u{FFFD}oru\u{FFFD}");
        assert!(source.warnings[0].contains("UTF-8"));
    }

    #[test]
    fn nul_bytes_or_mostly_control_bytes_mean_binary() {
        assert!(looks_binary(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(looks_binary(b"\x01\x02\x03\x04ab"));
        // Page breaks from PDF-to-text output are text.
        assert!(!looks_binary(b"strona 1\x0cstrona 2"));
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_decoded() {
        let mut le = vec![0xFF, 0xFE];
        le.extend("Mińsk\r\n".encode_utf16().flat_map(u16::to_le_bytes));
        assert!(!looks_binary(&le));
        let source = text_of(&le);
        assert_eq!(source.text, "Mińsk\n");
        assert!(source.warnings.is_empty());

        let mut be = vec![0xFE, 0xFF];
        be.extend("Mińsk".encode_utf16().flat_map(u16::to_be_bytes));
        be.push(0x41);
        let source = text_of(&be);
        assert_eq!(source.text, "Mińsk\u{FFFD}");
        assert!(!source.warnings.is_empty());
    }

    #[test]
    fn an_empty_file_is_empty_text() {
        assert_eq!(text_of(b"").text, "");
    }
}
