//! Windows: the runs of sentences a passage is searched through. A passage (what akapit
//! shows and cites) is embedded window by window, and scores as its best window; the best
//! window is also where the answer highlight starts. Changing these rules changes every
//! stored vector, so it goes with a bump of `ingest::CHUNKER_VERSION`.

use std::ops::Range;

use super::sentences::sentence_spans;

/// What a passage is embedded as, beside its sentence windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowPolicy {
    /// A passage of several windows also gets one for its whole text, so that it can be
    /// found as a whole as well as by its best window.
    pub whole: bool,
    /// A window that does not start the passage is embedded with the passage's first
    /// sentence (its heading, or the sentence that says what it is about) in front of it.
    pub context: bool,
}

impl WindowPolicy {
    /// Sentence windows alone: what every index was built with before policies existed.
    pub const SENTENCES: WindowPolicy = WindowPolicy {
        whole: false,
        context: false,
    };

    /// The policy indexes are built with (README, "Retrieval quality").
    pub const DEFAULT: WindowPolicy = WindowPolicy::SENTENCES;

    /// Every combination, for measuring them.
    pub const ALL: [WindowPolicy; 4] = [
        WindowPolicy::SENTENCES,
        WindowPolicy {
            whole: true,
            context: false,
        },
        WindowPolicy {
            whole: false,
            context: true,
        },
        WindowPolicy {
            whole: true,
            context: true,
        },
    ];

    /// The windows of `text`: the sentence windows, and the whole text when the policy
    /// asks for it and there are several.
    pub fn spans(self, text: &str) -> Vec<Range<usize>> {
        let mut spans = windows(text);
        if self.whole && spans.len() > 1 {
            spans.push(0..text.len());
        }
        spans
    }

    /// The text embedded for the window `span` of `text`.
    pub fn embedded<'t>(self, text: &'t str, span: &Range<usize>) -> std::borrow::Cow<'t, str> {
        let window = &text[span.clone()];
        if !self.context || span.start == 0 {
            return window.into();
        }
        match sentence_spans(text).first() {
            Some(first) if first.end <= span.start => {
                format!("{} {window}", &text[first.clone()]).into()
            }
            _ => window.into(),
        }
    }
}

impl std::fmt::Display for WindowPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match (self.whole, self.context) {
            (false, false) => "sentences",
            (true, false) => "sentences+whole",
            (false, true) => "sentences+context",
            (true, true) => "sentences+whole+context",
        })
    }
}

impl std::str::FromStr for WindowPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WindowPolicy::ALL
            .into_iter()
            .find(|p| p.to_string() == s)
            .ok_or_else(|| {
                format!(
                    "unknown window policy `{s}` ({})",
                    WindowPolicy::ALL.map(|p| p.to_string()).join(", ")
                )
            })
    }
}

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

    #[test]
    fn the_whole_text_and_the_first_sentence_are_added_on_request() {
        let text = "Tytuł raportu. Dwa. Trzy. Cztery. Pięć. Sześć.";
        let plain = WindowPolicy::default();
        let whole = WindowPolicy {
            whole: true,
            context: false,
        };
        let context = WindowPolicy {
            whole: false,
            context: true,
        };
        assert_eq!(plain.spans(text), windows(text));
        let spans = whole.spans(text);
        assert_eq!(spans.len(), windows(text).len() + 1);
        assert_eq!(spans.last(), Some(&(0..text.len())));
        assert_eq!(whole.spans("Jedno zdanie."), vec![0..13]);
        let second = &windows(text)[1];
        assert_eq!(
            context.embedded(text, second),
            "Tytuł raportu. Trzy. Cztery. Pięć."
        );
        assert_eq!(
            context.embedded(text, &windows(text)[0]),
            "Tytuł raportu. Dwa. Trzy."
        );
        for policy in WindowPolicy::ALL {
            assert_eq!(policy.to_string().parse::<WindowPolicy>(), Ok(policy));
        }
    }
}
