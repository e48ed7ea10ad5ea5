//! `akapit status`: what is indexed, with which model, what changed since, what was
//! skipped and why, and whether the index's files are intact (checked against the
//! checksums in the manifest, and by SQLite's quick check).

use serde::Serialize;

use super::{print_json, print_text, Context, Error, Outcome, Result};
use crate::ingest::{self, display_path};
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
    skipped: Vec<SkippedJson>,
    /// `null` when every file matches its checksum, else what is damaged.
    damage: Option<String>,
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

#[derive(Serialize)]
struct SkippedJson {
    path: String,
    reason: String,
}

pub fn run(ctx: &Context) -> Result<Outcome> {
    let index = ctx.open_index()?.ok_or_else(|| Error::NoIndex {
        dir: ctx.index_dir.clone(),
        command: ctx.index_command("PATH..."),
    })?;
    let m = index.manifest();
    let stale = freshness::stale_and_new(m);
    let size = index.size_on_disk()?;
    let damage = index.verify().err();
    if ctx.json {
        print_json(&StatusJson {
            index: ingest::to_text(&ctx.index_dir),
            format_version: m.format_version,
            built_at: m.built_at.clone(),
            model: m.model.clone(),
            chunker_version: m.chunker_version,
            roots: m.roots.iter().map(|r| ingest::relative(r)).collect(),
            documents: m
                .documents
                .iter()
                .map(|d| DocumentJson {
                    path: ingest::relative(&d.path),
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
                    path: ingest::relative(&s.path),
                    change: s.change.as_str(),
                })
                .collect(),
            skipped: m
                .skipped
                .iter()
                .map(|s| SkippedJson {
                    path: ingest::relative(&s.path),
                    reason: s.reason.clone(),
                })
                .collect(),
            damage: damage.as_ref().map(|e| e.to_string()),
        })?;
    } else {
        let mut text = format!(
            "index:      {} (format {}, built {})\nmodel:      {} ({}, {} dims, weights sha256 {}…)\ncontents:   {} documents, {} passages, {:.1} MB on disk\nfolders:    {}\n",
            ingest::display(&ctx.index_dir),
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
        if !m.skipped.is_empty() {
            text.push_str(&format!("skipped:    {} (not indexed)\n", m.skipped.len()));
            for s in &m.skipped {
                text.push_str(&format!("  {}: {}\n", display_path(&s.path), s.reason));
            }
        }
        if stale.is_empty() {
            text.push_str("stale:      none (every indexed file is unchanged)\n");
        } else {
            text.push_str(&format!(
                "stale:      {} (run `{}` to update)\n",
                stale.len(),
                ctx.index_command("")
            ));
            for s in &stale {
                text.push_str(&format!(
                    "  {:<8} {}\n",
                    s.change.as_str(),
                    display_path(&s.path)
                ));
            }
        }
        let health = match &damage {
            None if m.files.is_empty() => {
                "no checksums recorded (built by an earlier akapit); the database passes SQLite's quick check".to_string()
            }
            None => "intact (every file matches its checksum)".to_string(),
            Some(e) => format!("damaged: {e}"),
        };
        text.push_str(&format!("health:     {health}\n"));
        print_text(&text)?;
    }
    match damage {
        Some(e) => Err(e.into()),
        None => Ok(Outcome::from_count(m.documents.len())),
    }
}
