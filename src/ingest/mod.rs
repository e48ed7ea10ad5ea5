//! Ingest: everything between a path on the command line and the passages that get embedded.
//! `walk` finds the files, `extract` reads one (its bytes, then a `Source` through `formats`:
//! text, Markdown, PDF, HTML, DOCX, ODT, EPUB), `paths` names documents, and `chunk` cleans the
//! text (`clean`, `reflow`, `paragraph`) and cuts it into passages that fit the model (`split`),
//! each with its lines, page and heading path. Sentence rules come from `text`, which
//! searching shares.

mod chunk;
mod clean;
mod extract;
mod formats;
mod paragraph;
mod paths;
mod reflow;
mod source;
mod split;
mod walk;

use std::path::PathBuf;

pub use chunk::{chunk, chunk_source, ChunkOptions, Passage};
pub use extract::{extract, load, Loaded};
pub use formats::{detect, Unreadable, MAX_HTML_BYTES};
pub use paths::{
    absolute, display, display_path, file_stat, key, modified_time, path_of, relative, to_text,
};
pub use source::{Format, Source, PATH_SEPARATOR};
pub use walk::{walk, Skipped, Walked};

/// Version of the cleaning, splitting and windowing rules (`text::windows` included). Bump it
/// whenever `chunk` or the windows can differ for the same text, so that indexes built with
/// older rules get rebuilt.
pub const CHUNKER_VERSION: u32 = 2;

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
