//! An index built in several runs, with files added, edited and deleted between them (so
//! with several segments and deletions, then merged), answers every question exactly as an
//! index built at once from the same files: the real binary and the default model on 1,200
//! paragraphs (about 700 passages) of Polish and English manual pages (`eval/manpages-pl`).
//! Builds and merges killed halfway leave the index answering as before.

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
fn answers(project: &Project, dir: &str) -> Answers {
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

type Answers = BTreeMap<String, Vec<(String, u64, String)>>;

/// `found` equals `expected`, with this allowance: a window gets the same vector in any
/// batch, but the segments' graphs are searched apart and their scores summed in another
/// order, so dense and hybrid scores may differ by up to 5e-4, and passages whose scores
/// are that close may swap places or trade the last place. Keyword answers do
/// not depend on the vectors and must be identical.
fn assert_same_answers(found: &Answers, expected: &Answers) {
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (question, want) in expected {
        let got = &found[question];
        if question.starts_with("lexical") {
            assert_eq!(got, want, "{question}");
            continue;
        }
        let score = |s: &str| s.parse::<f64>().unwrap();
        assert_eq!(got.len(), want.len(), "{question}");
        let last = score(&want[want.len() - 1].2);
        for (doc, paragraph, s) in want {
            let matched = got
                .iter()
                .find(|(d, p, _)| d == doc && p == paragraph)
                .map(|(_, _, g)| (score(g) - score(s)).abs() <= 5e-4);
            match matched {
                Some(close) => assert!(close, "{question}: {got:?} against {want:?}"),
                // Only a passage at the cut-off may fall out.
                None => assert!(
                    score(s) - last <= 5e-4,
                    "{question}: {got:?} against {want:?}"
                ),
            }
        }
        for pair in got.iter().zip(want) {
            assert!(
                (score(&pair.0 .2) - score(&pair.1 .2)).abs() <= 5e-4,
                "{question}: {got:?} against {want:?}"
            );
        }
    }
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
    // Short paragraphs are joined into passages: about 700 of them.
    assert!(
        fresh["passages"].as_u64().unwrap() > 500,
        "{}",
        fresh["passages"]
    );
    let expected = answers(&project, "fresh");
    assert_same_answers(&answers(&project, "runs"), &expected);

    // A merge killed halfway leaves the published index as it was, and the next build
    // removes what the merge left.
    kill_a_merge(&project, "runs");
    assert_same_answers(&answers(&project, "runs"), &expected);
    let status = project.json(&["status", "--index", "runs", "--json"]);
    assert!(status["damage"].is_null(), "{status}");
    let out = project.run(&["index", "--index", "runs"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(unfinished(&project.path().join("runs")), None);
    assert_same_answers(&answers(&project, "runs"), &expected);

    // Merged into one segment: the same answers.
    let out = project.run(&["index", "--index", "runs", "--optimize"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("merging"), "{}", stderr(&out));
    let m = manifest(&project, "runs");
    assert_eq!(m["segments"].as_array().unwrap().len(), 1, "{m}");
    assert_same_answers(&answers(&project, "runs"), &expected);
    let status = project.json(&["status", "--index", "runs", "--json"]);
    assert!(status["damage"].is_null(), "{status}");
}

/// The unfinished segment folder (`seg-N.tmp`) in `index`, if there is one.
fn unfinished(index: &Path) -> Option<std::path::PathBuf> {
    std::fs::read_dir(index).ok()?.flatten().find_map(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        (name.starts_with("seg-") && name.ends_with(".tmp")).then(|| entry.path())
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs `index --optimize` on the index `dir` and kills it (SIGKILL) as soon as its merge
/// has started writing. A merge of ~700 passages takes a good fraction of a second and the
/// folder is looked for every millisecond, so the kill lands in the middle of it; should a
/// loaded machine let the merge finish first, the attempt is repeated on a copy of the
/// index as it was.
fn kill_a_merge(project: &Project, dir: &str) {
    let index = project.path().join(dir);
    let before = project.path().join(format!("{dir}-before-merge"));
    copy_dir(&index, &before);
    for _attempt in 0..5 {
        let mut child = project
            .command(&["index", "--index", dir, "--optimize", "--quiet"])
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let mut merging = false;
        while child.try_wait().unwrap().is_none() {
            if let Some(tmp) = unfinished(&index) {
                let state = std::fs::read_to_string(tmp.join("pending.json")).unwrap_or_default();
                if state.contains("\"merge\": true") {
                    merging = true;
                    break;
                }
            }
            assert!(started.elapsed().as_secs() < 600, "no merge in 10 minutes");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        if merging && status.code().is_none() && unfinished(&index).is_some() {
            std::fs::remove_dir_all(&before).unwrap();
            return;
        }
        // The merge finished before the kill: start again from the copy.
        std::fs::remove_dir_all(&index).unwrap();
        copy_dir(&before, &index);
    }
    panic!("five merges finished before they could be killed");
}

/// Stored documents of the unfinished segment in `index`, if a build has stored any.
fn stored_so_far(index: &Path) -> usize {
    let Some(tmp) = unfinished(index) else {
        return 0;
    };
    // Read-write: after a kill, the reader rolls back the transaction left unfinished.
    let count = rusqlite::Connection::open(tmp.join("passages.sqlite"))
        .and_then(|c| c.query_row("SELECT count(*) FROM documents", [], |r| r.get::<_, i64>(0)));
    count.map_or(0, |n| n as usize)
}

#[test]
fn a_build_killed_after_a_checkpoint_resumes_and_loses_nothing() {
    let project = Project::new();
    let docs = project.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    for (i, paragraphs) in corpus().iter().enumerate().take(60) {
        write(&docs, i, paragraphs);
    }
    let mut child = project
        .command(&["index", "docs", "--index", "killed", "--quiet"])
        .spawn()
        .unwrap();
    let killed = project.path().join("killed");
    let started = std::time::Instant::now();
    while stored_so_far(&killed) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the build ended before a checkpoint"
        );
        assert!(
            started.elapsed().as_secs() < 600,
            "no checkpoint in 10 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let stored = stored_so_far(&killed);
    assert!(stored > 0 && stored < 60, "{stored} documents stored");
    assert!(
        !killed.join("manifest.json").exists(),
        "nothing was published"
    );

    let out = project.run(&["index", "docs", "--index", "killed"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("resuming: "), "{}", stderr(&out));
    let m = manifest(&project, "killed");
    assert_eq!(m["documents"].as_array().unwrap().len(), 60);

    index(&project, &["docs", "--index", "fresh"]);
    assert_eq!(m["passages"], manifest(&project, "fresh")["passages"]);
    assert_same_answers(&answers(&project, "killed"), &answers(&project, "fresh"));
}
