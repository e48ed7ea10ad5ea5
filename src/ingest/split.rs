//! Split: cuts a paragraph that is over the token limit into pieces that fit. Pieces end at
//! sentence boundaries where possible; a sentence that alone is too long is cut between words (a
//! word, between characters) and its rest starts the next piece. Few tokenizer calls are made.

use std::ops::Range;

use super::sentences::{sentence_spans, word_spans};

/// What a span of text is made of, coarsest first.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Sentence,
    Word,
    Char,
}

impl Unit {
    /// The next finer unit and the spans of it inside `range`; None for a single character.
    fn finer(self, text: &str, range: Range<usize>) -> Option<(Unit, Vec<Range<usize>>)> {
        match self {
            Unit::Sentence => Some((Unit::Word, word_spans(text, range))),
            Unit::Word => Some((
                Unit::Char,
                text[range.clone()]
                    .char_indices()
                    .map(|(at, c)| range.start + at..range.start + at + c.len_utf8())
                    .collect(),
            )),
            Unit::Char => None,
        }
    }
}

/// The text being split, its limit, and the model's token counter.
struct Budget<'t> {
    text: &'t str,
    max_tokens: usize,
    count_tokens: &'t dyn Fn(&str) -> usize,
    /// Tokens every piece costs whatever its text (prefix and special tokens): the count of "".
    overhead: usize,
}

impl Budget<'_> {
    fn tokens(&self, span: Range<usize>) -> usize {
        (self.count_tokens)(&self.text[span])
    }

    fn fits(&self, span: Range<usize>) -> bool {
        self.tokens(span) <= self.max_tokens
    }
}

/// Byte spans of `text` (single-spaced, trimmed) that each count at most `max_tokens`, in order,
/// non-empty, and covering every word. Consecutive sentences are packed greedily. A single
/// character over the limit (a limit below the tokenizer's own overhead) is still returned on its
/// own, as nothing smaller can be cut.
pub(super) fn split_to_limit(
    text: &str,
    max_tokens: usize,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Vec<Range<usize>> {
    if text.is_empty() {
        return Vec::new();
    }
    if count_tokens(text) <= max_tokens {
        let whole = 0..text.len();
        return vec![whole];
    }
    let budget = Budget {
        text,
        max_tokens,
        count_tokens,
        overhead: count_tokens(""),
    };
    let sentences = sentence_spans(text);
    let mut pieces = Vec::new();
    // The next piece starts at `start`, inside `sentences[index]`: at a word's start, or inside a
    // word that had to be cut between characters.
    let mut index = 0;
    let mut start = 0;
    while let Some(sentence) = sentences.get(index) {
        let rest = &sentences[index..];
        let taken = longest_fitting(rest.len(), |count| budget.fits(start..rest[count - 1].end));
        start = if taken > 0 {
            pieces.push(start..rest[taken - 1].end);
            rest[taken - 1].end
        } else {
            cut_front(&budget, start..sentence.end, Unit::Sentence, &mut pieces)
        };
        // Move on to the sentence holding the first word not yet in a piece.
        while sentences.get(index).is_some_and(|s| s.end <= start) {
            index += 1;
        }
        if let Some(next) = sentences.get(index) {
            start = start.max(next.start);
        }
    }
    pieces
}

/// Emits the front of `span`, a `unit` (or the rest of one) that is over the limit, cut at the
/// next finer unit, and returns where the rest of `span` begins. The front aims at an even share
/// of the pieces the span needs, so that cutting a long sentence leaves no one-word tail.
fn cut_front(
    budget: &Budget,
    span: Range<usize>,
    unit: Unit,
    pieces: &mut Vec<Range<usize>>,
) -> usize {
    let Some((finer, parts)) = unit.finer(budget.text, span.clone()) else {
        pieces.push(span.clone());
        return span.end;
    };
    // Split the span's own tokens (without the per-piece overhead) evenly over the pieces needed.
    let content = budget.tokens(span.clone()).saturating_sub(budget.overhead);
    let room = budget.max_tokens.saturating_sub(budget.overhead).max(1);
    let share = budget.overhead + content.div_ceil(content.div_ceil(room).max(2));
    let prefix_within = |limit: usize| {
        longest_fitting(parts.len(), |count| {
            budget.tokens(parts[0].start..parts[count - 1].end) <= limit
        })
    };
    let taken = match prefix_within(share) {
        0 => prefix_within(budget.max_tokens),
        taken => taken,
    };
    if taken == 0 {
        return cut_front(budget, parts[0].clone(), finer, pieces);
    }
    pieces.push(parts[0].start..parts[taken - 1].end);
    parts.get(taken).map_or(span.end, |next| next.start)
}

/// The largest `count` in `0..=len` for which `fits(count)` holds, `fits(0)` being taken as true.
/// Gallops (1, 2, 4, …) and then bisects, so the number of tokenizer calls grows with the log of
/// the answer and no call is made on text much longer than the limit. Assumes that a longer span
/// never has fewer tokens.
fn longest_fitting(len: usize, fits: impl Fn(usize) -> bool) -> usize {
    let mut good = 0;
    let mut step = 1;
    while good < len {
        let probe = (good + step).min(len);
        if !fits(probe) {
            let mut bad = probe;
            while bad - good > 1 {
                let middle = (good + bad) / 2;
                if fits(middle) {
                    good = middle;
                } else {
                    bad = middle;
                }
            }
            return good;
        }
        good = probe;
        step *= 2;
    }
    good
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// One token per word plus two for the special tokens.
    fn words_plus_two(text: &str) -> usize {
        text.split_whitespace().count() + 2
    }

    fn pieces<'t>(text: &'t str, max_tokens: usize, count: &dyn Fn(&str) -> usize) -> Vec<&'t str> {
        split_to_limit(text, max_tokens, count)
            .into_iter()
            .map(|span| &text[span])
            .collect()
    }

    #[test]
    fn a_paragraph_that_fits_is_one_piece_and_costs_one_call() {
        let calls = Cell::new(0);
        let count = |text: &str| {
            calls.set(calls.get() + 1);
            words_plus_two(text)
        };
        let text = "Współpracę zacieśniają też służby specjalne obu państw.";
        assert_eq!(pieces(text, 10, &count), vec![text]);
        assert_eq!(calls.get(), 1);
        assert!(split_to_limit("", 10, &count).is_empty());
    }

    #[test]
    fn packs_whole_sentences_greedily() {
        // 003: four sentences of 11, 7, 8 and 7 words.
        let text = "Rozmowy te będą zapewne wymagały szeregu dalszych konsultacji z innymi państwami. Interesy tych krajów starają się reprezentować Amerykanie. Oczekuje od nich działań zmierzających do zniesienia sankcji. Białoruskie władze mogą też zabiegać o inwestycje.";
        assert_eq!(
            pieces(text, 20, &words_plus_two),
            vec![
                "Rozmowy te będą zapewne wymagały szeregu dalszych konsultacji z innymi państwami. Interesy tych krajów starają się reprezentować Amerykanie.",
                "Oczekuje od nich działań zmierzających do zniesienia sankcji. Białoruskie władze mogą też zabiegać o inwestycje.",
            ]
        );
    }

    #[test]
    fn a_long_sentence_is_cut_evenly_between_words() {
        // 000: one sentence of 16 words; 6 fit in a piece, so 3 pieces of 5–6 words, not 6 + 6 + 4.
        let text = "Rosjanie i Białorusini planują także wspólną odpowiedź na wrogie kroki, które trwają w kontekście kryzysu ukraińskiego.";
        let cut = pieces(text, 8, &words_plus_two);
        assert_eq!(
            cut,
            vec![
                "Rosjanie i Białorusini planują także wspólną",
                "odpowiedź na wrogie kroki, które",
                "trwają w kontekście kryzysu ukraińskiego.",
            ]
        );
        assert!(cut.iter().all(|piece| words_plus_two(piece) <= 8));
    }

    #[test]
    fn the_rest_of_a_cut_sentence_starts_the_next_piece() {
        // 001: the first sentence (17 words) is too long; it is cut in two, and its rest shares a
        // piece with the next sentence (5 words) when both fit.
        let text = "Najważniejszym celem integracji jest dla Rosji zwiększenie kontroli nad tym państwem, w tym zablokowanie współpracy z NATO. Istotna jest możliwość przerzutu wojsk.";
        assert_eq!(
            pieces(text, 12, &words_plus_two),
            vec![
                "Najważniejszym celem integracji jest dla Rosji zwiększenie kontroli nad",
                "tym państwem, w tym zablokowanie współpracy z NATO.",
                "Istotna jest możliwość przerzutu wojsk.",
            ]
        );
        assert_eq!(
            pieces(text, 16, &words_plus_two),
            vec![
                "Najważniejszym celem integracji jest dla Rosji zwiększenie kontroli nad",
                "tym państwem, w tym zablokowanie współpracy z NATO. Istotna jest możliwość przerzutu wojsk.",
            ]
        );
    }

    #[test]
    fn a_word_over_the_limit_is_cut_between_characters() {
        let by_chars = |text: &str| text.chars().count();
        let text = "Ogólnobiałoruskiego Zgromadzenia";
        let cut = pieces(text, 8, &by_chars);
        assert!(cut.iter().all(|piece| by_chars(piece) <= 8), "{cut:?}");
        assert_eq!(cut.concat(), "OgólnobiałoruskiegoZgromadzenia");
    }

    #[test]
    fn a_limit_below_the_overhead_still_terminates() {
        let cut = pieces("Mińsk", 1, &|text: &str| text.chars().count() + 2);
        assert_eq!(cut, vec!["M", "i", "ń", "s", "k"]);
    }

    #[test]
    fn longest_fitting_finds_the_boundary() {
        for len in 0..12 {
            for limit in 0..=len {
                assert_eq!(longest_fitting(len, |count| count <= limit), limit);
            }
        }
    }
}
