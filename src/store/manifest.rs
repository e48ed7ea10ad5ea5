//! The manifest: a versioned JSON description of an index (model, chunker, vector options,
//! documents) that also names the generation directory holding its data. Replacing it is the
//! single atomic step that publishes a build.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{layout, Error, FORMAT_VERSION};

/// The embedding model whose vectors the index holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelInfo {
    pub name: String,
    pub revision: String,
    /// sha256 of the weights file, hex.
    pub sha256: String,
    pub dims: usize,
}

/// One indexed file as it was when the index was built.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DocumentInfo {
    /// Absolute path as given by the caller; also the document's key in the index.
    pub path: String,
    /// sha256 of the file's bytes, hex.
    pub sha256: String,
    pub bytes: u64,
    /// Modification time, RFC 3339.
    pub modified: Option<String>,
    pub passages: usize,
    /// Windows over all its passages (vectors in the index); filled in by the build.
    #[serde(default)]
    pub windows: usize,
    /// What the file was read as (`text`, `pdf`, `html`…); absent for records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The document's title, from its metadata or first heading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The segment (`seg-NNNNNN`) that holds the document's passages; filled in by the
    /// build that stores it.
    #[serde(default)]
    pub segment: String,
}

/// One segment of an index: a folder of data files written once by one build (or merge)
/// and never changed, minus the documents deleted from it since.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SegmentInfo {
    /// The folder's name, `seg-NNNNNN`.
    pub name: String,
    /// Passages and windows the segment's files hold, deleted ones included.
    pub passages: usize,
    pub windows: usize,
    /// Documents of this segment that were changed or removed since it was written: their
    /// passages are no longer searched. The manifest, not the segment, records this.
    #[serde(default)]
    pub deleted: Vec<String>,
    /// Each data file by name, with its size and hash.
    pub files: BTreeMap<String, FileCheck>,
}

/// A file found under the roots that is not in the index, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SkippedFile {
    /// Key, as `DocumentInfo::path`.
    pub path: String,
    pub reason: String,
    pub bytes: u64,
    /// Modification time, RFC 3339, as when it was skipped: a later change is worth a retry.
    pub modified: Option<String>,
}

/// What one file of a generation must be: its size and content hash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileCheck {
    pub bytes: u64,
    /// sha256, hex.
    pub sha256: String,
}

/// Distance used by the vector index. Only cosine is supported: model vectors are compared
/// by angle, and usearch reports `1 - cosine similarity` as the distance.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Cos,
}

/// How vectors are stored in the vector index. `f32` keeps model output unchanged, so
/// scores match a brute-force computation; `f16` halves the file, `i8` quarters it (each
/// component of the unit vector scaled to a byte).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Scalar {
    F32,
    F16,
    I8,
}

impl Scalar {
    pub const ALL: [Scalar; 3] = [Scalar::F32, Scalar::F16, Scalar::I8];

    pub fn as_str(self) -> &'static str {
        match self {
            Scalar::F32 => "f32",
            Scalar::F16 => "f16",
            Scalar::I8 => "i8",
        }
    }

    /// Bytes per stored component.
    pub fn bytes(self) -> usize {
        match self {
            Scalar::F32 => 4,
            Scalar::F16 => 2,
            Scalar::I8 => 1,
        }
    }
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scalar {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scalar::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a vector type; expected f32, f16 or i8"))
    }
}

/// The usearch (HNSW) settings an index was built with. `connectivity` and `expansion_add`
/// shape the graph and are fixed at build time; `expansion_search` is not stored in the
/// usearch file: readers take it from here, and raise it for big segments
/// (`vectors::search_expansion`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VectorOptions {
    pub metric: Metric,
    pub scalar: Scalar,
    /// Graph edges per node (HNSW `M`).
    pub connectivity: usize,
    /// Candidate list size while inserting (HNSW `efConstruction`).
    pub expansion_add: usize,
    /// Candidate list size while searching (HNSW `ef`) in segments of up to 100,000
    /// vectors; usearch raises it to `k` when asked for more results than this.
    pub expansion_search: usize,
}

impl VectorOptions {
    /// usearch's own defaults, written out so the manifest records what was used and a
    /// library upgrade cannot change them silently. With a few hundred thousand passages
    /// they give near-exact recall at ~1 ms per query.
    pub const DEFAULT: VectorOptions = VectorOptions {
        metric: Metric::Cos,
        scalar: Scalar::F32,
        connectivity: 16,
        expansion_add: 128,
        expansion_search: 64,
    };
}

/// The window policy of indexes built before it was recorded.
fn sentence_windows() -> String {
    crate::text::WindowPolicy::SENTENCES.to_string()
}

/// What a manifest says about an index, read without trusting its format (`read_hints`).
#[derive(Debug, Clone, PartialEq)]
pub struct Hints {
    pub roots: Vec<String>,
    pub model: Option<String>,
    pub dims: Option<usize>,
    /// How the vectors are stored (`f32`, `f16`, `i8`).
    pub scalar: Option<Scalar>,
}

/// Everything known about an index without opening its data files.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// This commit's name (`gen-NNNNNN`, one more for every build or merge published):
    /// which version of the index answered.
    pub generation: String,
    /// The segments holding the data, oldest first.
    pub segments: Vec<SegmentInfo>,
    pub model: ModelInfo,
    pub chunker_version: u32,
    /// How passage text became keyword-search terms (e.g. `snowball-polish`); questions must
    /// be analysed the same way.
    pub analyzer: String,
    /// Which pieces of each passage were embedded (`text::WindowPolicy`, e.g. `sentences`).
    #[serde(default = "sentence_windows")]
    pub window_policy: String,
    /// Whether each window was embedded with its passage's heading path as its title.
    #[serde(default)]
    pub titles: bool,
    pub vectors: VectorOptions,
    /// RFC 3339, UTC.
    pub built_at: String,
    /// The roots that were indexed, as given by the caller.
    pub roots: Vec<String>,
    pub documents: Vec<DocumentInfo>,
    /// Total passages over all documents (searched ones: deleted ones not counted).
    pub passages: usize,
    /// Total windows over all those passages.
    pub windows: usize,
    /// Files under the roots that were found but not indexed (binary, unreadable).
    #[serde(default)]
    pub skipped: Vec<SkippedFile>,
}

impl Manifest {
    /// Reads `dir/manifest.json`. `Ok(None)` when there is none (no index was ever
    /// published there); an error when it exists but this version cannot use it.
    pub fn read(dir: &Path) -> Result<Option<Manifest>, Error> {
        let path = dir.join(layout::MANIFEST);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(Error::io("read", &path)(err)),
        };
        let corrupt = |reason: String| Error::Corrupt {
            path: path.clone(),
            reason,
        };
        // Check the version before the shape: a manifest from another format version may
        // have other fields, and "wrong version" is the error that tells the user why.
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not valid JSON: {e}")))?;
        let found = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| corrupt("no format_version".into()))?;
        if found != u64::from(FORMAT_VERSION) {
            return Err(Error::FormatVersion {
                path,
                found,
                expected: FORMAT_VERSION,
            });
        }
        let manifest: Manifest = serde_json::from_value(value)
            .map_err(|e| corrupt(format!("unexpected content: {e}")))?;
        if layout::parse_generation(&manifest.generation).is_none() {
            return Err(corrupt(format!(
                "`{}` is not a generation name",
                manifest.generation
            )));
        }
        let mut names = std::collections::HashSet::new();
        for segment in &manifest.segments {
            if layout::parse_segment(&segment.name).is_none() || !names.insert(&segment.name) {
                return Err(corrupt(format!(
                    "`{}` is not a segment folder name, or is named twice",
                    segment.name
                )));
            }
        }
        if let Some(doc) = manifest
            .documents
            .iter()
            .find(|d| !names.contains(&d.segment))
        {
            return Err(corrupt(format!(
                "document {} is in segment `{}`, which it does not list",
                doc.path, doc.segment
            )));
        }
        let counted: usize = manifest.documents.iter().map(|d| d.passages).sum();
        if counted != manifest.passages {
            return Err(corrupt(format!(
                "documents list {counted} passages but the total says {}",
                manifest.passages
            )));
        }
        if manifest.windows < manifest.passages {
            return Err(corrupt(format!(
                "{} windows cannot cover {} passages",
                manifest.windows, manifest.passages
            )));
        }
        Ok(Some(manifest))
    }

    /// What an index's manifest says it holds (folders, model, vector size), read leniently:
    /// also from a manifest of another format version or with a damaged shape, so that a
    /// rebuild can keep the user's folders and model. `None` when there is no readable JSON.
    pub fn read_hints(dir: &Path) -> Option<Hints> {
        let bytes = fs::read(dir.join(layout::MANIFEST)).ok()?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let roots = value
            .get("roots")?
            .as_array()?
            .iter()
            .filter_map(|r| r.as_str().map(String::from))
            .collect();
        let model = value.get("model");
        Some(Hints {
            roots,
            model: model
                .and_then(|m| m.get("name"))
                .and_then(|n| n.as_str())
                .map(String::from),
            dims: model
                .and_then(|m| m.get("dims"))
                .and_then(|d| d.as_u64())
                .and_then(|d| usize::try_from(d).ok()),
            scalar: value
                .get("vectors")
                .and_then(|v| v.get("scalar"))
                .and_then(|s| s.as_str())
                .and_then(|s| s.parse().ok()),
        })
    }

    /// Atomically replaces `dir/manifest.json`; this is what publishes a build.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), Error> {
        let path = dir.join(layout::MANIFEST);
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| Error::Io {
            action: "serialize",
            path: path.clone(),
            source: e.into(),
        })?;
        json.push(b'\n');
        layout::write_atomic(&path, &json)
    }

    /// Fails with a message the user can act on unless the index was built with the given
    /// model (same name, same weights, same dimensions).
    pub fn check_model(&self, name: &str, sha256: &str, dims: usize) -> Result<(), Error> {
        let built = &self.model;
        if built.name == name && built.sha256 == sha256 && built.dims == dims {
            return Ok(());
        }
        let message = if built.name == name {
            format!(
                "index was built with model {name} (weights sha256 {}…, {} dims), but the \
                 weights of {name} found now differ (sha256 {}…, {dims} dims)",
                short(&built.sha256),
                built.dims,
                short(sha256),
            )
        } else {
            format!(
                "index was built with model {} (weights sha256 {}…, {} dims), but the current \
                 model is {name} (weights sha256 {}…, {dims} dims)",
                built.name,
                short(&built.sha256),
                built.dims,
                short(sha256),
            )
        };
        Err(Error::ModelMismatch(message))
    }
}

/// Enough of a hash to tell two apart in a message.
fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            generation: layout::generation_name(3),
            model: ModelInfo {
                name: "intfloat/multilingual-e5-small".into(),
                revision: "c007d7ef".into(),
                sha256: "abcdef0123456789abcdef".into(),
                dims: 384,
            },
            chunker_version: 2,
            analyzer: "snowball-polish".into(),
            window_policy: "sentences".into(),
            titles: false,
            vectors: VectorOptions::DEFAULT,
            built_at: "2025-01-02T03:04:05Z".into(),
            roots: vec!["/home/u/notes".into()],
            documents: vec![DocumentInfo {
                path: "/home/u/notes/a.md".into(),
                sha256: "00ff".into(),
                bytes: 120,
                modified: Some("2024-12-31T23:59:59Z".into()),
                passages: 4,
                windows: 9,
                format: Some("markdown".into()),
                title: Some("Notatki".into()),
                segment: "seg-000002".into(),
            }],
            passages: 4,
            windows: 9,
            skipped: vec![SkippedFile {
                path: "/home/u/notes/photo.txt".into(),
                reason: "binary".into(),
                bytes: 3,
                modified: None,
            }],
            segments: vec![SegmentInfo {
                name: "seg-000002".into(),
                passages: 6,
                windows: 12,
                deleted: vec!["/home/u/notes/old.md".into()],
                files: BTreeMap::from([(
                    "passages.sqlite".to_string(),
                    FileCheck {
                        bytes: 4096,
                        sha256: "ab".repeat(32),
                    },
                )]),
            }],
        }
    }

    #[test]
    fn write_then_read_round_trips_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = sample();
        manifest.write(dir.path()).unwrap();
        let read = Manifest::read(dir.path()).unwrap().unwrap();
        assert_eq!(read.generation, manifest.generation);
        assert_eq!(read.model, manifest.model);
        assert_eq!(read.chunker_version, 2);
        assert_eq!(read.vectors, VectorOptions::DEFAULT);
        assert_eq!(read.built_at, manifest.built_at);
        assert_eq!(read.roots, manifest.roots);
        assert_eq!(read.documents, manifest.documents);
        assert_eq!(read.passages, 4);
        assert_eq!(read.windows, 9);
        assert_eq!(read.skipped, manifest.skipped);
        assert_eq!(read.segments, manifest.segments);
    }

    #[test]
    fn hints_survive_another_format_and_a_broken_shape() {
        let dir = tempfile::tempdir().unwrap();
        let mut json = serde_json::to_value(sample()).unwrap();
        json["format_version"] = 99.into();
        json.as_object_mut().unwrap().remove("documents");
        fs::write(dir.path().join(layout::MANIFEST), json.to_string()).unwrap();
        assert!(Manifest::read(dir.path()).is_err());
        let hints = Manifest::read_hints(dir.path()).unwrap();
        assert_eq!(hints.roots, ["/home/u/notes"]);
        assert_eq!(
            hints.model.as_deref(),
            Some("intfloat/multilingual-e5-small")
        );
        assert_eq!(hints.dims, Some(384));
        fs::write(dir.path().join(layout::MANIFEST), "{ not json").unwrap();
        assert!(Manifest::read_hints(dir.path()).is_none());
    }

    #[test]
    fn a_manifest_without_skipped_files_or_checks_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let mut json = serde_json::to_value(sample()).unwrap();
        json.as_object_mut().unwrap().remove("skipped");
        json.as_object_mut().unwrap().remove("window_policy");
        fs::write(dir.path().join(layout::MANIFEST), json.to_string()).unwrap();
        let read = Manifest::read(dir.path()).unwrap().unwrap();
        assert!(read.skipped.is_empty());
        assert_eq!(read.window_policy, "sentences");
    }

    #[test]
    fn vector_options_are_spelled_out_in_the_json() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            json["vectors"],
            serde_json::json!({
                "metric": "cos", "scalar": "f32",
                "connectivity": 16, "expansion_add": 128, "expansion_search": 64
            })
        );
        assert_eq!(json["format_version"], FORMAT_VERSION);
    }

    #[test]
    fn missing_manifest_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Manifest::read(dir.path()).unwrap().is_none());
        assert!(Manifest::read(&dir.path().join("absent"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn other_format_version_asks_for_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        // A future format may have a different shape; the version alone must be enough.
        fs::write(
            dir.path().join(layout::MANIFEST),
            r#"{"format_version": 99, "something_new": true}"#,
        )
        .unwrap();
        let err = Manifest::read(dir.path()).unwrap_err();
        assert!(
            matches!(err, Error::FormatVersion { found: 99, .. }),
            "{err:?}"
        );
        assert!(err.needs_rebuild(), "{err}");
        assert!(err.to_string().contains("manifest.json"), "{err}");
    }

    #[test]
    fn corrupt_manifests_ask_for_a_rebuild() {
        let mut unsafe_generation = serde_json::to_value(sample()).unwrap();
        unsafe_generation["generation"] = "../elsewhere".into();
        let mut wrong_total = serde_json::to_value(sample()).unwrap();
        wrong_total["passages"] = 5.into();
        let mut too_few_windows = serde_json::to_value(sample()).unwrap();
        too_few_windows["windows"] = 3.into();
        let cases = [
            format!("{{\"format_version\": {FORMAT_VERSION}, \"genera"),
            "[]".to_string(),
            format!("{{\"format_version\": {FORMAT_VERSION}}}"),
            unsafe_generation.to_string(),
            wrong_total.to_string(),
            too_few_windows.to_string(),
        ];
        for contents in cases {
            let dir = tempfile::tempdir().unwrap();
            fs::write(dir.path().join(layout::MANIFEST), &contents).unwrap();
            let err = Manifest::read(dir.path()).unwrap_err();
            assert!(matches!(err, Error::Corrupt { .. }), "{contents}: {err:?}");
            assert!(err.needs_rebuild(), "{err}");
        }
    }

    #[test]
    fn check_model_accepts_the_same_model_only() {
        let manifest = sample();
        let m = &manifest.model;
        assert!(manifest.check_model(&m.name, &m.sha256, m.dims).is_ok());

        let err = manifest
            .check_model("BAAI/bge-m3", "99887766554433221100", 1024)
            .unwrap_err();
        assert!(err.needs_rebuild());
        let err = err.to_string();
        assert!(err.contains("intfloat/multilingual-e5-small"), "{err}");
        assert!(err.contains("abcdef012345…"), "{err}");
        assert!(err.contains("BAAI/bge-m3"), "{err}");

        let err = manifest.check_model(&m.name, "1234", m.dims).unwrap_err();
        assert!(err.needs_rebuild());
        let err = err.to_string();
        assert!(
            err.contains("weights of intfloat/multilingual-e5-small"),
            "{err}"
        );
        assert!(manifest.check_model(&m.name, &m.sha256, 768).is_err());
    }

    proptest::proptest! {
        /// A manifest of any bytes (or a good one with bytes changed) is read or refused,
        /// never a panic; what is read is consistent.
        #[test]
        fn any_manifest_bytes_are_read_or_refused(
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            flips in proptest::collection::vec((0usize..2000, proptest::prelude::any::<u8>()), 0..8),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(layout::MANIFEST);
            fs::write(&path, &noise).unwrap();
            let _ = Manifest::read(dir.path());
            let _ = Manifest::read_hints(dir.path());
            let mut good = serde_json::to_vec(&sample()).unwrap();
            for (at, byte) in flips {
                let len = good.len();
                good[at % len] = byte;
            }
            fs::write(&path, &good).unwrap();
            if let Ok(Some(m)) = Manifest::read(dir.path()) {
                proptest::prop_assert!(layout::parse_generation(&m.generation).is_some());
                proptest::prop_assert_eq!(m.documents.iter().map(|d| d.passages).sum::<usize>(), m.passages);
            }
        }
    }
}
