//! sha256 checksums, as lowercase hex, of byte slices, of files (streamed) and of what
//! goes through a writer.

use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Streams the file through the hash so large weights are never held in memory.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// A writer that hashes and counts the bytes it passes on, so that a file's checksum is
/// known once it is written, without reading it back.
pub struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    pub fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The writer, the sha256 (hex) of everything written through it, and its length.
    pub fn finish(self) -> (W, String, u64) {
        (
            self.inner,
            format!("{:x}", self.hasher.finalize()),
            self.bytes,
        )
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn file_digest_matches_bytes() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), b"akapit").unwrap();
        assert_eq!(sha256_file(tmp.path()).unwrap(), sha256_hex(b"akapit"));
    }

    #[test]
    fn hashing_writer_hashes_what_passed() {
        let mut writer = Hashing::new(Vec::new());
        writer.write_all(b"aka").unwrap();
        writer.write_all(b"pit").unwrap();
        let (inner, sha256, bytes) = writer.finish();
        assert_eq!(inner, b"akapit");
        assert_eq!(sha256, sha256_hex(b"akapit"));
        assert_eq!(bytes, 6);
    }
}
