//! akapit: offline multilingual semantic search over local articles.
//!
//! Data flows one way: files → passages (`ingest`) → vectors (`embed`, with weights
//! found by `models`) → on-disk index (`store`, built by `build`) → ranked hits
//! (`search`) → printed results (`output`). `cli` and `commands` wire those layers to
//! the command line.

pub mod bench;
pub mod build;
pub mod checksum;
pub mod cli;
pub mod commands;
pub mod embed;
pub mod error;
pub mod eval;
pub mod freshness;
pub mod ingest;
pub mod models;
pub mod output;
pub mod search;
pub mod store;
pub mod ui;
