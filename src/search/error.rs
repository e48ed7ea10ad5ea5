//! The search layer's error: a failure of the index or the model underneath, or a request
//! that names documents the index does not hold. Messages name what was asked for, not how
//! it was asked (the command line adds its flags).

/// Errors from ranking, scoping and reading hits.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error(transparent)]
    Embed(#[from] crate::embed::Error),
    /// A caller asked for a ranking that needs the question's vector without giving one.
    #[error("{mode} ranking needs the question's embedding")]
    MissingVector { mode: &'static str },
    #[error("{given} is not in the index ({count} documents)")]
    NotIndexed { given: String, count: usize },
    #[error("{given} matches {} indexed documents: {}; give more of the path", matches.len(), matches.join(", "))]
    Ambiguous { given: String, matches: Vec<String> },
    #[error("{pattern} is not a valid glob: {reason}")]
    BadPattern { pattern: String, reason: String },
    #[error("{pattern} matches none of the {count} indexed documents")]
    NoMatch { pattern: String, count: usize },
}

impl Error {
    /// Whether the error is about which documents were named (rather than a failure of
    /// the index or the model).
    pub fn is_about_documents(&self) -> bool {
        matches!(
            self,
            Error::NotIndexed { .. }
                | Error::Ambiguous { .. }
                | Error::BadPattern { .. }
                | Error::NoMatch { .. }
        )
    }
}
