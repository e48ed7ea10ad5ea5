//! `akapit eval DIR`: the corpus of a BEIR-style set indexed through the pipeline (each
//! record one passage, searched through its sentence windows like any other), every query
//! ranked in each mode, and nDCG@10, recall@10, recall@100, MRR@10 and query latency
//! reported. `--run` writes the rankings for other scorers; `--keep-index` keeps the
//! embedded corpus, so the next run embeds only records that changed.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::{model_info, print_json, print_text, Context, Error, Outcome, Result};
use crate::cli::{EvalArgs, Titles};
use crate::embed::{Embedder, LazyModel};
use crate::eval::{score, write_run, Dataset, Metrics};
use crate::ingest;
use crate::measure::percentile;
use crate::models::registry;
use crate::pipeline::{self, Input, Record, Request, Settings};
use crate::search::{self, Mode, Query};
use crate::store::Index;

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
    let spec = match &args.model {
        Some(name) => registry::get(name)?,
        None => registry::default_model(),
    };
    let dims = spec.check_dims(args.dims.unwrap_or(spec.dims))?;
    let products = ctx.precision.products(spec);
    let located = ctx.resolver.resolve(spec, &ctx.ui)?;
    let settings = Settings {
        model: model_info(&located, dims)?,
        passage_tokens: pipeline::passage_tokens(spec.max_tokens),
        analyzer: args.analyzer,
        windows: args.windows,
        titles: args.titles == Titles::Context,
        scalar: args.vectors.unwrap_or(pipeline::DEFAULT_SCALAR),
    };
    let model = LazyModel::new(located, ctx.precision, dims);

    let temporary;
    let index_dir = match &args.keep_index {
        Some(dir) => dir.clone(),
        None => {
            temporary = tempfile::tempdir().map_err(Error::io(std::env::temp_dir()))?;
            temporary.path().to_path_buf()
        }
    };
    let records = data
        .corpus
        .iter()
        .map(|r| {
            let title = Some(r.title.trim().to_string()).filter(|t| !t.is_empty());
            match args.titles {
                Titles::Inline => Record {
                    id: r.id.clone(),
                    text: r.passage(),
                    title: None,
                },
                Titles::Context => Record {
                    id: r.id.clone(),
                    text: r.text.clone(),
                    title,
                },
                Titles::None => Record {
                    id: r.id.clone(),
                    text: r.text.clone(),
                    title: None,
                },
            }
        })
        .collect();
    let request = Request {
        index_dir: &index_dir,
        // Vectors made with other products are not mixed into this run's.
        input: Input::Records {
            label: format!("eval:{products}"),
            records,
        },
        settings,
        rebuild: false,
        merge: crate::store::MergePolicy::DEFAULT,
    };
    let report = pipeline::build(request, &model, &ctx.ui)?;
    if report.up_to_date {
        ctx.ui.note(format!(
            "reusing the corpus index in {}",
            ingest::display(&index_dir)
        ));
    }
    let index = Index::open(&index_dir)?.ok_or_else(|| Error::Vanished {
        dir: index_dir.clone(),
    })?;
    let corpus_id = corpus_ids(&index)?;

    let queries: Vec<_> = data
        .queries
        .iter()
        .filter(|q| data.qrels.contains_key(&q.id))
        .take(args.limit.unwrap_or(usize::MAX))
        .collect();
    if queries.is_empty() {
        return Err(Error::NoJudgedQueries {
            dir: args.dir.clone(),
        });
    }
    let judged: Vec<String> = queries.iter().map(|q| q.id.clone()).collect();
    let embedder = (modes.iter().any(|m| m.needs_model()) || args.candidates.is_some())
        .then_some(&model as &dyn Embedder);
    if embedder.is_some() {
        // Loaded before the clock starts, not inside the first query's latency.
        model.get()?;
    }
    let mut runs: HashMap<Mode, HashMap<String, Vec<String>>> = HashMap::new();
    let mut latencies: HashMap<Mode, Vec<f64>> = HashMap::new();
    let mut candidates = match &args.candidates {
        Some(path) => Some((
            path,
            std::io::BufWriter::new(std::fs::File::create(path).map_err(Error::io(path))?),
        )),
        None => None,
    };
    let bar = ctx.ui.bar(queries.len() as u64, "queries");
    for q in &queries {
        let started = Instant::now();
        let query = Query::new(&q.text, embedder, args.analyzer)?;
        let embed_ms = started.elapsed().as_secs_f64() * 1000.0;
        if let Some((path, out)) = &mut candidates {
            let line = candidates_of(&index, &corpus_id, &q.id, &query)?;
            writeln!(out, "{line}").map_err(Error::io(*path))?;
        }
        for &mode in &modes {
            let started = Instant::now();
            let ranked = search::rank(&index, &query, mode, args.fusion, args.k, None)?;
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
    if let Some((path, mut out)) = candidates {
        out.flush().map_err(Error::io(path))?;
    }

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
        products: products.to_string(),
        analyzer: args.analyzer.to_string(),
        fusion: args.fusion.to_string(),
        indexed: match args.titles {
            Titles::Inline => "title and text",
            Titles::Context => "text, with the title as each window's title",
            Titles::None => "text only",
        },
        results,
    };
    if ctx.json {
        print_json(&report)?;
    } else {
        print_text(&table(&report))?;
    }
    Ok(Outcome::Found)
}

/// One query's candidates for tuning fusion offline: the top 100 of each ranking with their
/// scores (dense ones also with the cosine of the passage's mean window vector), and the
/// question's keyword coverage.
fn candidates_of(
    index: &Index,
    corpus_id: &HashMap<u64, String>,
    query_id: &str,
    query: &Query,
) -> Result<serde_json::Value> {
    const DEPTH: usize = 100;
    let dense = match &query.vector {
        Some(vector) => index
            .search(vector, DEPTH, None)?
            .into_iter()
            .map(|m| {
                let mean = crate::vector::dot(&index.passage_vector(m.id)?, vector);
                Ok(serde_json::json!([corpus_id.get(&m.id), m.score, mean]))
            })
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    let lexical: Vec<serde_json::Value> = index
        .lexical_search(&query.terms, DEPTH, None)?
        .into_iter()
        .map(|(id, score)| serde_json::json!([corpus_id.get(&id), score]))
        .collect();
    let coverage = crate::search::hybrid::coverage(index, &query.terms)?;
    Ok(serde_json::json!({
        "query_id": query_id,
        "terms": query.terms.len(),
        "coverage": coverage,
        "dense": dense,
        "lexical": lexical,
    }))
}

/// Passage id → corpus id (each record is a document named by its id).
fn corpus_ids(index: &Index) -> Result<HashMap<u64, String>> {
    let mut ids = HashMap::with_capacity(index.manifest().passages);
    for doc in &index.manifest().documents {
        for passage in index.document_passages(&doc.path)? {
            ids.insert(passage.id, passage.doc);
        }
    }
    Ok(ids)
}

/// `run.jsonl` → `run.dense.jsonl` when several modes share one `--run`.
fn run_file(file: &Path, mode: Mode, several: bool) -> PathBuf {
    if !several {
        return file.to_path_buf();
    }
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match file.extension() {
        Some(ext) => format!("{stem}.{}.{}", mode.as_str(), ext.to_string_lossy()),
        None => format!("{stem}.{}", mode.as_str()),
    };
    file.with_file_name(name)
}

fn table(r: &EvalJson) -> String {
    let mut out = format!(
        "{}: {} passages, {} queries, {} ({} dims, {} products, analyzer {}, hybrid {})\n\n{:<8} {:>8} {:>10} {:>11} {:>7} {:>9} {:>9}\n",
        r.dataset, r.corpus, r.queries, r.model, r.dims, r.products, r.analyzer, r.fusion, "mode", "nDCG@10", "recall@10", "recall@100", "MRR@10", "p50 ms", "p95 ms"
    );
    for m in &r.results {
        out.push_str(&format!(
            "{:<8} {:>8.4} {:>10.4} {:>11.4} {:>7.4} {:>9.1} {:>9.1}\n",
            m.mode.as_str(),
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
