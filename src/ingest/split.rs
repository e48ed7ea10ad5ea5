//! Split: cuts a paragraph that is over the token limit into pieces that fit. Pieces end at
//! sentence boundaries where possible; a sentence that alone is too long is cut between words (a
//! word, between characters) and its rest starts the next piece. Few tokenizer calls are made.

use std::ops::Range;

use crate::text::sentences::{next_sentence, next_word};

/// The parts a span of text is cut into, coarsest first.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Sentence,
    Word,
    Char,
}

impl Unit {
    /// The unit one of these is cut into when it does not fit alone; None for a single character.
    fn finer(self) -> Option<Unit> {
        match self {
            Unit::Sentence => Some(Unit::Word),
            Unit::Word => Some(Unit::Char),
            Unit::Char => None,
        }
    }

    /// The first span of this unit in `text[range]`.
    fn next(self, text: &str, range: Range<usize>) -> Option<Range<usize>> {
        match self {
            Unit::Sentence => next_sentence(text, range),
            Unit::Word => next_word(text, range),
            Unit::Char => {
                let c = text[range.clone()].chars().next()?;
                Some(range.start..range.start + c.len_utf8())
            }
        }
    }
}

/// The units of one kind at the front of a range, found only as far as they are asked for, so
/// that cutting a huge paragraph never rescans the whole rest of it for every piece.
struct Units<'t> {
    text: &'t str,
    unit: Unit,
    end: usize,
    spans: Vec<Range<usize>>,
}

impl<'t> Units<'t> {
    fn new(text: &'t str, unit: Unit, range: Range<usize>) -> Self {
        let mut units = Units {
            text,
            unit,
            end: range.end,
            spans: Vec::new(),
        };
        units.spans.extend(unit.next(text, range));
        units
    }

    /// Finds units until `count` are known or the range has no more; returns how many are known.
    fn known(&mut self, count: usize) -> usize {
        while self.spans.len() < count {
            let from = self.spans.last().map_or(self.end, |last| last.end);
            match self.unit.next(self.text, from..self.end) {
                Some(span) => self.spans.push(span),
                None => break,
            }
        }
        self.spans.len().min(count)
    }

    /// The span from the first unit's start to the end of unit `count - 1`.
    fn prefix(&self, count: usize) -> Range<usize> {
        self.spans[0].start..self.spans[count - 1].end
    }

    /// The number of leading units that together satisfy `fits` (0 if not even the first does).
    /// Gallops (1, 2, 4, …) and then bisects, so the number of tokenizer calls grows with the
    /// log of the answer and no call is made on text much longer than the answer. Assumes that a
    /// longer span never has fewer tokens.
    fn longest_prefix(&mut self, fits: impl Fn(Range<usize>) -> bool) -> usize {
        let mut good = 0;
        let mut step = 1;
        loop {
            let probe = self.known(good + step);
            if probe == good {
                return good;
            }
            if !fits(self.prefix(probe)) {
                let mut bad = probe;
                while bad - good > 1 {
                    let middle = (good + bad) / 2;
                    if fits(self.prefix(middle)) {
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

    /// The token count to aim at for the first of the pieces `span` needs, so that they come out
    /// about even: the span's own tokens (without the per-piece overhead) shared between them.
    fn even_share(&self, span: Range<usize>) -> usize {
        let content = self.tokens(span).saturating_sub(self.overhead);
        let room = self.max_tokens.saturating_sub(self.overhead).max(1);
        self.overhead + content.div_ceil(content.div_ceil(room).max(2))
    }
}

/// Byte spans of `text` (single-spaced, trimmed) that each count at most `max_tokens`, in order,
/// non-empty, and covering every word. A single character over the limit (a limit below the
/// tokenizer's own overhead) is still returned on its own, as nothing smaller can be cut.
pub(super) fn split_to_limit(
    text: &str,
    max_tokens: usize,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Vec<Range<usize>> {
    if text.is_empty() {
        return Vec::new();
    }
    let whole = 0..text.len();
    if count_tokens(text) <= max_tokens {
        return vec![whole];
    }
    let budget = Budget {
        text,
        max_tokens,
        count_tokens,
        overhead: count_tokens(""),
    };
    let mut pieces = Vec::new();
    let rest = cut(&budget, whole, Unit::Sentence, &mut pieces);
    if rest < text.len() {
        pieces.push(rest..text.len());
    }
    pieces
}

/// Cuts pieces made of whole `part`s off the front of `span`, which is over the limit, until what
/// is left fits, and returns where that rest begins: the caller packs it with what follows. A part
/// that does not fit alone is cut into finer parts the same way. Pieces hold as many parts as fit,
/// except that the last two share the tokens evenly when that takes no extra piece, so that no
/// piece is a scrap.
fn cut(budget: &Budget, span: Range<usize>, part: Unit, pieces: &mut Vec<Range<usize>>) -> usize {
    let mut start = span.start;
    loop {
        let mut units = Units::new(budget.text, part, start..span.end);
        let greedy = units.longest_prefix(|prefix| budget.fits(prefix));
        if units.known(greedy + 1) == greedy {
            return start;
        }
        if greedy == 0 {
            let first = units.prefix(1);
            start = match part.finer() {
                Some(finer) => cut(budget, first, finer, pieces),
                // A single character over the limit: nothing smaller exists.
                None => {
                    pieces.push(first.clone());
                    first.end
                }
            };
            continue;
        }
        // Near the end, cut where the two last pieces come out even, as long as the second then
        // fits. Only a rest of about two pieces is counted whole: counting every long rest would
        // make cutting a huge unit quadratic.
        let mut taken = greedy;
        if span.end - start <= 2 * units.prefix(greedy).len() {
            let share = budget.even_share(start..span.end);
            let even = units
                .longest_prefix(|prefix| budget.tokens(prefix) <= share)
                .max(1);
            if budget.fits(units.spans[even].start..span.end) {
                taken = even;
            }
        }
        pieces.push(units.prefix(taken));
        start = units.spans[taken].start;
    }
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
    fn cutting_a_huge_sentence_counts_each_byte_a_bounded_number_of_times() {
        let text = vec!["słowo"; 20_000].join(" ");
        let counted = Cell::new(0);
        let count = |piece: &str| {
            counted.set(counted.get() + piece.len());
            words_plus_two(piece)
        };
        let cut = pieces(&text, 100, &count);
        assert_eq!(cut.len(), 205);
        assert!(cut.iter().all(|piece| words_plus_two(piece) <= 100));
        assert!(
            counted.get() < 20 * text.len(),
            "{} bytes counted",
            counted.get()
        );

        // A blob without spaces (an inlined image in Markdown) is cut between characters.
        let blob = "iVBORw0KGgo".repeat(10_000);
        counted.set(0);
        let by_chars = |piece: &str| {
            counted.set(counted.get() + piece.len());
            piece.chars().count()
        };
        let cut = pieces(&blob, 500, &by_chars);
        assert_eq!(cut.len(), 220);
        assert!(
            counted.get() < 20 * blob.len(),
            "{} bytes counted",
            counted.get()
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
    fn longest_prefix_finds_the_boundary() {
        let text = "a b c d e f g h i j k";
        for limit in 0..=11 {
            let mut words = Units::new(text, Unit::Word, 0..text.len());
            let taken = words.longest_prefix(|prefix| text[prefix].split(' ').count() <= limit);
            assert_eq!(taken, limit);
        }
    }
}
