//! FTS5 vs tantivy on the same pre-analysed terms (akapit's analyzer).
//!
//! usage: tantivy-probe DATASET_DIR OUT_DIR [REPLICATE]
//! Writes OUT_DIR/run-fts5.jsonl, OUT_DIR/run-tantivy.jsonl and prints one JSON line of
//! timings/sizes per engine. REPLICATE > 1 copies the corpus N times (ids suffixed) for a
//! latency/size scaling check; quality numbers from such runs are meaningless.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use akapit::eval::Dataset;
use akapit::text::Analyzer;
use rusqlite::{Connection, OpenFlags};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST};
use tantivy::{Index, IndexWriter, ReloadPolicy, TantivyDocument, Term};

const K: usize = 100;
const PASSES: usize = 3;

fn dir_size(p: &Path) -> u64 {
    let mut total = 0;
    if p.is_file() {
        return std::fs::metadata(p).unwrap().len();
    }
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        total += if m.is_dir() {
            dir_size(&e.path())
        } else {
            m.len()
        };
    }
    total
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn unique(terms: &[String]) -> Vec<&str> {
    let mut u: Vec<&str> = terms.iter().map(String::as_str).collect();
    u.sort_unstable();
    u.dedup();
    u
}

/// akapit's schema subset: the passages table (text + terms) and the external-content FTS5
/// table, same pragmas and tokenizer.
const FTS_SCHEMA: &str = "
    PRAGMA page_size = 16384;
    PRAGMA journal_mode = MEMORY;
    PRAGMA synchronous = OFF;
    CREATE TABLE passages (
        id    INTEGER PRIMARY KEY,
        text  TEXT NOT NULL,
        terms TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE lexical USING fts5 (
        terms, content = 'passages', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 0'
    );
";

fn fts_query(conn: &Connection, terms: &[String]) -> Vec<(u64, f32)> {
    // Exactly PassageDb::lexical_search without only_docs.
    let unique = unique(terms);
    if unique.is_empty() {
        return Vec::new();
    }
    let query = unique
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = format!(
        "SELECT rowid, bm25(lexical) FROM lexical WHERE lexical MATCH ?1 ORDER BY bm25(lexical), rowid LIMIT {K}"
    );
    let mut stmt = conn.prepare_cached(&sql).unwrap();
    stmt.query_map([&query], |row| {
        Ok((row.get::<_, i64>(0)? as u64, -row.get::<_, f64>(1)? as f32))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

struct Tv {
    searcher: tantivy::Searcher,
    field: tantivy::schema::Field,
    ids: Vec<tantivy::columnar::Column<u64>>,
}

impl Tv {
    fn query(&self, terms: &[String]) -> Vec<(u64, f32)> {
        let unique = unique(terms);
        if unique.is_empty() {
            return Vec::new();
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = unique
            .iter()
            .map(|t| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(self.field, t),
                    IndexRecordOption::WithFreqs,
                ));
                (Occur::Should, q)
            })
            .collect();
        let q = BooleanQuery::new(clauses);
        let top = self
            .searcher
            .search(&q, &TopDocs::with_limit(K).order_by_score())
            .unwrap();
        top.into_iter()
            .map(|(s, a)| (self.ids[a.segment_ord as usize].first(a.doc_id).unwrap(), s))
            .collect()
    }
}

fn build_tantivy(dir: &Path, docs: &[String], positions: bool) -> f64 {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let t0 = Instant::now();
    let mut sb = Schema::builder();
    let rec = if positions {
        IndexRecordOption::WithFreqsAndPositions
    } else {
        IndexRecordOption::WithFreqs
    };
    let opts = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("whitespace")
            .set_index_option(rec),
    );
    let terms = sb.add_text_field("terms", opts);
    let id = sb.add_u64_field("id", FAST);
    let index = Index::create_in_dir(dir, sb.build()).unwrap();
    let mut w: IndexWriter = index.writer_with_num_threads(1, 50_000_000).unwrap();
    for (i, t) in docs.iter().enumerate() {
        let mut d = TantivyDocument::default();
        d.add_text(terms, t);
        d.add_u64(id, i as u64 + 1);
        w.add_document(d).unwrap();
    }
    w.commit().unwrap();
    w.wait_merging_threads().unwrap();
    t0.elapsed().as_secs_f64()
}

fn open_tantivy(dir: &Path) -> Tv {
    let index = Index::open_in_dir(dir).unwrap();
    let field = index.schema().get_field("terms").unwrap();
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .unwrap();
    let searcher = reader.searcher();
    let ids = searcher
        .segment_readers()
        .iter()
        .map(|s| s.fast_fields().u64("id").unwrap())
        .collect();
    Tv {
        searcher,
        field,
        ids,
    }
}

fn time_queries(
    queries: &[Vec<String>],
    mut f: impl FnMut(&[String]) -> Vec<(u64, f32)>,
) -> Vec<f64> {
    for q in queries {
        std::hint::black_box(f(q)); // warm-up pass
    }
    let mut ms = Vec::with_capacity(queries.len() * PASSES);
    for _ in 0..PASSES {
        for q in queries {
            let t = Instant::now();
            std::hint::black_box(f(q));
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    ms
}

fn write_run(path: &Path, qids: &[String], results: &[Vec<(u64, f32)>], doc_ids: &[String]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for (qid, res) in qids.iter().zip(results) {
        let ids: Vec<&str> = res
            .iter()
            .map(|(r, _)| doc_ids[*r as usize - 1].as_str())
            .collect();
        writeln!(
            f,
            "{}",
            serde_json::json!({"query_id": qid, "results": ids})
        )
        .unwrap();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data_dir = PathBuf::from(&args[1]);
    let out = PathBuf::from(&args[2]);
    let replicate: usize = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(1);
    std::fs::create_dir_all(&out).unwrap();
    let data = Dataset::read(&data_dir).unwrap();
    let analyzer = Analyzer::DEFAULT;

    let mut doc_ids = Vec::new();
    let mut texts = Vec::new();
    let mut terms = Vec::new();
    let ta = Instant::now();
    for r in 0..replicate {
        for rec in &data.corpus {
            let text = rec.passage();
            terms.push(analyzer.terms(&text).join(" "));
            texts.push(text);
            doc_ids.push(if r == 0 {
                rec.id.clone()
            } else {
                format!("{}#{r}", rec.id)
            });
        }
    }
    let analyse_s = ta.elapsed().as_secs_f64();
    let qids: Vec<String> = data.queries.iter().map(|q| q.id.clone()).collect();
    let qterms: Vec<Vec<String>> = data
        .queries
        .iter()
        .map(|q| analyzer.terms(&q.text))
        .collect();
    let n_tokens: usize = terms
        .iter()
        .map(|t| t.split(' ').filter(|s| !s.is_empty()).count())
        .sum();
    eprintln!(
        "{}: {} passages ({} term tokens), {} queries, analysis {:.3}s",
        data_dir.display(),
        terms.len(),
        n_tokens,
        qids.len(),
        analyse_s
    );

    // ---- FTS5 ----
    let db = out.join("fts.sqlite");
    let _ = std::fs::remove_file(&db);
    let t0 = Instant::now();
    let mut conn = Connection::open(&db).unwrap();
    conn.execute_batch(FTS_SCHEMA).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut ins = tx
            .prepare_cached("INSERT INTO passages (id, text, terms) VALUES (?1, ?2, ?3)")
            .unwrap();
        for (i, (text, t)) in texts.iter().zip(&terms).enumerate() {
            ins.execute(rusqlite::params![i as i64 + 1, text, t])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    let t_rows = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    conn.execute("INSERT INTO lexical (lexical) VALUES ('rebuild')", [])
        .unwrap();
    let t_rebuild = t1.elapsed().as_secs_f64();
    // dbstat: bytes per table, to separate the keyword index from the stored text.
    let mut sizes: HashMap<String, i64> = HashMap::new();
    if let Ok(mut st) = conn.prepare("SELECT name, sum(pgsize) FROM dbstat GROUP BY name") {
        for row in st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .unwrap()
        {
            let (n, s) = row.unwrap();
            sizes.insert(n, s);
        }
    }
    drop(conn);
    let fts_file = dir_size(&db);
    let fts_shadow: i64 = sizes
        .iter()
        .filter(|(n, _)| n.starts_with("lexical"))
        .map(|(_, s)| s)
        .sum();
    // Bytes of the terms column alone (FTS5 external content reads it back on rebuild; a
    // tantivy-backed akapit would not need to store it).
    let terms_bytes: usize = terms.iter().map(|t| t.len()).sum();

    let t_open = Instant::now();
    let ro = Connection::open_with_flags(
        &db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap();
    let first = fts_query(&ro, &qterms[0]);
    let fts_open_ms = t_open.elapsed().as_secs_f64() * 1e3;
    std::hint::black_box(first);
    let fts_results: Vec<_> = qterms.iter().map(|q| fts_query(&ro, q)).collect();
    let fts_lat = time_queries(&qterms, |q| fts_query(&ro, q));
    write_run(&out.join("run-fts5.jsonl"), &qids, &fts_results, &doc_ids);
    println!(
        "{}",
        serde_json::json!({
            "engine": "fts5", "passages": terms.len(),
            "build_s": t_rows + t_rebuild, "rows_s": t_rows, "rebuild_s": t_rebuild,
            "file_bytes": fts_file, "fts_shadow_bytes": fts_shadow, "terms_col_bytes": terms_bytes,
            "tables": sizes,
            "open_first_query_ms": fts_open_ms,
            "p50_ms": pct(&fts_lat, 0.5), "p95_ms": pct(&fts_lat, 0.95),
        })
    );
    drop(ro);

    // ---- tantivy ----
    let tdir = out.join("tantivy");
    let t_build = build_tantivy(&tdir, &terms, false);
    let t_size = dir_size(&tdir);
    let t_open = Instant::now();
    let tv = open_tantivy(&tdir);
    let first = tv.query(&qterms[0]);
    let tv_open_ms = t_open.elapsed().as_secs_f64() * 1e3;
    std::hint::black_box(first);
    let segs = tv.searcher.segment_readers().len();
    let tv_results: Vec<_> = qterms.iter().map(|q| tv.query(q)).collect();
    let tv_lat = time_queries(&qterms, |q| tv.query(q));
    write_run(&out.join("run-tantivy.jsonl"), &qids, &tv_results, &doc_ids);
    drop(tv);
    let pdir = out.join("tantivy-pos");
    let p_build = build_tantivy(&pdir, &terms, true);
    let p_size = dir_size(&pdir);
    println!(
        "{}",
        serde_json::json!({
            "engine": "tantivy", "passages": terms.len(), "segments": segs,
            "build_s": t_build, "dir_bytes": t_size,
            "with_positions_build_s": p_build, "with_positions_dir_bytes": p_size,
            "open_first_query_ms": tv_open_ms,
            "p50_ms": pct(&tv_lat, 0.5), "p95_ms": pct(&tv_lat, 0.95),
        })
    );

    // Agreement between the two rankings: top-10 overlap, same top-1.
    let mut overlap = 0.0;
    let mut same1 = 0;
    for (a, b) in fts_results.iter().zip(&tv_results) {
        let a10: Vec<u64> = a.iter().take(10).map(|x| x.0).collect();
        let b10: Vec<u64> = b.iter().take(10).map(|x| x.0).collect();
        if !a10.is_empty() || !b10.is_empty() {
            let inter = a10.iter().filter(|x| b10.contains(x)).count();
            overlap += inter as f64 / a10.len().max(b10.len()) as f64;
        }
        if a.first().map(|x| x.0) == b.first().map(|x| x.0) {
            same1 += 1;
        }
    }
    println!(
        "{}",
        serde_json::json!({"agreement": {"top10_overlap": overlap / qids.len() as f64,
            "same_top1": same1 as f64 / qids.len() as f64}})
    );
}
