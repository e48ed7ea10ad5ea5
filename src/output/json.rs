//! The `--json` shapes. Serialize-only; field names are the public contract documented
//! in the README.

use serde::Serialize;

use std::ops::Range;

use crate::answer::{self, Answer, Shown, Status};
use crate::ingest;
use crate::search::related::Source;
use crate::search::{round4, Hit, Mode};
use crate::store::{Manifest, ModelInfo, StoredPassage};
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

impl AskJson {
    pub fn new(ask: &answer::Ask, manifest: &Manifest, answer: &Answer) -> Self {
        AskJson {
            query: ask.question.trim().to_string(),
            model: manifest.model.name.clone(),
            mode: ask.mode,
            results: hits(&answer.hits, &answer.highlights),
        }
    }
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

impl RelatedJson {
    pub fn new(source: &Source, manifest: &Manifest, mode: Mode, found: &[Hit]) -> Self {
        let (query, source) = match source {
            Source::Passage(p) => (p.text.clone(), Some(PassageJson::from(p))),
            Source::Text(t) => (t.clone(), None),
        };
        RelatedJson {
            query,
            source,
            model: manifest.model.name.clone(),
            mode,
            results: hits(found, &vec![None; found.len()]),
        }
    }
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

impl ShowJson {
    pub fn new(shown: &Shown) -> Self {
        ShowJson {
            doc: ingest::relative(&shown.doc),
            title: shown.title.clone(),
            format: shown.format.clone(),
            count: shown.passages.len(),
            passages: shown
                .shown
                .iter()
                .map(|&(i, target)| ShownJson {
                    passage: PassageJson::from(&shown.passages[i]),
                    target,
                })
                .collect(),
        }
    }
}

/// `status --json`.
#[derive(Debug, Serialize)]
pub struct StatusJson {
    pub index: String,
    pub format_version: u32,
    pub built_at: String,
    pub model: ModelInfo,
    pub chunker_version: u32,
    pub roots: Vec<String>,
    pub documents: Vec<DocumentJson>,
    pub passages: usize,
    /// How the vectors are stored: `f32`, `f16` or `i8`.
    pub vectors: &'static str,
    pub segments: Vec<SegmentJson>,
    pub size_bytes: u64,
    pub stale: Vec<StaleJson>,
    pub skipped: Vec<SkippedJson>,
    /// `null` when every file matches its checksum, else what is damaged.
    pub damage: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DocumentJson {
    pub path: String,
    pub passages: usize,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Serialize)]
pub struct SegmentJson {
    pub name: String,
    /// Passages searched in it.
    pub passages: usize,
    /// Documents deleted from it (changed or removed since it was written).
    pub deleted_documents: usize,
}

#[derive(Debug, Serialize)]
pub struct StaleJson {
    pub path: String,
    pub change: &'static str,
}

#[derive(Debug, Serialize)]
pub struct SkippedJson {
    pub path: String,
    pub reason: String,
}

impl StatusJson {
    /// `index` is the index folder as the asker named it.
    pub fn new(index: String, m: &Manifest, status: &Status) -> Self {
        StatusJson {
            index,
            format_version: m.format_version,
            built_at: m.built_at.clone(),
            model: m.model.clone(),
            chunker_version: m.chunker_version,
            roots: m.roots.iter().map(|r| ingest::relative(r)).collect(),
            documents: m
                .documents
                .iter()
                .map(|d| DocumentJson {
                    path: ingest::relative(&d.path),
                    passages: d.passages,
                    bytes: d.bytes,
                    sha256: d.sha256.clone(),
                })
                .collect(),
            passages: m.passages,
            vectors: m.vectors.scalar.as_str(),
            segments: m
                .segments
                .iter()
                .map(|seg| SegmentJson {
                    name: seg.name.clone(),
                    passages: m
                        .documents
                        .iter()
                        .filter(|d| d.segment == seg.name)
                        .map(|d| d.passages)
                        .sum(),
                    deleted_documents: seg.deleted.len(),
                })
                .collect(),
            size_bytes: status.size_bytes,
            stale: status
                .stale
                .iter()
                .map(|s| StaleJson {
                    path: ingest::relative(&s.path),
                    change: s.change.as_str(),
                })
                .collect(),
            skipped: m
                .skipped
                .iter()
                .map(|s| SkippedJson {
                    path: ingest::relative(&s.path),
                    reason: s.reason.clone(),
                })
                .collect(),
            damage: status.damage.as_ref().map(|e| e.to_string()),
        }
    }
}

/// Each hit with its highlight, if any (`highlights[i]` belongs to `hits[i]`).
pub fn hits(hits: &[Hit], highlights: &[Option<Range<usize>>]) -> Vec<HitJson> {
    hits.iter()
        .zip(highlights)
        .map(|(hit, span)| HitJson::new(hit, span.as_ref()))
        .collect()
}
