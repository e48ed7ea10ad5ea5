//! Reading a model folder's `tokenizer.json` into the `tokenizers` crate's pipeline: the
//! crate's normalizer, pre-tokenizer, post-processor and added tokens, read from the file
//! as the crate reads them, around a vocabulary that is akapit's own `Unigram` or `Bpe`
//! when the file's model is one they read (they load far faster) and the crate's model
//! otherwise.
//!
//! Padding and truncation in the file are ignored: akapit pads its batches itself and cuts
//! long inputs into windows (see the parent module). The decoder is not read: akapit never
//! turns ids back into text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;
use tokenizers::models::{ModelWrapper, TrainerWrapper};
use tokenizers::{
    AddedToken, DecoderWrapper, Model, NormalizerWrapper, PostProcessorWrapper,
    PreTokenizerWrapper, Token, TokenizerBuilder, TokenizerImpl,
};

use super::bpe::{Bpe, BpeFile};
use super::unigram::{Unigram, UnigramFile};

/// The tokenizer akapit runs.
pub type Pipeline = TokenizerImpl<
    Vocabulary,
    NormalizerWrapper,
    PreTokenizerWrapper,
    PostProcessorWrapper,
    DecoderWrapper,
>;

/// The fields of `tokenizer.json` that akapit uses; the model is kept as raw JSON until
/// its type is known.
#[derive(Deserialize)]
struct TokenizerFile<'a> {
    version: Option<String>,
    /// Each with the id the file gives it, which is not read: as in the crate, a token
    /// takes the vocabulary's id where it is a piece, and the next free id otherwise.
    #[serde(default)]
    added_tokens: Vec<AddedToken>,
    normalizer: Option<NormalizerWrapper>,
    pre_tokenizer: Option<PreTokenizerWrapper>,
    post_processor: Option<PostProcessorWrapper>,
    #[serde(borrow)]
    model: &'a RawValue,
}

/// Reads `path`; errors are messages for the user, the path is added by the caller.
pub fn load(path: &Path) -> Result<Pipeline, String> {
    let json = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    parse(&json)
}

/// A tokenizer from the text of a `tokenizer.json`.
fn parse(json: &str) -> Result<Pipeline, String> {
    let file: TokenizerFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
    if let Some(version) = &file.version {
        if version != "1.0" {
            return Err(format!("unknown tokenizer.json version {version:?}"));
        }
    }
    let vocabulary = vocabulary(file.model)?;
    let mut pipeline = TokenizerBuilder::new()
        .with_model(vocabulary)
        .with_normalizer(file.normalizer)
        .with_pre_tokenizer(file.pre_tokenizer)
        .with_post_processor(file.post_processor)
        .with_decoder(None)
        .build()
        .map_err(|e| e.to_string())?;
    pipeline
        .add_tokens(file.added_tokens)
        .map_err(|e| e.to_string())?;
    Ok(pipeline)
}

/// akapit's own vocabulary for the file's model where it reads that model, else the
/// crate's. A Unigram pass fails quickly on any other model (whose vocabulary is a map,
/// not a list); a BPE model that `Bpe` does not read (say, with dropout) goes to the crate,
/// which also reports what is wrong with a broken one.
fn vocabulary(raw: &RawValue) -> Result<Vocabulary, String> {
    if let Ok(unigram) = serde_json::from_str::<UnigramFile>(raw.get()) {
        if unigram.is_plain() {
            return Ok(Vocabulary::Unigram(Unigram::from_file(unigram)?));
        }
    }
    if let Ok(bpe) = serde_json::from_str::<BpeFile>(raw.get()) {
        if bpe.is_plain() {
            if let Ok(bpe) = Bpe::from_file(bpe) {
                return Ok(Vocabulary::Bpe(bpe));
            }
        }
    }
    crate_model(raw)
}

fn crate_model(raw: &RawValue) -> Result<Vocabulary, String> {
    serde_json::from_str(raw.get())
        .map(|model| Vocabulary::Crate(Box::new(model)))
        .map_err(|e| e.to_string())
}

/// The model inside the pipeline: akapit's Unigram or BPE, or whatever the crate reads.
pub enum Vocabulary {
    Unigram(Unigram),
    Bpe(Bpe),
    /// Boxed: the crate's models are several times the size of akapit's Unigram.
    Crate(Box<ModelWrapper>),
}

impl Model for Vocabulary {
    type Trainer = TrainerWrapper;

    fn tokenize(&self, sequence: &str) -> tokenizers::Result<Vec<Token>> {
        match self {
            Vocabulary::Unigram(model) => model.tokenize(sequence),
            Vocabulary::Bpe(model) => model.tokenize(sequence),
            Vocabulary::Crate(model) => model.tokenize(sequence),
        }
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        match self {
            Vocabulary::Unigram(model) => model.token_to_id(token),
            Vocabulary::Bpe(model) => model.token_to_id(token),
            Vocabulary::Crate(model) => model.token_to_id(token),
        }
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        match self {
            Vocabulary::Unigram(model) => model.id_to_token(id),
            Vocabulary::Bpe(model) => model.id_to_token(id),
            Vocabulary::Crate(model) => model.id_to_token(id),
        }
    }

    fn get_vocab(&self) -> HashMap<String, u32> {
        match self {
            Vocabulary::Unigram(model) => model.get_vocab(),
            Vocabulary::Bpe(model) => model.get_vocab(),
            Vocabulary::Crate(model) => model.get_vocab(),
        }
    }

    fn get_vocab_size(&self) -> usize {
        match self {
            Vocabulary::Unigram(model) => model.get_vocab_size(),
            Vocabulary::Bpe(model) => model.get_vocab_size(),
            Vocabulary::Crate(model) => model.get_vocab_size(),
        }
    }

    fn save(&self, folder: &Path, prefix: Option<&str>) -> tokenizers::Result<Vec<PathBuf>> {
        match self {
            Vocabulary::Unigram(model) => model.save(folder, prefix),
            Vocabulary::Bpe(model) => model.save(folder, prefix),
            Vocabulary::Crate(model) => model.save(folder, prefix),
        }
    }

    fn get_trainer(&self) -> TrainerWrapper {
        match self {
            Vocabulary::Unigram(model) => TrainerWrapper::UnigramTrainer(model.get_trainer()),
            Vocabulary::Bpe(model) => TrainerWrapper::BpeTrainer(model.get_trainer()),
            Vocabulary::Crate(model) => model.get_trainer(),
        }
    }
}
