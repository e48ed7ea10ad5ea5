//! XML: the events of an office document's XML, reduced to what the readers use: elements
//! by local name (`w:p` and `text:p` are `p`), their attributes, and text. Character
//! references and the five predefined entities are resolved; any other entity (declared in a
//! DTD, the "billion laughs" attack) is dropped, never expanded.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::super::source::SourceBuilder;
use super::Unreadable;

/// The paragraphs of office XML being read, innermost last (notes and text boxes nest
/// paragraphs inside paragraphs), each with its text and heading level (0: the title).
#[derive(Debug, Default)]
pub(super) struct OpenParagraphs(Vec<(String, Option<u8>)>);

impl OpenParagraphs {
    pub(super) fn open(&mut self, level: Option<u8>) {
        self.0.push((String::new(), level));
    }

    /// Makes the innermost paragraph a heading, unless it already is one.
    pub(super) fn heading(&mut self, level: u8) {
        if let Some(paragraph) = self.0.last_mut() {
            paragraph.1 = paragraph.1.or(Some(level));
        }
    }

    pub(super) fn push(&mut self, text: &str) {
        if let Some(paragraph) = self.0.last_mut() {
            paragraph.0.push_str(text);
        }
    }

    /// Closes the innermost paragraph into `builder`: the title is also the first heading.
    pub(super) fn close(&mut self, builder: &mut SourceBuilder) {
        match self.0.pop() {
            Some((text, Some(0))) => {
                builder.title(&text);
                builder.heading(1, &text);
            }
            Some((text, Some(level))) => builder.heading(level, &text),
            Some((text, None)) => builder.paragraph(&text),
            None => {}
        }
    }
}

/// One event of a document, in order. An empty element (`<w:br/>`) is a `Start` then an `End`.
#[derive(Debug, PartialEq)]
pub(super) enum Node<'a> {
    Start(Element),
    End(String),
    Text(Cow<'a, str>),
}

#[derive(Debug, PartialEq)]
pub(super) struct Element {
    pub name: String,
    /// (local name, value) pairs.
    pub attributes: Vec<(String, String)>,
}

impl Element {
    pub(super) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Calls `visit` for every event of `xml`; `what` names the part in errors.
pub(super) fn walk(
    xml: &[u8],
    what: &str,
    visit: &mut dyn FnMut(Node<'_>),
) -> Result<(), Unreadable> {
    let text = String::from_utf8_lossy(xml);
    let mut reader = Reader::from_str(&text);
    loop {
        let event = reader.read_event().map_err(|e| {
            Unreadable::Damaged(format!(
                "{what} is not well-formed XML at byte {} ({e})",
                reader.buffer_position()
            ))
        })?;
        match event {
            Event::Start(start) => visit(Node::Start(element(&start))),
            Event::Empty(start) => {
                let element = element(&start);
                let name = element.name.clone();
                visit(Node::Start(element));
                visit(Node::End(name));
            }
            Event::End(end) => visit(Node::End(local(end.local_name().as_ref()))),
            Event::Text(t) => visit(Node::Text(Cow::Owned(t.xml10_content().into_owned()))),
            Event::CData(t) => {
                visit(Node::Text(Cow::Owned(t.into_inner().into_owned())));
            }
            Event::GeneralRef(reference) => {
                let resolved = if reference.is_char_ref() {
                    reference
                        .resolve_char_ref()
                        .ok()
                        .flatten()
                        .map(String::from)
                } else {
                    predefined(reference.as_ref()).map(str::to_string)
                };
                if let Some(text) = resolved {
                    visit(Node::Text(Cow::Owned(text)));
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// The text of the first element called `name` in `xml`, if it has any.
pub(super) fn element_text(
    xml: &[u8],
    what: &str,
    name: &str,
) -> Result<Option<String>, Unreadable> {
    let mut depth = 0usize;
    let mut found: Option<String> = None;
    let mut done = false;
    walk(xml, what, &mut |node| match node {
        Node::Start(e) if !done && e.name == name => {
            depth += 1;
            found.get_or_insert_with(String::new);
        }
        Node::End(n) if depth > 0 && n == name => {
            depth -= 1;
            done = depth == 0;
        }
        Node::Text(t) if depth > 0 => {
            if let Some(found) = found.as_mut() {
                found.push_str(&t);
            }
        }
        _ => {}
    })?;
    Ok(found.filter(|t| !t.trim().is_empty()))
}

fn predefined(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => return None,
    })
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_string()
}

fn element(start: &BytesStart) -> Element {
    let attributes = start
        .attributes()
        .flatten()
        .map(|a| {
            let name = local(a.key.as_ref());
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .unwrap_or_default();
            (name, value)
        })
        .collect();
    Element {
        name: local(start.name().as_ref()),
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(xml: &str) -> String {
        let mut out = String::new();
        walk(xml.as_bytes(), "test.xml", &mut |node| {
            if let Node::Text(t) = node {
                out.push_str(&t);
            }
        })
        .unwrap();
        out
    }

    #[test]
    fn entities_are_never_expanded() {
        let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<w:document><w:t>a&lol3;b &amp; &#x105;</w:t></w:document>"#;
        assert_eq!(texts(laughs).trim(), "ab & ą");
    }

    #[test]
    fn names_are_local_and_empty_elements_close() {
        let mut events = Vec::new();
        walk(
            br#"<w:p><w:pStyle w:val="Heading1"/></w:p>"#,
            "x",
            &mut |node| events.push(format!("{node:?}")),
        )
        .unwrap();
        assert!(events[1].contains("pStyle") && events[1].contains("\"val\""));
        assert_eq!(events[2], "End(\"pStyle\")");
    }

    #[test]
    fn broken_xml_is_damage_named_by_part() {
        let err = walk(b"<a><b></a>", "word/document.xml", &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("word/document.xml"), "{err}");
    }
}
