//! `akapit eval` on a slice of a visible set (tests/fixtures/xquad-slice), checked against
//! pytrec_eval (trec_eval's scorer, `tests/fixtures/pytrec_score.py`) run on the very run
//! files akapit wrote. The scorer lives in a private venv that `tests/fixtures/pytools.sh`
//! creates on first use.

mod common;

use std::process::Command;

use serde_json::Value;

#[test]
fn eval_metrics_match_pytrec_eval() {
    let root = common::repo_root();
    let slice = root.join("tests/fixtures/xquad-slice");
    let scorer = root.join("tests/fixtures/pytrec_score.py");
    let tools = Command::new("bash")
        .arg(root.join("tests/fixtures/pytools.sh"))
        .output()
        .unwrap();
    assert!(
        tools.status.success(),
        "the reference scorer needs Python 3 with venv and pip (pytrec_eval-terrier from the Python package index): {}",
        String::from_utf8_lossy(&tools.stderr)
    );
    let python = String::from_utf8(tools.stdout).unwrap().trim().to_string();
    let work = tempfile::tempdir().unwrap();
    let run = work.path().join("run.jsonl");
    let report = common::eval_report(
        work.path(),
        &["--run".as_ref(), run.as_ref(), slice.as_ref()],
    );
    assert_eq!(report["corpus"], 80);
    assert_eq!(report["queries"], 40);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "dense, lexical and hybrid");
    for result in results {
        let mode = result["mode"].as_str().unwrap();
        let file = work.path().join(format!("run.{mode}.jsonl"));
        let scored = Command::new(&python)
            .arg(&scorer)
            .arg(slice.join("qrels.tsv"))
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            scored.status.success(),
            "{}",
            String::from_utf8_lossy(&scored.stderr)
        );
        let theirs: Value = serde_json::from_slice(&scored.stdout).unwrap();
        assert_eq!(theirs["queries"], 40);
        for metric in ["ndcg@10", "recall@10", "recall@100", "mrr@10"] {
            let ours = result[metric].as_f64().unwrap();
            let want = theirs[metric].as_f64().unwrap();
            assert!(
                (ours - want).abs() <= 1e-6,
                "{mode} {metric}: akapit {ours}, pytrec_eval {want}"
            );
        }
        assert!(result["ndcg@10"].as_f64().unwrap() > 0.5, "{result}");
        assert!(result["latency_p50_ms"].as_f64().unwrap() > 0.0);
    }
}
