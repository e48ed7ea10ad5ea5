//! `akapit serve` and `akapit mcp`: the server over the index folder, with the model an
//! index was built with loaded when a generation first needs it (and again only if a
//! rebuild changes the model). `serve --watch` also runs `watch` beside it, embedding with
//! the server's model.

use std::sync::{Arc, Mutex};
use std::thread;

use super::{watch, Context, Error, Outcome, Result};
use crate::cli::ServeArgs;
use crate::embed::Model;
use crate::ingest;
use crate::serve::{self, Live, ModelLoader, Options, Service};
use crate::store::{Manifest, ModelInfo};

/// The models this process loaded, by the weights and size an index records: the server
/// and its watcher share them (each is loaded once and kept until the process ends).
#[derive(Clone, Default)]
pub struct Loaded(Arc<Mutex<Vec<(ModelInfo, &'static Model)>>>);

impl Loaded {
    /// The model `manifest` was built with, loaded (and checked) on first use.
    pub fn model_for(&self, ctx: &Context, manifest: &Manifest) -> Result<&'static Model> {
        let mut loaded = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, model)) = loaded.iter().find(|(info, _)| *info == manifest.model) {
            return Ok(model);
        }
        let model = ctx.model_for(manifest)?;
        loaded.push((manifest.model.clone(), model));
        Ok(model)
    }

    /// A loaded model of this name and size, if there is one.
    pub fn find(&self, name: &str, dims: usize) -> Option<&'static Model> {
        let loaded = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        loaded
            .iter()
            .find(|(info, _)| info.name == name && info.dims == dims)
            .map(|(_, model)| *model)
    }
}

pub fn run(ctx: &Context, args: ServeArgs) -> Result<Outcome> {
    let loaded = Loaded::default();
    let service = service(ctx, &loaded);
    if args.watch {
        let (ctx, watching) = (ctx.clone(), args.watching);
        thread::Builder::new()
            .name("akapit-watch".into())
            .spawn(move || {
                if let Err(e) = watch::follow(&ctx, &watching, Some(&loaded)) {
                    ctx.ui.warn(format!("watching stopped: {e}"));
                }
            })
            .map_err(Error::io("<watch thread>"))?;
    }
    let options = Options {
        host: args.host,
        port: args.port,
        token: args.token.filter(|t| !t.is_empty()),
        allow_hosts: args.allow_hosts,
    };
    serve::http(service, ingest::to_text(&ctx.index_dir), options, ctx.ui)?;
    Ok(Outcome::Found)
}

pub fn mcp(ctx: &Context) -> Result<Outcome> {
    let service = service(ctx, &Loaded::default());
    serve::stdio(service, ingest::to_text(&ctx.index_dir), ctx.ui)?;
    Ok(Outcome::Found)
}

fn service(ctx: &Context, loaded: &Loaded) -> Service {
    let (models, loaded) = (ctx.clone(), loaded.clone());
    let loader: ModelLoader = Box::new(move |manifest| {
        loaded
            .model_for(&models, manifest)
            .map_err(|e| e.to_string())
    });
    Service {
        live: Live::new(ctx.index_dir.clone(), loader),
        no_index: Error::NoIndex {
            dir: ctx.index_dir.clone(),
            command: ctx.index_command("PATH..."),
        }
        .to_string(),
    }
}
