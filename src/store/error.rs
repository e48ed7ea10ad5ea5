//! The store's error type. Every variant names the file or document involved; when the
//! index on disk is at fault (`needs_rebuild`), the command line adds the command that
//! replaces it.

use std::path::PathBuf;

/// Errors from opening, reading or building an index.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "another `akapit index` is already building the index in {}: it holds the lock {}; \
         wait for it to finish and try again",
        dir.display(),
        lock.display()
    )]
    Locked { dir: PathBuf, lock: PathBuf },

    #[error(
        "index manifest {} has format version {found}, but this akapit reads version {expected}",
        path.display()
    )]
    FormatVersion {
        path: PathBuf,
        found: u64,
        expected: u32,
    },

    #[error("index file {} is damaged: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },

    #[error("{} is a file, not a folder; give --index a folder", path.display())]
    NotAFolder { path: PathBuf },

    #[error(
        "{} is not an akapit index and is not empty; akapit builds an index only in a new or \
         empty folder (or one it built before), so give --index another folder",
        dir.display()
    )]
    NotAnIndex { dir: PathBuf },

    #[error("passage database {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("vector index {}: {message}", path.display())]
    Vectors { path: PathBuf, message: String },

    /// The full sentence is built by `Manifest::check_model`, which knows both models.
    #[error("{0}")]
    ModelMismatch(String),

    #[error("{what} has {found} dimensions, but the index holds {expected}-dimensional vectors")]
    Dimensions {
        what: String,
        expected: usize,
        found: usize,
    },

    #[error(
        "cannot copy {doc} from the index in {}: {reason}; embed the document again",
        from.display()
    )]
    IncompatibleCopy {
        doc: String,
        from: PathBuf,
        reason: String,
    },

    #[error(
        "cannot attach the index in {}: {reason}; build it again with the settings of the \
         index it joins",
        part.display()
    )]
    IncompatiblePart { part: PathBuf, reason: String },

    #[error("{} holds no akapit index to attach", part.display())]
    NoPart { part: PathBuf },

    #[error("no passage with id {0} in the index")]
    UnknownPassage(u64),

    #[error("document {0} is not in the index")]
    UnknownDocument(String),

    #[error("document {0} was added twice to the same index build")]
    DuplicateDocument(String),

    #[error("document {doc} has more than one passage numbered {paragraph}")]
    DuplicateParagraph { doc: String, paragraph: u32 },

    #[error("passage {paragraph} of {doc} has invalid windows: {reason}")]
    InvalidWindows {
        doc: String,
        paragraph: u32,
        reason: String,
    },
}

impl Error {
    /// Whether the index on disk is unusable as it is and only building it again helps.
    pub fn needs_rebuild(&self) -> bool {
        matches!(
            self,
            Error::FormatVersion { .. } | Error::Corrupt { .. } | Error::ModelMismatch(_)
        )
    }

    /// Adapter for `map_err` on `std::io` results.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    /// Adapter for `map_err` on rusqlite results.
    pub(crate) fn sqlite(path: impl Into<PathBuf>) -> impl FnOnce(rusqlite::Error) -> Error {
        let path = path.into();
        move |source| Error::Sqlite { path, source }
    }
}
