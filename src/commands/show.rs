//! `akapit show`: a document's passages as indexed, to see a hit in its place: all of them,
//! one with its neighbours (`--paragraph`), or those that start on a page (`--page`).

use super::{print_json, print_text, Context, Error, Outcome, Result};
use crate::cli::ShowArgs;
use crate::ingest::{display_path, relative};
use crate::output::{human, json};
use crate::search::scope;

pub fn run(ctx: &Context, args: ShowArgs) -> Result<Outcome> {
    let index = ctx.open_index()?.ok_or_else(|| Error::NoIndex {
        dir: ctx.index_dir.clone(),
        command: ctx.index_command("PATH..."),
    })?;
    super::warn_stale(ctx, index.manifest());
    let doc = scope::find_document(&index, &args.doc).map_err(Error::documents("DOC"))?;
    let info = index.manifest().documents.iter().find(|d| d.path == doc);
    let (title, format) = info.map_or((None, None), |d| (d.title.clone(), d.format.clone()));
    let passages = index.document_passages(&doc)?;
    let shown: Vec<(usize, bool)> = match (args.paragraph, args.page) {
        (Some(paragraph), _) => {
            let Some(at) = passages.iter().position(|p| p.paragraph == paragraph) else {
                return Err(Error::NoParagraph {
                    doc: display_path(&doc),
                    paragraph,
                    count: passages.len(),
                });
            };
            let context = args.context as usize;
            let from = at.saturating_sub(context);
            let to = (at + context + 1).min(passages.len());
            (from..to).map(|i| (i, i == at)).collect()
        }
        (None, Some(page)) => passages
            .iter()
            .enumerate()
            .filter(|(_, p)| p.page == Some(page))
            .map(|(i, _)| (i, true))
            .collect(),
        (None, None) => (0..passages.len()).map(|i| (i, false)).collect(),
    };
    if shown.is_empty() {
        if let Some(page) = args.page {
            let pages: Vec<u32> = passages.iter().filter_map(|p| p.page).collect();
            ctx.ui.note(match (pages.iter().min(), pages.iter().max()) {
                (Some(first), Some(last)) => format!(
                    "no passage of {} starts on page {page} (passages start on pages {first}–{last})",
                    display_path(&doc)
                ),
                _ => format!("{} has no pages", display_path(&doc)),
            });
        }
    }
    if ctx.json {
        print_json(&json::ShowJson {
            doc: relative(&doc),
            title,
            format,
            count: passages.len(),
            passages: shown
                .iter()
                .map(|&(i, target)| json::ShownJson {
                    passage: json::PassageJson::from(&passages[i]),
                    target,
                })
                .collect(),
        })?;
    } else if !shown.is_empty() {
        let list: Vec<_> = shown.iter().map(|&(i, t)| (&passages[i], t)).collect();
        print_text(&human::document(
            &doc,
            title.as_deref(),
            format.as_deref(),
            &list,
        ))?;
    }
    Ok(Outcome::from_count(shown.len()))
}
