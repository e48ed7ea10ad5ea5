//! The command line's error: a failure of one of the layers underneath (each with its own
//! context), or a request that cannot be served as given, with what to do instead. Every
//! error exits with code 2; `Outcome` decides between 0 and 1.

use std::path::PathBuf;

use super::DEFAULT_CORPUS;
use crate::{answer, embed, eval, export, ingest, models, pipeline, search, serve, store};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Ingest(#[from] ingest::Error),
    #[error(transparent)]
    Models(#[from] models::Error),
    #[error(transparent)]
    Embed(#[from] embed::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Pipeline(#[from] pipeline::Error),
    #[error(transparent)]
    Search(#[from] search::Error),
    #[error(transparent)]
    Eval(#[from] eval::Error),
    #[error(transparent)]
    Answer(#[from] answer::Error),
    #[error(transparent)]
    Serve(#[from] serve::Error),
    #[error(transparent)]
    Export(#[from] export::Error),
    /// `command` is the `akapit index` that builds it.
    #[error("there is no index in {} yet; run `{command}` (or `akapit ask \"...\"` in a folder with {DEFAULT_CORPUS}/, which builds one from it)", dir.display())]
    NoIndex { dir: PathBuf, command: String },
    #[error("there is no index in {} yet and no {DEFAULT_CORPUS}/ folder here to build one from; run `{command}` first", dir.display())]
    NoCorpus { dir: PathBuf, command: String },
    #[error("no paths given, the index records no folders, and there is no {DEFAULT_CORPUS}/ folder here; say what to index: `{command}`")]
    NoPaths { command: String },
    #[error("the index in {} disappeared while akapit was using it", dir.display())]
    Vanished { dir: PathBuf },
    #[error(
        "the index holds {dims}-dimensional vectors, which this akapit cannot make ({source})"
    )]
    IndexDims { dims: usize, source: models::Error },
    #[error("{}: no query has judgements in qrels.tsv", dir.display())]
    NoJudgedQueries { dir: PathBuf },
    #[error("{what} failed during the benchmark: {detail}")]
    Bench { what: String, detail: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The index is unusable as it is; `command` builds it again.
    #[error("{source}; rebuild it with `{command}`")]
    Rebuild { source: Box<Error>, command: String },
}

impl Error {
    /// Whether the index on disk is at fault and only building it again helps.
    pub fn needs_rebuild(&self) -> bool {
        let store = match self {
            Error::IndexDims { .. } => return true,
            Error::Answer(e) => return e.needs_rebuild(),
            Error::Store(e) => e,
            Error::Pipeline(pipeline::Error::Store(e)) => e,
            Error::Search(search::Error::Store(e)) => e,
            Error::Export(export::Error::Store(e)) => e,
            _ => return false,
        };
        store.needs_rebuild()
    }

    /// Adapter for `map_err` on I/O results.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a successful command found, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Results were printed (exit 0).
    Found,
    /// The command worked but found nothing (exit 1).
    NothingFound,
}

impl Outcome {
    pub fn from_count(n: usize) -> Self {
        if n == 0 {
            Outcome::NothingFound
        } else {
            Outcome::Found
        }
    }

    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Found => 0,
            Outcome::NothingFound => 1,
        }
    }
}

/// Exit code for errors.
pub const ERROR_EXIT: u8 = 2;
