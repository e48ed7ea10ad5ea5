//! The `--json` shapes. Serialize-only; field names are the public contract documented
//! in the README.

use serde::Serialize;

use super::{display_path, sanitize};
use crate::search::Hit;
use crate::store::StoredPassage;

#[derive(Debug, Serialize)]
pub struct PassageJson {
    pub doc: String,
    pub paragraph: u32,
    pub start_line: u32,
    pub end_line: u32,
    pub text: String,
}

impl From<&StoredPassage> for PassageJson {
    fn from(p: &StoredPassage) -> Self {
        PassageJson {
            doc: display_path(&p.doc),
            paragraph: p.paragraph,
            start_line: p.start_line,
            end_line: p.end_line,
            text: sanitize::clean(&p.text),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct HitJson {
    pub rank: usize,
    pub score: f32,
    #[serde(flatten)]
    pub passage: PassageJson,
}

impl From<&Hit> for HitJson {
    fn from(hit: &Hit) -> Self {
        HitJson {
            rank: hit.rank,
            score: round4(hit.score),
            passage: PassageJson::from(&hit.passage),
        }
    }
}

/// `ask --json`.
#[derive(Debug, Serialize)]
pub struct AskJson {
    pub query: String,
    pub model: String,
    pub results: Vec<HitJson>,
}

/// `related --json`: `source` is the passage (or text) the results relate to.
#[derive(Debug, Serialize)]
pub struct RelatedJson {
    pub query: String,
    pub source: Option<PassageJson>,
    pub model: String,
    pub results: Vec<HitJson>,
}

pub fn hits(hits: &[Hit]) -> Vec<HitJson> {
    hits.iter().map(HitJson::from).collect()
}

fn round4(x: f32) -> f32 {
    (x * 10_000.0).round() / 10_000.0
}
