//! Which indexed documents a user means: a path to an indexed file (or a unique end of
//! its path) for `related --doc`, and paths, folders or globs for `ask --in`.

use std::path::Path;

use super::{Error, Result};
use crate::ingest::{self, display_path};
use crate::store::Index;

/// The stored path of every indexed document.
fn indexed_paths(index: &Index) -> Vec<&str> {
    index
        .manifest()
        .documents
        .iter()
        .map(|d| d.path.as_str())
        .collect()
}

/// The indexed document a user's path refers to: the same file, or a unique path suffix.
pub fn find_document(index: &Index, given: &Path) -> Result<String> {
    let docs = indexed_paths(index);
    if given.exists() {
        let key = ingest::key(given);
        if let Some(doc) = docs.iter().find(|d| **d == key) {
            return Ok(doc.to_string());
        }
    }
    let matches: Vec<&str> = docs
        .iter()
        .copied()
        .filter(|d| ingest::path_of(d).ends_with(given))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(Error::NotIndexed {
            given: ingest::display(given),
            count: docs.len(),
        }),
        many => Err(Error::Ambiguous {
            given: ingest::display(given),
            matches: many.iter().map(|d| display_path(d)).collect(),
        }),
    }
}

/// The indexed documents matched by any of `patterns`: a file, a folder (everything under
/// it), or a glob matched against the path as shown and as stored. Each pattern must match
/// something, so a typo is an error rather than an empty result.
pub fn documents_within(index: &Index, patterns: &[String]) -> Result<Vec<String>> {
    let docs = indexed_paths(index);
    let mut chosen: Vec<String> = Vec::new();
    for pattern in patterns {
        let matched: Vec<&str> = if pattern.contains(['*', '?', '[']) {
            let glob = glob::Pattern::new(pattern).map_err(|e| Error::BadPattern {
                pattern: pattern.clone(),
                reason: e.to_string(),
            })?;
            let options = glob::MatchOptions {
                require_literal_separator: false,
                ..Default::default()
            };
            docs.iter()
                .copied()
                .filter(|d| {
                    glob.matches_with(d, options)
                        || glob.matches_with(&ingest::relative(d), options)
                })
                .collect()
        } else {
            let given = Path::new(pattern);
            let canonical = given.canonicalize().ok();
            docs.iter()
                .copied()
                .filter(|d| {
                    let d = ingest::path_of(d);
                    canonical.as_ref().is_some_and(|c| d.starts_with(c)) || d.ends_with(given)
                })
                .collect()
        };
        if matched.is_empty() {
            return Err(Error::NoMatch {
                pattern: crate::text::sanitize::escape(pattern),
                count: docs.len(),
            });
        }
        chosen.extend(matched.into_iter().map(String::from));
    }
    chosen.sort();
    chosen.dedup();
    Ok(chosen)
}
