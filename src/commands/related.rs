//! `akapit related`: passages in other documents closest to a given passage or text.

use super::{print_json, print_text, warn_stale, Context, Error, Outcome, Result};
use crate::cli::RelatedArgs;
use crate::embed::Embedder;
use crate::ingest::display_path;
use crate::output::{human, json};
use crate::search::related::{related, Source};
use crate::search::scope;

/// `--text` longer than this many characters is cut (with a warning): a passage is a
/// paragraph or a few, and embedding a whole book would take minutes.
pub const MAX_TEXT_CHARS: usize = 20_000;

pub fn run(ctx: &Context, args: RelatedArgs) -> Result<Outcome> {
    let index = ctx.index_or_build_default()?;
    let manifest = index.manifest();
    warn_stale(ctx, manifest);
    let analyzer = Context::analyzer_of(manifest)?;
    let source = match (&args.doc, args.paragraph, &args.text) {
        (Some(doc), Some(paragraph), _) => {
            let doc = scope::find_document(&index, doc).map_err(Error::documents("--doc"))?;
            let passage = index.find(&doc, paragraph)?.ok_or_else(|| {
                let count = manifest
                    .documents
                    .iter()
                    .find(|d| d.path == doc)
                    .map_or(0, |d| d.passages);
                Error::NoParagraph {
                    doc: display_path(&doc),
                    paragraph,
                    count,
                }
            })?;
            Source::Passage(passage)
        }
        (_, _, Some(text)) if !text.trim().is_empty() => Source::Text(
            ctx.limited(text.trim(), MAX_TEXT_CHARS, "the text")
                .to_string(),
        ),
        _ => return Err(Error::EmptyText),
    };
    // A stored passage brings its vectors; only free text needs the model.
    let model = match source {
        Source::Text(_) => Some(ctx.model_for(manifest)?),
        Source::Passage(_) => None,
    };
    let embedder = model.map(|m| m as &dyn Embedder);
    let hits = related(
        &index,
        embedder,
        analyzer,
        args.mode,
        &source,
        args.k as usize,
    )?;
    let no_highlights = vec![None; hits.len()];
    let model_name = manifest.model.name.clone();
    match (&source, ctx.json) {
        (Source::Passage(p), true) => print_json(&json::RelatedJson {
            query: p.text.clone(),
            source: Some(json::PassageJson::from(p)),
            model: model_name,
            mode: args.mode,
            results: json::hits(&hits, &no_highlights),
        })?,
        (Source::Text(t), true) => print_json(&json::RelatedJson {
            query: t.clone(),
            source: None,
            model: model_name,
            mode: args.mode,
            results: json::hits(&hits, &no_highlights),
        })?,
        (Source::Passage(p), false) => {
            print_text(&(human::source(p) + &human::hits(&hits, &no_highlights)))?
        }
        (Source::Text(_), false) => print_text(&human::hits(&hits, &no_highlights))?,
    }
    if hits.is_empty() && !ctx.json {
        ctx.ui.note("no related passages in other documents");
    }
    Ok(Outcome::from_count(hits.len()))
}
