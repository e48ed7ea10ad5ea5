//! `akapit` with `--model embeddinggemma-300m` on the seeds: the index remembers the
//! model and `ask` uses it; the quality bar holds; Matryoshka `--dims` is recorded,
//! checked, and changing it (or the model) embeds again. The model is fetched into the
//! project's `models/` like the default one.

mod common;

use common::project::{stderr, texts, Project, QUALITY};
use serde_json::Value;

#[test]
#[cfg_attr(akapit_skip_gemma, ignore = "AKAPIT_TEST_GEMMA=0")]
fn gemma_index_answers_the_quality_bar_and_is_remembered() {
    let project = Project::with_gemma();
    let out = project.run(&["index", "--model", common::GEMMA, "--quiet", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status = project.json(&["status", "--json"]);
    assert_eq!(status["model"]["name"], common::GEMMA, "{status}");
    assert_eq!(status["model"]["dims"], 768, "{status}");

    let mut failures = Vec::new();
    for (question, expected) in QUALITY {
        // No --model: ask takes the model from the index.
        let json = project.json(&["ask", question, "-k", "3", "--json"]);
        assert_eq!(json["model"], common::GEMMA);
        if !texts(&json).iter().any(|t| t.contains(expected)) {
            failures.push(format!("{question} → {expected:?} not in top 3"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Re-running index without --model keeps the model and embeds nothing.
    let again = project.json(&["index", "--json"]);
    assert_eq!(again["model"], common::GEMMA);
    assert_eq!(again["up_to_date"], true, "{again}");
}

#[test]
#[cfg_attr(akapit_skip_gemma, ignore = "AKAPIT_TEST_GEMMA=0")]
fn matryoshka_dims_are_recorded_and_checked() {
    let project = Project::with_gemma();
    let small = project.path().join("small");
    std::fs::create_dir(&small).unwrap();
    std::fs::write(
        small.join("a.txt"),
        "Łukaszenko ogłosił, że rosyjska broń jądrowa dotarła na Białoruś.\n\n\
         Litwa wprowadziła stan nadzwyczajny na granicy z Białorusią.\n",
    )
    .unwrap();
    let small = small.to_string_lossy().into_owned();

    let out = project.run(&["index", &small, "--model", common::GEMMA, "--dims", "100"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("768, 512, 256, 128"),
        "{}",
        stderr(&out)
    );

    let out = project.run(&["index", &small, "--dims", "128"]);
    assert_eq!(out.status.code(), Some(2), "e5 cannot be truncated");

    let out = project.run(&[
        "index",
        &small,
        "--model",
        common::GEMMA,
        "--dims",
        "128",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status = project.json(&["status", "--json"]);
    assert_eq!(status["model"]["dims"], 128, "{status}");
    let json = project.json(&[
        "ask",
        "Why did Lithuania declare a state of emergency?",
        "--json",
    ]);
    let first: &Value = &json["results"][0];
    assert!(
        first["text"]
            .as_str()
            .unwrap()
            .contains("stan nadzwyczajny"),
        "{json}"
    );

    // Another size, then another model: each embeds everything again.
    let again = project.json(&["index", &small, "--dims", "256", "--quiet", "--json"]);
    assert_eq!(again["up_to_date"], false, "{again}");
    assert_eq!(again["model"], common::GEMMA);
    assert_eq!(project.json(&["status", "--json"])["model"]["dims"], 256);
    let e5 = project.json(&[
        "index",
        &small,
        "--model",
        "multilingual-e5-small",
        "--quiet",
        "--json",
    ]);
    assert_eq!(e5["up_to_date"], false, "{e5}");
    assert_eq!(project.json(&["status", "--json"])["model"]["dims"], 384);
}
