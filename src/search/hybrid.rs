//! Fusing the dense and keyword rankings into one: reciprocal rank fusion or a convex
//! combination of scores, with the keyword side weighted per question by how much of the
//! question the corpus's vocabulary covers. Tuned on the visible eval sets (README).

use std::collections::{HashMap, HashSet};

use crate::error::Result;
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
    use super::*;

    fn ids(list: &[(u64, f32)]) -> Vec<u64> {
        list.iter().map(|(id, _)| *id).collect()
    }

    /// A deterministic pseudo-random ranking of distinct ids with descending scores.
    fn ranking(seed: u64, len: usize) -> Vec<(u64, f32)> {
        let mut state = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
        let mut ids: Vec<u64> = (1..=len as u64 * 2).collect();
        for i in (1..ids.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ids.swap(i, (state % (i as u64 + 1)) as usize);
        }
        ids.truncate(len);
        ids.into_iter()
            .enumerate()
            .map(|(r, id)| (id, 1.0 - r as f32 / (len as f32 + 1.0)))
            .collect()
    }

    const FUSIONS: [Fusion; 3] = [
        Fusion::DEFAULT,
        Fusion {
            method: Method::Rrf { k: 10.0 },
            lexical_weight: 0.5,
            coverage_power: 0.0,
        },
        Fusion {
            method: Method::Convex { half: 10.0 },
            lexical_weight: 0.3,
            coverage_power: 1.0,
        },
    ];

    #[test]
    fn fusing_a_list_with_itself_gives_that_list() {
        for seed in 0..200 {
            let list = ranking(seed, 1 + (seed as usize % 30));
            for fusion in FUSIONS {
                assert_eq!(
                    ids(&fuse(&list, &list, fusion, 1.0)),
                    ids(&list),
                    "{fusion:?} seed {seed}"
                );
            }
        }
    }

    #[test]
    fn a_result_first_in_both_lists_stays_first() {
        for seed in 0..200 {
            let mut dense = ranking(seed, 20);
            let mut lexical = ranking(seed + 1000, 20);
            // Put the same id first in both (removing it elsewhere).
            let top = 999;
            dense.retain(|(id, _)| *id != top);
            lexical.retain(|(id, _)| *id != top);
            dense.insert(0, (top, 1.0));
            lexical.insert(0, (top, 50.0));
            for fusion in FUSIONS {
                assert_eq!(
                    fuse(&dense, &lexical, fusion, 0.7)[0].0,
                    top,
                    "{fusion:?} seed {seed}"
                );
            }
        }
    }

    #[test]
    fn every_id_from_either_list_appears_once() {
        let dense = ranking(1, 15);
        let lexical = ranking(2, 15);
        for fusion in FUSIONS {
            let fused = ids(&fuse(&dense, &lexical, fusion, 0.5));
            let mut expected: Vec<u64> = ids(&dense).into_iter().chain(ids(&lexical)).collect();
            expected.sort();
            expected.dedup();
            let mut got = fused.clone();
            got.sort();
            assert_eq!(got, expected, "{fusion:?}");
        }
    }

    #[test]
    fn keyword_only_results_can_enter_and_agreement_lifts() {
        let dense = vec![(1, 0.80), (2, 0.79), (3, 0.78)];
        let lexical = vec![(4, 30.0), (2, 5.0)];
        for fusion in FUSIONS {
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
    fn no_coverage_means_the_dense_order() {
        let dense = ranking(7, 20);
        let lexical = ranking(8, 20);
        for fusion in FUSIONS {
            let fused = ids(&fuse(&dense, &lexical, fusion, 0.0));
            if fusion.coverage_power > 0.0 {
                assert_eq!(fused[..dense.len()], ids(&dense)[..], "{fusion:?}");
            }
        }
    }

    #[test]
    fn specs_round_trip() {
        for fusion in FUSIONS {
            assert_eq!(fusion.to_string().parse::<Fusion>(), Ok(fusion));
        }
        assert!("rrf:60:1".parse::<Fusion>().is_err());
    }
}
