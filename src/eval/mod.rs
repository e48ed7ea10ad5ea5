//! Retrieval evaluation: reading a BEIR-style set (`dataset`), scoring rankings against
//! its judgements (`metrics`), and writing rankings in the run format that trec_eval-style
//! scorers read (`run_file`). `akapit eval` drives these around the pipeline and search.

mod dataset;
mod metrics;
mod run_file;

use std::path::PathBuf;

pub use dataset::{Dataset, EvalQuery, Qrels, Record};
pub use metrics::{score, Metrics};
pub use run_file::write_run;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors from reading a set or writing a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}:{line}: {reason}", path.display())]
    Format {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
