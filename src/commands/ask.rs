//! `akapit ask`: the closest passages to a question, with the sentences that answer it.

use super::{print_json, print_text, warn_stale, Context, Outcome, Result};
use crate::answer::{self, Names, MAX_QUESTION_CHARS};
use crate::cli::AskArgs;
use crate::embed::Embedder;
use crate::output::{human, json};

pub fn run(ctx: &Context, args: AskArgs) -> Result<Outcome> {
    let question = args.question.trim();
    if question.is_empty() {
        return Err(answer::Error::EmptyQuestion.into());
    }
    let question = ctx.limited(question, MAX_QUESTION_CHARS, "the question");
    let index = ctx.index_or_build_default()?;
    let manifest = index.manifest();
    let model = match args.mode.needs_model() {
        true => Some(ctx.model_for(manifest)?),
        false => None,
    };
    warn_stale(ctx, manifest);
    let request = answer::Ask {
        question: question.to_string(),
        k: args.k as usize,
        mode: args.mode,
        within: args.within,
        min_score: args.min_score,
    };
    let query = answer::question(manifest, model.map(|m| m as &dyn Embedder), &request)?;
    let found = answer::ask(&index, &query, &request, Names::Cli)?;
    if ctx.json {
        print_json(&json::AskJson::new(&request, manifest, &found))?;
    } else if found.hits.is_empty() {
        ctx.ui.note("no passages found");
    } else {
        print_text(&human::hits(&found.hits, &found.highlights))?;
    }
    Ok(Outcome::from_count(found.hits.len()))
}
