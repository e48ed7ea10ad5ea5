//! `akapit export DIR`: the index as Parquet files (documents, passages with their
//! citations, windows with their spans and vectors) for distributed vector stores' bulk
//! loaders, Spark or DuckDB.

use std::time::Instant;

use serde::Serialize;

use super::{print_json, print_text, Context, Error, Outcome, Result};
use crate::cli::{ExportArgs, ExportFormat};
use crate::export::{self, Options, WrittenFile};
use crate::ingest;

#[derive(Serialize)]
struct ExportJson<'a> {
    dir: String,
    format: &'static str,
    model: &'a str,
    dims: usize,
    documents: u64,
    passages: u64,
    windows: u64,
    bytes: u64,
    files: &'a [WrittenFile],
    seconds: f64,
}

pub fn run(ctx: &Context, args: ExportArgs) -> Result<Outcome> {
    let started = Instant::now();
    let index = ctx.open_index()?.ok_or_else(|| Error::NoIndex {
        dir: ctx.index_dir.clone(),
        command: ctx.index_command("PATH..."),
    })?;
    super::warn_stale(ctx, index.manifest());
    let ExportFormat::Parquet = args.format;
    let bar = ctx.ui.bar(
        index.manifest().documents.len() as u64,
        "exporting documents",
    );
    let done = export::parquet(&index, &args.dir, Options::DEFAULT, &mut |n| {
        bar.inc(n as u64)
    })?;
    bar.finish_and_clear();
    let m = &done.manifest;
    let bytes = m.files.iter().map(|f| f.bytes).sum();
    let seconds = started.elapsed().as_secs_f64();
    if ctx.json {
        print_json(&ExportJson {
            dir: ingest::to_text(&done.dir),
            format: "parquet",
            model: &m.model.name,
            dims: m.model.dims,
            documents: m.documents,
            passages: m.passages,
            windows: m.windows,
            bytes,
            files: &m.files,
            seconds: (seconds * 100.0).round() / 100.0,
        })?;
    } else {
        print_text(&format!(
            "{}: {} documents, {} passages, {} windows ({}, {} dimensions) in {} Parquet files, \
             {:.1} MB, in {:.1} s\n",
            ingest::display(&done.dir),
            m.documents,
            m.passages,
            m.windows,
            m.model.name,
            m.model.dims,
            m.files.len(),
            bytes as f64 / 1e6,
            seconds
        ))?;
    }
    Ok(Outcome::from_count(m.passages as usize))
}
