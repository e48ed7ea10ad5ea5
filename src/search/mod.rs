//! Search: from a question or a source passage to ranked hits. Dense ranking scores
//! passages by their best sentence window's cosine similarity, lexical by BM25 over
//! analysed terms (`text::analyze`), `hybrid` fuses the two; `related` starts from a
//! passage, `scope` maps user paths to indexed documents, `highlight` finds the answering
//! sentences. Hits carry the stored passage; printing is `output`'s business.

mod error;
pub mod highlight;
pub mod hybrid;
pub mod related;
pub mod scope;

use std::ops::Range;

use serde::Serialize;

use crate::embed::{Embedder, Role};
use crate::store::{Index, StoredPassage};
use crate::text::Analyzer;
pub use error::Error;
use hybrid::Fusion;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which ranking answers a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Embeddings: meaning across languages and paraphrase.
    Dense,
    /// Keywords (BM25 over folded, stemmed words): names, numbers, rare terms.
    Lexical,
    /// Both, fused.
    Hybrid,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Dense, Mode::Lexical, Mode::Hybrid];
    /// The mode `ask` and `related` use unless told otherwise: hybrid, because on every
    /// visible eval set it is at least as good as dense (README).
    pub const DEFAULT: Mode = Mode::Hybrid;

    pub fn needs_model(self) -> bool {
        self != Mode::Lexical
    }

    /// The name `--mode` takes and JSON shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dense => "dense",
            Mode::Lexical => "lexical",
            Mode::Hybrid => "hybrid",
        }
    }
}

/// A question prepared once: its embedding (unless keyword-only) and its terms.
pub struct Query {
    pub text: String,
    pub vector: Option<Vec<f32>>,
    pub terms: Vec<String>,
}

impl Query {
    pub fn new(text: &str, embedder: Option<&dyn Embedder>, analyzer: Analyzer) -> Result<Query> {
        let vector = match embedder {
            Some(e) => Some(e.embed_one(text, Role::Query)?),
            None => None,
        };
        Ok(Query {
            text: text.to_string(),
            vector,
            terms: analyzer.terms(text),
        })
    }
}

/// A score as it is printed (and compared with `--min-score`): four decimals.
pub fn round4(x: f32) -> f32 {
    (x * 10_000.0).round() / 10_000.0
}

/// A passage's place in a ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub id: u64,
    /// The ranking's score: cosine (dense), BM25 (lexical) or fused (hybrid).
    pub score: f32,
    /// Cosine similarity of the best window, when the dense ranking saw the passage.
    pub dense: Option<f32>,
    /// The best window's byte span, when the dense ranking saw the passage.
    pub window: Option<Range<usize>>,
}

/// One ranked result with its passage.
#[derive(Debug, Clone)]
pub struct Hit {
    /// 1-based.
    pub rank: usize,
    pub score: f32,
    pub dense: Option<f32>,
    /// Byte span of the best-matching window in the passage text (the whole text when only
    /// keywords found it).
    pub window: Range<usize>,
    pub passage: StoredPassage,
}

/// How deep each ranking is read before fusing: enough for fusion to matter, cheap to get.
fn fusion_depth(k: usize) -> usize {
    (2 * k).max(50)
}

/// The `k` best passages for `query` in `mode`, optionally only from `only_docs`. Every
/// score is a finite number: one that is not means the index is damaged, and is an error.
pub fn rank(
    index: &Index,
    query: &Query,
    mode: Mode,
    fusion: Fusion,
    k: usize,
    only_docs: Option<&[String]>,
) -> Result<Vec<Ranked>> {
    let ranked = rank_unchecked(index, query, mode, fusion, k, only_docs)?;
    match ranked.iter().find(|r| !r.score.is_finite()) {
        Some(bad) => Err(Error::Store(crate::store::Error::Corrupt {
            path: index.dir().to_path_buf(),
            reason: format!(
                "{} search gave passage {} a score that is not a number",
                mode.as_str(),
                bad.id
            ),
        })),
        None => Ok(ranked),
    }
}

fn rank_unchecked(
    index: &Index,
    query: &Query,
    mode: Mode,
    fusion: Fusion,
    k: usize,
    only_docs: Option<&[String]>,
) -> Result<Vec<Ranked>> {
    let dense = |depth: usize| -> Result<Vec<Ranked>> {
        let vector = query.vector.as_deref().ok_or(Error::MissingVector {
            mode: mode.as_str(),
        })?;
        Ok(index
            .search(vector, depth, only_docs)?
            .into_iter()
            .map(|m| Ranked {
                id: m.id,
                score: m.score,
                dense: Some(m.score),
                window: Some(m.window),
            })
            .collect())
    };
    let lexical = |depth: usize| -> Result<Vec<(u64, f32)>> {
        Ok(index.lexical_search(&query.terms, depth, only_docs)?)
    };
    match mode {
        Mode::Dense => dense(k),
        Mode::Lexical => Ok(lexical(k)?
            .into_iter()
            .map(|(id, score)| Ranked {
                id,
                score,
                dense: None,
                window: None,
            })
            .collect()),
        Mode::Hybrid => {
            let depth = fusion_depth(k);
            let dense = dense(depth)?;
            let pairs: Vec<(u64, f32)> = dense.iter().map(|r| (r.id, r.score)).collect();
            let coverage = hybrid::coverage(index, &query.terms)?;
            let fused = hybrid::fuse(&pairs, &lexical(depth)?, fusion, coverage);
            Ok(fused
                .into_iter()
                .take(k)
                .map(|(id, score)| {
                    let seen = dense.iter().find(|r| r.id == id);
                    Ranked {
                        id,
                        score,
                        dense: seen.and_then(|r| r.dense),
                        window: seen.and_then(|r| r.window.clone()),
                    }
                })
                .collect())
        }
    }
}

/// The passages of a ranking, numbered 1.. in its order.
pub fn hits(index: &Index, ranked: Vec<Ranked>) -> Result<Vec<Hit>> {
    let ids: Vec<u64> = ranked.iter().map(|r| r.id).collect();
    let passages = index.passages(&ids)?;
    Ok(ranked
        .into_iter()
        .zip(passages)
        .enumerate()
        .map(|(i, (r, passage))| Hit {
            rank: i + 1,
            score: r.score,
            dense: r.dense,
            window: r.window.unwrap_or(0..passage.text.len()),
            passage,
        })
        .collect())
}
