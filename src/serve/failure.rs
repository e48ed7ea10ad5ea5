//! The serving layer's error: what went wrong with one request, as a kind (which decides the
//! HTTP status, or an MCP error) and the message the command line would print for it.

use crate::{answer, embed, search, store};

/// What kind of failure, for the HTTP status and the MCP error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request is malformed or asks for something out of bounds (400).
    BadRequest,
    /// It names a document or paragraph the index does not hold, or a path that is not served (404).
    NotFound,
    /// The body is larger than the server accepts (413).
    TooLarge,
    /// The token is missing or wrong (401).
    Unauthorized,
    /// The `Host` or `Origin` header is not this server's (403).
    Forbidden,
    /// There is no index yet, or the model's queue is full (503).
    Unavailable,
    /// The request took longer than the server allows (504).
    Timeout,
    /// The index or the model failed (500).
    Internal,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
}

pub type Result<T, E = Failure> = std::result::Result<T, E>;

impl Failure {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Failure::new(Kind::BadRequest, message)
    }

    /// The HTTP status code for this failure.
    pub fn status(&self) -> u16 {
        match self.kind {
            Kind::BadRequest => 400,
            Kind::Unauthorized => 401,
            Kind::Forbidden => 403,
            Kind::NotFound => 404,
            Kind::TooLarge => 413,
            Kind::Internal => 500,
            Kind::Unavailable => 503,
            Kind::Timeout => 504,
        }
    }
}

impl From<answer::Error> for Failure {
    fn from(error: answer::Error) -> Self {
        let kind = match &error {
            answer::Error::Documents { source, .. } => match source {
                search::Error::NotIndexed { .. } | search::Error::NoMatch { .. } => Kind::NotFound,
                _ => Kind::BadRequest,
            },
            answer::Error::NoParagraph { .. } => Kind::NotFound,
            e if e.is_bad_request() => Kind::BadRequest,
            answer::Error::Search(search::Error::Embed(e)) => return Failure::from_embed(e),
            _ => Kind::Internal,
        };
        let message = match error.needs_rebuild() {
            true => format!("{error}; rebuild the index with `akapit index --rebuild`"),
            false => error.to_string(),
        };
        Failure::new(kind, message)
    }
}

impl From<store::Error> for Failure {
    fn from(error: store::Error) -> Self {
        answer::Error::from(error).into()
    }
}

impl Failure {
    fn from_embed(error: &embed::Error) -> Self {
        match error {
            embed::Error::Busy(_) => Failure::new(Kind::Unavailable, error.to_string()),
            _ => Failure::new(Kind::Internal, error.to_string()),
        }
    }
}
