//! `akapit extract`: what akapit reads in files, without indexing them: each file's format,
//! title, and paragraphs (cleaned, reflowed, headings joined to their text; not yet cut to a
//! model's token limit), with their pages, sections and lines. For checking a file that is
//! not found as expected, and for measuring extraction against a known text
//! (`bench/fidelity.py`). No model is loaded.

use std::path::Path;

use super::{print_json, print_text, Context, Outcome, Result};
use crate::cli::ExtractArgs;
use crate::ingest::{self, ChunkOptions};
use crate::output::{human, json};
use crate::store::StoredPassage;

pub fn run(ctx: &Context, args: ExtractArgs) -> Result<Outcome> {
    let walked = ingest::walk(&args.paths)?;
    for skipped in &walked.skipped {
        ctx.ui.note(format!(
            "skipping {}: {}",
            ingest::display(&skipped.path),
            skipped.reason
        ));
    }
    let mut documents = Vec::new();
    let mut text = String::new();
    for path in &walked.files {
        let Some((document, passages)) = read(ctx, path)? else {
            continue;
        };
        if ctx.json {
            documents.push(document);
        } else {
            let list: Vec<_> = passages.iter().map(|p| (p, false)).collect();
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&human::document(
                &ingest::key(path),
                document.title.as_deref(),
                document.format.as_deref(),
                &list,
            ));
        }
    }
    let count = match ctx.json {
        true => {
            let count = documents.len();
            print_json(&documents)?;
            count
        }
        false => {
            print_text(&text)?;
            usize::from(!text.is_empty())
        }
    };
    Ok(Outcome::from_count(count))
}

/// One file's document, or `None` (with a warning) when it cannot be read.
fn read(ctx: &Context, path: &Path) -> Result<Option<(json::ShowJson, Vec<StoredPassage>)>> {
    let name = ingest::display(path);
    let loaded = ingest::load(path)?;
    let source = match ingest::extract(&loaded, path, &mut |_, _| {}) {
        Ok(source) => source,
        Err(why) => {
            ctx.ui.warn(format!("skipping {name}: {why}"));
            return Ok(None);
        }
    };
    for warning in &source.warnings {
        ctx.ui.warn(format!("{name}: {warning}"));
    }
    let lines = source.format.has_file_lines();
    let key = ingest::key(path);
    let passages: Vec<StoredPassage> =
        ingest::chunk_source(&source, &ChunkOptions::new(usize::MAX), &|_| 0)
            .into_iter()
            .map(|p| StoredPassage {
                id: 0,
                doc: key.clone(),
                paragraph: p.paragraph,
                start_line: lines.then_some(p.start_line),
                end_line: lines.then_some(p.end_line),
                page: p.page,
                section: p.section,
                text: p.text,
            })
            .collect();
    let document = json::ShowJson {
        doc: ingest::relative(&key),
        title: source.title.clone(),
        format: Some(source.format.name().to_string()),
        count: passages.len(),
        passages: passages
            .iter()
            .map(|p| json::ShownJson {
                passage: json::PassageJson::from(p),
                target: false,
            })
            .collect(),
    };
    Ok(Some((document, passages)))
}
