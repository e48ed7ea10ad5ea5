//! Building an index: walk the roots, read and chunk each file, embed only documents
//! that are new or changed (content hash), copy the rest from the previous index, and
//! publish the new generation atomically. The model is loaded only if there is work.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::embed::{Embedder, Role};
use crate::error::{Error, Result};
use crate::ingest::{self, ChunkOptions, Extracted};
use crate::search::analyze::Analyzer;
use crate::store::{self, DocumentInfo, Index, Manifest, ModelInfo, NewPassage, NewWindow};
use crate::ui::Ui;

/// Fragments shorter than this many characters are merged into a neighbour.
pub const MIN_PASSAGE_CHARS: usize = 120;
/// Passages stay at most this many tokens even for models with longer windows.
pub const MAX_PASSAGE_TOKENS: usize = 512;

/// What to build.
pub struct Request<'a> {
    pub index_dir: &'a Path,
    pub roots: Vec<PathBuf>,
    pub model: ModelInfo,
    pub max_tokens: usize,
    /// How passages become keyword-search terms.
    pub analyzer: Analyzer,
    /// Embed everything again even if unchanged.
    pub rebuild: bool,
}

/// What a build did.
#[derive(Debug)]
pub struct Report {
    pub manifest: Manifest,
    /// No file changed: nothing was written.
    pub up_to_date: bool,
    pub embedded_documents: usize,
    pub embedded_passages: usize,
    pub reused_documents: usize,
    pub removed_documents: Vec<String>,
}

/// Gives the embedder when first needed, so an up-to-date index never loads the model.
pub trait EmbedderSource {
    fn get(&mut self) -> Result<&dyn Embedder>;
}

impl<E: Embedder> EmbedderSource for E {
    fn get(&mut self) -> Result<&dyn Embedder> {
        Ok(self)
    }
}

/// A document that needs embedding, with each passage's search windows.
struct Pending {
    info: DocumentInfo,
    passages: Vec<(ingest::Passage, Vec<Range<usize>>)>,
}

pub fn build(request: Request, embedder: &mut dyn EmbedderSource, ui: &Ui) -> Result<Report> {
    let walked = ingest::walk(&request.roots)?;
    for skipped in &walked.skipped {
        ui.note(format!(
            "skipping {}: {}",
            skipped.path.display(),
            skipped.reason
        ));
    }
    let previous = open_previous(&request, ui)?;
    let roots: Vec<String> = request
        .roots
        .iter()
        .map(|r| absolute(r).display().to_string())
        .collect();

    let mut pending = Vec::new();
    let mut reused = Vec::new();
    for path in &walked.files {
        let doc_path = absolute(path).display().to_string();
        let loaded = match ingest::extract(path)? {
            Extracted::Binary { .. } => {
                ui.warn(format!(
                    "skipping {}: it looks like a binary file, not text",
                    path.display()
                ));
                continue;
            }
            Extracted::Text(loaded) => loaded,
        };
        let unchanged = previous
            .as_ref()
            .and_then(|p| p.manifest().documents.iter().find(|d| d.path == doc_path))
            .is_some_and(|d| d.sha256 == loaded.sha256);
        if unchanged {
            reused.push(doc_path);
            continue;
        }
        if loaded.lossy {
            ui.warn(format!(
                "{}: not valid UTF-8; invalid bytes were replaced with U+FFFD",
                path.display()
            ));
        }
        let embedder = embedder.get()?;
        // A tokenizer failure counts every character as a token: passages only get shorter.
        let count = |text: &str| {
            embedder
                .count_tokens(text, Role::Passage)
                .unwrap_or_else(|_| text.chars().count() + 16)
        };
        let options = ChunkOptions {
            max_tokens: request.max_tokens,
            min_chars: MIN_PASSAGE_CHARS,
        };
        let passages = ingest::chunk(&loaded.text, &options, &count);
        if passages.is_empty() {
            ui.note(format!("{}: no text to index", path.display()));
        }
        pending.push(Pending {
            info: DocumentInfo {
                path: doc_path,
                sha256: loaded.sha256,
                bytes: loaded.bytes,
                modified: modified_time(path),
                passages: passages.len(),
            },
            passages: passages
                .into_iter()
                .map(|p| {
                    let windows = ingest::windows(&p.text);
                    (p, windows)
                })
                .collect(),
        });
    }

    let removed: Vec<String> = previous
        .as_ref()
        .map(|p| {
            p.manifest()
                .documents
                .iter()
                .filter(|d| {
                    !reused.contains(&d.path) && !pending.iter().any(|n| n.info.path == d.path)
                })
                .map(|d| d.path.clone())
                .collect()
        })
        .unwrap_or_default();
    if let Some(previous) = &previous {
        let same_roots = previous.manifest().roots == roots;
        if pending.is_empty() && removed.is_empty() && same_roots {
            return Ok(Report {
                manifest: previous.manifest().clone(),
                up_to_date: true,
                embedded_documents: 0,
                embedded_passages: 0,
                reused_documents: reused.len(),
                removed_documents: removed,
            });
        }
    }

    let vectors = embed_pending(&pending, embedder, ui)?;
    let mut builder = store::Builder::create(
        request.index_dir,
        request.model.clone(),
        ingest::CHUNKER_VERSION,
        request.analyzer.to_string(),
        roots,
    )?;
    if let Some(previous) = &previous {
        for doc in &reused {
            builder.copy_document(previous, doc)?;
        }
    }
    let embedded_passages = pending.iter().map(|d| d.passages.len()).sum();
    let mut vectors = vectors.into_iter();
    for doc in &pending {
        let mut passages = Vec::with_capacity(doc.passages.len());
        for (p, spans) in &doc.passages {
            let windows = NewWindow::zip(spans, &mut vectors);
            passages.push(NewPassage {
                paragraph: p.paragraph,
                start_line: p.start_line,
                end_line: p.end_line,
                terms: request.analyzer.terms(&p.text).join(" "),
                text: p.text.clone(),
                windows,
            });
        }
        builder.add_document(doc.info.clone(), passages)?;
    }
    let manifest = builder.commit()?;
    Ok(Report {
        manifest,
        up_to_date: false,
        embedded_documents: pending.len(),
        embedded_passages,
        reused_documents: reused.len(),
        removed_documents: removed,
    })
}

/// The previous index, if it can be reused: same model weights, chunker and format.
fn open_previous(request: &Request, ui: &Ui) -> Result<Option<Index>> {
    if request.rebuild {
        return Ok(None);
    }
    let previous = match Index::open(request.index_dir) {
        Ok(previous) => previous,
        Err(e) => {
            ui.warn(format!("{e}; building a new index instead"));
            return Ok(None);
        }
    };
    Ok(previous.filter(|p| {
        let m = p.manifest();
        let reusable = m.model == request.model
            && m.chunker_version == ingest::CHUNKER_VERSION
            && m.analyzer == request.analyzer.to_string();
        if !reusable {
            ui.note(format!(
                "the index was built with {} at {} dims (chunker v{}, analyzer {}); embedding everything again with {} at {} dims",
                m.model.name, m.model.dims, m.chunker_version, m.analyzer, request.model.name, request.model.dims
            ));
        }
        reusable
    }))
}

/// Every window of every new passage in one call, so similar lengths batch together
/// across documents; vectors come back in window order.
fn embed_pending(
    pending: &[Pending],
    embedder: &mut dyn EmbedderSource,
    ui: &Ui,
) -> Result<Vec<Vec<f32>>> {
    let texts: Vec<&str> = pending
        .iter()
        .flat_map(|d| d.passages.iter())
        .flat_map(|(p, spans)| spans.iter().map(|span| &p.text[span.clone()]))
        .collect();
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let embedder = embedder.get()?;
    let bar = ui.bar(texts.len() as u64, "embedding");
    bar.set_message("windows");
    let vectors = embedder.embed(&texts, Role::Passage, &mut |n| bar.inc(n as u64))?;
    bar.finish_and_clear();
    if vectors.len() != texts.len() {
        return Err(Error::Usage(format!(
            "the model returned {} vectors for {} windows",
            vectors.len(),
            texts.len()
        )));
    }
    Ok(vectors)
}

/// The absolute form of a path, without resolving symlinks away when it cannot be.
pub fn absolute(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

pub(crate) fn modified_time(path: &Path) -> Option<String> {
    let modified: SystemTime = std::fs::metadata(path).ok()?.modified().ok()?;
    let time = time::OffsetDateTime::from(modified);
    time.format(&time::format_description::well_known::Rfc3339)
        .ok()
}
