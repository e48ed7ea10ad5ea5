//! `akapit serve` and `akapit mcp`: the server over the index folder, with the model an
//! index was built with loaded when a generation first needs it (and again only if a
//! rebuild changes the model). `serve --watch` also runs `watch` beside it, embedding with
//! the server's model.

use std::sync::atomic::AtomicBool;
use std::thread;

use super::loaded::Loaded;
use super::{watch, Context, Error, Outcome, Result};
use crate::cli::ServeArgs;
use crate::ingest;
use crate::serve::{self, Live, ModelLoader, Options, Service};

pub fn run(ctx: &Context, args: ServeArgs) -> Result<Outcome> {
    let loaded = Loaded::default();
    let service = service(ctx, &loaded);
    if args.watch {
        let (ctx, watching) = (ctx.clone(), args.watching);
        thread::Builder::new()
            .name("akapit-watch".into())
            .spawn(move || {
                // The server handles the signals; the process ends with it.
                let never = AtomicBool::new(false);
                if let Err(e) = watch::follow(&ctx, &watching, Some(&loaded), &never) {
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
