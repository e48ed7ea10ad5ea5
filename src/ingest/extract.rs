//! Extract: reads one file's bytes and hashes them (re-indexing compares the hash before any
//! parsing), then reads them as a `Source` through `formats`.

use std::fs;
use std::path::Path;

use crate::checksum::sha256_hex;

use super::formats::{self, Progress, Unreadable};
use super::source::Source;
use super::Error;

/// A file's bytes, read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub raw: Vec<u8>,
    /// Lowercase hex SHA-256 of the raw file bytes.
    pub sha256: String,
}

impl Loaded {
    pub fn bytes(&self) -> u64 {
        self.raw.len() as u64
    }
}

/// Reads the bytes of `path`.
pub fn load(path: &Path) -> Result<Loaded, Error> {
    let raw = fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Loaded {
        sha256: sha256_hex(&raw),
        raw,
    })
}

/// The document in `loaded` (read from `path`), or why it cannot be indexed. `progress` hears
/// of each page of a long document.
pub fn extract(loaded: &Loaded, path: &Path, progress: Progress) -> Result<Source, Unreadable> {
    formats::read(&loaded.raw, path, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_a_file_and_hashes_the_raw_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        fs::write(&path, "abc").unwrap();
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.bytes(), 3);
        assert_eq!(
            loaded.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let source = extract(&loaded, &path, &mut |_, _| {}).unwrap();
        assert_eq!(source.text, "abc");
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brak.txt");
        let err = load(&path).unwrap_err();
        assert!(err.to_string().contains("brak.txt"));
    }

    proptest::proptest! {
        /// Whatever the bytes, reading and chunking them neither panics nor loses the
        /// promises passages make.
        #[test]
        fn any_bytes_read_and_chunk_without_panic(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000),
        ) {
            let loaded = Loaded { sha256: sha256_hex(&raw), raw };
            if let Ok(source) = extract(&loaded, Path::new("any.txt"), &mut |_, _| {}) {
                let lines = source.text.split('\n').count() as u32;
                let count = |t: &str| t.chars().count() / 4 + 3;
                for passage in crate::ingest::chunk_source(&source, &crate::ingest::ChunkOptions::new(40), &count) {
                    proptest::prop_assert!(!passage.text.is_empty());
                    proptest::prop_assert!(passage.start_line >= 1 && passage.start_line <= passage.end_line);
                    proptest::prop_assert!(passage.end_line <= lines);
                }
            }
        }
    }
}
