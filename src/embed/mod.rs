//! Embedding: text → L2-normalised vectors. `Embedder` is the seam the rest of akapit
//! uses; `Model` is the real one (a registry row's encoder running in candle on the
//! CPU). Inputs longer than the model's window are split into windows and their means
//! combined by length, never truncated; similar-length windows are batched together.

pub mod bf16;
pub mod gemma;
pub mod kernels;
pub mod linear;
pub mod mmap_table;
pub mod tokenize;
pub mod xlm_roberta;

#[cfg(test)]
pub mod fake;

use std::fmt::Display;
use std::path::{Path, PathBuf};

use candle_core::{Tensor, D};

use crate::models::{Architecture, Located, ModelSpec};
use gemma::Gemma;
use linear::Products;
use tokenize::TextTokenizer;
use xlm_roberta::XlmRoberta;

/// Errors of the embedding layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot load the model: {detail}")]
    Model { path: PathBuf, detail: String },
    #[error("{path}: cannot load the tokenizer: {detail}")]
    Tokenizer { path: PathBuf, detail: String },
    #[error("tokenizing failed: {0}")]
    Tokenize(String),
    #[error("{0}")]
    Dims(String),
    #[error("the model's forward pass failed: {0}")]
    Forward(#[from] candle_core::Error),
}

impl Error {
    pub(crate) fn model(path: &Path, detail: impl Display) -> Self {
        Error::Model {
            path: path.to_path_buf(),
            detail: detail.to_string(),
        }
    }
}

/// How an encoder multiplies its activations by its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Precision {
    /// bf16 inputs with f32 sums where the CPU has AVX512-BF16 and the model has been
    /// checked against its golden file in bf16 (EmbeddingGemma: cosine >= 0.99998); f32
    /// otherwise.
    #[default]
    Auto,
    /// f32 throughout.
    F32,
}

impl Precision {
    /// The arithmetic a model's layers use with this setting on this CPU.
    pub fn products(self, architecture: Architecture) -> Products {
        match (architecture, self) {
            (Architecture::Gemma3Encoder, Precision::Auto) if bf16::supported() => Products::Bf16,
            _ => Products::F32,
        }
    }
}

/// Questions and passages get different prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Query,
    Passage,
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

    fn embed_one(&self, text: &str, role: Role) -> Result<Vec<f32>, Error> {
        let mut vectors = self.embed(&[text], role, &mut |_| {})?;
        Ok(vectors.pop().unwrap_or_default())
    }
}

/// Padded tokens per forward pass: large enough to keep the matrix products efficient,
/// small enough that attention scores for 512-token windows stay in the tens of MB.
const TOKEN_BUDGET: usize = 4096;
const MAX_BATCH: usize = 64;

enum Encoder {
    XlmRoberta(XlmRoberta),
    Gemma(Gemma),
}

impl Encoder {
    /// Max tokens per window, special tokens included.
    fn window(&self, spec: &ModelSpec) -> usize {
        let positions = match self {
            Encoder::XlmRoberta(m) => m.max_positions(),
            Encoder::Gemma(m) => m.max_positions(),
        };
        positions.min(spec.max_tokens)
    }

    /// Size of the vectors `pooled` returns.
    fn output_size(&self) -> usize {
        match self {
            Encoder::XlmRoberta(m) => m.hidden_size(),
            Encoder::Gemma(m) => m.output_size(),
        }
    }

    /// Unnormalised embeddings of right-padded windows: the mean of the last hidden
    /// states, through the model's projection head if it has one.
    fn pooled(
        &self,
        ids: &[u32],
        lengths: &[usize],
        len: usize,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        match self {
            Encoder::XlmRoberta(m) => {
                let hidden = m.forward(ids, lengths, len)?;
                mean_pool(&hidden, lengths)?.to_vec2()
            }
            Encoder::Gemma(m) => m.forward(ids, lengths, len)?.to_vec2(),
        }
    }
}

/// A registry model loaded from its folder.
pub struct Model {
    spec: &'static ModelSpec,
    tokenizer: TextTokenizer,
    encoder: Encoder,
    products: Products,
    /// Vector size: the model's, or a Matryoshka truncation of it.
    dims: usize,
    bos: u32,
    eos: u32,
    pad: u32,
}

impl Model {
    /// Loads tokenizer and weights; the tokenizer (the slower part) loads on its own thread.
    pub fn load(located: &Located, precision: Precision) -> Result<Model, Error> {
        let spec = located.spec;
        let dir = located.dir.clone();
        let tokenizer = std::thread::spawn(move || TextTokenizer::load(&dir));
        let products = precision.products(spec.architecture);
        let encoder = match spec.architecture {
            Architecture::XlmRoberta => Encoder::XlmRoberta(XlmRoberta::load(&located.dir)?),
            Architecture::Gemma3Encoder => Encoder::Gemma(Gemma::load(&located.dir, products)?),
        };
        let hidden = encoder.output_size();
        if hidden != spec.dims {
            return Err(Error::model(
                &located.dir,
                format!(
                    "hidden size {hidden}, but {} has {} dimensions",
                    spec.name, spec.dims
                ),
            ));
        }
        let tokenizer = tokenizer
            .join()
            .map_err(|_| Error::model(&located.dir, "the tokenizer loader panicked"))??;
        let (bos, eos, pad) = match spec.architecture {
            Architecture::XlmRoberta => ("<s>", "</s>", "<pad>"),
            Architecture::Gemma3Encoder => ("<bos>", "<eos>", "<pad>"),
        };
        Ok(Model {
            spec,
            bos: tokenizer.token_id(bos)?,
            eos: tokenizer.token_id(eos)?,
            pad: tokenizer.token_id(pad)?,
            tokenizer,
            encoder,
            products,
            dims: spec.dims,
        })
    }

    /// Truncates the vectors to their first `dims` values (Matryoshka), re-normalised;
    /// `dims` must be the model's size or one of the sizes its registry row lists.
    pub fn with_dims(mut self, dims: usize) -> Result<Model, Error> {
        self.dims = self.spec.check_dims(dims).map_err(Error::Dims)?;
        Ok(self)
    }

    /// The arithmetic its layers' products use.
    pub fn products(&self) -> Products {
        self.products
    }

    pub fn spec(&self) -> &'static ModelSpec {
        self.spec
    }

    fn prefix(&self, role: Role) -> &str {
        match role {
            Role::Query => &self.spec.query_prefix,
            Role::Passage => &self.spec.passage_prefix,
        }
    }

    /// Token ids of `text` with its prompt and special tokens, as one sequence.
    pub fn token_ids(&self, text: &str, role: Role) -> Result<Vec<u32>, Error> {
        let content = self.tokenizer.content_ids(self.prefix(role), text)?;
        Ok(split_windows(&content, content.len(), self.bos, self.eos).concat())
    }

    /// Token ids of `text` with its prompt, cut into windows that each get the special tokens.
    pub fn windows(&self, text: &str, role: Role) -> Result<Vec<Vec<u32>>, Error> {
        let content = self.tokenizer.content_ids(self.prefix(role), text)?;
        Ok(split_windows(
            &content,
            self.encoder.window(self.spec) - 2,
            self.bos,
            self.eos,
        ))
    }
}

/// Consecutive, non-overlapping windows of at most `max_content` ids, each wrapped in
/// `bos … eos`; an empty input still gives one window.
fn split_windows(content: &[u32], max_content: usize, bos: u32, eos: u32) -> Vec<Vec<u32>> {
    let wrap = |part: &[u32]| {
        let mut ids = Vec::with_capacity(part.len() + 2);
        ids.push(bos);
        ids.extend_from_slice(part);
        ids.push(eos);
        ids
    };
    if content.is_empty() {
        return vec![wrap(&[])];
    }
    content.chunks(max_content.max(1)).map(wrap).collect()
}

/// One window of one text, weighted by its content length when windows are combined.
struct Window {
    text: usize,
    ids: Vec<u32>,
}

impl Window {
    fn weight(&self) -> f32 {
        (self.ids.len().saturating_sub(2)).max(1) as f32
    }
}

/// Groups windows (sorted longest first) into batches under the token budget.
fn batches(windows: &[Window]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < windows.len() {
        let longest = windows[start].ids.len();
        let fit = (TOKEN_BUDGET / longest.max(1)).clamp(1, MAX_BATCH);
        let end = (start + fit).min(windows.len());
        out.push(start..end);
        start = end;
    }
    out
}

pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

impl Embedder for Model {
    fn dims(&self) -> usize {
        self.dims
    }

    fn count_tokens(&self, text: &str, role: Role) -> Result<usize, Error> {
        Ok(self.tokenizer.content_ids(self.prefix(role), text)?.len() + 2)
    }

    fn embed(
        &self,
        texts: &[&str],
        role: Role,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, Error> {
        let mut windows = Vec::new();
        let mut pending = vec![0usize; texts.len()];
        for (i, text) in texts.iter().enumerate() {
            for ids in self.windows(text, role)? {
                windows.push(Window { text: i, ids });
                pending[i] += 1;
            }
        }
        windows.sort_by_key(|w| std::cmp::Reverse(w.ids.len()));

        let hidden = self.encoder.output_size();
        let mut sums = vec![vec![0f32; hidden]; texts.len()];
        let mut weights = vec![0f32; texts.len()];
        for range in batches(&windows) {
            let batch = &windows[range];
            let len = batch[0].ids.len();
            let mut ids = Vec::with_capacity(batch.len() * len);
            for w in batch {
                ids.extend_from_slice(&w.ids);
                ids.extend(std::iter::repeat_n(self.pad, len - w.ids.len()));
            }
            let lengths: Vec<usize> = batch.iter().map(|w| w.ids.len()).collect();
            let pooled = self.encoder.pooled(&ids, &lengths, len)?;
            let mut finished = 0;
            for (w, mean) in batch.iter().zip(pooled) {
                let weight = w.weight();
                for (s, m) in sums[w.text].iter_mut().zip(mean) {
                    *s += weight * m;
                }
                weights[w.text] += weight;
                pending[w.text] -= 1;
                if pending[w.text] == 0 {
                    finished += 1;
                }
            }
            progress(finished);
        }
        for (sum, weight) in sums.iter_mut().zip(weights) {
            sum.iter_mut().for_each(|x| *x /= weight.max(1e-12));
            sum.truncate(self.dims);
            l2_normalize(sum);
        }
        Ok(sums)
    }
}

/// Mean of the hidden states over the real tokens of each sequence: `[batch, hidden]`.
pub fn mean_pool(hidden: &Tensor, lengths: &[usize]) -> candle_core::Result<Tensor> {
    let (batch, len, _) = hidden.dims3()?;
    let mask: Vec<f32> = lengths
        .iter()
        .flat_map(|&n| (0..len).map(move |t| if t < n { 1.0 } else { 0.0 }))
        .collect();
    let mask = Tensor::from_vec(mask, (batch, len, 1), hidden.device())?;
    let counts: Vec<f32> = lengths.iter().map(|&n| n.max(1) as f32).collect();
    let counts = Tensor::from_vec(counts, (batch, 1), hidden.device())?;
    hidden
        .broadcast_mul(&mask)?
        .sum(D::Minus2)?
        .broadcast_div(&counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gemma_under_auto_on_a_bf16_cpu_multiplies_in_bf16() {
        let gemma_auto = if bf16::supported() {
            Products::Bf16
        } else {
            Products::F32
        };
        assert_eq!(
            Precision::Auto.products(Architecture::Gemma3Encoder),
            gemma_auto
        );
        assert_eq!(
            Precision::F32.products(Architecture::Gemma3Encoder),
            Products::F32
        );
        for precision in [Precision::Auto, Precision::F32] {
            assert_eq!(precision.products(Architecture::XlmRoberta), Products::F32);
        }
    }

    #[test]
    fn windows_split_without_overlap_and_wrap_each() {
        let content: Vec<u32> = (10..17).collect();
        let windows = split_windows(&content, 3, 0, 2);
        assert_eq!(
            windows,
            vec![
                vec![0, 10, 11, 12, 2],
                vec![0, 13, 14, 15, 2],
                vec![0, 16, 2]
            ]
        );
        assert_eq!(split_windows(&[], 3, 0, 2), vec![vec![0, 2]]);
    }

    #[test]
    fn batches_respect_the_token_budget() {
        let lengths = [512, 512, 300, 100, 100, 10];
        let windows: Vec<Window> = lengths
            .iter()
            .enumerate()
            .map(|(i, &n)| Window {
                text: i,
                ids: vec![0; n],
            })
            .collect();
        let batches = batches(&windows);
        let covered: usize = batches.iter().map(|r| r.len()).sum();
        assert_eq!(covered, windows.len());
        for r in &batches {
            let padded = windows[r.start].ids.len() * r.len();
            assert!(padded <= TOKEN_BUDGET || r.len() == 1, "{r:?}");
        }
    }

    #[test]
    fn normalised_vectors_have_unit_length() {
        let mut v = vec![3.0, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
    }
}
