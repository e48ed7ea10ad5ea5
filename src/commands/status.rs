//! `akapit status`: what is indexed, with which model, what changed since, what was
//! skipped and why, and whether the index's files are intact (checked against the
//! checksums in the manifest, and by SQLite's quick check).

use super::{print_json, print_text, Context, Error, Outcome, Result};
use crate::answer;
use crate::ingest::{self, display_path};
use crate::output::json::StatusJson;

pub fn run(ctx: &Context) -> Result<Outcome> {
    let index = ctx.open_index()?.ok_or_else(|| Error::NoIndex {
        dir: ctx.index_dir.clone(),
        command: ctx.index_command("PATH..."),
    })?;
    let m = index.manifest();
    let status = answer::status(&index, true)?;
    let (stale, size, damage) = (&status.stale, status.size_bytes, &status.damage);
    if ctx.json {
        print_json(&StatusJson::new(
            ingest::to_text(&ctx.index_dir),
            m,
            &status,
        ))?;
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
        let json = StatusJson::new(String::new(), m, &status);
        let segments: Vec<String> = json
            .segments
            .iter()
            .map(|seg| match seg.deleted_documents {
                0 => format!("{} ({} passages)", seg.name, seg.passages),
                n => format!(
                    "{} ({} passages, {n} documents deleted)",
                    seg.name, seg.passages
                ),
            })
            .collect();
        text.push_str(&format!(
            "segments:   {}; vectors stored as {}\n",
            segments.join(", "),
            json.vectors
        ));
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
            for s in stale {
                text.push_str(&format!(
                    "  {:<8} {}\n",
                    s.change.as_str(),
                    display_path(&s.path)
                ));
            }
        }
        let health = match &damage {
            None => "intact (every file matches its checksum)".to_string(),
            Some(e) => format!("damaged: {e}"),
        };
        text.push_str(&format!("health:     {health}\n"));
        print_text(&text)?;
    }
    match status.damage {
        Some(e) => Err(e.into()),
        None => Ok(Outcome::from_count(m.documents.len())),
    }
}
