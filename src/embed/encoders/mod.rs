//! Encoders: the transformer networks that turn batches of token ids into one vector per
//! sequence. Each architecture is one file, with one struct per module of its checkpoint so
//! names match the weights; `load` picks the file named by the registry row's
//! `architecture`. Adding a model of a known architecture is a registry row; a new
//! architecture is one more file here and its arm in `load`.

mod gemma;
mod xlm_roberta;

use std::path::Path;

use super::Error;
use crate::embed::ops::kernels::mean_pool;
use crate::models::{Architecture, Products};
use gemma::Gemma;
use xlm_roberta::XlmRoberta;

/// A loaded encoder. Pooling and any projection head are part of it; normalising,
/// windowing and batching are the caller's.
pub trait Encoder: Send + Sync {
    /// Most tokens per sequence, special tokens included.
    fn max_positions(&self) -> usize;
    /// Size of the vectors `pooled` returns.
    fn output_size(&self) -> usize;
    /// Unnormalised embeddings, one per sequence, of right-padded sequences: `ids` holds
    /// `lengths.len() × len` ids, `lengths` the real length of each sequence.
    fn pooled(
        &self,
        ids: &[u32],
        lengths: &[usize],
        len: usize,
    ) -> candle_core::Result<Vec<Vec<f32>>>;
}

/// Loads the encoder of `architecture` from a model folder, its layers' products in
/// `products`.
pub fn load(
    architecture: Architecture,
    dir: &Path,
    products: Products,
) -> Result<Box<dyn Encoder>, Error> {
    Ok(match architecture {
        Architecture::XlmRoberta => Box::new(XlmRoberta::load(dir, products)?),
        Architecture::Gemma3Encoder => Box::new(Gemma::load(dir, products)?),
    })
}
