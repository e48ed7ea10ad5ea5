//! Search: from a question or a source passage to ranked hits. `dense` ranks by the
//! cosine similarity of embeddings. Hits carry the stored passage; printing is
//! `output`'s business.

pub mod dense;

use std::ops::Range;

use crate::store::{PassageMatch, StoredPassage};

/// One ranked result.
#[derive(Debug, Clone)]
pub struct Hit {
    /// 1-based.
    pub rank: usize,
    /// Cosine similarity of the passage's best window, higher is closer.
    pub score: f32,
    /// Byte span of that window in the passage text: the part that matched best.
    pub window: Range<usize>,
    pub passage: StoredPassage,
}

/// Numbers hits 1.. in the order given.
pub(crate) fn ranked(scored: Vec<(PassageMatch, StoredPassage)>) -> Vec<Hit> {
    scored
        .into_iter()
        .enumerate()
        .map(|(i, (found, passage))| Hit {
            rank: i + 1,
            score: found.score,
            window: found.window,
            passage,
        })
        .collect()
}
