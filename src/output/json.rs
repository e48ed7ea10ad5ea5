//! The `--json` shapes. Serialize-only; field names are the public contract documented
//! in the README.

use serde::Serialize;

use std::ops::Range;

use crate::ingest;
use crate::search::{Hit, Mode};
use crate::store::StoredPassage;
use crate::text::{char_offsets, sanitize};

#[derive(Debug, Serialize)]
pub struct PassageJson {
    pub doc: String,
    pub paragraph: u32,
    /// Lines of the file; null where lines mean nothing (PDF, HTML, office documents).
    pub start_line: Option<u32>,
    pub end_line: Option<u32>,
    /// Page of a PDF; null for formats without pages.
    pub page: Option<u32>,
    /// Heading path, `Title › Section › Subsection`; null where the document has none.
    pub section: Option<String>,
    pub text: String,
}

impl From<&StoredPassage> for PassageJson {
    fn from(p: &StoredPassage) -> Self {
        PassageJson {
            doc: ingest::relative(&p.doc),
            paragraph: p.paragraph,
            start_line: p.start_line,
            end_line: p.end_line,
            page: p.page,
            section: p.section.as_deref().map(sanitize::clean),
            text: sanitize::clean(&p.text),
        }
    }
}

/// A highlighted span: character offsets into the result's `text`, end exclusive.
#[derive(Debug, Serialize)]
pub struct SpanJson {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Serialize)]
pub struct HitJson {
    pub rank: usize,
    pub score: f32,
    #[serde(flatten)]
    pub passage: PassageJson,
    pub highlights: Vec<SpanJson>,
}

impl HitJson {
    fn new(hit: &Hit, highlight: Option<&Range<usize>>) -> Self {
        // Offsets are into the text as printed; sanitising never changes cleaned passage text,
        // whose whitespace is already single spaces and which holds no control characters.
        let text = &hit.passage.text;
        HitJson {
            rank: hit.rank,
            score: round4(hit.score),
            passage: PassageJson::from(&hit.passage),
            highlights: highlight
                .map(|span| char_offsets(text, span))
                .map(|r| SpanJson {
                    start: r.start,
                    end: r.end,
                })
                .into_iter()
                .collect(),
        }
    }
}

/// `ask --json`.
#[derive(Debug, Serialize)]
pub struct AskJson {
    pub query: String,
    pub model: String,
    pub mode: Mode,
    pub results: Vec<HitJson>,
}

/// `related --json`: `source` is the passage (or text) the results relate to.
#[derive(Debug, Serialize)]
pub struct RelatedJson {
    pub query: String,
    pub source: Option<PassageJson>,
    pub model: String,
    pub mode: Mode,
    pub results: Vec<HitJson>,
}

/// One passage of `show --json`; `target` marks the passage (or page) asked for.
#[derive(Debug, Serialize)]
pub struct ShownJson {
    #[serde(flatten)]
    pub passage: PassageJson,
    pub target: bool,
}

/// `show --json`.
#[derive(Debug, Serialize)]
pub struct ShowJson {
    pub doc: String,
    pub title: Option<String>,
    pub format: Option<String>,
    /// Passages in the document in all.
    pub count: usize,
    pub passages: Vec<ShownJson>,
}

/// Each hit with its highlight, if any (`highlights[i]` belongs to `hits[i]`).
pub fn hits(hits: &[Hit], highlights: &[Option<Range<usize>>]) -> Vec<HitJson> {
    hits.iter()
        .zip(highlights)
        .map(|(hit, span)| HitJson::new(hit, span.as_ref()))
        .collect()
}

/// A score as `--json` prints it: four decimals.
pub fn round4(x: f32) -> f32 {
    (x * 10_000.0).round() / 10_000.0
}
