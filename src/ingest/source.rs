//! Source: a document as the chunker reads it, whatever its format. Text as lines (a blank
//! line ends a paragraph), and for each line where it stands: its page (PDF), the heading path
//! it falls under, and whether it is a heading. Readers of every format build one with
//! `SourceBuilder`; a plain text file is its own lines, numbered as in the file.

/// Separates the parts of a heading path: `Title › Section › Subsection`.
pub const PATH_SEPARATOR: &str = " › ";

/// What kind of file a document was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Pdf,
    Html,
    Docx,
    Odt,
    Epub,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Pdf => "pdf",
            Format::Html => "html",
            Format::Docx => "docx",
            Format::Odt => "odt",
            Format::Epub => "epub",
        }
    }

    /// Whether the lines of `Source::text` are the lines of the file, so that line numbers
    /// can be cited.
    pub fn has_file_lines(self) -> bool {
        matches!(self, Format::Text | Format::Markdown)
    }
}

/// Where one line of a `Source` stands.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinePlace {
    /// 1-based page number, for formats with pages.
    pub page: Option<u32>,
    /// Index into `Source::sections` of the heading path the line falls under.
    pub section: Option<u32>,
    /// The line is a heading: it introduces text and is never a passage on its own.
    pub heading: bool,
}

/// A document's text and where each of its lines stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub format: Format,
    /// Lines separated by `\n`.
    pub text: String,
    /// The document's title: from its metadata, else its first heading.
    pub title: Option<String>,
    /// One entry per line of `text`, or empty when no line has a page, section or heading.
    pub places: Vec<LinePlace>,
    /// Heading paths (`Title › Section`), each stored once.
    pub sections: Vec<String>,
    /// Pages the reader skipped, and why (a page that failed to read); the rest is kept.
    pub warnings: Vec<String>,
}

impl Source {
    /// A text file: its lines as they are; Markdown `#` headings are headings.
    pub fn plain(text: String, format: Format) -> Source {
        if format != Format::Markdown {
            return Source {
                format,
                text,
                title: None,
                places: Vec::new(),
                sections: Vec::new(),
                warnings: Vec::new(),
            };
        }
        let mut builder = SourceBuilder::new(Format::Markdown);
        let mut fenced = false;
        for line in text.split('\n') {
            let trimmed = line.trim_start();
            if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                fenced = !fenced;
            }
            match markdown_heading(line).filter(|_| !fenced) {
                Some((level, heading)) => builder.heading_line(level, heading, line),
                None => builder.raw_line(line),
            }
        }
        builder.finish()
    }

    /// Where line `no` (1-based, as the chunker numbers them) stands.
    pub fn place(&self, no: u32) -> LinePlace {
        let index = (no as usize).saturating_sub(1);
        self.places.get(index).copied().unwrap_or_default()
    }

    pub fn section(&self, place: LinePlace) -> Option<&str> {
        place
            .section
            .and_then(|i| self.sections.get(i as usize))
            .map(String::as_str)
    }
}

/// `## Heading` → (2, "Heading"); a `#` not followed by a space is not a heading (`#tag`).
fn markdown_heading(line: &str) -> Option<(u8, &str)> {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    let rest = &line[hashes..];
    if !(1..=6).contains(&hashes) || !(rest.starts_with(' ') || rest.is_empty()) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim();
    (!text.is_empty()).then_some((hashes as u8, text))
}

/// Builds a `Source` block by block, keeping the heading path.
#[derive(Debug)]
pub struct SourceBuilder {
    source: Source,
    /// Open headings, outermost first, with their levels.
    headings: Vec<(u8, String)>,
    page: Option<u32>,
    section: Option<u32>,
    last_blank: bool,
    /// The last line written, if it is a heading.
    last_heading: Option<String>,
}

impl SourceBuilder {
    pub fn new(format: Format) -> Self {
        SourceBuilder {
            source: Source {
                format,
                text: String::new(),
                title: None,
                places: Vec::new(),
                sections: Vec::new(),
                warnings: Vec::new(),
            },
            headings: Vec::new(),
            page: None,
            section: None,
            last_blank: false,
            last_heading: None,
        }
    }

    /// The title from the document's metadata; it heads every heading path.
    pub fn title(&mut self, title: &str) {
        let title = collapse(title);
        if !title.is_empty() && self.source.title.is_none() {
            self.source.title = Some(title);
            self.update_section();
        }
    }

    /// The page the following lines are on.
    pub fn page(&mut self, page: u32) {
        self.page = Some(page);
    }

    pub fn warn(&mut self, warning: String) {
        self.source.warnings.push(warning);
    }

    /// A heading of `level` (1 outermost) as a paragraph of its own.
    pub fn heading(&mut self, level: u8, text: &str) {
        let text = collapse(text);
        // A heading given again with nothing between (a title page, then the chapter's own
        // title) is one heading.
        if text.is_empty() || self.last_heading.as_deref() == Some(text.as_str()) {
            return;
        }
        self.blank();
        self.heading_line(level, &text, &text);
        self.blank();
    }

    /// A paragraph given whole: one line, between blank lines.
    pub fn paragraph(&mut self, text: &str) {
        let text = collapse(text);
        if text.is_empty() {
            return;
        }
        self.blank();
        self.line(&text, false);
        self.blank();
    }

    /// A line of laid-out text (a PDF line); consecutive lines may be rewrapped into one
    /// paragraph by the chunker.
    pub fn raw_line(&mut self, text: &str) {
        self.line(text, false);
    }

    /// Ends the current paragraph.
    pub fn blank(&mut self) {
        if !self.source.places.is_empty() && !self.last_blank {
            self.line("", false);
        }
    }

    fn heading_line(&mut self, level: u8, heading: &str, line: &str) {
        if self.source.title.is_none() {
            self.source.title = Some(heading.to_string());
        }
        while self.headings.last().is_some_and(|(open, _)| *open >= level) {
            self.headings.pop();
        }
        // The first heading is usually the title itself; it is not repeated under it.
        if self.headings.is_empty() && self.source.title.as_deref() == Some(heading) {
            self.headings.push((level, String::new()));
        } else {
            self.headings.push((level, heading.to_string()));
        }
        self.update_section();
        self.line(line, true);
    }

    fn update_section(&mut self) {
        let parts: Vec<&str> = self
            .source
            .title
            .iter()
            .map(String::as_str)
            .chain(self.headings.iter().map(|(_, h)| h.as_str()))
            .filter(|h| !h.is_empty())
            .collect();
        if parts.is_empty() {
            self.section = None;
            return;
        }
        let path = parts.join(PATH_SEPARATOR);
        let sections = &mut self.source.sections;
        let index = match sections.iter().rposition(|s| *s == path) {
            Some(index) => index,
            None => {
                sections.push(path);
                sections.len() - 1
            }
        };
        self.section = u32::try_from(index).ok();
    }

    fn line(&mut self, text: &str, heading: bool) {
        if !self.source.places.is_empty() {
            self.source.text.push('\n');
        }
        // A line break inside a line would shift every later line's place.
        self.source.text.push_str(&text.replace(['\n', '\r'], " "));
        self.source.places.push(LinePlace {
            page: self.page,
            section: self.section,
            heading,
        });
        self.last_blank = text.is_empty();
        if !text.is_empty() {
            self.last_heading = heading.then(|| text.to_string());
        }
    }

    pub fn finish(mut self) -> Source {
        let has_places = self
            .source
            .places
            .iter()
            .any(|p| *p != LinePlace::default());
        if !has_places {
            self.source.places.clear();
        }
        self.source
    }
}

/// Whitespace of any kind collapsed to single spaces, trimmed.
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_make_a_path_under_the_title() {
        let mut b = SourceBuilder::new(Format::Html);
        b.title("Raport");
        b.heading(1, "Raport");
        b.paragraph("Wstęp.");
        b.heading(2, "Sankcje");
        b.paragraph("Tekst o sankcjach.");
        b.heading(3, "Unia");
        b.paragraph("Tekst o Unii.");
        b.heading(2, "Wnioski");
        b.paragraph("Koniec.");
        let s = b.finish();
        let lines: Vec<&str> = s.text.split('\n').collect();
        assert_eq!(lines.len(), s.places.len());
        let section_of = |needle: &str| {
            let i = lines.iter().position(|l| *l == needle).unwrap();
            s.section(s.places[i]).map(str::to_string)
        };
        assert_eq!(section_of("Wstęp.").as_deref(), Some("Raport"));
        assert_eq!(
            section_of("Tekst o sankcjach.").as_deref(),
            Some("Raport › Sankcje")
        );
        assert_eq!(
            section_of("Tekst o Unii.").as_deref(),
            Some("Raport › Sankcje › Unia")
        );
        assert_eq!(section_of("Koniec.").as_deref(), Some("Raport › Wnioski"));
        let heading = lines.iter().position(|l| *l == "Sankcje").unwrap();
        assert!(s.places[heading].heading);
        assert_eq!(
            s.section(s.places[heading]),
            Some("Raport › Sankcje"),
            "a heading stands in its own section"
        );
    }

    #[test]
    fn plain_text_keeps_its_lines_and_has_no_places() {
        let s = Source::plain("a\n\nb\n".into(), Format::Text);
        assert_eq!(s.text, "a\n\nb\n");
        assert!(s.places.is_empty());
        assert_eq!(s.place(3), LinePlace::default());
    }

    #[test]
    fn markdown_headings_outside_code_fences() {
        let s = Source::plain(
            "# Tytuł\n\nTekst\n\n```\n# komentarz\n```\n## Część\nDalej\n#tag".into(),
            Format::Markdown,
        );
        assert_eq!(s.text.split('\n').count(), s.places.len());
        assert_eq!(s.title.as_deref(), Some("Tytuł"));
        assert!(s.place(1).heading);
        assert!(!s.place(6).heading, "inside a code fence");
        assert!(s.place(8).heading);
        assert_eq!(s.section(s.place(9)), Some("Tytuł › Część"));
        assert!(!s.place(10).heading);
    }
}
