//! The application's error: one variant per layer (each carrying its own context), plus
//! problems with what the user asked for. Every error exits with code 2.

use std::path::PathBuf;

use crate::{embed, ingest, models, store};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Ingest(#[from] ingest::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Models(#[from] models::Error),
    #[error(transparent)]
    Embed(#[from] embed::Error),
    /// The request cannot be served as given; the message says what to change.
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a successful command found, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Results were printed (exit 0).
    Found,
    /// The command worked but found nothing (exit 1).
    NothingFound,
}

impl Outcome {
    pub fn from_count(n: usize) -> Self {
        if n == 0 {
            Outcome::NothingFound
        } else {
            Outcome::Found
        }
    }

    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Found => 0,
            Outcome::NothingFound => 1,
        }
    }
}

/// Exit code for errors.
pub const ERROR_EXIT: u8 = 2;
