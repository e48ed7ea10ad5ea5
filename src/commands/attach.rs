//! `akapit attach PART...`: joins indexes built elsewhere (each from a part of a corpus,
//! for instance by the workers of a cluster) to the index in one commit, without
//! embedding anything.

use std::time::Instant;

use serde::Serialize;

use super::{print_json, print_text, Context, Outcome, Result};
use crate::cli::AttachArgs;
use crate::ingest;
use crate::pipeline::attach;
use crate::store::MergePolicy;

#[derive(Serialize)]
struct AttachJson {
    index: String,
    parts: Vec<String>,
    attached_documents: usize,
    replaced_documents: usize,
    documents: usize,
    passages: usize,
    segments: usize,
    seconds: f64,
}

pub fn run(ctx: &Context, args: AttachArgs) -> Result<Outcome> {
    let started = Instant::now();
    let merge = match args.optimize {
        true => MergePolicy::OPTIMIZE,
        false => MergePolicy::DEFAULT,
    };
    let roots = (!args.roots.is_empty()).then_some(args.roots.as_slice());
    let done = attach::attach(&ctx.index_dir, &args.parts, roots, merge, &ctx.ui)?;
    let m = &done.manifest;
    let seconds = started.elapsed().as_secs_f64();
    if ctx.json {
        print_json(&AttachJson {
            index: ingest::to_text(&ctx.index_dir),
            parts: args.parts.iter().map(|p| ingest::to_text(p)).collect(),
            attached_documents: done.attached_documents,
            replaced_documents: done.replaced_documents,
            documents: m.documents.len(),
            passages: m.passages,
            segments: m.segments.len(),
            seconds: (seconds * 100.0).round() / 100.0,
        })?;
    } else {
        print_text(&format!(
            "{}: {} documents, {} passages in {} segments ({} documents attached from {} parts, \
             {} of them replacing indexed ones) in {:.1} s\n",
            ingest::display(&ctx.index_dir),
            m.documents.len(),
            m.passages,
            m.segments.len(),
            done.attached_documents,
            args.parts.len(),
            done.replaced_documents,
            seconds
        ))?;
    }
    Ok(Outcome::from_count(m.documents.len()))
}
