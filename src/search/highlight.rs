//! The part of a hit that answers the question, without embedding anything at query time:
//! the best window (from the ranking, or by scoring the hit's stored window vectors against
//! the question), narrowed to its sentences that share the most analysed terms with the
//! question. When no term is shared (a question in another language), the whole window is
//! the highlight. How often this contains the answer is measured in the README.

use std::collections::HashSet;
use std::ops::Range;

use super::analyze::Analyzer;
use super::{Hit, Query};
use crate::error::Result;
use crate::ingest;
use crate::store::Index;

/// Byte spans of `hit.passage.text` that best answer `query`, in text order.
pub fn highlight(
    index: &Index,
    query: &Query,
    analyzer: Analyzer,
    hit: &Hit,
) -> Result<Vec<Range<usize>>> {
    let text = &hit.passage.text;
    let window = match (&query.vector, hit.dense) {
        // Found by keywords only: pick the window the question is closest to.
        (Some(vector), None) => index
            .windows(hit.passage.id)?
            .into_iter()
            .map(|(span, v)| (v.iter().zip(vector).map(|(a, b)| a * b).sum::<f32>(), span))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map_or(hit.window.clone(), |(_, span)| span),
        _ => hit.window.clone(),
    };
    Ok(narrow(text, window, &query.terms, analyzer))
}

/// The sentences of `text[window]` sharing the most distinct terms with the question (ties
/// all kept, merged when adjacent), or the whole window when none shares any.
pub fn narrow(
    text: &str,
    window: Range<usize>,
    terms: &[String],
    analyzer: Analyzer,
) -> Vec<Range<usize>> {
    let wanted: HashSet<&str> = terms.iter().map(String::as_str).collect();
    let sentences: Vec<Range<usize>> = ingest::sentence_spans(&text[window.clone()])
        .into_iter()
        .map(|s| window.start + s.start..window.start + s.end)
        .collect();
    let overlap = |span: &Range<usize>| {
        let found: HashSet<String> = analyzer.terms(&text[span.clone()]).into_iter().collect();
        found.iter().filter(|t| wanted.contains(t.as_str())).count()
    };
    let scores: Vec<usize> = sentences.iter().map(overlap).collect();
    let best = scores.iter().copied().max().unwrap_or(0);
    if best == 0 || sentences.len() <= 1 {
        return vec![window];
    }
    let mut out: Vec<Range<usize>> = Vec::new();
    for (span, _) in sentences
        .into_iter()
        .zip(scores)
        .filter(|(_, s)| *s == best)
    {
        match out.last_mut() {
            // Adjacent sentences (only spaces between) become one highlight.
            Some(last) if text[last.end..span.start].trim().is_empty() => last.end = span.end,
            _ => out.push(span),
        }
    }
    out
}

/// Byte spans as character offsets (what the JSON output promises).
pub fn char_offsets(text: &str, spans: &[Range<usize>]) -> Vec<Range<usize>> {
    let to_chars = |byte: usize| text[..byte].chars().count();
    spans
        .iter()
        .map(|s| to_chars(s.start)..to_chars(s.end))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSAGE: &str =
        "Jednocześnie białoruskie władze nie zaprzestały wrogich działań wobec Litwy. \
        Doprowadziło to do ogłoszenia w tym państwie stanu nadzwyczajnego od 9 grudnia. \
        Białoruś przygotowuje się także do posiedzenia Zgromadzenia.";

    fn terms(q: &str) -> Vec<String> {
        Analyzer::DEFAULT.terms(q)
    }

    #[test]
    fn narrows_to_the_sentence_sharing_most_terms() {
        let spans = narrow(
            PASSAGE,
            0..PASSAGE.len(),
            &terms("Kiedy ogłoszono stan nadzwyczajny?"),
            Analyzer::DEFAULT,
        );
        assert_eq!(spans.len(), 1);
        assert!(PASSAGE[spans[0].clone()].starts_with("Doprowadziło to do ogłoszenia"));
        assert!(PASSAGE[spans[0].clone()].ends_with("9 grudnia."));
    }

    #[test]
    fn no_shared_term_keeps_the_whole_window() {
        let window = 10..PASSAGE.len();
        let spans = narrow(
            PASSAGE,
            window.clone(),
            &terms("Why did they declare an emergency?"),
            Analyzer::DEFAULT,
        );
        assert_eq!(spans, vec![window]);
    }

    #[test]
    fn adjacent_ties_merge_and_spans_stay_inside_the_window() {
        let spans = narrow(
            PASSAGE,
            0..PASSAGE.len(),
            &terms("Białoruś Litwa"),
            Analyzer::DEFAULT,
        );
        for s in &spans {
            assert!(
                s.end <= PASSAGE.len()
                    && PASSAGE.is_char_boundary(s.start)
                    && PASSAGE.is_char_boundary(s.end)
            );
        }
        assert!(!spans.is_empty());
    }

    #[test]
    fn char_offsets_count_characters_not_bytes() {
        let text = "Łódź i Żółć. Koniec";
        let bytes: Vec<_> =
            std::iter::once(text.find('Ż').unwrap()..text.find('.').unwrap() + 1).collect();
        let chars = char_offsets(text, &bytes);
        assert_eq!(chars, vec![7..12]);
        let back: String = text.chars().skip(7).take(5).collect();
        assert_eq!(back, "Żółć.");
    }
}
