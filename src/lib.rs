//! akapit: offline multilingual semantic search over local articles.
//!
//! Data flows one way: files → passages (`ingest`) → vectors (`embed`, with weights
//! found by `models`) → on-disk index (`store`) → ranked hits (`search`) → printed
//! results (`output`). `cli` and `commands` wire those layers to the command line.

pub mod checksum;
pub mod embed;
pub mod ingest;
pub mod models;
pub mod store;
pub mod ui;
