//! Fusing the dense and keyword rankings into one: reciprocal rank fusion or a convex
//! combination of scores, with the keyword side weighted per question by signals that need
//! no judgements: how much of the question the corpus's vocabulary covers, how far the best
//! keyword hit stands out from the tenth, and how much the two top tens agree. The default
//! was chosen on six sets and both models and checked by leave-one-corpus-out evaluation
//! (`bench/fusion_grid.py`, README).

use std::collections::{HashMap, HashSet};

use super::Result;
use crate::store::Index;

/// How two rankings are combined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Reciprocal rank fusion: `1/(k + dense rank) + w/(k + keyword rank)`; ranks only.
    Rrf { k: f32 },
    /// `(1 − w)·cosine + w·bm25/(bm25 + half)`: the keyword part saturates at 1, reaching ½
    /// at a BM25 score of `half`.
    Convex { half: f32 },
}

/// A fusion setting. The keyword weight `w` is scaled, per question, by three signals in
/// 0..=1, each raised to its power (a power of 0 turns a signal off):
/// - coverage: a question whose words the corpus does not contain (an English question
///   over Polish text) leans on the dense ranking alone;
/// - standout: `(bm25₁ − bm25₁₀)/bm25₁` (the last hit stands in for a tenth that is
///   missing; a lone hit stands out fully); when the best keyword hit is no better than the
///   tenth, the words are shared by many passages (one product's help pages, one company's
///   FAQ) and say little about which one is meant;
/// - agreement: the share of the dense top ten that is also in the keyword top ten.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fusion {
    pub method: Method,
    pub lexical_weight: f32,
    pub coverage_power: f32,
    pub standout_power: f32,
    pub agreement_power: f32,
}

/// How many top results the standout and agreement signals look at.
const SIGNAL_DEPTH: usize = 10;

/// A question's signals (see [`Fusion`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signals {
    pub coverage: f32,
    pub standout: f32,
    pub agreement: f32,
}

impl Signals {
    /// The standout and agreement of two rankings (each best first), beside `coverage`.
    pub fn of(dense: &[(u64, f32)], lexical: &[(u64, f32)], coverage: f32) -> Signals {
        // A lone keyword hit stands out from everything (a rare name found once); with no
        // hit, or a best score of 0, there is nothing to stand out.
        let standout = match lexical {
            [] => 0.0,
            [(_, top)] => f32::from(*top > 0.0),
            [(_, top), ..] if *top > 0.0 => {
                let last = lexical[lexical.len().min(SIGNAL_DEPTH) - 1].1;
                ((top - last) / top).clamp(0.0, 1.0)
            }
            _ => 0.0,
        };
        let top_lexical: HashSet<u64> = lexical
            .iter()
            .take(SIGNAL_DEPTH)
            .map(|(id, _)| *id)
            .collect();
        let shared = dense
            .iter()
            .take(SIGNAL_DEPTH)
            .filter(|(id, _)| top_lexical.contains(id))
            .count();
        Signals {
            coverage: coverage.clamp(0.0, 1.0),
            standout,
            agreement: shared as f32 / SIGNAL_DEPTH as f32,
        }
    }
}

impl Fusion {
    /// The setting `ask --mode hybrid` uses, `convex:10:0.2:1:1`: of the settings within
    /// 0.002 of the best single mode on every one of six sets under both models, the best on
    /// average; leave-one-corpus-out evaluation shows it holds on sets it was not chosen on
    /// (README, `bench/fusion_grid.py`).
    pub const DEFAULT: Fusion = Fusion {
        method: Method::Convex { half: 10.0 },
        lexical_weight: 0.2,
        coverage_power: 1.0,
        standout_power: 1.0,
        agreement_power: 0.0,
    };
}

impl std::fmt::Display for Fusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.method {
            Method::Rrf { k } => write!(f, "rrf:{k}"),
            Method::Convex { half } => write!(f, "convex:{half}"),
        }?;
        write!(f, ":{}:{}", self.lexical_weight, self.coverage_power)?;
        if self.standout_power != 0.0 || self.agreement_power != 0.0 {
            write!(f, ":{}", self.standout_power)?;
        }
        if self.agreement_power != 0.0 {
            write!(f, ":{}", self.agreement_power)?;
        }
        Ok(())
    }
}

const SPEC: &str = "expected rrf:K:WEIGHT:COVERAGE[:STANDOUT[:AGREEMENT]] \
                    or convex:HALF:WEIGHT:COVERAGE[:STANDOUT[:AGREEMENT]]";

impl std::str::FromStr for Fusion {
    type Err = String;

    /// `METHOD:PARAM:WEIGHT:COVERAGE[:STANDOUT[:AGREEMENT]]`, where METHOD is `rrf` (PARAM
    /// is k) or `convex` (PARAM is half) and the last three are the signals' powers; the
    /// missing ones are 0.
    fn from_str(spec: &str) -> std::result::Result<Self, Self::Err> {
        let parts: Vec<&str> = spec.split(':').collect();
        let number = |s: &str| match s.parse::<f32>() {
            Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
            _ => Err(format!("`{s}` is not a number ≥ 0 in `{spec}`")),
        };
        let (method, rest) = match parts.as_slice() {
            ["rrf", k, rest @ ..] => (Method::Rrf { k: number(k)? }, rest),
            ["convex", half, rest @ ..] => match number(half)? {
                // bm25/(bm25 + 0) is 0/0 for a passage without keywords.
                0.0 => return Err(format!("HALF must be above 0 in `{spec}`")),
                half => (Method::Convex { half }, rest),
            },
            _ => return Err(SPEC.into()),
        };
        if !(2..=4).contains(&rest.len()) {
            return Err(SPEC.into());
        }
        let power = |i: usize| rest.get(i).map_or(Ok(0.0), |s| number(s));
        Ok(Fusion {
            method,
            lexical_weight: number(rest[0])?,
            coverage_power: power(1)?,
            standout_power: power(2)?,
            agreement_power: power(3)?,
        })
    }
}

/// The share of the question's keyword weight (BM25 idf of its distinct terms) carried by
/// terms that occur in the index; unseen terms count with the highest idf. 0 for no terms.
pub fn coverage(index: &Index, terms: &[String]) -> Result<f32> {
    // Sorted, so that the sum below adds in the same order on every run.
    let mut distinct: Vec<String> = terms.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let frequencies = index.document_frequencies(&distinct)?;
    let n = index.manifest().passages as f32;
    let idf = |df: f32| (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
    let total: f32 = frequencies.iter().map(|&df| idf(df as f32)).sum();
    let seen: f32 = frequencies
        .iter()
        .filter(|&&df| df > 0)
        .map(|&df| idf(df as f32))
        .sum();
    Ok(if total > 0.0 { seen / total } else { 0.0 })
}

/// The keyword weight for a question with these signals: at most WEIGHT, and at most 1
/// for a convex combination (a share of the score).
pub fn lexical_weight(fusion: Fusion, signals: Signals) -> f32 {
    let weight = fusion.lexical_weight
        * signals.coverage.powf(fusion.coverage_power)
        * signals.standout.powf(fusion.standout_power)
        * signals.agreement.powf(fusion.agreement_power);
    match fusion.method {
        Method::Convex { .. } => weight.clamp(0.0, 1.0),
        Method::Rrf { .. } => weight.max(0.0),
    }
}

/// The fused ranking of `dense` and `lexical` (each `(id, score)` best first), best first;
/// ties keep the dense order, then the lower id. `coverage` is the question's (see above).
pub fn fuse(
    dense: &[(u64, f32)],
    lexical: &[(u64, f32)],
    fusion: Fusion,
    coverage: f32,
) -> Vec<(u64, f32)> {
    let weight = lexical_weight(fusion, Signals::of(dense, lexical, coverage));
    let mut fused: HashMap<u64, f32> = HashMap::with_capacity(dense.len() + lexical.len());
    let dense_rank: HashMap<u64, usize> = dense
        .iter()
        .enumerate()
        .map(|(r, (id, _))| (*id, r))
        .collect();
    match fusion.method {
        Method::Rrf { k } => {
            for (rank, (id, _)) in dense.iter().enumerate() {
                *fused.entry(*id).or_default() += 1.0 / (k + rank as f32 + 1.0);
            }
            for (rank, (id, _)) in lexical.iter().enumerate() {
                *fused.entry(*id).or_default() += weight / (k + rank as f32 + 1.0);
            }
        }
        Method::Convex { half } => {
            // A passage missing from the dense list scores as its last (deepest read) hit;
            // one missing from the keyword list has a BM25 of 0. Reading deeper (a larger k)
            // lowers that floor: tried at a fixed rank 50 instead, recall@100 fell by up to
            // 0.015 in `eval` (which reads 200 deep) for no gain in nDCG@10.
            let floor_dense = dense.last().map_or(0.0, |(_, s)| *s);
            let dense_score: HashMap<u64, f32> = dense.iter().copied().collect();
            let lexical_score: HashMap<u64, f32> = lexical.iter().copied().collect();
            for id in dense.iter().chain(lexical).map(|(id, _)| *id) {
                let cosine = dense_score.get(&id).copied().unwrap_or(floor_dense);
                let bm25 = lexical_score.get(&id).copied().unwrap_or(0.0).max(0.0);
                let squashed = bm25 / (bm25 + half);
                fused.insert(id, (1.0 - weight) * cosine + weight * squashed);
            }
        }
    }
    let mut out: Vec<(u64, f32)> = fused.into_iter().collect();
    out.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then_with(|| {
                dense_rank
                    .get(&a.0)
                    .unwrap_or(&usize::MAX)
                    .cmp(dense_rank.get(&b.0).unwrap_or(&usize::MAX))
            })
            .then_with(|| a.0.cmp(&b.0))
    });
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ids(list: &[(u64, f32)]) -> Vec<u64> {
        list.iter().map(|(id, _)| *id).collect()
    }

    /// A ranking: distinct ids, scores falling with rank (`top` for the first).
    fn ranking(ids: Vec<u64>, top: f32) -> Vec<(u64, f32)> {
        let len = ids.len() as f32;
        ids.into_iter()
            .enumerate()
            .map(|(r, id)| (id, top * (1.0 - r as f32 / (len + 1.0))))
            .collect()
    }

    /// Up to 30 distinct ids out of 1..60, in a random order.
    fn distinct_ids() -> impl Strategy<Value = Vec<u64>> {
        proptest::collection::hash_set(1u64..60, 0..30)
            .prop_map(|set| set.into_iter().collect::<Vec<_>>())
            .prop_shuffle()
    }

    fn fusions() -> impl Strategy<Value = Fusion> {
        let method = prop_oneof![
            (1.0f32..100.0).prop_map(|k| Method::Rrf { k }),
            (0.5f32..20.0).prop_map(|half| Method::Convex { half }),
        ];
        let power = || prop_oneof![Just(0.0f32), 0.0f32..5.0];
        (method, 0.0f32..1.0, power(), power(), power()).prop_map(
            |(method, weight, coverage, standout, agreement)| Fusion {
                method,
                lexical_weight: weight,
                coverage_power: coverage,
                standout_power: standout,
                agreement_power: agreement,
            },
        )
    }

    proptest! {
        #[test]
        fn every_id_from_either_list_appears_once_best_first(
            dense in distinct_ids(),
            lexical in distinct_ids(),
            fusion in fusions(),
            coverage in 0.0f32..1.0,
        ) {
            let fused = fuse(&ranking(dense.clone(), 0.9), &ranking(lexical.clone(), 30.0), fusion, coverage);
            let mut got = ids(&fused);
            got.sort();
            let mut expected: Vec<u64> = dense.into_iter().chain(lexical).collect();
            expected.sort();
            expected.dedup();
            prop_assert_eq!(got, expected);
            prop_assert!(fused.windows(2).all(|w| w[0].1 >= w[1].1), "{:?}", fused);
        }

        #[test]
        fn fusing_a_list_with_itself_gives_that_list(
            list in distinct_ids(),
            fusion in fusions(),
            coverage in 0.0f32..1.0,
        ) {
            let dense = ranking(list.clone(), 0.9);
            let lexical = ranking(list.clone(), 30.0);
            prop_assert_eq!(ids(&fuse(&dense, &lexical, fusion, coverage)), list);
        }

        #[test]
        fn a_result_first_in_both_lists_stays_first(
            dense in distinct_ids(),
            lexical in distinct_ids(),
            fusion in fusions(),
            coverage in 0.0f32..1.0,
        ) {
            let top = 999;
            let mut dense = ranking(dense, 0.9);
            let mut lexical = ranking(lexical, 30.0);
            dense.insert(0, (top, 1.0));
            lexical.insert(0, (top, 50.0));
            prop_assert_eq!(fuse(&dense, &lexical, fusion, coverage)[0].0, top);
        }

        /// A question whose words the corpus lacks keeps the dense order, with keyword-only
        /// hits after it; plain RRF (power 0) ignores coverage by design and is left out.
        #[test]
        fn no_coverage_means_the_dense_order(
            dense in distinct_ids(),
            lexical in distinct_ids(),
            fusion in fusions(),
        ) {
            prop_assume!(fusion.coverage_power > 0.01);
            let dense = ranking(dense, 0.9);
            let fused = ids(&fuse(&dense, &ranking(lexical, 30.0), fusion, 0.0));
            prop_assert_eq!(&fused[..dense.len()], &ids(&dense)[..]);
        }

        /// Keywords that every hit matches equally well (a flat keyword top ten) say nothing
        /// about which passage is meant: with the standout signal on, the dense order stands.
        #[test]
        fn a_flat_keyword_ranking_keeps_the_dense_order(
            dense in distinct_ids(),
            lexical in distinct_ids(),
            fusion in fusions(),
        ) {
            prop_assume!(fusion.standout_power > 0.01 && lexical.len() >= 2);
            let dense = ranking(dense, 0.9);
            let flat: Vec<(u64, f32)> = lexical.into_iter().map(|id| (id, 7.5)).collect();
            let fused = ids(&fuse(&dense, &flat, fusion, 1.0));
            prop_assert_eq!(&fused[..dense.len()], &ids(&dense)[..]);
        }

        #[test]
        fn the_keyword_weight_stays_in_bounds(
            dense in distinct_ids(),
            lexical in distinct_ids(),
            fusion in fusions(),
            coverage in 0.0f32..1.0,
        ) {
            let signals = Signals::of(&ranking(dense, 0.9), &ranking(lexical, 30.0), coverage);
            for x in [signals.coverage, signals.standout, signals.agreement] {
                prop_assert!((0.0..=1.0).contains(&x), "{:?}", signals);
            }
            let w = lexical_weight(fusion, signals);
            prop_assert!((0.0..=fusion.lexical_weight).contains(&w));
        }

        #[test]
        fn specs_round_trip(fusion in fusions()) {
            prop_assert_eq!(fusion.to_string().parse::<Fusion>(), Ok(fusion));
        }
    }

    #[test]
    fn keyword_only_results_can_enter_and_being_found_by_both_lifts() {
        let dense = vec![(1, 0.80), (2, 0.79), (3, 0.78)];
        let lexical = vec![(4, 30.0), (2, 5.0)];
        for fusion in [
            Fusion::DEFAULT,
            "rrf:10:0.5:0".parse().unwrap(),
            "convex:10:0.3:1".parse().unwrap(),
        ] {
            let fused = ids(&fuse(&dense, &lexical, fusion, 1.0));
            let at = |id| fused.iter().position(|&x| x == id).unwrap();
            assert!(fused.contains(&4), "keyword-only hits are kept: {fusion:?}");
            assert!(
                at(2) < at(1),
                "found by both beats a slightly closer dense-only hit: {fusion:?}"
            );
        }
        let fused = ids(&fuse(&dense, &lexical, Fusion::DEFAULT, 1.0));
        assert!(
            fused[..3].contains(&4),
            "with the default, a strong keyword hit reaches the top: {fused:?}"
        );
        let fused = ids(&fuse(&dense, &[(4, 30.0)], Fusion::DEFAULT, 1.0));
        assert_eq!(
            fused[0], 4,
            "so does the only passage with a rare word: {fused:?}"
        );
    }

    #[test]
    fn signals_read_the_top_ten() {
        let dense: Vec<(u64, f32)> = (1..=20).map(|id| (id, 1.0 - id as f32 / 100.0)).collect();
        // Keyword top ten: 5 of the dense top ten (2, 4, 6, 8, 10) and 5 others; scores fall
        // from 20 to 5 at the tenth, then further.
        let lexical: Vec<(u64, f32)> = [2, 40, 4, 41, 6, 42, 8, 43, 10, 44, 1, 3]
            .iter()
            .zip([
                20.0, 18.0, 16.0, 14.0, 12.0, 10.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0,
            ])
            .map(|(&id, s)| (id, s))
            .collect();
        let signals = Signals::of(&dense, &lexical, 0.5);
        assert_eq!(signals.coverage, 0.5);
        assert!((signals.standout - 0.75).abs() < 1e-6, "{signals:?}");
        assert!((signals.agreement - 0.5).abs() < 1e-6, "{signals:?}");
        let none = Signals::of(&dense, &[], 1.0);
        assert_eq!((none.standout, none.agreement), (0.0, 0.0));
        let lone = Signals::of(&dense, &[(99, 3.5)], 1.0);
        assert_eq!(lone.standout, 1.0);
        // Fewer than ten hits: the last stands in for the tenth.
        let few = Signals::of(&dense, &[(2, 8.0), (40, 6.0), (41, 2.0)], 1.0);
        assert!((few.standout - 0.75).abs() < 1e-6, "{few:?}");
        assert!((few.agreement - 0.1).abs() < 1e-6, "{few:?}");
        let fusion: Fusion = "convex:5:0.4:1:1:1".parse().unwrap();
        assert!((lexical_weight(fusion, signals) - 0.4 * 0.5 * 0.75 * 0.5).abs() < 1e-6);
    }

    #[test]
    fn short_specs_mean_signals_off_and_print_back_short() {
        let fusion: Fusion = "convex:5:0.3:3".parse().unwrap();
        assert_eq!((fusion.standout_power, fusion.agreement_power), (0.0, 0.0));
        assert_eq!(fusion.to_string(), "convex:5:0.3:3");
        let fusion: Fusion = "rrf:60:1:1:2".parse().unwrap();
        assert_eq!(fusion.to_string(), "rrf:60:1:1:2");
    }

    #[test]
    fn malformed_specs_are_refused() {
        for spec in [
            "rrf:60:1",
            "convex:x:0.3:3",
            "bm25:1:1:1",
            "",
            "convex:5:0.3:3:1:1:1",
            "convex:5:-0.3:3",
            "convex:5:0.3:NaN",
            "convex:0:0.3:1",
        ] {
            assert!(spec.parse::<Fusion>().is_err(), "{spec}");
        }
    }
}
