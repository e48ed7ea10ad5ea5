//! Small fixtures shared by the store's unit tests: an 8-dimensional fake model, documents
//! whose window vectors are deterministic and distinct, and one-call index builds.

use std::path::Path;

use super::{Builder, DocumentInfo, Manifest, ModelInfo, NewPassage, NewWindow};

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

/// A document of `count` passages, each with two windows: the text before ": " and the
/// text after it (multi-byte characters included), with vectors `vector(seed + 2p)` and
/// `vector(seed + 2p + 1)` for passage `p`, `seed` a hash of the path.
pub fn document(path: &str, count: usize) -> (DocumentInfo, Vec<NewPassage>) {
    let seed = path
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
    let passages = (0..count as u32)
        .map(|paragraph| {
            let head = format!("passage {paragraph} of {path}");
            let text = format!("{head}: zażółć gęślą jaźń");
            let window = |start: usize, end: usize, n: u32| NewWindow {
                start: start as u32,
                end: end as u32,
                vector: vector(seed.wrapping_add(u64::from(2 * paragraph + n))),
            };
            NewPassage {
                paragraph,
                start_line: Some(paragraph * 4 + 1),
                end_line: Some(paragraph * 4 + 2),
                page: None,
                section: None,
                windows: vec![
                    window(0, head.len(), 0),
                    window(head.len() + 2, text.len(), 1),
                ],
                terms: text.to_lowercase(),
                text,
            }
        })
        .collect();
    (info(path), passages)
}

/// A window as `(start, end, vector)`.
pub type Window = (u32, u32, Vec<f32>);

/// Passages with the given `(paragraph, windows)`, over a text of 40 ASCII letters.
pub fn passages(windows: &[(u32, Vec<Window>)]) -> Vec<NewPassage> {
    windows
        .iter()
        .map(|(paragraph, windows)| NewPassage {
            paragraph: *paragraph,
            start_line: Some(paragraph + 1),
            end_line: Some(paragraph + 1),
            page: None,
            section: None,
            text: "abcdefghij".repeat(4),
            terms: "abcdefghij".into(),
            windows: windows
                .iter()
                .map(|(start, end, vector)| NewWindow {
                    start: *start,
                    end: *end,
                    vector: vector.clone(),
                })
                .collect(),
        })
        .collect()
}

/// A unit vector along `axis`, tilted towards `axis + 1` by `tilt` before normalising:
/// its similarity to `unit(axis, 0.0)` falls as `tilt` grows.
pub fn unit(axis: usize, tilt: f32) -> Vec<f32> {
    let norm = (1.0 + tilt * tilt).sqrt();
    (0..DIMS)
        .map(|i| match i {
            _ if i == axis => 1.0 / norm,
            _ if i == (axis + 1) % DIMS => tilt / norm,
            _ => 0.0,
        })
        .collect()
}

/// What a build is told about the file `path`; `passages` is filled in by the build.
pub fn info(path: &str) -> DocumentInfo {
    DocumentInfo {
        path: path.into(),
        sha256: format!("sha256-of-{path}"),
        bytes: 100 * path.len() as u64,
        modified: Some("2025-05-01T12:00:00Z".into()),
        passages: 0,
        windows: 0,
        format: Some("text".into()),
        title: None,
        segment: String::new(),
    }
}

/// Builds and commits an index of the given `(path, passages)` documents.
pub fn build(dir: &Path, docs: &[(&str, usize)]) -> Manifest {
    build_documents(
        dir,
        docs.iter()
            .map(|(path, count)| document(path, *count))
            .collect(),
    )
}

/// Builds and commits an index of the given documents.
pub fn build_documents(dir: &Path, docs: Vec<(DocumentInfo, Vec<NewPassage>)>) -> Manifest {
    let mut builder =
        Builder::create(dir, model(), 1, "plain".into(), vec!["/notes".into()]).unwrap();
    for (info, passages) in docs {
        builder.add_document(info, passages).unwrap();
    }
    builder.commit().unwrap()
}
