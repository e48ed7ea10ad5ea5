//! The sentences of a hit that answer the question, without embedding anything at query
//! time. Each sentence of the passage is scored by the best similarity of the windows
//! that contain it (their vectors are stored) plus the share of the question's keyword
//! weight (BM25 idf) it contains; the best sentence is highlighted, with the adjacent
//! ones that score almost as well. How often this holds the answer is measured in the README.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::{Hit, Query, Result};
use crate::store::Index;
use crate::text::{sentence_spans, Analyzer};
use crate::vector;

/// How much a sentence's keyword share counts against window similarity (cosines of
/// windows in one passage differ by a few hundredths; a full keyword share is worth 0.1).
const KEYWORD_WEIGHT: f32 = 0.1;
/// A neighbour of the best sentence is highlighted too when it scores this close.
const NEIGHBOUR_SHARE: f32 = 0.9;

/// The byte span of `hit.passage.text` that best answers `query`.
pub fn highlight(
    index: &Index,
    query: &Query,
    analyzer: Analyzer,
    hit: &Hit,
) -> Result<Range<usize>> {
    let text = &hit.passage.text;
    let windows: Vec<(Range<usize>, f32)> = match &query.vector {
        Some(vector) => {
            let stored = index.windows(hit.passage.id)?;
            // A window of the whole passage (beside its sentence windows) says nothing about
            // which sentence answers.
            let several = stored.len() > 1;
            stored
                .into_iter()
                .filter(|(span, _)| !(several && *span == (0..text.len())))
                .map(|(span, v)| (span, vector::dot(&v, vector)))
                .collect()
        }
        None => Vec::new(),
    };
    let distinct: Vec<String> = query
        .terms
        .iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .cloned()
        .collect();
    let n = index.manifest().passages as f32;
    let idf: HashMap<String, f32> = distinct
        .iter()
        .cloned()
        .zip(index.document_frequencies(&distinct)?)
        .map(|(t, df)| (t, (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln()))
        .collect();
    Ok(best_sentences(text, &windows, &idf, analyzer))
}

/// The best sentence of `text` (and close adjacent ones) by window similarity plus
/// keyword share; `windows` are `(span, similarity)`, `idf` the question's terms.
pub fn best_sentences(
    text: &str,
    windows: &[(Range<usize>, f32)],
    idf: &HashMap<String, f32>,
    analyzer: Analyzer,
) -> Range<usize> {
    let sentences = sentence_spans(text);
    if sentences.len() <= 1 {
        return 0..text.len();
    }
    let total: f32 = idf.values().sum();
    let scores: Vec<f32> = sentences
        .iter()
        .map(|s| {
            let dense = windows
                .iter()
                .filter(|(w, _)| w.start <= s.start && s.end <= w.end)
                .map(|(_, score)| *score)
                .fold(0.0, f32::max);
            let found: HashSet<String> = analyzer.terms(&text[s.clone()]).into_iter().collect();
            let share = if total > 0.0 {
                found.iter().filter_map(|t| idf.get(t)).sum::<f32>() / total
            } else {
                0.0
            };
            dense + KEYWORD_WEIGHT * share
        })
        .collect();
    let best = (0..scores.len())
        .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
        .unwrap_or(0);
    let mut first = best;
    let mut last = best;
    let close = |i: usize| scores[i] >= NEIGHBOUR_SHARE * scores[best];
    // Either neighbour that scores almost as well: an answer often completes the sentence
    // that names the topic, or leads into it.
    if best + 1 < sentences.len() && close(best + 1) {
        last = best + 1;
    }
    if best > 0 && close(best - 1) {
        first = best - 1;
    }
    sentences[first].start..sentences[last].end
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSAGE: &str =
        "Jednocześnie białoruskie władze nie zaprzestały wrogich działań wobec Litwy. \
        Doprowadziło to do ogłoszenia w tym państwie stanu nadzwyczajnego od 9 grudnia. \
        Białoruś przygotowuje się także do posiedzenia Zgromadzenia. \
        Zgromadzenie zbierze się w grudniu.";

    fn idf(q: &str) -> HashMap<String, f32> {
        Analyzer::DEFAULT
            .terms(q)
            .into_iter()
            .map(|t| (t, 1.0))
            .collect()
    }

    fn spans(windows: &[(Range<usize>, f32)], q: &str) -> String {
        PASSAGE[best_sentences(PASSAGE, windows, &idf(q), Analyzer::DEFAULT)].to_string()
    }

    #[test]
    fn both_neighbours_join_when_they_score_almost_as_well() {
        let sentences = sentence_spans(PASSAGE);
        assert_eq!(sentences.len(), 4);
        let scores = [0.85, 0.9, 0.85, 0.5];
        let windows: Vec<(Range<usize>, f32)> = sentences.iter().cloned().zip(scores).collect();
        let got = best_sentences(PASSAGE, &windows, &HashMap::new(), Analyzer::DEFAULT);
        assert_eq!(got, sentences[0].start..sentences[2].end);
        let lower = [0.5, 0.9, 0.85, 0.5];
        let windows: Vec<(Range<usize>, f32)> = sentences.iter().cloned().zip(lower).collect();
        let got = best_sentences(PASSAGE, &windows, &HashMap::new(), Analyzer::DEFAULT);
        assert_eq!(got, sentences[1].start..sentences[2].end);
    }

    #[test]
    fn keywords_pick_the_sentence_when_windows_tie() {
        let whole = [(0..PASSAGE.len(), 0.8)];
        let got = spans(&whole, "Kiedy ogłoszono stan nadzwyczajny?");
        assert!(
            got.contains("stanu nadzwyczajnego od 9 grudnia."),
            "{got:?}"
        );
        assert!(!got.contains("Zgromadzenie zbierze"), "{got:?}");
    }

    #[test]
    fn without_shared_words_the_best_window_decides() {
        let sentences = sentence_spans(PASSAGE);
        let first = sentences[0].start..sentences[2].end;
        let second = sentences[2].start..sentences[3].end;
        let got = spans(
            &[(first, 0.70), (second, 0.76)],
            "When does the assembly meet?",
        );
        assert!(got.contains("Zgromadzeni"), "{got:?}");
    }

    #[test]
    fn spans_lie_on_boundaries_inside_the_text() {
        for q in ["Białoruś Litwa", "", "grudnia"] {
            let r = best_sentences(
                PASSAGE,
                &[(0..PASSAGE.len(), 0.5)],
                &idf(q),
                Analyzer::DEFAULT,
            );
            assert!(r.start < r.end && r.end <= PASSAGE.len());
            assert!(PASSAGE.is_char_boundary(r.start) && PASSAGE.is_char_boundary(r.end));
        }
        assert_eq!(
            best_sentences("Jedno zdanie", &[], &idf("x"), Analyzer::DEFAULT),
            0..12
        );
    }
}
