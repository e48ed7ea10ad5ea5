//! `akapit index`: build or update the index from files and folders.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::{
    model_info, passage_tokens, print_json, print_text, Context, LazyModel, DEFAULT_CORPUS,
};
use crate::build;
use crate::cli::IndexArgs;
use crate::error::{Error, Outcome, Result};
use crate::models::registry;
use crate::output::display_path;
use crate::search::analyze::Analyzer;

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

pub fn run(ctx: &Context, args: IndexArgs) -> Result<Outcome> {
    let started = Instant::now();
    // A broken previous index must not stop a rebuild, so its manifest is only a hint.
    let previous = ctx
        .open_index()
        .ok()
        .flatten()
        .map(|i| i.manifest().clone());
    let name = args
        .model
        .clone()
        .or_else(|| previous.as_ref().map(|m| m.model.name.clone()))
        .unwrap_or_else(|| registry::default_model().name.clone());
    let spec = registry::get(&name)?;
    let roots = if !args.paths.is_empty() {
        args.paths.clone()
    } else if let Some(previous) = previous.as_ref().filter(|m| !m.roots.is_empty()) {
        previous.roots.iter().map(PathBuf::from).collect()
    } else if PathBuf::from(DEFAULT_CORPUS).is_dir() {
        vec![PathBuf::from(DEFAULT_CORPUS)]
    } else {
        return Err(Error::Usage(format!(
            "no paths given and no {DEFAULT_CORPUS}/ folder here; say what to index: akapit index PATH..."
        )));
    };
    // The vector size: as asked, else as before (same model), else the model's own.
    let dims = match args.dims {
        Some(dims) => spec.check_dims(dims).map_err(Error::Usage)?,
        None => previous
            .as_ref()
            .filter(|m| m.model.name == spec.name)
            .and_then(|m| spec.check_dims(m.model.dims).ok())
            .unwrap_or(spec.dims),
    };
    let located = ctx.resolver.resolve(spec, &ctx.ui)?;
    let request = build::Request {
        index_dir: &ctx.index_dir,
        roots,
        model: model_info(&located, dims)?,
        max_tokens: passage_tokens(spec),
        analyzer: Analyzer::DEFAULT,
        rebuild: args.rebuild,
    };
    let report = build::build(
        request,
        &mut LazyModel::new(located, dims, ctx.precision),
        &ctx.ui,
    )?;
    let m = &report.manifest;
    let seconds = started.elapsed().as_secs_f64();
    if ctx.json {
        print_json(&IndexJson {
            index: ctx.index_dir.display().to_string(),
            model: m.model.name.clone(),
            documents: m.documents.len(),
            passages: m.passages,
            embedded_documents: report.embedded_documents,
            embedded_passages: report.embedded_passages,
            unchanged_documents: report.reused_documents,
            removed_documents: report
                .removed_documents
                .iter()
                .map(|d| display_path(d))
                .collect(),
            up_to_date: report.up_to_date,
            seconds: (seconds * 100.0).round() / 100.0,
        })?;
    } else if report.up_to_date {
        print_text(&format!(
            "{}: up to date ({} documents, {} passages, nothing changed)\n",
            ctx.index_dir.display(),
            m.documents.len(),
            m.passages
        ))?;
    } else {
        let mut text = format!(
            "{}: {} documents, {} passages with {} ({} documents embedded, {} unchanged, {} removed) in {:.1} s\n",
            ctx.index_dir.display(),
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
