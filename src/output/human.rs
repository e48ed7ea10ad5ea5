//! Results for people: rank, score, where the passage stands, then its text wrapped to
//! the terminal (or `COLUMNS`) width.

use std::fmt::Write as _;
use std::ops::Range;

use crate::ingest::{display_path, PATH_SEPARATOR};
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

/// `notes.txt ¶N, lines a–b`, `report.pdf p. 3, "Sanctions" ¶2`: the page where the format
/// has pages, the innermost heading where it has headings, the lines where they are the file's.
pub fn location(p: &StoredPassage) -> String {
    let mut out = display_path(&p.doc);
    if let Some(page) = p.page {
        let _ = write!(out, " p. {page},");
    }
    if let Some(section) = &p.section {
        let heading = section.rsplit(PATH_SEPARATOR).next().unwrap_or(section);
        let _ = write!(out, " \"{}\"", sanitize::clean(heading));
    }
    let _ = write!(out, " ¶{}", p.paragraph);
    match (p.start_line, p.end_line) {
        (Some(start), Some(end)) if start == end => {
            let _ = write!(out, ", line {start}");
        }
        (Some(start), Some(end)) => {
            let _ = write!(out, ", lines {start}–{end}");
        }
        _ => {}
    }
    out
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

/// A document's passages for `show`: a heading line (the document, its title and format),
/// then each passage's place and text, those asked for marked with `»`.
pub fn document(
    doc: &str,
    title: Option<&str>,
    format: Option<&str>,
    passages: &[(&StoredPassage, bool)],
) -> String {
    let mut out = display_path(doc);
    if let Some(title) = title {
        let _ = write!(out, " \"{}\"", sanitize::clean(title));
    }
    if let Some(format) = format {
        let _ = write!(out, " ({format})");
    }
    out.push('\n');
    for (passage, target) in passages {
        let mark = if *target { "» " } else { "  " };
        let _ = writeln!(out, "\n{mark}{}", location(passage));
        let _ = writeln!(out, "{}", wrapped(&passage.text, "   "));
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
            start_line: Some(start),
            end_line: Some(end),
            page: None,
            section: None,
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

    #[test]
    fn a_pdf_passage_is_cited_by_page_and_innermost_heading() {
        let mut p = passage(1, 1);
        p.doc = "/nowhere/report.pdf".into();
        (p.start_line, p.end_line) = (None, None);
        p.page = Some(3);
        p.section = Some("Raport › Sankcje\u{1b}[2J".into());
        assert_eq!(location(&p), "/nowhere/report.pdf p. 3, \"Sankcje[2J\" ¶3");
    }
}
