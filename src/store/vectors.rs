//! The vector index (usearch HNSW): built once from the passage database's window vectors,
//! saved to a file, and memory-mapped read-only by readers. Keys are window ids; scores leave
//! this module as cosine similarity, never as usearch's distance.

use std::num::NonZeroUsize;
use std::ops::Range;
use std::panic;
use std::path::{Path, PathBuf};
use std::thread;

use usearch::{IndexOptions, MetricKind, ScalarKind};

use super::{Error, Metric, Scalar, VectorOptions};
use crate::vector;

/// Up to this many multiply-adds per query (vectors scanned × dimensions) a brute-force scan
/// is used instead of the graph: it is exact, deterministic, and takes a few milliseconds
/// (measured 1.8 ms for 20k × 384 and 4.5 ms for 50k × 384 on one core), which is also
/// faster than the graph once `k` reaches the hundreds.
const EXACT_SEARCH_MAX_WORK: usize = 1 << 24;

/// Vectors per step of `search_expansion`.
const EXPANSION_STEP: usize = 100_000;

/// The largest candidate list `search_expansion` gives.
const MAX_EXPANSION: usize = 1024;

/// The candidate list size (HNSW `ef`) of graph searches among `vectors` vectors: `base`
/// (the index's own, 64) per 100,000 vectors, the multiple rounded up to a power of two,
/// at most 1,024. A bigger graph needs a longer list for the same recall: on the scale
/// benchmark's 1.46M vectors (README, "A million passages"), recall@10 is 0.75 at 64, 0.95
/// at 512 and 0.97 at 1,024, with dense search at 1.6, 3.8 and 5.4 ms.
pub fn search_expansion(base: usize, vectors: usize) -> usize {
    let steps = vectors.div_ceil(EXPANSION_STEP).max(1).next_power_of_two();
    base.saturating_mul(steps).min(MAX_EXPANSION.max(base))
}

pub struct Vectors {
    index: usearch::Index,
    path: PathBuf,
    /// Threads that may add at once; usearch keeps per-thread state for each.
    threads: usize,
    /// `EXACT_SEARCH_MAX_WORK`, lowered by tests to exercise the graph on small indexes.
    exact_max_work: usize,
}

/// A set of keys given as ranges, for searching part of the index.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRanges {
    /// Sorted, non-empty and non-overlapping.
    ranges: Vec<Range<u64>>,
    len: usize,
}

impl KeyRanges {
    pub fn new(ranges: impl IntoIterator<Item = Range<u64>>) -> KeyRanges {
        let mut ranges: Vec<Range<u64>> = ranges.into_iter().filter(|r| !r.is_empty()).collect();
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        let len = merged.iter().map(|r| (r.end - r.start) as usize).sum();
        KeyRanges {
            ranges: merged,
            len,
        }
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn contains(&self, key: u64) -> bool {
        // The first range ending after `key` is the only one that can hold it.
        let i = self.ranges.partition_point(|r| r.end <= key);
        self.ranges.get(i).is_some_and(|r| r.start <= key)
    }

    /// Every key, ascending.
    pub fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.ranges.iter().flat_map(Range::clone)
    }
}

impl Vectors {
    /// An empty index for `capacity` vectors, to be saved to `path`.
    pub fn create(
        path: &Path,
        dims: usize,
        options: &VectorOptions,
        capacity: usize,
    ) -> Result<Vectors, Error> {
        let index =
            usearch::Index::new(&native_options(dims, options)).map_err(vectors_error(path))?;
        let threads = thread::available_parallelism().map_or(1, NonZeroUsize::get);
        // usearch refuses to add beyond the reserved capacity or from more threads than it
        // reserved state for.
        index
            .reserve_capacity_and_threads(capacity, threads)
            .map_err(vectors_error(path))?;
        Ok(Vectors {
            index,
            path: path.to_path_buf(),
            threads,
            exact_max_work: EXACT_SEARCH_MAX_WORK,
        })
    }

    /// Adds vectors under their window ids, spread over all cores: inserting into the graph
    /// is what a rebuild spends its time on when most documents are copied, not embedded.
    pub fn add_batch(&self, batch: &[(u64, Vec<f32>)]) -> Result<(), Error> {
        let threads = self.threads.min(batch.len()).max(1);
        thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|first| {
                    scope.spawn(move || {
                        batch
                            .iter()
                            .skip(first)
                            .step_by(threads)
                            .try_for_each(|(id, vector)| self.add(*id, vector))
                    })
                })
                .collect();
            workers
                .into_iter()
                .try_for_each(|worker| worker.join().unwrap_or_else(|p| panic::resume_unwind(p)))
        })
    }

    fn add(&self, id: u64, vector: &[f32]) -> Result<(), Error> {
        self.index
            .add(id, vector)
            .map_err(vectors_error(&self.path))
    }

    pub fn save(&self) -> Result<(), Error> {
        self.index
            .save(utf8(&self.path)?)
            .map_err(vectors_error(&self.path))
    }

    /// Memory-maps a saved index. The options must be the ones it was built with:
    /// `expansion_search` is not stored in the file and would otherwise fall back to the
    /// library default.
    pub fn open(
        path: &Path,
        dims: usize,
        options: &VectorOptions,
        expected_len: usize,
    ) -> Result<Vectors, Error> {
        let corrupt = |reason: String| Error::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let index =
            usearch::Index::new(&native_options(dims, options)).map_err(vectors_error(path))?;
        // A file view rather than a buffer view: the latter has corrupted indexes
        // (usearch issue #624), and a file view lets the OS page vectors in on demand.
        index
            .view(utf8(path)?)
            .map_err(|e| corrupt(e.to_string()))?;
        if index.dimensions() != dims {
            return Err(corrupt(format!(
                "holds {}-dimensional vectors, the manifest says {dims}",
                index.dimensions()
            )));
        }
        if index.size() != expected_len {
            return Err(corrupt(format!(
                "holds {} vectors, the manifest lists {expected_len} windows",
                index.size()
            )));
        }
        index.change_expansion_search(search_expansion(options.expansion_search, index.size()));
        Ok(Vectors {
            index,
            path: path.to_path_buf(),
            threads: 1,
            exact_max_work: EXACT_SEARCH_MAX_WORK,
        })
    }

    /// Sets the candidate list size of graph searches (HNSW `ef`).
    pub fn set_search_expansion(&mut self, expansion: usize) {
        self.index.change_expansion_search(expansion);
    }

    /// How many vectors the index holds.
    pub fn len(&self) -> usize {
        self.index.size()
    }

    /// The `k` nearest vectors as `(key, cosine similarity)`, most similar first, ties by
    /// key; only among `only` if given. Exact while the vectors to compare are few enough to
    /// scan, or when all of them are asked for (the graph may miss a node, and then a search
    /// for everything would not return everything); approximate (HNSW) otherwise.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        only: Option<&KeyRanges>,
    ) -> Result<Vec<(u64, f32)>, Error> {
        let candidates = only.map_or(self.index.size(), KeyRanges::len);
        let exact = k >= candidates
            || candidates.saturating_mul(self.index.dimensions()) <= self.exact_max_work;
        self.search_with(query, k, only, exact)
    }

    /// `search` compared with every candidate, never through the graph: what the graph's
    /// recall is measured against.
    pub fn search_exact(
        &self,
        query: &[f32],
        k: usize,
        only: Option<&KeyRanges>,
    ) -> Result<Vec<(u64, f32)>, Error> {
        self.search_with(query, k, only, true)
    }

    #[cfg(test)]
    pub fn set_exact_max_work(&mut self, work: usize) {
        self.exact_max_work = work;
    }

    fn search_with(
        &self,
        query: &[f32],
        k: usize,
        only: Option<&KeyRanges>,
        exact: bool,
    ) -> Result<Vec<(u64, f32)>, Error> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let mut hits = match (only, exact) {
            (None, true) => self.hits(self.index.exact_search(query, k))?,
            (None, false) => self.hits(self.index.search(query, k))?,
            (Some(only), true) => self.scan(query, only)?,
            // usearch walks the graph as usual but collects only keys the filter accepts,
            // walking on until it has `k`: quick when, as here, the filter is too wide to scan.
            (Some(only), false) => self.hits(
                self.index
                    .filtered_search(query, k, |key| only.contains(key)),
            )?,
        };
        // usearch already returns ascending distance; sorting makes the order (and the
        // order of ties) a guarantee of this function rather than of the library version.
        let order = |a: &(u64, f32), b: &(u64, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if hits.len() > k {
            hits.select_nth_unstable_by(k - 1, order);
            hits.truncate(k);
        }
        hits.sort_by(order);
        Ok(hits)
    }

    fn hits<E: std::fmt::Display>(
        &self,
        matches: Result<usearch::ffi::Matches, E>,
    ) -> Result<Vec<(u64, f32)>, Error> {
        let matches = matches.map_err(vectors_error(&self.path))?;
        matches
            .keys
            .into_iter()
            .zip(matches.distances)
            .map(|(key, distance)| self.similarity(key, 1.0 - distance))
            .collect()
    }

    /// A similarity as search returns it; not a number means the stored vector is garbage.
    fn similarity(&self, key: u64, similarity: f32) -> Result<(u64, f32), Error> {
        if similarity.is_finite() {
            Ok((key, similarity))
        } else {
            Err(Error::Corrupt {
                path: self.path.clone(),
                reason: format!("the vector of window {key} is not a vector of numbers"),
            })
        }
    }

    /// Every key of `only` with its cosine similarity to `query`, unordered. usearch has no
    /// filtered exact search in its Rust API, so the vectors are read from the mapped file
    /// and compared here: about 0.5 µs per vector at 384 dimensions (measured 23–30 ms for
    /// 42k), two thirds of it in `get`.
    /// The stored vector of window `key` (as stored: with `f16` or `i8` quantisation, a
    /// close copy of the model's vector).
    pub fn get(&self, key: u64) -> Result<Vec<f32>, Error> {
        let mut vector = vec![0.0; self.index.dimensions()];
        let found = self
            .index
            .get(key, &mut vector)
            .map_err(vectors_error(&self.path))?;
        if found != 1 {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                reason: format!("holds no vector for window {key}"),
            });
        }
        Ok(vector)
    }

    fn scan(&self, query: &[f32], only: &KeyRanges) -> Result<Vec<(u64, f32)>, Error> {
        only.keys()
            .map(|key| {
                let vector = self.get(key)?;
                self.similarity(key, vector::cosine(query, &vector))
            })
            .collect()
    }
}

fn native_options(dims: usize, options: &VectorOptions) -> IndexOptions {
    IndexOptions {
        dimensions: dims,
        metric: match options.metric {
            Metric::Cos => MetricKind::Cos,
        },
        quantization: match options.scalar {
            Scalar::F32 => ScalarKind::F32,
            Scalar::F16 => ScalarKind::F16,
            Scalar::I8 => ScalarKind::I8,
        },
        connectivity: options.connectivity,
        expansion_add: options.expansion_add,
        expansion_search: options.expansion_search,
        multi: false,
    }
}

/// usearch takes paths as `&str`.
fn utf8(path: &Path) -> Result<&str, Error> {
    path.to_str().ok_or_else(|| Error::Vectors {
        path: path.to_path_buf(),
        message: "the path is not valid UTF-8, which the vector library requires; \
                  choose an index directory with a UTF-8 path"
            .into(),
    })
}

fn vectors_error<E: std::fmt::Display>(path: &Path) -> impl FnOnce(E) -> Error {
    let path = path.to_path_buf();
    move |e| Error::Vectors {
        path,
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testutil::vector;

    fn unit(dims: usize, axis: usize) -> Vec<f32> {
        let mut v = vec![0.0; dims];
        v[axis] = 1.0;
        v
    }

    #[test]
    fn the_search_expansion_grows_with_the_graph_in_powers_of_two_up_to_a_cap() {
        let at = |n| search_expansion(64, n);
        assert_eq!([at(0), at(1), at(100_000)], [64, 64, 64]);
        assert_eq!([at(100_001), at(200_000), at(200_001)], [128, 128, 256]);
        assert_eq!([at(1_461_437), at(10_000_000)], [1024, 1024]);
        // The index's own value is never lowered.
        assert_eq!(search_expansion(2000, 10), 2000);
    }

    #[test]
    fn saved_index_views_back_with_the_same_neighbours_and_options() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.usearch");
        let options = VectorOptions {
            expansion_search: 37,
            ..VectorOptions::DEFAULT
        };
        let built = Vectors::create(&path, 8, &options, 8).unwrap();
        // Keys far from 0..n: results must come from the keys, not from insertion slots.
        let batch: Vec<(u64, Vec<f32>)> = (0..8)
            .map(|axis| (1000 + axis * 7, unit(8, axis as usize)))
            .collect();
        built.add_batch(&batch).unwrap();
        let before =
            [false, true].map(|exact| built.search_with(&unit(8, 3), 3, None, exact).unwrap());
        built.save().unwrap();
        drop(built);

        let viewed = Vectors::open(&path, 8, &options, 8).unwrap();
        assert_eq!(viewed.index.expansion_search(), 37);
        assert_eq!(viewed.index.connectivity(), 16);
        let after =
            [false, true].map(|exact| viewed.search_with(&unit(8, 3), 3, None, exact).unwrap());
        assert_eq!(after, before);
        for hits in after {
            assert_eq!(hits[0].0, 1021);
            assert!((hits[0].1 - 1.0).abs() < 1e-6, "{hits:?}");
            // Orthogonal vectors have cosine similarity 0, not distance 1.
            assert!(hits[1].1.abs() < 1e-6, "{hits:?}");
        }
    }

    #[test]
    fn parallel_insertion_and_both_search_paths_find_every_vector() {
        let dir = tempfile::tempdir().unwrap();
        let vectors =
            Vectors::create(&dir.path().join("v"), 8, &VectorOptions::DEFAULT, 501).unwrap();
        let batch: Vec<(u64, Vec<f32>)> = (1..=500).map(|id| (id, vector(id))).collect();
        vectors.add_batch(&batch[..300]).unwrap();
        vectors.add_batch(&batch[300..]).unwrap();
        assert_eq!(vectors.index.size(), 500);
        let mut found_by_graph = 0;
        for (id, v) in &batch {
            assert_eq!(vectors.search_with(v, 1, None, true).unwrap()[0].0, *id);
            let approximate = vectors.search_with(v, 1, None, false).unwrap();
            found_by_graph += usize::from(approximate[0].0 == *id);
        }
        // The graph is approximate and, built from several threads, not deterministic (up to
        // 18 misses in 500 were seen); a broken graph or key mapping would find almost none.
        assert!(
            found_by_graph >= 450,
            "graph search found {found_by_graph} of 500"
        );
        // A key used twice is an error, not a silent second vector.
        assert!(vectors.add_batch(&batch[..1]).is_err());
    }

    #[test]
    fn similarity_is_cosine_for_unnormalised_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let vectors =
            Vectors::create(&dir.path().join("v"), 2, &VectorOptions::DEFAULT, 2).unwrap();
        vectors
            .add_batch(&[(1, vec![3.0, 4.0]), (2, vec![-1.0, 0.0])])
            .unwrap();
        let hits = vectors.search(&[1.0, 0.0], 5, None).unwrap();
        assert_eq!(hits.len(), 2, "k beyond the size returns what there is");
        assert_eq!(hits[0].0, 1);
        assert!((hits[0].1 - 0.6).abs() < 1e-6, "{hits:?}");
        assert_eq!(hits[1].0, 2);
        assert!((hits[1].1 + 1.0).abs() < 1e-6, "{hits:?}");
    }

    #[test]
    fn key_ranges_merge_and_answer_membership() {
        let keys = KeyRanges::new(vec![10..12, 3..5, 4..7, 20..20, 7..8]);
        assert_eq!(keys.ranges, [3..8, 10..12]);
        assert_eq!(keys.len(), 7);
        assert_eq!(keys.keys().collect::<Vec<_>>(), [3, 4, 5, 6, 7, 10, 11]);
        let members: Vec<u64> = (0..15).filter(|&key| keys.contains(key)).collect();
        assert_eq!(members, [3, 4, 5, 6, 7, 10, 11]);
        let none = KeyRanges::new(std::iter::once(5..5));
        assert_eq!(none.len(), 0);
        assert!(!none.contains(5));
    }

    #[test]
    fn filtered_search_finds_only_allowed_keys_on_both_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.usearch");
        let built = Vectors::create(&path, 8, &VectorOptions::DEFAULT, 400).unwrap();
        let batch: Vec<(u64, Vec<f32>)> = (1..=400).map(|key| (key, vector(key))).collect();
        built.add_batch(&batch).unwrap();
        built.save().unwrap();
        drop(built);
        let vectors = Vectors::open(&path, 8, &VectorOptions::DEFAULT, 400).unwrap();

        let only = KeyRanges::new(vec![101..151, 301..311]);
        let mut found_by_graph = 0;
        for (key, query) in &batch[..20] {
            let unfiltered = vectors.search_with(query, 400, None, true).unwrap();
            assert_eq!(unfiltered[0], (*key, unfiltered[0].1));
            let expected: Vec<(u64, f32)> = unfiltered
                .into_iter()
                .filter(|(key, _)| only.contains(*key))
                .take(10)
                .collect();
            let scanned = vectors.search_with(query, 10, Some(&only), true).unwrap();
            let keys: Vec<u64> = scanned.iter().map(|(key, _)| *key).collect();
            let want: Vec<u64> = expected.iter().map(|(key, _)| *key).collect();
            assert_eq!(keys, want, "query {key}");
            for ((_, got), (_, want)) in scanned.iter().zip(&expected) {
                assert!((got - want).abs() < 1e-5, "{got} vs {want}");
            }

            let walked = vectors.search_with(query, 10, Some(&only), false).unwrap();
            assert_eq!(walked.len(), 10);
            assert!(walked.iter().all(|(key, _)| only.contains(*key)));
            found_by_graph += walked.iter().filter(|(key, _)| want.contains(key)).count();
        }
        // The graph is approximate: about one run in twenty misses a key or two of 200.
        assert!(
            found_by_graph >= 180,
            "filtered graph search found {found_by_graph} of 200"
        );
        // Asking for more than the filter allows returns all of it.
        let all = vectors
            .search_with(&vector(1), 100, Some(&only), true)
            .unwrap();
        assert_eq!(all.len(), 60);
        assert!(vectors
            .search(&vector(1), 10, Some(&KeyRanges::new([])))
            .unwrap()
            .is_empty());
        // A key the file does not hold means the database and vector file disagree.
        let err = vectors
            .search(
                &vector(1),
                10,
                Some(&KeyRanges::new(std::iter::once(400..402))),
            )
            .unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn empty_index_saves_views_and_finds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.usearch");
        Vectors::create(&path, 8, &VectorOptions::DEFAULT, 0)
            .unwrap()
            .save()
            .unwrap();
        let viewed = Vectors::open(&path, 8, &VectorOptions::DEFAULT, 0).unwrap();
        assert!(viewed.search(&unit(8, 0), 10, None).unwrap().is_empty());
    }

    #[test]
    fn mismatched_or_damaged_files_are_reported_as_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.usearch");
        let vectors = Vectors::create(&path, 8, &VectorOptions::DEFAULT, 1).unwrap();
        vectors.add_batch(&[(1, unit(8, 0))]).unwrap();
        vectors.save().unwrap();

        let err = Vectors::open(&path, 8, &VectorOptions::DEFAULT, 2)
            .err()
            .unwrap();
        assert!(err.to_string().contains("holds 1 vectors"), "{err}");
        let err = Vectors::open(&path, 4, &VectorOptions::DEFAULT, 1)
            .err()
            .unwrap();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");

        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = Vectors::open(&path, 8, &VectorOptions::DEFAULT, 1)
            .err()
            .unwrap();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
        assert!(err.needs_rebuild(), "{err}");
    }

    proptest::proptest! {
        /// The key sets of `--in`: whatever ranges are given (overlapping, touching, empty,
        /// out of order), membership and size are those of their union.
        #[test]
        fn key_ranges_are_the_union_of_their_ranges(
            ranges in proptest::collection::vec((0u64..200, 0u64..40), 0..12),
            probes in proptest::collection::vec(0u64..260, 0..50),
        ) {
            let ranges: Vec<Range<u64>> = ranges.into_iter().map(|(start, len)| start..start + len).collect();
            let set = KeyRanges::new(ranges.clone());
            let union: std::collections::BTreeSet<u64> = ranges.iter().flat_map(Range::clone).collect();
            proptest::prop_assert_eq!(set.len(), union.len());
            for key in probes.into_iter().chain(union.iter().copied()) {
                proptest::prop_assert_eq!(set.contains(key), union.contains(&key), "key {}", key);
            }
            proptest::prop_assert_eq!(set.keys().collect::<Vec<_>>(), union.into_iter().collect::<Vec<_>>());
        }
    }
}
