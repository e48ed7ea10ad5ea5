//! Embedding: text → L2-normalised vectors. `Embedder` is the seam the rest of akapit
//! uses; `Model` is the real one (a registry row's tokenizer and encoder running in candle
//! on the CPU), `LazyModel` loads it on first use. `tokenize` cuts text into the model's
//! windows, `encoders` holds one file per architecture behind the `Encoder` trait,
//! `precision` picks the arithmetic, and `ops` holds the hand-written kernels (the crate's
//! only unsafe code).

mod encoders;
mod model;
pub(crate) mod ops;
mod precision;
mod tokenize;

#[cfg(test)]
pub mod fake;

use std::fmt::Display;
use std::path::{Path, PathBuf};

pub use model::{LazyModel, Model};
pub use ops::compare::ProductRun;
pub use precision::{label as products_label, reason as products_reason, Precision};

/// Every product this CPU runs (and candle's q8_0 one) timed on `x · Wᵀ` for
/// `rows × inputs × outputs`, about `budget` each (`akapit bench --products`).
pub fn compare_products(
    shape: (usize, usize, usize),
    budget: std::time::Duration,
) -> Result<Vec<ProductRun>, Error> {
    Ok(ops::compare::compare(shape, budget, precision::label)?)
}

/// Fixes how many threads the encoder uses, once, before the process starts any thread
/// (`main` calls it first). candle asks on every matrix product and, unless
/// `RAYON_NUM_THREADS` is set, counts the physical cores by reading `/proc/cpuinfo` each
/// time: 24 reads per question with e5, 4% of a question's time. Setting the variable to
/// the count candle would find turns those reads into an environment lookup, and gives
/// rayon's global pool, which the packed products share, the same size.
pub fn settle_thread_count() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let threads = candle_core::utils::get_num_threads();
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
}

/// Errors of the embedding layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot load the model: {detail}")]
    Model { path: PathBuf, detail: String },
    #[error("{path}: cannot load the tokenizer: {detail}")]
    Tokenizer { path: PathBuf, detail: String },
    #[error("tokenizing failed: {0}")]
    Tokenize(String),
    #[error(transparent)]
    Spec(#[from] crate::models::Error),
    #[error("the model's forward pass failed: {0}")]
    Forward(#[from] candle_core::Error),
    /// A shared model's queue is full or gone (a server under more load than it takes).
    #[error("the model is busy: {0}; try again in a moment")]
    Busy(String),
    /// A shared model failed on the texts it was handed (the message of the failure).
    #[error("embedding failed: {0}")]
    Failed(String),
}

impl Error {
    pub(crate) fn model(path: &Path, detail: impl Display) -> Self {
        Error::Model {
            path: path.to_path_buf(),
            detail: detail.to_string(),
        }
    }
}

/// Questions and passages get different prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Query,
    Passage,
    /// A passage given with its title, as `Embedder::titled` wrote it (the prompt included
    /// where the model's prompt has a title slot).
    Titled,
}

/// Turns texts into unit vectors of `dims()` floats.
pub trait Embedder {
    fn dims(&self) -> usize;
    /// Tokens the model sees for `text` (prompt and special tokens included).
    fn count_tokens(&self, text: &str, role: Role) -> Result<usize, Error>;
    /// One vector per text, in order; `progress` is told how many texts each step finished.
    fn embed(
        &self,
        texts: &[&str],
        role: Role,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, Error>;

    /// The input that embeds `text` as a passage under `title` (a document title or heading
    /// path), to be embedded as `Role::Titled`. Without a title slot in the model's prompt,
    /// the title is the passage's first sentence.
    fn titled(&self, title: &str, text: &str) -> String {
        format!("{title}. {text}")
    }

    fn embed_one(&self, text: &str, role: Role) -> Result<Vec<f32>, Error> {
        let mut vectors = self.embed(&[text], role, &mut |_| {})?;
        Ok(vectors.pop().unwrap_or_default())
    }
}
