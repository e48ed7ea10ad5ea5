//! Formats: turns a file's bytes into a `Source`, whatever the file is. The format is told by
//! the content (magic bytes, the entries of a zip), the extension only deciding between text
//! and Markdown or confirming HTML. One reader per format: `text`, `pdf`, `html` (main content
//! of web pages; also the chapters of EPUB), `docx`, `odt`, `epub`; `archive` reads zip
//! entries with size limits, `xml` the office formats' XML without expanding entities.
//!
//! A file that cannot be read yields an `Unreadable` saying why (encrypted, no text layer,
//! damaged, over a limit); the caller skips it with a warning and indexes the rest.

mod archive;
mod docx;
mod epub;
mod html;
mod odt;
mod pdf;
mod text;
mod xml;

use std::path::Path;

use super::source::{Format, Source};

/// Web pages larger than this are not parsed: a page of article text is well under a
/// megabyte, and the parser holds the whole tree in memory.
pub const MAX_HTML_BYTES: usize = 16 << 20;

/// Why a file is not indexed.
#[derive(Debug, Clone, PartialEq)]
pub enum Unreadable {
    /// Encrypted with a password that is not empty.
    Encrypted,
    /// A PDF whose pages have no text layer (scanned, or only drawings).
    NoTextLayer,
    /// The file is cut short or broken; the reason says where.
    Damaged(String),
    /// Over a size limit (a zip bomb, a page too large to parse).
    TooLarge(String),
    /// A kind of file akapit does not read.
    Unsupported(String),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::Encrypted => {
                write!(f, "the PDF is encrypted with a password; OCR and decryption are not attempted, save an unprotected copy to index it")
            }
            Unreadable::NoTextLayer => write!(
                f,
                "the PDF has no text layer (scanned pages or drawings only); akapit does not do OCR"
            ),
            Unreadable::Damaged(why) => write!(f, "the file is damaged: {why}"),
            Unreadable::TooLarge(why) => write!(f, "{why}"),
            Unreadable::Unsupported(what) => write!(f, "{what}"),
        }
    }
}

/// How far a long read has got (pages of a PDF).
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize);

/// Reads `raw`, the bytes of the file at `path`, as whatever format its content shows. A
/// reader that panics on a malformed file (the parsers are large, and files are hostile)
/// makes that file unreadable, not the run.
pub fn read(raw: &[u8], path: &Path, progress: Progress) -> Result<Source, Unreadable> {
    let format = detect(raw, path)?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_as(format, raw, progress)
    }))
    .unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Unreadable::Damaged(format!(
            "the {} reader failed on it ({why})",
            format.name()
        )))
    })
}

fn read_as(format: Format, raw: &[u8], progress: Progress) -> Result<Source, Unreadable> {
    match format {
        Format::Pdf => pdf::read(raw, progress),
        Format::Html => html::read(raw),
        Format::Docx => docx::read(raw),
        Format::Odt => odt::read(raw),
        Format::Epub => epub::read(raw),
        format @ (Format::Text | Format::Markdown) => text::read(raw, format),
    }
}

/// The format of `raw`, from its content first and its extension second.
pub fn detect(raw: &[u8], path: &Path) -> Result<Format, Unreadable> {
    let head = &raw[..raw.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Ok(Format::Pdf);
    }
    if raw.starts_with(b"PK\x03\x04") {
        return archive::office_format(raw);
    }
    if raw.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Err(Unreadable::Unsupported(
            "an old binary Office file (.doc, .xls, .ppt); save it as DOCX or ODT to index it"
                .into(),
        ));
    }
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if matches!(extension.as_deref(), Some("html" | "htm" | "xhtml")) || looks_like_html(head) {
        return Ok(Format::Html);
    }
    if text::looks_binary(raw) {
        return Err(Unreadable::Unsupported(
            "it looks like a binary file, not text".into(),
        ));
    }
    Ok(match extension.as_deref() {
        Some("md" | "markdown") => Format::Markdown,
        _ => Format::Text,
    })
}

/// A document that starts (after a byte-order mark and blanks) with an HTML doctype or an
/// `<html>` element.
fn looks_like_html(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let lower: Vec<u8> = head[start..]
        .iter()
        .take(64)
        .map(u8::to_ascii_lowercase)
        .collect();
    lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides_over_the_extension() {
        let p = Path::new("report.txt");
        assert_eq!(detect(b"%PDF-1.7\n...", p), Ok(Format::Pdf));
        assert_eq!(
            detect(b"  <!DOCTYPE html><html><body>x</body></html>", p),
            Ok(Format::Html)
        );
        assert_eq!(detect(b"zwykly tekst", p), Ok(Format::Text));
        assert_eq!(detect(b"# Tytul", Path::new("a.MD")), Ok(Format::Markdown));
        assert_eq!(detect(b"<p>x</p>", Path::new("a.htm")), Ok(Format::Html));
        assert!(matches!(
            detect(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest", Path::new("a.doc")),
            Err(Unreadable::Unsupported(_))
        ));
        assert!(matches!(
            detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Path::new("a.txt")),
            Err(Unreadable::Unsupported(_))
        ));
    }
}
