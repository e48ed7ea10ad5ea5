//! `akapit export` and `akapit embed` with the real binary and the default model on the
//! seeds: the exported vectors, ranked exactly with the vector `embed` prints for a
//! question, give the passages and scores of `ask --mode dense`. (The independent readers,
//! pyarrow, DuckDB and Milvus Lite, are `distributed/test_export.py`, run by `.ci/run`.)

mod common;

use std::collections::HashMap;
use std::fs::File;

use common::project::Project;
use parquet::file::reader::SerializedFileReader;
use parquet::record::{ListAccessor, RowAccessor};

const QUESTIONS: [&str; 3] = [
    "Ile wspólnych działań przewiduje pięcioletni plan współpracy wojskowej?",
    "rosyjskie ćwiczenia wojskowe na Białorusi",
    "What did the two countries agree on?",
];

fn rows(path: &std::path::Path) -> Vec<parquet::record::Row> {
    let reader = SerializedFileReader::new(File::open(path).unwrap()).unwrap();
    reader.into_iter().map(|row| row.unwrap()).collect()
}

#[test]
fn exported_vectors_rank_as_the_index_with_the_vector_embed_prints() {
    let project = Project::new();
    project.json(&["index", "seeds", "--index", "idx", "--json"]);
    let done = project.json(&["export", "out", "--index", "idx", "--json"]);
    assert_eq!(done["documents"], 5, "{done}");
    assert_eq!(done["format"], "parquet", "{done}");
    let out = project.path().join("out");

    // passage id → (document as ask prints it, paragraph)
    let mut passages = HashMap::new();
    for row in rows(&out.join("passages-00000.parquet")) {
        let document = row.get_string(1).unwrap();
        let relative = document
            .strip_prefix(&format!("{}/", project.path().display()))
            .unwrap_or(document)
            .to_string();
        passages.insert(
            row.get_long(0).unwrap(),
            (relative, row.get_long(2).unwrap()),
        );
    }
    assert_eq!(passages.len() as u64, done["passages"].as_u64().unwrap());
    let mut windows = Vec::new();
    for row in rows(&out.join("windows-00000.parquet")) {
        let list = row.get_list(6).unwrap();
        let vector: Vec<f32> = (0..list.len())
            .map(|i| list.get_float(i).unwrap())
            .collect();
        assert_eq!(vector.len(), 384);
        windows.push((row.get_long(1).unwrap(), vector));
    }
    assert_eq!(windows.len() as u64, done["windows"].as_u64().unwrap());

    for question in QUESTIONS {
        let embedded = project.json(&["embed", question, "--index", "idx"]);
        assert_eq!(embedded["question"], question);
        let query: Vec<f32> = embedded["vector"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let mut best: HashMap<i64, f32> = HashMap::new();
        for (passage, vector) in &windows {
            let score: f32 = vector.iter().zip(&query).map(|(a, b)| a * b).sum();
            let entry = best.entry(*passage).or_insert(f32::MIN);
            *entry = entry.max(score);
        }
        let mut exact: Vec<(i64, f32)> = best.into_iter().collect();
        exact.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));

        let asked = project.json(&[
            "ask", question, "--index", "idx", "--mode", "dense", "-k", "10", "--json",
        ]);
        let results = asked["results"].as_array().unwrap();
        assert_eq!(results.len(), 10);
        for (hit, (passage, score)) in results.iter().zip(&exact) {
            let found = (
                hit["doc"].as_str().unwrap().to_string(),
                hit["paragraph"].as_i64().unwrap(),
            );
            let printed = hit["score"].as_f64().unwrap();
            assert!(
                (printed - f64::from(*score)).abs() < 2e-4,
                "{question}: {found:?} {printed} against {score}"
            );
            // Passages whose scores tie to the printed precision may swap places.
            let tied = exact
                .iter()
                .filter(|(_, s)| (f64::from(*s) - printed).abs() < 2e-4)
                .any(|(p, _)| passages[p] == found);
            assert!(
                passages[passage] == found || tied,
                "{question}: akapit ranks {found:?}, the export {:?}",
                passages[passage]
            );
        }
    }
}
