//! Text → token ids for one model: the folder's character map (if any) and the prompt
//! prefix, then the `tokenizers` crate's pipeline as `file` reads it from the folder (with
//! akapit's own Unigram vocabulary, `unigram`, where the model has one). The crate also
//! cuts a long input into consecutive windows that each fit the model
//! (`Encoding::truncate`, no stride) and adds the model's special tokens to each (the
//! tokenizer's post-processor), so long inputs are split, never truncated.
//!
//! The truncation is applied to the finished encoding rather than set on the tokenizer:
//! with truncation set, tokenizers 0.23 stops tokenizing once the first window is full, and
//! the windows after it are lost.

mod bpe;
mod file;
mod table;
mod unigram;

use std::path::Path;

use tokenizers::{Encoding, PostProcessor, TruncationDirection};

use super::Error;
use crate::models::charmap::CharMap;

pub struct TextTokenizer {
    tokenizer: file::Pipeline,
    charmap: Option<CharMap>,
    /// Most tokens per window, special tokens included.
    window: usize,
}

impl TextTokenizer {
    /// The folder's `tokenizer.json` (and character map, if the folder has one). Inputs
    /// are not cut until `set_window` says how long a window may be.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let path = dir.join("tokenizer.json");
        let tokenizer = file::load(&path).map_err(|detail| Error::Tokenizer {
            path: path.clone(),
            detail,
        })?;
        let charmap = CharMap::load(dir).map_err(|e| Error::Tokenizer {
            path: dir.join(CharMap::FILE_NAME),
            detail: e.to_string(),
        })?;
        Ok(TextTokenizer {
            tokenizer,
            charmap,
            window: usize::MAX,
        })
    }

    /// Cuts inputs into windows of at most `window` tokens, special tokens included.
    pub fn set_window(&mut self, window: usize) -> Result<(), Error> {
        if window <= self.special_tokens() {
            return Err(Error::Tokenize(format!(
                "a window of {window} tokens leaves no room for text"
            )));
        }
        self.window = window;
        Ok(())
    }

    /// Special tokens the post-processor adds to every window.
    fn special_tokens(&self) -> usize {
        self.tokenizer
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(false))
    }

    /// The tokens of `prefix + text` without special tokens, in one piece.
    fn content(&self, prefix: &str, text: &str) -> Result<Encoding, Error> {
        let joined = format!("{prefix}{text}");
        let input = match &self.charmap {
            Some(map) => map.apply(&joined),
            None => joined,
        };
        self.tokenizer
            .encode_fast(input.as_str(), false)
            .map_err(|e| Error::Tokenize(e.to_string()))
    }

    /// How many tokens `prefix + text` is as one sequence, special tokens included.
    pub fn count(&self, prefix: &str, text: &str) -> Result<usize, Error> {
        Ok(self.content(prefix, text)?.len() + self.special_tokens())
    }

    /// The windows of `prefix + text`, in order, each with the model's special tokens;
    /// an empty input still gives one window.
    pub fn windows(&self, prefix: &str, text: &str) -> Result<Vec<Vec<u32>>, Error> {
        let mut content = self.content(prefix, text)?;
        let room = self.window.saturating_sub(self.special_tokens());
        content.truncate(room, 0, TruncationDirection::Right);
        let rest = content.take_overflowing();
        std::iter::once(content)
            .chain(rest)
            .map(|part| match self.tokenizer.get_post_processor() {
                Some(processor) => processor
                    .process(part, None, true)
                    .map(|window| window.get_ids().to_vec())
                    .map_err(|e| Error::Tokenize(e.to_string())),
                None => Ok(part.get_ids().to_vec()),
            })
            .collect()
    }

    /// The id of a special token such as `<pad>`.
    pub fn token_id(&self, token: &str) -> Result<u32, Error> {
        self.tokenizer
            .token_to_id(token)
            .ok_or_else(|| Error::Tokenize(format!("the tokenizer has no `{token}` token")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A word-level tokenizer with a `[CLS] $A [SEP]` template, written as a model folder.
    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let vocab: serde_json::Map<String, serde_json::Value> = [
            "[UNK]", "[CLS]", "[SEP]", "[PAD]", "q:", "a", "b", "c", "d", "e", "f", "g",
        ]
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_string(), serde_json::json!(i)))
        .collect();
        let special = |content: &str, id: u32| {
            serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true})
        };
        let json = serde_json::json!({
            "version": "1.0",
            "truncation": {"direction": "Right", "max_length": 3, "strategy": "LongestFirst", "stride": 0},
            "padding": null,
            "added_tokens": [special("[UNK]", 0), special("[CLS]", 1), special("[SEP]", 2), special("[PAD]", 3)],
            "normalizer": null,
            "pre_tokenizer": {"type": "WhitespaceSplit"},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [1], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [2], "tokens": ["[SEP]"]}}
            },
            "decoder": null,
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
        });
        std::fs::write(dir.path().join("tokenizer.json"), json.to_string()).unwrap();
        dir
    }

    #[test]
    fn long_inputs_become_consecutive_windows_each_with_special_tokens() {
        let dir = folder();
        let mut tokenizer = TextTokenizer::load(dir.path()).unwrap();
        tokenizer.set_window(5).unwrap();
        // "q:" + 7 words = 8 content tokens, 3 per window: no overlap, nothing lost, even
        // though the file itself asks for truncation to 3 tokens.
        let windows = tokenizer.windows("q: ", "a b c d e f g").unwrap();
        assert_eq!(
            windows,
            vec![vec![1, 4, 5, 6, 2], vec![1, 7, 8, 9, 2], vec![1, 10, 11, 2]]
        );
        assert_eq!(tokenizer.count("q: ", "a b c d e f g").unwrap(), 10);
        assert_eq!(tokenizer.windows("", "").unwrap(), vec![vec![1, 2]]);
        assert_eq!(tokenizer.token_id("[PAD]").unwrap(), 3);
        assert!(tokenizer.set_window(2).is_err());
    }
}
