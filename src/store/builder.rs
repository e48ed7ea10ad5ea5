//! Building: a run writes one new segment holding the new and changed documents, keeps the
//! unchanged ones where they are, deletes from older segments what was changed or removed,
//! and publishes all of it by replacing the manifest. Then the merge policy may combine
//! small segments (each merge is published the same way). The builders' lock is held from
//! the start, so two builds never interleave; readers never take it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::layout;
use super::merge::{self, MergePolicy};
use super::writer::{PendingState, Progress, Quiet, SegmentWriter};
use super::{
    DocumentInfo, Error, Manifest, ModelInfo, NewPassage, SegmentInfo, SkippedFile, VectorOptions,
    FORMAT_VERSION,
};

/// An index build in progress. Nothing it does is visible to readers until `commit`.
pub struct Builder {
    lock: File,
    dir: PathBuf,
    id: String,
    /// The index as it was when the lock was taken.
    previous: Option<Manifest>,
    state: PendingState,
    roots: Vec<String>,
    /// The new segment, opened (or resumed) on first use.
    writer: Option<SegmentWriter>,
    /// Documents a resumed segment already holds that the build has not claimed yet.
    resumed: HashMap<String, String>,
    /// Documents of `previous` that stay where they are.
    kept: HashSet<String>,
    /// Documents of the new segment and of attached ones.
    added: HashSet<String>,
    /// Segments of other indexes attached to this build, and their documents.
    attached_segments: Vec<SegmentInfo>,
    attached_documents: Vec<DocumentInfo>,
    skipped: Vec<SkippedFile>,
    merge: MergePolicy,
}

/// A part whose settings and files `Builder::check_part` found fit to attach.
pub struct CheckedPart<'p> {
    part: &'p Path,
    manifest: &'p Manifest,
}

impl Builder {
    /// Starts a build in `dir` (an empty or new folder, or an index akapit built), taking
    /// the builders' lock; fails at once if another build holds it.
    pub fn create(
        dir: &Path,
        model: ModelInfo,
        chunker_version: u32,
        analyzer: String,
        roots: Vec<String>,
    ) -> Result<Builder, Error> {
        Self::start(dir, model, chunker_version, analyzer, roots, None)
    }

    /// As `create`, but waits for another build's lock, calling `on_wait` once first.
    pub fn create_waiting(
        dir: &Path,
        model: ModelInfo,
        chunker_version: u32,
        analyzer: String,
        roots: Vec<String>,
        on_wait: &dyn Fn(),
    ) -> Result<Builder, Error> {
        Self::start(dir, model, chunker_version, analyzer, roots, Some(on_wait))
    }

    fn start(
        dir: &Path,
        model: ModelInfo,
        chunker_version: u32,
        analyzer: String,
        roots: Vec<String>,
        wait: Option<&dyn Fn()>,
    ) -> Result<Builder, Error> {
        let id = layout::claim(dir)?;
        let lock = layout::lock(dir, wait)?;
        let previous = Manifest::read(dir).ok().flatten();
        Ok(Builder {
            lock,
            dir: dir.to_path_buf(),
            id,
            previous,
            state: PendingState {
                model,
                chunker_version,
                analyzer,
                window_policy: crate::text::WindowPolicy::DEFAULT.to_string(),
                titles: false,
                vectors: VectorOptions::DEFAULT,
                merge: false,
            },
            roots,
            writer: None,
            resumed: HashMap::new(),
            kept: HashSet::new(),
            added: HashSet::new(),
            attached_segments: Vec::new(),
            attached_documents: Vec::new(),
            skipped: Vec::new(),
            merge: MergePolicy::DEFAULT,
        })
    }

    /// Takes every setting the vectors and terms depend on from `manifest` (another index's),
    /// for a build that only attaches indexes built elsewhere.
    pub fn adopt_settings(&mut self, manifest: &Manifest) {
        self.state.model = manifest.model.clone();
        self.state.chunker_version = manifest.chunker_version;
        self.state.analyzer = manifest.analyzer.clone();
        self.state.window_policy = manifest.window_policy.clone();
        self.state.titles = manifest.titles;
        self.state.vectors = manifest.vectors.clone();
    }

    /// Records which pieces of each passage were embedded (the manifest's `window_policy`).
    pub fn set_window_policy(&mut self, policy: crate::text::WindowPolicy) {
        self.state.window_policy = policy.to_string();
    }

    /// Records whether windows were embedded with their passage's heading path as title.
    pub fn set_titles(&mut self, titles: bool) {
        self.state.titles = titles;
    }

    /// How the new segment stores its vectors. An index holds one kind: a build that
    /// changes it must write every document again (the pipeline does).
    pub fn set_vectors(&mut self, options: VectorOptions) {
        self.state.vectors = options;
    }

    /// How segments are merged after this build publishes.
    pub fn set_merge_policy(&mut self, policy: MergePolicy) {
        self.merge = policy;
    }

    /// The index as it was when this build took the lock.
    pub fn previous(&self) -> Option<&Manifest> {
        self.previous.as_ref()
    }

    /// Opens the new segment, resuming the one a killed build with the same settings left
    /// behind if there is one. Returns the documents and passages resumed.
    pub fn open_segment(&mut self) -> Result<(usize, usize), Error> {
        if self.writer.is_none() {
            self.writer = Some(self.new_writer()?);
        }
        let writer = self.writer.as_ref().map(SegmentWriter::documents);
        let docs = writer.unwrap_or_default();
        Ok((docs.len(), docs.iter().map(|d| d.passages).sum()))
    }

    fn new_writer(&mut self) -> Result<SegmentWriter, Error> {
        let mut leftovers: Vec<PathBuf> = fs::read_dir(&self.dir)
            .map_err(Error::io("list", &self.dir))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(layout::TMP_SUFFIX))
                    .is_some_and(|n| layout::parse_segment(n).is_some())
                    && layout::is_our_generation(p, &self.id)
            })
            .collect();
        leftovers.sort();
        // The newest resumable one; the others are removed below.
        for tmp in leftovers.iter().rev() {
            if let Some(writer) = SegmentWriter::resume(tmp, &self.state)? {
                self.resumed = writer
                    .documents()
                    .iter()
                    .map(|d| (d.path.clone(), d.sha256.clone()))
                    .collect();
                let keep = format!("{}{}", writer.name, layout::TMP_SUFFIX);
                self.remove_unused(Some(&keep));
                return Ok(writer);
            }
        }
        self.remove_unused(None);
        let number = layout::next_segment(&self.dir)?;
        SegmentWriter::create(&self.dir, &self.id, number, &self.state)
    }

    /// Removes what killed builds and merges left: this index's segment folders that the
    /// manifest does not name. For a run that finds nothing to write; one that writes
    /// tidies as it goes.
    pub fn remove_leftovers(&self) {
        if self.previous.is_some() {
            self.remove_unused(None);
        }
    }

    /// Removes this index's segment folders that neither the manifest nor `also` names.
    fn remove_unused(&self, also: Option<&str>) {
        let named: HashSet<&str> = self
            .previous
            .iter()
            .flat_map(|m| m.segments.iter().map(|s| s.name.as_str()))
            .collect();
        layout::remove_unused(&self.dir, &self.id, &|name| {
            named.contains(name) || also == Some(name)
        });
    }

    /// Whether the resumed segment already holds `path` with this content; if so the
    /// document counts as added and need not be embedded again.
    pub fn resume_document(&mut self, path: &str, sha256: &str) -> bool {
        match self.resumed.get(path) {
            Some(stored) if stored == sha256 => {
                self.resumed.remove(path);
                self.added.insert(path.to_string());
                true
            }
            _ => false,
        }
    }

    /// Keeps `path`, unchanged, where the previous index holds it.
    pub fn keep_document(&mut self, path: &str) -> Result<(), Error> {
        let known = self
            .previous
            .as_ref()
            .is_some_and(|m| m.documents.iter().any(|d| d.path == path));
        if !known {
            return Err(Error::UnknownDocument(path.into()));
        }
        if let Some(reason) = self.previous.as_ref().and_then(|m| self.incompatible(m)) {
            return Err(Error::IncompatibleCopy {
                doc: path.into(),
                from: self.dir.clone(),
                reason,
            });
        }
        if self.added.contains(path) || !self.kept.insert(path.to_string()) {
            return Err(Error::DuplicateDocument(path.into()));
        }
        Ok(())
    }

    /// Adds the segments of the index in `part`, built elsewhere with this build's settings
    /// (a part of a corpus, from one worker of a cluster), to this build's commit. Its
    /// documents take the place of the same paths in the previous index (do not keep
    /// those); a document in two parts is an error. The part's files are checked against
    /// its manifest and hard-linked where the file system allows it, copied where not: the
    /// part stays as it was. Returns the part's documents.
    pub fn attach(&mut self, part: &Path) -> Result<usize, Error> {
        let manifest = Manifest::read(part)?.ok_or_else(|| Error::NoPart {
            part: part.to_path_buf(),
        })?;
        self.attach_read(part, &manifest)
    }

    /// `attach`, for a caller that has read the part's manifest already.
    pub fn attach_read(&mut self, part: &Path, manifest: &Manifest) -> Result<usize, Error> {
        let checked = self.check_part(part, manifest)?;
        self.attach_checked(checked)
    }

    /// Checks that the part `manifest` describes can be attached to this build: its
    /// settings are the build's, and its segments' files match their checksums. A caller
    /// attaching several parts checks them all before attaching any, so that a bad part is
    /// refused before anything is linked.
    pub fn check_part<'p>(
        &self,
        part: &'p Path,
        manifest: &'p Manifest,
    ) -> Result<CheckedPart<'p>, Error> {
        if let Some(reason) = self.incompatible(manifest) {
            return Err(Error::IncompatiblePart {
                part: part.to_path_buf(),
                reason,
            });
        }
        for info in &manifest.segments {
            let from = part.join(&info.name);
            for (file, expected) in &info.files {
                if super::writer::check(&from.join(file))? != *expected {
                    return Err(Error::Corrupt {
                        path: from.join(file),
                        reason: "its contents differ from the checksum in its manifest".into(),
                    });
                }
            }
        }
        Ok(CheckedPart { part, manifest })
    }

    /// Attaches a part `check_part` accepted (see `attach`).
    pub fn attach_checked(&mut self, checked: CheckedPart<'_>) -> Result<usize, Error> {
        let CheckedPart { part, manifest } = checked;
        for doc in &manifest.documents {
            if self.kept.contains(&doc.path) || self.added.contains(&doc.path) {
                return Err(Error::DuplicateDocument(doc.path.clone()));
            }
        }
        let mut names = HashMap::new();
        for info in &manifest.segments {
            let from = part.join(&info.name);
            let name = layout::segment_name(layout::next_segment(&self.dir)?);
            let tmp = self.dir.join(format!("{name}{}", layout::TMP_SUFFIX));
            fs::create_dir(&tmp).map_err(Error::io("create", &tmp))?;
            // Marked first: should anything below fail, the next build removes the folder.
            layout::mark_generation(&tmp, &self.id)?;
            for file in info.files.keys() {
                let (source, target) = (from.join(file), tmp.join(file));
                if fs::hard_link(&source, &target).is_err() {
                    fs::copy(&source, &target).map_err(Error::io("copy", &source))?;
                    layout::sync_file(&target)?;
                }
            }
            layout::sync_dir(&tmp)?;
            let published = self.dir.join(&name);
            fs::rename(&tmp, &published).map_err(Error::io("publish", &published))?;
            names.insert(info.name.clone(), name.clone());
            self.attached_segments.push(SegmentInfo {
                name,
                ..info.clone()
            });
        }
        layout::sync_dir(&self.dir)?;
        for doc in &manifest.documents {
            let name = names.get(&doc.segment).ok_or_else(|| Error::Corrupt {
                path: part.join(layout::MANIFEST),
                reason: format!("{} is in a segment it does not list", doc.path),
            })?;
            self.attached_documents.push(DocumentInfo {
                segment: name.clone(),
                ..doc.clone()
            });
            self.added.insert(doc.path.clone());
        }
        Ok(manifest.documents.len())
    }

    /// Why the documents of `previous` cannot stay as they are in this build, if they cannot.
    fn incompatible(&self, previous: &Manifest) -> Option<String> {
        let state = &self.state;
        let (old, new) = (&previous.model, &state.model);
        if old.name != new.name || old.sha256 != new.sha256 || old.dims != new.dims {
            return Some(format!(
                "its vectors come from model {} (weights sha256 {}), this build uses {} \
                 (weights sha256 {})",
                old.name, old.sha256, new.name, new.sha256
            ));
        }
        if previous.chunker_version != state.chunker_version {
            return Some(format!(
                "its passages come from chunker version {}, this build uses {}; split and \
                 embed the document again",
                previous.chunker_version, state.chunker_version
            ));
        }
        if previous.analyzer != state.analyzer {
            return Some(format!(
                "its keyword terms come from analyzer {}, this build uses {}",
                previous.analyzer, state.analyzer
            ));
        }
        if previous.window_policy != state.window_policy || previous.titles != state.titles {
            return Some("its windows were embedded another way".into());
        }
        if previous.vectors != state.vectors {
            return Some(format!(
                "its vectors are stored as {}, this build stores {}",
                previous.vectors.scalar.as_str(),
                state.vectors.scalar.as_str()
            ));
        }
        None
    }

    /// Records a file that was found but not indexed.
    pub fn skip(&mut self, file: SkippedFile) {
        self.skipped.push(file);
    }

    /// Adds a document with its passages and their embedded windows to the new segment,
    /// in one transaction (a killed build keeps it for the next one). `doc.passages` is
    /// set from `passages`.
    pub fn add_document(
        &mut self,
        doc: DocumentInfo,
        passages: Vec<NewPassage>,
    ) -> Result<(), Error> {
        if self.kept.contains(&doc.path) || self.added.contains(&doc.path) {
            return Err(Error::DuplicateDocument(doc.path));
        }
        let mut paragraphs = HashSet::with_capacity(passages.len());
        for passage in &passages {
            if !paragraphs.insert(passage.paragraph) {
                return Err(Error::DuplicateParagraph {
                    doc: doc.path,
                    paragraph: passage.paragraph,
                });
            }
            check_windows(&doc.path, passage, self.state.model.dims)?;
        }
        self.open_segment()?;
        // A resumed copy of an older version of this document goes first.
        if self.resumed.remove(&doc.path).is_some() {
            self.writer_mut()?.remove(std::slice::from_ref(&doc.path))?;
        }
        let path = doc.path.clone();
        self.writer_mut()?.add(doc, &passages)?;
        self.added.insert(path);
        Ok(())
    }

    fn writer_mut(&mut self) -> Result<&mut SegmentWriter, Error> {
        self.writer.as_mut().ok_or_else(|| Error::Io {
            action: "write",
            path: self.dir.clone(),
            source: std::io::Error::other("no segment open"),
        })
    }

    /// Publishes the build: the new segment (if it holds anything), the deletions, the
    /// manifest; then merges by the policy. Returns the manifest finally published.
    pub fn commit(self) -> Result<Manifest, Error> {
        self.commit_with(&Quiet)
    }

    /// `commit`, telling `progress` how it goes.
    pub fn commit_with(mut self, progress: &dyn Progress) -> Result<Manifest, Error> {
        let unclaimed: Vec<String> = self.resumed.keys().cloned().collect();
        let mut writer = self.writer.take();
        if let Some(writer) = writer.as_mut() {
            writer.remove(&unclaimed)?;
        }
        let new_segment = match writer {
            Some(writer) if !writer.documents().is_empty() => {
                let added = writer.documents().to_vec();
                let info = writer.finish(&self.dir, &self.state.vectors, &|done, total| {
                    progress.graph(done, total)
                })?;
                Some((info, added))
            }
            // Dropping an empty writer removes its folder once it is no longer wanted.
            Some(writer) => {
                drop(writer);
                None
            }
            None => None,
        };
        let manifest = self.next_manifest(new_segment)?;
        manifest.write(&self.dir)?;
        // What is published stays published: a merge that fails or is killed leaves it.
        self.previous = Some(manifest.clone());
        self.remove_unused(None);
        let manifest = merge::run(&self.dir, &self.id, manifest, self.merge, progress)?;
        self.previous = Some(manifest.clone());
        self.remove_unused(None);
        drop(self.lock);
        Ok(manifest)
    }

    /// The manifest after this build: kept documents where they were, the others deleted
    /// from their segments, the new segment's documents added.
    fn next_manifest(
        &self,
        new_segment: Option<(SegmentInfo, Vec<DocumentInfo>)>,
    ) -> Result<Manifest, Error> {
        let mut documents: Vec<DocumentInfo> = Vec::new();
        let mut segments: Vec<SegmentInfo> = Vec::new();
        let mut generation = 1;
        if let Some(previous) = &self.previous {
            generation = layout::parse_generation(&previous.generation).unwrap_or(0) + 1;
            let mut deleted: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for doc in &previous.documents {
                if self.kept.contains(&doc.path) {
                    documents.push(doc.clone());
                } else {
                    deleted
                        .entry(&doc.segment)
                        .or_default()
                        .push(doc.path.clone());
                }
            }
            let live: HashSet<&str> = documents.iter().map(|d| d.segment.as_str()).collect();
            for segment in &previous.segments {
                if !live.contains(segment.name.as_str()) {
                    continue;
                }
                let mut segment = segment.clone();
                segment
                    .deleted
                    .extend(deleted.remove(segment.name.as_str()).unwrap_or_default());
                segments.push(segment);
            }
        }
        if let Some((info, added)) = new_segment {
            documents.extend(added);
            segments.push(info);
        }
        documents.extend(self.attached_documents.iter().cloned());
        segments.extend(self.attached_segments.iter().cloned());
        documents.sort_by(|a, b| a.path.cmp(&b.path));
        let skipped = self.skipped.clone();
        Ok(Manifest {
            format_version: FORMAT_VERSION,
            generation: layout::generation_name(generation),
            segments,
            model: self.state.model.clone(),
            chunker_version: self.state.chunker_version,
            analyzer: self.state.analyzer.clone(),
            window_policy: self.state.window_policy.clone(),
            titles: self.state.titles,
            vectors: self.state.vectors.clone(),
            built_at: now_rfc3339(&self.dir)?,
            roots: self.roots.clone(),
            passages: documents.iter().map(|d| d.passages).sum(),
            windows: documents.iter().map(|d| d.windows).sum(),
            documents,
            skipped,
        })
    }
}

/// Checks a passage's windows against its text and the model's vector size.
fn check_windows(doc: &str, passage: &NewPassage, dims: usize) -> Result<(), Error> {
    let invalid = |reason: String| Error::InvalidWindows {
        doc: doc.into(),
        paragraph: passage.paragraph,
        reason,
    };
    if passage.windows.is_empty() {
        return Err(invalid("there are none; every passage needs one".into()));
    }
    let text = &passage.text;
    for (i, window) in passage.windows.iter().enumerate() {
        let (start, end) = (window.start as usize, window.end as usize);
        if start > end || end > text.len() {
            return Err(invalid(format!(
                "window {i} spans bytes {start}..{end} of a {}-byte text",
                text.len()
            )));
        }
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            return Err(invalid(format!(
                "window {i} (bytes {start}..{end}) splits a UTF-8 character"
            )));
        }
        if window.vector.len() != dims {
            return Err(Error::Dimensions {
                what: format!(
                    "the vector of window {i} of passage {} of {doc}",
                    passage.paragraph
                ),
                expected: dims,
                found: window.vector.len(),
            });
        }
    }
    Ok(())
}

/// Now, to the second, as RFC 3339 UTC.
pub(super) fn now_rfc3339(dir: &Path) -> Result<String, Error> {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&Rfc3339).map_err(|e| Error::Io {
        action: "format the build time for",
        path: dir.join(layout::MANIFEST),
        source: std::io::Error::other(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::passages::PassageDb;
    use crate::store::postings::PostingList;
    use crate::store::segment::global_id;
    use crate::store::testutil::{build, build_documents, document, info, model, vector, DIMS};
    use crate::store::Index;
    use crate::store::{Metric, Scalar};

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn build_then_open_round_trips_passages_vectors_and_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let built = build(dir.path(), &[("/notes/a.md", 3), ("/notes/b.md", 2)]);
        let index = Index::open(dir.path()).unwrap().unwrap();
        let id = |local: u64| global_id(1, local);

        let manifest = index.manifest();
        assert_eq!(manifest.format_version, FORMAT_VERSION);
        assert_eq!(manifest.generation, "gen-000001");
        assert_eq!(manifest.segments.len(), 1);
        assert_eq!(manifest.segments[0].name, "seg-000001");
        assert_eq!(manifest.generation, built.generation);
        assert_eq!(manifest.model, model());
        assert_eq!(manifest.chunker_version, 1);
        assert_eq!(manifest.vectors.metric, Metric::Cos);
        assert_eq!(manifest.vectors.scalar, Scalar::F32);
        assert_eq!(
            (
                manifest.vectors.connectivity,
                manifest.vectors.expansion_add
            ),
            (16, 128)
        );
        assert_eq!(manifest.vectors.expansion_search, 64);
        assert_eq!(manifest.roots, ["/notes"]);
        assert_eq!(manifest.passages, 5);
        assert_eq!(manifest.windows, 10);
        let docs: Vec<(&str, usize)> = manifest
            .documents
            .iter()
            .map(|d| (d.path.as_str(), d.passages))
            .collect();
        assert_eq!(docs, [("/notes/a.md", 3), ("/notes/b.md", 2)]);
        assert_eq!(manifest.documents[1], {
            let mut info = document("/notes/b.md", 2).0;
            info.passages = 2;
            info.windows = 4;
            info.segment = "seg-000001".into();
            info
        });
        // RFC 3339 UTC to the second, e.g. 2025-05-01T12:00:00Z.
        let shape: String = manifest
            .built_at
            .chars()
            .map(|c| if c.is_ascii_digit() { 'd' } else { c })
            .collect();
        assert_eq!(shape, "dddd-dd-ddTdd:dd:ddZ", "{}", manifest.built_at);
        assert_eq!(index.dir(), dir.path());

        // Ids are 1.. in insertion order: b.md's second passage is id 5.
        let (_, b) = document("/notes/b.md", 2);
        let second = &b[1].windows[1];
        let hits = index.search(&second.vector, 3, None).unwrap();
        assert_eq!(hits[0].id, id(5));
        assert_eq!(hits[0].window, second.start as usize..second.end as usize);
        assert!((hits[0].score - 1.0).abs() < 1e-5, "{hits:?}");
        assert!(
            hits.windows(2).all(|w| w[0].score >= w[1].score),
            "{hits:?}"
        );
        assert_eq!(index.search(&second.vector, 100, None).unwrap().len(), 5);
        assert!(index.search(&second.vector, 0, None).unwrap().is_empty());

        let stored = index.passage(id(5)).unwrap();
        assert_eq!(stored.doc, "/notes/b.md");
        assert_eq!(stored.paragraph, 1);
        assert_eq!((stored.start_line, stored.end_line), (Some(5), Some(6)));
        assert_eq!(stored.text, b[1].text);
        let windows: Vec<(std::ops::Range<usize>, Vec<f32>)> = b[1]
            .windows
            .iter()
            .map(|w| (w.start as usize..w.end as usize, w.vector.clone()))
            .collect();
        assert_eq!(index.windows(id(5)).unwrap(), windows);

        let picked: Vec<u64> = index
            .passages(&[id(4), id(1), id(5)])
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(picked, [id(4), id(1), id(5)]);
        assert_eq!(index.find("/notes/a.md", 2).unwrap().unwrap().id, id(3));
        assert!(index.find("/notes/a.md", 3).unwrap().is_none());
        let paragraphs: Vec<u32> = index
            .document_passages("/notes/a.md")
            .unwrap()
            .iter()
            .map(|p| p.paragraph)
            .collect();
        assert_eq!(paragraphs, [0, 1, 2]);
        assert!(index.document_passages("/notes/zzz.md").unwrap().is_empty());

        assert!(matches!(
            index.passage(id(6)),
            Err(Error::UnknownPassage(_))
        ));
        assert!(matches!(index.passage(6), Err(Error::UnknownPassage(6))));
        assert!(matches!(index.windows(0), Err(Error::UnknownPassage(0))));
        assert!(matches!(
            index.passage_vector(id(6)),
            Err(Error::UnknownPassage(_))
        ));
        let err = index.search(&[1.0; DIMS + 1], 3, None).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Dimensions {
                    expected: DIMS,
                    found: 9,
                    ..
                }
            ),
            "{err:?}"
        );

        let generation = dir.path().join("seg-000001");
        let expected: u64 = [
            dir.path().join("manifest.json"),
            generation.join(".akapit-generation"),
            generation.join("passages.sqlite"),
            generation.join("vectors.usearch"),
        ]
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum();
        assert_eq!(index.size_on_disk().unwrap(), expected);
        assert_eq!(
            entries(dir.path()),
            [".akapit-index", ".lock", "manifest.json", "seg-000001"]
        );
        assert_eq!(
            entries(&generation),
            [".akapit-generation", "passages.sqlite", "vectors.usearch"]
        );
    }

    #[test]
    fn every_window_finds_its_own_passage_and_span() {
        let dir = tempfile::tempdir().unwrap();
        let docs: Vec<String> = (0..40).map(|i| format!("/notes/{i:02}.md")).collect();
        let docs: Vec<(&str, usize)> = docs.iter().map(|d| (d.as_str(), 5)).collect();
        build(dir.path(), &docs);
        let index = Index::open(dir.path()).unwrap().unwrap();
        for local in 1..=200 {
            let id = global_id(1, local);
            for (span, vector) in index.windows(id).unwrap() {
                let hits = index.search(&vector, 1, None).unwrap();
                assert_eq!((hits[0].id, hits[0].window.clone()), (id, span));
            }
        }
    }

    #[test]
    fn an_index_without_passages_opens_and_finds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = build(dir.path(), &[("/notes/empty.md", 0)]);
        assert_eq!((manifest.passages, manifest.windows), (0, 0));
        let index = Index::open(dir.path()).unwrap().unwrap();
        assert!(index.search(&vector(1), 10, None).unwrap().is_empty());
        let only = ["/notes/empty.md".to_string()];
        assert!(index
            .search(&vector(1), 10, Some(&only))
            .unwrap()
            .is_empty());
        assert!(index
            .document_passages("/notes/empty.md")
            .unwrap()
            .is_empty());
        assert_eq!(index.manifest().documents.len(), 1);
    }

    fn builder(dir: &Path, merge: MergePolicy) -> Builder {
        let mut builder =
            Builder::create(dir, model(), 1, "plain".into(), vec!["/notes".into()]).unwrap();
        builder.set_merge_policy(merge);
        builder
    }

    /// Every answer of `index` as `(doc, paragraph, score)`, for comparing builds.
    fn answers(index: &Index) -> Vec<Vec<(String, u32, i64)>> {
        let key = |id: u64, score: f32| {
            let p = index.passage(id).unwrap();
            (p.doc, p.paragraph, (score * 1e5).round() as i64)
        };
        let mut all = Vec::new();
        for seed in 0..12 {
            let dense = index.search(&vector(1000 + seed), 6, None).unwrap();
            all.push(dense.iter().map(|m| key(m.id, m.score)).collect());
        }
        for terms in [
            vec!["passage"],
            vec!["of", "zażółć"],
            vec!["/notes/c.md:"],
            vec!["3", "/notes/a.md:", "1"],
        ] {
            let terms: Vec<String> = terms.into_iter().map(String::from).collect();
            let lexical = index.lexical_search(&terms, 5, None).unwrap();
            all.push(lexical.iter().map(|(id, s)| key(*id, *s)).collect());
            let frequencies = index.document_frequencies(&terms).unwrap();
            all.push(
                frequencies
                    .iter()
                    .map(|&f| (String::new(), 0, f as i64))
                    .collect(),
            );
        }
        let only: Vec<String> = ["/notes/b.md", "/notes/d.md"]
            .into_iter()
            .filter(|d| index.manifest().documents.iter().any(|x| x.path == *d))
            .map(String::from)
            .collect();
        let dense = index.search(&vector(7), 4, Some(&only)).unwrap();
        all.push(dense.iter().map(|m| key(m.id, m.score)).collect());
        let terms = ["passage".to_string()];
        let lexical = index.lexical_search(&terms, 4, Some(&only)).unwrap();
        all.push(lexical.iter().map(|(id, s)| key(*id, *s)).collect());
        all
    }

    /// Every posting list and the passage lengths of a published segment.
    fn postings(segment: &Path) -> (Vec<(String, PostingList)>, Vec<u32>) {
        let db = PassageDb::open(&segment.join(layout::PASSAGES)).unwrap();
        let lists = db
            .terms()
            .unwrap()
            .into_iter()
            .map(|term| {
                let list = db.postings(&term).unwrap().unwrap();
                (term, list)
            })
            .collect();
        (lists, db.lengths().unwrap())
    }

    fn changed(path: &str, count: usize) -> (DocumentInfo, Vec<NewPassage>) {
        let (mut info, mut passages) = document(path, count);
        info.sha256 = format!("changed-{path}");
        for p in &mut passages {
            p.text = p.text.replace("zażółć", "changed");
            p.terms = p.text.to_lowercase();
            p.windows[1].end = p.text.len() as u32;
        }
        (info, passages)
    }

    #[test]
    fn incremental_builds_with_deletions_and_merges_answer_as_a_fresh_build() {
        let dir = tempfile::tempdir().unwrap();
        let start = [("/notes/a.md", 4), ("/notes/b.md", 3), ("/notes/c.md", 5)];
        build(dir.path(), &start);

        // Run 2: c changes, d is new, a and b stay. No merging, to see the segments.
        let mut run = builder(dir.path(), MergePolicy::NEVER);
        run.keep_document("/notes/a.md").unwrap();
        run.keep_document("/notes/b.md").unwrap();
        let (info, passages) = changed("/notes/c.md", 5);
        run.add_document(info, passages).unwrap();
        let (info, passages) = document("/notes/d.md", 2);
        run.add_document(info, passages).unwrap();
        let manifest = run.commit().unwrap();
        let names: Vec<&str> = manifest.segments.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["seg-000001", "seg-000002"]);
        assert_eq!(manifest.segments[0].deleted, ["/notes/c.md"]);
        assert_eq!((manifest.passages, manifest.windows), (14, 28));
        assert_eq!(manifest.generation, "gen-000002");

        // Run 3: b is removed, a kept, c and d kept.
        let mut run = builder(dir.path(), MergePolicy::NEVER);
        for doc in ["/notes/a.md", "/notes/c.md", "/notes/d.md"] {
            run.keep_document(doc).unwrap();
        }
        let manifest = run.commit().unwrap();
        assert_eq!(manifest.segments[0].deleted, ["/notes/c.md", "/notes/b.md"]);
        let incremental = Index::open(dir.path()).unwrap().unwrap();
        assert!(incremental.find("/notes/b.md", 0).unwrap().is_none());
        assert!(incremental
            .search(&vector(1), 2, Some(&["/notes/b.md".to_string()]))
            .is_err());

        let fresh_dir = tempfile::tempdir().unwrap();
        let fresh = vec![
            document("/notes/a.md", 4),
            changed("/notes/c.md", 5),
            document("/notes/d.md", 2),
        ];
        build_documents(fresh_dir.path(), fresh);
        let fresh = Index::open(fresh_dir.path()).unwrap().unwrap();
        let expected = answers(&fresh);
        assert_eq!(answers(&incremental), expected);

        // Merged by the policy (every segment's deletions past a third, then two per tier)
        // and by `--optimize`: the same answers, one segment, nothing deleted.
        for policy in [
            MergePolicy {
                factor: 2,
                ..MergePolicy::DEFAULT
            },
            MergePolicy::OPTIMIZE,
        ] {
            let mut run = builder(dir.path(), policy);
            for doc in ["/notes/a.md", "/notes/c.md", "/notes/d.md"] {
                run.keep_document(doc).unwrap();
            }
            let manifest = run.commit().unwrap();
            assert_eq!(manifest.segments.len(), 1, "{:?}", manifest.segments);
            assert!(manifest.segments[0].deleted.is_empty());
            let merged = Index::open(dir.path()).unwrap().unwrap();
            assert_eq!(answers(&merged), expected);
            // The merged postings (renumbered from the segments merged, not analysed
            // again) are a fresh build's, byte for byte.
            assert_eq!(
                postings(&dir.path().join(&manifest.segments[0].name)),
                postings(&fresh_dir.path().join("seg-000001"))
            );
            let folders: Vec<String> = entries(dir.path())
                .into_iter()
                .filter(|n| n.starts_with("seg-"))
                .collect();
            assert_eq!(folders, [manifest.segments[0].name.clone()]);
        }
        // A reader opened before the merges still answers from the files it holds open.
        if cfg!(unix) {
            assert_eq!(answers(&incremental), expected);
        }
    }

    #[test]
    fn attached_parts_answer_as_one_build_of_all_their_documents() {
        // Two parts built elsewhere; the index they join holds an older a and a d.
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        build_documents(
            one.path(),
            vec![changed("/notes/a.md", 4), document("/notes/b.md", 3)],
        );
        build(two.path(), &[("/notes/c.md", 5)]);
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &[("/notes/a.md", 4), ("/notes/d.md", 2)]);

        let mut run = builder(dir.path(), MergePolicy::NEVER);
        assert_eq!(run.attach(one.path()).unwrap(), 2);
        assert_eq!(run.attach(two.path()).unwrap(), 1);
        run.keep_document("/notes/d.md").unwrap();
        // a now comes from the first part: the old one cannot be kept beside it.
        let err = run.keep_document("/notes/a.md").unwrap_err();
        assert!(matches!(err, Error::DuplicateDocument(_)), "{err:?}");
        let manifest = run.commit().unwrap();
        let names: Vec<&str> = manifest.segments.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["seg-000001", "seg-000002", "seg-000003"]);
        assert_eq!(manifest.segments[0].deleted, ["/notes/a.md"]);

        let fresh = tempfile::tempdir().unwrap();
        build_documents(
            fresh.path(),
            vec![
                changed("/notes/a.md", 4),
                document("/notes/b.md", 3),
                document("/notes/c.md", 5),
                document("/notes/d.md", 2),
            ],
        );
        let expected = answers(&Index::open(fresh.path()).unwrap().unwrap());
        let attached = Index::open(dir.path()).unwrap().unwrap();
        assert_eq!(answers(&attached), expected);
        attached.verify().unwrap();
        // The parts are untouched, and their files shared rather than copied.
        let part = Index::open(two.path()).unwrap().unwrap();
        part.verify().unwrap();
        assert_eq!(part.manifest().documents.len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let inode = |p: &Path| fs::metadata(p.join("passages.sqlite")).unwrap().ino();
            assert_eq!(
                inode(&two.path().join("seg-000001")),
                inode(&dir.path().join("seg-000003"))
            );
        }
        // Merged afterwards like any other segments.
        let mut run = builder(dir.path(), MergePolicy::OPTIMIZE);
        for doc in ["/notes/a.md", "/notes/b.md", "/notes/c.md", "/notes/d.md"] {
            run.keep_document(doc).unwrap();
        }
        run.commit().unwrap();
        assert_eq!(
            answers(&Index::open(dir.path()).unwrap().unwrap()),
            expected
        );
    }

    #[test]
    fn attaching_refuses_other_settings_a_document_twice_and_no_index() {
        let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        build(one.path(), &[("/notes/a.md", 2)]);
        build(two.path(), &[("/notes/a.md", 2)]);
        let other = tempfile::tempdir().unwrap();
        let mut builder =
            Builder::create(other.path(), model(), 2, "plain".into(), vec![]).unwrap();
        let err = builder.attach(one.path()).unwrap_err();
        assert!(matches!(err, Error::IncompatiblePart { .. }), "{err:?}");
        assert!(err.to_string().contains("chunker version 1"), "{err}");
        drop(builder);

        let dir = tempfile::tempdir().unwrap();
        let mut run = Builder::create(dir.path(), model(), 1, "plain".into(), vec![]).unwrap();
        run.attach(one.path()).unwrap();
        let err = run.attach(two.path()).unwrap_err();
        assert!(matches!(err, Error::DuplicateDocument(ref d) if d == "/notes/a.md"));
        let empty = tempfile::tempdir().unwrap();
        let err = run.attach(empty.path()).unwrap_err();
        assert!(matches!(err, Error::NoPart { .. }), "{err:?}");
        run.commit().unwrap();
        let index = Index::open(dir.path()).unwrap().unwrap();
        assert_eq!(index.manifest().documents.len(), 1);
    }

    #[test]
    fn keeping_refuses_other_models_chunkers_and_unknown_documents() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &[("/notes/a.md", 1)]);

        let other = ModelInfo {
            sha256: "feed".repeat(16),
            ..model()
        };
        let mut builder = Builder::create(dir.path(), other, 1, "plain".into(), vec![]).unwrap();
        let err = builder.keep_document("/notes/a.md").unwrap_err();
        assert!(matches!(err, Error::IncompatibleCopy { .. }), "{err:?}");
        assert!(
            err.to_string().contains("embed the document again"),
            "{err}"
        );
        drop(builder);

        let mut builder = Builder::create(dir.path(), model(), 2, "plain".into(), vec![]).unwrap();
        let err = builder.keep_document("/notes/a.md").unwrap_err();
        assert!(err.to_string().contains("chunker version 1"), "{err}");
        drop(builder);

        let mut builder = Builder::create(dir.path(), model(), 1, "plain".into(), vec![]).unwrap();
        let err = builder.keep_document("/notes/gone.md").unwrap_err();
        assert!(matches!(err, Error::UnknownDocument(ref d) if d == "/notes/gone.md"));
        builder.keep_document("/notes/a.md").unwrap();
        let err = builder.keep_document("/notes/a.md").unwrap_err();
        assert!(matches!(err, Error::DuplicateDocument(_)), "{err:?}");
    }

    #[test]
    fn invalid_documents_are_rejected_without_spoiling_the_build() {
        let dir = tempfile::tempdir().unwrap();
        let mut builder = Builder::create(dir.path(), model(), 1, "plain".into(), vec![]).unwrap();
        let (info, passages) = document("/notes/a.md", 2);
        builder
            .add_document(info.clone(), passages.clone())
            .unwrap();

        let err = builder.add_document(info, passages).unwrap_err();
        assert!(matches!(err, Error::DuplicateDocument(_)), "{err:?}");

        let (info, mut passages) = document("/notes/b.md", 2);
        passages[1].windows[1].vector.pop();
        let err = builder.add_document(info, passages).unwrap_err();
        assert!(matches!(err, Error::Dimensions { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("window 1 of passage 1 of /notes/b.md"),
            "{err}"
        );

        // "passage 0 of /notes/b.md: zażółć…" is 52 bytes; "ż" is bytes 28..30.
        type Spoil = fn(&mut NewPassage);
        let broken: [(&str, Spoil); 4] = [
            ("there are none", |p| p.windows.clear()),
            ("spans bytes 0..100 of a 52-byte text", |p| {
                p.windows[0].end = 100
            }),
            ("spans bytes 9..3", |p| {
                (p.windows[0].start, p.windows[0].end) = (9, 3)
            }),
            ("splits a UTF-8 character", |p| p.windows[1].end = 29),
        ];
        for (problem, spoil) in broken {
            let (info, mut passages) = document("/notes/b.md", 2);
            spoil(&mut passages[0]);
            let err = builder.add_document(info, passages).unwrap_err();
            assert!(
                matches!(err, Error::InvalidWindows { paragraph: 0, .. }),
                "{err:?}"
            );
            let message = err.to_string();
            assert!(message.contains("passage 0 of /notes/b.md"), "{message}");
            assert!(message.contains(problem), "{message}");
        }

        let (info, mut passages) = document("/notes/c.md", 2);
        passages[1].paragraph = 0;
        let err = builder.add_document(info, passages).unwrap_err();
        assert!(
            matches!(err, Error::DuplicateParagraph { paragraph: 0, .. }),
            "{err:?}"
        );

        let (info, passages) = document("/notes/b.md", 2);
        builder.add_document(info, passages).unwrap();
        let manifest = builder.commit().unwrap();
        assert_eq!((manifest.passages, manifest.windows), (4, 8));
        let index = Index::open(dir.path()).unwrap().unwrap();
        assert_eq!(index.passage(global_id(1, 3)).unwrap().doc, "/notes/b.md");
        assert_eq!(index.windows(global_id(1, 3)).unwrap().len(), 2);
    }

    #[test]
    fn a_killed_build_is_resumed_and_a_killed_merge_is_cleaned_up() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &[("/notes/a.md", 2)]);
        let before = answers(&Index::open(dir.path()).unwrap().unwrap());

        // A build stopped after storing two documents (an error, or a kill: either way its
        // segment stays unpublished).
        let mut run = builder(dir.path(), MergePolicy::NEVER);
        run.keep_document("/notes/a.md").unwrap();
        for path in ["/notes/b.md", "/notes/c.md"] {
            let (info, passages) = document(path, 3);
            run.add_document(info, passages).unwrap();
        }
        assert!(dir.path().join("seg-000002.tmp").is_dir());
        drop(run);
        let index = Index::open(dir.path()).unwrap().unwrap();
        assert_eq!(answers(&index), before);
        assert!(index.find("/notes/b.md", 0).unwrap().is_none());

        // What a kill during a merge leaves: a merge's unfinished segment, and a half-written
        // manifest.
        let id = fs::read_to_string(dir.path().join(layout::MARKER)).unwrap();
        let state = PendingState {
            model: model(),
            chunker_version: 1,
            analyzer: "plain".into(),
            window_policy: crate::text::WindowPolicy::DEFAULT.to_string(),
            titles: false,
            vectors: VectorOptions::DEFAULT,
            merge: true,
        };
        let mut merging = SegmentWriter::create(dir.path(), id.trim(), 7, &state).unwrap();
        let (doc, passages) = document("/notes/a.md", 2);
        merging.add(doc, &passages).unwrap();
        std::mem::forget(merging);
        fs::write(
            dir.path().join("manifest.json.tmp"),
            "{\"format_version\": 4",
        )
        .unwrap();
        assert_eq!(answers(&Index::open(dir.path()).unwrap().unwrap()), before);

        // The next build with the same settings resumes b (c changed meanwhile, so it is
        // embedded again) and removes the merge's leftovers.
        let mut run = builder(dir.path(), MergePolicy::NEVER);
        assert_eq!(run.open_segment().unwrap(), (2, 6));
        run.keep_document("/notes/a.md").unwrap();
        assert!(run.resume_document("/notes/b.md", &info("/notes/b.md").sha256));
        assert!(!run.resume_document("/notes/c.md", "another version"));
        let (doc, passages) = changed("/notes/c.md", 3);
        run.add_document(doc, passages).unwrap();
        let manifest = run.commit().unwrap();
        assert_eq!(manifest.segments.len(), 2);
        assert_eq!(manifest.segments[1].name, "seg-000002");
        assert_eq!(manifest.passages, 8);
        let names = entries(dir.path());
        assert!(
            !names
                .iter()
                .any(|n| n.ends_with(".tmp") && n.starts_with("seg-")),
            "{names:?}"
        );

        let fresh_dir = tempfile::tempdir().unwrap();
        build_documents(
            fresh_dir.path(),
            vec![
                document("/notes/a.md", 2),
                document("/notes/b.md", 3),
                changed("/notes/c.md", 3),
            ],
        );
        let fresh = Index::open(fresh_dir.path()).unwrap().unwrap();
        assert_eq!(
            answers(&Index::open(dir.path()).unwrap().unwrap()),
            answers(&fresh)
        );
    }

    #[test]
    fn a_second_builder_is_refused_while_readers_carry_on() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &[("/notes/a.md", 1)]);
        let first = Builder::create(dir.path(), model(), 1, "plain".into(), vec![]).unwrap();

        let err = Builder::create(dir.path(), model(), 1, "plain".into(), vec![])
            .err()
            .unwrap();
        assert!(matches!(err, Error::Locked { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("already building"), "{message}");
        assert!(
            message.contains(&dir.path().join(".lock").display().to_string()),
            "{message}"
        );

        let reader = Index::open(dir.path()).unwrap().unwrap();
        assert_eq!(reader.manifest().passages, 1);

        drop(first);
        Builder::create(dir.path(), model(), 1, "plain".into(), vec![]).unwrap();
    }
}
