//! Results for people: rank, score, where the passage stands, then its text wrapped to
//! the terminal (or `COLUMNS`) width.

use std::fmt::Write as _;
use std::ops::Range;

use crate::ingest::display_path;
use crate::search::Hit;
use crate::store::StoredPassage;
use crate::text::sanitize;

/// Width to wrap text at: `COLUMNS` when set, else 100.
fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|&w| w >= 40)
        .unwrap_or(100)
}

/// `path ¶N, lines a–b`
pub fn location(p: &StoredPassage) -> String {
    let lines = if p.start_line == p.end_line {
        format!("line {}", p.start_line)
    } else {
        format!("lines {}–{}", p.start_line, p.end_line)
    };
    format!("{} ¶{}, {}", display_path(&p.doc), p.paragraph, lines)
}

fn wrapped(text: &str, indent: &str) -> String {
    wrapped_with(text, indent, indent)
}

fn wrapped_with(text: &str, first: &str, rest: &str) -> String {
    let options = textwrap::Options::new(width())
        .initial_indent(first)
        .subsequent_indent(rest);
    textwrap::fill(&sanitize::clean(text), options)
}

/// Each hit: its place, the highlighted sentences (`» …`, when they are not the whole
/// passage), then the passage. `highlights[i]` belongs to `hits[i]`.
pub fn hits(hits: &[Hit], highlights: &[Option<Range<usize>>]) -> String {
    let mut out = String::new();
    for (i, (hit, spans)) in hits.iter().zip(highlights).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let text = &hit.passage.text;
        let _ = writeln!(
            out,
            "{}. [{:.3}] {}",
            hit.rank,
            hit.score,
            location(&hit.passage)
        );
        if let Some(span) = spans.as_ref().filter(|s| s.len() < text.len()) {
            let _ = writeln!(
                out,
                "{}",
                wrapped_with(&text[span.clone()], "   » ", "     ")
            );
        }
        let _ = writeln!(out, "{}", wrapped(text, "   "));
    }
    out
}

/// The passage `related` starts from, shown above its results.
pub fn source(p: &StoredPassage) -> String {
    format!(
        "Related to {}:\n{}\n\n",
        location(p),
        wrapped(&p.text, "   ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(start: u32, end: u32) -> StoredPassage {
        StoredPassage {
            id: 1,
            doc: "/nowhere/a.txt".into(),
            paragraph: 3,
            start_line: start,
            end_line: end,
            text: "Zakłada on organizację ponad\n160 wspólnych działań.\u{1b}[2J".into(),
        }
    }

    #[test]
    fn hit_shows_rank_score_location_and_clean_text() {
        let hit = Hit {
            rank: 1,
            score: 0.87654,
            dense: Some(0.87654),
            window: 0..10,
            passage: passage(4, 9),
        };
        let text = &hit.passage.text;
        let highlight = text.find("160").unwrap()..text.find('\u{1b}').unwrap();
        let text = hits(std::slice::from_ref(&hit), &[Some(highlight)]);
        assert!(text.contains("\n   » 160 wspólnych działań.\n"), "{text}");
        assert!(
            text.starts_with("1. [0.877] /nowhere/a.txt ¶3, lines 4–9\n"),
            "{text}"
        );
        assert!(
            text.contains("   Zakłada on organizację ponad 160 wspólnych działań.[2J"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn single_line_location() {
        assert!(location(&passage(7, 7)).ends_with("¶3, line 7"));
    }
}
