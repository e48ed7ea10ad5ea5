//! `akapit status`: what is indexed, with which model, and what changed since.

use serde::Serialize;

use super::{print_json, print_text, Context, Error, Outcome, Result};
use crate::ingest::display_path;
use crate::pipeline::freshness;

#[derive(Serialize)]
struct StatusJson {
    index: String,
    format_version: u32,
    built_at: String,
    model: crate::store::ModelInfo,
    chunker_version: u32,
    roots: Vec<String>,
    documents: Vec<DocumentJson>,
    passages: usize,
    size_bytes: u64,
    stale: Vec<StaleJson>,
}

#[derive(Serialize)]
struct DocumentJson {
    path: String,
    passages: usize,
    bytes: u64,
    sha256: String,
}

#[derive(Serialize)]
struct StaleJson {
    path: String,
    change: &'static str,
}

pub fn run(ctx: &Context) -> Result<Outcome> {
    let index = ctx.open_index()?.ok_or_else(|| Error::NoIndex {
        dir: ctx.index_dir.clone(),
    })?;
    let m = index.manifest();
    let stale = freshness::stale_and_new(m);
    let size = index.size_on_disk()?;
    if ctx.json {
        print_json(&StatusJson {
            index: ctx.index_dir.display().to_string(),
            format_version: m.format_version,
            built_at: m.built_at.clone(),
            model: m.model.clone(),
            chunker_version: m.chunker_version,
            roots: m.roots.iter().map(|r| display_path(r)).collect(),
            documents: m
                .documents
                .iter()
                .map(|d| DocumentJson {
                    path: display_path(&d.path),
                    passages: d.passages,
                    bytes: d.bytes,
                    sha256: d.sha256.clone(),
                })
                .collect(),
            passages: m.passages,
            size_bytes: size,
            stale: stale
                .iter()
                .map(|s| StaleJson {
                    path: display_path(&s.path),
                    change: s.change.as_str(),
                })
                .collect(),
        })?;
        return Ok(Outcome::from_count(m.documents.len()));
    }
    let mut text = format!(
        "index:      {} (format {}, built {})\nmodel:      {} ({}, {} dims, weights sha256 {}…)\ncontents:   {} documents, {} passages, {:.1} MB on disk\nfolders:    {}\n",
        ctx.index_dir.display(),
        m.format_version,
        m.built_at,
        m.model.name,
        m.model.revision,
        m.model.dims,
        &m.model.sha256[..m.model.sha256.len().min(12)],
        m.documents.len(),
        m.passages,
        size as f64 / 1e6,
        m.roots.iter().map(|r| display_path(r)).collect::<Vec<_>>().join(", "),
    );
    text.push_str("documents:\n");
    for d in &m.documents {
        text.push_str(&format!(
            "  {:>4} passages  {}\n",
            d.passages,
            display_path(&d.path)
        ));
    }
    if stale.is_empty() {
        text.push_str("stale:      none (every indexed file is unchanged)\n");
    } else {
        text.push_str(&format!(
            "stale:      {} (run `akapit index` to update)\n",
            stale.len()
        ));
        for s in &stale {
            text.push_str(&format!(
                "  {:<8} {}\n",
                s.change.as_str(),
                display_path(&s.path)
            ));
        }
    }
    print_text(&text)?;
    Ok(Outcome::from_count(m.documents.len()))
}
