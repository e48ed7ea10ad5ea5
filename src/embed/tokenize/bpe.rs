//! A byte-pair-encoding vocabulary that loads fast: the pieces in a `PieceTable` and the
//! merges in one flat hash table from a pair of ids to its rank and result, in place of
//! the `tokenizers` crate's `BPE`, whose `String` per piece and per merge made loading
//! EmbeddingGemma's 262,144 pieces and 514,906 merges take 1.6–2.4 s on a 2-core Zen 3.
//!
//! Tokenizing is the crate's `BPE::tokenize` step for step, so the ids are the same: each
//! character becomes its piece, or with byte fallback one `<0xXX>` piece per byte, or else
//! `<unk>` (neighbouring unknown characters fused into one when `fuse_unk` is set); then
//! the pair with the lowest rank, the leftmost among equals, is merged until no pair of
//! neighbours has a merge. With `ignore_merges`, a whole input that is a piece is that
//! piece. The crate also caches words; that changes the speed, not the ids.
//!
//! Only what EmbeddingGemma's file uses is read here: merges as pairs, ids from 0 to the
//! number of pieces with no text twice, no dropout, no subword prefix or word suffix. Any
//! other BPE file goes to the crate.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use foldhash::fast::FixedState;
use rayon::prelude::*;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use tokenizers::models::bpe::BpeTrainer;
use tokenizers::{Model, Token};

use super::table::PieceTable;

/// The `model` object of a `tokenizer.json` whose `type` is `BPE`; texts borrow from the
/// file where they have no escapes.
#[derive(Deserialize)]
pub struct BpeFile<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    dropout: Option<f32>,
    #[serde(default, borrow)]
    unk_token: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    continuing_subword_prefix: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    end_of_word_suffix: Option<Cow<'a, str>>,
    #[serde(default)]
    fuse_unk: Option<bool>,
    #[serde(default)]
    byte_fallback: Option<bool>,
    #[serde(default)]
    ignore_merges: Option<bool>,
    #[serde(borrow)]
    vocab: Entries<'a>,
    #[serde(borrow)]
    merges: Vec<(Text<'a>, Text<'a>)>,
}

impl BpeFile<'_> {
    /// A file `Bpe` reads: see the module doc.
    pub fn is_plain(&self) -> bool {
        self.kind == "BPE"
            && self.dropout.is_none_or(|p| p == 0.0)
            && self.continuing_subword_prefix.is_none()
            && self.end_of_word_suffix.is_none()
    }
}

#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// A JSON object's entries in the file's order, without a map built on the way.
struct Entries<'a>(Vec<(Cow<'a, str>, u32)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Walk<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Walk<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object from piece text to id")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((Text(text), id)) = map.next_entry::<Text<'a>, u32>()? {
                    entries.push((text, id));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Walk(PhantomData))
    }
}

pub struct Bpe {
    pieces: PieceTable,
    /// A pair of neighbouring ids → the merge's rank (lower merges first) and its result.
    merges: hashbrown::HashMap<(u32, u32), (u32, u32), FixedState>,
    unk_id: Option<u32>,
    fuse_unk: bool,
    /// The ids of `<0x00>` … `<0xFF>`, when the file asks for byte fallback and has all 256.
    bytes: Option<Box<[u32; 256]>>,
    ignore_merges: bool,
}

impl Bpe {
    pub fn from_file(file: BpeFile<'_>) -> Result<Bpe, String> {
        if !file.is_plain() {
            return Err("not a BPE model akapit reads itself".into());
        }
        let mut vocab = file.vocab.0;
        let count = vocab.len();
        // Ids must be 0 … count - 1, each once: then the file's order sorted by id is the
        // table's.
        vocab.sort_unstable_by_key(|&(_, id)| id);
        if vocab
            .iter()
            .enumerate()
            .any(|(i, &(_, id))| id as usize != i)
        {
            return Err("the vocabulary's ids are not 0 to its size, each once".into());
        }
        let bytes: usize = vocab.iter().map(|(text, _)| text.len()).sum();
        let mut pieces = PieceTable::with_capacity(count, bytes)?;
        for (text, _) in &vocab {
            if pieces.push(text)?.is_some() {
                return Err(format!("the piece {text:?} is listed twice"));
            }
        }
        drop(vocab);
        let id_of = |text: &str| {
            pieces
                .find(text)
                .ok_or_else(|| format!("the merge's piece {text:?} is not in the vocabulary"))
        };
        if u32::try_from(file.merges.len()).is_err() {
            return Err("too many merges".into());
        }
        // The lookups miss the cache nearly every time; both cores share them.
        let found: Vec<((u32, u32), u32)> = file
            .merges
            .par_iter()
            .map_init(String::new, |joined, (Text(left), Text(right))| {
                joined.clear();
                joined.push_str(left);
                joined.push_str(right);
                Ok(((id_of(left)?, id_of(right)?), id_of(joined)?))
            })
            .collect::<Result<_, String>>()?;
        let mut merges =
            hashbrown::HashMap::with_capacity_and_hasher(found.len(), FixedState::default());
        for (rank, (pair, result)) in found.into_iter().enumerate() {
            // As in the crate, a pair listed twice keeps its last rank.
            merges.insert(pair, (rank as u32, result));
        }
        let unk_id = match &file.unk_token {
            Some(unk) => Some(
                pieces
                    .find(unk)
                    .ok_or_else(|| format!("the unknown token {unk:?} is not a piece"))?,
            ),
            None => None,
        };
        let bytes = match file.byte_fallback {
            Some(true) => {
                let ids: Option<Vec<u32>> = (0..=255u8)
                    .map(|b| pieces.find(&format!("<{b:#04X}>")))
                    .collect();
                match ids.map(<[u32; 256]>::try_from) {
                    Some(Ok(ids)) => Some(Box::new(ids)),
                    _ => return Err("byte fallback without all 256 byte pieces".into()),
                }
            }
            _ => None,
        };
        Ok(Bpe {
            pieces,
            merges,
            unk_id,
            fuse_unk: file.fuse_unk.unwrap_or(false),
            bytes,
            ignore_merges: file.ignore_merges.unwrap_or(false),
        })
    }

    /// `word` as (id, length in bytes) symbols, one per character (or byte, or fused
    /// unknown run), before any merge.
    fn symbols(&self, word: &str) -> Vec<(u32, usize)> {
        let mut symbols = Vec::with_capacity(word.len());
        let mut unknown: Option<(u32, usize)> = None;
        for (at, c) in word.char_indices() {
            let text = &word[at..at + c.len_utf8()];
            if let Some(id) = self.pieces.find(text) {
                symbols.extend(unknown.take());
                symbols.push((id, text.len()));
            } else if let Some(bytes) = &self.bytes {
                // As in the crate, an unknown run waiting to be written stays waiting.
                symbols.extend(text.bytes().map(|b| (bytes[b as usize], 1)));
            } else if let Some(unk_id) = self.unk_id {
                unknown = match unknown {
                    Some((id, len)) if self.fuse_unk => Some((id, len + text.len())),
                    Some(previous) => {
                        symbols.push(previous);
                        Some((unk_id, text.len()))
                    }
                    None => Some((unk_id, text.len())),
                };
            }
            // With no unknown token, the crate drops the character; so does this.
        }
        symbols.extend(unknown);
        symbols
    }

    /// Merges `symbols` as the crate's `Word::merge_all` does: lowest rank first, then
    /// leftmost; a queued merge whose pair has changed since is skipped.
    fn merge(&self, symbols: &[(u32, usize)]) -> Vec<(u32, usize)> {
        /// A symbol in a linked list of the word; `len == 0` once merged into its left.
        #[derive(Clone, Copy)]
        struct Symbol {
            id: u32,
            len: usize,
            prev: Option<usize>,
            next: Option<usize>,
        }
        let n = symbols.len();
        let mut word: Vec<Symbol> = symbols
            .iter()
            .enumerate()
            .map(|(i, &(id, len))| Symbol {
                id,
                len,
                prev: i.checked_sub(1),
                next: (i + 1 < n).then_some(i + 1),
            })
            .collect();
        let mut queue: BinaryHeap<Reverse<(u32, usize, u32)>> = word
            .windows(2)
            .enumerate()
            .filter_map(|(pos, pair)| {
                let (rank, result) = self.merges.get(&(pair[0].id, pair[1].id))?;
                Some(Reverse((*rank, pos, *result)))
            })
            .collect();
        while let Some(Reverse((_, pos, result))) = queue.pop() {
            let left = word[pos];
            let Some(next) = left.next.filter(|_| left.len > 0) else {
                continue;
            };
            let right = word[next];
            if self
                .merges
                .get(&(left.id, right.id))
                .is_none_or(|&(_, id)| id != result)
            {
                continue;
            }
            word[pos] = Symbol {
                id: result,
                len: left.len + right.len,
                next: right.next,
                ..left
            };
            word[next].len = 0;
            if let Some(after) = right.next {
                word[after].prev = Some(pos);
            }
            let merged = word[pos];
            if let Some(before) = merged.prev {
                if let Some(&(rank, id)) = self.merges.get(&(word[before].id, merged.id)) {
                    queue.push(Reverse((rank, before, id)));
                }
            }
            if let Some(after) = merged.next {
                if let Some(&(rank, id)) = self.merges.get(&(merged.id, word[after].id)) {
                    queue.push(Reverse((rank, pos, id)));
                }
            }
        }
        word.iter()
            .filter(|s| s.len > 0)
            .map(|s| (s.id, s.len))
            .collect()
    }
}

impl Model for Bpe {
    /// The trait asks for a trainer; akapit never trains, and this one is the crate's.
    type Trainer = BpeTrainer;

    fn tokenize(&self, sequence: &str) -> tokenizers::Result<Vec<Token>> {
        if sequence.is_empty() {
            return Ok(Vec::new());
        }
        if self.ignore_merges {
            if let Some(id) = self.pieces.find(sequence) {
                return Ok(vec![Token::new(id, sequence.into(), (0, sequence.len()))]);
            }
        }
        let mut start = 0;
        Ok(self
            .merge(&self.symbols(sequence))
            .into_iter()
            .map(|(id, len)| {
                let offsets = (start, start + len);
                start += len;
                Token::new(id, self.pieces.text(id).to_string(), offsets)
            })
            .collect())
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.pieces.find(token)
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
        Err("akapit's BPE vocabulary is read-only".into())
    }

    fn get_trainer(&self) -> BpeTrainer {
        BpeTrainer::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// A BPE model file: `base` characters as pieces (with `<unk>` first, and the 256 byte
    /// pieces when `bytes`), then each merge of two pieces adds their join as a piece.
    fn file(base: &[&str], merges: &[(usize, usize)], options: serde_json::Value) -> String {
        let mut pieces: Vec<String> = vec!["<unk>".into()];
        pieces.extend(base.iter().map(|p| p.to_string()));
        if options["byte_fallback"] == json!(true) {
            pieces.extend((0..=255u8).map(|b| format!("<{b:#04X}>")));
        }
        let mut pairs = Vec::new();
        for &(a, b) in merges {
            let (left, right) = (
                pieces[a % pieces.len()].clone(),
                pieces[b % pieces.len()].clone(),
            );
            if left.starts_with('<') || right.starts_with('<') {
                continue;
            }
            let joined = format!("{left}{right}");
            if !pieces.contains(&joined) {
                pieces.push(joined);
            }
            pairs.push(json!([left, right]));
        }
        let vocab: serde_json::Map<String, serde_json::Value> = pieces
            .iter()
            .enumerate()
            .map(|(id, p)| (p.clone(), json!(id)))
            .collect();
        let mut model = json!({"type": "BPE", "dropout": null, "unk_token": "<unk>",
            "continuing_subword_prefix": null, "end_of_word_suffix": null,
            "vocab": vocab, "merges": pairs});
        for (key, value) in options.as_object().unwrap() {
            model[key] = value.clone();
        }
        model.to_string()
    }

    fn ours(json: &str) -> Bpe {
        Bpe::from_file(serde_json::from_str(json).unwrap()).unwrap()
    }

    fn theirs(json: &str) -> tokenizers::models::bpe::BPE {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn merges_by_rank_then_leftmost_as_the_crate_does() {
        // Pieces: 1 a, 2 b, 3 c; merges (a b) → 4 "ab", (b c) → 5 "bc", (ab c) → 6 "abc".
        let json = file(&["a", "b", "c"], &[(1, 2), (2, 3), (4, 3)], json!({}));
        let model = ours(&json);
        let ids = |text: &str| -> Vec<u32> {
            model.tokenize(text).unwrap().iter().map(|t| t.id).collect()
        };
        assert_eq!(ids("abc"), [6]);
        assert_eq!(ids("bcab"), [5, 4]);
        assert_eq!(ids("abbc"), [4, 5]);
        // Unknown characters fuse only with `fuse_unk`.
        assert_eq!(ids("xxa"), [0, 0, 1]);
        let fused = ours(&file(&["a"], &[], json!({"fuse_unk": true})));
        let tokens = fused.tokenize("xża").unwrap();
        assert_eq!(
            tokens.iter().map(|t| (t.id, t.offsets)).collect::<Vec<_>>(),
            [(0, (0, 3)), (1, (3, 4))]
        );
        assert_eq!(model.tokenize(&"a".repeat(0)).unwrap(), []);
    }

    #[test]
    fn files_it_does_not_read_are_refused() {
        let plain = |options| {
            let json = file(&["a"], &[], options);
            serde_json::from_str::<BpeFile>(&json).unwrap().is_plain()
        };
        assert!(!plain(json!({"dropout": 0.1})));
        assert!(!plain(json!({"continuing_subword_prefix": "##"})));
        assert!(plain(json!({"dropout": 0.0})));
        // Ids with a gap, a text twice, a merge of an unknown piece, byte fallback without
        // its pieces, an unknown token that is not a piece.
        for model in [
            r#"{"type": "BPE", "vocab": {"a": 0, "b": 2}, "merges": []}"#,
            r#"{"type": "BPE", "vocab": {"a": 0, "a": 1}, "merges": []}"#,
            r#"{"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]}"#,
            r#"{"type": "BPE", "vocab": {"a": 0}, "merges": [], "byte_fallback": true}"#,
            r#"{"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"}"#,
        ] {
            assert!(
                Bpe::from_file(serde_json::from_str(model).unwrap()).is_err(),
                "{model}"
            );
        }
        // Merges in the older "a b" form go to the crate.
        assert!(serde_json::from_str::<BpeFile>(
            r#"{"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}"#
        )
        .is_err());
    }

    proptest! {
        #[test]
        fn tokens_match_the_crates_bpe(
            merges in proptest::collection::vec((0usize..40, 0usize..40), 0..30),
            text in "[abą▁😀 xź]{0,24}",
            fuse_unk in prop::bool::ANY,
            byte_fallback in prop::bool::ANY,
            ignore_merges in prop::bool::ANY,
        ) {
            let options = json!({"fuse_unk": fuse_unk, "byte_fallback": byte_fallback,
                "ignore_merges": ignore_merges});
            let json = file(&["a", "b", "ą", "▁", "😀", " "], &merges, options);
            let expected = theirs(&json).tokenize(&text).unwrap();
            prop_assert_eq!(ours(&json).tokenize(&text).unwrap(), expected);
        }
    }
}
