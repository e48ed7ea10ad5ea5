//! DOCX: paragraphs of `word/document.xml` in document order (table cells included), headings
//! told by their style (`styles.xml` names them "heading 1"…, or gives an outline level), the
//! title from `docProps/core.xml`. Deleted text of tracked changes and field codes are left out.

use std::collections::HashMap;

use super::super::source::{Format, Source, SourceBuilder};
use super::archive::Archive;
use super::xml::{self, element_text, Node, OpenParagraphs};
use super::Unreadable;

pub(super) fn read(raw: &[u8]) -> Result<Source, Unreadable> {
    let archive = Archive::open(raw)?;
    let mut builder = SourceBuilder::new(Format::Docx);
    if let Some(core) = archive.read("docProps/core.xml")? {
        if let Some(title) = element_text(&core, "docProps/core.xml", "title")? {
            builder.title(&title);
        }
    }
    let levels = match archive.read("word/styles.xml")? {
        Some(styles) => heading_styles(&styles)?,
        None => HashMap::new(),
    };
    let document = archive.require("word/document.xml")?;
    let mut open = OpenParagraphs::default();
    // Depth inside elements whose text is not document text.
    let mut hidden = 0usize;
    xml::walk(&document, "word/document.xml", &mut |node| match node {
        Node::Start(e) => match e.name.as_str() {
            "p" => open.open(None),
            "del" | "instrText" | "delText" => hidden += 1,
            "pStyle" => {
                if let Some(&level) = e.attribute("val").and_then(|style| levels.get(style)) {
                    open.heading(level);
                }
            }
            // Level 9 is body text.
            "outlineLvl" => match e.attribute("val").and_then(|v| v.parse::<u8>().ok()) {
                Some(level) if level < 9 => open.heading(level + 1),
                _ => {}
            },
            "tab" | "br" | "cr" => open.push(" "),
            _ => {}
        },
        Node::End(name) => match name.as_str() {
            "p" => open.close(&mut builder),
            "del" | "instrText" | "delText" => hidden = hidden.saturating_sub(1),
            _ => {}
        },
        Node::Text(text) if hidden == 0 => open.push(&text),
        Node::Text(_) => {}
    })?;
    Ok(builder.finish())
}

/// Heading level of each paragraph style: 0 for the title, 1… for headings.
fn heading_styles(styles: &[u8]) -> Result<HashMap<String, u8>, Unreadable> {
    let mut levels = HashMap::new();
    let mut style: Option<String> = None;
    xml::walk(styles, "word/styles.xml", &mut |node| match node {
        Node::Start(e) if e.name == "style" => style = e.attribute("styleId").map(str::to_string),
        Node::Start(e) if e.name == "name" => {
            let name = e.attribute("val").unwrap_or("").to_lowercase();
            let level = match name.strip_prefix("heading ") {
                Some(n) => n.trim().parse::<u8>().ok(),
                None => (name == "title").then_some(0),
            };
            if let (Some(id), Some(level)) = (&style, level) {
                levels.insert(id.clone(), level);
            }
        }
        Node::Start(e) if e.name == "outlineLvl" => {
            let level = e.attribute("val").and_then(|v| v.parse::<u8>().ok());
            if let (Some(id), Some(level)) = (&style, level.filter(|l| *l < 9)) {
                levels.entry(id.clone()).or_insert(level + 1);
            }
        }
        Node::End(name) if name == "style" => style = None,
        _ => {}
    })?;
    Ok(levels)
}

#[cfg(test)]
mod tests {
    use super::super::archive::tests::zip_of;
    use super::*;

    const STYLES: &str = r#"<w:styles xmlns:w="w">
      <w:style w:styleId="Nagwek1"><w:name w:val="heading 1"/></w:style>
      <w:style w:styleId="Tytu"><w:name w:val="Title"/></w:style>
    </w:styles>"#;

    const DOCUMENT: &str = r#"<w:document xmlns:w="w"><w:body>
      <w:p><w:pPr><w:pStyle w:val="Tytu"/></w:pPr><w:r><w:t>Raport o Białorusi</w:t></w:r></w:p>
      <w:p><w:pPr><w:pStyle w:val="Nagwek1"/></w:pPr><w:r><w:t>Sankcje</w:t></w:r></w:p>
      <w:p><w:r><w:t xml:space="preserve">Unia Europejska </w:t></w:r><w:r><w:t>nałożyła</w:t><w:tab/><w:t>sankcje.</w:t></w:r>
         <w:del><w:r><w:delText>usunięte</w:delText></w:r></w:del></w:p>
      <w:tbl><w:tr><w:tc><w:p><w:r><w:t>komórka</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
    </w:body></w:document>"#;

    #[test]
    fn paragraphs_headings_and_title_in_order() {
        let raw = zip_of(&[
            ("word/document.xml", DOCUMENT.as_bytes()),
            ("word/styles.xml", STYLES.as_bytes()),
        ]);
        let source = read(&raw).unwrap();
        assert_eq!(source.title.as_deref(), Some("Raport o Białorusi"));
        let lines: Vec<&str> = source.text.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines,
            vec![
                "Raport o Białorusi",
                "Sankcje",
                "Unia Europejska nałożyła sankcje.",
                "komórka"
            ]
        );
        let at = source.text.lines().position(|l| l == "Sankcje").unwrap();
        assert!(source.places[at].heading);
        assert_eq!(
            source.section(source.places[at + 2]),
            Some("Raport o Białorusi › Sankcje")
        );
    }
}
