//! What a question gets, whichever front end asked it (the command line, the HTTP API,
//! MCP): `ask`, `related`, `show` and `status` over one open index, with the checks of what
//! was asked and errors that say what is wrong. The vectors come from any `Embedder` (the
//! model itself, or the server's batching queue); printing and serialising are `output`'s.

mod error;

use std::ops::Range;
use std::path::{Path, PathBuf};

pub use error::{Error, Names, Result};

use crate::embed::Embedder;
use crate::ingest::display_path;
use crate::pipeline::freshness::{self, Stale};
use crate::search::highlight::highlight;
use crate::search::hybrid::Fusion;
use crate::search::related::Source;
use crate::search::{self, scope, Hit, Mode, Query};
use crate::store::{Index, Manifest, StoredPassage};
use crate::text::Analyzer;

/// Questions longer than this many characters are cut by the command line (with a
/// warning) and refused by the server: a question is a sentence or a few, and a pasted
/// book would take minutes to embed.
pub const MAX_QUESTION_CHARS: usize = 2_000;

/// The same for the text `related` starts from: a passage is a paragraph or a few.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// A question and how to answer it.
#[derive(Debug, Clone)]
pub struct Ask {
    pub question: String,
    pub k: usize,
    pub mode: Mode,
    /// Only documents matching these paths or globs (none: every document).
    pub within: Vec<String>,
    /// Results scoring below this (as printed, four decimals) are left out.
    pub min_score: Option<f32>,
}

/// Ranked hits, each with the byte span of its answering sentences when one was found.
pub struct Answer {
    pub hits: Vec<Hit>,
    pub highlights: Vec<Option<Range<usize>>>,
}

/// The question of `ask` prepared for searching: its vector (unless keyword-only) and its
/// terms, analysed as the index's passages were. Needs the model but no reader of the index,
/// so that a server does not hold a reader while a question waits for the model.
pub fn question(manifest: &Manifest, embedder: Option<&dyn Embedder>, ask: &Ask) -> Result<Query> {
    let question = ask.question.trim();
    if question.is_empty() {
        return Err(Error::EmptyQuestion);
    }
    let embedder = embedder.filter(|_| ask.mode.needs_model());
    Ok(Query::new(question, embedder, analyzer_of(manifest)?)?)
}

/// The passages that answer `ask` (prepared by `question`), best first, with their
/// highlights.
pub fn ask(index: &Index, query: &Query, ask: &Ask, names: Names) -> Result<Answer> {
    let analyzer = analyzer_of(index.manifest())?;
    let only = match ask.within.is_empty() {
        true => None,
        false => Some(
            scope::documents_within(index, &ask.within)
                .map_err(Error::documents(names.within()))?,
        ),
    };
    let mut ranked = search::rank(
        index,
        query,
        ask.mode,
        Fusion::DEFAULT,
        ask.k,
        only.as_deref(),
    )?;
    if let Some(min) = ask.min_score {
        // Compared as printed, so that a score copied from `--json` keeps its own result.
        ranked.retain(|r| search::round4(r.score) >= min);
    }
    let hits = search::hits(index, ranked)?;
    let highlights = hits
        .iter()
        .map(|hit| highlight(index, query, analyzer, hit).map(Some))
        .collect::<search::Result<Vec<_>>>()?;
    Ok(Answer { hits, highlights })
}

/// What `related` starts from, as asked.
#[derive(Debug, Clone)]
pub enum RelatedTo {
    /// An indexed passage: a document (as a path or as results name it) and its paragraph.
    Passage { doc: PathBuf, paragraph: u32 },
    /// Free text.
    Text(String),
}

/// Passages of other documents closest to `to`, with the stored passage it started from.
pub fn related(
    index: &Index,
    embedder: Option<&dyn Embedder>,
    to: &RelatedTo,
    mode: Mode,
    k: usize,
    names: Names,
) -> Result<(Source, Vec<Hit>)> {
    let analyzer = analyzer_of(index.manifest())?;
    let source = match to {
        RelatedTo::Passage { doc, paragraph } => {
            let doc =
                scope::find_document(index, doc).map_err(Error::documents(names.related_doc()))?;
            let passage = index
                .find(&doc, *paragraph)?
                .ok_or_else(|| no_paragraph(index.manifest(), &doc, *paragraph))?;
            Source::Passage(passage)
        }
        RelatedTo::Text(text) if !text.trim().is_empty() => Source::Text(text.trim().to_string()),
        RelatedTo::Text(_) => return Err(Error::EmptyText(names)),
    };
    // A stored passage brings its vectors; only free text needs the model.
    let embedder = embedder.filter(|_| matches!(source, Source::Text(_)));
    let hits = search::related::related(index, embedder, analyzer, mode, &source, k)?;
    Ok((source, hits))
}

/// Which of a document's passages to show.
#[derive(Debug, Clone, Copy)]
pub enum Selection {
    All,
    /// One paragraph with `context` passages on each side.
    Paragraph {
        paragraph: u32,
        context: u32,
    },
    /// The passages that start on a page.
    Page(u32),
}

/// A document's passages, and which of them were shown (`target` marks the one asked for).
pub struct Shown {
    pub doc: String,
    pub title: Option<String>,
    pub format: Option<String>,
    pub passages: Vec<StoredPassage>,
    /// Indexes into `passages`, in order, with whether each is the target.
    pub shown: Vec<(usize, bool)>,
    /// Why nothing is shown, when nothing is (a page without passages).
    pub note: Option<String>,
}

/// The passages of `doc` that `selection` picks.
pub fn show(index: &Index, doc: &Path, selection: Selection, names: Names) -> Result<Shown> {
    let doc = scope::find_document(index, doc).map_err(Error::documents(names.doc()))?;
    let info = index.manifest().documents.iter().find(|d| d.path == doc);
    let (title, format) = info.map_or((None, None), |d| (d.title.clone(), d.format.clone()));
    let passages = index.document_passages(&doc)?;
    let shown: Vec<(usize, bool)> = match selection {
        Selection::Paragraph { paragraph, context } => {
            let Some(at) = passages.iter().position(|p| p.paragraph == paragraph) else {
                return Err(no_paragraph(index.manifest(), &doc, paragraph));
            };
            let context = context as usize;
            let from = at.saturating_sub(context);
            let to = (at + context + 1).min(passages.len());
            (from..to).map(|i| (i, i == at)).collect()
        }
        Selection::Page(page) => passages
            .iter()
            .enumerate()
            .filter(|(_, p)| p.page == Some(page))
            .map(|(i, _)| (i, true))
            .collect(),
        Selection::All => (0..passages.len()).map(|i| (i, false)).collect(),
    };
    let note = match selection {
        Selection::Page(page) if shown.is_empty() => {
            let pages: Vec<u32> = passages.iter().filter_map(|p| p.page).collect();
            Some(match (pages.iter().min(), pages.iter().max()) {
                (Some(first), Some(last)) => format!(
                    "no passage of {} starts on page {page} (passages start on pages {first}–{last})",
                    display_path(&doc)
                ),
                _ => format!("{} has no pages", display_path(&doc)),
            })
        }
        _ => None,
    };
    Ok(Shown {
        doc,
        title,
        format,
        passages,
        shown,
        note,
    })
}

/// The state of an index beyond its manifest: what changed on disk since, its size, and
/// whether its files are intact.
pub struct Status {
    pub stale: Vec<Stale>,
    pub size_bytes: u64,
    /// What is damaged, if anything.
    pub damage: Option<crate::store::Error>,
}

/// Reads every indexed file's size and time (and hash, when those changed) to say what is
/// stale, and with `verify` every file of the index to check it.
pub fn status(index: &Index, verify: bool) -> Result<Status> {
    Ok(Status {
        stale: freshness::stale_and_new(index.manifest()),
        size_bytes: index.size_on_disk()?,
        damage: match verify {
            true => index.verify().err(),
            false => None,
        },
    })
}

/// The keyword analyzer an index was built with (questions must be analysed alike).
pub fn analyzer_of(manifest: &Manifest) -> Result<Analyzer> {
    manifest
        .analyzer
        .parse()
        .map_err(|reason| Error::Analyzer { reason })
}

fn no_paragraph(manifest: &Manifest, doc: &str, paragraph: u32) -> Error {
    let count = manifest
        .documents
        .iter()
        .find(|d| d.path == doc)
        .map_or(0, |d| d.passages);
    Error::NoParagraph {
        doc: display_path(doc),
        paragraph,
        count,
    }
}
