//! Reading one published segment: its passage database opened read-only, its vector file
//! memory-mapped, its passage lengths in memory, and the deletions the manifest records for
//! it turned into id ranges that searches skip. A passage's id in the index is the
//! segment's number in the high 32 bits and its id within the segment in the low 32.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::layout;
use super::passages::{PassageDb, Placement, PostingsSource};
use super::postings::{self, Collection, TermPostings};
use super::vectors::{KeyRanges, Vectors};
use super::{
    DocumentInfo, Error, Manifest, NewPassage, PassageMatch, SegmentInfo, StoredPassage,
    StoredWindow,
};

/// Terms whose live passage count a segment with deletions keeps (a server asked about
/// many more starts again).
const LIVE_FREQUENCIES_CACHED: usize = 100_000;

/// Vector files up to this size are checked against their checksum whenever a segment
/// opens: usearch trusts the file it maps, and a damaged graph can crash a search.
pub const VERIFY_ON_OPEN_BYTES: u64 = 64 << 20;

/// The index-wide id of passage `local` of segment `number`.
pub fn global_id(number: u64, local: u64) -> u64 {
    (number << 32) | local
}

/// The segment number and the id within it of an index-wide passage id.
pub fn split_id(id: u64) -> (u64, u64) {
    (id >> 32, id & 0xffff_ffff)
}

/// What is computed once per segment and shared by every reader of it.
struct Shared {
    /// Passage lengths in terms, by local id.
    lengths: Vec<u32>,
    deleted_passages: KeyRanges,
    /// The windows still searched; `None` when nothing was deleted.
    live_windows: Option<KeyRanges>,
    /// How many live passages contain a term, for the terms asked about so far: counted
    /// in the term's postings when the segment has deletions (terms are not stored per
    /// passage, so they cannot be counted up front).
    live_frequencies: Mutex<HashMap<String, u64>>,
    live_passages: u64,
    live_length: u64,
}

pub struct Segment {
    pub number: u64,
    pub path: PathBuf,
    pub info: SegmentInfo,
    dims: usize,
    db: PassageDb,
    /// `Err` with the file's path when its checksum did not match on opening.
    vectors: Result<Vectors, PathBuf>,
    /// `Err` when the passage database could not be read on opening: the segment still
    /// opens (for `status` and `verify`), but searching it is that error.
    shared: Result<Arc<Shared>, String>,
}

impl Segment {
    /// Opens segment `info` of the index in `dir` described by `manifest`.
    pub fn open(dir: &Path, info: &SegmentInfo, manifest: &Manifest) -> Result<Segment, Error> {
        let number = layout::parse_segment(&info.name).ok_or_else(|| Error::Corrupt {
            path: dir.join(layout::MANIFEST),
            reason: format!("`{}` is not a segment name", info.name),
        })?;
        let path = dir.join(&info.name);
        if !path.is_dir() {
            return Err(Error::Corrupt {
                path: dir.join(layout::MANIFEST),
                reason: format!("the segment {} it names is missing", info.name),
            });
        }
        let passages_path = path.join(layout::PASSAGES);
        if !passages_path.is_file() {
            return Err(Error::Corrupt {
                path: passages_path,
                reason: "missing".into(),
            });
        }
        // Sizes are cheap to check on every open; `verify` reads the contents.
        for (name, expected) in &info.files {
            let file = path.join(name);
            let bytes = fs::metadata(&file)
                .map_err(Error::io("read metadata of", &file))?
                .len();
            if bytes != expected.bytes {
                return Err(Error::Corrupt {
                    path: file,
                    reason: format!("it is {bytes} bytes, the manifest says {}", expected.bytes),
                });
            }
        }
        let db = PassageDb::open(&passages_path)?;
        let vectors_path = path.join(layout::VECTORS);
        let damaged = match info.files.get(layout::VECTORS) {
            Some(expected) if expected.bytes <= VERIFY_ON_OPEN_BYTES => {
                super::writer::check(&vectors_path)?.sha256 != expected.sha256
            }
            _ => false,
        };
        let vectors = match damaged {
            true => Err(vectors_path),
            false => Ok(open_vectors(&path, info, manifest)?),
        };
        let shared = shared(&db, info, &passages_path)
            .map(Arc::new)
            .map_err(|e| e.to_string());
        Ok(Segment {
            number,
            path,
            info: info.clone(),
            dims: manifest.model.dims,
            db,
            vectors,
            shared,
        })
    }

    /// Another reader of this segment, without the checks this one passed on opening.
    pub fn reopen(&self, manifest: &Manifest) -> Result<Segment, Error> {
        let db = PassageDb::open(&self.path.join(layout::PASSAGES))?;
        let vectors = match &self.vectors {
            Ok(_) => Ok(open_vectors(&self.path, &self.info, manifest)?),
            Err(path) => Err(path.clone()),
        };
        Ok(Segment {
            number: self.number,
            path: self.path.clone(),
            info: self.info.clone(),
            dims: self.dims,
            db,
            vectors,
            shared: self.shared.clone(),
        })
    }

    #[cfg(test)]
    pub fn set_exact_max_work(&mut self, work: usize) {
        if let Ok(vectors) = self.vectors.as_mut() {
            vectors.set_exact_max_work(work);
        }
    }

    fn shared(&self) -> Result<&Shared, Error> {
        self.shared.as_deref().map_err(|reason| Error::Corrupt {
            path: self.path.join(layout::PASSAGES),
            reason: reason.clone(),
        })
    }

    pub fn live_passages(&self) -> Result<u64, Error> {
        Ok(self.shared()?.live_passages)
    }

    pub fn live_length(&self) -> Result<u64, Error> {
        Ok(self.shared()?.live_length)
    }

    /// Sets the candidate list size of this segment's graph searches (HNSW `ef`).
    pub fn set_search_expansion(&mut self, expansion: usize) {
        if let Ok(vectors) = &mut self.vectors {
            vectors.set_search_expansion(expansion);
        }
    }

    fn vectors(&self) -> Result<&Vectors, Error> {
        self.vectors.as_ref().map_err(|path| Error::Corrupt {
            path: path.clone(),
            reason: "its contents differ from the checksum in the manifest".into(),
        })
    }

    fn damaged_db(&self, reason: String) -> Error {
        Error::Corrupt {
            path: self.path.join(layout::PASSAGES),
            reason,
        }
    }

    /// The windows of `docs` (all of which this segment holds, live).
    fn document_windows(&self, docs: &[&str]) -> Result<KeyRanges, Error> {
        let mut ranges = Vec::with_capacity(docs.len());
        for doc in docs {
            let placement = self.placement(doc)?;
            ranges.push(placement.windows);
        }
        Ok(KeyRanges::new(ranges))
    }

    pub fn placement(&self, doc: &str) -> Result<Placement, Error> {
        self.db.placement(doc)?.ok_or_else(|| {
            self.damaged_db(format!(
                "it does not hold {doc}, which the manifest places there"
            ))
        })
    }

    /// The `k` live passages of this segment whose best window is most similar to `query`,
    /// best first (ties: lower id first), as index-wide ids; only within `only` (documents
    /// live in this segment) when given.
    pub fn dense(
        &self,
        query: &[f32],
        k: usize,
        only: Option<&[&str]>,
        exact: bool,
    ) -> Result<Vec<PassageMatch>, Error> {
        let filter = match only {
            Some(docs) => Some(self.document_windows(docs)?),
            None => self.shared()?.live_windows.clone(),
        };
        let vectors = self.vectors()?;
        let windows = filter.as_ref().map_or(vectors.len(), KeyRanges::len);
        if k == 0 || windows == 0 {
            return Ok(Vec::new());
        }
        // A passage has a handful of windows, so 4k + 16 nearest windows nearly always hold
        // k distinct passages; when one passage's windows crowd the list, ask for more.
        let mut wanted = windows.min(k.saturating_mul(4).saturating_add(16));
        loop {
            let nearest = match exact {
                true => vectors.search_exact(query, wanted, filter.as_ref())?,
                false => vectors.search(query, wanted, filter.as_ref())?,
            };
            let best = self.best_per_passage(&nearest, k)?;
            if best.len() >= k || wanted >= windows {
                return Ok(best);
            }
            wanted = windows.min(wanted.saturating_mul(2));
        }
    }

    /// The best window of each passage among `nearest` (most similar first), as the top `k`.
    fn best_per_passage(
        &self,
        nearest: &[(u64, f32)],
        k: usize,
    ) -> Result<Vec<PassageMatch>, Error> {
        let mut seen = HashSet::new();
        let mut best: Vec<PassageMatch> = Vec::new();
        for &(window, score) in nearest {
            // Later windows score no higher; read on only while one could tie the k-th
            // passage, whose place may go to a lower id.
            if best.len() >= k && score < best[k - 1].score {
                break;
            }
            let (local, span) = self.db.window(window)?.ok_or_else(|| {
                self.damaged_db(format!(
                    "it has no window {window}, which the vector index holds"
                ))
            })?;
            if seen.insert(local) {
                best.push(PassageMatch {
                    id: global_id(self.number, local),
                    score,
                    window: span,
                });
            }
        }
        best.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        best.truncate(k);
        Ok(best)
    }

    /// How many live passages of this segment contain `term`.
    pub fn document_frequency(&self, term: &str) -> Result<u64, Error> {
        let shared = self.shared()?;
        if shared.deleted_passages.len() == 0 {
            return self.db.document_frequency(term);
        }
        // A poisoned lock only means another reader panicked while holding it.
        let cached = || {
            shared
                .live_frequencies
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        };
        if let Some(&live) = cached().get(term) {
            return Ok(live);
        }
        let live = match self.db.postings(term)? {
            None => 0,
            Some(list) => {
                let (ids, _) = list.decode().ok_or_else(|| {
                    self.damaged_db(format!("the postings of `{term}` are damaged"))
                })?;
                let deleted = &shared.deleted_passages;
                ids.iter()
                    .filter(|&&id| !deleted.contains(u64::from(id)))
                    .count() as u64
            }
        };
        let mut map = cached();
        if map.len() >= LIVE_FREQUENCIES_CACHED {
            map.clear();
        }
        map.insert(term.to_string(), live);
        Ok(live)
    }

    /// This segment's postings for a merge that gives its passages the ids `new_ids`.
    pub fn postings_source(&self, new_ids: Vec<u32>) -> Result<PostingsSource<'_>, Error> {
        Ok(PostingsSource {
            db: &self.db,
            lengths: &self.shared()?.lengths,
            new_ids,
        })
    }

    /// The `k` live passages with the best BM25 score for `terms` (each with its slot in
    /// the query and its idf over the whole index), best first, as index-wide ids.
    pub fn lexical(
        &self,
        terms: &[(usize, &str, f64)],
        collection: Collection,
        k: usize,
        only: Option<&[&str]>,
    ) -> Result<Vec<(u64, f64)>, Error> {
        let mut lists = Vec::with_capacity(terms.len());
        for &(slot, term, idf) in terms {
            let Some(list) = self.db.postings(term)? else {
                continue;
            };
            let (ids, counts) = list
                .decode()
                .ok_or_else(|| self.damaged_db(format!("the postings of `{term}` are damaged")))?;
            lists.push(TermPostings {
                slot,
                idf,
                ids,
                counts,
                max_tf: list.max_tf,
                min_length: list.min_length,
            });
        }
        let only = only
            .map(|docs| -> Result<KeyRanges, Error> {
                let ranges = docs
                    .iter()
                    .map(|doc| Ok(self.placement(doc)?.passages))
                    .collect::<Result<Vec<_>, Error>>()?;
                Ok(KeyRanges::new(ranges))
            })
            .transpose()?;
        let shared = self.shared()?;
        let deleted = &shared.deleted_passages;
        let keep = |id: u32| {
            let id = u64::from(id);
            only.as_ref()
                .map_or(!deleted.contains(id), |o| o.contains(id))
        };
        Ok(postings::top_k(lists, collection, &shared.lengths, k, keep)
            .into_iter()
            .map(|(local, score)| (global_id(self.number, u64::from(local)), score))
            .collect())
    }

    pub fn passage(&self, local: u64) -> Result<Option<StoredPassage>, Error> {
        if self.shared()?.deleted_passages.contains(local) {
            return Ok(None);
        }
        Ok(self.db.passage(local)?.map(|p| self.globalise(p)))
    }

    fn globalise(&self, mut passage: StoredPassage) -> StoredPassage {
        passage.id = global_id(self.number, passage.id);
        passage
    }

    pub fn find(&self, doc: &str, paragraph: u32) -> Result<Option<StoredPassage>, Error> {
        Ok(self.db.find(doc, paragraph)?.map(|p| self.globalise(p)))
    }

    pub fn document_passages(&self, doc: &str) -> Result<Vec<StoredPassage>, Error> {
        Ok(self
            .db
            .document_passages(doc)?
            .into_iter()
            .map(|p| self.globalise(p))
            .collect())
    }

    /// The windows of passage `local` (spans and vectors), in text order.
    pub fn windows(&self, local: u64) -> Result<Vec<StoredWindow>, Error> {
        if self.shared()?.deleted_passages.contains(local) {
            return Ok(Vec::new());
        }
        let vectors = self.vectors()?;
        self.db
            .windows(local)?
            .into_iter()
            .map(|(id, span)| Ok((span, vectors.get(id)?)))
            .collect()
    }

    /// A document as stored, with its windows' vectors as the vector file holds them.
    pub fn document(&self, doc: &str) -> Result<Option<(DocumentInfo, Vec<NewPassage>)>, Error> {
        let Some((info, mut passages, ids)) = self.db.document(doc)? else {
            return Ok(None);
        };
        let vectors = self.vectors()?;
        let mut ids = ids.into_iter();
        for window in passages.iter_mut().flat_map(|p| p.windows.iter_mut()) {
            let id = ids
                .next()
                .ok_or_else(|| self.damaged_db(format!("{doc} lost a window")))?;
            window.vector = vectors.get(id)?;
        }
        Ok(Some((info, passages)))
    }

    /// Reads every data file against the checksums in the manifest, then SQLite's quick
    /// check of the passage database.
    pub fn verify(&self) -> Result<(), Error> {
        self.shared()?;
        for (name, expected) in &self.info.files {
            let checked_on_open = name == layout::VECTORS
                && expected.bytes <= VERIFY_ON_OPEN_BYTES
                && self.vectors.is_ok();
            if checked_on_open {
                continue;
            }
            let path = self.path.join(name);
            let found = super::writer::check(&path)?;
            if found.sha256 != expected.sha256 {
                return Err(Error::Corrupt {
                    path,
                    reason: "its contents differ from the checksum in the manifest".into(),
                });
            }
        }
        self.db.quick_check()
    }

    /// Bytes of the segment's files.
    pub fn size_on_disk(&self) -> Result<u64, Error> {
        let mut total = 0;
        let entries = fs::read_dir(&self.path).map_err(Error::io("list", &self.path))?;
        for entry in entries {
            let entry = entry.map_err(Error::io("list", &self.path))?;
            let metadata = entry
                .metadata()
                .map_err(Error::io("read metadata of", entry.path()))?;
            total += metadata.len();
        }
        Ok(total)
    }
}

/// The lengths and the deletions of a segment, from its database and the manifest.
fn shared(db: &PassageDb, info: &SegmentInfo, path: &Path) -> Result<Shared, Error> {
    let lengths = db.lengths()?;
    // Ids run from 1, with gaps where a resumed build dropped documents.
    if info.passages > 0 && lengths.len() < info.passages + 1 {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!(
                "it has lengths for {} passages, the manifest says {}",
                lengths.len().saturating_sub(1),
                info.passages
            ),
        });
    }
    let mut deleted_passages = Vec::new();
    for doc in &info.deleted {
        let placement = db.placement(doc)?.ok_or_else(|| Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!("the manifest deletes {doc} from it, but it does not hold it"),
        })?;
        deleted_passages.push(placement.passages);
    }
    let deleted_passages = KeyRanges::new(deleted_passages);
    // A document's passages have consecutive ids, so these are all real passages.
    let deleted_count = deleted_passages.len() as u64;
    let deleted_length: u64 = deleted_passages
        .keys()
        .map(|id| u64::from(lengths.get(id as usize).copied().unwrap_or(0)))
        .sum();
    // The windows of the documents not deleted (ids may have gaps where a resumed build
    // dropped documents, so these are read, not derived).
    let live_windows = match info.deleted.is_empty() {
        true => None,
        false => {
            let deleted: HashSet<&str> = info.deleted.iter().map(String::as_str).collect();
            let live = db
                .stored_documents()?
                .into_iter()
                .filter(|(d, _)| !deleted.contains(d.path.as_str()))
                .map(|(_, placement)| placement.windows);
            Some(KeyRanges::new(live))
        }
    };
    let total_length: u64 = lengths.iter().map(|&l| u64::from(l)).sum();
    Ok(Shared {
        lengths,
        deleted_passages,
        live_windows,
        live_frequencies: Mutex::new(HashMap::new()),
        live_passages: (info.passages as u64).saturating_sub(deleted_count),
        live_length: total_length.saturating_sub(deleted_length),
    })
}

fn open_vectors(path: &Path, info: &SegmentInfo, manifest: &Manifest) -> Result<Vectors, Error> {
    Vectors::open(
        &path.join(layout::VECTORS),
        manifest.model.dims,
        &manifest.vectors,
        info.windows,
    )
}
