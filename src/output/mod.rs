//! Printing results: `human` for people (wrapped, sanitised text on stdout), `json` for
//! scripts (one object per command). Printers get finished hits and never know how they
//! were found. A closed pipe (e.g. `| head`) ends output quietly.

pub mod human;
pub mod json;

use std::io::{self, Write};

/// Writes `text` to stdout; a reader that went away is not an error.
pub fn emit(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
