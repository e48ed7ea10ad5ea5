//! Runs the parsed command line: each subcommand in its own file, sharing the set-up in
//! `Context` (index folder, model resolution, stderr chatter).

mod ask;
mod bench;
mod eval;
mod index;
mod models;
mod related;
mod status;

use std::path::PathBuf;

use crate::build;
use crate::cli::{Cli, Command};
use crate::embed::{Embedder, Model, Precision};
use crate::error::{Error, Outcome, Result};
use crate::models::{registry, Located, ModelSpec, Resolver};
use crate::search::analyze::Analyzer;
use crate::store::{Index, Manifest, ModelInfo};
use crate::ui::Ui;

/// The corpus indexed when no paths are given and there is no index yet.
pub const DEFAULT_CORPUS: &str = "seeds";

pub fn run(cli: Cli) -> Result<Outcome> {
    let ctx = Context::new(&cli);
    match cli.command {
        Command::Index(args) => index::run(&ctx, args),
        Command::Ask(args) => ask::run(&ctx, args),
        Command::Related(args) => related::run(&ctx, args),
        Command::Status => status::run(&ctx),
        Command::Models(args) => models::run(&ctx, args),
        Command::Bench(args) => bench::run(&ctx, args),
        Command::Eval(args) => eval::run(&ctx, args),
    }
}

/// Settings shared by every command.
pub struct Context {
    pub index_dir: PathBuf,
    pub json: bool,
    pub ui: Ui,
    pub resolver: Resolver,
    pub precision: Precision,
}

impl Context {
    fn new(cli: &Cli) -> Self {
        let g = &cli.global;
        Context {
            index_dir: g.index.clone(),
            json: g.json,
            ui: Ui::new(g.quiet),
            resolver: Resolver::new(g.model_dir.clone(), &g.index),
            precision: g.precision,
        }
    }

    /// The index, or `None` when none has been built.
    pub fn open_index(&self) -> Result<Option<Index>> {
        Ok(Index::open(&self.index_dir)?)
    }

    /// The index; a new user's first command builds it from `seeds/`.
    pub fn index_or_build_default(&self) -> Result<Index> {
        if let Some(index) = self.open_index()? {
            return Ok(index);
        }
        let corpus = PathBuf::from(DEFAULT_CORPUS);
        if !corpus.is_dir() {
            return Err(Error::Usage(format!(
                "there is no index in {} yet and no {DEFAULT_CORPUS}/ folder here to build one from; run `akapit index PATH...` first",
                self.index_dir.display()
            )));
        }
        self.ui.note(format!(
            "no index in {} yet; indexing {DEFAULT_CORPUS}/ first",
            self.index_dir.display()
        ));
        let spec = registry::default_model();
        let located = self.resolver.resolve(spec, &self.ui)?;
        let request = build::Request {
            index_dir: &self.index_dir,
            roots: vec![corpus],
            model: model_info(&located, spec.dims)?,
            max_tokens: passage_tokens(spec),
            analyzer: Analyzer::DEFAULT,
            rebuild: false,
        };
        build::build(
            request,
            &mut LazyModel::new(located, spec.dims, self.precision),
            &self.ui,
        )?;
        self.open_index()?.ok_or_else(|| {
            Error::Usage(format!(
                "the index in {} was not written",
                self.index_dir.display()
            ))
        })
    }

    /// The keyword analyzer an index was built with (questions must be analysed alike).
    pub fn analyzer_of(manifest: &Manifest) -> Result<Analyzer> {
        manifest.analyzer.parse().map_err(|e| {
            Error::Usage(format!("{e}; this index was built by another akapit version, rebuild it with `akapit index --rebuild`"))
        })
    }

    /// The model an index was built with, checked to be the very same weights. A command
    /// loads one model and uses it until the process ends, so it is never freed: freeing
    /// the tokenizer's trie alone took ~150 ms of every `ask`.
    pub fn model_for(&self, manifest: &Manifest) -> Result<&'static Model> {
        let spec = registry::get(&manifest.model.name)?;
        let located = self.resolver.resolve(spec, &self.ui)?;
        let sha256 = located.weights_sha256()?;
        let dims = spec.check_dims(manifest.model.dims).map_err(|e| {
            Error::Usage(format!(
                "the index holds {}-dimensional vectors, which this akapit cannot make ({e}); rebuild it with `akapit index --rebuild`",
                manifest.model.dims
            ))
        })?;
        manifest.check_model(&spec.name, &sha256, dims)?;
        Ok(Box::leak(Box::new(
            Model::load(&located, self.precision)?.with_dims(dims)?,
        )))
    }
}

/// What the index records about the weights that embedded it, and the vector size
/// (`dims`, already checked against the model).
pub fn model_info(located: &Located, dims: usize) -> Result<ModelInfo> {
    Ok(ModelInfo {
        name: located.spec.name.clone(),
        revision: located.revision(),
        sha256: located.weights_sha256()?,
        dims,
    })
}

/// Passage size: the model's window, but never larger than akapit's passage size.
pub fn passage_tokens(spec: &ModelSpec) -> usize {
    spec.max_tokens.min(build::MAX_PASSAGE_TOKENS)
}

/// Loads the model on first use (an up-to-date `index` run never needs it).
pub struct LazyModel {
    located: Located,
    dims: usize,
    precision: Precision,
    model: Option<Model>,
}

impl LazyModel {
    pub fn new(located: Located, dims: usize, precision: Precision) -> Self {
        LazyModel {
            located,
            dims,
            precision,
            model: None,
        }
    }
}

impl build::EmbedderSource for LazyModel {
    fn get(&mut self) -> Result<&dyn Embedder> {
        let model = match self.model.take() {
            Some(model) => model,
            None => Model::load(&self.located, self.precision)?.with_dims(self.dims)?,
        };
        Ok(self.model.insert(model))
    }
}

/// Prints `value` as one JSON object and a newline.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string(value)
        .map_err(|e| Error::Usage(format!("cannot write JSON: {e}")))?;
    crate::output::emit(&(text + "\n")).map_err(|source| Error::Io {
        path: PathBuf::from("<stdout>"),
        source,
    })
}

/// Prints text for people.
pub fn print_text(text: &str) -> Result<()> {
    crate::output::emit(text).map_err(|source| Error::Io {
        path: PathBuf::from("<stdout>"),
        source,
    })
}

/// Warns on stderr about indexed documents that changed or vanished since indexing.
pub fn warn_stale(ctx: &Context, manifest: &Manifest) {
    let stale = crate::freshness::stale_documents(manifest);
    if stale.is_empty() {
        return;
    }
    let list: Vec<String> = stale
        .iter()
        .map(|s| {
            format!(
                "{} ({})",
                crate::output::display_path(&s.path),
                s.change.as_str()
            )
        })
        .collect();
    ctx.ui.warn(format!(
        "{} indexed document(s) changed since indexing, results may be out of date (run `akapit index`): {}",
        stale.len(),
        list.join(", ")
    ));
}
