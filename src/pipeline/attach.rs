//! Attaching parts: indexes built elsewhere (each from a part of a corpus, by a worker of a
//! cluster) joined to one index in a single commit, without embedding anything. Every part
//! must have been built with the index's settings (model and its weights, vector size and
//! type, chunker, analyzer, windows, titles); a part's documents take the place of the
//! same paths in the index, and a document in two parts is refused.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{waiting_note, BuildProgress, Error, Result};
use crate::store::{self, Manifest};
use crate::ui::Ui;

/// What attaching did.
#[derive(Debug)]
pub struct Attached {
    pub manifest: Manifest,
    /// Documents that came with the parts.
    pub attached_documents: usize,
    /// Documents of the index that parts replaced.
    pub replaced_documents: usize,
}

/// Attaches the indexes in `parts` to the index in `index_dir` (created if there is none:
/// it then takes the first part's settings), and merges by `merge` afterwards. `roots`, if
/// given, become the index's roots (the folders a later `index` run walks), and every
/// document must lie under one of them; otherwise the parts' roots join the index's.
pub fn attach(
    index_dir: &Path,
    parts: &[PathBuf],
    roots: Option<&[PathBuf]>,
    merge: store::MergePolicy,
    ui: &Ui,
) -> Result<Attached> {
    let mut manifests = Vec::with_capacity(parts.len());
    for part in parts {
        if same_folder(part, index_dir) {
            return Err(store::Error::IncompatiblePart {
                part: part.clone(),
                reason: "it is the index itself".into(),
            }
            .into());
        }
        let manifest =
            Manifest::read(part)?.ok_or_else(|| store::Error::NoPart { part: part.clone() })?;
        manifests.push(manifest);
    }
    let previous = Manifest::read(index_dir)?;
    let Some(settings) = previous.as_ref().or(manifests.first()) else {
        return Err(store::Error::NoPart {
            part: index_dir.to_path_buf(),
        }
        .into());
    };
    // The index's folders stay its roots; the parts' join them, so that a later `index`
    // run walks every folder the documents came from. (A part built from a list of files
    // has each file as a root: a cluster job gives the corpus's folders instead.)
    let roots = match roots {
        Some(given) => {
            let given: Vec<String> = given.iter().map(|r| crate::ingest::key(r)).collect();
            let documents = manifests
                .iter()
                .chain(previous.as_ref())
                .flat_map(|m| &m.documents);
            for doc in documents {
                if !given.iter().any(|root| under(&doc.path, root)) {
                    return Err(Error::OutsideRoots {
                        document: crate::ingest::display_path(&doc.path),
                        roots: given
                            .iter()
                            .map(|r| crate::ingest::display_path(r))
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
            }
            given
        }
        None => {
            let mut roots = settings.roots.clone();
            for root in manifests.iter().flat_map(|m| &m.roots) {
                if !roots.contains(root) {
                    roots.push(root.clone());
                }
            }
            roots
        }
    };
    let waiting = waiting_note(ui, index_dir);
    let mut builder = store::Builder::create_waiting(
        index_dir,
        settings.model.clone(),
        settings.chunker_version,
        settings.analyzer.clone(),
        roots,
        &waiting,
    )?;
    builder.adopt_settings(settings);
    builder.set_merge_policy(merge);
    // Every part is checked (settings, documents in two parts, checksums) before any is
    // linked into the index folder.
    let mut incoming = HashSet::new();
    let mut checked = Vec::with_capacity(parts.len());
    for (part, manifest) in parts.iter().zip(&manifests) {
        for doc in &manifest.documents {
            if !incoming.insert(doc.path.clone()) {
                return Err(store::Error::DuplicateDocument(doc.path.clone()).into());
            }
        }
        checked.push(builder.check_part(part, manifest)?);
    }
    for (checked, (part, manifest)) in checked.into_iter().zip(parts.iter().zip(&manifests)) {
        builder.attach_checked(checked)?;
        ui.note(format!(
            "attached {} documents ({} passages) from {}",
            manifest.documents.len(),
            manifest.passages,
            crate::ingest::display(part)
        ));
    }
    let mut replaced = 0;
    let kept: Vec<String> = builder
        .previous()
        .map(|m| m.documents.iter().map(|d| d.path.clone()).collect())
        .unwrap_or_default();
    for path in kept {
        if incoming.contains(&path) {
            replaced += 1;
        } else {
            builder.keep_document(&path)?;
        }
    }
    let progress = BuildProgress::new(ui);
    let manifest = builder.commit_with(&progress)?;
    Ok(Attached {
        manifest,
        attached_documents: incoming.len(),
        replaced_documents: replaced,
    })
}

/// Whether the document keyed `path` is the root `root` or lies under it.
fn under(path: &str, root: &str) -> bool {
    path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/') || root.ends_with('/'))
}

/// Whether two paths name the same folder.
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
