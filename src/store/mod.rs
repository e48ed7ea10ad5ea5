//! The on-disk index: passage vectors in usearch, passage text and metadata in SQLite, and a
//! versioned manifest naming the generation directory that holds them. A build writes a new
//! generation beside the old one and publishes it by atomically replacing the manifest.

mod error;
mod layout;
mod manifest;

pub use error::Error;
pub use manifest::{DocumentInfo, Manifest, Metric, ModelInfo, Scalar, VectorOptions};

/// Version of the whole on-disk layout (manifest, database schema, vector file options).
/// Bump it on any incompatible change; older indexes then ask to be rebuilt.
pub const FORMAT_VERSION: u32 = 1;
