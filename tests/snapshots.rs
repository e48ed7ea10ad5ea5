//! Snapshots (insta) of what people read: the human output of `ask`, `related`, `status`
//! and `models`, from the real binary on a copy of the seeds. Rankings are keyword-only
//! (`--mode lexical`), whose BM25 scores do not depend on the CPU; what depends on the
//! machine or the moment (temporary paths, times, sizes, checksums, where the model was
//! found) is replaced by a placeholder. `INSTA_UPDATE=always cargo test --release --test
//! snapshots` rewrites them; review the diff before committing it.

mod common;

use std::sync::OnceLock;

use common::project::{stderr, Project};

fn indexed() -> &'static Project {
    static PROJECT: OnceLock<Project> = OnceLock::new();
    PROJECT.get_or_init(|| {
        let project = Project::new();
        let out = project.run(&["index", "--quiet"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        project
    })
}

/// stdout of `akapit ARGS` at a fixed width, which must exit with `code`.
fn output(project: &Project, args: &[&str], code: i32) -> String {
    let out = project
        .command(args)
        .env("COLUMNS", "100")
        .output()
        .expect("akapit runs");
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Placeholders for what differs between machines and runs.
fn filters(project: &Project) -> Vec<(String, String)> {
    let root = project.path().canonicalize().unwrap();
    vec![
        (
            regex_escape(&root.display().to_string()),
            "[PROJECT]".into(),
        ),
        (
            regex_escape(&project.path().display().to_string()),
            "[PROJECT]".into(),
        ),
        (r"\d{4}-\d\d-\d\dT[0-9:.]+Z".into(), "[TIME]".into()),
        (r"\d+\.\d MB on disk".into(), "[SIZE] MB on disk".into()),
        (
            r"weights sha256 [0-9a-f]{12}…".into(),
            "weights sha256 [SHA]…".into(),
        ),
        (
            r"\((bundle:[^,]+|local|[0-9a-f]{40}), 384 dims".into(),
            "([REVISION], 384 dims".into(),
        ),
    ]
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

macro_rules! snapshot {
    ($project:expr, $name:expr, $text:expr) => {{
        let filters = filters($project);
        let filters: Vec<(&str, &str)> = filters
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        insta::with_settings!({filters => filters, prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $text);
        });
    }};
}

#[test]
fn ask_shows_rank_score_place_highlight_and_passage() {
    let project = indexed();
    let text = output(
        project,
        &[
            "ask",
            "Kirgistan wojska Kazachstan",
            "--mode",
            "lexical",
            "-k",
            "3",
        ],
        0,
    );
    snapshot!(project, "ask", text);
}

#[test]
fn related_shows_its_source_then_passages_of_other_documents() {
    let project = indexed();
    let doc = project.seed("004");
    let doc = doc
        .strip_prefix(project.path())
        .unwrap()
        .display()
        .to_string();
    let text = output(
        project,
        &[
            "related",
            "--doc",
            &doc,
            "--paragraph",
            "2",
            "--mode",
            "lexical",
            "-k",
            "2",
        ],
        0,
    );
    snapshot!(project, "related", text);
}

#[test]
fn status_lists_index_model_documents_and_changes() {
    let project = Project::new();
    let out = project.run(&["index", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(project.path().join("seeds/new.md"), "Nowy plik.\n").unwrap();
    std::fs::remove_file(project.seed("002")).unwrap();
    let text = output(&project, &["status"], 0);
    snapshot!(&project, "status", text);
}

#[test]
fn models_lists_every_model_and_where_it_was_looked_for() {
    let project = Project::new();
    let mut command = project.command(&["--precision", "f32", "models"]);
    command
        .env_remove("AKAPIT_MODEL_DIR")
        .env("HF_HOME", project.path().join("hf-home"))
        .env_remove("HF_HUB_CACHE")
        .env_remove("HUGGINGFACE_HUB_CACHE")
        .env("COLUMNS", "100");
    let out = command.output().expect("akapit runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    snapshot!(&project, "models", text);
}
