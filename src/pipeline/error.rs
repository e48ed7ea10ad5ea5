//! The pipeline's error: a failure of one of the layers it drives, or a broken promise
//! between them.

/// Errors from building an index.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Ingest(#[from] crate::ingest::Error),
    #[error(transparent)]
    Embed(#[from] crate::embed::Error),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("the model returned {got} vectors for {expected} windows")]
    VectorCount { expected: usize, got: usize },
    #[error(
        "{document} is not under any of the folders given as the index's roots ({roots}); \
         a later `akapit index` would remove it, so give every folder the documents come from"
    )]
    OutsideRoots { document: String, roots: String },
}
