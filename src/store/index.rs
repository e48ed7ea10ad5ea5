//! Reading a published index: the manifest names the generation, whose passage database is
//! opened read-only and whose vector file is memory-mapped. Readers take no lock; a build
//! running meanwhile never changes files a reader has open.

use std::fs;
use std::path::{Path, PathBuf};

use super::layout;
use super::passages::PassageDb;
use super::vectors::Vectors;
use super::{Error, Manifest, StoredPassage};

/// A read-only open index.
///
/// `Send` but not `Sync` (it owns a SQLite connection): share it between threads behind a
/// `Mutex`, or open one per thread.
pub struct Index {
    dir: PathBuf,
    /// `dir/gen-NNNNNN`, as named by the manifest when this was opened.
    generation: PathBuf,
    manifest: Manifest,
    passages: PassageDb,
    vectors: Vectors,
}

impl Index {
    /// Opens the index in `dir`. `Ok(None)` if nothing was ever published there (the caller
    /// then builds one); an error naming the file and the fix if it cannot be used.
    pub fn open(dir: &Path) -> Result<Option<Index>, Error> {
        let Some(mut manifest) = Manifest::read(dir)? else {
            return Ok(None);
        };
        let mut retries = 2;
        loop {
            let generation = manifest.generation.clone();
            let err = match Index::open_generation(dir, manifest) {
                Ok(index) => return Ok(Some(index)),
                Err(err) => err,
            };
            // A build may publish a new generation and delete this one between our reading
            // the manifest and opening its files; the manifest then names the newer one.
            match Manifest::read(dir).ok().flatten() {
                Some(newer) if retries > 0 && newer.generation != generation => {
                    retries -= 1;
                    manifest = newer;
                }
                _ => return Err(err),
            }
        }
    }

    fn open_generation(dir: &Path, manifest: Manifest) -> Result<Index, Error> {
        let generation = dir.join(&manifest.generation);
        if !generation.is_dir() {
            return Err(Error::Corrupt {
                path: dir.join(layout::MANIFEST),
                reason: format!("the generation {} it names is missing", manifest.generation),
            });
        }
        let dims = manifest.model.dims;
        let passages_path = generation.join(layout::PASSAGES);
        if !passages_path.is_file() {
            return Err(Error::Corrupt {
                path: passages_path,
                reason: "missing".into(),
            });
        }
        let passages = PassageDb::open(&passages_path, dims)?;
        let vectors = Vectors::open(
            &generation.join(layout::VECTORS),
            dims,
            &manifest.vectors,
            manifest.passages,
        )?;
        Ok(Index {
            dir: dir.to_path_buf(),
            generation,
            manifest,
            passages,
            vectors,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The index directory this was opened from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `k` passages nearest to `query` as `(id, cosine similarity)`, most similar first.
    /// Approximate (HNSW); `query` need not be normalised.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<(u64, f32)>, Error> {
        let expected = self.manifest.model.dims;
        if query.len() != expected {
            return Err(Error::Dimensions {
                what: "the query vector".into(),
                expected,
                found: query.len(),
            });
        }
        self.vectors.search(query, k)
    }

    pub fn passage(&self, id: u64) -> Result<StoredPassage, Error> {
        self.passages.passage(id)?.ok_or(Error::UnknownPassage(id))
    }

    /// The passages with the given ids, in the same order.
    pub fn passages(&self, ids: &[u64]) -> Result<Vec<StoredPassage>, Error> {
        ids.iter().map(|&id| self.passage(id)).collect()
    }

    /// A passage's embedding, as the model produced it.
    pub fn vector(&self, id: u64) -> Result<Vec<f32>, Error> {
        self.passages.vector(id)?.ok_or(Error::UnknownPassage(id))
    }

    /// The passage numbered `paragraph` in document `doc`, if there is one.
    pub fn find(&self, doc: &str, paragraph: u32) -> Result<Option<StoredPassage>, Error> {
        self.passages.find(doc, paragraph)
    }

    /// All passages of `doc` ordered by paragraph; empty if the document is not indexed.
    pub fn document_passages(&self, doc: &str) -> Result<Vec<StoredPassage>, Error> {
        self.passages.document_passages(doc)
    }

    /// Bytes of the manifest plus the generation directory.
    pub fn size_on_disk(&self) -> Result<u64, Error> {
        let manifest = self.dir.join(layout::MANIFEST);
        let mut total = fs::metadata(&manifest)
            .map_err(Error::io("read metadata of", &manifest))?
            .len();
        let entries =
            fs::read_dir(&self.generation).map_err(Error::io("list", &self.generation))?;
        for entry in entries {
            let entry = entry.map_err(Error::io("list", &self.generation))?;
            let metadata = entry
                .metadata()
                .map_err(Error::io("read metadata of", entry.path()))?;
            total += metadata.len();
        }
        Ok(total)
    }

    /// The passage database, for copying documents into a new build.
    pub(super) fn passage_db(&self) -> &PassageDb {
        &self.passages
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testutil::{build, model};

    fn open_err(dir: &Path) -> Error {
        Index::open(dir).err().expect("opening should fail")
    }

    #[test]
    fn no_index_yet_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Index::open(&dir.path().join("never-created"))
            .unwrap()
            .is_none());
        assert!(Index::open(dir.path()).unwrap().is_none());
        // A first build killed before publishing leaves no manifest: still no index.
        fs::create_dir(dir.path().join("gen-000001.tmp")).unwrap();
        assert!(Index::open(dir.path()).unwrap().is_none());
    }

    #[test]
    fn unusable_indexes_say_how_to_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &[("/notes/a.md", 2)]);
        let manifest_path = dir.path().join(layout::MANIFEST);
        let good = fs::read_to_string(&manifest_path).unwrap();

        let newer = good.replace("\"format_version\": 1", "\"format_version\": 7");
        assert_ne!(newer, good);
        fs::write(&manifest_path, newer).unwrap();
        let err = open_err(dir.path());
        assert!(
            matches!(
                err,
                Error::FormatVersion {
                    found: 7,
                    expected: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("akapit index --rebuild"), "{err}");

        fs::write(&manifest_path, &good[..good.len() / 2]).unwrap();
        let err = open_err(dir.path());
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("manifest.json"), "{err}");
        assert!(err.to_string().contains("akapit index --rebuild"), "{err}");

        fs::write(&manifest_path, &good).unwrap();
        let vectors = dir.path().join("gen-000001").join(layout::VECTORS);
        fs::write(&vectors, b"not a usearch file").unwrap();
        let err = open_err(dir.path());
        assert!(err.to_string().contains("vectors.usearch"), "{err}");
        assert!(err.to_string().contains("akapit index --rebuild"), "{err}");

        fs::remove_dir_all(dir.path().join("gen-000001")).unwrap();
        let err = open_err(dir.path());
        assert!(err.to_string().contains("gen-000001"), "{err}");
        assert!(err.to_string().contains("akapit index --rebuild"), "{err}");
    }

    #[test]
    fn the_manifest_of_an_open_index_checks_the_model() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &[("/notes/a.md", 1)]);
        let index = Index::open(dir.path()).unwrap().unwrap();
        let m = model();
        index
            .manifest()
            .check_model(&m.name, &m.sha256, m.dims)
            .unwrap();
        let err = index
            .manifest()
            .check_model("other/model", &m.sha256, m.dims)
            .unwrap_err();
        assert!(err.to_string().contains("--model test/fake-8d"), "{err}");
    }
}
