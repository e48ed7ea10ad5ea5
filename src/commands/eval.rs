//! `akapit eval DIR`: index a BEIR-style corpus (each record one passage, searched through
//! its sentence windows like any other), run every query in each mode, and report nDCG@10,
//! recall@10, recall@100, MRR@10 and query latency. `--run` writes the rankings for the
//! shared scorer; `--keep-index` reuses the embedded corpus across runs.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::{model_info, print_json, print_text, Context};
use crate::bench::percentile;
use crate::checksum::sha256_hex;
use crate::cli::EvalArgs;
use crate::embed::{Embedder, Model, Role};
use crate::error::{Error, Outcome, Result};
use crate::eval::{score, Dataset, Metrics};
use crate::ingest;
use crate::models::{registry, Located};
use crate::search::analyze::Analyzer;
use crate::search::{self, Mode, Query};
use crate::store::{self, DocumentInfo, Index, NewPassage, NewWindow};

#[derive(Serialize)]
struct ModeResult {
    mode: Mode,
    #[serde(flatten)]
    metrics: Metrics,
    latency_p50_ms: f64,
    latency_p95_ms: f64,
}

#[derive(Serialize)]
struct EvalJson {
    dataset: String,
    corpus: usize,
    queries: usize,
    model: String,
    dims: usize,
    /// `f32` or `bf16`: the arithmetic of the encoder's products.
    products: String,
    analyzer: String,
    fusion: String,
    indexed: &'static str,
    results: Vec<ModeResult>,
}

pub fn run(ctx: &Context, args: EvalArgs) -> Result<Outcome> {
    let data = Dataset::read(&args.dir)?;
    let mut modes = if args.mode.is_empty() {
        Mode::ALL.to_vec()
    } else {
        args.mode.clone()
    };
    modes.dedup();
    let fusion = args.fusion;
    let spec = match &args.model {
        Some(name) => registry::get(name)?,
        None => registry::default_model(),
    };
    let dims = spec
        .check_dims(args.dims.unwrap_or(spec.dims))
        .map_err(Error::Usage)?;
    let located = ctx.resolver.resolve(spec, &ctx.ui)?;
    let model = Model::load(&located, ctx.precision)?.with_dims(dims)?;

    let temporary;
    let index_dir = match &args.keep_index {
        Some(dir) => dir.clone(),
        None => {
            temporary = tempfile::tempdir().map_err(|source| Error::Io {
                path: std::env::temp_dir(),
                source,
            })?;
            temporary.path().to_path_buf()
        }
    };
    let index = corpus_index(ctx, &data, &index_dir, &located, &model, args.analyzer)?;
    let corpus_id = corpus_ids(&index)?;

    let queries: Vec<_> = data
        .queries
        .iter()
        .filter(|q| data.qrels.contains_key(&q.id))
        .take(args.limit.unwrap_or(usize::MAX))
        .collect();
    if queries.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no query has judgements in qrels.tsv",
            args.dir.display()
        )));
    }
    let judged: Vec<String> = queries.iter().map(|q| q.id.clone()).collect();
    let mut runs: HashMap<Mode, HashMap<String, Vec<String>>> = HashMap::new();
    let mut latencies: HashMap<Mode, Vec<f64>> = HashMap::new();
    let bar = ctx.ui.bar(queries.len() as u64, "queries");
    for q in &queries {
        let started = Instant::now();
        let embedder = modes
            .iter()
            .any(|m| m.needs_model())
            .then_some(&model as &dyn Embedder);
        let query = Query::new(&q.text, embedder, args.analyzer)?;
        let embed_ms = started.elapsed().as_secs_f64() * 1000.0;
        for &mode in &modes {
            let started = Instant::now();
            let ranked = search::rank(&index, &query, mode, fusion, args.k, None)?;
            let mut ms = started.elapsed().as_secs_f64() * 1000.0;
            if mode.needs_model() {
                ms += embed_ms;
            }
            latencies.entry(mode).or_default().push(ms);
            let ids = ranked
                .iter()
                .filter_map(|r| corpus_id.get(&r.id).cloned())
                .collect();
            runs.entry(mode).or_default().insert(q.id.clone(), ids);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let mut results = Vec::new();
    for &mode in &modes {
        let run = &runs[&mode];
        let lat = &latencies[&mode];
        results.push(ModeResult {
            mode,
            metrics: score(&data.qrels, run, &judged),
            latency_p50_ms: percentile(lat, 0.5),
            latency_p95_ms: percentile(lat, 0.95),
        });
        if let Some(file) = &args.run {
            write_run(&run_file(file, mode, modes.len() > 1), run, &judged)?;
        }
    }
    let report = EvalJson {
        dataset: args.dir.display().to_string(),
        corpus: data.corpus.len(),
        queries: judged.len(),
        model: spec.name.clone(),
        dims,
        products: model.products().to_string(),
        analyzer: args.analyzer.to_string(),
        fusion: fusion.to_string(),
        indexed: "title and text",
        results,
    };
    if ctx.json {
        print_json(&report)?;
    } else {
        print_text(&table(&report))?;
    }
    Ok(Outcome::Found)
}

/// The corpus as an index: reused from `dir` when it holds this very corpus, model,
/// arithmetic and analyzer, else built there (each record one document with one passage).
fn corpus_index(
    ctx: &Context,
    data: &Dataset,
    dir: &Path,
    located: &Located,
    model: &Model,
    analyzer: Analyzer,
) -> Result<Index> {
    let corpus_bytes =
        std::fs::read(data.dir.join("corpus.jsonl")).map_err(|source| Error::Io {
            path: data.dir.join("corpus.jsonl"),
            source,
        })?;
    let fingerprint = format!(
        "eval-corpus:{}:{}",
        sha256_hex(&corpus_bytes),
        model.products()
    );
    let info = model_info(located, model.dims())?;
    let previous = Index::open(dir).ok().flatten().filter(|index| {
        let m = index.manifest();
        m.roots == [fingerprint.clone()]
            && m.model == info
            && m.chunker_version == ingest::CHUNKER_VERSION
    });
    if let Some(index) = &previous {
        if index.manifest().analyzer == analyzer.to_string() {
            ctx.ui
                .note(format!("reusing the corpus index in {}", dir.display()));
            return Index::open(dir)?
                .ok_or_else(|| Error::Usage(format!("{} vanished", dir.display())));
        }
    }
    let passages: Vec<String> = data.corpus.iter().map(|r| r.passage()).collect();
    let windows: Vec<Vec<std::ops::Range<usize>>> =
        passages.iter().map(|p| ingest::windows(p)).collect();
    let mut vectors = match &previous {
        // Same corpus and model, another analyzer: only the terms change.
        Some(index) => {
            ctx.ui.note(format!(
                "reusing the embedded windows in {} with analyzer {analyzer}",
                dir.display()
            ));
            let mut out = Vec::new();
            for record in &data.corpus {
                for passage in index.document_passages(&record.id)? {
                    out.extend(index.windows(passage.id)?.into_iter().map(|(_, v)| v));
                }
            }
            out
        }
        None => {
            let texts: Vec<&str> = passages
                .iter()
                .zip(&windows)
                .flat_map(|(p, spans)| spans.iter().map(move |s| &p[s.clone()]))
                .collect();
            let bar = ctx.ui.bar(texts.len() as u64, "embedding");
            bar.set_message(format!("windows of {} passages", passages.len()));
            let vectors = model.embed(&texts, Role::Passage, &mut |n| bar.inc(n as u64))?;
            bar.finish_and_clear();
            vectors
        }
    }
    .into_iter();
    drop(previous);

    let mut builder = store::Builder::create(
        dir,
        info,
        ingest::CHUNKER_VERSION,
        analyzer.to_string(),
        vec![fingerprint],
    )?;
    for ((record, text), spans) in data.corpus.iter().zip(passages).zip(windows) {
        let windows = NewWindow::zip(&spans, &mut vectors);
        let passage = NewPassage {
            paragraph: 1,
            start_line: 1,
            end_line: 1,
            terms: analyzer.terms(&text).join(" "),
            text,
            windows,
        };
        let doc = DocumentInfo {
            path: record.id.clone(),
            sha256: sha256_hex(record.text.as_bytes()),
            bytes: record.text.len() as u64,
            modified: None,
            passages: 1,
        };
        builder.add_document(doc, vec![passage])?;
    }
    builder.commit()?;
    Index::open(dir)?.ok_or_else(|| {
        Error::Usage(format!(
            "the corpus index in {} was not written",
            dir.display()
        ))
    })
}

/// Passage id → corpus id (each record is a document named by its id).
fn corpus_ids(index: &Index) -> Result<HashMap<u64, String>> {
    let ids: Vec<u64> = (1..=index.manifest().passages as u64).collect();
    Ok(index
        .passages(&ids)?
        .into_iter()
        .map(|p| (p.id, p.doc))
        .collect())
}

/// `run.jsonl` → `run.dense.jsonl` when several modes share one `--run`.
fn run_file(file: &Path, mode: Mode, several: bool) -> PathBuf {
    if !several {
        return file.to_path_buf();
    }
    let mode = format!("{mode:?}").to_lowercase();
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match file.extension() {
        Some(ext) => format!("{stem}.{mode}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{mode}"),
    };
    file.with_file_name(name)
}

fn write_run(path: &Path, run: &HashMap<String, Vec<String>>, order: &[String]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    for query in order {
        let results = run.get(query).cloned().unwrap_or_default();
        writeln!(
            out,
            "{}",
            serde_json::json!({ "query_id": query, "results": results })
        )
        .map_err(io)?;
    }
    out.flush().map_err(io)
}

fn table(r: &EvalJson) -> String {
    let mut out = format!(
        "{}: {} passages, {} queries, {} ({} dims, {} products, analyzer {}, hybrid {})\n\n{:<8} {:>8} {:>10} {:>11} {:>7} {:>9} {:>9}\n",
        r.dataset, r.corpus, r.queries, r.model, r.dims, r.products, r.analyzer, r.fusion, "mode", "nDCG@10", "recall@10", "recall@100", "MRR@10", "p50 ms", "p95 ms"
    );
    for m in &r.results {
        out.push_str(&format!(
            "{:<8} {:>8.4} {:>10.4} {:>11.4} {:>7.4} {:>9.1} {:>9.1}\n",
            format!("{:?}", m.mode).to_lowercase(),
            m.metrics.ndcg10,
            m.metrics.recall10,
            m.metrics.recall100,
            m.metrics.mrr10,
            m.latency_p50_ms,
            m.latency_p95_ms
        ));
    }
    out
}
