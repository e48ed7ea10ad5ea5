//! ODT: headings (`text:h`, with their outline level) and paragraphs (`text:p`, in lists and
//! table cells too) of `content.xml` in document order, the title from `meta.xml` or a
//! paragraph in the Title style. Tracked deletions, notes' citations and annotations are left
//! out.

use super::super::source::{Format, Source, SourceBuilder};
use super::archive::Archive;
use super::xml::{self, element_text, Node, OpenParagraphs};
use super::Unreadable;

/// Elements whose text is not running document text.
const HIDDEN: [&str; 4] = [
    "tracked-changes",
    "annotation",
    "note-citation",
    "sequence-decls",
];

pub(super) fn read(raw: &[u8]) -> Result<Source, Unreadable> {
    let archive = Archive::open(raw)?;
    let mut builder = SourceBuilder::new(Format::Odt);
    if let Some(meta) = archive.read("meta.xml")? {
        if let Some(title) = element_text(&meta, "meta.xml", "title")? {
            builder.title(&title);
        }
    }
    let content = archive.require("content.xml")?;
    let mut open = OpenParagraphs::default();
    let mut hidden = 0usize;
    xml::walk(&content, "content.xml", &mut |node| match node {
        Node::Start(e) => match e.name.as_str() {
            "p" => open.open((e.attribute("style-name") == Some("Title")).then_some(0)),
            "h" => {
                let level = e
                    .attribute("outline-level")
                    .and_then(|l| l.parse::<u8>().ok());
                open.open(Some(level.unwrap_or(1).max(1)));
            }
            "s" => {
                let count = e.attribute("c").and_then(|c| c.parse::<usize>().ok());
                open.push(&" ".repeat(count.unwrap_or(1).min(8)));
            }
            "tab" | "line-break" => open.push(" "),
            name if HIDDEN.contains(&name) => hidden += 1,
            _ => {}
        },
        Node::End(name) => match name.as_str() {
            "p" | "h" => open.close(&mut builder),
            name if HIDDEN.contains(&name) => hidden = hidden.saturating_sub(1),
            _ => {}
        },
        Node::Text(text) if hidden == 0 => open.push(&text),
        Node::Text(_) => {}
    })?;
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::super::archive::tests::zip_of;
    use super::*;

    #[test]
    fn headings_and_paragraphs_in_order() {
        let content = r#"<office:document-content xmlns:office="o" xmlns:text="t"><office:body><office:text>
          <text:tracked-changes><text:changed-region><text:p>skreślone</text:p></text:changed-region></text:tracked-changes>
          <text:h text:outline-level="1">Sankcje</text:h>
          <text:p>Unia<text:s/>Europejska<text:s text:c="2"/>nałożyła sankcje.</text:p>
          <text:list><text:list-item><text:p>punkt listy</text:p></text:list-item></text:list>
        </office:text></office:body></office:document-content>"#;
        let meta = r#"<office:document-meta xmlns:dc="d"><office:meta><dc:title>Raport</dc:title></office:meta></office:document-meta>"#;
        let raw = zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", content.as_bytes()),
            ("meta.xml", meta.as_bytes()),
        ]);
        let source = read(&raw).unwrap();
        assert_eq!(source.title.as_deref(), Some("Raport"));
        let lines: Vec<&str> = source.text.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines,
            vec![
                "Sankcje",
                "Unia Europejska nałożyła sankcje.",
                "punkt listy"
            ]
        );
        let at = source
            .text
            .lines()
            .position(|l| l == "punkt listy")
            .unwrap();
        assert_eq!(source.section(source.places[at]), Some("Raport › Sankcje"));
    }
}
