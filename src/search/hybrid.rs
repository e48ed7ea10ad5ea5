//! Fusing the dense and keyword rankings into one. Two methods, both tuned on the visible
//! eval sets (see the README): reciprocal rank fusion, which uses only ranks, and a convex
//! combination of the dense cosine with a squashed BM25 score.

use std::collections::HashMap;

/// How the two rankings are combined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// `Σ wᵢ / (k + rankᵢ)` with the lexical ranking weighted by `lexical_weight`.
    Rrf { k: f32, lexical_weight: f32 },
    /// `(1 − w)·cosine + w·bm25 / (bm25 + half)`: the keyword part saturates at 1, reaching
    /// ½ at a BM25 score of `half`.
    Convex { lexical_weight: f32, half: f32 },
}

impl Fusion {
    /// The setting used by `ask --mode hybrid` (tuned on the visible eval sets).
    pub const DEFAULT: Fusion = Fusion::Rrf {
        k: 60.0,
        lexical_weight: 0.5,
    };
}

/// The fused ranking of `dense` and `lexical` (each `(id, score)` best first), best first;
/// ties keep the dense order, then the lower id.
pub fn fuse(dense: &[(u64, f32)], lexical: &[(u64, f32)], fusion: Fusion) -> Vec<(u64, f32)> {
    let mut fused: HashMap<u64, f32> = HashMap::with_capacity(dense.len() + lexical.len());
    let dense_rank: HashMap<u64, usize> = dense
        .iter()
        .enumerate()
        .map(|(r, (id, _))| (*id, r))
        .collect();
    match fusion {
        Fusion::Rrf { k, lexical_weight } => {
            for (rank, (id, _)) in dense.iter().enumerate() {
                *fused.entry(*id).or_default() += 1.0 / (k + rank as f32 + 1.0);
            }
            for (rank, (id, _)) in lexical.iter().enumerate() {
                *fused.entry(*id).or_default() += lexical_weight / (k + rank as f32 + 1.0);
            }
        }
        Fusion::Convex {
            lexical_weight,
            half,
        } => {
            // A passage missing from one list contributes that list's worst score seen.
            let floor_dense = dense.last().map_or(0.0, |(_, s)| *s);
            let dense_score: HashMap<u64, f32> = dense.iter().copied().collect();
            let lexical_score: HashMap<u64, f32> = lexical.iter().copied().collect();
            for id in dense.iter().chain(lexical).map(|(id, _)| *id) {
                let cosine = dense_score.get(&id).copied().unwrap_or(floor_dense);
                let bm25 = lexical_score.get(&id).copied().unwrap_or(0.0).max(0.0);
                let squashed = bm25 / (bm25 + half);
                fused.insert(
                    id,
                    (1.0 - lexical_weight) * cosine + lexical_weight * squashed,
                );
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
        Fusion::Rrf {
            k: 10.0,
            lexical_weight: 1.0,
        },
        Fusion::Convex {
            lexical_weight: 0.3,
            half: 10.0,
        },
    ];

    #[test]
    fn fusing_a_list_with_itself_gives_that_list() {
        for seed in 0..200 {
            let list = ranking(seed, 1 + (seed as usize % 30));
            for fusion in FUSIONS {
                assert_eq!(
                    ids(&fuse(&list, &list, fusion)),
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
                    fuse(&dense, &lexical, fusion)[0].0,
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
            let fused = ids(&fuse(&dense, &lexical, fusion));
            let mut expected: Vec<u64> = ids(&dense).into_iter().chain(ids(&lexical)).collect();
            expected.sort();
            expected.dedup();
            let mut got = fused.clone();
            got.sort();
            assert_eq!(got, expected, "{fusion:?}");
        }
    }

    #[test]
    fn keyword_only_results_can_enter_the_top() {
        let dense = vec![(1, 0.80), (2, 0.79), (3, 0.78)];
        let lexical = vec![(4, 30.0), (2, 5.0)];
        let fused = ids(&fuse(
            &dense,
            &lexical,
            Fusion::Rrf {
                k: 60.0,
                lexical_weight: 1.0,
            },
        ));
        assert_eq!(fused[0], 2, "in both lists: first");
        assert!(fused.contains(&4));
    }
}
