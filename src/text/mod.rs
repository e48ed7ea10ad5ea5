//! Text: the rules both indexing and searching apply to cleaned text, so that a passage
//! and a question are treated alike. `sentences` finds words and sentences, `windows`
//! groups sentences into the spans passages are searched through, `analyze` turns text
//! into keyword terms, `offsets` converts byte spans for output, and `sanitize` makes
//! untrusted text safe to show. Pure functions; nothing here reads files or knows models.

pub mod analyze;
pub mod offsets;
pub mod sanitize;
pub mod sentences;
pub mod windows;

pub use analyze::Analyzer;
pub use offsets::char_offsets;
pub use sentences::sentence_spans;
pub use windows::{windows, WindowPolicy};
