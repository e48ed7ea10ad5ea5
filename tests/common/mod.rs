//! Shared set-up for integration tests: the real models, fetched once into the project's
//! `models/` (the fetch itself takes a lock, so parallel test binaries do not race).

#![allow(dead_code)]

pub mod project;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use akapit::models::{registry, Located, ModelSpec, Resolver};
use akapit::ui::Ui;

pub const GEMMA: &str = "embeddinggemma-300m";

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fetched(cell: &'static OnceLock<Located>, spec: &'static ModelSpec) -> &'static Located {
    cell.get_or_init(|| {
        let resolver = Resolver {
            explicit: None,
            project_roots: vec![repo_root().join("models")],
            hub: akapit::models::hub::HubConfig::from_env(),
        };
        resolver
            .fetch(spec, &Ui::new(false))
            .unwrap_or_else(|e| panic!("the tests need the model {}: {e}", spec.name))
    })
}

/// The default model's folder, fetched into `models/` on first use.
pub fn default_model() -> &'static Located {
    static MODEL: OnceLock<Located> = OnceLock::new();
    fetched(&MODEL, registry::default_model())
}

pub fn default_model_dir() -> PathBuf {
    default_model().dir.clone()
}

/// EmbeddingGemma-300m's folder, fetched into `models/` on first use. Its tests are
/// ignored when the build saw `AKAPIT_TEST_GEMMA=0` (build.rs): they download 1.15 GB of
/// weights under the Gemma Terms of Use. CI runs them.
pub fn gemma_model() -> &'static Located {
    static MODEL: OnceLock<Located> = OnceLock::new();
    fetched(
        &MODEL,
        registry::get(GEMMA).expect("the registry has Gemma"),
    )
}

/// `akapit eval --json --quiet ARGS…` run in `work` with the default model: its report.
/// Panics, with akapit's message, unless it exits 0.
pub fn eval_report(work: &Path, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_akapit"))
        .current_dir(work)
        .env("AKAPIT_MODEL_DIR", default_model_dir())
        .args(["eval", "--json", "--quiet"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Dot product of two vectors of the same length.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Cosine similarity (the golden tests' measure of agreement with a reference).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt())
}
