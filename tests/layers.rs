//! The architecture, checked: every module under `src/` sits on a layer of the table in
//! ARCHITECTURE.md and imports only from layers below its own; files in one folder never
//! import each other in a circle; and `unsafe` appears only in `src/embed/ops/`, with a
//! `# Safety` section on every unsafe fn. Reads the source as text; runs nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The layer of each top-level module, from the ```layers block of ARCHITECTURE.md:
/// one line per layer, `N name name …`, the highest first.
fn layers() -> BTreeMap<String, u32> {
    let text = std::fs::read_to_string(src().join("../ARCHITECTURE.md")).unwrap();
    let block = text
        .split("```layers\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("ARCHITECTURE.md has a ```layers block");
    let mut layers = BTreeMap::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let layer: u32 = words.next().unwrap().parse().expect("a layer number");
        for module in words {
            let earlier = layers.insert(module.to_string(), layer);
            assert!(
                earlier.is_none(),
                "{module} is listed twice in ARCHITECTURE.md"
            );
        }
    }
    layers
}

/// The module path of a file: `src/embed/ops/bf16.rs` → `[embed, ops, bf16]`,
/// `src/embed/mod.rs` → `[embed]`, `src/main.rs` → `[main]`, `src/lib.rs` → `[]`.
fn module_path(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The code of a file without comments and without its unit tests (which by this crate's
/// habit close the file after `#[cfg(test)]`).
fn code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Sep,
    Open,
    Close,
    Comma,
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ':' if chars.peek() == Some(&':') => {
                chars.next();
                out.push(Token::Sep);
            }
            '{' => out.push(Token::Open),
            '}' => out.push(Token::Close),
            ',' => out.push(Token::Comma),
            '*' => out.push(Token::Word("*".into())),
            c if c.is_alphanumeric() || c == '_' => {
                let mut word = c.to_string();
                while let Some(&n) = chars.peek().filter(|n| n.is_alphanumeric() || **n == '_') {
                    word.push(n);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
            _ => {}
        }
    }
    out
}

/// Expands a use tree (`crate::{a, b::{c, d as e}}`) into its paths.
fn expand(tokens: &[Token], at: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    while *at < tokens.len() {
        match &tokens[*at] {
            Token::Word(word) if word == "as" => {
                *at += 2;
            }
            Token::Word(word) => {
                path.push(word.clone());
                *at += 1;
            }
            Token::Sep => *at += 1,
            Token::Open => {
                *at += 1;
                loop {
                    expand(tokens, at, &path, out);
                    match tokens.get(*at) {
                        Some(Token::Comma) => *at += 1,
                        _ => break,
                    }
                    if tokens.get(*at) == Some(&Token::Close) {
                        break;
                    }
                }
                *at += 1;
                return;
            }
            Token::Close | Token::Comma => break,
        }
    }
    out.push(path);
}

/// Every crate-internal path a file names, resolved to an absolute module path (the
/// crate's modules from the root; `akapit::` in the binary counts as the crate).
fn references(file: &Path) -> Vec<Vec<String>> {
    let code = code(file);
    let here = module_path(file);
    let mut raw = Vec::new();
    for statement in code.split(';') {
        if let Some(at) = statement.find("use ") {
            let toks = tokens(&statement[at + 4..]);
            expand(&toks, &mut 0, &[], &mut raw);
        }
    }
    let toks = tokens(&code);
    for (i, token) in toks.iter().enumerate() {
        if let Token::Word(word) = token {
            let starts = matches!(word.as_str(), "crate" | "super" | "akapit");
            let previous_is_sep = i > 0 && toks[i - 1] == Token::Sep;
            if starts && !previous_is_sep && toks.get(i + 1) == Some(&Token::Sep) {
                let mut path = vec![word.clone()];
                let mut j = i + 1;
                while toks.get(j) == Some(&Token::Sep) {
                    match toks.get(j + 1) {
                        Some(Token::Word(w)) => path.push(w.clone()),
                        _ => break,
                    }
                    j += 2;
                }
                raw.push(path);
            }
        }
    }
    raw.into_iter()
        .filter_map(|path| {
            let first = path.first()?.as_str();
            match first {
                "crate" | "akapit" => Some(path[1..].to_vec()),
                "super" => {
                    let ups = path.iter().take_while(|p| *p == "super").count();
                    let base = here.len().checked_sub(ups)?;
                    let mut resolved = here[..base].to_vec();
                    resolved.extend(path[ups..].iter().cloned());
                    Some(resolved)
                }
                _ => None,
            }
        })
        .filter(|path| !path.is_empty())
        .collect()
}

#[test]
fn every_module_imports_only_from_layers_below_it() {
    let layers = layers();
    let mut violations = Vec::new();
    let mut unplaced = BTreeSet::new();
    for file in rust_files(&src()) {
        let here = module_path(&file);
        let Some(top) = here.first() else { continue };
        let Some(&own) = layers.get(top) else {
            unplaced.insert(top.clone());
            continue;
        };
        for path in references(&file) {
            let target = &path[0];
            if target == top || !layers.contains_key(target) {
                continue;
            }
            let theirs = layers[target];
            if theirs >= own {
                violations.push(format!(
                    "{} (layer {own}) uses {} (layer {theirs})",
                    file.strip_prefix(src()).unwrap().display(),
                    path.join("::")
                ));
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules missing from the layers table in ARCHITECTURE.md: {unplaced:?}"
    );
    violations.sort();
    violations.dedup();
    assert!(
        violations.is_empty(),
        "imports that do not point down:\n{}",
        violations.join("\n")
    );
}

#[test]
fn every_layered_module_exists() {
    for module in layers().keys() {
        let file = src().join(format!("{module}.rs"));
        let folder = src().join(module);
        assert!(
            file.is_file() || folder.is_dir(),
            "ARCHITECTURE.md lists {module}, which src/ does not have"
        );
    }
}

/// For one folder: which of its parts (files other than mod.rs, and subfolders) use which.
fn sibling_edges(folder: &[String]) -> BTreeMap<String, BTreeSet<String>> {
    let dir = folder.iter().fold(src(), |p, c| p.join(c));
    let part_of = |path: &[String]| -> Option<String> {
        if path.len() <= folder.len() || path[..folder.len()] != *folder {
            return None;
        }
        let name = &path[folder.len()];
        (dir.join(format!("{name}.rs")).is_file() || dir.join(name).is_dir()).then(|| name.clone())
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&dir) {
        let Some(from) = part_of(&module_path(&file)) else {
            continue;
        };
        for path in references(&file) {
            if let Some(to) = part_of(&path).filter(|to| *to != from) {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    edges
}

fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut HashMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, edges, state, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = HashMap::new();
    for node in edges.keys() {
        if !state.contains_key(node) {
            if let Some(cycle) = visit(node, edges, &mut state, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

#[test]
fn no_files_of_one_folder_import_each_other_in_a_circle() {
    let mut folders: BTreeSet<Vec<String>> = BTreeSet::new();
    for file in rust_files(&src()) {
        let path = module_path(&file);
        for depth in 1..path.len() {
            folders.insert(path[..depth].to_vec());
        }
    }
    for folder in folders {
        let edges = sibling_edges(&folder);
        if let Some(cycle) = find_cycle(&edges) {
            panic!("in src/{}: {}", folder.join("/"), cycle.join(" -> "));
        }
    }
}

#[test]
fn the_checker_sees_imports_and_circles() {
    let code =
        "use crate::{a::B, c::{d, e as f}};\nuse super::super::g;\nfn x() { crate::h::i(); }";
    let mut paths = Vec::new();
    for statement in code.split(';') {
        if let Some(at) = statement.find("use ") {
            expand(&tokens(&statement[at + 4..]), &mut 0, &[], &mut paths);
        }
    }
    assert_eq!(
        paths,
        [
            vec!["crate", "a", "B"],
            vec!["crate", "c", "d"],
            vec!["crate", "c", "e"],
            vec!["super", "super", "g"],
        ]
    );
    let edges = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
    let references = references(&src().join("commands/ask.rs"));
    assert!(
        references.iter().any(|p| p[0] == "answer"),
        "{references:?}"
    );
}

#[test]
fn unsafe_code_lives_in_embed_ops_and_says_why_it_is_safe() {
    let ops = src().join("embed/ops");
    for file in rust_files(&src()) {
        let text = std::fs::read_to_string(&file).unwrap();
        let in_ops = file.starts_with(&ops);
        let code = code(&file);
        if !in_ops {
            assert!(
                !tokens(&code).contains(&Token::Word("unsafe".into())),
                "{}: unsafe code outside src/embed/ops",
                file.display()
            );
            continue;
        }
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.contains("unsafe fn ") || line.trim_start().starts_with("//") {
                continue;
            }
            let docs: Vec<&str> = lines[..i]
                .iter()
                .rev()
                .take_while(|l| {
                    let l = l.trim_start();
                    l.starts_with("///") || l.starts_with("#[")
                })
                .copied()
                .collect();
            assert!(
                docs.iter().any(|l| l.contains("# Safety")),
                "{}:{}: an unsafe fn without a `# Safety` section",
                file.display(),
                i + 1
            );
        }
    }
}
