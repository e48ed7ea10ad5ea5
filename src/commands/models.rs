//! `akapit models`: every registry model with where it is found (or why not), and
//! `akapit models fetch [NAME]` to make one available offline.

use serde::Serialize;

use super::{print_json, print_text, Context, Outcome, Result};
use crate::cli::{ModelsAction, ModelsArgs};
use crate::ingest;
use crate::models::{registry, ModelSpec};
use crate::text::sanitize;

#[derive(Serialize)]
struct ModelJson {
    name: String,
    default: bool,
    dims: usize,
    max_tokens: usize,
    license: String,
    /// Text that must travel with the weights (Gemma's NOTICE).
    notice: Option<String>,
    hub: String,
    /// Sizes the vectors can be truncated to (`index --dims`).
    matryoshka_dims: Vec<usize>,
    bundle: Vec<String>,
    /// `f32`, `bf16` or `int8 (KERNEL)`: the arithmetic of its products here, with this
    /// `--precision`.
    products: String,
    /// Why these products: the `--precision` asked for, and what this CPU runs.
    products_reason: String,
    sources: Vec<SourceJson>,
    resolved: Option<String>,
}

#[derive(Serialize)]
struct SourceJson {
    source: String,
    found: bool,
    detail: String,
}

#[derive(Serialize)]
struct ModelsJson {
    models: Vec<ModelJson>,
}

pub fn run(ctx: &Context, args: ModelsArgs) -> Result<Outcome> {
    match args.action {
        None => list(ctx),
        Some(ModelsAction::Fetch { name }) => fetch(ctx, name),
    }
}

fn list(ctx: &Context) -> Result<Outcome> {
    let default = registry::default_model().name.as_str();
    let mut models = Vec::new();
    for spec in registry::all() {
        let sources: Vec<SourceJson> = ctx
            .resolver
            .probe(spec)
            .into_iter()
            .map(|p| SourceJson {
                source: p.source.to_string(),
                found: p.outcome.is_ok(),
                detail: match p.outcome {
                    Ok(dir) => ingest::to_text(&dir),
                    Err(reason) => reason,
                },
            })
            .collect();
        let resolved = ctx
            .resolver
            .locate(spec)
            .ok()
            .map(|l| ingest::to_text(&l.dir));
        models.push(ModelJson {
            name: spec.name.clone(),
            default: spec.name == default,
            dims: spec.dims,
            max_tokens: spec.max_tokens,
            matryoshka_dims: spec.matryoshka_dims.clone(),
            license: spec.license.clone(),
            notice: spec.notice.clone(),
            hub: format!("{}@{}", spec.hub.repo, spec.hub.revision),
            bundle: spec
                .bundle
                .wheels
                .iter()
                .map(|w| w.requirement.clone())
                .collect(),
            products: crate::embed::products_label(ctx.precision.products(spec)),
            products_reason: crate::embed::products_reason(ctx.precision, spec),
            sources,
            resolved,
        });
    }
    if ctx.json {
        print_json(&ModelsJson { models })?;
        return Ok(Outcome::Found);
    }
    let mut text = String::new();
    // `models` follows the registry's order.
    for (spec, m) in registry::all().iter().zip(&models) {
        let bundle_name = spec.bundle.name();
        let truncations: String = m.matryoshka_dims.iter().map(|d| format!("|{d}")).collect();
        text.push_str(&format!(
            "{}{}  ({}{truncations} dims, up to {} tokens, {} products, licence {})\n",
            m.name,
            if m.default { " [default]" } else { "" },
            m.dims,
            m.max_tokens,
            m.products,
            m.license
        ));
        text.push_str(&format!(
            "  products: {} ({})\n",
            m.products, m.products_reason
        ));
        if let Some(notice) = &m.notice {
            text.push_str(&format!("  notice: {notice}\n"));
        }
        for s in &m.sources {
            let mark = if s.found { "found  " } else { "missing" };
            text.push_str(&format!(
                "  {mark} {:<20} {}\n",
                s.source,
                sanitize::escape(&s.detail)
            ));
        }
        match &m.resolved {
            Some(dir) => text.push_str(&format!("  uses {}\n", sanitize::escape(dir))),
            None => text.push_str(&format!(
                "  not installed: `akapit models fetch {}` gets it from the Hugging Face Hub ({}) or the offline bundle ({})\n",
                m.name,
                m.hub,
                bundle_name
            )),
        }
    }
    print_text(&text)?;
    Ok(Outcome::Found)
}

fn fetch(ctx: &Context, name: Option<String>) -> Result<Outcome> {
    let spec: &ModelSpec = match name {
        Some(name) => registry::get(&name)?,
        None => registry::default_model(),
    };
    if let Ok(found) = ctx.resolver.locate(spec) {
        print_text(&format!(
            "{}: already available at {} ({})\n",
            spec.name,
            ingest::display(&found.dir),
            found.source
        ))?;
        return Ok(Outcome::Found);
    }
    let located = ctx.resolver.fetch(spec, &ctx.ui)?;
    print_text(&format!(
        "{}: ready at {} ({})\n",
        spec.name,
        ingest::display(&located.dir),
        located.source
    ))?;
    Ok(Outcome::Found)
}
