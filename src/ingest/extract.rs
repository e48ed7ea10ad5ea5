//! Extract: reads one file and turns its bytes into text with `\n` line ends.
//! Owns the decoding decisions (UTF-8 with a lossy fallback, UTF-16 with a byte-order mark),
//! binary detection, and the content hash of the raw bytes that re-indexing compares.

use std::fs;
use std::path::Path;

use crate::checksum::sha256_hex;

use super::Error;

/// How much of the start of a file is inspected to decide whether it is binary.
const SNIFF_BYTES: usize = 8 * 1024;
/// Share of control bytes in the inspected start above which a file is taken as binary.
const MAX_CONTROL_SHARE: f64 = 0.3;

/// A text file, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The text with any byte-order mark removed and CRLF / CR line ends turned into LF.
    pub text: String,
    /// Lowercase hex SHA-256 of the raw file bytes.
    pub sha256: String,
    pub bytes: u64,
    /// True when undecodable bytes were replaced by U+FFFD.
    pub lossy: bool,
}

/// What a file turned out to hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Extracted {
    Text(Loaded),
    Binary { sha256: String, bytes: u64 },
}

/// Reads `path` and decodes it, or reports it as binary.
pub fn extract(path: &Path) -> Result<Extracted, Error> {
    let raw = fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(extract_bytes(&raw))
}

fn extract_bytes(raw: &[u8]) -> Extracted {
    let sha256 = sha256_hex(raw);
    let bytes = raw.len() as u64;
    let decoded = match utf16_byte_order(raw) {
        Some(big_endian) => decode_utf16(&raw[2..], big_endian),
        None if looks_binary(raw) => return Extracted::Binary { sha256, bytes },
        None => decode_utf8(raw),
    };
    let (text, lossy) = decoded;
    Extracted::Text(Loaded {
        text: normalize_line_ends(&text),
        sha256,
        bytes,
        lossy,
    })
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

/// NUL bytes never occur in UTF-8 text; a start made mostly of other control bytes is not text either.
fn looks_binary(raw: &[u8]) -> bool {
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

    fn text_of(extracted: Extracted) -> Loaded {
        match extracted {
            Extracted::Text(loaded) => loaded,
            Extracted::Binary { .. } => panic!("expected text"),
        }
    }

    #[test]
    fn reads_a_utf8_file_and_hashes_the_raw_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        fs::write(&path, "abc").unwrap();
        let loaded = text_of(extract(&path).unwrap());
        assert_eq!(loaded.text, "abc");
        assert_eq!(loaded.bytes, 3);
        assert!(!loaded.lossy);
        assert_eq!(
            loaded.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn strips_the_bom_and_normalises_crlf_and_cr() {
        let raw = "\u{FEFF}Piąta tura rozmów\r\nAnna Maria Dyner\rkoniec".as_bytes();
        let loaded = text_of(extract_bytes(raw));
        assert_eq!(loaded.text, "Piąta tura rozmów\nAnna Maria Dyner\nkoniec");
        assert!(!loaded.lossy);
        // The hash is of the bytes on disk, BOM and CRLF included.
        assert_eq!(loaded.sha256, sha256_hex(raw));
    }

    #[test]
    fn invalid_utf8_is_replaced_and_reported_as_lossy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin2.txt");
        // "Białoruś" in ISO-8859-2: ł is 0xB3, ś is 0xB6, neither valid on its own in UTF-8.
        fs::write(&path, b"Bia\xB3oru\xB6").unwrap();
        let loaded = text_of(extract(&path).unwrap());
        assert!(loaded.lossy);
        assert_eq!(loaded.text, "Bia\u{FFFD}oru\u{FFFD}");
        assert_eq!(loaded.bytes, 8);
    }

    #[test]
    fn nul_bytes_or_mostly_control_bytes_mean_binary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.txt");
        fs::write(&path, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
        assert!(matches!(
            extract(&path).unwrap(),
            Extracted::Binary { bytes: 16, .. }
        ));
        assert!(matches!(
            extract_bytes(b"\x01\x02\x03\x04ab"),
            Extracted::Binary { .. }
        ));
        // Page breaks from PDF-to-text output are text.
        assert!(matches!(
            extract_bytes(b"strona 1\x0cstrona 2"),
            Extracted::Text(_)
        ));
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_decoded() {
        let mut le = vec![0xFF, 0xFE];
        le.extend("Mińsk\r\n".encode_utf16().flat_map(u16::to_le_bytes));
        let loaded = text_of(extract_bytes(&le));
        assert_eq!(loaded.text, "Mińsk\n");
        assert!(!loaded.lossy);

        let mut be = vec![0xFE, 0xFF];
        be.extend("Mińsk".encode_utf16().flat_map(u16::to_be_bytes));
        be.push(0x41);
        let loaded = text_of(extract_bytes(&be));
        assert_eq!(loaded.text, "Mińsk\u{FFFD}");
        assert!(loaded.lossy);
    }

    #[test]
    fn an_empty_file_is_empty_text() {
        let loaded = text_of(extract_bytes(b""));
        assert_eq!(loaded.text, "");
        assert_eq!(loaded.bytes, 0);
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brak.txt");
        let err = extract(&path).unwrap_err();
        assert!(err.to_string().contains("brak.txt"));
    }

    proptest::proptest! {
        /// Whatever the bytes, reading and chunking them neither panics nor loses the
        /// promises passages make.
        #[test]
        fn any_bytes_read_and_chunk_without_panic(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000),
        ) {
            if let Extracted::Text(loaded) = extract_bytes(&raw) {
                let lines = loaded.text.split('\n').count() as u32;
                let count = |t: &str| t.chars().count() / 4 + 3;
                for passage in crate::ingest::chunk(&loaded.text, &crate::ingest::ChunkOptions::new(40), &count) {
                    proptest::prop_assert!(!passage.text.is_empty());
                    proptest::prop_assert!(passage.start_line >= 1 && passage.start_line <= passage.end_line);
                    proptest::prop_assert!(passage.end_line <= lines);
                }
            }
        }
    }
}
