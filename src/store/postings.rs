//! Keyword search without scoring every match: each segment stores, per analysed term, the
//! passages that contain it with the term's count (delta-coded varints), the largest count
//! and the shortest passage among them; BM25 (SQLite FTS5's formula and constants) is
//! computed from statistics of the whole index, so a passage scores the same in whichever
//! segment it lies; and the top k are found by MaxScore: a passage that only has terms whose
//! upper bounds together cannot reach the k-th score so far is never scored.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// BM25's term-frequency saturation (FTS5's `k1`).
pub const K1: f64 = 1.2;
/// BM25's length normalisation (FTS5's `b`).
pub const B: f64 = 0.75;

/// BM25 inverse document frequency, as FTS5 computes it (never below 1e-6).
pub fn idf(passages: f64, frequency: f64) -> f64 {
    let idf = ((passages - frequency + 0.5) / (frequency + 0.5)).ln();
    if idf <= 0.0 {
        1e-6
    } else {
        idf
    }
}

/// One term's stored postings.
#[derive(Debug, Clone, PartialEq)]
pub struct PostingList {
    /// Passages containing the term (deleted ones included).
    pub passages: u32,
    pub max_tf: u32,
    pub min_length: u32,
    /// `(passage id delta, count)` pairs as LEB128 varints, ids ascending.
    pub bytes: Vec<u8>,
}

impl PostingList {
    pub fn empty() -> PostingList {
        PostingList {
            passages: 0,
            max_tf: 0,
            min_length: u32::MAX,
            bytes: Vec::new(),
        }
    }

    /// Appends passage `id`, which holds the term `count` times among its `length` terms;
    /// `previous` is the last id appended (0 before the first), below `id`.
    pub fn push(&mut self, previous: u32, id: u32, count: u32, length: u32) {
        push_varint(&mut self.bytes, id - previous);
        push_varint(&mut self.bytes, count);
        self.passages += 1;
        self.max_tf = self.max_tf.max(count);
        self.min_length = self.min_length.min(length);
    }

    /// Passage ids and counts; `None` if the bytes are damaged.
    pub fn decode(&self) -> Option<(Vec<u32>, Vec<u32>)> {
        let n = self.passages as usize;
        let mut ids = Vec::with_capacity(n);
        let mut counts = Vec::with_capacity(n);
        let mut at = 0;
        let mut last = 0u32;
        while at < self.bytes.len() {
            let delta = varint(&self.bytes, &mut at)?;
            let count = varint(&self.bytes, &mut at)?;
            last = last.checked_add(delta)?;
            if (!ids.is_empty() && delta == 0) || count == 0 {
                return None;
            }
            ids.push(last);
            counts.push(count);
        }
        (ids.len() == n).then_some((ids, counts))
    }
}

fn varint(bytes: &[u8], at: &mut usize) -> Option<u32> {
    let mut value = 0u64;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return u32::try_from(value).ok();
        }
    }
    None
}

fn push_varint(bytes: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

/// Collects postings passage by passage (ids ascending).
#[derive(Default)]
pub struct PostingsWriter {
    terms: HashMap<String, PostingList>,
    last: HashMap<String, u32>,
    lengths: Vec<u32>,
}

impl PostingsWriter {
    /// Adds passage `id`, whose analysed terms are `terms` separated by whitespace.
    pub fn add(&mut self, id: u32, terms: &str) {
        let mut counts: HashMap<&str, u32> = HashMap::new();
        let mut length = 0u32;
        for term in terms.split_whitespace() {
            *counts.entry(term).or_default() += 1;
            length += 1;
        }
        if self.lengths.len() <= id as usize {
            self.lengths.resize(id as usize + 1, 0);
        }
        self.lengths[id as usize] = length;
        for (term, count) in counts {
            let last = self.last.entry(term.to_string()).or_insert(0);
            let list = self
                .terms
                .entry(term.to_string())
                .or_insert_with(PostingList::empty);
            list.push(*last, id, count, length);
            *last = id;
        }
    }

    /// Every term's postings, and each passage's length indexed by id, for passage ids
    /// below `end`.
    pub fn finish(mut self, end: u32) -> (HashMap<String, PostingList>, Vec<u32>) {
        self.lengths
            .resize((end as usize).max(self.lengths.len()), 0);
        (self.terms, self.lengths)
    }
}

/// What BM25 needs to know about the whole index.
#[derive(Debug, Clone, Copy)]
pub struct Collection {
    /// Live passages.
    pub passages: f64,
    /// Their mean number of terms.
    pub mean_length: f64,
}

/// One query term's postings in one segment, with its weight over the whole index.
pub struct TermPostings {
    /// The term's position among the query's terms: scores add up in this order.
    pub slot: usize,
    pub idf: f64,
    pub ids: Vec<u32>,
    pub counts: Vec<u32>,
    pub max_tf: u32,
    pub min_length: u32,
}

impl Collection {
    fn norm(&self, length: u32) -> f64 {
        let mean = if self.mean_length > 0.0 {
            self.mean_length
        } else {
            1.0
        };
        K1 * (1.0 - B + B * f64::from(length) / mean)
    }

    fn term_score(&self, idf: f64, count: u32, norm: f64) -> f64 {
        let tf = f64::from(count);
        idf * (tf * (K1 + 1.0)) / (tf + norm)
    }
}

struct Cursor {
    term: TermPostings,
    bound: f64,
    at: usize,
}

impl Cursor {
    fn current(&self) -> Option<u32> {
        self.term.ids.get(self.at).copied()
    }

    /// Moves to the first posting at or after `id`.
    fn seek(&mut self, id: u32) {
        let rest = &self.term.ids[self.at..];
        self.at += rest.partition_point(|&x| x < id);
    }
}

/// A scored passage in the heap: the worst on top (lower score, then higher id).
#[derive(PartialEq)]
struct Worst(f64, u32);

impl Eq for Worst {}

impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The `k` passages of one segment with the best BM25 score over `terms` (ties: lower id
/// first), among those `keep` accepts, with their scores, best first. `lengths` holds each
/// passage's number of terms by id. Exact: MaxScore skips only passages that provably
/// cannot enter the top `k`.
pub fn top_k(
    terms: Vec<TermPostings>,
    collection: Collection,
    lengths: &[u32],
    k: usize,
    keep: impl Fn(u32) -> bool,
) -> Vec<(u32, f64)> {
    if k == 0 || terms.is_empty() {
        return Vec::new();
    }
    let slots = terms.iter().map(|t| t.slot + 1).max().unwrap_or(0);
    let mut cursors: Vec<Cursor> = terms
        .into_iter()
        .map(|term| {
            let norm = collection.norm(term.min_length);
            // Increasing in the count and decreasing in the length; a hair above, so that
            // sums in another order never fall below the exact score.
            let bound = collection.term_score(term.idf, term.max_tf, norm) * (1.0 + 1e-9);
            Cursor { term, bound, at: 0 }
        })
        .collect();
    cursors.sort_by(|a, b| a.bound.total_cmp(&b.bound));
    let mut below = Vec::with_capacity(cursors.len());
    let mut sum = 0.0;
    for cursor in &cursors {
        sum += cursor.bound;
        below.push(sum);
    }
    let mut heap: BinaryHeap<Worst> = BinaryHeap::with_capacity(k + 1);
    let mut threshold = f64::NEG_INFINITY;
    // Lists before `essential` together cannot reach the threshold: a passage must be in
    // one of the others to be worth scoring.
    let mut essential = 0;
    let mut contributions = vec![0.0f64; slots];
    while let Some(id) = cursors[essential..]
        .iter()
        .filter_map(Cursor::current)
        .min()
    {
        let length = lengths.get(id as usize).copied().unwrap_or(0);
        let norm = collection.norm(length);
        let mut partial = 0.0;
        for cursor in &mut cursors[essential..] {
            if cursor.current() == Some(id) {
                let score =
                    collection.term_score(cursor.term.idf, cursor.term.counts[cursor.at], norm);
                contributions[cursor.term.slot] = score;
                partial += score;
                cursor.at += 1;
            }
        }
        let mut pruned = !keep(id);
        if !pruned {
            for i in (0..essential).rev() {
                if partial + below[i] < threshold {
                    pruned = true;
                    break;
                }
                let cursor = &mut cursors[i];
                cursor.seek(id);
                if cursor.current() == Some(id) {
                    let score =
                        collection.term_score(cursor.term.idf, cursor.term.counts[cursor.at], norm);
                    contributions[cursor.term.slot] = score;
                    partial += score;
                }
            }
        }
        if !pruned {
            // The exact score, summed in the query's term order whatever the lists' order.
            let score: f64 = contributions.iter().sum();
            let full = heap.len() >= k;
            let better = heap
                .peek()
                .is_none_or(|worst| Worst(score, id).cmp(worst) == Ordering::Less);
            if !full || better {
                heap.push(Worst(score, id));
                if heap.len() > k {
                    heap.pop();
                }
                if heap.len() >= k {
                    threshold = heap.peek().map_or(threshold, |w| w.0);
                    while essential < cursors.len() && below[essential] < threshold {
                        essential += 1;
                    }
                }
            }
        }
        contributions.iter_mut().for_each(|c| *c = 0.0);
        if essential >= cursors.len() {
            break;
        }
    }
    let mut best: Vec<(u32, f64)> = heap.into_iter().map(|w| (w.1, w.0)).collect();
    best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    best
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn build(passages: &[&str]) -> (HashMap<String, PostingList>, Vec<u32>) {
        let mut writer = PostingsWriter::default();
        for (i, terms) in passages.iter().enumerate() {
            writer.add(i as u32 + 1, terms);
        }
        writer.finish(passages.len() as u32 + 1)
    }

    fn query(
        lists: &HashMap<String, PostingList>,
        collection: Collection,
        terms: &[&str],
    ) -> Vec<TermPostings> {
        terms
            .iter()
            .enumerate()
            .filter_map(|(slot, t)| {
                let list = lists.get(*t)?;
                let (ids, counts) = list.decode()?;
                Some(TermPostings {
                    slot,
                    idf: idf(collection.passages, f64::from(list.passages)),
                    ids,
                    counts,
                    max_tf: list.max_tf,
                    min_length: list.min_length,
                })
            })
            .collect()
    }

    /// Scores every passage: what `top_k` must agree with.
    fn exhaustive(
        passages: &[&str],
        lists: &HashMap<String, PostingList>,
        collection: Collection,
        terms: &[&str],
        k: usize,
    ) -> Vec<(u32, f64)> {
        let mut all = Vec::new();
        for (i, text) in passages.iter().enumerate() {
            let words: Vec<&str> = text.split_whitespace().collect();
            let norm = collection.norm(words.len() as u32);
            let mut score = 0.0;
            let mut any = false;
            for term in terms {
                let count = words.iter().filter(|w| *w == term).count() as u32;
                if count > 0 {
                    any = true;
                    let df = f64::from(lists[*term].passages);
                    score += collection.term_score(idf(collection.passages, df), count, norm);
                }
            }
            if any {
                all.push((i as u32 + 1, score));
            }
        }
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }

    #[test]
    fn postings_round_trip_and_damage_is_refused() {
        let (lists, lengths) = build(&["a b a", "b c", "a"]);
        assert_eq!(lengths, [0, 3, 2, 1]);
        assert_eq!(lists["a"].decode().unwrap(), (vec![1, 3], vec![2, 1]));
        assert_eq!((lists["a"].max_tf, lists["a"].min_length), (2, 1));
        assert_eq!(lists["b"].decode().unwrap(), (vec![1, 2], vec![1, 1]));
        let mut broken = lists["a"].clone();
        broken.bytes.pop();
        assert!(broken.decode().is_none());
        broken.bytes.push(0x80);
        assert!(broken.decode().is_none());
    }

    #[test]
    fn scores_follow_fts5_bm25() {
        // Two passages; FTS5 gives "kot" in "kot ma kota kot" (tf 2, 4 terms, avgdl 3,
        // N 2, n 1): ln(1.5/1.5)≤0 → 1e-6 … so use three passages to get a real idf.
        let passages = ["kot ma kot kota", "pies ma", "ryba"];
        let (lists, lengths) = build(&passages);
        let collection = Collection {
            passages: 3.0,
            mean_length: 7.0 / 3.0,
        };
        let found = top_k(
            query(&lists, collection, &["kot"]),
            collection,
            &lengths,
            5,
            |_| true,
        );
        let idf = (2.5f64 / 1.5).ln();
        let norm = K1 * (1.0 - B + B * 4.0 / (7.0 / 3.0));
        let expected = idf * (2.0 * (K1 + 1.0)) / (2.0 + norm);
        assert_eq!(found.len(), 1);
        assert!((found[0].1 - expected).abs() < 1e-12, "{found:?}");
    }

    proptest! {
        /// MaxScore finds exactly what scoring every passage finds.
        #[test]
        fn top_k_equals_exhaustive_scoring(
            passages in proptest::collection::vec(
                proptest::collection::vec(0usize..12, 1..9), 1..60),
            terms in proptest::collection::vec(0usize..14, 1..5),
            k in 1usize..8,
            skip in 0u32..5,
        ) {
            let words = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n"];
            let texts: Vec<String> = passages
                .iter()
                .map(|p| p.iter().map(|&w| words[w]).collect::<Vec<_>>().join(" "))
                .collect();
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            let (lists, lengths) = build(&texts);
            let total: u32 = lengths.iter().sum();
            let collection = Collection {
                passages: texts.len() as f64,
                mean_length: f64::from(total) / texts.len() as f64,
            };
            let mut unique: Vec<&str> = terms.iter().map(|&t| words[t]).collect();
            unique.sort_unstable();
            unique.dedup();
            let keep = |id: u32| skip == 0 || id % 5 != skip;
            let found = top_k(query(&lists, collection, &unique), collection, &lengths, k, keep);
            let mut expected = exhaustive(&texts, &lists, collection, &unique, usize::MAX);
            expected.retain(|(id, _)| keep(*id));
            expected.truncate(k);
            prop_assert_eq!(found.len(), expected.len());
            for (f, e) in found.iter().zip(&expected) {
                prop_assert!((f.1 - e.1).abs() < 1e-9, "{:?} vs {:?}", found, expected);
            }
            // Ids agree wherever the scores are not tied.
            let ids = |v: &[(u32, f64)]| v.iter().map(|x| x.0).collect::<Vec<_>>();
            if expected.windows(2).all(|w| (w[0].1 - w[1].1).abs() > 1e-9) {
                prop_assert_eq!(ids(&found), ids(&expected));
            }
        }
    }
}
