//! `akapit eval` on a slice of a visible set (tests/fixtures/xquad-slice), checked against
//! the shared scorer (`../shared/eval/score.py`) run on the very run files akapit wrote.

mod common;

use std::process::Command;

use serde_json::Value;

#[test]
fn eval_metrics_match_the_shared_scorer() {
    let root = common::repo_root();
    let slice = root.join("tests/fixtures/xquad-slice");
    let scorer = root.join("../shared/eval/score.py");
    assert!(
        scorer.is_file(),
        "this test needs {} (CI has ../shared beside the clone)",
        scorer.display()
    );
    let work = tempfile::tempdir().unwrap();
    let run = work.path().join("run.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_akapit"))
        .current_dir(work.path())
        .env("AKAPIT_MODEL_DIR", common::default_model_dir())
        .args(["eval", "--json", "--quiet", "--run"])
        .arg(&run)
        .arg(&slice)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["corpus"], 80);
    assert_eq!(report["queries"], 40);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "dense, lexical and hybrid");
    for result in results {
        let mode = result["mode"].as_str().unwrap();
        let file = work.path().join(format!("run.{mode}.jsonl"));
        let scored = Command::new("python3")
            .arg(&scorer)
            .arg("--qrels")
            .arg(slice.join("qrels.tsv"))
            .arg("--run")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            scored.status.success(),
            "{}",
            String::from_utf8_lossy(&scored.stderr)
        );
        let theirs: Value = serde_json::from_slice(&scored.stdout).unwrap();
        assert_eq!(theirs["queries_missing_from_run"], 0);
        for metric in ["ndcg@10", "recall@10", "recall@100", "mrr@10"] {
            let ours = result[metric].as_f64().unwrap();
            let want = theirs[metric].as_f64().unwrap();
            // score.py rounds to 4 decimals.
            assert!(
                (ours - want).abs() <= 5e-5,
                "{mode} {metric}: akapit {ours}, score.py {want}"
            );
        }
        assert!(result["ndcg@10"].as_f64().unwrap() > 0.5, "{result}");
        assert!(result["latency_p50_ms"].as_f64().unwrap() > 0.0);
    }
}
