//! Printing results: `human` for people (wrapped, sanitised text on stdout), `json` for
//! scripts (one object per command). Printers get finished hits and never know how they
//! were found. A closed pipe (e.g. `| head`) ends output quietly.

pub mod human;
pub mod json;
pub mod sanitize;

use std::io::{self, Write};
use std::path::Path;

/// How a document path is shown: relative to the working directory when under it.
pub fn display_path(path: &str) -> String {
    let p = Path::new(path);
    std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(&cwd).ok().map(|r| r.display().to_string()))
        .unwrap_or_else(|| path.to_string())
}

/// Writes `text` to stdout; a reader that went away is not an error.
pub fn emit(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
