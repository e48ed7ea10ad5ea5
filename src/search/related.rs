//! Related passages: the passages of other documents closest to a given passage (its
//! mean window vector and its terms) or to a text, ranked in any `Mode`, with copies of
//! the source and the source's own document left out.

use super::hybrid::Fusion;
use super::{hits, rank, Error, Hit, Mode, Query, Result};
use crate::embed::{Embedder, Role};
use crate::store::{Index, StoredPassage};
use crate::text::Analyzer;
use crate::vector;

/// Passages at least this similar to the source count as copies of it, not as related.
pub const NEAR_DUPLICATE: f32 = 0.98;

/// What `related` starts from.
#[derive(Debug, Clone)]
pub enum Source {
    /// An indexed passage: its own document is excluded from the results.
    Passage(StoredPassage),
    /// Free text: if it is (nearly) an indexed passage, that passage's document is excluded.
    Text(String),
}

/// The `k` passages from other documents closest to `source` in `mode`, copies excluded.
pub fn related(
    index: &Index,
    embedder: Option<&dyn Embedder>,
    analyzer: Analyzer,
    mode: Mode,
    source: &Source,
    k: usize,
) -> Result<Vec<Hit>> {
    let text = match source {
        Source::Passage(p) => p.text.as_str(),
        Source::Text(t) => t.as_str(),
    };
    let vector = match source {
        Source::Passage(p) => index.passage_vector(p.id)?,
        Source::Text(text) => embedder
            .ok_or(Error::MissingVector {
                mode: mode.as_str(),
            })?
            .embed_one(text, Role::Passage)?,
    };
    let query = Query {
        text: text.to_string(),
        vector: Some(vector),
        terms: analyzer.terms(text),
    };
    // Over-fetch: the source's own document and its copies are filtered out afterwards.
    let wide = (k * 4 + 32).min(index.manifest().passages.max(1));
    let found = rank(index, &query, mode, Fusion::DEFAULT, wide, None)?;
    let vector = query.vector.as_deref().unwrap_or_default();
    let source_text = normalise(text);
    let mut own_doc = match source {
        Source::Passage(p) => Some(p.doc.clone()),
        Source::Text(_) => None,
    };
    let candidates = index.passages(&found.iter().map(|r| r.id).collect::<Vec<_>>())?;
    let mut kept = Vec::new();
    for (ranked, passage) in found.into_iter().zip(candidates) {
        // Copies are judged on whole passages, not on their best window.
        let whole = vector::cosine(vector, &index.passage_vector(passage.id)?);
        if whole >= NEAR_DUPLICATE || normalise(&passage.text) == source_text {
            own_doc.get_or_insert_with(|| passage.doc.clone());
            continue;
        }
        kept.push((ranked, passage.doc));
    }
    kept.retain(|(_, doc)| Some(doc) != own_doc.as_ref());
    kept.truncate(k);
    hits(index, kept.into_iter().map(|(r, _)| r).collect())
}

/// Text compared for exact copies: case and whitespace ignored.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_ignores_case_and_spacing() {
        assert_eq!(
            normalise("  Rosja  i\nBiałoruś "),
            normalise("rosja i białoruś")
        );
    }
}
