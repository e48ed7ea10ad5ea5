//! Reading a published index: the manifest names the segments, each opened read-only (its
//! passage database, its memory-mapped vector file, its deletions). A search asks every
//! segment and merges what they found; keyword scores use statistics of the whole index, so
//! a passage scores the same whichever segment holds it. Readers take no lock; a build
//! running meanwhile never changes files a reader has open.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::layout;
use super::postings::{self, Collection};
use super::segment::{split_id, Segment};
use super::{DocumentInfo, Error, Manifest, NewPassage, PassageMatch, StoredPassage, StoredWindow};
use crate::vector;

/// A read-only open index.
///
/// `Send` but not `Sync` (it owns SQLite connections): share it between threads behind a
/// `Mutex`, or open one per thread.
pub struct Index {
    dir: PathBuf,
    manifest: Manifest,
    segments: Vec<Segment>,
    /// Segment number → position in `segments`.
    by_number: HashMap<u64, usize>,
    /// Document → position in `segments` of the segment holding it.
    by_document: HashMap<String, usize>,
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
            // A build may publish a merge and delete the segments merged between our
            // reading the manifest and opening them; the manifest then names newer ones.
            match Manifest::read(dir).ok().flatten() {
                Some(newer) if retries > 0 && newer.generation != generation => {
                    retries -= 1;
                    manifest = newer;
                }
                _ => return Err(err),
            }
        }
    }

    /// Opens the segments `manifest` names, and no others: a server keeps several readers
    /// of one version of the index, which must not mix with a newer one published meanwhile.
    pub fn open_generation(dir: &Path, manifest: Manifest) -> Result<Index, Error> {
        let segments = manifest
            .segments
            .iter()
            .map(|info| Segment::open(dir, info, &manifest))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Index::assemble(dir, manifest, segments))
    }

    fn assemble(dir: &Path, manifest: Manifest, segments: Vec<Segment>) -> Index {
        let by_number = segments
            .iter()
            .enumerate()
            .map(|(i, s)| (s.number, i))
            .collect();
        let position: HashMap<&str, usize> = segments
            .iter()
            .enumerate()
            .map(|(i, s)| (s.info.name.as_str(), i))
            .collect();
        let by_document = manifest
            .documents
            .iter()
            .filter_map(|d| Some((d.path.clone(), *position.get(d.segment.as_str())?)))
            .collect();
        Index {
            dir: dir.to_path_buf(),
            manifest,
            segments,
            by_number,
            by_document,
        }
    }

    /// Another reader of this very version of the index: its segments opened again, without
    /// the checks they passed on opening (a segment's files never change); a vector file
    /// found damaged then stays unmapped.
    pub fn reopen(&self) -> Result<Index, Error> {
        let segments = self
            .segments
            .iter()
            .map(|s| s.reopen(&self.manifest))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Index::assemble(&self.dir, self.manifest.clone(), segments))
    }

    /// Overrides the candidate list size of graph searches (HNSW `ef`) in every segment,
    /// for measuring recall against speed.
    pub fn set_search_expansion(&mut self, expansion: usize) {
        for segment in &mut self.segments {
            segment.set_search_expansion(expansion);
        }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The index directory this was opened from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many searched passages contain each of `terms` (0 for terms never seen).
    pub fn document_frequencies(&self, terms: &[String]) -> Result<Vec<u64>, Error> {
        terms
            .iter()
            .map(|term| {
                self.segments
                    .iter()
                    .map(|s| s.document_frequency(term))
                    .sum::<Result<u64, Error>>()
            })
            .collect()
    }

    /// `only_docs` by the segment holding each, as positions in `segments`; `None` for all.
    fn by_segment<'d>(
        &self,
        only_docs: Option<&'d [String]>,
    ) -> Result<Option<HashMap<usize, Vec<&'d str>>>, Error> {
        let Some(docs) = only_docs else {
            return Ok(None);
        };
        let mut grouped: HashMap<usize, Vec<&str>> = HashMap::new();
        for doc in docs {
            let segment = self
                .by_document
                .get(doc)
                .ok_or_else(|| Error::UnknownDocument(doc.clone()))?;
            grouped.entry(*segment).or_default().push(doc);
        }
        Ok(Some(grouped))
    }

    /// Each segment to search, with the documents to keep to in it.
    fn targets<'a>(
        &'a self,
        grouped: &'a Option<HashMap<usize, Vec<&'a str>>>,
    ) -> impl Iterator<Item = (&'a Segment, Option<&'a [&'a str]>)> + 'a {
        self.segments
            .iter()
            .enumerate()
            .filter_map(move |(i, segment)| match grouped {
                None => Some((segment, None)),
                Some(grouped) => grouped.get(&i).map(|docs| (segment, Some(docs.as_slice()))),
            })
    }

    /// The `k` passages with the best BM25 score for any of the analysed `terms` (higher
    /// is better), optionally only from `only_docs`; passages matching no term are absent.
    /// Ties are ordered by document and paragraph.
    pub fn lexical_search(
        &self,
        terms: &[String],
        k: usize,
        only_docs: Option<&[String]>,
    ) -> Result<Vec<(u64, f32)>, Error> {
        let mut unique: Vec<&str> = terms.iter().map(String::as_str).collect();
        unique.sort_unstable();
        unique.dedup();
        if unique.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let grouped = self.by_segment(only_docs)?;
        let passages: u64 = self
            .segments
            .iter()
            .map(Segment::live_passages)
            .sum::<Result<u64, Error>>()?;
        let length: u64 = self
            .segments
            .iter()
            .map(Segment::live_length)
            .sum::<Result<u64, Error>>()?;
        let collection = Collection {
            passages: passages as f64,
            mean_length: if passages == 0 {
                0.0
            } else {
                length as f64 / passages as f64
            },
        };
        let mut weighted = Vec::with_capacity(unique.len());
        for (slot, term) in unique.iter().enumerate() {
            let mut frequency = 0;
            for segment in &self.segments {
                frequency += segment.document_frequency(term)?;
            }
            if frequency > 0 {
                weighted.push((
                    slot,
                    *term,
                    postings::idf(collection.passages, frequency as f64),
                ));
            }
        }
        let mut found: Vec<(u64, f64)> = Vec::new();
        for (segment, docs) in self.targets(&grouped) {
            found.extend(segment.lexical(&weighted, collection, k, docs)?);
        }
        let mut found: Vec<(u64, f32)> = found.into_iter().map(|(id, s)| (id, s as f32)).collect();
        self.order(&mut found, |(_, score)| *score, |(id, _)| *id)?;
        found.truncate(k);
        Ok(found)
    }

    /// The `k` passages whose best window is most similar to `query`, highest first (ties:
    /// by document and paragraph), each with that window's cosine similarity and byte span.
    /// `query` need not be normalised.
    ///
    /// `only_docs` restricts the search to the windows of these documents (paths exactly as
    /// in `DocumentInfo::path`; a path not in the index is an error); `None` searches all.
    ///
    /// Exact while a segment's windows to compare are few enough to scan (about 40k at 384
    /// dimensions), approximate (HNSW) above that.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        only_docs: Option<&[String]>,
    ) -> Result<Vec<PassageMatch>, Error> {
        self.dense(query, k, only_docs, false)
    }

    /// `search` by comparing the query with every window: what the approximate search's
    /// recall is measured against (`akapit bench-scale`).
    pub fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<PassageMatch>, Error> {
        self.dense(query, k, None, true)
    }

    fn dense(
        &self,
        query: &[f32],
        k: usize,
        only_docs: Option<&[String]>,
        exact: bool,
    ) -> Result<Vec<PassageMatch>, Error> {
        self.check_query(query)?;
        let grouped = self.by_segment(only_docs)?;
        let mut found = Vec::new();
        for (segment, docs) in self.targets(&grouped) {
            found.extend(segment.dense(query, k, docs, exact)?);
        }
        self.order(&mut found, |m| m.score, |m| m.id)?;
        found.truncate(k);
        Ok(found)
    }

    /// Sorts best first; equal scores by document and paragraph, which do not depend on
    /// which segment holds a passage (within one segment, ids already follow them).
    fn order<T>(
        &self,
        found: &mut [T],
        score: impl Fn(&T) -> f32,
        id: impl Fn(&T) -> u64,
    ) -> Result<(), Error> {
        found.sort_by(|a, b| score(b).total_cmp(&score(a)).then(id(a).cmp(&id(b))));
        let mut start = 0;
        while start < found.len() {
            let mut end = start + 1;
            while end < found.len() && score(&found[end]) == score(&found[start]) {
                end += 1;
            }
            let run = &mut found[start..end];
            let several_segments = run
                .iter()
                .any(|x| split_id(id(x)).0 != split_id(id(&run[0])).0);
            if several_segments {
                let mut keys = HashMap::new();
                for x in run.iter() {
                    let passage = self.passage(id(x))?;
                    keys.insert(id(x), (passage.doc, passage.paragraph));
                }
                run.sort_by(|a, b| keys[&id(a)].cmp(&keys[&id(b)]));
            }
            start = end;
        }
        Ok(())
    }

    fn check_query(&self, query: &[f32]) -> Result<(), Error> {
        let expected = self.manifest.model.dims;
        if query.len() != expected {
            return Err(Error::Dimensions {
                what: "the query vector".into(),
                expected,
                found: query.len(),
            });
        }
        Ok(())
    }

    fn segment_of(&self, id: u64) -> Option<(&Segment, u64)> {
        let (number, local) = split_id(id);
        let position = self.by_number.get(&number)?;
        Some((&self.segments[*position], local))
    }

    pub fn passage(&self, id: u64) -> Result<StoredPassage, Error> {
        let (segment, local) = self.segment_of(id).ok_or(Error::UnknownPassage(id))?;
        segment.passage(local)?.ok_or(Error::UnknownPassage(id))
    }

    /// The passages with the given ids (as the index's own searches return them), in the
    /// same order; an id the index does not hold means the index is damaged.
    pub fn passages(&self, ids: &[u64]) -> Result<Vec<StoredPassage>, Error> {
        ids.iter()
            .map(|&id| match self.passage(id) {
                Err(Error::UnknownPassage(_)) => Err(Error::Corrupt {
                    path: self.dir.join(layout::MANIFEST),
                    reason: format!("it has no passage {id}, which the index's own search found"),
                }),
                other => other,
            })
            .collect()
    }

    /// Reads every data file of every segment against the checksums in the manifest, and
    /// runs SQLite's own quick check of each passage database; the first damage found is
    /// the error. Takes time in proportion to the index's size (about a second per GB).
    pub fn verify(&self) -> Result<(), Error> {
        self.segments.iter().try_for_each(Segment::verify)
    }

    /// The passage's windows (byte spans of its text and their vectors, as stored), in
    /// text order.
    pub fn windows(&self, id: u64) -> Result<Vec<StoredWindow>, Error> {
        let (segment, local) = self.segment_of(id).ok_or(Error::UnknownPassage(id))?;
        let windows = segment.windows(local)?;
        // Every stored passage has a window, so none means no such passage.
        if windows.is_empty() {
            return Err(Error::UnknownPassage(id));
        }
        Ok(windows)
    }

    /// One vector for the whole passage: the L2-normalised mean of its window vectors.
    pub fn passage_vector(&self, id: u64) -> Result<Vec<f32>, Error> {
        let windows = self.windows(id)?;
        Ok(vector::mean_direction(
            windows.iter().map(|(_, v)| v.as_slice()),
            self.manifest.model.dims,
        ))
    }

    fn holder(&self, doc: &str) -> Option<&Segment> {
        self.by_document.get(doc).map(|&i| &self.segments[i])
    }

    /// The passage numbered `paragraph` in document `doc`, if there is one.
    pub fn find(&self, doc: &str, paragraph: u32) -> Result<Option<StoredPassage>, Error> {
        match self.holder(doc) {
            Some(segment) => segment.find(doc, paragraph),
            None => Ok(None),
        }
    }

    /// All passages of `doc` ordered by paragraph; empty if the document is not indexed.
    pub fn document_passages(&self, doc: &str) -> Result<Vec<StoredPassage>, Error> {
        match self.holder(doc) {
            Some(segment) => segment.document_passages(doc),
            None => Ok(Vec::new()),
        }
    }

    /// Bytes of the manifest plus every segment's files.
    pub fn size_on_disk(&self) -> Result<u64, Error> {
        let manifest = self.dir.join(layout::MANIFEST);
        let mut total = fs::metadata(&manifest)
            .map_err(Error::io("read metadata of", &manifest))?
            .len();
        for segment in &self.segments {
            total += segment.size_on_disk()?;
        }
        Ok(total)
    }

    /// A document as it was stored: its record and its passages with their windows and
    /// vectors, ready to be added to a new build once the caller has made the passages'
    /// keyword terms (they are not stored).
    pub fn document(&self, doc: &str) -> Result<Option<(DocumentInfo, Vec<NewPassage>)>, Error> {
        match self.holder(doc) {
            Some(segment) => segment.document(doc),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Range;

    use super::*;
    use crate::store::testutil::{
        build, build_documents, document, info, model, passages, unit, vector, DIMS,
    };
    use crate::store::FORMAT_VERSION;
    use crate::store::{Builder, DocumentInfo, NewPassage};

    fn open(dir: &Path) -> Index {
        Index::open(dir).unwrap().unwrap()
    }

    /// `(id, window)` of each match, and the scores separately (compared with a tolerance).
    /// Ids within the first segment (every index built here has one).
    fn ids_and_windows(matches: &[PassageMatch]) -> Vec<(u64, Range<usize>)> {
        matches
            .iter()
            .map(|m| (local(m.id), m.window.clone()))
            .collect()
    }

    fn local(id: u64) -> u64 {
        split_id(id).1
    }

    fn g(local: u64) -> u64 {
        crate::store::segment::global_id(1, local)
    }

    impl Index {
        fn set_exact_max_work(&mut self, work: usize) {
            for segment in &mut self.segments {
                segment.set_exact_max_work(work);
            }
        }
    }

    fn assert_scores(matches: &[PassageMatch], expected: &[f32]) {
        assert_eq!(matches.len(), expected.len(), "{matches:?}");
        for (m, want) in matches.iter().zip(expected) {
            assert!((m.score - want).abs() < 1e-5, "{matches:?} vs {expected:?}");
        }
    }

    /// Cosine similarity of `unit(axis, 0.0)` and `unit(axis, tilt)`.
    fn tilted(tilt: f32) -> f32 {
        1.0 / (1.0 + tilt * tilt).sqrt()
    }

    /// A document whose passages have the given terms (one window each).
    fn with_terms(path: &str, terms: &[&str]) -> (DocumentInfo, Vec<NewPassage>) {
        let mut docs = passages(
            &(0..terms.len() as u32)
                .map(|p| (p, vec![(0, 40, unit(p as usize, 0.0))]))
                .collect::<Vec<_>>(),
        );
        for (passage, terms) in docs.iter_mut().zip(terms) {
            passage.terms = terms.to_string();
        }
        (info(path), docs)
    }

    #[test]
    fn lexical_search_ranks_by_bm25_filters_and_survives_copies() {
        let dir = tempfile::tempdir().unwrap();
        build_documents(
            dir.path(),
            vec![
                with_terms(
                    "/a",
                    &[
                        "bialorus rosj integracj",
                        "kazachstan protest",
                        "bialorus bialorus nato",
                    ],
                ),
                with_terms("/b", &["bialorus wojsk", "\"quoted\" nato*"]),
            ],
        );
        let index = open(dir.path());
        let terms = |t: &str| t.split(' ').map(String::from).collect::<Vec<_>>();

        let ids = |found: &[(u64, f32)]| found.iter().map(|(id, _)| local(*id)).collect::<Vec<_>>();
        let found = index
            .lexical_search(&terms("kazachstan"), 10, None)
            .unwrap();
        assert_eq!(ids(&found), [2]);
        let found = index
            .lexical_search(&terms("bialorus nato"), 10, None)
            .unwrap();
        let mut matched = ids(&found);
        matched.sort();
        assert_eq!(
            matched,
            [1, 3, 4],
            "passages with either term (`nato*` is another term), not 2: {found:?}"
        );
        assert!(
            found.windows(2).all(|w| w[0].1 >= w[1].1),
            "scores descend: {found:?}"
        );
        assert!(found.iter().all(|(_, s)| *s > 0.0));

        let only_b = index
            .lexical_search(&terms("bialorus nato"), 10, Some(&["/b".to_string()]))
            .unwrap();
        let mut in_b = ids(&only_b);
        in_b.sort();
        assert_eq!(in_b, [4], "{only_b:?}");

        // Query text is never read as FTS5 syntax.
        for odd in ["\"", "nato*", "AND", "a:b", ")"] {
            index.lexical_search(&terms(odd), 5, None).unwrap();
        }
        assert!(index.lexical_search(&[], 5, None).unwrap().is_empty());
        assert_eq!(
            index
                .document_frequencies(&terms("bialorus kazachstan nieznane"))
                .unwrap(),
            [3, 1, 0]
        );

        // Documents kept by the next build keep their terms; deleted ones are not counted.
        let mut builder = Builder::create(dir.path(), model(), 1, "plain".into(), vec![]).unwrap();
        builder.keep_document("/a").unwrap();
        builder.commit().unwrap();
        let kept = open(dir.path());
        let found = kept.lexical_search(&terms("kazachstan"), 5, None).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            kept.document_frequencies(&terms("bialorus nato")).unwrap(),
            [2, 1]
        );
    }

    #[test]
    fn a_passage_is_found_once_by_its_best_window() {
        let dir = tempfile::tempdir().unwrap();
        let a = passages(&[
            (
                0,
                vec![
                    (0, 10, unit(0, 0.5)),
                    (10, 20, unit(1, 0.0)),
                    (20, 40, unit(0, 0.1)),
                ],
            ),
            (1, vec![(0, 40, unit(0, 0.3))]),
            (2, vec![(0, 5, unit(2, 0.0)), (5, 9, unit(0, 0.2))]),
        ]);
        // The same window as passage 1 of a.md: a tie, broken by the lower id.
        let b = passages(&[(0, vec![(3, 7, unit(0, 0.3))])]);
        build_documents(dir.path(), vec![(info("/d/a.md"), a), (info("/d/b.md"), b)]);
        let index = open(dir.path());

        let query = unit(0, 0.0);
        let found = index.search(&query, 10, None).unwrap();
        assert_eq!(
            ids_and_windows(&found),
            [(1, 20..40), (3, 5..9), (2, 0..40), (4, 3..7)]
        );
        assert_scores(
            &found,
            &[tilted(0.1), tilted(0.2), tilted(0.3), tilted(0.3)],
        );
        let two = index.search(&query, 2, None).unwrap();
        assert_eq!(two, found[..2]);

        // Another window of the same passage wins for another query.
        let found = index.search(&unit(1, 0.0), 1, None).unwrap();
        assert_eq!(ids_and_windows(&found), [(1, 10..20)]);
        assert_scores(&found, &[1.0]);
    }

    /// One passage whose 100 windows are all nearer the query than any other passage's:
    /// the first 4k + 16 nearest windows hold a single passage.
    fn crowded(dir: &Path) -> Index {
        let crowd = passages(&[(
            0,
            (0..100u32)
                .map(|i| (i % 40, 40, unit(0, 0.001 * (100 - i) as f32)))
                .collect(),
        )]);
        let others = passages(
            &(0..5u32)
                .map(|p| (p, vec![(0, 40, unit(0, 0.5 + 0.1 * p as f32))]))
                .collect::<Vec<_>>(),
        );
        // Nearer than the others, but filtered out below.
        let noise = passages(
            &(0..30u32)
                .map(|p| (p, vec![(0, 40, unit(0, 0.2 + 0.001 * p as f32))]))
                .collect::<Vec<_>>(),
        );
        build_documents(
            dir,
            vec![
                (info("/d/crowd.md"), crowd),
                (info("/d/others.md"), others),
                (info("/d/noise.md"), noise),
            ],
        );
        open(dir)
    }

    #[test]
    fn k_distinct_passages_come_back_when_one_passage_crowds_the_nearest_windows() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = crowded(dir.path());
        let only = ["/d/others.md".to_string(), "/d/crowd.md".to_string()];
        let query = unit(0, 0.0);
        let found = index.search(&query, 3, None).unwrap();
        assert_eq!(
            ids_and_windows(&found),
            [(1, 19..40), (7, 0..40), (8, 0..40)]
        );
        assert_scores(&found, &[tilted(0.001), tilted(0.2), tilted(0.201)]);
        let found = index.search(&query, 3, Some(&only)).unwrap();
        assert_eq!(
            ids_and_windows(&found),
            [(1, 19..40), (2, 0..40), (3, 0..40)]
        );
        assert_scores(&found, &[tilted(0.001), tilted(0.5), tilted(0.6)]);
        // More than there are: all of them.
        assert_eq!(index.search(&query, 10, Some(&only)).unwrap().len(), 6);

        // The graph is approximate (a node can be missed), so only what does not depend
        // on which nodes it reaches is checked.
        index.set_exact_max_work(0);
        for only in [None, Some(&only[..])] {
            let found = index.search(&query, 3, only).unwrap();
            let ids: std::collections::HashSet<u64> = found.iter().map(|m| local(m.id)).collect();
            assert_eq!(ids.len(), 3, "{found:?}");
            assert_eq!(local(found[0].id), 1, "{found:?}");
            if only.is_some() {
                assert!(ids.iter().all(|id| (1..=6).contains(id)), "{found:?}");
            }
        }
        assert_eq!(index.search(&query, 10, Some(&only)).unwrap().len(), 6);
    }

    #[test]
    fn only_docs_restricts_results_to_those_documents() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<String> = (0..10).map(|i| format!("/n/{i}.md")).collect();
        build_documents(
            dir.path(),
            paths.iter().map(|path| document(path, 6)).collect(),
        );
        let mut index = open(dir.path());
        let only = [paths[7].clone(), paths[2].clone()];
        let allowed: Vec<u64> = only
            .iter()
            .flat_map(|doc| index.document_passages(doc).unwrap())
            .map(|p| p.id)
            .collect();
        assert_eq!(allowed.len(), 12);

        let mut found_by_graph = 0;
        for seed in 1000..1010 {
            let query = vector(seed);
            let everything = index.search(&query, 60, None).unwrap();
            assert_eq!(everything.len(), 60);
            let expected: Vec<PassageMatch> = everything
                .into_iter()
                .filter(|m| allowed.contains(&m.id))
                .take(5)
                .collect();
            let found = index.search(&query, 5, Some(&only)).unwrap();
            assert_eq!(
                ids_and_windows(&found),
                ids_and_windows(&expected),
                "query {seed}"
            );
            let scores: Vec<f32> = expected.iter().map(|m| m.score).collect();
            assert_scores(&found, &scores);

            index.set_exact_max_work(0);
            let found = index.search(&query, 5, Some(&only)).unwrap();
            index.set_exact_max_work(usize::MAX);
            assert_eq!(found.len(), 5);
            assert!(found.iter().all(|m| allowed.contains(&m.id)), "{found:?}");
            let want = ids_and_windows(&expected);
            found_by_graph += ids_and_windows(&found)
                .iter()
                .filter(|hit| want.contains(hit))
                .count();
        }
        // Approximate, and the graph differs from run to run: 150 runs found 41 to 50 (two
        // below 45). A filter applied after the search, or a broken aggregation, finds at
        // most a handful.
        assert!(
            found_by_graph >= 35,
            "filtered graph search found {found_by_graph} of 50"
        );

        assert!(index.search(&vector(1), 5, Some(&[])).unwrap().is_empty());
        let unknown = [paths[0].clone(), "/n/gone.md".to_string()];
        let err = index.search(&vector(1), 5, Some(&unknown)).unwrap_err();
        assert!(matches!(err, Error::UnknownDocument(ref d) if d == "/n/gone.md"));
    }

    #[test]
    fn windows_read_back_in_text_order_and_average_into_the_passage_vector() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = vec![0.0; DIMS];
        a[0] = 3.0;
        let b = unit(1, 0.0);
        let c = unit(2, 0.0);
        let given = passages(&[(
            0,
            vec![(20, 40, a.clone()), (0, 10, b.clone()), (10, 20, c.clone())],
        )]);
        build_documents(dir.path(), vec![(info("/d/a.md"), given)]);
        let index = open(dir.path());

        assert_eq!(
            index.windows(g(1)).unwrap(),
            [(0..10, b), (10..20, c), (20..40, a)]
        );
        // Mean (1, 1/3, 1/3, 0, …), normalised: not the mean of the normalised windows.
        let norm = (1.0f32 + 2.0 / 9.0).sqrt();
        let expected = [1.0 / norm, 1.0 / 3.0 / norm, 1.0 / 3.0 / norm];
        let vector = index.passage_vector(g(1)).unwrap();
        assert_eq!(vector.len(), DIMS);
        for (got, want) in vector.iter().zip(expected.iter().chain(&[0.0; DIMS - 3])) {
            assert!((got - want).abs() < 1e-6, "{vector:?}");
        }
        assert!(matches!(
            index.passage_vector(2),
            Err(Error::UnknownPassage(2))
        ));
    }

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
        fs::create_dir(dir.path().join("seg-000001.tmp")).unwrap();
        assert!(Index::open(dir.path()).unwrap().is_none());
    }

    #[test]
    fn unusable_indexes_say_how_to_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &[("/notes/a.md", 2)]);
        let manifest_path = dir.path().join(layout::MANIFEST);
        let good = fs::read_to_string(&manifest_path).unwrap();

        let newer = good.replace(
            &format!("\"format_version\": {FORMAT_VERSION}"),
            "\"format_version\": 7",
        );
        assert_ne!(newer, good);
        fs::write(&manifest_path, newer).unwrap();
        let err = open_err(dir.path());
        assert!(
            matches!(
                err,
                Error::FormatVersion {
                    found: 7,
                    expected: FORMAT_VERSION,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.needs_rebuild(), "{err}");

        fs::write(&manifest_path, &good[..good.len() / 2]).unwrap();
        let err = open_err(dir.path());
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("manifest.json"), "{err}");
        assert!(err.needs_rebuild(), "{err}");

        fs::write(&manifest_path, &good).unwrap();
        let vectors = dir.path().join("seg-000001").join(layout::VECTORS);
        fs::write(&vectors, b"not a usearch file").unwrap();
        let err = open_err(dir.path());
        assert!(err.to_string().contains("vectors.usearch"), "{err}");
        assert!(err.needs_rebuild(), "{err}");

        fs::remove_dir_all(dir.path().join("seg-000001")).unwrap();
        let err = open_err(dir.path());
        assert!(err.to_string().contains("seg-000001"), "{err}");
        assert!(err.needs_rebuild(), "{err}");
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
        assert!(err.needs_rebuild());
        let err = err.to_string();
        assert!(
            err.contains("test/fake-8d") && err.contains("other/model"),
            "{err}"
        );
    }

    #[test]
    fn a_reopened_reader_answers_as_the_first_and_keeps_its_damage() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), &[("/notes/a.md", 6), ("/notes/b.md", 5)]);
        let first = open(dir.path());
        let again = first.reopen().unwrap();
        let query = vector(3);
        assert_eq!(
            first.search(&query, 5, None).unwrap(),
            again.search(&query, 5, None).unwrap()
        );
        assert_eq!(again.manifest().generation, first.manifest().generation);

        let path = dir.path().join("seg-000001").join(layout::VECTORS);
        let mut bytes = fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        let damaged = open(dir.path());
        assert!(damaged.search(&query, 5, None).is_err());
        assert!(damaged.reopen().unwrap().search(&query, 5, None).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(48))]
        /// Bytes of either data file changed anywhere (sizes kept, as a disk or a careless
        /// edit would): opening and searching either fail with an error or give results
        /// whose scores are numbers; never a panic, never a NaN.
        #[test]
        fn damaged_files_give_errors_or_finite_scores(
            vectors_file in proptest::prelude::any::<bool>(),
            flips in proptest::collection::vec((0.0f64..1.0, proptest::prelude::any::<u8>()), 1..24),
        ) {
            let dir = tempfile::tempdir().unwrap();
            build(dir.path(), &[("/notes/a.md", 6), ("/notes/b.md", 5)]);
            let name = if vectors_file { layout::VECTORS } else { layout::PASSAGES };
            let path = dir.path().join("seg-000001").join(name);
            let mut bytes = fs::read(&path).unwrap();
            let len = bytes.len();
            for (at, byte) in flips {
                bytes[((at * len as f64) as usize).min(len - 1)] = byte;
            }
            fs::write(&path, &bytes).unwrap();
            let Ok(Some(index)) = Index::open(dir.path()) else {
                return Ok(());
            };
            if let Ok(found) = index.search(&vector(3), 5, None) {
                proptest::prop_assert!(found.iter().all(|m| m.score.is_finite()), "{:?}", found);
                let _ = index.passages(&found.iter().map(|m| m.id).collect::<Vec<_>>());
            }
            if let Ok(found) = index.lexical_search(&["passage".to_string()], 5, None) {
                proptest::prop_assert!(found.iter().all(|(_, s)| s.is_finite()), "{:?}", found);
            }
            let _ = index.verify();
        }
    }
}
