//! `akapit related`: passages in other documents closest to a given passage or text.

use super::{print_json, print_text, warn_stale, Context, Outcome, Result};
use crate::answer::{self, Names, RelatedTo, MAX_TEXT_CHARS};
use crate::cli::RelatedArgs;
use crate::embed::Embedder;
use crate::output::{human, json};
use crate::search::related::Source;

pub fn run(ctx: &Context, args: RelatedArgs) -> Result<Outcome> {
    let index = ctx.index_or_build_default()?;
    let manifest = index.manifest();
    warn_stale(ctx, manifest);
    let to = match (args.doc, args.paragraph, &args.text) {
        (Some(doc), Some(paragraph), _) => RelatedTo::Passage { doc, paragraph },
        (_, _, Some(text)) => RelatedTo::Text(
            ctx.limited(text.trim(), MAX_TEXT_CHARS, "the text")
                .to_string(),
        ),
        _ => RelatedTo::Text(String::new()),
    };
    // A stored passage brings its vectors; only free text needs the model (in every mode:
    // copies of the text are told by their vectors).
    let model = match &to {
        RelatedTo::Text(text) if !text.is_empty() => Some(ctx.model_for(manifest)?),
        _ => None,
    };
    let embedder = model.map(|m| m as &dyn Embedder);
    let (source, hits) = answer::related(
        &index,
        embedder,
        &to,
        args.mode,
        args.k as usize,
        Names::Cli,
    )?;
    if ctx.json {
        print_json(&json::RelatedJson::new(&source, manifest, args.mode, &hits))?;
    } else {
        let no_highlights = vec![None; hits.len()];
        let mut text = match &source {
            Source::Passage(p) => human::source(p),
            Source::Text(_) => String::new(),
        };
        text.push_str(&human::hits(&hits, &no_highlights));
        print_text(&text)?;
        if hits.is_empty() {
            ctx.ui.note("no related passages in other documents");
        }
    }
    Ok(Outcome::from_count(hits.len()))
}
