//! Search: from a question or a source passage to ranked hits. `dense` ranks by the
//! cosine similarity of embeddings. Hits carry the stored passage; printing is
//! `output`'s business.

pub mod dense;

use crate::store::StoredPassage;

/// One ranked result.
#[derive(Debug, Clone)]
pub struct Hit {
    /// 1-based.
    pub rank: usize,
    /// Cosine similarity, higher is closer.
    pub score: f32,
    pub passage: StoredPassage,
}

/// Numbers hits 1.. in the order given.
pub(crate) fn ranked(scored: Vec<(f32, StoredPassage)>) -> Vec<Hit> {
    scored
        .into_iter()
        .enumerate()
        .map(|(i, (score, passage))| Hit {
            rank: i + 1,
            score,
            passage,
        })
        .collect()
}
