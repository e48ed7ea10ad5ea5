//! Text → token ids for one model: the folder's character map (if any), the prompt
//! prefix, then the `tokenizers` crate without special tokens; the encoder adds those
//! per window so that long inputs are split rather than truncated.

use std::path::Path;

use tokenizers::Tokenizer;

use super::Error;
use crate::models::charmap::CharMap;

pub struct TextTokenizer {
    tokenizer: Tokenizer,
    charmap: Option<CharMap>,
}

impl TextTokenizer {
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let path = dir.join("tokenizer.json");
        let tokenizer = Tokenizer::from_file(&path).map_err(|e| Error::Tokenizer {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        let charmap = CharMap::load(dir).map_err(|e| Error::Tokenizer {
            path: dir.join(CharMap::FILE_NAME),
            detail: e.to_string(),
        })?;
        Ok(TextTokenizer { tokenizer, charmap })
    }

    /// Ids of `prefix + text`, without special tokens.
    pub fn content_ids(&self, prefix: &str, text: &str) -> Result<Vec<u32>, Error> {
        let joined = format!("{prefix}{text}");
        let input = match &self.charmap {
            Some(map) => map.apply(&joined),
            None => joined,
        };
        let encoding = self
            .tokenizer
            .encode_fast(input.as_str(), false)
            .map_err(|e| Error::Tokenize(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The id of a special token such as `<s>`.
    pub fn token_id(&self, token: &str) -> Result<u32, Error> {
        self.tokenizer
            .token_to_id(token)
            .ok_or_else(|| Error::Tokenize(format!("the tokenizer has no `{token}` token")))
    }
}
