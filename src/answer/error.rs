//! The answering layer's error: what was asked cannot be answered as given (an empty
//! question, a document or paragraph the index does not hold), or a layer underneath failed.
//! Messages name the parameter as the front end that asked calls it (`Names`).

use crate::{embed, search, store};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How the asking front end names its parameters, so that an error points at the one to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// The command line's flags (`--in`, `--doc`, `DOC`).
    Cli,
    /// The HTTP API's and MCP tools' parameters (`in`, `doc`).
    Api,
}

impl Names {
    pub fn within(self) -> &'static str {
        match self {
            Names::Cli => "--in",
            Names::Api => "in",
        }
    }

    pub fn related_doc(self) -> &'static str {
        match self {
            Names::Cli => "--doc",
            Names::Api => "doc",
        }
    }

    pub fn doc(self) -> &'static str {
        match self {
            Names::Cli => "DOC",
            Names::Api => "doc",
        }
    }

    fn related_help(self) -> &'static str {
        match self {
            Names::Cli => "give --text with some words, or --doc PATH --paragraph N",
            Names::Api => "give text with some words, or doc and paragraph",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Search(#[from] search::Error),
    /// Documents named by the asker that the index does not hold.
    #[error("{param} {source}; `akapit status` lists the indexed documents")]
    Documents {
        param: &'static str,
        source: search::Error,
    },
    #[error("the question is empty")]
    EmptyQuestion,
    #[error("the text is empty; {}", .0.related_help())]
    EmptyText(Names),
    #[error("{doc} has no paragraph {paragraph} (it has paragraphs 1–{count})")]
    NoParagraph {
        doc: String,
        paragraph: u32,
        count: usize,
    },
    #[error("{reason}; this index was built by another akapit version")]
    Analyzer { reason: String },
}

impl From<embed::Error> for Error {
    fn from(error: embed::Error) -> Self {
        Error::Search(search::Error::from(error))
    }
}

impl Error {
    /// A search error, with the parameter that named the documents when it is about them.
    pub fn documents(param: &'static str) -> impl FnOnce(search::Error) -> Error {
        move |source| {
            if source.is_about_documents() {
                Error::Documents { param, source }
            } else {
                Error::Search(source)
            }
        }
    }

    /// Whether the asker named something that is not there (a document or a paragraph),
    /// as opposed to asking badly or the index failing.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Documents { .. } | Error::NoParagraph { .. })
    }

    /// Whether what was asked is at fault (empty), not the index.
    pub fn is_bad_request(&self) -> bool {
        matches!(self, Error::EmptyQuestion | Error::EmptyText(_))
    }

    /// The index's own failure underneath, if that is what this is.
    pub fn store(&self) -> Option<&store::Error> {
        match self {
            Error::Store(e) | Error::Search(search::Error::Store(e)) => Some(e),
            Error::Documents {
                source: search::Error::Store(e),
                ..
            } => Some(e),
            _ => None,
        }
    }

    /// Whether only building the index again helps.
    pub fn needs_rebuild(&self) -> bool {
        matches!(self, Error::Analyzer { .. }) || self.store().is_some_and(|e| e.needs_rebuild())
    }
}
