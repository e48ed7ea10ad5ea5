//! akapit: offline multilingual semantic search over local articles.
//!
//! Data flows one way: files → passages (`ingest`) → windows (`text`) → vectors
//! (`embed`, with weights found by `models`) → on-disk index (`store`), all driven by
//! `pipeline`; then questions → ranked hits (`search`) → printed results (`output`).
//! `cli` and `commands` wire those layers to the command line; `eval` and `measure` serve
//! the quality and speed measurements. ARCHITECTURE.md draws the layers, and
//! `tests/layers.rs` keeps every import pointing down.

#![deny(unsafe_code)]

pub mod answer;
pub mod checksum;
pub mod cli;
pub mod commands;
pub mod embed;
pub mod eval;
pub mod export;
pub mod ingest;
pub mod measure;
pub mod models;
pub mod output;
pub mod pipeline;
pub mod search;
pub mod serve;
pub mod store;
pub mod text;
pub mod ui;
pub mod vector;
