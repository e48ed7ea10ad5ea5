//! The models a long-running command loaded, shared by its parts: `serve`'s answers and its
//! `--watch` re-indexing embed with the same copy.

use std::sync::{Arc, Mutex};

use super::{Context, Result};
use crate::embed::Model;
use crate::store::{Manifest, ModelInfo};

/// The models this process loaded, by the weights and size an index records: the server
/// and its watcher share them (each is loaded once and kept until the process ends).
#[derive(Clone, Default)]
pub struct Loaded(Arc<Mutex<Vec<(ModelInfo, &'static Model)>>>);

impl Loaded {
    /// The model `manifest` was built with, loaded (and checked) on first use.
    pub fn model_for(&self, ctx: &Context, manifest: &Manifest) -> Result<&'static Model> {
        let mut loaded = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, model)) = loaded.iter().find(|(info, _)| *info == manifest.model) {
            return Ok(model);
        }
        let model = ctx.model_for(manifest)?;
        loaded.push((manifest.model.clone(), model));
        Ok(model)
    }

    /// A loaded model of this name and size, if there is one.
    pub fn find(&self, name: &str, dims: usize) -> Option<&'static Model> {
        let loaded = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        loaded
            .iter()
            .find(|(info, _)| info.name == name && info.dims == dims)
            .map(|(_, model)| *model)
    }
}
