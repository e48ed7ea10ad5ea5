//! A model folder: the files it must hold to be used, and the record akapit writes into
//! every folder it creates (where the files came from and their checksums), which later
//! runs read instead of hashing a gigabyte of weights again.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::registry::ModelSpec;

/// Written into every folder akapit creates: where the files came from and their checksums.
#[derive(Debug, Serialize, Deserialize)]
pub struct SourceRecord {
    pub model: String,
    pub source: String,
    pub license: String,
    pub files: BTreeMap<String, String>,
}

impl SourceRecord {
    pub const FILE_NAME: &'static str = "akapit-source.json";

    pub fn load(dir: &Path) -> Option<SourceRecord> {
        let text = std::fs::read_to_string(dir.join(Self::FILE_NAME)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// A folder is usable when every required file is there.
pub fn check_folder(spec: &ModelSpec, dir: &Path) -> Result<(), String> {
    if dir.is_file() {
        return Err(format!("{} is a file, not a model folder", dir.display()));
    }
    if !dir.is_dir() {
        return Err(format!("{} does not exist", dir.display()));
    }
    let missing: Vec<String> = spec
        .required_files()
        .into_iter()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("{} lacks {}", dir.display(), missing.join(", ")))
    }
}
