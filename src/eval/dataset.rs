//! A BEIR-style evaluation set: `corpus.jsonl` (`_id`, `title`, `text`), `queries.jsonl`
//! (`_id`, `text`) and `qrels.tsv` (`query-id`, `corpus-id`, `score`), read with errors
//! that name the file and line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Error, Result};

/// One corpus record: indexed as one passage (title and text together).
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default)]
    pub title: String,
    pub text: String,
}

impl Record {
    /// The passage text: `Title. Text` when there is a title.
    pub fn passage(&self) -> String {
        let title = self.title.trim();
        let text = self.text.trim();
        if title.is_empty() {
            text.to_string()
        } else if title.ends_with(['.', '!', '?']) {
            format!("{title} {text}")
        } else {
            format!("{title}. {text}")
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct EvalQuery {
    #[serde(rename = "_id")]
    pub id: String,
    pub text: String,
}

/// Relevant corpus ids (with their gain) for each query id.
pub type Qrels = HashMap<String, HashMap<String, f64>>;

/// A BEIR-style set.
pub struct Dataset {
    pub dir: PathBuf,
    pub corpus: Vec<Record>,
    pub queries: Vec<EvalQuery>,
    pub qrels: Qrels,
}

fn format_error(path: &Path, line: usize, reason: impl std::fmt::Display) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        line,
        reason: reason.to_string(),
    }
}

fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let text = read_to_string(path)?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| format_error(path, i + 1, e)))
        .collect()
}

fn read_qrels(path: &Path) -> Result<Qrels> {
    let text = read_to_string(path)?;
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = lines
        .next()
        .map(|(_, l)| l.split('\t').collect())
        .unwrap_or_default();
    if header.get(..2) != Some(&["query-id", "corpus-id"][..]) {
        return Err(format_error(
            path,
            1,
            "expected the header query-id<TAB>corpus-id<TAB>score",
        ));
    }
    let mut qrels = Qrels::new();
    for (i, line) in lines.filter(|(_, l)| !l.is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [query, doc, score] = fields[..] else {
            return Err(format_error(path, i + 1, "expected 3 tab-separated fields"));
        };
        let score: f64 = score
            .parse()
            .map_err(|_| format_error(path, i + 1, format!("`{score}` is not a number")))?;
        if score > 0.0 {
            qrels
                .entry(query.to_string())
                .or_default()
                .insert(doc.to_string(), score);
        }
    }
    Ok(qrels)
}

impl Dataset {
    pub fn read(dir: &Path) -> Result<Dataset> {
        Ok(Dataset {
            dir: dir.to_path_buf(),
            corpus: read_jsonl(&dir.join("corpus.jsonl"))?,
            queries: read_jsonl(&dir.join("queries.jsonl"))?,
            qrels: read_qrels(&dir.join("qrels.tsv"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("corpus.jsonl"),
            "{\"_id\": \"a\", \"text\": \"x\"}\n{oops}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("queries.jsonl"), "").unwrap();
        std::fs::write(dir.path().join("qrels.tsv"), "query-id\tcorpus-id\tscore\n").unwrap();
        let err = Dataset::read(dir.path()).err().unwrap().to_string();
        assert!(err.contains("corpus.jsonl:2"), "{err}");
    }

    #[test]
    fn titles_lead_the_passage() {
        let r = Record {
            id: "1".into(),
            title: "Karol XVI Gustaw".into(),
            text: "Mały książę.".into(),
        };
        assert_eq!(r.passage(), "Karol XVI Gustaw. Mały książę.");
        let r = Record {
            id: "2".into(),
            title: String::new(),
            text: " Tekst ".into(),
        };
        assert_eq!(r.passage(), "Tekst");
    }

    proptest::proptest! {
        /// An evaluation set of any bytes is read or refused with a message, never a panic.
        #[test]
        fn any_set_files_are_read_or_refused(
            corpus in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            queries in "[\\PC\t\n{}\":,]{0,200}",
            qrels in "(query-id\tcorpus-id\tscore\n)?[a-z0-9\t\n.-]{0,120}",
        ) {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("corpus.jsonl"), &corpus).unwrap();
            std::fs::write(dir.path().join("queries.jsonl"), &queries).unwrap();
            std::fs::write(dir.path().join("qrels.tsv"), &qrels).unwrap();
            if let Err(e) = Dataset::read(dir.path()) {
                proptest::prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}
