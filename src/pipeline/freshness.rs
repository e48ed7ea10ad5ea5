//! Which indexed documents changed or disappeared since they were indexed, and which
//! files under the indexed folders are new. Size and modification time are checked
//! first; the content hash decides only when those differ.

use std::path::Path;

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
        .map(std::path::PathBuf::from)
        .filter(|r| r.exists())
        .collect();
    if let Ok(walked) = ingest::walk(&roots) {
        for file in walked.files {
            let path = ingest::absolute(&file).display().to_string();
            if !manifest.documents.iter().any(|d| d.path == path) {
                out.push(Stale {
                    path,
                    change: Change::New,
                });
            }
        }
    }
    out
}

fn document_change(doc: &DocumentInfo) -> Option<Change> {
    let path = Path::new(&doc.path);
    let Ok(meta) = std::fs::metadata(path) else {
        return Some(Change::Missing);
    };
    let modified = ingest::modified_time(path);
    if meta.len() == doc.bytes && modified.is_some() && modified == doc.modified {
        return None;
    }
    match sha256_file(path) {
        Ok(sha) if sha == doc.sha256 => None,
        Ok(_) => Some(Change::Changed),
        Err(_) => Some(Change::Missing),
    }
}
