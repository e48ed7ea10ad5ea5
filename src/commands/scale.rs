//! `akapit bench-scale`: an index of up to millions of passages on one machine, measured.
//! Embedding a million passages takes this machine about 14 hours, so the benchmark's text
//! is real but its vectors are synthetic:
//! - the passages are recombined from the sentences of real indexed passages (`--from`,
//!   indexes built with `akapit index` or `akapit eval --keep-index`, vectors kept as f32),
//!   written as files of 50 paragraphs;
//! - each window's vector is a real window vector of those indexes (picked by a hash of the
//!   window's text) plus a small random perturbation, renormalised: neighbourhoods as dense
//!   as in the real index, so the graph has real work to do.
//!
//! The index itself is built by the ordinary pipeline and store, and timed without the
//! embedding. It reports disk size, then, in a fresh process, the peak memory while
//! asking, the dense, lexical and hybrid ranking latencies (the question's embedding
//! excluded) and the approximate search's recall@10 against exact search. Last, it times a
//! re-index after changing one file and after changing 1% of them. This is a benchmark
//! tool: the synthetic embedder never builds a user's index.

use std::cell::Cell;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{print_json, print_text, Context, Error, Outcome, Result};
use crate::cli::ScaleArgs;
use crate::embed::{self, Embedder, Role};
use crate::measure::{measure, own_peak_rss_mb, own_rss_parts_mb, percentile, synthetic_corpus};
use crate::pipeline::{self, Input, Request, Settings};
use crate::search::hybrid::Fusion;
use crate::search::{self, Mode, Query};
use crate::store::{Index, MergePolicy, ModelInfo, Scalar};
use crate::text::{Analyzer, WindowPolicy};
use crate::vector;

/// Written in the corpus folder once it holds all its files, unedited.
const COMPLETE: &str = ".complete";

/// Paragraphs per written file.
const PER_FILE: usize = 50;

/// Standard deviation of the noise added to each component of a real unit vector: at 384
/// dimensions the perturbed vector keeps a cosine of about 0.93 with its base.
const NOISE: f32 = 0.02;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Asked {
    /// Peak memory after the timed questions, before the exact search of the recall
    /// measurement (which reads every vector, so the whole file would count).
    peak_rss_mb: f64,
    /// Peak memory including the exact search.
    peak_rss_with_exact_mb: f64,
    /// Resident memory after the timed questions: anonymous (the process's own) and
    /// file-backed (pages of the memory-mapped index, which the kernel may reclaim).
    anonymous_mb: f64,
    file_backed_mb: f64,
    /// The graph searches' candidate list size, when not the index's own.
    expansion: Option<usize>,
    open_ms: f64,
    dense_p50_ms: f64,
    dense_p95_ms: f64,
    lexical_p50_ms: f64,
    lexical_p95_ms: f64,
    hybrid_p50_ms: f64,
    hybrid_p95_ms: f64,
    recall_at_10: f64,
    queries: usize,
}

#[derive(Debug, Default, Serialize)]
struct ScaleJson {
    /// Paragraphs written.
    passages: usize,
    /// Passages in the index (short paragraphs joined).
    indexed_passages: usize,
    files: usize,
    windows: usize,
    vectors: String,
    segments_after_build: usize,
    build_s: f64,
    build_embedding_s: f64,
    build_excluding_embedding_s: f64,
    disk_bytes: u64,
    asked: Asked,
    reindex_one_file_s: f64,
    reindex_one_percent_s: f64,
    reindex_one_percent_files: usize,
    segments_after_reindex: usize,
}

/// Real vectors with a perturbation chosen by a hash of the text.
struct Synthetic {
    bases: Vec<Vec<f32>>,
    dims: usize,
    spent: Cell<f64>,
}

fn hash(text: &str, salt: u64) -> u64 {
    // FNV-1a, then splitmix64 to spread it.
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ salt;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    splitmix(&mut h)
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Synthetic {
    fn vector(&self, seed: u64) -> Vec<f32> {
        let mut state = seed;
        let base = &self.bases[(splitmix(&mut state) % self.bases.len() as u64) as usize];
        let mut v: Vec<f32> = base
            .iter()
            .map(|x| {
                // A sum of four uniforms: near enough to a normal for a perturbation.
                let u: f32 = (0..4)
                    .map(|_| (splitmix(&mut state) >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
                    .sum();
                x + NOISE * u * 1.732
            })
            .collect();
        vector::normalize(&mut v);
        v
    }
}

impl Embedder for Synthetic {
    fn dims(&self) -> usize {
        self.dims
    }

    fn count_tokens(&self, text: &str, _role: Role) -> Result<usize, embed::Error> {
        Ok(text.len() / 4 + 2)
    }

    fn embed(
        &self,
        texts: &[&str],
        _role: Role,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, embed::Error> {
        let started = Instant::now();
        let out = texts.iter().map(|t| self.vector(hash(t, 1))).collect();
        progress(texts.len());
        self.spent
            .set(self.spent.get() + started.elapsed().as_secs_f64());
        Ok(out)
    }
}

/// The texts and window vectors of the real indexes in `from`.
fn material(from: &[PathBuf]) -> Result<(Vec<String>, Vec<Vec<f32>>, ModelInfo)> {
    let mut texts = Vec::new();
    let mut vectors = Vec::new();
    let mut model = None;
    for dir in from {
        let index = Index::open(dir)?.ok_or_else(|| Error::Vanished { dir: dir.clone() })?;
        let m = index.manifest();
        if m.vectors.scalar != Scalar::F32 {
            return Err(bench_error(format!(
                "{}: its vectors are stored as {}; give indexes kept as f32",
                dir.display(),
                m.vectors.scalar.as_str()
            )));
        }
        model.get_or_insert_with(|| m.model.clone());
        for doc in &m.documents {
            let Some((_, passages)) = index.document(&doc.path)? else {
                continue;
            };
            for passage in passages {
                texts.push(passage.text);
                vectors.extend(passage.windows.into_iter().map(|w| {
                    let mut v = w.vector;
                    vector::normalize(&mut v);
                    v
                }));
            }
        }
    }
    let model = model.ok_or_else(|| bench_error("give at least one index with --from".into()))?;
    if vectors.is_empty() {
        return Err(bench_error("the --from indexes hold no passages".into()));
    }
    Ok((texts, vectors, model))
}

/// Writes `passages` recombined passages as files of `PER_FILE` paragraphs, unless the
/// folder already holds exactly those.
fn write_corpus(docs: &Path, texts: &[String], passages: usize, ctx: &Context) -> Result<usize> {
    let files = passages.div_ceil(PER_FILE);
    let stamp = docs.join(COMPLETE);
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == passages.to_string()) {
        return Ok(files);
    }
    let _ = std::fs::remove_dir_all(docs);
    std::fs::create_dir_all(docs).map_err(Error::io(docs))?;
    let corpus = synthetic_corpus(texts, passages);
    let bar = ctx.ui.bar(files as u64, "writing");
    for (i, chunk) in corpus.chunks(PER_FILE).enumerate() {
        let path = file_name(docs, i);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(Error::io(folder))?;
        }
        std::fs::write(&path, chunk.join("\n\n") + "\n").map_err(Error::io(&path))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    std::fs::write(&stamp, passages.to_string()).map_err(Error::io(&stamp))?;
    Ok(files)
}

fn file_name(docs: &Path, i: usize) -> PathBuf {
    // Folders of 1,000 files, as a real archive would have.
    docs.join(format!("{:03}", i / 1000))
        .join(format!("doc-{i:07}.txt"))
}

fn request<'a>(index: &'a Path, docs: &Path, model: &ModelInfo, scalar: Scalar) -> Request<'a> {
    Request {
        index_dir: index,
        input: Input::Files(vec![docs.to_path_buf()]),
        settings: Settings {
            model: model.clone(),
            scalar,
            passage_tokens: pipeline::MAX_PASSAGE_TOKENS,
            analyzer: Analyzer::DEFAULT,
            windows: WindowPolicy::DEFAULT,
            titles: false,
        },
        rebuild: false,
        merge: MergePolicy::DEFAULT,
    }
}

pub fn run(ctx: &Context, args: ScaleArgs) -> Result<Outcome> {
    let (texts, bases, model) = material(&args.from)?;
    let synthetic = Synthetic {
        dims: model.dims,
        bases,
        spent: Cell::new(0.0),
    };
    let work = args.work.clone();
    let docs = work.join("docs");
    let index = work.join("index");
    let asked_path = work.join("asked.json");
    if args.ask_only {
        let asked = ask(&index, &synthetic, &texts, args.queries, args.expansion)?;
        let json = serde_json::to_vec(&asked).map_err(|e| bench_error(e.to_string()))?;
        std::fs::write(&asked_path, json).map_err(Error::io(&asked_path))?;
        return Ok(Outcome::Found);
    }
    let mut report = ScaleJson {
        passages: args.passages,
        vectors: args.vectors.as_str().into(),
        ..ScaleJson::default()
    };
    report.files = write_corpus(&docs, &texts, args.passages, ctx)?;

    // The build, from nothing.
    if index.exists() {
        std::fs::remove_dir_all(&index).map_err(Error::io(&index))?;
    }
    let started = Instant::now();
    let built = pipeline::build(
        request(&index, &docs, &model, args.vectors),
        &synthetic,
        &ctx.ui,
    )?;
    report.build_s = started.elapsed().as_secs_f64();
    report.build_embedding_s = synthetic.spent.get();
    report.build_excluding_embedding_s = report.build_s - report.build_embedding_s;
    report.windows = built.manifest.windows;
    // Short paragraphs are joined into passages by the chunker, as in any index.
    report.indexed_passages = built.manifest.passages;
    report.segments_after_build = built.manifest.segments.len();
    report.disk_bytes = Index::open(&index)?
        .ok_or_else(|| Error::Vanished { dir: index.clone() })?
        .size_on_disk()?;

    // Asking, in a process of its own, so that its peak memory is the asking's.
    let exe = std::env::current_exe().map_err(Error::io("the akapit binary"))?;
    let mut child = Command::new(exe);
    child
        .arg("bench-scale")
        .arg("--ask-only")
        .arg("--work")
        .arg(&work)
        .arg("--queries")
        .arg(args.queries.to_string())
        .arg("--quiet");
    if let Some(expansion) = args.expansion {
        child.arg("--expansion").arg(expansion.to_string());
    }
    for from in &args.from {
        child.arg("--from").arg(from);
    }
    let _ = std::fs::remove_file(&asked_path);
    let measured = measure(&mut child).map_err(Error::io("the asking process"))?;
    let json = std::fs::read(&asked_path).map_err(Error::io(&asked_path))?;
    report.asked = serde_json::from_slice(&json).map_err(|e| bench_error(e.to_string()))?;
    // The child's own peak, polled from outside, as a check on what it measured itself.
    report.asked.peak_rss_with_exact_mb = report
        .asked
        .peak_rss_with_exact_mb
        .max(measured.peak_rss_mb);

    // One file changed, then 1% of them.
    let files: Vec<PathBuf> = (0..report.files).map(|i| file_name(&docs, i)).collect();
    let append = |path: &Path, n: usize| -> Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(Error::io(path))?;
        writeln!(
            file,
            "\nDopisany akapit numer {n}: zmiana do ponownego indeksowania."
        )
        .map_err(Error::io(path))
    };
    // The corpus is no longer the one written: the next run writes it again.
    let stamp = docs.join(COMPLETE);
    std::fs::remove_file(&stamp).map_err(Error::io(&stamp))?;
    append(&files[files.len() / 2], 0)?;
    let started = Instant::now();
    pipeline::build(
        request(&index, &docs, &model, args.vectors),
        &synthetic,
        &ctx.ui,
    )?;
    report.reindex_one_file_s = started.elapsed().as_secs_f64();
    let step = 100;
    report.reindex_one_percent_files = files.len().div_ceil(step);
    for (n, path) in files.iter().step_by(step).enumerate() {
        append(path, n + 1)?;
    }
    let started = Instant::now();
    let after = pipeline::build(
        request(&index, &docs, &model, args.vectors),
        &synthetic,
        &ctx.ui,
    )?;
    report.reindex_one_percent_s = started.elapsed().as_secs_f64();
    report.segments_after_reindex = after.manifest.segments.len();

    if ctx.json {
        print_json(&report)?;
    } else {
        print_text(&table(&report))?;
    }
    Ok(Outcome::Found)
}

/// Opens the index and times the three rankings on `queries` questions.
fn ask(
    index: &Path,
    synthetic: &Synthetic,
    texts: &[String],
    queries: usize,
    expansion: Option<usize>,
) -> Result<Asked> {
    let started = Instant::now();
    let mut opened = Index::open(index)?.ok_or_else(|| Error::Vanished {
        dir: index.to_path_buf(),
    })?;
    if let Some(expansion) = expansion {
        opened.set_search_expansion(expansion);
    }
    let open_ms = started.elapsed().as_secs_f64() * 1e3;
    let analyzer: Analyzer = opened.manifest().analyzer.parse().map_err(bench_error)?;
    // Questions: a few words of a real passage, and a vector near a real window's.
    let questions: Vec<Query> = (0..queries as u64)
        .map(|i| {
            let mut state = i.wrapping_mul(7919);
            let text = &texts[(splitmix(&mut state) % texts.len() as u64) as usize];
            let words: Vec<&str> = text.split_whitespace().collect();
            let start = (splitmix(&mut state) as usize) % words.len().max(1);
            let question = words[start..(start + 6).min(words.len())].join(" ");
            Query {
                terms: analyzer.terms(&question),
                text: question,
                vector: Some(synthetic.vector(hash("query", i))),
            }
        })
        .collect();
    let mut asked = Asked {
        open_ms,
        queries,
        expansion,
        ..Asked::default()
    };
    // One untimed pass first: the figures are for an index whose pages are in memory, as
    // in a server or after a first question; the opening time is reported on its own.
    for mode in Mode::ALL {
        for query in &questions {
            search::rank(&opened, query, mode, Fusion::DEFAULT, 10, None)?;
        }
    }
    for mode in Mode::ALL {
        let mut times = Vec::with_capacity(questions.len());
        for query in &questions {
            let started = Instant::now();
            search::rank(&opened, query, mode, Fusion::DEFAULT, 10, None)?;
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
        let (p50, p95) = (percentile(&times, 0.5), percentile(&times, 0.95));
        match mode {
            Mode::Dense => (asked.dense_p50_ms, asked.dense_p95_ms) = (p50, p95),
            Mode::Lexical => (asked.lexical_p50_ms, asked.lexical_p95_ms) = (p50, p95),
            Mode::Hybrid => (asked.hybrid_p50_ms, asked.hybrid_p95_ms) = (p50, p95),
        }
    }
    asked.peak_rss_mb = own_peak_rss_mb();
    (asked.anonymous_mb, asked.file_backed_mb) = own_rss_parts_mb();
    let mut found = 0;
    let mut wanted = 0;
    for query in questions.iter().take(100) {
        let vector = query.vector.as_deref().unwrap_or_default();
        let approximate: Vec<u64> = opened
            .search(vector, 10, None)?
            .iter()
            .map(|m| m.id)
            .collect();
        let exact = opened.search_exact(vector, 10)?;
        wanted += exact.len();
        found += exact.iter().filter(|m| approximate.contains(&m.id)).count();
    }
    asked.recall_at_10 = found as f64 / wanted.max(1) as f64;
    asked.peak_rss_with_exact_mb = own_peak_rss_mb();
    Ok(asked)
}

fn bench_error(detail: String) -> Error {
    Error::Bench {
        what: "the scale benchmark".into(),
        detail,
    }
}

fn table(r: &ScaleJson) -> String {
    let a = &r.asked;
    format!(
        "| paragraphs written / passages indexed | {} / {} ({} files, {} windows, vectors {}) |\n\
         |---|---|\n\
         | build, excluding embedding | {:.1} s (embedding {:.1} s) |\n\
         | disk | {:.0} MB |\n\
         | peak RSS while asking | {:.0} MB (opening {:.0} ms; {:.0} MB after the exact search for recall) |\n\
         | RSS after asking: anonymous / mapped index pages | {:.0} / {:.0} MB |\n\
         | dense p50 / p95 | {:.2} / {:.2} ms |\n\
         | lexical p50 / p95 | {:.2} / {:.2} ms |\n\
         | hybrid p50 / p95 | {:.2} / {:.2} ms |\n\
         | ANN recall@10 (graph search expansion {}) | {:.4} |\n\
         | re-index, 1 file changed | {:.2} s |\n\
         | re-index, 1% of files changed ({}) | {:.2} s |\n\
         | segments after build / after re-indexing | {} / {} |\n",
        r.passages,
        r.indexed_passages,
        r.files,
        r.windows,
        r.vectors,
        r.build_excluding_embedding_s,
        r.build_embedding_s,
        r.disk_bytes as f64 / 1e6,
        a.peak_rss_mb,
        a.open_ms,
        a.peak_rss_with_exact_mb,
        a.anonymous_mb,
        a.file_backed_mb,
        a.dense_p50_ms,
        a.dense_p95_ms,
        a.lexical_p50_ms,
        a.lexical_p95_ms,
        a.hybrid_p50_ms,
        a.hybrid_p95_ms,
        a.expansion
            .map_or_else(|| "by size, the default".to_string(), |e| e.to_string()),
        a.recall_at_10,
        r.reindex_one_file_s,
        r.reindex_one_percent_files,
        r.reindex_one_percent_s,
        r.segments_after_build,
        r.segments_after_reindex,
    )
}
