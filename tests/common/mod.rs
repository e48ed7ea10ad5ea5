//! Shared set-up for integration tests: the real default model, fetched once (the
//! fetch itself takes a lock, so parallel test binaries do not race).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use akapit::models::{registry, Located, Resolver};
use akapit::ui::Ui;

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The default model's folder, fetched into `models/` on first use.
pub fn default_model() -> &'static Located {
    static MODEL: OnceLock<Located> = OnceLock::new();
    MODEL.get_or_init(|| {
        let resolver = Resolver {
            explicit: None,
            project_roots: vec![repo_root().join("models")],
            hub: akapit::models::hub::HubConfig::from_env(),
        };
        resolver
            .fetch(registry::default_model(), &Ui::new(false))
            .unwrap_or_else(|e| panic!("the tests need the default model: {e}"))
    })
}

pub fn default_model_dir() -> PathBuf {
    default_model().dir.clone()
}
