//! A vocabulary's pieces as akapit keeps them: every piece's text back to back in one
//! buffer, found by id through a list of spans and by text through one flat hash table.
//! The `tokenizers` crate keeps a `String` and a hash map entry per piece (and, for Unigram,
//! a trie with a map per node), which made loading a 250,000-piece vocabulary take most of
//! a cold question; `unigram` and `bpe` both build on this table instead.

use std::collections::HashMap;
use std::hash::BuildHasher;

use foldhash::fast::FixedState;
use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

pub struct PieceTable {
    /// Every piece's text, back to back.
    text: String,
    /// By id: where its text starts in `text`, and its length in bytes.
    spans: Vec<(u32, u32)>,
    /// Piece ids, found by their text.
    index: HashTable<u32>,
    hasher: FixedState,
    /// Bytes in the longest piece.
    longest: usize,
}

impl PieceTable {
    /// Room for `count` pieces of `bytes` bytes of text in all.
    pub fn with_capacity(count: usize, bytes: usize) -> Result<Self, String> {
        if count > u32::MAX as usize {
            return Err(format!("{count} pieces is more than ids can number"));
        }
        if bytes > u32::MAX as usize {
            return Err(format!("the pieces' text is {bytes} bytes, over 4 GiB"));
        }
        Ok(PieceTable {
            text: String::with_capacity(bytes),
            spans: Vec::with_capacity(count),
            index: HashTable::with_capacity(count),
            hasher: FixedState::default(),
            longest: 0,
        })
    }

    /// Adds `text` as the next id and returns the id that `text` found before, if any:
    /// from now on `find(text)` gives the new id.
    pub fn push(&mut self, text: &str) -> Result<Option<u32>, String> {
        let id = u32::try_from(self.spans.len())
            .map_err(|_| "more pieces than ids can number".to_string())?;
        if self.text.len() + text.len() > u32::MAX as usize {
            return Err("the pieces' text is over 4 GiB".into());
        }
        self.spans.push((self.text.len() as u32, text.len() as u32));
        self.text.push_str(text);
        self.longest = self.longest.max(text.len());
        let hash = self.hasher.hash_one(text);
        let PieceTable {
            index,
            spans,
            text: all,
            hasher,
            ..
        } = self;
        let text_of = |id: u32| span_text(spans, all, id);
        Ok(
            match index.entry(
                hash,
                |&other| text_of(other) == text,
                |&other| hasher.hash_one(text_of(other)),
            ) {
                Entry::Occupied(mut slot) => Some(std::mem::replace(slot.get_mut(), id)),
                Entry::Vacant(slot) => {
                    slot.insert(id);
                    None
                }
            },
        )
    }

    /// The id whose text is `text` (the last one pushed, where a text came twice).
    pub fn find(&self, text: &str) -> Option<u32> {
        self.index
            .find(self.hasher.hash_one(text), |&id| self.text(id) == text)
            .copied()
    }

    /// Piece `id`'s text; `id` must be below `len()`.
    pub fn text(&self, id: u32) -> &str {
        span_text(&self.spans, &self.text, id)
    }

    /// Piece `id`'s text, if there is such a piece.
    pub fn get(&self, id: u32) -> Option<&str> {
        ((id as usize) < self.spans.len()).then(|| self.text(id))
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Bytes in the longest piece: no longer text can be a piece.
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// Every text the table finds, with its id (the `Model::get_vocab` of the tokenizers
    /// crate).
    pub fn vocab(&self) -> HashMap<String, u32> {
        self.index
            .iter()
            .map(|&id| (self.text(id).to_string(), id))
            .collect()
    }
}

fn span_text<'a>(spans: &[(u32, u32)], all: &'a str, id: u32) -> &'a str {
    let (start, len) = spans[id as usize];
    &all[start as usize..(start + len) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_text_and_by_id_and_a_repeated_text_finds_its_last_id() {
        let mut table = PieceTable::with_capacity(3, 4).unwrap();
        assert_eq!(table.push("ab").unwrap(), None);
        assert_eq!(table.push("ą").unwrap(), None);
        assert_eq!(table.push("ab").unwrap(), Some(0));
        assert_eq!(table.find("ab"), Some(2));
        assert_eq!(table.find("ą"), Some(1));
        assert_eq!(table.find("a"), None);
        assert_eq!(
            (table.text(0), table.get(1), table.get(3)),
            ("ab", Some("ą"), None)
        );
        assert_eq!((table.len(), table.longest()), (3, 2));
        let vocab = table.vocab();
        assert_eq!((vocab.len(), vocab["ab"], vocab["ą"]), (2, 2, 1));
    }
}
