//! A small deterministic embedder for unit tests of logic around embeddings: hashed
//! character trigrams, so texts sharing words get similar vectors. Never used by the CLI.

use super::{Embedder, Error, Role};
use crate::vector;

pub struct FakeEmbedder {
    pub dims: usize,
}

impl Default for FakeEmbedder {
    fn default() -> Self {
        FakeEmbedder { dims: 64 }
    }
}

impl FakeEmbedder {
    fn vector(&self, text: &str) -> Vec<f32> {
        let chars: Vec<char> = format!("  {}  ", text.to_lowercase()).chars().collect();
        let mut v = vec![0f32; self.dims];
        for gram in chars.windows(3) {
            // FNV-1a over the trigram picks a dimension.
            let mut h: u64 = 0xcbf29ce484222325;
            for c in gram {
                h ^= *c as u64;
                h = h.wrapping_mul(0x100000001b3);
            }
            v[(h % self.dims as u64) as usize] += 1.0;
        }
        vector::normalize(&mut v);
        v
    }
}

impl Embedder for FakeEmbedder {
    fn dims(&self) -> usize {
        self.dims
    }

    fn count_tokens(&self, text: &str, _role: Role) -> Result<usize, Error> {
        Ok(text.split_whitespace().count() + 2)
    }

    fn embed(
        &self,
        texts: &[&str],
        _role: Role,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, Error> {
        let out = texts.iter().map(|t| self.vector(t)).collect();
        progress(texts.len());
        Ok(out)
    }
}
