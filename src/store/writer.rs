//! Writing one segment: documents go into `seg-N.tmp/` one transaction each (passages and
//! windows in `passages.sqlite`, vectors in `pending.sqlite`), so a killed build leaves
//! every finished document behind for the next build to resume from. Finishing builds the
//! keyword postings and the vector file, drops the pending vectors, syncs, and renames the
//! folder to `seg-N/`; only the manifest then makes it part of the index.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::layout;
use super::passages::{PassageDb, PostingsSource};
use super::vectors::Vectors;
use super::{DocumentInfo, Error, FileCheck, ModelInfo, NewPassage, SegmentInfo, VectorOptions};
use crate::checksum::sha256_file;

/// What a build reports as it goes (all on the builder's thread).
pub trait Progress {
    /// Vectors added to a segment's graph so far, of `total`.
    fn graph(&self, _done: usize, _total: usize) {}
    /// A merge of `segments` segments holding `passages` live passages starts.
    fn merging(&self, _segments: usize, _passages: usize) {}
}

/// Progress nobody hears.
pub struct Quiet;

impl Progress for Quiet {}

/// Vectors handed to usearch per call, so a build of millions of windows never holds them
/// all in memory.
const ADD_BATCH: usize = 4096;

/// What a segment's vectors and terms depend on: a build resumes an unfinished segment only
/// if it would write exactly this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingState {
    pub model: ModelInfo,
    pub chunker_version: u32,
    pub analyzer: String,
    pub window_policy: String,
    pub titles: bool,
    pub vectors: VectorOptions,
    /// Written by a merge (never resumed: the next merge starts again).
    pub merge: bool,
}

pub struct SegmentWriter {
    db: PassageDb,
    tmp: Unpublished,
    pub name: String,
    dims: usize,
    next_passage: u64,
    next_window: u64,
    documents: Vec<DocumentInfo>,
    paths: HashSet<String>,
}

impl SegmentWriter {
    /// Starts segment number `number` of the index `id` in `dir`.
    pub fn create(
        dir: &Path,
        id: &str,
        number: u64,
        state: &PendingState,
    ) -> Result<SegmentWriter, Error> {
        let name = layout::segment_name(number);
        let mut tmp = Unpublished::create(dir.join(format!("{name}{}", layout::TMP_SUFFIX)))?;
        // A build's documents stay for the next build to resume, even after an error; a
        // merge's are only a copy.
        tmp.keep = !state.merge;
        layout::mark_generation(&tmp.path, id)?;
        let state_path = tmp.path.join(layout::PENDING_STATE);
        let json = serde_json::to_vec_pretty(state).map_err(|e| Error::Io {
            action: "write",
            path: state_path.clone(),
            source: e.into(),
        })?;
        fs::write(&state_path, json).map_err(Error::io("write", &state_path))?;
        let db = PassageDb::create(
            &tmp.path.join(layout::PASSAGES),
            &tmp.path.join(layout::PENDING),
        )?;
        Ok(SegmentWriter {
            db,
            tmp,
            name,
            dims: state.model.dims,
            next_passage: 1,
            next_window: 1,
            documents: Vec::new(),
            paths: HashSet::new(),
        })
    }

    /// The unfinished segment in `tmp` (a folder of this index) if a killed build left one
    /// that wrote exactly what `state` describes; `Ok(None)` otherwise.
    pub fn resume(tmp: &Path, state: &PendingState) -> Result<Option<SegmentWriter>, Error> {
        let Some(name) = tmp
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(layout::TMP_SUFFIX))
            .filter(|n| layout::parse_segment(n).is_some())
            .map(String::from)
        else {
            return Ok(None);
        };
        let found: Option<PendingState> = fs::read(tmp.join(layout::PENDING_STATE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if found.as_ref() != Some(state) || state.merge {
            return Ok(None);
        }
        let Ok(db) = PassageDb::resume(&tmp.join(layout::PASSAGES), &tmp.join(layout::PENDING))
        else {
            return Ok(None);
        };
        let stored = db.stored_documents()?;
        let next_passage = stored
            .iter()
            .map(|(_, p)| p.passages.end)
            .max()
            .unwrap_or(1);
        let next_window = stored.iter().map(|(_, p)| p.windows.end).max().unwrap_or(1);
        let documents: Vec<DocumentInfo> = stored
            .into_iter()
            .map(|(mut info, placement)| {
                info.segment = name.clone();
                info.windows = (placement.windows.end - placement.windows.start) as usize;
                info
            })
            .collect();
        Ok(Some(SegmentWriter {
            db,
            tmp: Unpublished {
                path: tmp.to_path_buf(),
                published: false,
                keep: true,
            },
            name,
            dims: state.model.dims,
            next_passage,
            next_window,
            paths: documents.iter().map(|d| d.path.clone()).collect(),
            documents,
        }))
    }

    /// The documents stored so far.
    pub fn documents(&self) -> &[DocumentInfo] {
        &self.documents
    }

    /// Stores a document (its windows already checked) and returns its record as the
    /// manifest will hold it. Its passages' ids follow those of the documents stored before.
    pub fn add(
        &mut self,
        mut doc: DocumentInfo,
        passages: &[NewPassage],
    ) -> Result<DocumentInfo, Error> {
        if self.paths.contains(&doc.path) {
            return Err(Error::DuplicateDocument(doc.path));
        }
        let windows: usize = passages.iter().map(|p| p.windows.len()).sum();
        doc.passages = passages.len();
        doc.windows = windows;
        doc.segment = self.name.clone();
        self.db
            .insert_document(&doc, passages, self.next_passage, self.next_window)?;
        self.next_passage += passages.len() as u64;
        self.next_window += windows as u64;
        self.paths.insert(doc.path.clone());
        self.documents.push(doc.clone());
        Ok(doc)
    }

    /// Removes documents a resumed segment holds but the build no longer wants.
    pub fn remove(&mut self, paths: &[String]) -> Result<(), Error> {
        if paths.is_empty() {
            return Ok(());
        }
        self.db.remove_documents(paths)?;
        let gone: HashSet<&String> = paths.iter().collect();
        self.documents.retain(|d| !gone.contains(&d.path));
        self.paths.retain(|p| !gone.contains(p));
        Ok(())
    }

    /// Builds the postings from the passages' terms and the vector file, and publishes the
    /// folder as `seg-N/`. `progress` hears of vectors added to the graph.
    pub fn finish(
        self,
        dir: &Path,
        options: &VectorOptions,
        progress: &dyn Fn(usize, usize),
    ) -> Result<SegmentInfo, Error> {
        self.finish_with(dir, options, progress, |db, end| db.write_postings(end))
    }

    /// `finish` for a merge, whose documents came without terms: the postings are the
    /// merged segments' own, renumbered.
    pub fn finish_merge(
        self,
        dir: &Path,
        options: &VectorOptions,
        progress: &dyn Fn(usize, usize),
        sources: &[PostingsSource],
    ) -> Result<SegmentInfo, Error> {
        self.finish_with(dir, options, progress, |db, end| {
            db.write_merged_postings(sources, end)
        })
    }

    fn finish_with(
        mut self,
        dir: &Path,
        options: &VectorOptions,
        progress: &dyn Fn(usize, usize),
        postings: impl FnOnce(&mut PassageDb, u32) -> Result<(), Error>,
    ) -> Result<SegmentInfo, Error> {
        let (passages, windows) = self.db.counts()?;
        let end = u32::try_from(self.next_passage).map_err(|_| Error::Corrupt {
            path: self.tmp.path.clone(),
            reason: format!(
                "{} passages are more than a segment holds",
                self.next_passage
            ),
        })?;
        postings(&mut self.db, end)?;
        let vectors_path = self.tmp.path.join(layout::VECTORS);
        let vectors = Vectors::create(&vectors_path, self.dims, options, windows)?;
        let mut added = 0;
        self.db
            .for_each_pending_vector(self.dims, ADD_BATCH, |batch| {
                vectors.add_batch(batch)?;
                added += batch.len();
                progress(added, windows);
                Ok(())
            })?;
        vectors.save()?;
        drop(vectors);
        self.db.close()?;
        for leftover in [
            layout::PENDING.to_string(),
            format!("{}-journal", layout::PENDING),
            format!("{}-journal", layout::PASSAGES),
            layout::PENDING_STATE.to_string(),
        ] {
            let path = self.tmp.path.join(leftover);
            if path.exists() {
                fs::remove_file(&path).map_err(Error::io("remove", &path))?;
            }
        }
        let mut files = std::collections::BTreeMap::new();
        for name in [layout::PASSAGES, layout::VECTORS] {
            let path = self.tmp.path.join(name);
            layout::sync_file(&path)?;
            files.insert(name.to_string(), check(&path)?);
        }
        layout::sync_dir(&self.tmp.path)?;
        self.tmp.publish(&dir.join(&self.name))?;
        Ok(SegmentInfo {
            name: self.name,
            passages,
            windows,
            deleted: Vec::new(),
            files,
        })
    }
}

/// The size and sha256 of a file.
pub(super) fn check(path: &Path) -> Result<FileCheck, Error> {
    Ok(FileCheck {
        bytes: fs::metadata(path)
            .map_err(Error::io("read metadata of", path))?
            .len(),
        sha256: sha256_file(path).map_err(Error::io("read", path))?,
    })
}

/// A folder being written; removed when dropped unless published or kept for resuming. A
/// killed process never drops it: the next build resumes it or removes it.
struct Unpublished {
    path: PathBuf,
    published: bool,
    keep: bool,
}

impl Unpublished {
    fn create(path: PathBuf) -> Result<Unpublished, Error> {
        fs::create_dir(&path).map_err(Error::io("create", &path))?;
        Ok(Unpublished {
            path,
            published: false,
            keep: false,
        })
    }

    fn publish(&mut self, to: &Path) -> Result<(), Error> {
        fs::rename(&self.path, to).map_err(Error::io("publish", to))?;
        self.published = true;
        layout::sync_dir(to.parent().unwrap_or(Path::new(".")))
    }
}

impl Drop for Unpublished {
    fn drop(&mut self) {
        if !self.published && !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}
