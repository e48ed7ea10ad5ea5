//! `akapit ask`: the closest passages to a question, with the sentences that answer it.

use super::{print_json, print_text, warn_stale, Context, Error, Outcome, Result};
use crate::cli::AskArgs;
use crate::embed::Embedder;
use crate::output::{human, json};
use crate::search::highlight::highlight;
use crate::search::hybrid::Fusion;
use crate::search::{self, scope, Query};

/// Questions longer than this many characters are cut (with a warning): a question is a
/// sentence or a few, and a pasted book would take minutes to embed.
pub const MAX_QUESTION_CHARS: usize = 2_000;

pub fn run(ctx: &Context, args: AskArgs) -> Result<Outcome> {
    let question = args.question.trim();
    if question.is_empty() {
        return Err(Error::EmptyQuestion);
    }
    let question = ctx.limited(question, MAX_QUESTION_CHARS, "the question");
    let index = ctx.index_or_build_default()?;
    let manifest = index.manifest();
    let analyzer = Context::analyzer_of(manifest)?;
    let model = if args.mode.needs_model() {
        Some(ctx.model_for(manifest)?)
    } else {
        None
    };
    warn_stale(ctx, manifest);
    let only = if args.within.is_empty() {
        None
    } else {
        Some(scope::documents_within(&index, &args.within).map_err(Error::documents("--in"))?)
    };
    let query = Query::new(question, model.map(|m| m as &dyn Embedder), analyzer)?;
    let mut ranked = search::rank(
        &index,
        &query,
        args.mode,
        Fusion::DEFAULT,
        args.k as usize,
        only.as_deref(),
    )?;
    if let Some(min) = args.min_score {
        // Compared as printed, so that a score copied from `--json` keeps its own result.
        ranked.retain(|r| json::round4(r.score) >= min);
    }
    let hits = search::hits(&index, ranked)?;
    let highlights = hits
        .iter()
        .map(|hit| highlight(&index, &query, analyzer, hit).map(Some))
        .collect::<search::Result<Vec<_>>>()?;
    if ctx.json {
        print_json(&json::AskJson {
            query: question.to_string(),
            model: manifest.model.name.clone(),
            mode: args.mode,
            results: json::hits(&hits, &highlights),
        })?;
    } else if hits.is_empty() {
        ctx.ui.note("no passages found");
    } else {
        print_text(&human::hits(&hits, &highlights))?;
    }
    Ok(Outcome::from_count(hits.len()))
}
