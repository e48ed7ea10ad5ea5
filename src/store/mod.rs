//! The on-disk index: a list of immutable segments (window vectors in usearch; passage
//! text, windows and keyword postings in SQLite) and the documents deleted from them, named
//! by a versioned manifest. A passage is embedded as one or more windows (byte ranges of its
//! text); search ranks passages by their best window. A build writes one new segment for
//! new and changed documents and publishes it, with the deletions, by atomically replacing
//! the manifest; merges combine small segments the same way.

mod builder;
mod error;
mod index;
mod layout;
mod manifest;
mod merge;
mod passages;
mod postings;
mod segment;
#[cfg(test)]
pub(crate) mod testutil;
mod vectors;
mod writer;

use std::ops::Range;

use serde::Serialize;

pub use builder::{Builder, CheckedPart};
pub use error::Error;
pub use index::Index;
pub use layout::MANIFEST as MANIFEST_FILE;
pub use manifest::{
    DocumentInfo, FileCheck, Hints, Manifest, Metric, ModelInfo, Scalar, SegmentInfo, SkippedFile,
    VectorOptions,
};
pub use merge::{plan as merge_plan, MergePolicy};
pub use writer::{Progress, Quiet};

/// Version of the whole on-disk layout (manifest, database schema, vector file options).
/// Bump it on any incompatible change; older indexes then ask to be rebuilt.
pub const FORMAT_VERSION: u32 = 4;

/// One embedded window of a passage: a byte range of the passage text and its unit vector.
#[derive(Debug, Clone, PartialEq)]
pub struct NewWindow {
    pub start: u32,
    pub end: u32,
    pub vector: Vec<f32>,
}

impl NewWindow {
    /// One window per span, taking the next vector from `vectors` for each (the vectors
    /// of many passages' windows, embedded in one go, in span order).
    pub fn zip(
        spans: &[std::ops::Range<usize>],
        vectors: &mut impl Iterator<Item = Vec<f32>>,
    ) -> Vec<NewWindow> {
        spans
            .iter()
            .zip(vectors)
            .map(|(span, vector)| NewWindow {
                start: span.start as u32,
                end: span.end as u32,
                vector,
            })
            .collect()
    }
}

/// A passage handed to a build, with its embedded windows.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPassage {
    /// Position of the passage in its document; unique within the document.
    pub paragraph: u32,
    /// Lines of the file (1-based, inclusive), for formats whose lines can be cited.
    pub start_line: Option<u32>,
    pub end_line: Option<u32>,
    /// 1-based page, for formats with pages.
    pub page: Option<u32>,
    /// Heading path (`Title › Section`).
    pub section: Option<String>,
    pub text: String,
    /// The passage's keyword-search terms, space-separated, as the caller's analyzer made
    /// them (the manifest records which analyzer); the store keeps postings of them.
    pub terms: String,
    /// At least one; each range must lie within `text` on UTF-8 character boundaries.
    pub windows: Vec<NewWindow>,
}

/// A passage read back from an index.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredPassage {
    /// Assigned by the build that stored it: the segment's number in the high 32 bits and
    /// 1, 2, … in insertion order in the low 32; ids of the same passage differ between
    /// builds.
    pub id: u64,
    /// The document's path as given when it was indexed.
    pub doc: String,
    pub paragraph: u32,
    pub start_line: Option<u32>,
    pub end_line: Option<u32>,
    pub page: Option<u32>,
    pub section: Option<String>,
    pub text: String,
}

/// A window read back from an index: its byte span in the passage text and its vector.
pub type StoredWindow = (Range<usize>, Vec<f32>);

/// A passage found by search: its id, its best window's similarity, and that window's byte
/// span in the passage text.
#[derive(Debug, Clone, PartialEq)]
pub struct PassageMatch {
    pub id: u64,
    /// Cosine similarity of the query and the best window.
    pub score: f32,
    pub window: Range<usize>,
}
