//! PDF: born-digital PDFs with a text layer. `glyphs` interprets the pages (with `hayro`) and
//! gives each page's text lines in reading order, columns included, with their positions and
//! font sizes. This module turns those lines into a `Source`: running headers, footers and
//! page numbers are dropped (text in the page margins that repeats across pages, numbers
//! alone, and text at the top set smaller than the body, as a one-page document's header), lines set larger than the body text become headings, and a vertical gap larger
//! than the line spacing ends a paragraph. Soft wraps and hyphenation are left to the
//! chunker's reflow, which every format shares. Every line keeps its page number.

mod glyphs;

use std::collections::HashMap;

use super::super::source::{Format, Source, SourceBuilder};
use super::{Progress, Unreadable};
use crate::text::sentences::ends_sentence;
pub(super) use glyphs::{PdfLine, PdfPage, PdfProblem};

/// Share of the page height at the top and at the bottom where running headers, footers and
/// page numbers stand.
const MARGIN: f32 = 0.1;
/// A margin line repeated (digits aside) on at least this share of pages is furniture.
const REPEATED_SHARE: f32 = 0.5;
/// Text in the top margin set at most this large relative to the body is a running header
/// (at the bottom it could be a footnote, which is kept).
const SMALL_PRINT: f32 = 0.9;
/// Lines at least this much larger than the body text are headings.
const HEADING_SCALE: f32 = 1.15;
/// Longest line taken as a heading.
const MAX_HEADING_CHARS: usize = 150;
/// A gap between baselines this many times the body line spacing ends a paragraph (lines of
/// one paragraph are set at exactly the spacing; 6 pt between paragraphs of 10/13.5 pt text
/// is 1.44 times it).
const PARAGRAPH_GAP: f32 = 1.25;

pub(super) fn read(raw: &[u8], progress: Progress) -> Result<Source, Unreadable> {
    let pages = glyphs::read_pages(raw, progress).map_err(|problem| match problem {
        PdfProblem::Encrypted => Unreadable::Encrypted,
        PdfProblem::NoText => Unreadable::NoTextLayer,
        PdfProblem::Damaged(why) => Unreadable::Damaged(why),
    })?;
    if pages.iter().all(|p| p.lines.is_empty()) {
        return Err(Unreadable::NoTextLayer);
    }
    Ok(layout(&pages))
}

/// The text of `pages` as a `Source`.
fn layout(pages: &[PdfPage]) -> Source {
    let furniture = repeated_margin_lines(pages);
    let body = body_metrics(pages);
    let heading_sizes = heading_sizes(pages, body.size);
    let mut builder = SourceBuilder::new(Format::Pdf);
    // The last line of text before this page: a sentence it leaves unfinished goes on.
    let mut last: Option<(&PdfLine, &PdfPage)> = None;
    for (index, page) in pages.iter().enumerate() {
        builder.page(u32::try_from(index + 1).unwrap_or(u32::MAX));
        if last.is_none_or(|(line, page)| ends_paragraph(line, page)) {
            builder.blank();
        }
        let mut previous: Option<&PdfLine> = None;
        let mut heading: Option<(u8, String)> = None;
        for line in &page.lines {
            if in_margin(line, page)
                && (is_page_number(&line.text)
                    || furniture.contains_key(&shape(&line.text))
                    || (line.y < MARGIN * page.height && line.size < SMALL_PRINT * body.size))
            {
                continue;
            }
            let level = heading_level(line, &heading_sizes);
            // A heading set on two lines is one heading.
            match (&mut heading, level) {
                (Some((open, text)), Some(level)) if *open == level => {
                    text.push(' ');
                    text.push_str(&line.text);
                    previous = Some(line);
                    continue;
                }
                _ => {}
            }
            if let Some((level, text)) = heading.take() {
                builder.heading(level, &text);
            }
            if let Some(level) = level {
                heading = Some((level, line.text.clone()));
                previous = Some(line);
                last = None;
                continue;
            }
            if previous.is_some_and(|p| starts_paragraph(p, line, page, body.spacing)) {
                builder.blank();
            }
            builder.raw_line(&line.text);
            previous = Some(line);
            last = Some((line, page));
        }
        if let Some((level, text)) = heading.take() {
            builder.heading(level, &text);
        }
    }
    builder.finish()
}

/// Whether `line` starts a new paragraph after `previous`: a larger gap than the body's
/// line spacing, or a jump back up the page (the next column) after a paragraph's end.
fn starts_paragraph(previous: &PdfLine, line: &PdfLine, page: &PdfPage, spacing: f32) -> bool {
    let gap = line.y - previous.y;
    (gap < -spacing && ends_paragraph(previous, page))
        || gap > PARAGRAPH_GAP * spacing.max(line.size)
}

/// Whether the last line of a column or page ends its paragraph: it ends a sentence and
/// stops short of the column's right edge (a full line is continued on the next).
fn ends_paragraph(line: &PdfLine, page: &PdfPage) -> bool {
    let right = page
        .lines
        .iter()
        .filter(|other| (other.x0 - line.x0).abs() < 2.0 * line.size)
        .map(|other| other.x1)
        .fold(line.x1, f32::max);
    ends_sentence(&line.text) && line.x1 < right - 1.5 * line.size
}

fn in_margin(line: &PdfLine, page: &PdfPage) -> bool {
    line.y < MARGIN * page.height || line.y > (1.0 - MARGIN) * page.height
}

/// `12`, `- 12 -`, `12/40`, `Strona 12 z 40`, `Page 12 of 40`, `s. 12`.
fn is_page_number(text: &str) -> bool {
    let words: Vec<String> = text
        .split(|c: char| c.is_whitespace() || matches!(c, '-' | '–' | '—' | '/' | '|' | '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    !words.is_empty()
        && words.iter().any(|w| w.chars().all(|c| c.is_ascii_digit()))
        && words.iter().all(|w| {
            w.chars().all(|c| c.is_ascii_digit())
                || matches!(
                    w.as_str(),
                    "strona" | "str" | "s" | "z" | "page" | "of" | "p"
                )
                || is_roman(w)
        })
}

fn is_roman(word: &str) -> bool {
    !word.is_empty() && word.len() <= 6 && word.chars().all(|c| "ivxlc".contains(c))
}

/// A line's text with digits folded, so that "Raport 2025 | strona 3" repeats across pages.
fn shape(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect::<String>()
        .to_lowercase()
}

/// Margin lines (by `shape`) that repeat on enough pages to be running headers or footers,
/// with the number of pages they are on.
fn repeated_margin_lines(pages: &[PdfPage]) -> HashMap<String, usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for page in pages {
        let mut seen: Vec<String> = page
            .lines
            .iter()
            .filter(|line| in_margin(line, page))
            .map(|line| shape(&line.text))
            .collect();
        seen.sort();
        seen.dedup();
        for shape in seen {
            *counts.entry(shape).or_default() += 1;
        }
    }
    let needed = ((pages.len() as f32 * REPEATED_SHARE).ceil() as usize).max(2);
    counts.retain(|_, n| *n >= needed);
    counts
}

/// The body text's font size and line spacing: the size with the most characters, and the
/// most common gap between consecutive baselines of that size.
struct Body {
    size: f32,
    spacing: f32,
}

fn body_metrics(pages: &[PdfPage]) -> Body {
    let mut sizes: HashMap<i32, usize> = HashMap::new();
    for line in pages.iter().flat_map(|p| &p.lines) {
        *sizes.entry(tenths(line.size)).or_default() += line.text.chars().count();
    }
    let size = sizes
        .into_iter()
        .max_by_key(|&(size, chars)| (chars, -size))
        .map_or(10.0, |(size, _)| size as f32 / 10.0);
    let mut gaps: HashMap<i32, usize> = HashMap::new();
    for page in pages {
        for pair in page.lines.windows(2) {
            let gap = pair[1].y - pair[0].y;
            if tenths(pair[0].size) == tenths(size) && gap > 0.5 * size && gap < 3.0 * size {
                *gaps.entry(tenths(gap)).or_default() += 1;
            }
        }
    }
    let spacing = gaps
        .into_iter()
        .max_by_key(|&(gap, n)| (n, -gap))
        .map_or(1.2 * size, |(gap, _)| gap as f32 / 10.0);
    Body { size, spacing }
}

fn tenths(value: f32) -> i32 {
    (value * 10.0).round() as i32
}

/// Font sizes (in tenths) larger than the body's, largest first: index + 1 is the level.
fn heading_sizes(pages: &[PdfPage], body: f32) -> Vec<i32> {
    let mut sizes: Vec<i32> = pages
        .iter()
        .flat_map(|p| &p.lines)
        .filter(|line| line.size >= HEADING_SCALE * body)
        .map(|line| tenths(line.size))
        .collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.dedup();
    sizes.truncate(6);
    sizes
}

fn heading_level(line: &PdfLine, sizes: &[i32]) -> Option<u8> {
    if line.text.chars().count() > MAX_HEADING_CHARS || !line.text.chars().any(char::is_alphabetic)
    {
        return None;
    }
    sizes
        .iter()
        .position(|&size| size == tenths(line.size))
        .map(|i| i as u8 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, y: f32, size: f32) -> PdfLine {
        PdfLine {
            text: text.to_string(),
            x0: 50.0,
            x1: 500.0,
            y,
            size,
        }
    }

    fn page(lines: Vec<PdfLine>) -> PdfPage {
        PdfPage {
            width: 595.0,
            height: 842.0,
            lines,
        }
    }

    #[test]
    fn furniture_goes_headings_and_pages_stay() {
        let pages: Vec<PdfPage> = (1..=3)
            .map(|n| {
                page(vec![
                    line("Raport OSW 2025", 30.0, 8.0),
                    line("Sankcje", 100.0, 16.0),
                    line("Pierwsza linia tekstu, która jest", 130.0, 10.0),
                    line("zawijana na następną linię.", 142.0, 10.0),
                    line("Nowy akapit po odstępie.", 170.0, 10.0),
                    line(&n.to_string(), 810.0, 9.0),
                ])
            })
            .collect();
        let source = layout(&pages);
        assert!(!source.text.contains("Raport OSW"), "{}", source.text);
        let lines: Vec<&str> = source.text.lines().collect();
        assert!(!lines.iter().any(|l| l.trim() == "2"));
        let at = lines.iter().position(|l| *l == "Sankcje").unwrap();
        assert!(source.places[at].heading);
        let wrapped = lines
            .iter()
            .rposition(|l| l.starts_with("zawijana"))
            .unwrap();
        assert_eq!(source.places[wrapped].page, Some(3));
        assert_eq!(lines[wrapped - 1], "Pierwsza linia tekstu, która jest");
        assert_eq!(lines[wrapped + 1], "", "a gap ends the paragraph");
    }

    #[test]
    fn page_numbers_in_many_spellings() {
        for text in [
            "12",
            "- 12 -",
            "12/40",
            "Strona 12 z 40",
            "Page 12 of 40",
            "s. 12",
            "xii 3",
        ] {
            assert!(is_page_number(text), "{text}");
        }
        for text in ["2025 r.", "Rozdział 3", "NATO"] {
            assert!(!is_page_number(text), "{text}");
        }
    }
}
