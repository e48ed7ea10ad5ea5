//! `akapit ask`: the closest passages to a question.

use super::{print_json, print_text, warn_stale, Context};
use crate::cli::AskArgs;
use crate::error::{Error, Outcome, Result};
use crate::output::{human, json};
use crate::search::dense;

pub fn run(ctx: &Context, args: AskArgs) -> Result<Outcome> {
    let question = args.question.trim();
    if question.is_empty() {
        return Err(Error::Usage("the question is empty".into()));
    }
    let index = ctx.index_or_build_default()?;
    let model = ctx.model_for(index.manifest())?;
    warn_stale(ctx, index.manifest());
    let hits = dense::ask(&index, model, question, args.k as usize)?;
    if ctx.json {
        print_json(&json::AskJson {
            query: question.to_string(),
            model: index.manifest().model.name.clone(),
            results: json::hits(&hits),
        })?;
    } else if hits.is_empty() {
        ctx.ui.note("no passages found (the index is empty)");
    } else {
        print_text(&human::hits(&hits))?;
    }
    Ok(Outcome::from_count(hits.len()))
}
