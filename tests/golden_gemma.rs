//! EmbeddingGemma-300m in akapit against a float64 numpy forward pass of the same
//! checkpoint (`tests/golden/make_gemma_golden.py`, run by `make_gemma_golden.sh`):
//! token ids identical, embeddings with cosine >= 0.999, and the model card's example
//! similarities within 0.002 of the published values, in f32 and in the bf16 products
//! `--precision auto` uses on CPUs with AVX512-BF16.

mod common;

use std::sync::OnceLock;

use akapit::embed::{Embedder, Model, Precision, Role};
use akapit::models::Products;
use common::{cosine, dot};
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    model_card: ModelCard,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct ModelCard {
    query: String,
    documents: Vec<String>,
}

#[derive(Deserialize)]
struct Case {
    role: String,
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

/// The similarities printed in the model card (sentence-transformers, float32).
const MODEL_CARD_SIMILARITIES: [f32; 4] = [0.3011, 0.6359, 0.4930, 0.4889];

fn golden() -> &'static Golden {
    static GOLDEN: OnceLock<Golden> = OnceLock::new();
    GOLDEN.get_or_init(|| {
        let path = common::repo_root().join("tests/golden/embeddinggemma_300m.json");
        let text = std::fs::read_to_string(&path).expect("golden file");
        serde_json::from_str(&text).expect("golden JSON")
    })
}

/// One model per precision for the whole binary: loading it costs seconds.
fn model(precision: Precision) -> &'static Model {
    static AUTO: OnceLock<Model> = OnceLock::new();
    static F32: OnceLock<Model> = OnceLock::new();
    static BF16: OnceLock<Model> = OnceLock::new();
    static INT8: OnceLock<Model> = OnceLock::new();
    let cell = match precision {
        Precision::Auto => &AUTO,
        Precision::F32 => &F32,
        Precision::Bf16 => &BF16,
        Precision::Int8 => &INT8,
    };
    cell.get_or_init(|| Model::load(common::gemma_model(), precision).expect("Gemma loads"))
}

const PRECISIONS: [Precision; 2] = [Precision::F32, Precision::Auto];

fn role(case: &Case) -> Role {
    if case.role == "query" {
        Role::Query
    } else {
        Role::Passage
    }
}

#[test]
#[cfg_attr(akapit_skip_gemma, ignore = "AKAPIT_TEST_GEMMA=0")]
fn model_card_example_gives_the_published_similarities() {
    for precision in PRECISIONS {
        let model = model(precision);
        let card = &golden().model_card;
        let query = model.embed_one(&card.query, Role::Query).unwrap();
        let documents: Vec<&str> = card.documents.iter().map(String::as_str).collect();
        let vectors = model.embed(&documents, Role::Passage, &mut |_| {}).unwrap();
        let similarities: Vec<f32> = vectors.iter().map(|d| dot(&query, d)).collect();
        for (ours, published) in similarities.iter().zip(MODEL_CARD_SIMILARITIES) {
            assert!(
                (ours - published).abs() <= 0.002,
                "{precision:?}: similarities {similarities:?}, model card {MODEL_CARD_SIMILARITIES:?}"
            );
        }
    }
}

#[test]
#[cfg_attr(akapit_skip_gemma, ignore = "AKAPIT_TEST_GEMMA=0")]
fn token_ids_match_the_reference_tokenizer() {
    let model = model(Precision::Auto);
    for case in &golden().cases {
        let ours = model.token_ids(&case.text, role(case)).expect("tokenizes");
        assert_eq!(ours, case.ids, "token ids differ for {:?}", case.text);
    }
    assert!(golden().cases.len() >= 10);
}

#[test]
#[cfg_attr(akapit_skip_gemma, ignore = "AKAPIT_TEST_GEMMA=0")]
fn embeddings_match_the_reference_in_padded_batches() {
    for precision in PRECISIONS {
        match_the_reference(precision);
    }
}

/// int8 against the float64 reference (`o_proj` and `down_proj` stay in f32). Measured
/// with the AVX2 kernel on Zen 3: worst 0.99921 (0.99818 with every product in int8, on
/// the 1,208-token case). The registry does not list int8 for Gemma, as its retrieval eval
/// has not been run, so `auto` never uses it; this keeps `--precision int8` from getting
/// worse than measured, and the registry from listing int8 while it misses 0.999.
#[test]
#[cfg_attr(
    any(akapit_skip_gemma, not(akapit_cpu_avx2)),
    ignore = "AKAPIT_TEST_GEMMA=0, or this CPU has no AVX2 and int8 would run as f32 \
        (build.rs read /proc/cpuinfo)"
)]
fn int8_embeddings_stay_near_the_reference_but_auto_does_not_use_them() {
    assert_eq!(model(Precision::Int8).products(), Products::Int8);
    let worst = match_the_reference(Precision::Int8);
    eprintln!("int8 against the reference: worst cosine {worst:.5}");
    let spec = akapit::models::registry::get(common::GEMMA).unwrap();
    assert!(
        worst >= 0.999 || !spec.products.contains(&Products::Int8),
        "the registry lists int8 for Gemma, whose int8 embeddings miss 0.999 ({worst:.5})"
    );
}

/// Every golden case embedded in padded batches by `precision`'s model, against the
/// reference; the worst cosine.
fn match_the_reference(precision: Precision) -> f32 {
    let model = model(precision);
    let mut worst = 1f32;
    for wanted in [Role::Query, Role::Passage] {
        let cases: Vec<&Case> = golden()
            .cases
            .iter()
            .filter(|c| role(c) == wanted)
            .collect();
        assert!(!cases.is_empty());
        let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
        let vectors = model.embed(&texts, wanted, &mut |_| {}).expect("embeds");
        for (case, ours) in cases.iter().zip(&vectors) {
            assert_eq!(ours.len(), 768);
            let c = cosine(ours, &case.embedding);
            // 0.999 is the bar. In f32, past the local window it is much higher, or a
            // wrong window would pass: on the 1,208-token case the `< 512` rule gives
            // 0.9888, windows of radius 255 and 257 give 0.999994 and 0.99997; akapit's
            // gives 1.0000004. bf16 products give 0.99998 to 0.999996 on every case, so
            // 0.9999 catches a kernel that is off.
            let bar = match model.products() {
                Products::F32 if case.ids.len() > 257 => 0.999999,
                Products::F32 => 0.999,
                Products::Bf16 => 0.9999,
                Products::Int8 => 0.997,
            };
            assert!(c >= bar, "{precision:?}: cosine {c:.7} for {:?}", case.text);
            worst = worst.min(c);
        }
    }
    worst
}

#[test]
#[cfg_attr(akapit_skip_gemma, ignore = "AKAPIT_TEST_GEMMA=0")]
fn the_long_case_crosses_the_sliding_window_in_one_sequence() {
    let model = model(Precision::Auto);
    let case = golden()
        .cases
        .iter()
        .find(|c| c.ids.len() > 600)
        .expect("a golden case longer than the 512-token window");
    assert_eq!(model.windows(&case.text, role(case)).unwrap().len(), 1);
}

#[test]
#[cfg_attr(akapit_skip_gemma, ignore = "AKAPIT_TEST_GEMMA=0")]
fn matryoshka_truncation_is_the_renormalised_prefix() {
    let full = model(Precision::Auto);
    let case = &golden().cases[0];
    let whole = full.embed_one(&case.text, role(case)).unwrap();
    let small = Model::load(common::gemma_model(), Precision::Auto)
        .unwrap()
        .with_dims(256)
        .unwrap();
    assert_eq!(small.dims(), 256);
    let truncated = small.embed_one(&case.text, role(case)).unwrap();
    assert_eq!(truncated.len(), 256);
    assert!((dot(&truncated, &truncated) - 1.0).abs() < 1e-5);
    assert!(cosine(&truncated, &whole[..256]) > 0.99999);
}

#[test]
#[cfg_attr(akapit_skip_gemma, ignore = "AKAPIT_TEST_GEMMA=0")]
fn auto_precision_uses_bf16_products_exactly_where_the_cpu_has_them() {
    // build.rs read the CPU's flags from /proc/cpuinfo, not with akapit's own detection.
    let expected = if cfg!(akapit_cpu_avx512bf16) {
        Products::Bf16
    } else {
        Products::F32
    };
    assert_eq!(model(Precision::Auto).products(), expected);
    assert_eq!(model(Precision::F32).products(), Products::F32);
}
