//! Archive: the zip container of DOCX, ODT and EPUB. Tells the three apart by their entries,
//! and reads entries with a cap on decompressed size, per entry and per archive, counted on
//! the bytes actually inflated (the sizes a zip declares can lie): a zip bomb posing as a
//! document stops at the cap instead of filling memory.

use std::cell::Cell;
use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::super::source::Format;
use super::Unreadable;

/// Most bytes one entry may inflate to.
pub const MAX_ENTRY_BYTES: u64 = 64 << 20;
/// Most bytes all the entries read from one archive may inflate to.
pub const MAX_ARCHIVE_BYTES: u64 = 256 << 20;

/// A zip archive being read, with its decompression budget.
pub(super) struct Archive<'a> {
    zip: std::cell::RefCell<ZipArchive<Cursor<&'a [u8]>>>,
    left: Cell<u64>,
}

impl<'a> Archive<'a> {
    pub(super) fn open(raw: &'a [u8]) -> Result<Archive<'a>, Unreadable> {
        let zip = ZipArchive::new(Cursor::new(raw))
            .map_err(|e| Unreadable::Damaged(format!("not a readable zip archive ({e})")))?;
        Ok(Archive {
            zip: std::cell::RefCell::new(zip),
            left: Cell::new(MAX_ARCHIVE_BYTES),
        })
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.zip.borrow().index_for_name(name).is_some()
    }

    /// The bytes of entry `name`, or `None` when there is no such entry.
    pub(super) fn read(&self, name: &str) -> Result<Option<Vec<u8>>, Unreadable> {
        let mut zip = self.zip.borrow_mut();
        let mut entry = match zip.by_name(name) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(Unreadable::Damaged(format!("cannot read {name} ({e})"))),
        };
        let limit = MAX_ENTRY_BYTES.min(self.left.get());
        let mut bytes = Vec::new();
        (&mut entry)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Unreadable::Damaged(format!("cannot inflate {name} ({e})")))?;
        if bytes.len() as u64 > limit {
            return Err(Unreadable::TooLarge(format!(
                "{name} inflates to more than {} MB (a zip bomb, or a document too large to index); the limit is {} MB per part and {} MB per file",
                limit >> 20,
                MAX_ENTRY_BYTES >> 20,
                MAX_ARCHIVE_BYTES >> 20
            )));
        }
        self.left.set(self.left.get() - bytes.len() as u64);
        Ok(Some(bytes))
    }

    /// The bytes of entry `name`, which the format requires.
    pub(super) fn require(&self, name: &str) -> Result<Vec<u8>, Unreadable> {
        self.read(name)?
            .ok_or_else(|| Unreadable::Damaged(format!("it has no {name}")))
    }
}

/// Which document format a zip archive holds: ODT and EPUB name themselves in a `mimetype`
/// entry; DOCX has `word/document.xml`.
pub(super) fn office_format(raw: &[u8]) -> Result<Format, Unreadable> {
    let archive = Archive::open(raw)?;
    if let Some(mimetype) = archive.read("mimetype")? {
        let mimetype = String::from_utf8_lossy(&mimetype);
        match mimetype.trim() {
            "application/epub+zip" => return Ok(Format::Epub),
            "application/vnd.oasis.opendocument.text" => return Ok(Format::Odt),
            other if other.starts_with("application/vnd.oasis.opendocument.") => {
                return Err(Unreadable::Unsupported(format!(
                    "an OpenDocument file of type {other}, not a text document"
                )))
            }
            _ => {}
        }
    }
    if archive.has("word/document.xml") {
        return Ok(Format::Docx);
    }
    Err(Unreadable::Unsupported(
        "a zip archive that is not a DOCX, ODT or EPUB document".into(),
    ))
}

#[cfg(test)]
pub(super) mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;

    use super::*;

    /// A zip holding `entries` (name, bytes), deflated.
    pub(in super::super) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, bytes) in entries {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn formats_are_told_by_their_entries() {
        let epub = zip_of(&[("mimetype", b"application/epub+zip")]);
        assert_eq!(office_format(&epub), Ok(Format::Epub));
        let odt = zip_of(&[("mimetype", b"application/vnd.oasis.opendocument.text")]);
        assert_eq!(office_format(&odt), Ok(Format::Odt));
        let docx = zip_of(&[
            ("[Content_Types].xml", b"<x/>"),
            ("word/document.xml", b"<x/>"),
        ]);
        assert_eq!(office_format(&docx), Ok(Format::Docx));
        let ods = zip_of(&[(
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        )]);
        assert!(matches!(
            office_format(&ods),
            Err(Unreadable::Unsupported(_))
        ));
        let other = zip_of(&[("a.txt", b"x")]);
        assert!(matches!(
            office_format(&other),
            Err(Unreadable::Unsupported(_))
        ));
    }

    #[test]
    fn an_entry_over_the_cap_is_refused_without_inflating_it_all() {
        let zeros = vec![0u8; (MAX_ENTRY_BYTES + 1024) as usize];
        let bomb = zip_of(&[("word/document.xml", &zeros)]);
        assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
        let archive = Archive::open(&bomb).unwrap();
        assert!(matches!(
            archive.read("word/document.xml"),
            Err(Unreadable::TooLarge(_))
        ));
    }
}
