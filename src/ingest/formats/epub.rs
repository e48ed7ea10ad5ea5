//! EPUB: the chapters in spine order, each read whole as HTML. `META-INF/container.xml` names
//! the package document; its manifest maps ids to files, its spine orders them, and its
//! metadata gives the title. The navigation document (a table of contents) is not text.

use std::collections::HashMap;

use super::super::source::{Format, Source, SourceBuilder};
use super::archive::Archive;
use super::html;
use super::xml::{self, element_text, Node};
use super::Unreadable;

pub(super) fn read(raw: &[u8]) -> Result<Source, Unreadable> {
    let archive = Archive::open(raw)?;
    let container = archive.require("META-INF/container.xml")?;
    let mut package_path = None;
    xml::walk(&container, "META-INF/container.xml", &mut |node| {
        if let Node::Start(e) = node {
            if e.name == "rootfile" && package_path.is_none() {
                package_path = e.attribute("full-path").map(str::to_string);
            }
        }
    })?;
    let package_path = package_path.ok_or_else(|| {
        Unreadable::Damaged("META-INF/container.xml names no package document".into())
    })?;
    let package = archive.require(&package_path)?;
    let base = match package_path.rfind('/') {
        Some(at) => &package_path[..=at],
        None => "",
    };
    let mut builder = SourceBuilder::new(Format::Epub);
    if let Some(title) = element_text(&package, &package_path, "title")? {
        builder.title(&title);
    }
    // id → (href, is a navigation document)
    let mut items: HashMap<String, (String, bool)> = HashMap::new();
    let mut spine: Vec<String> = Vec::new();
    xml::walk(&package, &package_path, &mut |node| {
        if let Node::Start(e) = node {
            match e.name.as_str() {
                "item" => {
                    let is_page = e
                        .attribute("media-type")
                        .is_some_and(|t| t == "application/xhtml+xml" || t == "text/html");
                    let is_nav = e
                        .attribute("properties")
                        .is_some_and(|p| p.split_whitespace().any(|p| p == "nav"));
                    if let (Some(id), Some(href), true) =
                        (e.attribute("id"), e.attribute("href"), is_page)
                    {
                        items.insert(id.to_string(), (href.to_string(), is_nav));
                    }
                }
                "itemref" => spine.extend(e.attribute("idref").map(str::to_string)),
                _ => {}
            }
        }
    })?;
    for id in &spine {
        let Some((href, false)) = items.get(id) else {
            continue;
        };
        let path = resolve(base, href);
        match archive.read(&path)? {
            // A title page repeats the title from the metadata (and a date, an author).
            Some(chapter) if is_title_page(&chapter) => {}
            Some(chapter) => html::chapter(&chapter, &mut builder),
            None => builder.warn(format!("chapter {path} is missing from the book")),
        }
    }
    Ok(builder.finish())
}

/// A page marked `epub:type="titlepage"` (EPUB 3 structural semantics).
fn is_title_page(chapter: &[u8]) -> bool {
    let head = &chapter[..chapter.len().min(4096)];
    head.windows(11).any(|w| w == b"\"titlepage\"")
}

/// `href` (relative to the package document, percent-encoded, maybe with `..`) as a path
/// inside the archive.
fn resolve(base: &str, href: &str) -> String {
    let href = href.split('#').next().unwrap_or(href);
    let mut parts: Vec<String> = base
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    for part in href.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(percent_decode(part)),
        }
    }
    parts.join("/")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::super::archive::tests::zip_of;
    use super::*;

    #[test]
    fn chapters_in_spine_order_without_the_table_of_contents() {
        let container = r#"<container><rootfiles><rootfile full-path="OEBPS/content.opf"/></rootfiles></container>"#;
        let opf = r#"<package><metadata><dc:title>Książka</dc:title></metadata><manifest>
            <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
            <item id="title" href="title.xhtml" media-type="application/xhtml+xml"/>
            <item id="c1" href="text/ch%201.xhtml" media-type="application/xhtml+xml"/>
            <item id="c2" href="../c2.xhtml" media-type="application/xhtml+xml"/>
            <item id="css" href="style.css" media-type="text/css"/>
          </manifest><spine><itemref idref="title"/><itemref idref="nav"/><itemref idref="c2"/><itemref idref="c1"/></spine></package>"#;
        let raw = zip_of(&[
            ("mimetype", b"application/epub+zip"),
            ("META-INF/container.xml", container.as_bytes()),
            ("OEBPS/content.opf", opf.as_bytes()),
            ("OEBPS/nav.xhtml", b"<html><body><ol><li>Spis</li></ol></body></html>"),
            ("OEBPS/title.xhtml", b"<html><body><section epub:type=\"titlepage\"><h1>Ksi\xc4\x85\xc5\xbcka</h1></section></body></html>"),
            ("OEBPS/text/ch 1.xhtml", b"<html><body><h1>Pierwszy</h1><p>Tekst pierwszy.</p></body></html>"),
            ("c2.xhtml", b"<html><body><h1>Drugi</h1><p>Tekst drugi.</p></body></html>"),
        ]);
        let source = read(&raw).unwrap();
        let lines: Vec<&str> = source.text.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines,
            vec!["Drugi", "Tekst drugi.", "Pierwszy", "Tekst pierwszy."]
        );
        let at = source
            .text
            .lines()
            .position(|l| l == "Tekst pierwszy.")
            .unwrap();
        assert_eq!(
            source.section(source.places[at]),
            Some("Książka › Pierwszy")
        );
    }
}
