//! The Hugging Face Hub: finding a pinned model revision in the local cache (the layout
//! `huggingface_hub` and hf-hub share) and downloading it with hf-hub when allowed.
//!
//! Honours `HF_HUB_CACHE`, `HF_HOME`, `XDG_CACHE_HOME`, `HF_HUB_OFFLINE` and `HF_TOKEN`.

use std::env;
use std::path::{Path, PathBuf};

use hf_hub::api::sync::ApiBuilder;
use hf_hub::{Cache, Repo, RepoType};

use super::registry::HubSource;
use super::Error;

/// Where the cache is and whether the hub may be contacted.
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub cache_dir: PathBuf,
    pub offline: bool,
    pub token: Option<String>,
}

impl HubConfig {
    /// Reads the same variables as `huggingface_hub`.
    pub fn from_env() -> Self {
        let var = |name: &str| {
            env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let home = env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let cache_dir = var("HF_HUB_CACHE")
            .or_else(|| var("HUGGINGFACE_HUB_CACHE"))
            .or_else(|| var("HF_HOME").map(|h| h.join("hub")))
            .or_else(|| var("XDG_CACHE_HOME").map(|x| x.join("huggingface").join("hub")))
            .unwrap_or_else(|| home.join(".cache").join("huggingface").join("hub"));
        let token = env::var("HF_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .or_else(|| Cache::new(cache_dir.clone()).token());
        HubConfig {
            cache_dir,
            offline: is_truthy(env::var("HF_HUB_OFFLINE").ok().as_deref()),
            token,
        }
    }

    fn repo(source: &HubSource) -> Repo {
        Repo::with_revision(
            source.repo.clone(),
            RepoType::Model,
            source.revision.clone(),
        )
    }

    /// The snapshot folder holding every file in `files` for the pinned revision, if cached.
    pub fn cached_snapshot(&self, source: &HubSource, files: &[String]) -> Result<PathBuf, String> {
        let repo = Self::repo(source);
        let cache = Cache::new(self.cache_dir.clone()).repo(repo.clone());
        let snapshot = self
            .cache_dir
            .join(repo.folder_name())
            .join("snapshots")
            .join(&source.revision);
        let mut missing = Vec::new();
        for file in files {
            // hf-hub resolves through refs/<revision>; huggingface_hub writes no ref for a
            // commit hash, so the snapshot folder itself is checked as well.
            let found = cache
                .get(file)
                .or_else(|| Some(snapshot.join(file)).filter(|p| p.exists()));
            if found.is_none() {
                missing.push(file.as_str());
            }
        }
        if missing.is_empty() {
            Ok(snapshot)
        } else {
            Err(format!(
                "not in the Hugging Face cache {} (missing {} of {}@{})",
                self.cache_dir.display(),
                missing.join(", "),
                source.repo,
                short(&source.revision)
            ))
        }
    }

    /// Downloads `files` of the pinned revision into the cache; returns the snapshot folder.
    pub fn download(
        &self,
        source: &HubSource,
        files: &[String],
        progress: bool,
    ) -> Result<PathBuf, Error> {
        let hub_err = |file: &str, detail: String| Error::Hub {
            repo: source.repo.clone(),
            file: file.to_string(),
            detail,
        };
        if self.offline {
            return Err(hub_err(
                "*",
                "HF_HUB_OFFLINE is set, so the hub is not contacted".into(),
            ));
        }
        if source.gated && self.token.is_none() {
            return Err(hub_err(
                "*",
                "the repository is gated: accept its licence on the hub and set HF_TOKEN".into(),
            ));
        }
        let api = ApiBuilder::from_cache(Cache::new(self.cache_dir.clone()))
            .with_progress(progress)
            .with_token(self.token.clone())
            .build()
            .map_err(|e| hub_err("*", e.to_string()))?;
        let repo = api.repo(Self::repo(source));
        let mut snapshot = None;
        for file in files {
            let path = repo.get(file).map_err(|e| hub_err(file, e.to_string()))?;
            snapshot = path.parent().map(Path::to_path_buf);
        }
        snapshot.ok_or_else(|| hub_err("*", "no files requested".into()))
    }
}

/// `huggingface_hub`'s reading of boolean variables.
fn is_truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        ["1", "ON", "YES", "TRUE"].contains(&v.trim().to_ascii_uppercase().as_str())
    })
}

/// The sha256 of a cached LFS file is the name of the blob its snapshot entry links to.
pub fn blob_sha256(path: &Path) -> Option<String> {
    let target = std::fs::read_link(path).ok()?;
    let name = target.file_name()?.to_str()?;
    (name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| name.to_ascii_lowercase())
}

pub fn short(revision: &str) -> &str {
    &revision[..revision.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> HubSource {
        HubSource {
            repo: "org/model".into(),
            revision: "0123456789abcdef0123456789abcdef01234567".into(),
            extra_files: vec![],
            gated: false,
        }
    }

    #[test]
    fn offline_values_follow_huggingface_hub() {
        for v in ["1", "true", "YES", "On"] {
            assert!(is_truthy(Some(v)), "{v}");
        }
        for v in ["0", "false", "", "no"] {
            assert!(!is_truthy(Some(v)), "{v}");
        }
        assert!(!is_truthy(None));
    }

    #[test]
    fn finds_a_snapshot_without_refs_and_reports_missing_files() {
        let tmp = tempfile::tempdir().unwrap();
        let config = HubConfig {
            cache_dir: tmp.path().to_path_buf(),
            offline: true,
            token: None,
        };
        let files = vec!["config.json".to_string(), "tokenizer.json".to_string()];
        let snap = tmp
            .path()
            .join("models--org--model/snapshots/0123456789abcdef0123456789abcdef01234567");
        std::fs::create_dir_all(&snap).unwrap();
        std::fs::write(snap.join("config.json"), "{}").unwrap();
        let err = config.cached_snapshot(&source(), &files).unwrap_err();
        assert!(
            err.contains("tokenizer.json") && err.contains("org/model"),
            "{err}"
        );
        std::fs::write(snap.join("tokenizer.json"), "{}").unwrap();
        assert_eq!(config.cached_snapshot(&source(), &files).unwrap(), snap);
    }

    #[test]
    fn offline_download_fails_at_once() {
        let config = HubConfig {
            cache_dir: PathBuf::from("/nonexistent"),
            offline: true,
            token: None,
        };
        let err = config
            .download(&source(), &["config.json".into()], false)
            .unwrap_err();
        assert!(err.to_string().contains("HF_HUB_OFFLINE"), "{err}");
    }

    #[test]
    fn blob_name_is_the_checksum() {
        let tmp = tempfile::tempdir().unwrap();
        let sha = "a".repeat(64);
        let blob = tmp.path().join(&sha);
        std::fs::write(&blob, "x").unwrap();
        let link = tmp.path().join("model.safetensors");
        std::os::unix::fs::symlink(&blob, &link).unwrap();
        assert_eq!(blob_sha256(&link), Some(sha));
        assert_eq!(blob_sha256(&blob), None);
    }
}
