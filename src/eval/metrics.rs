//! The retrieval metrics: nDCG@10, recall@10, recall@100 and MRR@10, as BEIR and
//! trec_eval compute them: the qrels score is the gain, repeated ids count once, queries
//! without results score 0, and means are over every query with judgements.
//! `tests/eval.rs` checks them against pytrec_eval on a real run.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::Qrels;

/// Mean metrics over the judged queries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Metrics {
    #[serde(rename = "ndcg@10")]
    pub ndcg10: f64,
    #[serde(rename = "recall@10")]
    pub recall10: f64,
    #[serde(rename = "recall@100")]
    pub recall100: f64,
    #[serde(rename = "mrr@10")]
    pub mrr10: f64,
}

/// Scores `run` (query id → corpus ids, best first) against `qrels`, over `judged` queries
/// (those in both the qrels and the run's query set).
pub fn score(qrels: &Qrels, run: &HashMap<String, Vec<String>>, judged: &[String]) -> Metrics {
    let mut sum = Metrics::default();
    for query in judged {
        let Some(relevant) = qrels.get(query) else {
            continue;
        };
        let Some(results) = run.get(query) else {
            continue;
        };
        let mut seen = HashSet::new();
        let ranked: Vec<&String> = results.iter().filter(|id| seen.insert(*id)).collect();
        let gain = |id: &String| relevant.get(id).copied().unwrap_or(0.0);
        let dcg: f64 = ranked
            .iter()
            .take(10)
            .enumerate()
            .map(|(i, id)| gain(id) / ((i + 2) as f64).log2())
            .sum();
        let mut ideal: Vec<f64> = relevant.values().copied().collect();
        ideal.sort_by(|a, b| b.total_cmp(a));
        let idcg: f64 = ideal
            .iter()
            .take(10)
            .enumerate()
            .map(|(i, g)| g / ((i + 2) as f64).log2())
            .sum();
        let recall = |k: usize| {
            ranked
                .iter()
                .take(k)
                .filter(|id| relevant.contains_key(**id))
                .count() as f64
                / relevant.len() as f64
        };
        sum.ndcg10 += if idcg > 0.0 { dcg / idcg } else { 0.0 };
        sum.recall10 += recall(10);
        sum.recall100 += recall(100);
        sum.mrr10 += ranked
            .iter()
            .take(10)
            .position(|id| relevant.contains_key(*id))
            .map_or(0.0, |i| 1.0 / (i + 1) as f64);
    }
    let n = judged
        .iter()
        .filter(|q| qrels.contains_key(*q))
        .count()
        .max(1) as f64;
    Metrics {
        ndcg10: sum.ndcg10 / n,
        recall10: sum.recall10 / n,
        recall100: sum.recall100 / n,
        mrr10: sum.mrr10 / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qrels() -> Qrels {
        let mut q = Qrels::new();
        q.entry("q1".into()).or_default().insert("d1".into(), 1.0);
        q.entry("q2".into()).or_default().insert("d2".into(), 1.0);
        q.entry("q2".into()).or_default().insert("d3".into(), 1.0);
        q
    }

    #[test]
    fn metrics_follow_trec_eval_definitions() {
        let mut run = HashMap::new();
        // q1: relevant at rank 2 (a repeat of d9 counts once).
        run.insert(
            "q1".to_string(),
            vec!["d9".into(), "d9".into(), "d1".into()],
        );
        // q2: both relevant, at ranks 1 and 12.
        let mut q2: Vec<String> = vec!["d2".into()];
        q2.extend((0..10).map(|i| format!("x{i}")));
        q2.push("d3".into());
        run.insert("q2".to_string(), q2);
        let m = score(&qrels(), &run, &["q1".into(), "q2".into()]);
        let ndcg_q1 = 1.0 / 3f64.log2();
        let ndcg_q2 = 1.0 / (1.0 + 1.0 / 3f64.log2());
        assert!(
            (m.ndcg10 - (ndcg_q1 + ndcg_q2) / 2.0).abs() < 1e-12,
            "{m:?}"
        );
        assert!((m.recall10 - (1.0 + 0.5) / 2.0).abs() < 1e-12);
        assert!((m.recall100 - 1.0).abs() < 1e-12);
        assert!((m.mrr10 - (0.5 + 1.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_query_missing_from_the_run_scores_zero() {
        let mut run = HashMap::new();
        run.insert("q1".to_string(), vec!["d1".to_string()]);
        let m = score(&qrels(), &run, &["q1".into(), "q2".into()]);
        assert!((m.ndcg10 - 0.5).abs() < 1e-12);
    }
}
