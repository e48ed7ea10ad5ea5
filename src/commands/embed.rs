//! `akapit embed QUESTION...`: the vector each question is searched with, as `ask` makes it
//! (the index's model, prompt and vector size), one JSON line per question: what an index
//! exported to another store needs to be searched the same way.

use std::io::BufRead;

use serde::Serialize;

use super::{print_text, Context, Error, Outcome, Result};
use crate::answer::{self, MAX_QUESTION_CHARS};
use crate::cli::EmbedArgs;
use crate::embed::{Embedder, Role};

#[derive(Serialize)]
struct EmbeddedJson<'a> {
    question: &'a str,
    model: &'a str,
    vector: &'a [f32],
}

pub fn run(ctx: &Context, args: EmbedArgs) -> Result<Outcome> {
    let mut questions = Vec::new();
    for question in args.questions {
        match question.as_str() {
            "-" => {
                for line in std::io::stdin().lock().lines() {
                    let line = line.map_err(Error::io("<stdin>"))?;
                    if !line.trim().is_empty() {
                        questions.push(line);
                    }
                }
            }
            _ => questions.push(question),
        }
    }
    if questions.iter().any(|q| q.trim().is_empty()) || questions.is_empty() {
        return Err(answer::Error::EmptyQuestion.into());
    }
    let index = ctx.open_index()?.ok_or_else(|| Error::NoIndex {
        dir: ctx.index_dir.clone(),
        command: ctx.index_command("PATH..."),
    })?;
    let manifest = index.manifest();
    let model = ctx.model_for(manifest)?;
    let bar = ctx.ui.bar(questions.len() as u64, "embedding questions");
    for question in &questions {
        let question = ctx.limited(question.trim(), MAX_QUESTION_CHARS, "a question");
        // One at a time, as `ask` embeds it: in a batch, padding would change the last
        // decimals.
        let vector = model.embed_one(question, Role::Query)?;
        let line = serde_json::to_string(&EmbeddedJson {
            question,
            model: &manifest.model.name,
            vector: &vector,
        })
        .map_err(|e| Error::io("<stdout>")(std::io::Error::other(e)))?;
        print_text(&(line + "\n"))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(Outcome::from_count(questions.len()))
}
