//! The FTS5 half alone, to measure the binary-size cost of linking tantivy.
use akapit::eval::Dataset;
use akapit::text::Analyzer;
use rusqlite::Connection;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = Dataset::read(std::path::Path::new(&args[1])).unwrap();
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE passages (id INTEGER PRIMARY KEY, terms TEXT NOT NULL);
         CREATE VIRTUAL TABLE lexical USING fts5 (terms, content = 'passages',
           content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 0');",
    )
    .unwrap();
    for (i, r) in data.corpus.iter().enumerate() {
        let t = Analyzer::DEFAULT.terms(&r.passage()).join(" ");
        conn.execute(
            "INSERT INTO passages VALUES (?1, ?2)",
            rusqlite::params![i as i64 + 1, t],
        )
        .unwrap();
    }
    conn.execute("INSERT INTO lexical (lexical) VALUES ('rebuild')", [])
        .unwrap();
    let mut n = 0;
    for q in &data.queries {
        let mut terms = Analyzer::DEFAULT.terms(&q.text);
        terms.sort();
        terms.dedup();
        if terms.is_empty() {
            continue;
        }
        let m = terms
            .iter()
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(" OR ");
        let mut st = conn
            .prepare_cached(
                "SELECT rowid FROM lexical WHERE lexical MATCH ?1 ORDER BY bm25(lexical) LIMIT 100",
            )
            .unwrap();
        n += st.query_map([&m], |r| r.get::<_, i64>(0)).unwrap().count();
    }
    println!("{}", serde_json::json!({"hits": n}));
}
