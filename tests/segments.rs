//! An index built in several runs, with files added, edited and deleted between them (so
//! with several segments and deletions, then merged), answers every question exactly as an
//! index built at once from the same files: the real binary and the default model on a
//! thousand passages of Polish and English manual pages (`eval/manpages-pl`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::project::{stderr, Project};
use serde_json::Value;

const FILES: usize = 80;
const PER_FILE: usize = 15;

/// Paragraphs of the corpus, `PER_FILE` to a file.
fn corpus() -> Vec<Vec<String>> {
    let text =
        std::fs::read_to_string(common::repo_root().join("eval/manpages-pl/corpus.jsonl")).unwrap();
    let records: Vec<String> = text
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            record["text"].as_str().unwrap().trim().to_string()
        })
        .filter(|t| t.len() > 40)
        .take(FILES * PER_FILE)
        .collect();
    records.chunks(PER_FILE).map(|c| c.to_vec()).collect()
}

fn write(docs: &Path, file: usize, paragraphs: &[String]) {
    std::fs::write(
        docs.join(format!("f{file:03}.txt")),
        paragraphs.join("\n\n") + "\n",
    )
    .unwrap();
}

fn questions() -> Vec<String> {
    let text = std::fs::read_to_string(common::repo_root().join("eval/manpages-pl/queries.jsonl"))
        .unwrap();
    text.lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .step_by(7)
        .take(12)
        .collect()
}

/// Every answer of the index in `dir`: for each question and mode, `(doc, ¶, score)`.
fn answers(project: &Project, dir: &str) -> BTreeMap<String, Vec<(String, u64, String)>> {
    let mut all = BTreeMap::new();
    for question in questions() {
        for mode in ["dense", "lexical", "hybrid"] {
            let json = project.json(&[
                "ask", &question, "--index", dir, "--mode", mode, "-k", "10", "--json",
            ]);
            let hits = json["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h["doc"].as_str().unwrap().to_string(),
                        h["paragraph"].as_u64().unwrap(),
                        h["score"].to_string(),
                    )
                })
                .collect();
            all.insert(format!("{mode}: {question}"), hits);
        }
    }
    all
}

fn manifest(project: &Project, dir: &str) -> Value {
    let text = std::fs::read_to_string(project.path().join(dir).join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn index(project: &Project, args: &[&str]) -> Value {
    let mut all = vec!["index", "--json"];
    all.extend(args);
    project.json(&all)
}

#[test]
fn an_index_built_in_several_runs_answers_as_one_built_at_once() {
    let project = Project::new();
    let docs = project.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    let corpus = corpus();
    assert_eq!(corpus.len(), FILES);

    // Run 1: the first 50 files.
    for (i, paragraphs) in corpus.iter().enumerate().take(50) {
        write(&docs, i, paragraphs);
    }
    index(&project, &["docs", "--index", "runs"]);

    // Run 2: 30 files more, two edited, two deleted.
    for (i, paragraphs) in corpus.iter().enumerate().skip(50) {
        write(&docs, i, paragraphs);
    }
    for i in [3, 10] {
        let mut edited = corpus[i].clone();
        edited[2] = format!("{} (poprawione wydanie)", edited[2]);
        edited.remove(5);
        write(&docs, i, &edited);
    }
    for i in [20, 21] {
        std::fs::remove_file(docs.join(format!("f{i:03}.txt"))).unwrap();
    }
    let report = index(&project, &["--index", "runs"]);
    assert_eq!(report["embedded_documents"], 32, "{report}");
    assert_eq!(report["removed_documents"].as_array().unwrap().len(), 2);

    // Run 3: one file of each run edited, one deleted.
    for i in [12, 65] {
        let mut edited = corpus[i].clone();
        edited.reverse();
        write(&docs, i, &edited);
    }
    std::fs::remove_file(docs.join("f070.txt")).unwrap();
    let report = index(&project, &["--index", "runs"]);
    assert_eq!(report["embedded_documents"], 2, "{report}");
    let m = manifest(&project, "runs");
    let segments = m["segments"].as_array().unwrap();
    assert!(segments.len() >= 2, "{m}");
    assert!(
        segments
            .iter()
            .any(|s| !s["deleted"].as_array().unwrap().is_empty()),
        "some segment has deletions: {segments:?}"
    );

    // The same files, indexed at once.
    index(&project, &["docs", "--index", "fresh"]);
    let fresh = manifest(&project, "fresh");
    assert_eq!(fresh["segments"].as_array().unwrap().len(), 1);
    assert_eq!(m["passages"], fresh["passages"]);
    assert!(
        fresh["passages"].as_u64().unwrap() > 1000,
        "{}",
        fresh["passages"]
    );
    let expected = answers(&project, "fresh");
    assert_eq!(answers(&project, "runs"), expected);

    // Merged into one segment: the same answers.
    let out = project.run(&["index", "--index", "runs", "--optimize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("merging"), "{}", stderr(&out));
    let m = manifest(&project, "runs");
    assert_eq!(m["segments"].as_array().unwrap().len(), 1, "{m}");
    assert_eq!(answers(&project, "runs"), expected);
    let status = project.json(&["status", "--index", "runs", "--json"]);
    assert!(status["damage"].is_null(), "{status}");
}
