//! akapit reads `tokenizer.json` itself (with its own Unigram vocabulary for e5, which
//! loads far faster than the crate's): the token ids must be the ones the `tokenizers`
//! crate gives when it loads the same file, on the seed corpus and on random text.

mod common;

use std::path::Path;

use akapit::embed::{Model, Precision, Role};
use akapit::models::charmap::CharMap;
use akapit::models::Located;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokenizers::Tokenizer;

/// The crate's tokenizer for the model's folder, with the character map and prompt that
/// akapit puts before it: the ids of a passage, special tokens included.
struct Reference {
    tokenizer: Tokenizer,
    charmap: Option<CharMap>,
    prefix: String,
}

impl Reference {
    fn new(located: &Located) -> Reference {
        let mut tokenizer =
            Tokenizer::from_file(located.dir.join("tokenizer.json")).expect("the crate loads it");
        tokenizer.with_padding(None);
        tokenizer.with_truncation(None).expect("no truncation");
        Reference {
            tokenizer,
            charmap: CharMap::load(&located.dir).expect("the character map loads"),
            prefix: located.spec.passage_prefix.clone(),
        }
    }

    fn ids(&self, text: &str) -> Vec<u32> {
        let joined = format!("{}{text}", self.prefix);
        let input = match &self.charmap {
            Some(map) => map.apply(&joined),
            None => joined,
        };
        let encoding = self.tokenizer.encode_fast(input, true).expect("encodes");
        encoding.get_ids().to_vec()
    }
}

/// The seed corpus's paragraphs.
fn seed_paragraphs() -> Vec<String> {
    let mut paragraphs = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(common::repo_root().join("seeds"))
        .expect("seeds/")
        .map(|entry| entry.expect("a seed file").path())
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a seed text");
        paragraphs.extend(text.split("\n\n").map(str::to_string));
    }
    paragraphs
}

fn same_ids_as_the_crate(located: &Located) {
    let model = Model::load(located, Precision::F32).expect("model loads");
    let reference = Reference::new(located);
    let paragraphs = seed_paragraphs();
    assert!(
        paragraphs.len() > 50,
        "{} seed paragraphs",
        paragraphs.len()
    );
    for paragraph in &paragraphs {
        let ours = model
            .token_ids(paragraph, Role::Passage)
            .expect("tokenizes");
        assert_eq!(ours, reference.ids(paragraph), "for {paragraph:?}");
    }
    // Random text over scripts, symbols, spacing, control characters and special-token
    // spellings; the reference's own rules decide what each becomes.
    let text = prop_oneof![
        3 => "\\PC{1,6}",
        2 => "[a-zA-ZąćęłńóśźżĄĆĘŁŃÓŚŹŻ]{1,12}",
        1 => "[ \t\n\u{a0}\u{200b}\u{3000}]{1,4}",
        1 => "[\u{0}-\u{1f}\u{7f}\u{301}\u{fffd}]",
        1 => prop::sample::select(vec!["<mask>", "<s>", "</s>", "<unk>", "<pad>", "▁", "▁▁"])
            .prop_map(str::to_string),
        1 => "[日本語한국어Ελληνικάкириллица😀🇵🇱👍🏽]{1,5}",
    ];
    let texts = proptest::collection::vec(text, 0..24).prop_map(|parts| parts.concat());
    let mut runner = TestRunner::new(Config::with_cases(400));
    runner
        .run(&texts, |text| {
            let ours = model.token_ids(&text, Role::Passage).expect("tokenizes");
            prop_assert_eq!(ours, reference.ids(&text), "for {:?}", text);
            Ok(())
        })
        .unwrap();
}

#[test]
fn e5_token_ids_match_the_crate() {
    same_ids_as_the_crate(common::default_model());
}

#[test]
#[cfg_attr(akapit_skip_gemma, ignore = "AKAPIT_TEST_GEMMA=0")]
fn gemma_token_ids_match_the_crate() {
    same_ids_as_the_crate(common::gemma_model());
}

#[test]
fn a_broken_tokenizer_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let source = common::default_model_dir();
    for name in ["config.json", "model.safetensors"] {
        std::os::unix::fs::symlink(source.join(name), dir.path().join(name)).unwrap();
    }
    std::fs::write(
        dir.path().join("tokenizer.json"),
        b"{\"model\": {\"type\": \"Unigram\"",
    )
    .unwrap();
    let located = Located {
        spec: common::default_model().spec,
        dir: dir.path().to_path_buf(),
        source: akapit::models::Source::ExplicitDir,
    };
    let error = Model::load(&located, Precision::F32).err().expect("fails");
    let message = error.to_string();
    assert!(
        message.contains(&Path::new("tokenizer.json").display().to_string()),
        "{message}"
    );
}
