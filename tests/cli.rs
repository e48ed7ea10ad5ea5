//! The `akapit` binary on real files in temporary folders, with the real model: the
//! quality bar on the seed corpus, `related`, JSON shapes, exit codes, incremental
//! re-indexing, interrupted builds, bad input, and model resolution.

mod common;

use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use common::project::{stderr, texts, Project, QUALITY};
use serde_json::Value;

/// One indexed copy of the seeds shared by the read-only tests.
fn indexed() -> &'static Project {
    static PROJECT: OnceLock<Project> = OnceLock::new();
    PROJECT.get_or_init(|| {
        let project = Project::new();
        let out = project.run(&["index", "--quiet"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        project
    })
}

#[test]
fn quality_bar_expected_passage_in_top_3() {
    let project = indexed();
    let mut failures = Vec::new();
    for (question, expected) in QUALITY {
        let json = project.json(&["ask", question, "-k", "3", "--json"]);
        let results = texts(&json);
        assert_eq!(results.len(), 3);
        if !results.iter().any(|t| t.contains(expected)) {
            failures.push(format!("{question} → {expected:?} not in top 3"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ask_json_has_the_documented_shape() {
    let json = indexed().json(&[
        "ask",
        "When are the Zapad exercises planned?",
        "-k",
        "2",
        "--json",
    ]);
    assert_eq!(json["query"], "When are the Zapad exercises planned?");
    assert_eq!(json["model"], "multilingual-e5-small");
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["rank"], i as u64 + 1);
        let score = r["score"].as_f64().unwrap();
        assert!(score > 0.0 && score <= 1.0, "{score}");
        assert!(r["doc"].as_str().unwrap().starts_with("seeds/"), "{r}");
        assert!(r["paragraph"].as_u64().unwrap() >= 1);
        let (start, end) = (
            r["start_line"].as_u64().unwrap(),
            r["end_line"].as_u64().unwrap(),
        );
        assert!(start >= 1 && end >= start, "{r}");
        assert!(!r["text"].as_str().unwrap().is_empty());
    }
    assert!(results[0]["score"].as_f64() >= results[1]["score"].as_f64());
}

#[test]
fn cited_lines_hold_the_passage_text() {
    let project = indexed();
    let json = project.json(&[
        "ask",
        "Ile wspólnych działań przewiduje plan?",
        "-k",
        "1",
        "--json",
    ]);
    let hit = &json["results"][0];
    let file = std::fs::read_to_string(project.path().join(hit["doc"].as_str().unwrap())).unwrap();
    let lines: Vec<&str> = file.lines().collect();
    let (start, end) = (
        hit["start_line"].as_u64().unwrap() as usize,
        hit["end_line"].as_u64().unwrap() as usize,
    );
    let cited = lines[start - 1..end]
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let first_words: Vec<&str> = hit["text"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .take(4)
        .collect();
    assert!(
        cited.contains(&first_words.join(" ")),
        "{cited}\n--- vs ---\n{first_words:?}"
    );
}

#[test]
fn related_excludes_the_source_and_its_copies_and_finds_other_documents() {
    let project = indexed();
    let ask = project.json(&[
        "ask",
        "123 więźniów politycznych zwolnionych przez reżim",
        "-k",
        "1",
        "--json",
    ]);
    let source = &ask["results"][0];
    assert!(source["text"]
        .as_str()
        .unwrap()
        .contains("123 więźniów politycznych"));
    let doc = source["doc"].as_str().unwrap();
    let paragraph = source["paragraph"].as_u64().unwrap().to_string();
    let json = project.json(&[
        "related",
        "--doc",
        doc,
        "--paragraph",
        &paragraph,
        "-k",
        "5",
        "--json",
    ]);
    assert_eq!(json["source"]["doc"], doc);
    assert_eq!(json["source"]["text"], source["text"]);
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for r in results {
        assert_ne!(
            r["doc"], doc,
            "a passage from the source's own document: {r}"
        );
        assert!(
            !r["text"]
                .as_str()
                .unwrap()
                .contains("123 więźniów politycznych"),
            "{r}"
        );
    }
}

#[test]
fn related_by_text_excludes_the_copy_and_its_document() {
    let project = indexed();
    let ask = project.json(&[
        "ask",
        "Kirgistan gotowość wysłania żołnierzy do Kazachstanu",
        "-k",
        "1",
        "--json",
    ]);
    let source = &ask["results"][0];
    let text = source["text"].as_str().unwrap();
    // In every mode: copies of the text are told by their vectors, keywords or not.
    for mode in ["hybrid", "dense", "lexical"] {
        let json = project.json(&[
            "related", "--text", text, "-k", "3", "--mode", mode, "--json",
        ]);
        assert!(json["source"].is_null());
        assert_eq!(json["mode"], mode);
        for r in json["results"].as_array().unwrap() {
            assert_ne!(r["doc"], source["doc"], "{mode}: {r}");
            assert_ne!(r["text"].as_str().unwrap(), text);
        }
    }
}

#[test]
fn every_mode_answers_and_highlights_within_the_text() {
    let project = indexed();
    for mode in ["dense", "lexical", "hybrid"] {
        let json = project.json(&[
            "ask",
            "Kto zaproponował powrót do rozmów o integracji w 2018 roku?",
            "--mode",
            mode,
            "-k",
            "3",
            "--json",
        ]);
        assert_eq!(json["mode"], mode);
        let results = json["results"].as_array().unwrap();
        assert!(
            results
                .iter()
                .any(|r| r["text"].as_str().unwrap().contains("Miedwiediew")),
            "{mode}: {json}"
        );
        for r in results {
            let text: Vec<char> = r["text"].as_str().unwrap().chars().collect();
            let spans = r["highlights"].as_array().unwrap();
            assert!(!spans.is_empty(), "{r}");
            for span in spans {
                let (start, end) = (
                    span["start"].as_u64().unwrap() as usize,
                    span["end"].as_u64().unwrap() as usize,
                );
                assert!(
                    start < end && end <= text.len(),
                    "{span} in {} chars",
                    text.len()
                );
            }
        }
    }
    // The highlight of the best hit is the sentence with the answer, not the whole passage.
    let json = project.json(&[
        "ask",
        "Kto zaproponował powrót do rozmów o integracji?",
        "-k",
        "1",
        "--json",
    ]);
    let hit = &json["results"][0];
    let text: Vec<char> = hit["text"].as_str().unwrap().chars().collect();
    let span = &hit["highlights"][0];
    let highlighted: String = text
        [span["start"].as_u64().unwrap() as usize..span["end"].as_u64().unwrap() as usize]
        .iter()
        .collect();
    assert!(highlighted.contains("Miedwiediew"), "{highlighted}");
    assert!(
        highlighted.len() < hit["text"].as_str().unwrap().len(),
        "{highlighted}"
    );
}

#[test]
fn keyword_search_folds_diacritics_and_inflections() {
    let project = indexed();
    // Typed without Polish letters, in another case than the text.
    let json = project.json(&[
        "ask",
        "Lukaszenki Kirgistanem",
        "--mode",
        "lexical",
        "-k",
        "5",
        "--json",
    ]);
    // The text has "Kirgistan" and "Łukaszenko", "Łukaszenki", "Łukaszenką".
    let texts = texts(&json);
    assert!(texts[0].contains("Kirgistan"), "{texts:?}");
    assert!(
        texts[1..].iter().all(|t| t.contains("Łukaszenk")),
        "{texts:?}"
    );
}

#[test]
fn ask_within_some_documents_and_above_a_score() {
    let project = indexed();
    let json = project.json(&[
        "ask",
        "Białoruś",
        "--in",
        "seeds/004*",
        "-k",
        "20",
        "--json",
    ]);
    let results = json["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(
        results
            .iter()
            .all(|r| r["doc"].as_str().unwrap().contains("004_")),
        "{json}"
    );
    let json = project.json(&[
        "ask",
        "Białoruś",
        "--in",
        "seeds/003_4957006f09dcbc72.txt",
        "--in",
        "seeds/002_f2bc2df27e4cd157.txt",
        "-k",
        "50",
        "--json",
    ]);
    let docs: std::collections::HashSet<&str> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["doc"].as_str().unwrap())
        .collect();
    assert_eq!(docs.len(), 2, "{docs:?}");

    let all = project.json(&["ask", "Białoruś", "-k", "50", "--json"]);
    let threshold = all["results"][3]["score"].as_f64().unwrap();
    let out = project.run(&[
        "ask",
        "Białoruś",
        "-k",
        "50",
        "--json",
        "--min-score",
        &threshold.to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let kept: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kept = kept["results"].as_array().unwrap();
    assert!(kept.len() >= 4 && kept.len() < 50, "{}", kept.len());
    assert!(kept
        .iter()
        .all(|r| r["score"].as_f64().unwrap() >= threshold - 1e-4));
    let out = project.run(&["ask", "Białoruś", "--min-score", "0.999"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "nothing above the score: exit 1"
    );
    let out = project.run(&["ask", "Białoruś", "--in", "seeds/nothing*"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--in seeds/nothing*"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn human_output_cites_and_wraps() {
    let out = indexed().run(&["ask", "Kirgistan", "-k", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("1. ["), "{text}");
    assert!(
        text.contains("\n   » "),
        "the answering sentence is shown: {text}"
    );
    assert!(
        text.contains("seeds/") && text.contains('¶') && text.contains("line"),
        "{text}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
}

#[test]
fn status_reports_documents_model_and_staleness() {
    let project = Project::new();
    assert_eq!(project.run(&["index", "--quiet"]).status.code(), Some(0));
    let json = project.json(&["status", "--json"]);
    assert_eq!(json["documents"].as_array().unwrap().len(), 5);
    assert_eq!(json["model"]["name"], "multilingual-e5-small");
    assert_eq!(json["model"]["dims"], 384);
    assert!(json["passages"].as_u64().unwrap() >= 40);
    assert!(json["stale"].as_array().unwrap().is_empty());

    let changed = project.seed("004");
    std::fs::write(
        &changed,
        "Zupełnie nowy tekst o czymś innym, dość długi, by był akapitem.\n",
    )
    .unwrap();
    std::fs::write(project.path().join("seeds/new.md"), "Nowy plik.\n").unwrap();
    std::fs::remove_file(project.seed("002")).unwrap();
    let json = project.json(&["status", "--json"]);
    let mut changes: Vec<(String, String)> = json["stale"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["change"].as_str().unwrap().to_string(),
                s["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    changes.sort();
    let kinds: Vec<&str> = changes.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(kinds, vec!["changed", "missing", "new"], "{changes:?}");

    let out = project.run(&["ask", "Kirgistan", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("changed since indexing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn reindexing_embeds_only_what_changed() {
    let project = Project::new();
    let first = project.json(&["index", "--json", "--quiet"]);
    assert_eq!(first["documents"], 5);
    assert_eq!(first["embedded_documents"], 5);

    let again = project.json(&["index", "--json", "--quiet"]);
    assert_eq!(again["up_to_date"], true);
    assert_eq!(again["embedded_passages"], 0);

    std::fs::write(project.seed("004"), "Kazachstan. Nowa wersja artykułu o protestach w Ałmaty, która zastępuje poprzednią i jest wystarczająco długa.\n").unwrap();
    std::fs::remove_file(project.seed("002")).unwrap();
    let update = project.json(&["index", "--json", "--quiet"]);
    assert_eq!(update["embedded_documents"], 1);
    assert_eq!(update["unchanged_documents"], 3);
    assert_eq!(update["documents"], 4);
    let removed = update["removed_documents"].as_array().unwrap();
    assert_eq!(removed.len(), 1);
    assert!(removed[0].as_str().unwrap().contains("002_"), "{removed:?}");
    let json = project.json(&["ask", "protesty w Ałmaty", "-k", "1", "--json"]);
    assert!(texts(&json)[0].contains("Nowa wersja"));
}

#[test]
fn first_ask_builds_the_index_from_seeds() {
    let project = Project::new();
    let out = project.run(&["ask", "Kirgistan", "-k", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("indexing seeds/ first"),
        "{}",
        stderr(&out)
    );
    assert!(project.path().join("index/manifest.json").is_file());
}

#[test]
fn a_killed_build_leaves_the_previous_index_usable() {
    let project = Project::new();
    assert_eq!(project.run(&["index", "--quiet"]).status.code(), Some(0));
    let before = project.json(&["ask", "Kirgistan", "-k", "3", "--json"]);
    // Plenty of new text so the build is still embedding when it is killed.
    let big: String = (0..40)
        .map(|i| {
            format!(
                "Akapit numer {i}. {}\n\n",
                std::fs::read_to_string(project.seed("000")).unwrap()
            )
        })
        .collect();
    std::fs::write(project.path().join("seeds/big.txt"), big).unwrap();
    let mut child = project
        .command(&["index", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the build finished before it could be killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let after = project.json(&["ask", "Kirgistan", "-k", "3", "--json"]);
    assert_eq!(texts(&after), texts(&before));
    let status = project.json(&["status", "--json"]);
    assert_eq!(status["documents"].as_array().unwrap().len(), 5);
    // The next build cleans up and completes.
    let rebuilt = project.json(&["index", "--json", "--quiet"]);
    assert_eq!(rebuilt["documents"], 6);
}

#[test]
fn exit_codes_found_nothing_error() {
    let project = Project::new();
    let empty = project.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("only.pdf"), b"%PDF-1.4").unwrap();
    let out = project.run(&["index", "empty", "--index", "empty-index"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("only.pdf"),
        "skipped files are named: {}",
        stderr(&out)
    );
    let out = project.run(&["ask", "cokolwiek", "--index", "empty-index"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let out = project.run(&["index", "does-not-exist"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does-not-exist"), "{}", stderr(&out));
    let out = project.run(&["index", "--model", "no-such-model"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("multilingual-e5-small"),
        "known models listed: {}",
        stderr(&out)
    );
    let out = project.run(&["ask", "   "]);
    assert_eq!(out.status.code(), Some(2));
    let out = project.run(&["related", "--doc", "seeds/nope.txt", "--paragraph", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not in the index"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_input_files_are_reported_not_fatal() {
    let project = Project::new();
    let docs = project.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(docs.join("ok.md"), "# Tytuł\n\nKrótki, ale prawdziwy akapit o współpracy wojskowej Białorusi i Rosji w 2021 roku.\n").unwrap();
    let mut latin2 = b"Zwi\xb1zek Pa\xf1stwowy Bia\xb3orusi i Rosji oraz wsp\xf3lne manewry wojskowe na poligonach.".to_vec();
    latin2.push(b'\n');
    std::fs::write(docs.join("latin2.txt"), latin2).unwrap();
    std::fs::write(
        docs.join("image.txt"),
        [0x89, b'P', b'N', b'G', 0, 0, 0, 13, 0, 1, 2],
    )
    .unwrap();
    std::fs::write(docs.join("notes.docx"), b"PK\x03\x04").unwrap();
    let out = project.run(&["index", "docs", "--index", "docs-index", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("latin2.txt") && err.contains("UTF-8"), "{err}");
    assert!(err.contains("image.txt") && err.contains("binary"), "{err}");
    assert!(err.contains("notes.docx"), "{err}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["documents"], 2);
}

#[test]
fn an_index_from_other_weights_is_a_clear_error() {
    let project = Project::new();
    assert_eq!(project.run(&["index", "--quiet"]).status.code(), Some(0));
    let manifest_path = project.path().join("index/manifest.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["model"]["sha256"] = Value::String("0".repeat(64));
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let out = project.run(&["ask", "Kirgistan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("akapit index --rebuild"),
        "{}",
        stderr(&out)
    );

    std::fs::write(&manifest_path, "{ not json").unwrap();
    let out = project.run(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--rebuild"), "{}", stderr(&out));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let project = indexed();
    let mut child = project
        .command(&["ask", "Białoruś", "-k", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("error"), "{}", stderr(&out));
}

#[test]
fn the_hugging_face_cache_is_found_offline() {
    let project = Project::new();
    let spec_revision = "614241f622f53c4eeff9890bdc4f31cfecc418b3";
    let hub = project
        .path()
        .join("hf-home/hub/models--intfloat--multilingual-e5-small");
    let snapshot = hub.join("snapshots").join(spec_revision);
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(hub.join("blobs")).unwrap();
    let model = common::default_model_dir();
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::os::unix::fs::symlink(model.join(file), snapshot.join(file)).unwrap();
    }
    let mut command = project.command(&["models", "--json"]);
    command
        .env_remove("AKAPIT_MODEL_DIR")
        .env("HF_HOME", project.path().join("hf-home"));
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e5 = &json["models"][0];
    assert_eq!(e5["name"], "multilingual-e5-small");
    assert!(
        e5["resolved"].as_str().unwrap().ends_with(spec_revision),
        "{e5}"
    );

    // Without the cache and offline, the error names the command that fixes it... after
    // trying the bundle, which needs pip: point it at a python that does not exist.
    let mut command = project.command(&["ask", "Kirgistan"]);
    command
        .env_remove("AKAPIT_MODEL_DIR")
        .env("HF_HOME", project.path().join("empty-hf"))
        .env("AKAPIT_PYTHON", project.path().join("no-python"));
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("HF_HUB_OFFLINE") && err.contains("pip"),
        "{err}"
    );
}

/// `bench --products` times every layer shape of the model asked, for a passage batch and
/// a question, in f32, in this CPU's int8 where it has one, and in candle's q8_0; each
/// product close to f32.
#[test]
fn bench_products_times_each_layer_in_each_arithmetic() {
    let project = Project::new();
    let json = project.json(&[
        "bench",
        "--products",
        "--model",
        "multilingual-e5-small",
        "--json",
    ]);
    assert!(json["cpu"].as_str().is_some_and(|cpu| !cpu.is_empty()));
    let layers = json["layers"].as_array().unwrap();
    // Four layers, each for passages and for a question; e5's only.
    assert_eq!(layers.len(), 8);
    for layer in layers {
        assert_eq!(layer["model"], "multilingual-e5-small");
        let runs = layer["runs"].as_array().unwrap();
        let products: Vec<&str> = runs
            .iter()
            .map(|r| r["product"].as_str().unwrap())
            .collect();
        let int8 = products.iter().any(|p| p.starts_with("int8 ("));
        assert_eq!(int8, cfg!(akapit_cpu_avx2), "{products:?}");
        assert_eq!(products.first(), Some(&"f32"));
        assert_eq!(products.last(), Some(&"candle q8_0 QMatMul"));
        for run in runs {
            assert!(run["gmac_per_s"].as_f64().unwrap() > 0.0, "{run}");
            assert!(
                run["worst_cosine_to_f32"].as_f64().unwrap() > 0.999,
                "{run}"
            );
        }
    }
}
