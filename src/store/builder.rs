//! Building a new generation. Passages and their windows go into a fresh database inside
//! `gen-N.tmp/`; `commit` builds the vector index from the stored window vectors, records
//! each file's size and checksum, fsyncs, renames the directory to `gen-N/` and replaces the
//! manifest. Until that last rename the previous index is untouched.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::layout;
use super::passages::PassageDb;
use super::vectors::Vectors;
use super::{
    DocumentInfo, Error, FileCheck, Index, Manifest, ModelInfo, NewPassage, SkippedFile,
    VectorOptions, FORMAT_VERSION,
};
use crate::checksum::sha256_file;

/// Vectors read from the database per parallel insertion round: enough to keep every core
/// busy, few enough (6 MB at 384 dimensions) not to hold a large corpus in memory.
const ADD_BATCH: usize = 4096;

/// Builds a new generation; nothing is visible until `commit`. Dropping it without
/// committing removes the unpublished directory and leaves the current index as it was.
pub struct Builder {
    // Drop order matters: close the database, then remove the unpublished directory, then
    // let the next builder in.
    db: PassageDb,
    tmp: Unpublished,
    lock: File,
    dir: PathBuf,
    /// The index's id, from its marker.
    id: String,
    generation: String,
    /// The generation the manifest named when this build started: superseded by `commit`.
    previous: Option<String>,
    model: ModelInfo,
    chunker_version: u32,
    analyzer: String,
    window_policy: String,
    titles: bool,
    roots: Vec<String>,
    documents: Vec<DocumentInfo>,
    skipped: Vec<SkippedFile>,
    paths: HashSet<String>,
    next_passage: u64,
    /// Window ids, from 1 like passage ids: they are the vector index's keys.
    next_window: u64,
}

impl Builder {
    /// Makes `dir` an index folder (or checks that it is one: see `layout::claim`), takes
    /// the builders' lock, removes what killed builds of this index left behind, and starts
    /// `gen-N.tmp/`. Fails at once if another build holds the lock.
    pub fn create(
        dir: &Path,
        model: ModelInfo,
        chunker_version: u32,
        analyzer: String,
        roots: Vec<String>,
    ) -> Result<Builder, Error> {
        Self::start(dir, model, chunker_version, analyzer, roots, None)
    }

    /// As `create`, but if another build holds the lock, calls `on_wait` and waits for it.
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
        // Numbered before cleaning up, so a leftover that cannot be removed is never reused.
        let generation = layout::generation_name(layout::next_generation(dir)?);
        let previous = Manifest::read(dir).ok().flatten().map(|m| m.generation);
        layout::remove_generations(dir, &id, previous.as_deref());
        let tmp = Unpublished::create(dir.join(format!("{generation}{}", layout::TMP_SUFFIX)))?;
        layout::mark_generation(&tmp.path, &id)?;
        let db = PassageDb::create(&tmp.path.join(layout::PASSAGES), model.dims)?;
        Ok(Builder {
            db,
            tmp,
            lock,
            dir: dir.to_path_buf(),
            id,
            generation,
            previous,
            model,
            chunker_version,
            analyzer,
            window_policy: crate::text::WindowPolicy::DEFAULT.to_string(),
            titles: false,
            roots,
            documents: Vec::new(),
            skipped: Vec::new(),
            paths: HashSet::new(),
            next_passage: 1,
            next_window: 1,
        })
    }

    /// Records which pieces of each passage were embedded; `WindowPolicy::DEFAULT` unless set.
    pub fn set_window_policy(&mut self, policy: crate::text::WindowPolicy) {
        self.window_policy = policy.to_string();
    }

    /// Records whether windows were embedded with their passage's heading path as a title.
    pub fn set_titles(&mut self, titles: bool) {
        self.titles = titles;
    }

    /// Records a file that was found under the roots but is not indexed, with why.
    pub fn skip(&mut self, file: SkippedFile) {
        self.skipped.push(file);
    }

    /// Stores a document and its passages. `doc.passages` is set from `passages.len()`.
    /// Each passage's paragraph number must be unique within the document; each passage
    /// needs at least one window, lying within its text on character boundaries, with a
    /// vector of the model's dimensions.
    pub fn add_document(
        &mut self,
        mut doc: DocumentInfo,
        passages: Vec<NewPassage>,
    ) -> Result<(), Error> {
        if self.paths.contains(&doc.path) {
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
            check_windows(&doc.path, passage, self.model.dims)?;
        }
        let windows: usize = passages.iter().map(|p| p.windows.len()).sum();
        doc.passages = passages.len();
        self.db
            .insert_document(&doc, &passages, self.next_passage, self.next_window)?;
        self.next_passage += passages.len() as u64;
        self.next_window += windows as u64;
        self.paths.insert(doc.path.clone());
        self.documents.push(doc);
        Ok(())
    }

    /// Copies a document with its passages and windows unchanged from an older index, so an
    /// unchanged file needs no re-embedding; they get this build's ids. The older index must have been built with the
    /// same model and chunker version.
    pub fn copy_document(&mut self, from: &Index, doc: &str) -> Result<(), Error> {
        let old = from.manifest();
        let incompatible = |reason: String| Error::IncompatibleCopy {
            doc: doc.into(),
            from: from.dir().to_path_buf(),
            reason,
        };
        let same_model = old.model.name == self.model.name
            && old.model.sha256 == self.model.sha256
            && old.model.dims == self.model.dims;
        if !same_model {
            return Err(incompatible(format!(
                "its vectors come from model {} (weights sha256 {}), this build uses {} \
                 (weights sha256 {}); embed the document again",
                old.model.name, old.model.sha256, self.model.name, self.model.sha256
            )));
        }
        if old.chunker_version != self.chunker_version {
            return Err(incompatible(format!(
                "its passages come from chunker version {}, this build uses {}; split and \
                 embed the document again",
                old.chunker_version, self.chunker_version
            )));
        }
        if old.analyzer != self.analyzer {
            return Err(incompatible(format!(
                "its keyword terms come from analyzer {}, this build uses {}",
                old.analyzer, self.analyzer
            )));
        }
        let (info, passages) = from
            .document(doc)?
            .ok_or_else(|| Error::UnknownDocument(doc.into()))?;
        self.add_document(info, passages)
    }

    /// Builds the vector index from all stored window vectors, makes the generation durable,
    /// publishes it by replacing the manifest, removes older generations, and returns the
    /// new manifest.
    pub fn commit(self) -> Result<Manifest, Error> {
        let Builder {
            db,
            tmp,
            lock,
            dir,
            id,
            generation,
            previous,
            model,
            chunker_version,
            analyzer,
            window_policy,
            titles,
            roots,
            documents,
            skipped,
            next_window,
            ..
        } = self;
        let passages: usize = documents.iter().map(|d| d.passages).sum();
        let windows = (next_window - 1) as usize;
        let options = VectorOptions::DEFAULT;
        let built_at = now_rfc3339(&dir)?;

        let vectors_path = tmp.path.join(layout::VECTORS);
        let vectors = Vectors::create(&vectors_path, model.dims, &options, windows)?;
        let mut batch = Vec::with_capacity(ADD_BATCH);
        db.for_each_vector(|id, vector| {
            batch.push((id, vector));
            if batch.len() == ADD_BATCH {
                vectors.add_batch(&batch)?;
                batch.clear();
            }
            Ok(())
        })?;
        vectors.add_batch(&batch)?;
        vectors.save()?;
        drop(vectors);
        db.build_lexical()?;
        db.close()?;

        let mut files = BTreeMap::new();
        for name in [layout::PASSAGES, layout::VECTORS] {
            let path = tmp.path.join(name);
            layout::sync_file(&path)?;
            files.insert(name.to_string(), check(&path)?);
        }
        layout::sync_dir(&tmp.path)?;
        tmp.publish(&dir.join(&generation))?;

        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            generation,
            model,
            chunker_version,
            analyzer,
            window_policy,
            titles,
            vectors: options,
            built_at,
            roots,
            documents,
            passages,
            windows,
            skipped,
            files,
        };
        manifest.write(&dir)?;
        // The generation the previous manifest named was this index's, marked or not (an
        // index from before generation markers).
        if let Some(previous) = previous.filter(|p| *p != manifest.generation) {
            let _ = fs::remove_dir_all(dir.join(previous));
        }
        layout::remove_generations(&dir, &id, Some(&manifest.generation));
        drop(lock);
        Ok(manifest)
    }
}

/// A file's size and sha256.
pub(super) fn check(path: &Path) -> Result<FileCheck, Error> {
    Ok(FileCheck {
        bytes: fs::metadata(path)
            .map_err(Error::io("read metadata of", path))?
            .len(),
        sha256: sha256_file(path).map_err(Error::io("read", path))?,
    })
}

/// Fails unless `passage` has at least one window and each lies within its text on UTF-8
/// character boundaries and has a `dims`-dimensional vector.
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

/// An unpublished generation directory, removed when dropped unless it was published.
struct Unpublished {
    path: PathBuf,
    published: bool,
}

impl Unpublished {
    fn create(path: PathBuf) -> Result<Unpublished, Error> {
        fs::create_dir(&path).map_err(Error::io("create", &path))?;
        Ok(Unpublished {
            path,
            published: false,
        })
    }

    /// Renames the directory to its final name and makes the rename durable.
    fn publish(mut self, to: &Path) -> Result<(), Error> {
        fs::rename(&self.path, to).map_err(Error::io("publish", to))?;
        self.published = true;
        layout::sync_dir(to.parent().unwrap_or(Path::new(".")))
    }
}

impl Drop for Unpublished {
    fn drop(&mut self) {
        // Best effort: whatever remains is removed by the next build.
        if !self.published {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// The build time for the manifest, UTC to the second.
fn now_rfc3339(dir: &Path) -> Result<String, Error> {
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
    use crate::store::testutil::{build, document, model, vector, DIMS};
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

        let manifest = index.manifest();
        assert_eq!(manifest.format_version, FORMAT_VERSION);
        assert_eq!(manifest.generation, "gen-000001");
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
        assert_eq!(hits[0].id, 5);
        assert_eq!(hits[0].window, second.start as usize..second.end as usize);
        assert!((hits[0].score - 1.0).abs() < 1e-5, "{hits:?}");
        assert!(
            hits.windows(2).all(|w| w[0].score >= w[1].score),
            "{hits:?}"
        );
        assert_eq!(index.search(&second.vector, 100, None).unwrap().len(), 5);
        assert!(index.search(&second.vector, 0, None).unwrap().is_empty());

        let stored = index.passage(5).unwrap();
        assert_eq!(stored.doc, "/notes/b.md");
        assert_eq!(stored.paragraph, 1);
        assert_eq!((stored.start_line, stored.end_line), (Some(5), Some(6)));
        assert_eq!(stored.text, b[1].text);
        let windows: Vec<(std::ops::Range<usize>, Vec<f32>)> = b[1]
            .windows
            .iter()
            .map(|w| (w.start as usize..w.end as usize, w.vector.clone()))
            .collect();
        assert_eq!(index.windows(5).unwrap(), windows);

        let picked: Vec<u64> = index
            .passages(&[4, 1, 5])
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(picked, [4, 1, 5]);
        assert_eq!(index.find("/notes/a.md", 2).unwrap().unwrap().id, 3);
        assert!(index.find("/notes/a.md", 3).unwrap().is_none());
        let paragraphs: Vec<u32> = index
            .document_passages("/notes/a.md")
            .unwrap()
            .iter()
            .map(|p| p.paragraph)
            .collect();
        assert_eq!(paragraphs, [0, 1, 2]);
        assert!(index.document_passages("/notes/zzz.md").unwrap().is_empty());

        assert!(matches!(index.passage(6), Err(Error::UnknownPassage(6))));
        assert!(matches!(index.windows(0), Err(Error::UnknownPassage(0))));
        assert!(matches!(
            index.passage_vector(6),
            Err(Error::UnknownPassage(6))
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

        let generation = dir.path().join("gen-000001");
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
            [".akapit-index", ".lock", "gen-000001", "manifest.json"]
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
        for id in 1..=200 {
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

    #[test]
    fn copied_documents_keep_their_passages_and_windows() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &[("/notes/a.md", 3), ("/notes/b.md", 4)]);
        let old = Index::open(dir.path()).unwrap().unwrap();

        let mut builder = Builder::create(
            dir.path(),
            model(),
            1,
            "plain".into(),
            vec!["/notes".into()],
        )
        .unwrap();
        let (info, passages) = document("/notes/new.md", 2);
        builder.add_document(info, passages).unwrap();
        builder.copy_document(&old, "/notes/b.md").unwrap();
        let manifest = builder.commit().unwrap();
        assert_eq!(manifest.generation, "gen-000002");
        assert_eq!((manifest.passages, manifest.windows), (6, 12));

        let new = Index::open(dir.path()).unwrap().unwrap();
        let before = old.document_passages("/notes/b.md").unwrap();
        let after = new.document_passages("/notes/b.md").unwrap();
        assert_eq!(after.len(), 4);
        for (a, b) in before.iter().zip(&after) {
            assert_eq!(
                (&a.doc, a.paragraph, a.start_line, a.end_line, &a.text),
                (&b.doc, b.paragraph, b.start_line, b.end_line, &b.text)
            );
            let windows = new.windows(b.id).unwrap();
            assert_eq!(old.windows(a.id).unwrap(), windows);
            // Window ids were renumbered (b.md's windows were 7..=14, now 5..=12): each
            // still leads to its passage.
            for (span, vector) in windows {
                let hit = &new.search(&vector, 1, None).unwrap()[0];
                assert_eq!((hit.id, hit.window.clone()), (b.id, span));
            }
        }
        let old_info = &old.manifest().documents[1];
        assert_eq!(&new.manifest().documents[1], old_info);
        assert!(new.document_passages("/notes/a.md").unwrap().is_empty());
        assert_eq!(
            entries(dir.path()),
            [".akapit-index", ".lock", "gen-000002", "manifest.json"]
        );

        // The old reader keeps working on the generation the new build deleted: its files
        // stay open (POSIX unlink semantics), so a search racing a rebuild still completes.
        if cfg!(unix) {
            assert_eq!(old.passage(1).unwrap().doc, "/notes/a.md");
            let vector = old.passage_vector(7).unwrap();
            assert_eq!(old.search(&vector, 1, None).unwrap()[0].id, 7);
        }
    }

    #[test]
    fn copying_refuses_other_models_chunkers_and_unknown_documents() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &[("/notes/a.md", 1)]);
        let old = Index::open(dir.path()).unwrap().unwrap();

        let other = ModelInfo {
            sha256: "feed".repeat(16),
            ..model()
        };
        let mut builder = Builder::create(dir.path(), other, 1, "plain".into(), vec![]).unwrap();
        let err = builder.copy_document(&old, "/notes/a.md").unwrap_err();
        assert!(matches!(err, Error::IncompatibleCopy { .. }), "{err:?}");
        assert!(
            err.to_string().contains("embed the document again"),
            "{err}"
        );
        drop(builder);

        let mut builder = Builder::create(dir.path(), model(), 2, "plain".into(), vec![]).unwrap();
        let err = builder.copy_document(&old, "/notes/a.md").unwrap_err();
        assert!(err.to_string().contains("chunker version 1"), "{err}");
        drop(builder);

        let mut builder = Builder::create(dir.path(), model(), 1, "plain".into(), vec![]).unwrap();
        let err = builder.copy_document(&old, "/notes/gone.md").unwrap_err();
        assert!(matches!(err, Error::UnknownDocument(ref d) if d == "/notes/gone.md"));
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
        assert_eq!(index.passage(3).unwrap().doc, "/notes/b.md");
        assert_eq!(index.windows(3).unwrap().len(), 2);
    }

    #[test]
    fn killed_builds_leave_the_previous_index_usable_and_are_cleaned_up_next_time() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &[("/notes/a.md", 2)]);
        let before = Index::open(dir.path())
            .unwrap()
            .unwrap()
            .document_passages("/notes/a.md");

        // A build abandoned before commit (an error, or a panic unwinding).
        let mut builder = Builder::create(dir.path(), model(), 1, "plain".into(), vec![]).unwrap();
        let (info, passages) = document("/notes/b.md", 3);
        builder.add_document(info, passages).unwrap();
        assert!(dir.path().join("gen-000002.tmp").is_dir());
        drop(builder);
        assert_eq!(
            entries(dir.path()),
            [".akapit-index", ".lock", "gen-000001", "manifest.json"]
        );

        // What a SIGKILL can leave: a half-written generation, a half-written manifest, and
        // a generation renamed into place whose manifest was never written (each generation
        // marked as this index's, as a build marks it first thing).
        let id = fs::read_to_string(dir.path().join(layout::MARKER)).unwrap();
        for name in ["gen-000009.tmp", "gen-000010"] {
            fs::create_dir(dir.path().join(name)).unwrap();
            layout::mark_generation(&dir.path().join(name), id.trim()).unwrap();
        }
        fs::write(dir.path().join("gen-000009.tmp/passages.sqlite"), "half").unwrap();
        fs::write(
            dir.path().join("manifest.json.tmp"),
            "{\"format_version\": 1, \"gen",
        )
        .unwrap();

        let index = Index::open(dir.path()).unwrap().unwrap();
        assert_eq!(index.manifest().generation, "gen-000001");
        assert_eq!(
            index.document_passages("/notes/a.md").unwrap(),
            before.unwrap()
        );
        assert!(index.find("/notes/b.md", 0).unwrap().is_none());

        let builder = Builder::create(dir.path(), model(), 1, "plain".into(), vec![]).unwrap();
        assert_eq!(
            entries(dir.path()),
            [
                ".akapit-index",
                ".lock",
                "gen-000001",
                "gen-000011.tmp",
                "manifest.json",
                // Rewritten by the next publish; akapit removes only generations it marked.
                "manifest.json.tmp"
            ]
        );
        let manifest = builder.commit().unwrap();
        assert_eq!(manifest.generation, "gen-000011");
        assert_eq!(
            entries(dir.path()),
            [".akapit-index", ".lock", "gen-000011", "manifest.json"]
        );
        assert_eq!(
            Index::open(dir.path())
                .unwrap()
                .unwrap()
                .manifest()
                .passages,
            0
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
        // The refused builder must not have touched the first one's work.
        assert!(dir.path().join("gen-000002.tmp").is_dir());

        let reader = Index::open(dir.path()).unwrap().unwrap();
        assert_eq!(reader.manifest().passages, 1);

        drop(first);
        Builder::create(dir.path(), model(), 1, "plain".into(), vec![]).unwrap();
    }
}
