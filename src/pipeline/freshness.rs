//! Which indexed documents changed or disappeared since they were indexed, and which files
//! under the indexed folders are new. Size and modification time are checked first; the
//! content hash decides only when those differ. A file that was skipped when the index was
//! built (binary, unreadable) is not new unless it changed since.

use std::collections::HashMap;

use crate::checksum::sha256_file;
use crate::ingest;
use crate::store::{DocumentInfo, Manifest};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Changed,
    Missing,
    New,
}

impl Change {
    pub fn as_str(&self) -> &'static str {
        match self {
            Change::Changed => "changed",
            Change::Missing => "missing",
            Change::New => "new",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Stale {
    /// The document's key (as `DocumentInfo::path`).
    pub path: String,
    pub change: Change,
}

/// Indexed documents that changed or are gone.
pub fn stale_documents(manifest: &Manifest) -> Vec<Stale> {
    manifest
        .documents
        .iter()
        .filter_map(|doc| {
            document_change(doc).map(|change| Stale {
                path: doc.path.clone(),
                change,
            })
        })
        .collect()
}

/// Stale documents plus files under the indexed roots that are not indexed yet.
pub fn stale_and_new(manifest: &Manifest) -> Vec<Stale> {
    let mut out = stale_documents(manifest);
    let roots: Vec<std::path::PathBuf> = manifest
        .roots
        .iter()
        .map(|r| ingest::path_of(r))
        .filter(|r| r.exists())
        .collect();
    let indexed: HashMap<&str, ()> = manifest
        .documents
        .iter()
        .map(|d| (d.path.as_str(), ()))
        .collect();
    let skipped: HashMap<&str, (u64, Option<&str>)> = manifest
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), (s.bytes, s.modified.as_deref())))
        .collect();
    if let Ok(walked) = ingest::walk(&roots) {
        for file in walked.files {
            let key = ingest::key(&file);
            if indexed.contains_key(key.as_str()) {
                continue;
            }
            let unchanged_skip = skipped.get(key.as_str()).is_some_and(|(bytes, modified)| {
                let (now, now_modified) = ingest::file_stat(&file).unwrap_or((0, None));
                now == *bytes && now_modified.as_deref() == *modified
            });
            if !unchanged_skip {
                out.push(Stale {
                    path: key,
                    change: Change::New,
                });
            }
        }
    }
    out
}

fn document_change(doc: &DocumentInfo) -> Option<Change> {
    let path = ingest::path_of(&doc.path);
    let Some((bytes, modified)) = ingest::file_stat(&path) else {
        return Some(Change::Missing);
    };
    if bytes == doc.bytes && modified.is_some() && modified == doc.modified {
        return None;
    }
    match sha256_file(&path) {
        Ok(sha) if sha == doc.sha256 => None,
        Ok(_) => Some(Change::Changed),
        Err(_) => Some(Change::Missing),
    }
}
