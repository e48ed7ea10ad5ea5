//! Ingest: everything between a path on the command line and the passages that get embedded.
//! `walk` finds the files and `extract` reads one file as text.

mod extract;
mod walk;

use std::path::PathBuf;

pub use extract::{extract, Extracted, Loaded};
pub use walk::{walk, Skipped, Walked};

/// Version of the cleaning and splitting rules. Bump it whenever `chunk` can return different
/// passages for the same text, so that indexes built with older rules get rebuilt.
pub const CHUNKER_VERSION: u32 = 1;

/// Everything that can go wrong while finding and reading files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: no such file or directory", path.display())]
    NotFound { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
