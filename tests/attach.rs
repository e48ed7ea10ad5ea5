//! `akapit attach`: indexes built from parts of a corpus (as the workers of a cluster would
//! build them) joined into one answer every question as an index built at once from the
//! whole corpus; parts built with other settings are refused before anything is linked,
//! and the index is unchanged.
//! The real binary and the default model on the seeds.

mod common;

use common::project::{stderr, Project};
use serde_json::Value;

const QUESTIONS: [&str; 3] = [
    "Ile wspólnych działań przewiduje pięcioletni plan współpracy wojskowej?",
    "rosyjskie ćwiczenia wojskowe na Białorusi",
    "What did the two countries agree on?",
];

/// Every hit of every question in every mode, as (document, paragraph, score to 1e-4).
fn answers(project: &Project, index: &str) -> Vec<(String, i64, i64)> {
    let mut all = Vec::new();
    for question in QUESTIONS {
        for mode in ["dense", "lexical", "hybrid"] {
            let out = project.json(&[
                "ask", question, "--index", index, "--mode", mode, "-k", "10", "--json",
            ]);
            for hit in out["results"].as_array().unwrap() {
                all.push((
                    hit["doc"].as_str().unwrap().to_string(),
                    hit["paragraph"].as_i64().unwrap(),
                    (hit["score"].as_f64().unwrap() * 1e4).round() as i64,
                ));
            }
        }
    }
    all
}

#[test]
fn parts_attached_answer_as_one_index_of_the_whole_corpus() {
    let project = Project::new();
    let mut seeds: Vec<String> = std::fs::read_dir(project.path().join("seeds"))
        .unwrap()
        .map(|e| format!("seeds/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    seeds.sort();
    let (one, two) = seeds.split_at(2);
    for (part, files) in [("part-1", one), ("part-2", two)] {
        let mut args = vec!["index", "--index", part, "--json"];
        args.extend(files.iter().map(String::as_str));
        project.json(&args);
    }
    project.json(&["index", "seeds", "--index", "whole", "--json"]);

    // Roots that do not hold every document are refused (a later `index` would drop those).
    std::fs::create_dir(project.path().join("elsewhere")).unwrap();
    let out = project.run(&[
        "attach",
        "part-1",
        "part-2",
        "--index",
        "joined",
        "--root",
        "elsewhere",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not under any"),
        "{}",
        stderr(&out)
    );

    let report: Value = project.json(&[
        "attach", "part-1", "part-2", "--index", "joined", "--root", "seeds", "--json",
    ]);
    assert_eq!(report["attached_documents"], seeds.len(), "{report}");
    assert_eq!(report["segments"], 2, "{report}");
    let expected = answers(&project, "whole");
    assert!(expected.len() > 20, "{expected:?}");
    assert_eq!(answers(&project, "joined"), expected);
    // The corpus's folder is the index's root, as if it had been indexed at once.
    let status = project.json(&["status", "--index", "joined", "--json"]);
    let roots = status["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 1, "{status}");
    assert!(roots[0].as_str().unwrap().ends_with("seeds"), "{status}");

    // The parts are left as they were.
    let status = project.json(&["status", "--index", "part-1", "--json"]);
    assert!(status["damage"].is_null(), "{status}");

    // A part of another vector type is refused, and the index stays as it was.
    project.json(&[
        "index",
        &seeds[0],
        "--index",
        "other",
        "--vectors",
        "i8",
        "--json",
    ]);
    let out = project.run(&["attach", "other", "--index", "joined"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot attach"), "{}", stderr(&out));
    assert_eq!(answers(&project, "joined"), expected);

    // Nor is a good part linked in when a later one is refused: all are checked first.
    let segments = || {
        let mut names: Vec<String> = std::fs::read_dir(project.path().join("joined"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("seg-"))
            .collect();
        names.sort();
        names
    };
    let before = segments();
    let out = project.run(&["attach", "part-1", "other", "--index", "joined"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(segments(), before);

    // Attached again with --optimize: the part's documents replace the same ones, merged.
    let report = project.json(&[
        "attach",
        "part-2",
        "--index",
        "joined",
        "--optimize",
        "--json",
    ]);
    assert_eq!(report["replaced_documents"], two.len(), "{report}");
    assert_eq!(report["segments"], 1, "{report}");
    assert_eq!(answers(&project, "joined"), expected);
}
