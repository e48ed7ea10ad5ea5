//! Sentences: where sentences and words begin and end in cleaned, single-spaced text.
//! Polish-aware: a period after an abbreviation (`r.`, `m.in.`, `np.`), an initial or an
//! ordinal number (`14.`) does not end a sentence.

use std::ops::Range;

/// Closing quotes and brackets that may follow the punctuation ending a sentence.
const CLOSERS: &[char] = &['"', '\'', '”', '’', '»', ')', ']'];
/// Opening quotes, brackets and dashes that may precede a sentence's first word.
const OPENERS: &[char] = &['"', '\'', '„', '“', '‘', '«', '(', '[', '–', '—', '-'];

/// Abbreviations (lowercase, without their final period) after which a period does not end a
/// sentence. Multi-part ones like `m.in.` or `ub.r.` are recognised by shape in `is_abbreviation`.
const ABBREVIATIONS: &[&str] = &[
    // Polish: dates, amounts and units.
    "r", "br", "ub", "godz", "min", "sek", "ok", "dol", "zł", "mln", "mld", "tys", "proc", "pkt",
    "nr", "str", "poz", "art", "ust", // Polish: connectives and references.
    "np", "tzw", "tj", "tzn", "m.in", "ww", "ws", "wg", "jw", "por", "zob", "ang", "ros", "red",
    // Polish: titles and ranks.
    "prof", "dr", "hab", "inż", "mgr", "gen", "płk", "ppłk", "kpt", "ks", "św", "ul", "al", "pl",
    // English.
    "mr", "mrs", "ms", "st", "vs", "no", "jr", "sr", "approx", "dept",
];

/// Whether `text` ends with sentence-final punctuation (possibly inside closing quotes or brackets).
pub fn ends_sentence(text: &str) -> bool {
    text.trim_end_matches(CLOSERS)
        .ends_with(['.', '!', '?', '…'])
}

/// The first whitespace-separated word of `text[range]`, as a byte span of `text`.
pub fn next_word(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let slice = &text[range.clone()];
    let begin = slice.find(|c: char| !c.is_whitespace())?;
    let length = slice[begin..]
        .find(char::is_whitespace)
        .unwrap_or(slice.len() - begin);
    Some(range.start + begin..range.start + begin + length)
}

/// The first sentence of `text[range]`, from its first word to the word after which a sentence
/// ends (or the end of the range), as a byte span of `text`. Scans no further than that word's
/// successor, so walking a long text sentence by sentence stays linear.
pub fn next_sentence(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let first = next_word(text, range.clone())?;
    let mut current = first.clone();
    while let Some(next) = next_word(text, current.end..range.end) {
        if is_boundary(&text[current.clone()], &text[next.clone()]) {
            break;
        }
        current = next;
    }
    Some(first.start..current.end)
}

/// Whether a sentence ends after the word `token`, given the word that follows it.
fn is_boundary(token: &str, next: &str) -> bool {
    let core = token.trim_end_matches(CLOSERS);
    if !core.ends_with(['.', '!', '?', '…']) {
        return false;
    }
    if core.ends_with('.') && !core.ends_with("...") {
        let word = core
            .trim_end_matches('.')
            .trim_start_matches(OPENERS)
            .trim_end_matches(CLOSERS);
        if is_abbreviation(word) || is_initial(word) || is_ordinal(word) {
            return false;
        }
    }
    starts_sentence(next)
}

fn is_abbreviation(word: &str) -> bool {
    let lower = word.to_lowercase();
    if ABBREVIATIONS.contains(&lower.as_str()) {
        return true;
    }
    // Dotted short parts: `m.in`, `ub.r`, `e.g`, `U.S`.
    lower.contains('.')
        && lower.split('.').all(|part| {
            (1..=3).contains(&part.chars().count()) && part.chars().all(char::is_alphabetic)
        })
}

/// A single letter, as in `Anna M. Dyner`.
fn is_initial(word: &str) -> bool {
    let mut chars = word.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if c.is_alphabetic())
}

/// A number followed by a period is an ordinal in Polish (`14. Zarządem`, `20. rocznicę`).
fn is_ordinal(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_digit())
}

fn starts_sentence(word: &str) -> bool {
    word.chars()
        .next()
        .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit() || OPENERS.contains(&c))
}

/// Byte spans of the sentences of a cleaned passage, in order, covering all its words.
pub fn sentence_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(span) = next_sentence(text, from..text.len()) {
        from = span.end;
        spans.push(span);
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentences(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        let mut at = 0;
        while let Some(span) = next_sentence(text, at..text.len()) {
            at = span.end;
            found.push(&text[span]);
        }
        found
    }

    #[test]
    fn splits_after_sentence_punctuation_before_a_capital() {
        // 000: two sentences, the first ending in a closing bracket.
        let text = "Wszelkie decyzje będą należały do Kremla (Rosja rozmieści pociski). Zresztą jeszcze na początku zeszłego roku powstało dowództwo.";
        assert_eq!(
            sentences(text),
            vec![
                "Wszelkie decyzje będą należały do Kremla (Rosja rozmieści pociski).",
                "Zresztą jeszcze na początku zeszłego roku powstało dowództwo."
            ]
        );
    }

    #[test]
    fn splits_after_a_closing_quote_and_before_an_opening_one() {
        // 004.
        let text = "Rośnie liczba ofiar i rannych” – czytamy w komunikacie. „W rzeczywistości mówimy o próbie” – uważa MSZ Białorusi.";
        assert_eq!(sentences(text).len(), 2);
        let text = "dobrego doradcy co do możliwych rozwiązań pokojowych”. Jednocześnie, mimo planowanych negocjacji";
        assert_eq!(sentences(text).len(), 2);
    }

    #[test]
    fn does_not_split_after_polish_abbreviations() {
        // 001 and 003.
        for text in [
            "Białoruś i Rosja 2 marca br. przyjęły ponadto 5-letni plan współpracy wojskowej.",
            "w grudniu ub.r., natomiast drugą – dopiero na początku czerwca br., po rozmowach",
            "zatwierdziła m.in. nową doktrynę wojenną i koncepcję bezpieczeństwa narodowego.",
            "(skąd dotychczas sprowadzały ok. 80% nawozów), co będzie mogło pomóc",
            "Pierwszą transzę w wysokości 500 mln dol. Białoruś otrzymała w grudniu",
            "Państwa Związkowego Białorusi i Rosji w grudniu 2019 r. Białoruś nie zgodziła się",
            "do prowadzenia kampanii dezinformacyjnych (np. w zakresie polityki historycznej)",
            "jako rzekomo ważny pośrednik w tzw. ukraińskim procesie pokojowym.",
            "Jak podkreślił prof. Nowak, rozmowy trwały.",
        ] {
            assert_eq!(sentences(text), vec![text], "{text}");
        }
    }

    #[test]
    fn does_not_split_after_initials_or_ordinals() {
        // 000: "14. Zarządem" is an ordinal.
        let text = "formalnie było bowiem 14. Zarządem Sztabu Generalnego Sił Zbrojnych Związku Radzieckiego.";
        assert_eq!(sentences(text), vec![text]);
        let text = "Autorką jest Anna M. Dyner z PISM.";
        assert_eq!(sentences(text), vec![text]);
    }

    #[test]
    fn question_marks_and_ellipses_end_sentences() {
        // 003: a Q&A heading followed by its answer.
        let text = "Jakie było tło spotkania? Rozmowy w Mińsku były poprzedzone kolejnymi rundami… Jednak nie.";
        assert_eq!(
            sentences(text),
            vec![
                "Jakie było tło spotkania?",
                "Rozmowy w Mińsku były poprzedzone kolejnymi rundami…",
                "Jednak nie."
            ]
        );
    }

    #[test]
    fn ends_sentence_looks_through_closing_quotes() {
        assert!(ends_sentence("możliwych rozwiązań pokojowych”."));
        assert!(ends_sentence("„przeciwnie – by ją chronić”."));
        assert!(ends_sentence("Jakie było tło spotkania?"));
        assert!(!ends_sentence(
            "działań zmierzających do rozszerzenia współpracy"
        ));
        assert!(!ends_sentence("Broń atomowa na Białorusi"));
    }

    #[test]
    fn next_word_skips_leading_spaces_inside_a_range() {
        let text = "Alaś Białacki, niedoszły kandydat";
        // "Alaś" is 5 bytes long.
        assert_eq!(next_word(text, 5..text.len()), Some(6..16));
        assert_eq!(&text[6..16], "Białacki,");
        assert_eq!(next_word(text, 6..9), Some(6..9));
        assert_eq!(next_word(text, 5..6), None);
        assert_eq!(next_word(text, 0..text.len()), Some(0..5));
    }

    #[test]
    fn a_sentence_can_be_read_from_the_middle() {
        // Where a cut sentence's rest starts the next passage.
        let text = "Mińsk zastrzegł sobie, że Rosjanie nie mogą dowodzić. Czyli bez zgody Mińska nie może.";
        let from = text.find("Rosjanie").unwrap();
        let span = next_sentence(text, from..text.len()).unwrap();
        assert_eq!(&text[span], "Rosjanie nie mogą dowodzić.");
    }

    #[test]
    fn sentence_spans_cover_every_sentence_in_order() {
        let text = "Rozmowy w Mińsku trwały. W 2019 r. Białoruś odmówiła m.in. podpisu. Koniec";
        let spans: Vec<&str> = sentence_spans(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(
            spans,
            vec![
                "Rozmowy w Mińsku trwały.",
                "W 2019 r. Białoruś odmówiła m.in. podpisu.",
                "Koniec"
            ]
        );
    }

    proptest::proptest! {
        /// Sentences come in order, do not overlap, lie on character boundaries, and
        /// together hold every word of the text exactly once.
        #[test]
        fn sentences_hold_every_word_once_in_order(
            text in "[A-ZŁa-zż0-9 .?!…„”()\\-]{0,160}",
        ) {
            let spans = sentence_spans(&text);
            let mut end = 0;
            for span in &spans {
                proptest::prop_assert!(span.start >= end && span.start < span.end);
                proptest::prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
                end = span.end;
            }
            let words: Vec<&str> = spans.iter().flat_map(|s| text[s.clone()].split_whitespace()).collect();
            proptest::prop_assert_eq!(words, text.split_whitespace().collect::<Vec<_>>());
        }
    }
}
