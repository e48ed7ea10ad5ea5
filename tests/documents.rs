//! Real documents, with the real model: the seed articles given as PDF, HTML and DOCX pass the
//! same quality bar as the text files and are cited by page and section; the poquad-dev
//! passages rendered into PDFs retrieve as well as the same text in plain files; bad input
//! is skipped with a warning naming the file and why, and the rest is indexed.
//! The documents are made by tests/documents/make.py (their true text is beside them).

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use akapit::embed::{Model, Precision};
use akapit::eval::{self, Dataset, EvalQuery};

use akapit::search::hybrid::Fusion;
use akapit::search::{self, Mode, Query};
use akapit::store::Index;
use common::project::{stderr, texts, Project, QUALITY};

fn documents() -> PathBuf {
    common::repo_root().join("tests/documents")
}

fn indexed(folder: &str) -> Project {
    let project = Project::with_documents(&documents().join(folder));
    let out = project.run(&["index", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    project
}

fn quality_bar(folder: &str) -> Project {
    let project = indexed(folder);
    let mut failures = Vec::new();
    for (question, expected) in QUALITY {
        let json = project.json(&["ask", question, "-k", "3", "--json"]);
        if !texts(&json).iter().any(|t| t.contains(expected)) {
            failures.push(format!("{question} → {expected:?} not in top 3"));
        }
    }
    assert!(failures.is_empty(), "{folder}:\n{}", failures.join("\n"));
    project
}

#[test]
fn seeds_as_pdf_pass_the_quality_bar_cited_by_page_and_section() {
    let project = quality_bar("seeds-pdf");
    let json = project.json(&[
        "ask",
        "Dlaczego Łukaszenka zwolnił część więźniów?",
        "--json",
    ]);
    let top = &json["results"][0];
    assert!(top["doc"].as_str().unwrap().ends_with(".pdf"), "{top}");
    assert!(top["page"].as_u64().is_some_and(|p| p >= 1), "{top}");
    assert!(
        top["start_line"].is_null() && top["end_line"].is_null(),
        "{top}"
    );
    assert!(top["section"].as_str().is_some(), "{top}");
    for hit in json["results"].as_array().unwrap() {
        let text = hit["text"].as_str().unwrap();
        assert!(
            !text.contains("Ośrodek Analiz Wschodnich"),
            "running header in {text}"
        );
    }
    // The human output cites the page and the heading.
    let out = project.run(&[
        "ask",
        "Dlaczego Łukaszenka zwolnił część więźniów?",
        "-k",
        "1",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(".pdf p. "), "{text}");
    assert!(
        text.contains("\"Dlaczego Łukaszenka zwolnił część więźniów?\" ¶"),
        "{text}"
    );

    // `show` prints the hit in its place: the passage asked for between its neighbours, and
    // the passages of a page.
    let doc = top["doc"].as_str().unwrap();
    let paragraph = top["paragraph"].as_u64().unwrap().to_string();
    let shown = project.json(&["show", doc, "--paragraph", &paragraph, "--json"]);
    let passages = shown["passages"].as_array().unwrap();
    let target: Vec<_> = passages.iter().filter(|p| p["target"] == true).collect();
    assert_eq!(target.len(), 1, "{shown}");
    assert_eq!(target[0]["text"], top["text"]);
    assert!(passages.len() >= 2, "{shown}");
    let page = top["page"].as_u64().unwrap().to_string();
    let on_page = project.json(&["show", doc, "--page", &page, "--json"]);
    assert!(on_page["passages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["page"].as_u64().unwrap().to_string() == page));
    let out = project.run(&["show", doc, "--page", "999"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("page 999"), "{}", stderr(&out));
}

#[test]
fn seeds_as_html_pass_the_quality_bar_without_site_furniture() {
    let project = quality_bar("seeds-html");
    let boilerplate = std::fs::read_to_string(documents().join("boilerplate.txt")).unwrap();
    let shown = project.json(&["show", "seeds/002_f2bc2df27e4cd157.html", "--json"]);
    assert_eq!(shown["format"], "html");
    for passage in shown["passages"].as_array().unwrap() {
        let text = passage["text"].as_str().unwrap();
        for phrase in boilerplate.lines().filter(|l| !l.is_empty()) {
            assert!(!text.contains(phrase), "{phrase:?} in {text}");
        }
    }
    // 001 is in windows-1250, declared in a <meta>.
    let shown = project.json(&["show", "seeds/001_79404beda8656f54.html", "--json"]);
    assert!(shown["passages"][0]["text"].as_str().unwrap().contains('ł'));
}

#[test]
fn seeds_as_docx_pass_the_quality_bar() {
    let project = quality_bar("seeds-docx");
    let shown = project.json(&["show", "seeds/003_4957006f09dcbc72.docx", "--json"]);
    assert_eq!(shown["format"], "docx");
    assert_eq!(shown["title"], "Piąta tura rozmów amerykańsko-białoruskich");
    // No passage is a heading alone.
    for passage in shown["passages"].as_array().unwrap() {
        assert!(passage["text"].as_str().unwrap().len() > 120, "{passage}");
    }
}

/// Corpus passage ids by the 8-word shingles of their text, to tell which passage of the
/// corpus a passage found in a file holds.
struct Shingles(HashMap<String, String>);

const SHINGLE: usize = 8;

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl Shingles {
    fn new(data: &Dataset) -> Self {
        let mut map = HashMap::new();
        for record in &data.corpus {
            for shingle in words(&record.text).windows(SHINGLE) {
                map.insert(shingle.join(" "), record.id.clone());
            }
        }
        Shingles(map)
    }

    /// The corpus passage sharing the most shingles with `text`.
    fn id_of(&self, text: &str) -> Option<String> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for shingle in words(text).windows(SHINGLE) {
            if let Some(id) = self.0.get(&shingle.join(" ")) {
                *counts.entry(id).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .max_by_key(|&(id, n)| (n, std::cmp::Reverse(id)))
            .map(|(id, _)| id.to_string())
    }
}

/// nDCG@10 of the default ranking over the index in `project`, passages mapped back to
/// corpus ids.
fn ndcg(project: &Project, data: &Dataset, queries: &[&EvalQuery], model: &Model) -> f64 {
    let index = Index::open(&project.path().join("index")).unwrap().unwrap();
    let analyzer = index.manifest().analyzer.parse().unwrap();
    let shingles = Shingles::new(data);
    let mut run = HashMap::new();
    for q in queries {
        let query = Query::new(&q.text, Some(model), analyzer).unwrap();
        let ranked =
            search::rank(&index, &query, Mode::DEFAULT, Fusion::DEFAULT, 20, None).unwrap();
        let mut ids: Vec<String> = Vec::new();
        for r in ranked {
            let passage = index.passage(r.id).unwrap();
            if let Some(id) = shingles.id_of(&passage.text) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        run.insert(q.id.clone(), ids);
    }
    let judged: Vec<String> = queries.iter().map(|q| q.id.clone()).collect();
    eval::score(&data.qrels, &run, &judged).ndcg10
}

/// The poquad-dev passages in PDFs of about 20 passages each (one-column, running header,
/// page numbers, hyphenated line ends) against the same text in plain files.
#[test]
fn poquad_in_pdfs_retrieves_as_well_as_the_same_text_in_plain_files() {
    let data = Dataset::read(&common::repo_root().join("eval/poquad-dev")).unwrap();
    let groups: HashMap<String, Vec<(String, Vec<String>)>> = serde_json::from_str(
        &std::fs::read_to_string(documents().join("poquad-pdf/groups.json")).unwrap(),
    )
    .unwrap();
    let text_of: HashMap<&str, &str> = data
        .corpus
        .iter()
        .map(|r| (r.id.as_str(), r.text.as_str()))
        .collect();
    // The plain version: each file's articles as Markdown, the file's title and each
    // article's title as headings (as the PDFs set them), one paragraph per line with blank
    // lines between.
    let plain = tempfile::tempdir().unwrap();
    for (name, articles) in &groups {
        let mut file = std::fs::File::create(plain.path().join(format!("{name}.md"))).unwrap();
        writeln!(file, "# {}\n", articles[0].0).unwrap();
        for (title, ids) in articles {
            writeln!(file, "## {title}\n").unwrap();
            for id in ids {
                writeln!(file, "{}\n", text_of[id.as_str()]).unwrap();
            }
        }
    }
    let pdfs = indexed("poquad-pdf");
    let texts = Project::with_documents(plain.path());
    let out = texts.run(&["index", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let model = Model::load(common::default_model(), Precision::Auto).unwrap();
    // Every third judged query: 500 of 1500, enough to see a difference of 0.01.
    let queries: Vec<_> = data
        .queries
        .iter()
        .filter(|q| data.qrels.contains_key(&q.id))
        .step_by(3)
        .collect();
    let from_pdf = ndcg(&pdfs, &data, &queries, &model);
    let from_text = ndcg(&texts, &data, &queries, &model);
    println!(
        "poquad-dev, {} queries, nDCG@10: PDF {from_pdf:.4}, plain text {from_text:.4}",
        queries.len()
    );
    assert!(
        (from_pdf - from_text).abs() <= 0.01,
        "PDF {from_pdf:.4} against plain text {from_text:.4}"
    );
}

/// A DOCX whose document part inflates to `bytes` zeros.
fn zip_bomb(path: &Path, bytes: usize) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default().large_file(true);
    zip.start_file("[Content_Types].xml", options).unwrap();
    zip.write_all(b"<Types/>").unwrap();
    zip.start_file("word/document.xml", options).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..bytes >> 20 {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap();
}

/// A DOCX whose XML declares entities that expand a billion times.
fn billion_laughs(path: &Path) {
    let mut entities = String::from("<!ENTITY l0 \"lol\">");
    for i in 1..10 {
        let refs = format!("&l{};", i - 1).repeat(10);
        entities.push_str(&format!("<!ENTITY l{i} \"{refs}\">"));
    }
    let xml = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE d [{entities}]><w:document xmlns:w=\"w\"><w:body><w:p><w:r><w:t>&l9; Jedyny akapit tego dokumentu mówi o śmiechu, który nie rośnie wykładniczo, bo encje nie są rozwijane.</w:t></w:r></w:p></w:body></w:document>"
    );
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("word/document.xml", options).unwrap();
    zip.write_all(xml.as_bytes()).unwrap();
    zip.finish().unwrap();
}

#[test]
fn bad_documents_are_skipped_with_a_reason_and_the_rest_is_indexed() {
    let project = Project::with_documents(&documents().join("seeds-docx"));
    let seeds = project.path().join("seeds");
    for name in ["encrypted.pdf", "truncated.pdf", "scanned.pdf"] {
        std::fs::copy(documents().join("bad").join(name), seeds.join(name)).unwrap();
    }
    zip_bomb(&seeds.join("bomb.docx"), 300 << 20);
    billion_laughs(&seeds.join("laughs.docx"));
    let mut page = String::from("<!DOCTYPE html><html><body>");
    while page.len() < 50 << 20 {
        page.push_str("<p>Akapit bardzo dużej strony, powtarzany do znudzenia.</p>");
    }
    std::fs::write(seeds.join("huge.html"), page).unwrap();
    std::fs::write(
        seeds.join("report.txt"),
        std::fs::read(documents().join("bad/scanned.pdf")).unwrap(),
    )
    .unwrap();

    let out = project.run(&["index"]);
    let err = stderr(&out);
    println!("{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
    for (file, why) in [
        ("encrypted.pdf", "encrypted"),
        ("truncated.pdf", "damaged"),
        ("scanned.pdf", "no text layer"),
        ("report.txt", "no text layer"),
        ("bomb.docx", "zip bomb"),
        ("huge.html", "MB limit"),
    ] {
        assert!(
            err.lines().any(|l| l.contains(file) && l.contains(why)),
            "no warning that {file} was skipped because {why}:\n{err}"
        );
    }
    // The entities were not expanded: the document is indexed, its text as written.
    let shown = project.json(&["show", "seeds/laughs.docx", "--json"]);
    let text = shown["passages"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("Jedyny akapit"), "{text}");
    // The good documents are all there.
    let status = project.json(&["status", "--json"]);
    let docs = status["documents"].as_array().unwrap();
    assert_eq!(
        docs.iter()
            .filter(|d| d["path"].as_str().unwrap().ends_with(".docx"))
            .count(),
        6,
        "{status}"
    );
}

#[test]
fn a_thousand_page_pdf_is_read_page_by_page() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_akapit"))
        .args(["extract", "--json"])
        .arg(documents().join("bad/pages-1000.pdf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let passages = json[0]["passages"].as_array().unwrap();
    let last = passages.iter().filter_map(|p| p["page"].as_u64()).max();
    assert_eq!(last, Some(1000));
    // Page numbers are furniture, not text.
    assert!(passages
        .iter()
        .all(|p| !p["text"].as_str().unwrap().split(' ').any(|w| w == "999")));
}
