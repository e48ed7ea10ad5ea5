//! A Unigram (SentencePiece) vocabulary that loads fast: the pieces in a `PieceTable` in
//! place of the `tokenizers` crate's trie, whose hash map per node made loading
//! multilingual-e5-small's 250,002 pieces take most of a cold question (0.8–1.3 s on a
//! 2-core Zen 3, and about 180 MB; here 0.1–0.2 s with the JSON's parse, and 9 MB).
//!
//! Segmentation is the crate's `Unigram::encode` (SentencePiece's optimised Viterbi), step
//! for step, so the ids are the same: at each character, the pieces that start there are
//! tried shortest first, a path replaces the best one ending at the same place only if its
//! score is strictly higher, a character no piece covers becomes `<unk>` scored ten below
//! the lowest piece, and neighbouring unknown characters fuse into one token. The crate's
//! trie finds the pieces that start at a position; here each candidate length up to the
//! longest piece is looked up in the table, which finds the same pieces in the same order.
//! Byte fallback is not supported; a vocabulary that asks for it loads through the crate.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokenizers::models::unigram::UnigramTrainer;
use tokenizers::{Model, Token};

use super::table::PieceTable;

/// What the crate charges for a character no piece covers, below the lowest piece score.
const UNKNOWN_PENALTY: f64 = 10.0;

/// The `model` object of a `tokenizer.json` whose `type` is `Unigram`; piece texts borrow
/// from the file where they have no escapes.
#[derive(Deserialize)]
pub struct UnigramFile<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    unk_id: Option<usize>,
    #[serde(borrow)]
    vocab: Vec<FilePiece<'a>>,
    #[serde(default)]
    byte_fallback: bool,
}

impl UnigramFile<'_> {
    /// A Unigram model without byte fallback: what `Unigram` reads.
    pub fn is_plain(&self) -> bool {
        self.kind == "Unigram" && !self.byte_fallback
    }
}

#[derive(Deserialize)]
struct FilePiece<'a>(#[serde(borrow)] Cow<'a, str>, f64);

pub struct Unigram {
    pieces: PieceTable,
    /// By id.
    scores: Vec<f64>,
    unk_id: Option<u32>,
    unk_score: f64,
}

/// One step of the best segmentation: the best path ending at a byte offset.
#[derive(Clone, Copy)]
struct Step {
    score: f64,
    /// Where the path's last token starts; `None` while no path ends here.
    start: Option<usize>,
    id: u32,
}

impl Unigram {
    pub fn from_file(file: UnigramFile<'_>) -> Result<Unigram, String> {
        if !file.is_plain() {
            return Err("not a Unigram model without byte fallback".into());
        }
        let count = file.vocab.len();
        if count == 0 {
            return Err("the vocabulary is empty".into());
        }
        let unk_id = match file.unk_id {
            Some(id) if id >= count => {
                return Err(format!("unk_id {id} is outside the {count} pieces"))
            }
            Some(id) => Some(id as u32),
            None => None,
        };
        let bytes: usize = file.vocab.iter().map(|p| p.0.len()).sum();
        let mut pieces = PieceTable::with_capacity(count, bytes)?;
        let mut scores = Vec::with_capacity(count);
        for FilePiece(text, score) in &file.vocab {
            pieces.push(text)?;
            scores.push(*score);
        }
        let lowest = scores.iter().copied().fold(f64::INFINITY, f64::min);
        Ok(Unigram {
            pieces,
            scores,
            unk_id,
            unk_score: lowest - UNKNOWN_PENALTY,
        })
    }

    fn find(&self, text: &str) -> Option<u32> {
        self.pieces.find(text)
    }

    /// The best segmentation of `sentence` as (start, end, id) triples in order, unknown
    /// characters fused; see the module doc for the rules.
    fn segment(&self, sentence: &str) -> tokenizers::Result<Vec<(usize, usize, u32)>> {
        let size = sentence.len();
        let mut best = vec![
            Step {
                score: 0.0,
                start: None,
                id: 0
            };
            size + 1
        ];
        // The first path to reach a place always counts; a later one only if strictly better.
        let beats = |step: &Step, score: f64| step.start.is_none() || score > step.score;
        for (start, first) in sentence.char_indices() {
            let so_far = best[start].score;
            let first_len = first.len_utf8();
            let mut covered = false;
            let rest = &sentence[start..];
            let ends = rest
                .char_indices()
                .map(|(at, c)| at + c.len_utf8())
                .take_while(|&len| len <= self.pieces.longest());
            for len in ends {
                if let Some(id) = self.find(&rest[..len]) {
                    let score = self.scores[id as usize] + so_far;
                    if beats(&best[start + len], score) {
                        best[start + len] = Step {
                            score,
                            start: Some(start),
                            id,
                        };
                    }
                    covered |= len == first_len;
                }
            }
            let score = self.unk_score + so_far;
            if !covered && beats(&best[start + first_len], score) {
                // As in the crate, a missing unk_id is an error only where `<unk>` would win.
                let id = self
                    .unk_id
                    .ok_or("a character is not in the vocabulary and there is no unk_id")?;
                best[start + first_len] = Step {
                    score,
                    start: Some(start),
                    id,
                };
            }
        }
        let mut tokens: Vec<(usize, usize, u32)> = Vec::new();
        let mut end = size;
        while end > 0 {
            let step = best[end];
            let start = step.start.ok_or("the segmentation has a gap")?;
            let unknown = Some(step.id) == self.unk_id;
            match tokens.last_mut() {
                Some((fused_start, _, id)) if unknown && Some(*id) == self.unk_id => {
                    *fused_start = start
                }
                _ => tokens.push((start, end, step.id)),
            }
            end = start;
        }
        tokens.reverse();
        // As the crate does, fused unknown text takes its own id if the vocabulary has
        // that text, and stays `<unk>` otherwise; every other id came from the table.
        for (start, end, id) in &mut tokens {
            if Some(*id) == self.unk_id {
                *id = self.find(&sentence[*start..*end]).unwrap_or(*id);
            }
        }
        Ok(tokens)
    }
}

impl Model for Unigram {
    /// The trait asks for a trainer; akapit never trains, and this one is the crate's.
    type Trainer = UnigramTrainer;

    fn tokenize(&self, sequence: &str) -> tokenizers::Result<Vec<Token>> {
        Ok(self
            .segment(sequence)?
            .into_iter()
            .map(|(start, end, id)| Token::new(id, sequence[start..end].to_string(), (start, end)))
            .collect())
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.find(token)
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        self.pieces.get(id).map(str::to_string)
    }

    fn get_vocab(&self) -> HashMap<String, u32> {
        self.pieces.vocab()
    }

    fn get_vocab_size(&self) -> usize {
        self.pieces.len()
    }

    fn save(&self, _folder: &Path, _prefix: Option<&str>) -> tokenizers::Result<Vec<PathBuf>> {
        Err("akapit's Unigram vocabulary is read-only".into())
    }

    fn get_trainer(&self) -> UnigramTrainer {
        UnigramTrainer::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ours(vocab: &[(String, f64)], unk_id: Option<usize>) -> Unigram {
        let json = serde_json::json!({"type": "Unigram", "unk_id": unk_id, "vocab": vocab});
        let text = json.to_string();
        let file: UnigramFile = serde_json::from_str(&text).unwrap();
        Unigram::from_file(file).unwrap()
    }

    fn theirs(
        vocab: &[(String, f64)],
        unk_id: Option<usize>,
    ) -> tokenizers::models::unigram::Unigram {
        tokenizers::models::unigram::Unigram::from(vocab.to_vec(), unk_id, false).unwrap()
    }

    fn pieces(list: &[(&str, f64)]) -> Vec<(String, f64)> {
        list.iter().map(|(p, s)| (p.to_string(), *s)).collect()
    }

    #[test]
    fn segments_as_the_crate_does_on_its_own_example() {
        let vocab = pieces(&[
            ("<unk>", 0.0),
            ("a", 0.0),
            ("b", 0.0),
            ("c", 0.0),
            ("d", 0.0),
            ("cd", 1.0),
            ("ab", 2.0),
            ("abc", 5.0),
            ("abcd", 10.0),
        ]);
        let tokens = ours(&vocab, Some(0)).tokenize("abcdacdxx").unwrap();
        let texts: Vec<&str> = tokens.iter().map(|t| t.value.as_str()).collect();
        assert_eq!(texts, ["abcd", "a", "cd", "xx"]);
        assert_eq!(tokens[3].id, 0);
        assert_eq!(tokens[3].offsets, (7, 9));
    }

    #[test]
    fn a_repeated_piece_finds_its_last_id_and_no_unk_is_an_error() {
        let vocab = pieces(&[("<unk>", 0.0), ("a", -1.0), ("a", -2.0)]);
        let model = ours(&vocab, None);
        assert_eq!(model.token_to_id("a"), Some(2));
        assert_eq!(model.tokenize("aa").unwrap()[0].id, 2);
        assert!(model.tokenize("ab").is_err());
        assert_eq!(model.id_to_token(1).as_deref(), Some("a"));
        assert_eq!(model.id_to_token(3), None);
    }

    #[test]
    fn bad_files_are_refused() {
        let unk_outside: UnigramFile =
            serde_json::from_str(r#"{"type": "Unigram", "unk_id": 1, "vocab": [["a", 0.0]]}"#)
                .unwrap();
        assert!(Unigram::from_file(unk_outside).is_err());
        let empty: UnigramFile =
            serde_json::from_str(r#"{"type": "Unigram", "unk_id": null, "vocab": []}"#).unwrap();
        assert!(Unigram::from_file(empty).is_err());
        let bytes: UnigramFile = serde_json::from_str(
            r#"{"type": "Unigram", "vocab": [["a", 0.0]], "byte_fallback": true}"#,
        )
        .unwrap();
        assert!(Unigram::from_file(bytes).is_err());
    }

    /// Short pieces over a small alphabet with one- to four-byte characters, on a few
    /// scores so that ties happen; repeated pieces and the unk text itself included.
    fn vocabulary() -> impl Strategy<Value = Vec<(String, f64)>> {
        let piece = proptest::collection::vec(
            prop::sample::select(vec!['a', 'b', 'ą', '▁', '😀', ' ', '<']),
            1..4,
        )
        .prop_map(|chars| chars.into_iter().collect::<String>());
        let score = prop::sample::select(vec![-1.0, -2.0, -2.5, -3.0, -7.25]);
        proptest::collection::vec((piece, score), 1..40).prop_map(|mut vocab| {
            vocab.insert(0, ("<unk>".to_string(), -1.0));
            vocab
        })
    }

    proptest! {
        #[test]
        fn tokens_match_the_crates_unigram(
            vocab in vocabulary(),
            text in "[abą▁😀 <xź]{0,24}",
            unk in prop::bool::ANY,
        ) {
            let unk_id = unk.then_some(0);
            let expected = theirs(&vocab, unk_id).tokenize(&text);
            let got = ours(&vocab, unk_id).tokenize(&text);
            match (expected, got) {
                (Ok(expected), Ok(got)) => prop_assert_eq!(expected, got),
                (Err(_), Err(_)) => {}
                (expected, got) => prop_assert!(false, "crate {:?}, ours {:?}", expected, got),
            }
        }
    }
}
