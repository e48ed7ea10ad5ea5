//! `akapit show`: a document's passages as indexed, to see a hit in its place: all of them,
//! one with its neighbours (`--paragraph`), or those that start on a page (`--page`).

use super::{print_json, print_text, Context, Error, Outcome, Result};
use crate::answer::{self, Names, Selection};
use crate::cli::ShowArgs;
use crate::output::{human, json};

pub fn run(ctx: &Context, args: ShowArgs) -> Result<Outcome> {
    let index = ctx.open_index()?.ok_or_else(|| Error::NoIndex {
        dir: ctx.index_dir.clone(),
        command: ctx.index_command("PATH..."),
    })?;
    super::warn_stale(ctx, index.manifest());
    let selection = match (args.paragraph, args.page) {
        (Some(paragraph), _) => Selection::Paragraph {
            paragraph,
            context: args.context,
        },
        (None, Some(page)) => Selection::Page(page),
        (None, None) => Selection::All,
    };
    let shown = answer::show(&index, &args.doc, selection, Names::Cli)?;
    if let Some(note) = &shown.note {
        ctx.ui.note(note);
    }
    if ctx.json {
        print_json(&json::ShowJson::new(&shown))?;
    } else if !shown.shown.is_empty() {
        let list: Vec<_> = shown
            .shown
            .iter()
            .map(|&(i, t)| (&shown.passages[i], t))
            .collect();
        print_text(&human::document(
            &shown.doc,
            shown.title.as_deref(),
            shown.format.as_deref(),
            &list,
        ))?;
    }
    Ok(Outcome::from_count(shown.shown.len()))
}
