//! `akapit index`: build or update the index from files and folders. `Plan` is the one
//! place that decides what an index run means (model, vector size, roots), for `index`
//! and for the first `ask` of a new project alike.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::{model_info, print_json, print_text, Context, Error, Outcome, Result, DEFAULT_CORPUS};
use crate::cli::IndexArgs;
use crate::embed::{Embedder, LazyModel, Model};
use crate::ingest::{self, display_path};
use crate::models::{registry, ModelSpec};
use crate::pipeline::{self, Input, Report, Request, Settings};
use crate::store::{Manifest, MergePolicy, Scalar};
use crate::text::{Analyzer, WindowPolicy};

#[derive(Serialize)]
struct IndexJson {
    index: String,
    model: String,
    documents: usize,
    passages: usize,
    embedded_documents: usize,
    embedded_passages: usize,
    unchanged_documents: usize,
    removed_documents: Vec<String>,
    up_to_date: bool,
    seconds: f64,
}

/// What an `index` run builds.
pub struct Plan {
    pub spec: &'static ModelSpec,
    /// The vector size (the model's, or a Matryoshka truncation it supports).
    pub dims: usize,
    pub roots: Vec<PathBuf>,
    pub rebuild: bool,
    /// How the vector index stores vectors.
    pub scalar: Scalar,
    /// Merge every segment into one.
    pub optimize: bool,
}

impl Plan {
    /// What `akapit index [PATHS] [--model NAME] [--dims N]` means. Whatever is not given
    /// comes from the index's manifest (read leniently, even when the index is damaged or of
    /// another format, so that a rebuild keeps the user's folders and model), else from the
    /// defaults: `seeds/` and the default model at its full size.
    pub fn new(
        ctx: &Context,
        paths: Vec<PathBuf>,
        model: Option<&str>,
        dims: Option<usize>,
        rebuild: bool,
        scalar: Option<Scalar>,
    ) -> Result<Plan> {
        let previous = Manifest::read_hints(&ctx.index_dir);
        let spec = match model.or(previous.as_ref().and_then(|m| m.model.as_deref())) {
            Some(name) => registry::get(name)?,
            None => registry::default_model(),
        };
        let roots = if !paths.is_empty() {
            paths
        } else if let Some(previous) = previous.as_ref().filter(|m| !m.roots.is_empty()) {
            previous.roots.iter().map(|r| ingest::path_of(r)).collect()
        } else if PathBuf::from(DEFAULT_CORPUS).is_dir() {
            vec![PathBuf::from(DEFAULT_CORPUS)]
        } else {
            return Err(Error::NoPaths {
                command: ctx.index_command("PATH..."),
            });
        };
        // The vector size: as asked, else as before (same model), else the model's own.
        let dims = match dims {
            Some(dims) => spec.check_dims(dims)?,
            None => previous
                .as_ref()
                .filter(|m| m.model.as_deref() == Some(spec.name.as_str()))
                .and_then(|m| m.dims)
                .and_then(|dims| spec.check_dims(dims).ok())
                .unwrap_or(spec.dims),
        };
        let scalar = scalar
            .or(previous.as_ref().and_then(|m| m.scalar))
            .unwrap_or(pipeline::DEFAULT_SCALAR);
        Ok(Plan {
            spec,
            dims,
            roots,
            rebuild,
            scalar,
            optimize: false,
        })
    }
}

/// Runs the pipeline for `plan`; the model is fetched if needed, and loaded only if
/// something changed.
pub fn build(ctx: &Context, plan: &Plan) -> Result<Report> {
    build_with(ctx, plan, None)
}

/// `build`, embedding with `loaded` when it is the very model and size the plan needs (a
/// server's watcher shares the server's model instead of loading a second copy).
pub fn build_with(ctx: &Context, plan: &Plan, loaded: Option<&'static Model>) -> Result<Report> {
    let located = ctx.resolver.resolve(plan.spec, &ctx.ui)?;
    let request = Request {
        index_dir: &ctx.index_dir,
        input: Input::Files(plan.roots.clone()),
        settings: Settings {
            model: model_info(&located, plan.dims)?,
            passage_tokens: pipeline::passage_tokens(plan.spec.max_tokens),
            analyzer: Analyzer::DEFAULT,
            windows: WindowPolicy::DEFAULT,
            titles: pipeline::TITLES,
            scalar: plan.scalar,
        },
        rebuild: plan.rebuild,
        merge: match plan.optimize {
            true => MergePolicy::OPTIMIZE,
            false => MergePolicy::DEFAULT,
        },
    };
    let same = |m: &&Model| m.spec().name == plan.spec.name && m.dims() == plan.dims;
    if let Some(model) = loaded.filter(same) {
        return Ok(pipeline::build(request, model, &ctx.ui)?);
    }
    let model = LazyModel::new(located, ctx.precision, plan.dims);
    Ok(pipeline::build(request, &model, &ctx.ui)?)
}

pub fn run(ctx: &Context, args: IndexArgs) -> Result<Outcome> {
    let started = Instant::now();
    let mut paths = args.paths;
    if let Some(list) = &args.files_from {
        let text = std::fs::read_to_string(list).map_err(|source| Error::Io {
            path: list.clone(),
            source,
        })?;
        paths.extend(
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(PathBuf::from),
        );
        // An empty list means nothing to index, not "the index's folders".
        if paths.is_empty() {
            return Err(Error::NoPaths {
                command: ctx.index_command("PATH..."),
            });
        }
    }
    let mut plan = Plan::new(
        ctx,
        paths,
        args.model.as_deref(),
        args.dims,
        args.rebuild,
        args.vectors,
    )?;
    plan.optimize = args.optimize;
    let report = build(ctx, &plan)?;
    let m = &report.manifest;
    let seconds = started.elapsed().as_secs_f64();
    if ctx.json {
        print_json(&IndexJson {
            index: ingest::to_text(&ctx.index_dir),
            model: m.model.name.clone(),
            documents: m.documents.len(),
            passages: m.passages,
            embedded_documents: report.embedded_documents,
            embedded_passages: report.embedded_passages,
            unchanged_documents: report.reused_documents,
            removed_documents: report
                .removed_documents
                .iter()
                .map(|d| ingest::relative(d))
                .collect(),
            up_to_date: report.up_to_date,
            seconds: (seconds * 100.0).round() / 100.0,
        })?;
    } else if report.up_to_date {
        print_text(&format!(
            "{}: up to date ({} documents, {} passages, nothing changed)\n",
            ingest::display(&ctx.index_dir),
            m.documents.len(),
            m.passages
        ))?;
    } else {
        let mut text = format!(
            "{}: {} documents, {} passages with {} ({} documents embedded, {} unchanged, {} removed) in {:.1} s\n",
            ingest::display(&ctx.index_dir),
            m.documents.len(),
            m.passages,
            m.model.name,
            report.embedded_documents,
            report.reused_documents,
            report.removed_documents.len(),
            seconds
        );
        for removed in &report.removed_documents {
            text.push_str(&format!("  removed {}\n", display_path(removed)));
        }
        print_text(&text)?;
    }
    Ok(Outcome::from_count(m.documents.len()))
}
