//! Paragraph: cleaned paragraph text that remembers which source line each part came from,
//! so that any piece cut out of it later can be given the line span it was read from.

use std::ops::Range;

use super::clean::Line;

/// How a line is attached to the paragraph text before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Join {
    /// A soft line wrap between words.
    Space,
    /// A hyphen at the end of the line belongs to a compound (`społeczno-gospodarczej`).
    KeepHyphen,
    /// A hyphen at the end of the line only split a word (`kon-tynuowano`).
    DropHyphen,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Paragraph {
    text: String,
    /// Byte offset in `text` where each source line's text begins, and that line's number;
    /// both ascending.
    starts: Vec<(usize, u32)>,
}

impl Paragraph {
    pub(super) fn new(line: &Line) -> Self {
        Paragraph {
            text: line.text.clone(),
            starts: vec![(0, line.no)],
        }
    }

    pub(super) fn text(&self) -> &str {
        &self.text
    }

    pub(super) fn first_line(&self) -> u32 {
        self.starts[0].1
    }

    /// The numbers of the source lines the paragraph was read from.
    pub(super) fn line_numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.starts.iter().map(|&(_, no)| no)
    }

    pub(super) fn push_line(&mut self, line: &Line, join: Join) {
        match join {
            Join::Space => self.text.push(' '),
            Join::KeepHyphen => {}
            Join::DropHyphen => {
                self.text.pop();
            }
        }
        self.starts.push((self.text.len(), line.no));
        self.text.push_str(&line.text);
    }

    /// Appends a whole paragraph after this one, separated by a space.
    pub(super) fn append(&mut self, other: Paragraph) {
        self.text.push(' ');
        let shift = self.text.len();
        self.starts
            .extend(other.starts.into_iter().map(|(at, no)| (at + shift, no)));
        self.text.push_str(&other.text);
    }

    /// The first and last source line (by number) of the text in `span`, a non-empty byte range.
    /// Min and max rather than the lines at the two ends: a paragraph resumed after an inserted
    /// box, followed by a short fragment, holds lines out of order.
    pub(super) fn line_span(&self, span: Range<usize>) -> (u32, u32) {
        // The line holding the span's first byte, then every line starting inside the span.
        let first = self.starts.partition_point(|&(at, _)| at <= span.start) - 1;
        self.starts[first..]
            .iter()
            .take_while(|&&(at, _)| at < span.end)
            .fold((u32::MAX, 0), |(low, high), &(_, no)| {
                (low.min(no), high.max(no))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(no: u32, text: &str) -> Line {
        Line {
            no,
            text: text.to_string(),
        }
    }

    #[test]
    fn joins_lines_and_maps_offsets_back_to_them() {
        // 001, lines 95–97.
        let mut paragraph = Paragraph::new(&line(
            95,
            "„przeciw destrukcyjnym działaniom Zachodu, mającym na",
        ));
        paragraph.push_line(
            &line(96, "celu destabilizację sytuacji politycznej i społeczno-"),
            Join::Space,
        );
        paragraph.push_line(
            &line(97, "gospodarczej w przestrzeni Państwa Związkowego”"),
            Join::KeepHyphen,
        );
        assert_eq!(
            paragraph.text(),
            "„przeciw destrukcyjnym działaniom Zachodu, mającym na celu destabilizację sytuacji politycznej i społeczno-gospodarczej w przestrzeni Państwa Związkowego”"
        );
        assert_eq!(paragraph.first_line(), 95);
        let span_of = |word: &str| {
            let at = paragraph.text().find(word).unwrap();
            paragraph.line_span(at..at + word.len())
        };
        assert_eq!(span_of("Zachodu"), (95, 95));
        assert_eq!(span_of("celu"), (96, 96));
        assert_eq!(span_of("społeczno-"), (96, 96));
        assert_eq!(span_of("społeczno-gospodarczej"), (96, 97));
        assert_eq!(paragraph.line_span(0..paragraph.text().len()), (95, 97));
    }

    #[test]
    fn drops_a_hyphen_that_split_a_word() {
        let mut paragraph = Paragraph::new(&line(
            13,
            "energetycznych w obu państwach. Mimo to negocjacje kon-",
        ));
        paragraph.push_line(&line(14, "tynuowano. Nabrały one tempa"), Join::DropHyphen);
        assert!(paragraph
            .text()
            .contains("negocjacje kontynuowano. Nabrały"));
        let at = paragraph.text().find("kontynuowano").unwrap();
        assert_eq!(paragraph.line_span(at..at + 3), (13, 13));
        assert_eq!(paragraph.line_span(at + 3..at + 4), (14, 14));
    }

    #[test]
    fn appending_a_paragraph_keeps_its_line_numbers() {
        // 003: a title merged into the paragraph after it.
        let mut title = Paragraph::new(&line(1, "Piąta tura rozmów amerykańsko-białoruskich"));
        title.append(Paragraph::new(&line(3, "Anna Maria Dyner")));
        assert_eq!(
            title.text(),
            "Piąta tura rozmów amerykańsko-białoruskich Anna Maria Dyner"
        );
        assert_eq!(title.line_span(0..5), (1, 1));
        assert_eq!(title.line_span(0..title.text().len()), (1, 3));
    }

    #[test]
    fn a_span_reports_its_lowest_and_highest_line() {
        // 001: a paragraph resumed after a box (lines 65, 79), then the box's fragment (line 70).
        let mut resumed = Paragraph::new(&line(
            65,
            "działań zmierzających do rozszerzenia współpracy",
        ));
        resumed.push_line(&line(79, "z państwami NATO."), Join::Space);
        resumed.append(Paragraph::new(&line(
            70,
            "W ciągu ostatnich kilku miesięcy",
        )));
        assert_eq!(resumed.line_span(0..resumed.text().len()), (65, 79));
    }
}
