//! Windows: the runs of sentences a passage is searched through. A passage (what akapit
//! shows and cites) is embedded window by window, and scores as its best window; the best
//! window is also where the answer highlight starts. Changing these rules changes every
//! stored vector, so it goes with a bump of `ingest::CHUNKER_VERSION`.

use std::ops::Range;

use super::sentences::sentence_spans;

/// Sentences per search window, and how many sentences each window moves on from the last.
pub const WINDOW_SENTENCES: usize = 3;
pub const WINDOW_STRIDE: usize = 2;

/// The byte spans a passage is searched through: runs of `WINDOW_SENTENCES` sentences,
/// overlapping by one, so a sentence that leans on its neighbour ("in that state") is seen
/// with it. A passage of up to three sentences is one window; every passage has at least one.
pub fn windows(text: &str) -> Vec<Range<usize>> {
    let sentences = sentence_spans(text);
    if sentences.len() <= WINDOW_SENTENCES {
        return std::iter::once(0..text.len()).collect();
    }
    let mut out = Vec::new();
    let mut first = 0;
    loop {
        let last = (first + WINDOW_SENTENCES).min(sentences.len()) - 1;
        out.push(sentences[first].start..sentences[last].end);
        if last + 1 == sentences.len() {
            return out;
        }
        first += WINDOW_STRIDE;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_three_sentences_overlapping_by_one() {
        let text = "Jeden. Dwa. Trzy. Cztery. Pięć. Sześć.";
        let windows: Vec<&str> = windows(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            windows,
            vec!["Jeden. Dwa. Trzy.", "Trzy. Cztery. Pięć.", "Pięć. Sześć."]
        );
    }

    #[test]
    fn a_short_passage_is_one_window_of_all_its_text() {
        for text in ["Tytuł bez kropki", "Jedno. Dwa. Trzy.", ""] {
            assert_eq!(
                windows(text),
                std::iter::once(0..text.len()).collect::<Vec<_>>(),
                "{text}"
            );
        }
    }

    #[test]
    fn windows_cover_every_sentence_of_a_seed_paragraph() {
        // 003: the sentence about the state of emergency depends on the one before it.
        let text = "Jednocześnie, mimo planowanych negocjacji z Amerykanami, białoruskie władze nie \
            zaprzestały wrogich działań hybrydowych wobec sąsiednich państw NATO, a wobec Litwy nawet \
            je wzmocniły. Doprowadziło to do ogłoszenia w tym państwie stanu nadzwyczajnego od 9 \
            grudnia. Białoruś przygotowuje się także do posiedzenia Ogólnobiałoruskiego Zgromadzenia \
            Ludowego (OZL), zaplanowanego na 18–19 grudnia. OZL, powołane w 2022 r., jako organ \
            konstytucyjny jest formalnie instytucją kształtującą politykę państwa.";
        let windows = windows(text);
        assert_eq!(windows.len(), 2);
        assert!(
            text[windows[0].clone()].contains("wobec Litwy")
                && text[windows[0].clone()].contains("stanu nadzwyczajnego")
        );
        assert_eq!(windows[0].start, 0);
        assert_eq!(windows.last().unwrap().end, text.len());
    }

    proptest::proptest! {
        /// On cleaned text: every sentence is in a window, windows are runs of at most
        /// `WINDOW_SENTENCES` consecutive sentences, each starting `WINDOW_STRIDE` after the
        /// last, and together they reach from the first sentence to the last.
        #[test]
        fn windows_are_overlapping_runs_of_sentences(
            words in proptest::collection::vec("[A-ZŁa-zóż]{1,8}[.?!]?", 0..60),
        ) {
            let text = words.join(" ");
            let sentences = sentence_spans(&text);
            let windows = windows(&text);
            proptest::prop_assert!(!windows.is_empty());
            if sentences.len() <= WINDOW_SENTENCES {
                proptest::prop_assert_eq!(windows, vec![0..text.len()]);
                return Ok(());
            }
            for (i, window) in windows.iter().enumerate() {
                let first = i * WINDOW_STRIDE;
                let last = (first + WINDOW_SENTENCES).min(sentences.len()) - 1;
                proptest::prop_assert_eq!(window.clone(), sentences[first].start..sentences[last].end);
            }
            proptest::prop_assert_eq!(windows[0].start, sentences[0].start);
            proptest::prop_assert_eq!(windows.last().unwrap().end, sentences.last().unwrap().end);
        }
    }
}
