//! The indexing pipeline, written once for every caller (`index`, `ask` on a new project,
//! `eval`, `bench`): documents → passages → windows → vectors → a new store generation.
//!
//! Documents are files found under folders, or records handed over directly (an eval
//! corpus, a benchmark's synthetic passages), each record one passage. A document whose
//! content hash is unchanged is copied from the previous index with its vectors (its
//! keyword terms remade if the analyzer changed); only new and changed documents are cut
//! into passages and windows and embedded, all windows in one call so that similar lengths
//! batch together. An index with nothing to change is left as it is, and the model is then
//! never loaded. `freshness` tells, without building, which indexed files changed;
//! `attach` joins indexes built elsewhere into one.

pub mod attach;
mod error;
pub mod freshness;

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::checksum::sha256_hex;
use crate::embed::{Embedder, Role};
use crate::ingest::{self, ChunkOptions, Passage, Source};
use crate::store::{
    self, DocumentInfo, Index, Manifest, ModelInfo, NewPassage, NewWindow, SkippedFile,
};
use crate::text::{Analyzer, WindowPolicy};
use crate::ui::Ui;

pub use error::Error;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether `index` embeds each passage with its heading path as its title: on, as measured
/// (README, "Titles"): hybrid nDCG@10 higher with both models on both eval sets that have
/// titles, and the seed questions' MRR as documents no lower.
pub const TITLES: bool = true;

/// How a new index stores its vectors unless told otherwise: chosen by measurement on the
/// evaluation sets (README, "Compact vectors").
pub const DEFAULT_SCALAR: store::Scalar = store::Scalar::F16;

/// Passages stay at most this many tokens even for models with longer windows.
pub const MAX_PASSAGE_TOKENS: usize = 512;

/// How passages are made and stored; an index built with other settings is not reused.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The weights that embed, and the vector size.
    pub model: ModelInfo,
    /// How the vector index stores vectors.
    pub scalar: store::Scalar,
    /// Most tokens per passage (see `passage_tokens`).
    pub passage_tokens: usize,
    /// How passages become keyword-search terms.
    pub analyzer: Analyzer,
    /// Which pieces of each passage are embedded.
    pub windows: WindowPolicy,
    /// Embed each window with its passage's heading path (or record title) as its title.
    pub titles: bool,
}

/// Passage size for a model whose window is `max_tokens`: the window, but never larger
/// than akapit's passage size.
pub fn passage_tokens(max_tokens: usize) -> usize {
    max_tokens.min(MAX_PASSAGE_TOKENS)
}

/// One document given as text: indexed as a single passage, keyed by `id`.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub text: String,
    /// Stored as the passage's section, and embedded with it when `Settings::titles` is on.
    pub title: Option<String>,
}

/// What to index.
#[derive(Debug, Clone)]
pub enum Input {
    /// Files and folders (walked); the manifest records them as the index's roots.
    Files(Vec<PathBuf>),
    /// Records; `label` names where their vectors come from (recorded as the index's
    /// root), and only an index with the same label is reused.
    Records { label: String, records: Vec<Record> },
}

/// One build.
pub struct Request<'a> {
    pub index_dir: &'a Path,
    pub input: Input,
    pub settings: Settings,
    /// Embed everything again, even unchanged documents.
    pub rebuild: bool,
    /// When segments are merged after the build.
    pub merge: store::MergePolicy,
}

/// What a build did.
#[derive(Debug)]
pub struct Report {
    pub manifest: Manifest,
    /// Nothing changed: nothing was written.
    pub up_to_date: bool,
    pub embedded_documents: usize,
    pub embedded_passages: usize,
    pub reused_documents: usize,
    /// Keys (paths or record ids) of documents that were indexed before and are gone now.
    pub removed_documents: Vec<String>,
}

/// A document that needs embedding.
struct Document {
    info: DocumentInfo,
    /// Its passages' line numbers are lines of the file, worth citing.
    lines: bool,
    passages: Vec<Passage>,
}

/// The documents found, split into those to embed and those to copy, and the files found
/// that cannot be indexed.
#[derive(Default)]
struct Gathered {
    new: Vec<Document>,
    /// Keys of documents unchanged since the previous index.
    unchanged: Vec<String>,
    skipped: Vec<SkippedFile>,
}

pub fn build(request: Request, embedder: &dyn Embedder, ui: &Ui) -> Result<Report> {
    let Request {
        index_dir,
        input,
        settings,
        rebuild,
        merge,
    } = request;
    let roots: Vec<String> = match &input {
        Input::Files(paths) => paths.iter().map(|p| ingest::key(p)).collect(),
        Input::Records { label, .. } => vec![label.clone()],
    };
    // Everything that can fail is tried before any work: the folder is an index (or can
    // become one), is writable, and no other build holds it (else this one waits, and then
    // finds what that one did).
    let waiting = waiting_note(ui, index_dir);
    let mut builder = store::Builder::create_waiting(
        index_dir,
        settings.model.clone(),
        ingest::CHUNKER_VERSION,
        settings.analyzer.to_string(),
        roots.clone(),
        &waiting,
    )?;
    builder.set_window_policy(settings.windows);
    builder.set_titles(settings.titles);
    builder.set_vectors(store::VectorOptions {
        scalar: settings.scalar,
        ..store::VectorOptions::DEFAULT
    });
    builder.set_merge_policy(merge);
    let previous = match rebuild {
        true => None,
        false => open_previous(index_dir, &input, &settings, ui),
    };
    // Each indexed document's content hash, by key.
    let known: HashMap<&str, &str> = previous.as_ref().map_or_else(HashMap::new, |p| {
        p.manifest()
            .documents
            .iter()
            .map(|d| (d.path.as_str(), d.sha256.as_str()))
            .collect()
    });
    let unchanged = |key: &str, sha256: &str| known.get(key) == Some(&sha256);
    let untouched = Untouched::new(previous.as_ref().map(Index::manifest));
    let gathered = match input {
        Input::Files(paths) => read_files(&paths, &settings, embedder, &unchanged, &untouched, ui)?,
        Input::Records { records, .. } => read_records(records, &unchanged),
    };
    let found: HashSet<&str> = gathered
        .unchanged
        .iter()
        .map(String::as_str)
        .chain(gathered.new.iter().map(|d| d.info.path.as_str()))
        .collect();
    let removed: Vec<String> = previous.as_ref().map_or_else(Vec::new, |p| {
        p.manifest()
            .documents
            .iter()
            .filter(|d| !found.contains(d.path.as_str()))
            .map(|d| d.path.clone())
            .collect()
    });
    if let Some(previous) = &previous {
        let m = previous.manifest();
        let same = m.analyzer == settings.analyzer.to_string()
            && m.roots == roots
            && m.skipped == gathered.skipped
            && m.vectors.scalar == settings.scalar
            && store::merge_plan(m, merge).is_none();
        if gathered.new.is_empty() && removed.is_empty() && same {
            builder.remove_leftovers();
            return Ok(Report {
                manifest: m.clone(),
                up_to_date: true,
                embedded_documents: 0,
                embedded_passages: 0,
                reused_documents: gathered.unchanged.len(),
                removed_documents: removed,
            });
        }
    }
    // The window spans of each new passage, in document and passage order.
    let (embedded_documents, embedded_passages) =
        (gathered.new.len(), count_passages(&gathered.new));
    let reused_documents = gathered.unchanged.len();
    let manifest = store_segment(
        builder,
        &settings,
        gathered,
        previous.as_ref(),
        embedder,
        ui,
    )?;
    Ok(Report {
        manifest,
        up_to_date: false,
        embedded_documents,
        embedded_passages,
        reused_documents,
        removed_documents: removed,
    })
}

fn count_passages(documents: &[Document]) -> usize {
    documents.iter().map(|d| d.passages.len()).sum()
}

/// The previous index, if its vectors can be reused: undamaged (its files match their
/// checksums), same model weights and vector size, same chunker, and (for records) the same
/// label. An index that cannot be used is replaced, with a warning.
fn open_previous(index_dir: &Path, input: &Input, settings: &Settings, ui: &Ui) -> Option<Index> {
    // Checksums are read in full only for an index small enough to read in about a second;
    // a larger one is trusted on the checks of opening (sizes, the manifest, small vector
    // files), and `status` reads everything.
    let usable = Index::open(index_dir).and_then(|previous| {
        if let Some(previous) = &previous {
            if previous.size_on_disk()? <= VERIFY_BEFORE_BUILD_BYTES {
                previous.verify()?;
            }
        }
        Ok(previous)
    });
    let previous = match usable {
        Ok(previous) => previous?,
        Err(e) => {
            ui.warn(format!("{e}; building the index again"));
            return None;
        }
    };
    let m = previous.manifest();
    let same_origin = match input {
        Input::Files(_) => true,
        Input::Records { label, .. } => m.roots == [label.clone()],
    };
    let same_vectors = m.model == settings.model
        && m.chunker_version == ingest::CHUNKER_VERSION
        && m.window_policy == settings.windows.to_string()
        && m.titles == settings.titles
        // f32 vectors convert to any type exactly; others only to themselves.
        && (m.vectors.scalar == settings.scalar || m.vectors.scalar == store::Scalar::F32);
    if same_vectors && same_origin {
        return Some(previous);
    }
    ui.note(format!(
        "the index was built with {} at {} dims (chunker v{}, windows {}, from {}); embedding everything again with {} at {} dims",
        m.model.name,
        m.model.dims,
        m.chunker_version,
        m.window_policy,
        m.roots.iter().map(|r| ingest::display_path(r)).collect::<Vec<_>>().join(", "),
        settings.model.name,
        settings.model.dims
    ));
    None
}

/// Cleans the text of `source` and cuts it into passages of at most `passage_tokens` tokens
/// as the embedder counts them: how `index` cuts every file.
pub fn chunk_source(
    source: &Source,
    passage_tokens: usize,
    embedder: &dyn Embedder,
) -> Vec<Passage> {
    // A tokenizer failure counts every character as a token: passages only get shorter.
    let count = |text: &str| {
        embedder
            .count_tokens(text, Role::Passage)
            .unwrap_or_else(|_| text.chars().count() + 16)
    };
    ingest::chunk_source(source, &ChunkOptions::new(passage_tokens), &count)
}

/// Which indexed files certainly did not change, without reading them: the same size and
/// modification time (to the nanosecond) as when indexed, and that time well before the
/// build that indexed them (as git does, so that a file changed within the clock's
/// granularity of being read is read again).
struct Untouched<'a> {
    /// Size and modification time of each indexed file whose time can be trusted.
    known: HashMap<&'a str, (u64, &'a str)>,
}

impl<'a> Untouched<'a> {
    /// Seconds before the build that a modification must be, to be trusted.
    const MARGIN: time::Duration = time::Duration::seconds(2);

    fn new(manifest: Option<&'a Manifest>) -> Self {
        let parse = |s: &str| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        };
        let known = manifest
            .and_then(|m| Some((m, parse(&m.built_at)?)))
            .map_or_else(HashMap::new, |(m, built)| {
                m.documents
                    .iter()
                    .filter_map(|d| {
                        let modified = d.modified.as_deref()?;
                        let trusted = parse(modified).is_some_and(|t| t + Self::MARGIN < built);
                        trusted.then_some((d.path.as_str(), (d.bytes, modified)))
                    })
                    .collect()
            });
        Untouched { known }
    }

    fn check(&self, key: &str, path: &Path) -> bool {
        let Some(&(bytes, modified)) = self.known.get(key) else {
            return false;
        };
        ingest::file_stat(path).is_some_and(|(now, now_modified)| {
            now == bytes && now_modified.as_deref() == Some(modified)
        })
    }
}

/// Walks `roots`, reads every file, and cuts those that changed into passages. A file that
/// cannot be read, or is not text, is skipped with a warning and recorded, and the rest is
/// indexed.
fn read_files(
    roots: &[PathBuf],
    settings: &Settings,
    embedder: &dyn Embedder,
    unchanged: &dyn Fn(&str, &str) -> bool,
    untouched: &Untouched,
    ui: &Ui,
) -> Result<Gathered> {
    let walked = ingest::walk(roots)?;
    for skipped in &walked.skipped {
        ui.note(format!(
            "skipping {}: {}",
            ingest::display(&skipped.path),
            skipped.reason
        ));
    }
    let mut gathered = Gathered::default();
    let bar = ui.bar(walked.files.len() as u64, "reading");
    for path in &walked.files {
        bar.inc(1);
        let key = ingest::key(path);
        if untouched.check(&key, path) {
            gathered.unchanged.push(key);
            continue;
        }
        let mut skip = |reason: String| {
            bar.suspend(|| ui.warn(format!("skipping {}: {reason}", ingest::display(path))));
            let metadata = std::fs::metadata(path).ok();
            gathered.skipped.push(SkippedFile {
                path: key.clone(),
                reason,
                bytes: metadata.map_or(0, |m| m.len()),
                modified: ingest::modified_time(path),
            });
        };
        let loaded = match ingest::load(path) {
            Err(ingest::Error::Io { source, .. }) => {
                skip(format!("cannot read it ({source})"));
                continue;
            }
            Err(e) => return Err(e.into()),
            Ok(loaded) => loaded,
        };
        if unchanged(&key, &loaded.sha256) {
            gathered.unchanged.push(key);
            continue;
        }
        let name = ingest::display(path);
        let mut on_page = |done: usize, total: usize| {
            if total > 1 {
                bar.set_message(format!("{name}: page {done} of {total}"));
            }
        };
        let source = match ingest::extract(&loaded, path, &mut on_page) {
            Ok(source) => source,
            Err(unreadable) => {
                bar.set_message("");
                skip(unreadable.to_string());
                continue;
            }
        };
        bar.set_message("");
        for warning in &source.warnings {
            bar.suspend(|| ui.warn(format!("{name}: {warning}")));
        }
        // The first file to cut loads the model; a model that cannot load fails here.
        embedder.count_tokens("", Role::Passage)?;
        let passages = chunk_source(&source, settings.passage_tokens, embedder);
        if passages.is_empty() {
            bar.suspend(|| ui.note(format!("{name}: no text to index")));
        }
        gathered.new.push(Document {
            info: DocumentInfo {
                path: key,
                bytes: loaded.bytes(),
                sha256: loaded.sha256,
                modified: ingest::modified_time(path),
                passages: passages.len(),
                windows: 0,
                format: Some(source.format.name().to_string()),
                title: source.title.clone(),
                segment: String::new(),
            },
            lines: source.format.has_file_lines(),
            passages,
        });
    }
    bar.finish_and_clear();
    Ok(gathered)
}

/// Each record as a document of one passage (its whole text).
fn read_records(records: Vec<Record>, unchanged: &dyn Fn(&str, &str) -> bool) -> Gathered {
    let mut gathered = Gathered::default();
    for record in records {
        let sha256 = match &record.title {
            Some(title) => sha256_hex(format!("{title}\n{}", record.text).as_bytes()),
            None => sha256_hex(record.text.as_bytes()),
        };
        if unchanged(&record.id, &sha256) {
            gathered.unchanged.push(record.id);
            continue;
        }
        gathered.new.push(Document {
            info: DocumentInfo {
                path: record.id,
                sha256,
                bytes: record.text.len() as u64,
                modified: None,
                passages: 1,
                windows: 0,
                format: None,
                title: None,
                segment: String::new(),
            },
            lines: false,
            passages: vec![Passage {
                paragraph: 1,
                start_line: 1,
                end_line: 1,
                text: record.text,
                page: None,
                section: record.title,
            }],
        });
    }
    gathered
}

/// An index up to this size is checked against its checksums before a build keeps its
/// documents.
const VERIFY_BEFORE_BUILD_BYTES: u64 = 1 << 30;

/// Windows embedded per checkpoint: every batch of documents holding this many is stored
/// (vectors included) before the next is embedded, so a killed build loses at most one
/// batch: about 25 s of multilingual-e5-small on two cores, under two minutes of Gemma.
pub const CHECKPOINT_WINDOWS: usize = 512;

/// Embeds the new documents in batches of about `CHECKPOINT_WINDOWS` windows, storing each
/// batch in the new segment, keeps the unchanged documents where they are (or rewrites
/// their keyword terms if the analyzer changed), and publishes.
fn store_segment(
    mut builder: store::Builder,
    settings: &Settings,
    gathered: Gathered,
    previous: Option<&Index>,
    embedder: &dyn Embedder,
    ui: &Ui,
) -> Result<Manifest> {
    let analyzer = settings.analyzer.to_string();
    let Gathered {
        mut new,
        mut unchanged,
        skipped,
    } = gathered;
    // In path order, so that passage ids follow (document, paragraph) as in any other build.
    unchanged.sort();
    new.sort_by(|a, b| a.info.path.cmp(&b.info.path));
    if let Some(previous) = previous {
        let m = previous.manifest();
        let same_terms = m.analyzer == analyzer;
        let same_scalar = m.vectors.scalar == settings.scalar;
        if !same_terms && !unchanged.is_empty() {
            ui.note(format!(
                "keeping the vectors of {} unchanged documents, remaking their keyword terms with {analyzer}",
                unchanged.len()
            ));
        }
        if !same_scalar && !unchanged.is_empty() {
            ui.note(format!(
                "storing the vectors of {} unchanged documents as {} (they were {})",
                unchanged.len(),
                settings.scalar.as_str(),
                m.vectors.scalar.as_str()
            ));
        }
        for key in &unchanged {
            if same_terms && same_scalar {
                builder.keep_document(key)?;
                continue;
            }
            let (info, mut passages) = previous
                .document(key)?
                .ok_or_else(|| store::Error::UnknownDocument(key.clone()))?;
            // Terms are not stored: made again, with this build's analyzer.
            for passage in &mut passages {
                passage.terms = settings.analyzer.terms(&passage.text).join(" ");
            }
            builder.add_document(info, passages)?;
        }
    }
    if !new.is_empty() {
        let total = count_passages(&new);
        let (resumed_docs, _) = builder.open_segment()?;
        if resumed_docs > 0 {
            new.retain(|d| !builder.resume_document(&d.info.path, &d.info.sha256));
            let done = total - count_passages(&new);
            ui.note(format!(
                "resuming: {} of {} passages already embedded",
                thousands(done),
                thousands(total)
            ));
        }
    }
    let spans: Vec<Vec<Vec<Range<usize>>>> = new
        .iter()
        .map(|d| {
            d.passages
                .iter()
                .map(|p| settings.windows.spans(&p.text))
                .collect()
        })
        .collect();
    let windows: usize = spans.iter().flatten().map(Vec::len).sum();
    let bar = ui.bar(windows as u64, "embedding");
    bar.set_message(format!("windows of {} passages", count_passages(&new)));
    let mut start = 0;
    while start < new.len() {
        let mut end = start;
        let mut batch_windows = 0;
        while end < new.len() && (end == start || batch_windows < CHECKPOINT_WINDOWS) {
            batch_windows += spans[end].iter().map(Vec::len).sum::<usize>();
            end += 1;
        }
        let batch = &new[start..end];
        let batch_spans: Vec<Vec<Range<usize>>> =
            spans[start..end].iter().flatten().cloned().collect();
        let vectors = embed_windows(batch, &batch_spans, settings, embedder, &|n| {
            bar.inc(n as u64)
        })?;
        let mut vectors = vectors.into_iter();
        let mut passage_spans = batch_spans.iter();
        for document in batch {
            let passages = document
                .passages
                .iter()
                .zip(&mut passage_spans)
                .map(|(p, spans)| NewPassage {
                    paragraph: p.paragraph,
                    start_line: document.lines.then_some(p.start_line),
                    end_line: document.lines.then_some(p.end_line),
                    page: p.page,
                    section: p.section.clone(),
                    terms: settings.analyzer.terms(&p.text).join(" "),
                    text: p.text.clone(),
                    windows: NewWindow::zip(spans, &mut vectors),
                })
                .collect();
            builder.add_document(document.info.clone(), passages)?;
        }
        start = end;
    }
    bar.finish_and_clear();
    for file in skipped {
        builder.skip(file);
    }
    let progress = BuildProgress::new(ui);
    Ok(builder.commit_with(&progress)?)
}

/// What a build says once when another build holds the index's lock.
fn waiting_note<'a>(ui: &'a Ui, index_dir: &'a Path) -> impl Fn() + 'a {
    move || {
        ui.note(format!(
            "another akapit is building the index in {}; waiting for it to finish",
            ingest::display(index_dir)
        ))
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Shows the vector graph being built and merges starting, on stderr.
struct BuildProgress<'a> {
    ui: &'a Ui,
    bar: std::cell::RefCell<Option<indicatif::ProgressBar>>,
}

impl<'a> BuildProgress<'a> {
    fn new(ui: &'a Ui) -> Self {
        BuildProgress {
            ui,
            bar: std::cell::RefCell::new(None),
        }
    }
}

impl store::Progress for BuildProgress<'_> {
    fn graph(&self, done: usize, total: usize) {
        let mut bar = self.bar.borrow_mut();
        let bar = bar.get_or_insert_with(|| self.ui.bar(total as u64, "indexing"));
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        if done >= total {
            bar.finish_and_clear();
        }
    }

    fn merging(&self, segments: usize, passages: usize) {
        self.bar.borrow_mut().take();
        self.ui.note(format!(
            "merging {segments} segments ({} passages)",
            thousands(passages)
        ));
    }
}

/// Embeds the windows of `documents`' passages (`spans`, one list per passage in order),
/// each with its passage's heading path as title when the settings say so.
fn embed_windows(
    documents: &[Document],
    spans: &[Vec<Range<usize>>],
    settings: &Settings,
    embedder: &dyn Embedder,
    progress: &dyn Fn(usize),
) -> Result<Vec<Vec<f32>>> {
    let policy = settings.windows;
    let inputs: Vec<(String, Role)> = documents
        .iter()
        .flat_map(|d| d.passages.iter())
        .zip(spans)
        .flat_map(|(p, spans)| {
            spans.iter().map(move |span| {
                let window = policy.embedded(&p.text, span);
                match p.section.as_deref().filter(|_| settings.titles) {
                    Some(title) => (embedder.titled(title, &window), Role::Titled),
                    None => (window.into_owned(), Role::Passage),
                }
            })
        })
        .collect();
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; inputs.len()];
    for role in [Role::Passage, Role::Titled] {
        let (at, texts): (Vec<usize>, Vec<&str>) = inputs
            .iter()
            .enumerate()
            .filter(|(_, (_, r))| *r == role)
            .map(|(i, (text, _))| (i, text.as_str()))
            .unzip();
        if texts.is_empty() {
            continue;
        }
        let embedded = embedder.embed(&texts, role, &mut |n| progress(n))?;
        if embedded.len() != texts.len() {
            return Err(Error::VectorCount {
                expected: texts.len(),
                got: embedded.len(),
            });
        }
        for (i, vector) in at.into_iter().zip(embedded) {
            vectors[i] = Some(vector);
        }
    }
    Ok(vectors.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::embed::fake::FakeEmbedder;
    use crate::embed::Error as EmbedError;

    /// The fake embedder, recording every text and role it is asked to embed.
    #[derive(Default)]
    struct Recording {
        inner: FakeEmbedder,
        seen: RefCell<Vec<(String, Role)>>,
    }

    impl Recording {
        fn new() -> Self {
            Recording::default()
        }

        /// How many texts were embedded since the last call.
        fn take(&self) -> usize {
            self.seen.take().len()
        }
    }

    impl Embedder for Recording {
        fn dims(&self) -> usize {
            self.inner.dims()
        }

        fn count_tokens(&self, text: &str, role: Role) -> Result<usize, EmbedError> {
            self.inner.count_tokens(text, role)
        }

        fn embed(
            &self,
            texts: &[&str],
            role: Role,
            progress: &mut dyn FnMut(usize),
        ) -> Result<Vec<Vec<f32>>, EmbedError> {
            let mut seen = self.seen.borrow_mut();
            seen.extend(texts.iter().map(|t| (t.to_string(), role)));
            self.inner.embed(texts, role, progress)
        }
    }

    fn settings(analyzer: Analyzer) -> Settings {
        Settings {
            model: ModelInfo {
                name: "fake".into(),
                revision: "test".into(),
                sha256: "0".repeat(64),
                dims: FakeEmbedder::default().dims,
            },
            passage_tokens: 512,
            analyzer,
            windows: WindowPolicy::default(),
            titles: false,
            scalar: store::Scalar::F32,
        }
    }

    fn records(texts: &[(&str, &str)]) -> Input {
        Input::Records {
            label: "test".into(),
            records: texts
                .iter()
                .map(|(id, text)| Record {
                    id: id.to_string(),
                    text: text.to_string(),
                    title: None,
                })
                .collect(),
        }
    }

    fn build_records(
        dir: &Path,
        texts: &[(&str, &str)],
        analyzer: Analyzer,
        e: &Recording,
    ) -> Report {
        let request = Request {
            index_dir: dir,
            input: records(texts),
            settings: settings(analyzer),
            rebuild: false,
            merge: store::MergePolicy::DEFAULT,
        };
        build(request, e, &Ui::new(true)).unwrap()
    }

    const CORPUS: [(&str, &str); 3] = [
        ("a", "Białoruś i Rosja przyjęły plan. Plan zakłada ćwiczenia. Ćwiczenia odbędą się we wrześniu. Wrzesień jest blisko."),
        ("b", "Kazachstan prosił o pomoc."),
        ("c", "Litwa ogłosiła stan nadzwyczajny."),
    ];

    #[test]
    fn with_titles_every_window_of_a_titled_passage_carries_its_title() {
        let dir = tempfile::tempdir().unwrap();
        let e = Recording::new();
        let mut settings = settings(Analyzer::DEFAULT);
        settings.titles = true;
        let request = Request {
            index_dir: dir.path(),
            input: Input::Records {
                label: "test".into(),
                records: vec![
                    Record {
                        id: "a".into(),
                        text: CORPUS[0].1.into(),
                        title: Some("Raport › Ćwiczenia".into()),
                    },
                    Record {
                        id: "b".into(),
                        text: CORPUS[1].1.into(),
                        title: None,
                    },
                ],
            },
            settings,
            rebuild: false,
            merge: store::MergePolicy::DEFAULT,
        };
        let report = build(request, &e, &Ui::new(true)).unwrap();
        assert!(report.manifest.titles);
        let seen = e.seen.borrow();
        let titled: Vec<_> = seen.iter().filter(|(_, r)| *r == Role::Titled).collect();
        assert_eq!(titled.len(), 2, "both windows of a: {seen:?}");
        assert!(titled
            .iter()
            .all(|(t, _)| t.starts_with("Raport › Ćwiczenia. ")));
        assert_eq!(
            seen.iter().filter(|(_, r)| *r == Role::Passage).count(),
            1,
            "b has no title"
        );
        // The vectors come back in window order: a's windows, then b's.
        let index = Index::open(dir.path()).unwrap().unwrap();
        let b = index.find("b", 1).unwrap().unwrap();
        let fake = FakeEmbedder::default();
        let expected = fake.embed_one(CORPUS[1].1, Role::Passage).unwrap();
        assert_eq!(index.windows(b.id).unwrap()[0].1, expected);
    }

    #[test]
    fn only_new_and_changed_records_are_embedded() {
        let dir = tempfile::tempdir().unwrap();
        let e = Recording::new();
        let first = build_records(dir.path(), &CORPUS, Analyzer::DEFAULT, &e);
        assert_eq!(
            (first.embedded_documents, first.manifest.documents.len()),
            (3, 3)
        );
        // "a" has four sentences: two windows.
        assert_eq!(e.take(), 4);

        let again = build_records(dir.path(), &CORPUS, Analyzer::DEFAULT, &e);
        assert!(again.up_to_date);
        assert_eq!(e.take(), 0);

        let changed = [CORPUS[0], ("b", "Kazachstan prosił ODKB o pomoc.")];
        let update = build_records(dir.path(), &changed, Analyzer::DEFAULT, &e);
        assert_eq!((update.embedded_documents, update.reused_documents), (1, 1));
        assert_eq!(update.removed_documents, ["c"]);
        assert_eq!(e.take(), 1);
    }

    #[test]
    fn another_analyzer_remakes_the_terms_and_keeps_the_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let e = Recording::new();
        build_records(dir.path(), &CORPUS, Analyzer::DEFAULT, &e);
        e.take();
        let plain = build_records(dir.path(), &CORPUS, Analyzer::Plain, &e);
        assert!(!plain.up_to_date, "the terms must be remade");
        assert_eq!(e.take(), 0, "no vector is made again");
        assert_eq!(plain.manifest.analyzer, "plain");
        let index = Index::open(dir.path()).unwrap().unwrap();
        // "prosił" is its own term under plain analysis (Snowball would stem it).
        let found = index
            .lexical_search(&Analyzer::Plain.terms("prosił"), 5, None)
            .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        let doc = index.passage(found[0].0).unwrap().doc;
        assert_eq!(doc, "b");
    }

    #[test]
    fn another_label_embeds_everything_again() {
        let dir = tempfile::tempdir().unwrap();
        let e = Recording::new();
        build_records(dir.path(), &CORPUS, Analyzer::DEFAULT, &e);
        e.take();
        let request = Request {
            index_dir: dir.path(),
            input: match records(&CORPUS) {
                Input::Records { records, .. } => Input::Records {
                    label: "other products".into(),
                    records,
                },
                files => files,
            },
            settings: settings(Analyzer::DEFAULT),
            rebuild: false,
            merge: store::MergePolicy::DEFAULT,
        };
        let report = build(request, &e, &Ui::new(true)).unwrap();
        assert_eq!(report.embedded_documents, 3);
        assert_eq!(e.take(), 4);
    }
}
