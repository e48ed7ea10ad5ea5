//! Runs the parsed command line: each subcommand in its own file, reading as a driver over
//! the layers underneath, with the set-up they share in `Context` (index folder, model
//! resolution, precision, stderr chatter). `error` holds the command line's error and the
//! outcome that decides the exit code.

mod ask;
mod attach;
mod bench;
mod embed;
mod error;
mod eval;
mod export;
mod extract;
mod index;
mod loaded;
mod models;
mod products;
mod related;
mod scale;
mod serve;
mod show;
mod status;
mod watch;

use std::path::{Path, PathBuf};

use crate::cli::{Cli, Command};
use crate::embed::{Model, Precision};
use crate::ingest::{self, display_path};
use crate::models::{registry, Located, Resolver};
use crate::pipeline::freshness;
use crate::store::{Index, Manifest, ModelInfo};
use crate::ui::Ui;

pub use error::{Error, Outcome, Result, ERROR_EXIT};

/// The corpus indexed when no paths are given and there is no index yet.
pub const DEFAULT_CORPUS: &str = "seeds";

pub fn run(cli: Cli) -> Result<Outcome> {
    let ctx = Context::new(&cli);
    let outcome = match cli.command {
        Command::Index(args) => index::run(&ctx, args),
        Command::Attach(args) => attach::run(&ctx, args),
        Command::Ask(args) => ask::run(&ctx, args),
        Command::Related(args) => related::run(&ctx, args),
        Command::Show(args) => show::run(&ctx, args),
        Command::Extract(args) => extract::run(&ctx, args),
        Command::Status => status::run(&ctx),
        Command::Models(args) => models::run(&ctx, args),
        Command::Serve(args) => serve::run(&ctx, args),
        Command::Mcp => serve::mcp(&ctx),
        Command::Watch(args) => watch::run(&ctx, args),
        Command::Export(args) => export::run(&ctx, args),
        Command::Embed(args) => embed::run(&ctx, args),
        Command::Bench(args) => bench::run(&ctx, args),
        Command::BenchScale(args) => scale::run(&ctx, args),
        Command::Eval(args) => eval::run(&ctx, args),
    };
    outcome.map_err(|error| match error.needs_rebuild() {
        true => Error::Rebuild {
            command: ctx.rebuild_command(),
            source: Box::new(error),
        },
        false => error,
    })
}

/// Settings shared by every command.
#[derive(Clone)]
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

    /// The index, which must exist now.
    pub fn reopen_index(&self) -> Result<Index> {
        self.open_index()?.ok_or_else(|| Error::Vanished {
            dir: self.index_dir.clone(),
        })
    }

    /// The index; a new user's first command builds it from `seeds/`.
    pub fn index_or_build_default(&self) -> Result<Index> {
        if let Some(index) = self.open_index()? {
            return Ok(index);
        }
        if !PathBuf::from(DEFAULT_CORPUS).is_dir() {
            return Err(Error::NoCorpus {
                dir: self.index_dir.clone(),
                command: self.index_command("PATH..."),
            });
        }
        self.ui.note(format!(
            "no index in {} yet; indexing {DEFAULT_CORPUS}/ first",
            ingest::display(&self.index_dir)
        ));
        index::build(
            self,
            &index::Plan::new(self, Vec::new(), None, None, false, None)?,
        )?;
        self.reopen_index()
    }

    /// `akapit index` for this index (with `--index` when it is not the default one),
    /// followed by `rest`: the commands akapit's messages advise must work as printed.
    pub fn index_command(&self, rest: &str) -> String {
        let mut command = "akapit index".to_string();
        if self.index_dir != Path::new("index") {
            command.push_str(" --index ");
            command.push_str(&shell_word(&ingest::to_text(&self.index_dir)));
        }
        if !rest.is_empty() {
            command.push(' ');
            command.push_str(rest);
        }
        command
    }

    /// The command that builds this index again from scratch: its own folders and model
    /// when its manifest still says which, else the folders must be named.
    pub fn rebuild_command(&self) -> String {
        let knows_roots =
            Manifest::read_hints(&self.index_dir).is_some_and(|h| !h.roots.is_empty());
        self.index_command(if knows_roots {
            "--rebuild"
        } else {
            "--rebuild PATH..."
        })
    }

    /// `text` cut to its first `limit` characters (at a word boundary when there is one),
    /// with a warning saying so.
    pub fn limited<'t>(&self, text: &'t str, limit: usize, what: &str) -> &'t str {
        let Some((cut, _)) = text.char_indices().nth(limit) else {
            return text;
        };
        let cut = text[..cut].rfind(char::is_whitespace).unwrap_or(cut);
        self.ui.warn(format!(
            "{what} is {} characters long; only its first {} are used",
            text.chars().count(),
            text[..cut].chars().count()
        ));
        text[..cut].trim_end()
    }

    /// The model an index was built with, checked to be the very same weights. A command
    /// loads one model and uses it until the process ends, so it is never freed: freeing
    /// the tokenizer's trie alone took ~150 ms of every `ask`.
    pub fn model_for(&self, manifest: &Manifest) -> Result<&'static Model> {
        let spec = registry::get(&manifest.model.name)?;
        // What can be told without the weights is checked before any download.
        let dims = spec
            .check_dims(manifest.model.dims)
            .map_err(|source| Error::IndexDims {
                dims: manifest.model.dims,
                source,
            })?;
        if self.resolver.locate(spec).is_err() {
            if let Some(reason) =
                spec.unobtainable(&manifest.model.revision, &manifest.model.sha256)
            {
                return Err(Error::Store(crate::store::Error::ModelMismatch(format!(
                    "the index was built with weights of {} that fetching it again would not give ({reason})",
                    spec.name
                ))));
            }
        }
        let located = self.resolver.resolve(spec, &self.ui)?;
        let sha256 = located.weights_sha256()?;
        manifest.check_model(&spec.name, &sha256, dims)?;
        Ok(Box::leak(Box::new(
            Model::load(&located, self.precision)?.with_dims(dims)?,
        )))
    }
}

/// `word` as one word for a POSIX shell: as it is when it is plain, else single-quoted.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_alphanumeric() || "/._-+:@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
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

/// Prints `value` as one JSON object and a newline.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string(value).map_err(|e| Error::Io {
        path: PathBuf::from("<stdout>"),
        source: std::io::Error::other(e),
    })?;
    print_text(&(text + "\n"))
}

/// Prints text for people.
pub fn print_text(text: &str) -> Result<()> {
    crate::output::emit(text).map_err(Error::io("<stdout>"))
}

/// Warns on stderr about indexed documents that changed or vanished since indexing.
pub fn warn_stale(ctx: &Context, manifest: &Manifest) {
    let stale = freshness::stale_documents(manifest);
    if stale.is_empty() {
        return;
    }
    let list: Vec<String> = stale
        .iter()
        .map(|s| format!("{} ({})", display_path(&s.path), s.change.as_str()))
        .collect();
    ctx.ui.warn(format!(
        "{} indexed document(s) changed since indexing, results may be out of date (run `{}`): {}",
        stale.len(),
        ctx.index_command(""),
        list.join(", ")
    ));
}
