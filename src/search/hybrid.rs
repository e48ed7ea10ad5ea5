//! Fusing the dense and keyword rankings into one: reciprocal rank fusion or a convex
//! combination of scores, with the keyword side weighted per question by how much of the
//! question the corpus's vocabulary covers. Tuned on the visible eval sets (README).

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

/// A fusion setting. The keyword weight `w` is scaled, per question, by the question's
/// keyword coverage raised to `coverage_power`: a question whose words the corpus does
/// not contain (an English question over Polish text) leans on the dense ranking alone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fusion {
    pub method: Method,
    pub lexical_weight: f32,
    pub coverage_power: f32,
}

impl Fusion {
    /// The setting `ask --mode hybrid` uses, tuned on the visible eval sets (README): the
    /// best of the grid in `bench/eval.sh` that is at least as good as dense on every set.
    pub const DEFAULT: Fusion = Fusion {
        method: Method::Convex { half: 5.0 },
        lexical_weight: 0.3,
        coverage_power: 3.0,
    };
}

impl std::fmt::Display for Fusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.method {
            Method::Rrf { k } => write!(f, "rrf:{k}"),
            Method::Convex { half } => write!(f, "convex:{half}"),
        }?;
        write!(f, ":{}:{}", self.lexical_weight, self.coverage_power)
    }
}

impl std::str::FromStr for Fusion {
    type Err = String;

    /// `rrf:K:WEIGHT:POWER` or `convex:HALF:WEIGHT:POWER`.
    fn from_str(spec: &str) -> std::result::Result<Self, Self::Err> {
        let parts: Vec<&str> = spec.split(':').collect();
        let number = |s: &str| {
            s.parse::<f32>()
                .map_err(|_| format!("`{s}` is not a number"))
        };
        let (method, rest) = match parts.as_slice() {
            ["rrf", k, rest @ ..] => (Method::Rrf { k: number(k)? }, rest),
            ["convex", half, rest @ ..] => (
                Method::Convex {
                    half: number(half)?,
                },
                rest,
            ),
            _ => return Err("expected rrf:K:WEIGHT:POWER or convex:HALF:WEIGHT:POWER".into()),
        };
        match rest {
            [w, p] => Ok(Fusion {
                method,
                lexical_weight: number(w)?,
                coverage_power: number(p)?,
            }),
            _ => Err("expected rrf:K:WEIGHT:POWER or convex:HALF:WEIGHT:POWER".into()),
        }
    }
}

/// The share of the question's keyword weight (BM25 idf of its distinct terms) carried by
/// terms that occur in the index; unseen terms count with the highest idf. 0 for no terms.
pub fn coverage(index: &Index, terms: &[String]) -> Result<f32> {
    let distinct: Vec<String> = terms
        .iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .cloned()
        .collect();
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

/// The fused ranking of `dense` and `lexical` (each `(id, score)` best first), best first;
/// ties keep the dense order, then the lower id. `coverage` is the question's (see above).
pub fn fuse(
    dense: &[(u64, f32)],
    lexical: &[(u64, f32)],
    fusion: Fusion,
    coverage: f32,
) -> Vec<(u64, f32)> {
    let weight = fusion.lexical_weight * coverage.clamp(0.0, 1.0).powf(fusion.coverage_power);
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
            // A passage missing from one list gets that list's worst score seen.
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
        (method, 0.0f32..1.0, 0.0f32..5.0).prop_map(|(method, weight, power)| Fusion {
            method,
            lexical_weight: weight,
            coverage_power: power,
        })
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

        #[test]
        fn specs_round_trip(fusion in fusions()) {
            prop_assert_eq!(fusion.to_string().parse::<Fusion>(), Ok(fusion));
        }
    }

    #[test]
    fn keyword_only_results_can_enter_and_agreement_lifts() {
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
    }

    #[test]
    fn malformed_specs_are_refused() {
        for spec in ["rrf:60:1", "convex:x:0.3:3", "bm25:1:1:1", ""] {
            assert!(spec.parse::<Fusion>().is_err(), "{spec}");
        }
    }
}
