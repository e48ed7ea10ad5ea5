//! Run files: one JSON object per query, `{"query_id": …, "results": [corpus ids, best
//! first]}`, the form BEIR-style scorers read (`tests/fixtures/pytrec_score.py` turns it
//! into trec_eval's input).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;

use super::{Error, Result};

/// Writes `run` (query id → ranked corpus ids) for the queries in `order`; a query with
/// no entry gets an empty list.
pub fn write_run(path: &Path, run: &HashMap<String, Vec<String>>, order: &[String]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    for query in order {
        let results = run.get(query).map(Vec::as_slice).unwrap_or_default();
        writeln!(
            out,
            "{}",
            serde_json::json!({ "query_id": query, "results": results })
        )
        .map_err(io)?;
    }
    out.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_query_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let run = HashMap::from([("q2".to_string(), vec!["d1".to_string(), "d2".to_string()])]);
        write_run(&path, &run, &["q1".into(), "q2".into()]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\"query_id\":\"q1\",\"results\":[]}\n{\"query_id\":\"q2\",\"results\":[\"d1\",\"d2\"]}\n"
        );
    }
}
