//! Small fixtures shared by the store's unit tests: an 8-dimensional fake model, documents
//! whose passage vectors are deterministic and distinct, and a one-call index build.

use std::path::Path;

use super::{Builder, DocumentInfo, Manifest, ModelInfo, NewPassage};

pub const DIMS: usize = 8;

pub fn model() -> ModelInfo {
    ModelInfo {
        name: "test/fake-8d".into(),
        revision: "r1".into(),
        sha256: "5eed".repeat(16),
        dims: DIMS,
    }
}

/// A pseudo-random vector per seed (splitmix64), components in [-1, 1), not normalised.
pub fn vector(seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..DIMS)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

pub fn document(path: &str, count: usize) -> (DocumentInfo, Vec<NewPassage>) {
    let seed = path
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
    let passages = (0..count as u32)
        .map(|paragraph| NewPassage {
            paragraph,
            start_line: paragraph * 4 + 1,
            end_line: paragraph * 4 + 2,
            text: format!("passage {paragraph} of {path}: zażółć gęślą jaźń"),
            vector: vector(seed.wrapping_add(u64::from(paragraph))),
        })
        .collect();
    let info = DocumentInfo {
        path: path.into(),
        sha256: format!("sha256-of-{path}"),
        bytes: 100 * count as u64,
        modified: Some("2025-05-01T12:00:00Z".into()),
        passages: 0,
    };
    (info, passages)
}

/// Builds and commits an index of the given `(path, passages)` documents.
pub fn build(dir: &Path, docs: &[(&str, usize)]) -> Manifest {
    let mut builder = Builder::create(dir, model(), 1, vec!["/notes".into()]).unwrap();
    for (path, count) in docs {
        let (info, passages) = document(path, *count);
        builder.add_document(info, passages).unwrap();
    }
    builder.commit().unwrap()
}
