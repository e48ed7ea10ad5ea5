//! The on-disk index: passage vectors in usearch, passage text and metadata in SQLite, and a
//! versioned manifest naming the generation directory that holds them. A build writes a new
//! generation beside the old one and publishes it by atomically replacing the manifest.

mod builder;
mod error;
mod index;
mod layout;
mod manifest;
mod passages;
#[cfg(test)]
mod testutil;
mod vectors;

use serde::Serialize;

pub use builder::Builder;
pub use error::Error;
pub use index::Index;
pub use manifest::{DocumentInfo, Manifest, Metric, ModelInfo, Scalar, VectorOptions};

/// Version of the whole on-disk layout (manifest, database schema, vector file options).
/// Bump it on any incompatible change; older indexes then ask to be rebuilt.
pub const FORMAT_VERSION: u32 = 1;

/// A passage handed to a build, with its embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPassage {
    /// Position of the passage in its document; unique within the document.
    pub paragraph: u32,
    pub start_line: u32,
    pub end_line: u32,
    pub text: String,
    pub vector: Vec<f32>,
}

/// A passage read back from an index.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredPassage {
    /// Assigned by the build that stored it (1, 2, … in insertion order); ids of the same
    /// passage differ between builds.
    pub id: u64,
    /// The document's path as given when it was indexed.
    pub doc: String,
    pub paragraph: u32,
    pub start_line: u32,
    pub end_line: u32,
    pub text: String,
}
