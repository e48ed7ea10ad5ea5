//! `akapit related`: passages in other documents closest to a given passage or text.

use super::{print_json, print_text, warn_stale, Context};
use crate::cli::RelatedArgs;
use crate::embed::Embedder;
use crate::error::{Error, Outcome, Result};
use crate::output::{human, json};
use crate::search::dense::{self, Source};

pub fn run(ctx: &Context, args: RelatedArgs) -> Result<Outcome> {
    let index = ctx.index_or_build_default()?;
    warn_stale(ctx, index.manifest());
    let (source, model) = match (&args.doc, args.paragraph, &args.text) {
        (Some(doc), Some(paragraph), _) => {
            let doc = dense::find_document(&index, doc)?;
            let passage = index.find(&doc, paragraph)?.ok_or_else(|| {
                let count = index
                    .manifest()
                    .documents
                    .iter()
                    .find(|d| d.path == doc)
                    .map_or(0, |d| d.passages);
                Error::Usage(format!(
                    "{doc} has no paragraph {paragraph} (it has paragraphs 1–{count})"
                ))
            })?;
            // The passage's vector is in the index: no model needed.
            (Source::Passage(passage), None)
        }
        (_, _, Some(text)) if !text.trim().is_empty() => (
            Source::Text(text.trim().to_string()),
            Some(ctx.model_for(index.manifest())?),
        ),
        _ => {
            return Err(Error::Usage(
                "give --doc PATH --paragraph N, or --text TEXT".into(),
            ))
        }
    };
    let embedder = model.map(|m| m as &dyn Embedder);
    let hits = dense::related(&index, embedder, &source, args.k as usize)?;
    let model_name = index.manifest().model.name.clone();
    match (&source, ctx.json) {
        (Source::Passage(p), true) => print_json(&json::RelatedJson {
            query: p.text.clone(),
            source: Some(json::PassageJson::from(p)),
            model: model_name,
            results: json::hits(&hits),
        })?,
        (Source::Text(t), true) => print_json(&json::RelatedJson {
            query: t.clone(),
            source: None,
            model: model_name,
            results: json::hits(&hits),
        })?,
        (Source::Passage(p), false) => print_text(&(human::source(p) + &human::hits(&hits)))?,
        (Source::Text(_), false) => print_text(&human::hits(&hits))?,
    }
    if hits.is_empty() && !ctx.json {
        ctx.ui.note("no related passages in other documents");
    }
    Ok(Outcome::from_count(hits.len()))
}
