//! Dense retrieval: embed the question (or take a passage's stored vectors) and rank
//! passages by their most similar sentence window in the index.

use std::path::Path;

use super::{ranked, Hit};
use crate::embed::{Embedder, Role};
use crate::error::{Error, Result};
use crate::store::{Index, StoredPassage};

/// Passages at least this similar to the source count as copies of it, not as related.
pub const NEAR_DUPLICATE: f32 = 0.98;

/// The `k` passages closest to `question`.
pub fn ask(index: &Index, embedder: &dyn Embedder, question: &str, k: usize) -> Result<Vec<Hit>> {
    let query = embedder.embed_one(question, Role::Query)?;
    let found = index.search(&query, k, None)?;
    let ids: Vec<u64> = found.iter().map(|m| m.id).collect();
    let passages = index.passages(&ids)?;
    Ok(ranked(found.into_iter().zip(passages).collect()))
}

/// What `related` starts from.
#[derive(Debug, Clone)]
pub enum Source {
    /// An indexed passage: its own document is excluded from the results.
    Passage(StoredPassage),
    /// Free text: if it is (nearly) an indexed passage, that passage's document is excluded.
    Text(String),
}

/// The `k` passages from other documents closest to `source`, copies of it excluded.
pub fn related(
    index: &Index,
    embedder: Option<&dyn Embedder>,
    source: &Source,
    k: usize,
) -> Result<Vec<Hit>> {
    let vector = match source {
        Source::Passage(p) => index.passage_vector(p.id)?,
        Source::Text(text) => {
            let embedder =
                embedder.ok_or_else(|| Error::Usage("related --text needs the model".into()))?;
            embedder.embed_one(text, Role::Passage)?
        }
    };
    let source_text = match source {
        Source::Passage(p) => normalise(&p.text),
        Source::Text(t) => normalise(t),
    };
    // Over-fetch: the source's own document and its copies are filtered out afterwards.
    let wide = (k * 4 + 32).min(index.manifest().passages.max(1));
    let found = index.search(&vector, wide, None)?;
    let ids: Vec<u64> = found.iter().map(|m| m.id).collect();
    let passages = index.passages(&ids)?;

    let mut own_doc = match source {
        Source::Passage(p) => Some(p.doc.clone()),
        Source::Text(_) => None,
    };
    let mut kept = Vec::new();
    for (found, passage) in found.into_iter().zip(passages) {
        // Copies are judged on whole passages, not on their best window.
        let whole = cosine(&vector, &index.passage_vector(passage.id)?);
        if whole >= NEAR_DUPLICATE || normalise(&passage.text) == source_text {
            own_doc.get_or_insert_with(|| passage.doc.clone());
            continue;
        }
        kept.push((found, passage));
    }
    kept.retain(|(_, p)| Some(&p.doc) != own_doc.as_ref());
    kept.truncate(k);
    Ok(ranked(kept))
}

/// Cosine similarity of two unit vectors.
fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Text compared for exact copies: case and whitespace ignored.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The indexed document a user's path refers to: the same file, or a unique path suffix.
pub fn find_document(index: &Index, given: &Path) -> Result<String> {
    let docs: Vec<&str> = index
        .manifest()
        .documents
        .iter()
        .map(|d| d.path.as_str())
        .collect();
    if let Ok(canonical) = given.canonicalize() {
        if let Some(doc) = docs.iter().find(|d| Path::new(d) == canonical) {
            return Ok(doc.to_string());
        }
    }
    let matches: Vec<&str> = docs
        .iter()
        .copied()
        .filter(|d| Path::new(d).ends_with(given))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(Error::Usage(format!(
            "{} is not in the index ({} documents; `akapit status` lists them)",
            given.display(),
            docs.len()
        ))),
        many => Err(Error::Usage(format!(
            "{} matches {} indexed documents: {}; give more of the path",
            given.display(),
            many.len(),
            many.join(", ")
        ))),
    }
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
