//! HTML: the main content of a web page, as headings and paragraphs in order. The character
//! set comes from a byte-order mark, else the page's `<meta>` declaration, else valid UTF-8,
//! else a statistical guess (`chardetng`, Polish pages in mind). The main content is chosen by
//! a port of Mozilla's Readability (`dom_smoothie`): navigation, menus, banners, "read also"
//! boxes, share buttons and footers stay out. A page Readability cannot make sense of (too
//! short, a list of links) is read whole, without the elements that are never content.
//! Headings, paragraphs, list items, table rows and figure captions become text blocks;
//! scripts, styles and forms never do. EPUB chapters are read whole by `chapter`.

use dom_query::{Document, NodeRef};
use dom_smoothie::{Config, Readability};
use encoding_rs::Encoding;

use super::super::source::{collapse, Format, Source, SourceBuilder};
use super::{Unreadable, MAX_HTML_BYTES};

/// Elements whose text is never content.
const NEVER_CONTENT: [&str; 12] = [
    "script", "style", "noscript", "template", "svg", "math", "head", "button", "select",
    "textarea", "iframe", "object",
];
/// Elements that end the text before them and start a block of their own.
const BLOCKS: [&str; 22] = [
    "p",
    "div",
    "section",
    "article",
    "main",
    "li",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "figure",
    "figcaption",
    "caption",
    "table",
    "tr",
    "ul",
    "ol",
    "dl",
    "address",
    "hr",
    "details",
    "summary",
];

pub(super) fn read(raw: &[u8]) -> Result<Source, Unreadable> {
    if raw.len() > MAX_HTML_BYTES {
        return Err(Unreadable::TooLarge(format!(
            "the web page is {:.1} MB, over the {} MB limit for HTML (web pages are parsed whole, in memory)",
            raw.len() as f64 / 1e6,
            MAX_HTML_BYTES >> 20
        )));
    }
    let html = decode(raw);
    let mut builder = SourceBuilder::new(Format::Html);
    let config = Config {
        max_elements_to_parse: 200_000,
        ..Config::default()
    };
    let document = Document::from(html.as_str());
    remove_furniture(&document);
    let article =
        Readability::with_document(document, None, Some(config)).and_then(|mut r| r.parse());
    match article {
        Ok(article) => {
            let text = collapse(&article.text_content);
            let title = without_site_name(&collapse(&article.title), &text);
            builder.title(&title);
            // Readability takes the title out of the text; it is the document's first heading.
            if !title.is_empty() && !text.contains(&title) {
                builder.heading(1, &title);
            }
            let content = Document::from(article.content.to_string());
            walk_children(&content.root(), &mut Blocks::new(&mut builder));
        }
        Err(_) => {
            let document = Document::from(html);
            remove_furniture(&document);
            if let Some(title) = document.select("title").nodes().first() {
                builder.title(&title.text());
            }
            walk_children(&document.root(), &mut Blocks::new(&mut builder));
        }
    }
    Ok(builder.finish())
}

/// `title` without a site name after a separator (`Article | Site`): when the article's
/// `text` has the part before it, or the part after it is a few words at most.
fn without_site_name(title: &str, text: &str) -> String {
    for separator in [" | ", " – ", " — ", " - ", " :: ", " » ", " · "] {
        if let Some(at) = title.rfind(separator) {
            let (head, tail) = (title[..at].trim(), title[at + separator.len()..].trim());
            if !head.is_empty() && (text.contains(head) || tail.split(' ').count() <= 4) {
                return head.to_string();
            }
        }
    }
    title.to_string()
}

/// One chapter of an e-book (XHTML), read whole into `builder`.
pub(super) fn chapter(raw: &[u8], builder: &mut SourceBuilder) {
    let document = Document::from(decode(raw));
    walk_children(&document.root(), &mut Blocks::new(builder));
}

/// The page's text, decoded by the first rule that applies: a byte-order mark, a `<meta>`
/// charset, valid UTF-8, a guess.
fn decode(raw: &[u8]) -> String {
    if let Some((encoding, bom)) = Encoding::for_bom(raw) {
        return encoding
            .decode_without_bom_handling(&raw[bom..])
            .0
            .into_owned();
    }
    if let Some(encoding) = declared_charset(raw) {
        return encoding.decode_without_bom_handling(raw).0.into_owned();
    }
    if let Ok(text) = std::str::from_utf8(raw) {
        return text.to_string();
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(raw, true);
    let encoding = detector.guess(Some(b"pl"), chardetng::Utf8Detection::Allow);
    encoding.decode_without_bom_handling(raw).0.into_owned()
}

/// The character set a page declares in its first 4 KB: `<meta charset="…">` or
/// `<meta http-equiv="Content-Type" content="text/html; charset=…">`. A page cannot declare
/// UTF-16 in ASCII, so that is read as UTF-8, as browsers do.
fn declared_charset(raw: &[u8]) -> Option<&'static Encoding> {
    let head = String::from_utf8_lossy(&raw[..raw.len().min(4096)]).to_ascii_lowercase();
    let mut rest = head.as_str();
    while let Some(at) = rest.find("<meta") {
        rest = &rest[at + 5..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if let Some(at) = tag.find("charset") {
            let value = tag[at + 7..]
                .trim_start()
                .strip_prefix('=')?
                .trim_start()
                .trim_start_matches(['"', '\'']);
            let end = value
                .find(|c: char| c == '"' || c == '\'' || c == ';' || c.is_whitespace() || c == '/')
                .unwrap_or(value.len());
            let encoding = Encoding::for_label(&value.as_bytes()[..end])?;
            return Some(
                if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
                    encoding_rs::UTF_8
                } else {
                    encoding
                },
            );
        }
    }
    None
}

/// Removes what is never the article: navigation, asides, forms and footers (by element or
/// ARIA role; a header or footer inside the article stays), and boxes whose class or id names
/// them as cookie banners, share buttons, newsletters, "read also" teasers or ads.
fn remove_furniture(document: &Document) {
    let doomed: Vec<NodeRef> = document
        .select("body *")
        .nodes()
        .iter()
        .filter(|node| {
            let name = node
                .node_name()
                .map(|n| n.to_ascii_lowercase())
                .unwrap_or_default();
            let in_article = node.ancestors_it(None).any(|a| {
                a.node_name().is_some_and(|n| {
                    n.eq_ignore_ascii_case("article") || n.eq_ignore_ascii_case("main")
                })
            });
            let by_element = match name.as_str() {
                "nav" | "aside" | "form" | "menu" | "dialog" => true,
                "header" | "footer" => !in_article,
                _ => false,
            };
            by_element
                || is_furniture(node)
                || (name != "article" && name != "main" && named_as_furniture(node))
        })
        .cloned()
        .collect();
    for node in doomed {
        node.remove_from_parent();
    }
}

/// Words in class names and ids that mark page furniture, compared against each hyphen- or
/// underscore-separated part.
const FURNITURE_NAMES: [&str; 16] = [
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "share",
    "sharing",
    "social",
    "newsletter",
    "related",
    "promo",
    "advert",
    "ads",
    "breadcrumb",
    "breadcrumbs",
    "subscribe",
    "paywall",
];

fn named_as_furniture(node: &NodeRef) -> bool {
    let names = [node.attr("class"), node.id_attr()];
    names.iter().flatten().any(|names| {
        names
            .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
            .any(|part| FURNITURE_NAMES.contains(&part.to_ascii_lowercase().as_str()))
    })
}

/// Text collected from inline content until the next block boundary.
struct Blocks<'b> {
    builder: &'b mut SourceBuilder,
    text: String,
}

impl<'b> Blocks<'b> {
    fn new(builder: &'b mut SourceBuilder) -> Self {
        Blocks {
            builder,
            text: String::new(),
        }
    }

    fn flush(&mut self) {
        if !self.text.trim().is_empty() {
            self.builder.paragraph(&self.text);
        }
        self.text.clear();
    }
}

fn walk_children(node: &NodeRef, blocks: &mut Blocks) {
    for child in node.children() {
        walk(&child, blocks);
    }
}

fn walk(node: &NodeRef, blocks: &mut Blocks) {
    if node.is_text() {
        blocks.text.push_str(&node.text());
        return;
    }
    if !node.is_element() && !node.is_document() && !node.is_fragment() {
        return;
    }
    let name = node
        .node_name()
        .map(|n| n.to_ascii_lowercase())
        .unwrap_or_default();
    if NEVER_CONTENT.contains(&name.as_str())
        || node.has_attr("hidden")
        || node.attr("aria-hidden").is_some_and(|v| &*v == "true")
    {
        return;
    }
    if let Some(level) = heading_level(&name) {
        blocks.flush();
        blocks.builder.heading(level, &node.text());
        return;
    }
    match name.as_str() {
        "br" => blocks.text.push(' '),
        "td" | "th" => {
            blocks.text.push(' ');
            walk_children(node, blocks);
            blocks.text.push(' ');
        }
        "img" => {}
        _ if BLOCKS.contains(&name.as_str()) => {
            blocks.flush();
            walk_children(node, blocks);
            blocks.flush();
        }
        _ => walk_children(node, blocks),
    }
}

fn heading_level(name: &str) -> Option<u8> {
    match name.as_bytes() {
        [b'h', digit @ b'1'..=b'6'] => Some(digit - b'0'),
        _ => None,
    }
}

/// Navigation and other furniture by ARIA role.
fn is_furniture(node: &NodeRef) -> bool {
    node.attr("role").is_some_and(|role| {
        matches!(
            &*role,
            "navigation" | "banner" | "contentinfo" | "complementary" | "search" | "dialog"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(source: &Source) -> Vec<&str> {
        source.text.lines().filter(|l| !l.is_empty()).collect()
    }

    const ARTICLE: &str = "Rozmowy w Mińsku były poprzedzone kolejnymi rundami rokowań w sprawie zatrzymania rosyjskiej inwazji na Ukrainę, a ich rezultatem było wypuszczenie przez białoruski reżim 123 więźniów politycznych.";

    fn page(charset_meta: &str, body_extra: &str) -> String {
        format!(
            r#"<!DOCTYPE html><html><head>{charset_meta}<title>Piąta tura rozmów | Portal</title>
            <script>var x = "nie tekst";</script><style>p {{ color: red }}</style></head><body>
            <nav><a href="/">Strona główna</a> <a href="/kraj">Kraj</a></nav>
            <div class="cookie-banner">Ta strona używa ciasteczek. Akceptuję</div>
            <article><h1>Piąta tura rozmów</h1>
            <p>{ARTICLE}</p><h2>Dlaczego Łukaszenka zwolnił część więźniów?</h2>
            <p>{ARTICLE} Wśród zwolnionych był jeden obywatel Polski i obywatele kilkunastu innych państw.</p>
            <ul><li>Pierwszy punkt listy o sankcjach i rozmowach w Mińsku.</li></ul>
            <figure><img src="a.jpg"><figcaption>Podpis zdjęcia z Mińska</figcaption></figure>
            {body_extra}</article>
            <aside><h3>Czytaj także</h3><a href="/x">Inny artykuł o czymś innym</a></aside>
            <footer>© 2025 Portal. Wszelkie prawa zastrzeżone.</footer></body></html>"#
        )
    }

    #[test]
    fn main_content_only_with_headings_lists_and_captions() {
        let source = read(page("<meta charset=\"utf-8\">", "").as_bytes()).unwrap();
        let text = source.text.clone();
        for boilerplate in [
            "Strona główna",
            "ciasteczek",
            "Inny artykuł",
            "prawa zastrzeżone",
            "nie tekst",
            "color",
        ] {
            assert!(!text.contains(boilerplate), "{boilerplate} in {text}");
        }
        let lines = lines(&source);
        assert!(lines.contains(&ARTICLE), "{lines:?}");
        assert!(lines.contains(&"Pierwszy punkt listy o sankcjach i rozmowach w Mińsku."));
        assert!(lines.contains(&"Podpis zdjęcia z Mińska"));
        let at = source
            .text
            .lines()
            .position(|l| l == "Dlaczego Łukaszenka zwolnił część więźniów?")
            .unwrap();
        assert!(source.places[at].heading);
    }

    #[test]
    fn legacy_charsets_are_decoded() {
        let html = page(
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-2\">",
            "",
        );
        let (latin2, _, _) = encoding_rs::ISO_8859_2.encode(&html);
        let source = read(&latin2).unwrap();
        assert!(source.text.contains("więźniów"), "{}", source.text);
        // Undeclared windows-1250 is guessed.
        let undeclared = page("", "");
        let (cp1250, _, _) = encoding_rs::WINDOWS_1250.encode(&undeclared);
        let source = read(&cp1250).unwrap();
        assert!(source.text.contains("więźniów"), "{}", source.text);
    }

    #[test]
    fn a_page_too_large_is_refused_before_parsing() {
        let huge = vec![b'a'; MAX_HTML_BYTES + 1];
        assert!(matches!(read(&huge), Err(Unreadable::TooLarge(_))));
    }

    #[test]
    fn a_short_page_is_read_whole_without_furniture() {
        let html = "<html><head><title>Krótka</title></head><body><nav>Menu główne</nav><p>Jedno zdanie.</p><footer>Stopka</footer></body></html>";
        let source = read(html.as_bytes()).unwrap();
        assert_eq!(lines(&source), vec!["Krótka", "Jedno zdanie."]);
    }
}
