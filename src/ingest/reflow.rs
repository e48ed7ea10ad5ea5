//! Reflow: rebuilds paragraphs from cleaned lines. Decides which line breaks are soft wraps
//! (PDF text, hard-wrapped mail) and which end a paragraph (web text with one paragraph per
//! line), rejoins words hyphenated across lines, and reattaches text cut by page breaks or boxes.

use std::collections::HashSet;

use super::clean::Line;
use super::paragraph::{Join, Paragraph};
use crate::text::sentences::ends_sentence;

/// Lines longer than this were not wrapped by a layout: each is a paragraph of its own.
const MAX_WRAPPED_LINE_CHARS: usize = 160;
/// A block that starts lowercase may continue an unfinished paragraph this many paragraphs back,
/// skipping text inserted in between (a summary box, a caption) before the sentence resumes.
const CONTINUATION_LOOKBACK: usize = 4;
/// Line-start markers of a list item or a Markdown heading or quote: always a new paragraph.
const BLOCK_MARKERS: &[&str] = &["-", "*", "+", "•", ">"];

/// Rebuilds the paragraphs of a document from its cleaned lines, in the order of their first line.
pub(super) fn reflow(lines: &[Line]) -> Vec<Paragraph> {
    let vocabulary = Vocabulary::new(lines);
    // The paragraph being extended is always the last one: a paragraph that gets continued
    // further down is moved to the end, and the document order is restored at the end.
    let mut paragraphs: Vec<Paragraph> = Vec::new();
    for block in lines.split(|line| line.text.is_empty()) {
        let Some((first, _)) = block.split_first() else {
            continue;
        };
        match continued_paragraph(&paragraphs, &first.text) {
            Some(index) => {
                let mut paragraph = paragraphs.remove(index);
                paragraph.push_line(first, join(paragraph.text(), &first.text, &vocabulary));
                paragraphs.push(paragraph);
            }
            None => paragraphs.push(Paragraph::new(first)),
        }
        let width = block
            .iter()
            .map(|line| line.text.chars().count())
            .max()
            .unwrap_or(0);
        for pair in block.windows(2) {
            let (previous, line) = (&pair[0], &pair[1]);
            match paragraphs.last_mut() {
                Some(paragraph) if is_soft_wrap(&previous.text, &line.text, width) => {
                    let join = join(paragraph.text(), &line.text, &vocabulary);
                    paragraph.push_line(line, join);
                }
                _ => paragraphs.push(Paragraph::new(line)),
            }
        }
    }
    paragraphs.sort_by_key(Paragraph::first_line);
    paragraphs
}

/// Whether the break between two lines of a block (no blank line between them) is a soft wrap.
/// `width` is the longest line of the block, the best guess at the layout's line width.
fn is_soft_wrap(previous: &str, next: &str, width: usize) -> bool {
    if hyphenated_tail(previous).is_some() {
        return true;
    }
    if starts_with_block_marker(next) {
        return false;
    }
    // Paragraphs do not start lowercase.
    if starts_lowercase(next) {
        return true;
    }
    let length = previous.chars().count();
    if length > MAX_WRAPPED_LINE_CHARS {
        return false;
    }
    // Typesetters keep a number with the word before it, so a number often opens a wrapped line.
    if !ends_sentence(previous) && starts_with_digit(next) {
        return true;
    }
    // A line ends early only when the next word would not have fit on it; proportional fonts
    // make the character count approximate, hence the 10% allowance.
    let needed = length + 1 + next.split(' ').next().map_or(0, |w| w.chars().count());
    needed * 10 > width * 9
}

/// The paragraph that a block starting with `first_line` continues, if any: a block opening
/// lowercase (or with a number, right after the paragraph it belongs to) continues the latest
/// paragraph that stopped mid-sentence, as happens at page breaks and around inserted boxes.
fn continued_paragraph(paragraphs: &[Paragraph], first_line: &str) -> Option<usize> {
    let last = paragraphs.len().checked_sub(1)?;
    if starts_with_digit(first_line) && !ends_sentence(paragraphs[last].text()) {
        return Some(last);
    }
    if !starts_lowercase(first_line) {
        return None;
    }
    (last.saturating_sub(CONTINUATION_LOOKBACK - 1)..=last)
        .rev()
        .find(|&index| !ends_sentence(paragraphs[index].text()))
}

/// How `next` attaches to `text`: decides what a line-final hyphen in `text` means.
fn join(text: &str, next: &str, vocabulary: &Vocabulary) -> Join {
    let Some(first) = hyphenated_tail(text) else {
        return Join::Space;
    };
    let second: String = next.chars().take_while(|c| c.is_alphanumeric()).collect();
    if keep_hyphen(first, &second, vocabulary) {
        Join::KeepHyphen
    } else {
        Join::DropHyphen
    }
}

/// The part of the last word before a line-final hyphen (`społeczno` in `i społeczno-`),
/// or None when the line does not end in a letter followed by a hyphen.
fn hyphenated_tail(line: &str) -> Option<&str> {
    let body = line.strip_suffix('-')?;
    let tail = body.rsplit([' ', '-']).next()?;
    let tail = tail.trim_start_matches(|c: char| !c.is_alphanumeric());
    tail.chars()
        .last()
        .is_some_and(char::is_alphabetic)
        .then_some(tail)
}

/// Whether `first-` at a line end and `second` at the next line's start form a hyphenated compound.
/// The document itself decides when it spells the word elsewhere; otherwise Polish compounds like `społeczno-gospodarczy`, `polsko-białoruski`
/// or `naukowo-techniczny` have a first part that is an adjective stem in -o (`COMPOUND_STEMS`),
/// while a typesetter's break splits any word (`ogło-szenia`, `waluto-wych`).
fn keep_hyphen(first: &str, second: &str, vocabulary: &Vocabulary) -> bool {
    // `Ust-Łudze`, `S-400`: the second part is a name or a number.
    if !starts_lowercase(second) {
        return true;
    }
    let (first, second) = (first.to_lowercase(), second.to_lowercase());
    if vocabulary.contains(&format!("{first}-{second}")) {
        return true;
    }
    if vocabulary.contains(&format!("{first}{second}")) {
        return false;
    }
    first.chars().count() >= 4 && COMPOUND_STEMS.iter().any(|stem| first.ends_with(stem))
}

/// Endings of the first part of Polish adjectival compounds (`polsko-`, `niemiecko-`,
/// `społeczno-`, `prawno-`, `kulturalno-`, `naukowo-`, `północno-`).
const COMPOUND_STEMS: [&str; 8] = ["sko", "cko", "zno", "wno", "lno", "owo", "cno", "rno"];

/// The lowercase words of a document, hyphenated compounds included, as evidence for `keep_hyphen`.
struct Vocabulary(HashSet<String>);

impl Vocabulary {
    fn new(lines: &[Line]) -> Self {
        let words = lines
            .iter()
            .flat_map(|line| line.text.split(' '))
            .map(|word| {
                word.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
            .filter(|word| !word.is_empty())
            .collect();
        Vocabulary(words)
    }

    fn contains(&self, word: &str) -> bool {
        self.0.contains(word)
    }
}

fn starts_lowercase(text: &str) -> bool {
    text.chars().next().is_some_and(char::is_lowercase)
}

fn starts_with_digit(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_ascii_digit())
}

fn starts_with_block_marker(text: &str) -> bool {
    let first = text.split(' ').next().unwrap_or("");
    BLOCK_MARKERS.contains(&first) || (!first.is_empty() && first.chars().all(|c| c == '#'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<Line> {
        text.split('\n')
            .enumerate()
            .map(|(index, text)| Line {
                no: index as u32 + 1,
                text: text.trim().to_string(),
            })
            .collect()
    }

    fn texts(text: &str) -> Vec<String> {
        reflow(&lines(text))
            .iter()
            .map(|p| p.text().to_string())
            .collect()
    }

    #[test]
    fn rejoins_hard_wrapped_pdf_lines() {
        // 001, lines 42–46: wraps before a capital, a lowercase word and a sentence end.
        let text = "zdyskontowanie tego wydarzenia.\n\nWspółpraca w sferze bezpieczeństwa. Z punktu widzenia\nRosji szczególnie ważna jest intensyfikacja współpracy\nwojskowej. W lutym br. rosyjskie media podkreślały, że plan\npogłębionej integracji w tej sferze został uzgodniony, a oba";
        assert_eq!(
            texts(text),
            vec![
                "zdyskontowanie tego wydarzenia.",
                "Współpraca w sferze bezpieczeństwa. Z punktu widzenia Rosji szczególnie ważna jest intensyfikacja współpracy wojskowej. W lutym br. rosyjskie media podkreślały, że plan pogłębionej integracji w tej sferze został uzgodniony, a oba"
            ]
        );
    }

    #[test]
    fn a_short_title_line_above_a_paragraph_is_its_own_paragraph() {
        // 001, lines 1–16: the title does not reach the margin and the next word would have fit.
        let text = include_str!("../../seeds/001_79404beda8656f54.txt")
            .split('\n')
            .take(16)
            .collect::<Vec<_>>()
            .join("\n");
        let paragraphs = reflow(&lines(&text));
        assert_eq!(paragraphs.len(), 2);
        assert_eq!(
            paragraphs[0].text(),
            "Białoruś i Rosja. Przyspieszona integracja"
        );
        assert!(paragraphs[1].text().starts_with("Programy integracyjne."));
        assert!(paragraphs[1]
            .text()
            .ends_with("trzy tegoroczne wizyty Alaksandra Łukaszenki w Rosji."));
        assert_eq!(paragraphs[1].first_line(), 2);
    }

    #[test]
    fn a_number_after_an_unfinished_line_continues_it() {
        // 001, lines 50–52.
        let text = "współpracy wojskowej. Zakłada on organizację ponad \n160 wspólnych działań, z czego 40% to ćwiczenia \npoligonowe. Oba państwa zdecydowały również ";
        assert_eq!(texts(text).len(), 1);
        assert!(texts(text)[0].contains("ponad 160 wspólnych działań"));
    }

    #[test]
    fn web_text_keeps_one_paragraph_per_line() {
        // 000, lines 9–11: a heading, then long one-line paragraphs.
        let text = "Broń atomowa na Białorusi\nRatyfikowana umowa zapewnia Rosjanom możliwość rozmieszczenia na terytorium Białorusi baz i dowolnych jednostek wojskowych, a także gwarantuje Białorusi rozciągnięcie atomowego parasola nad sojuszniczym państwem.\nW marcu 2023 Putin ogłosił rozmieszczenie rosyjskiej taktycznej broni jądrowej na Białorusi, zaledwie kilka dni po wspólnym oświadczeniu Rosji i Chin.";
        let paragraphs = texts(text);
        assert_eq!(paragraphs.len(), 3);
        assert_eq!(paragraphs[0], "Broń atomowa na Białorusi");
    }

    #[test]
    fn a_page_break_inside_a_paragraph_is_bridged() {
        // 001, lines 33–36: the next page starts lowercase.
        let text = "oficjalnymi informacjami spośród wszystkich programów \n\nintegracyjnych nieuzgodniony pozostaje jedynie dotyczący \nrynku surowców energetycznych.";
        assert_eq!(
            texts(text),
            vec!["oficjalnymi informacjami spośród wszystkich programów integracyjnych nieuzgodniony pozostaje jedynie dotyczący rynku surowców energetycznych."]
        );
    }

    #[test]
    fn a_paragraph_resumes_after_an_inserted_box() {
        // 001, lines 61–80 with the URL lines already blanked: the box sits inside a sentence.
        let text = "nad tym państwem, w tym zablokowanie jakichkolwiek jego \ndziałań zmierzających do rozszerzenia współpracy \n\nW ciągu ostatnich kilku miesięcy Białoruś i Rosja zintensyfikowały rozmowy o warunkach dalszej integracji. \n\nRosja pragnie wykorzystać sytuację, gdy popadająca w izolację międzynarodową po sfałszowaniu \n\nubiegłorocznych wyborów prezydenckich Białoruś jest od niej coraz bardziej zależna. \n\n z państwami NATO. Istotna jest możliwość szybkiego \nprzerzutu wojsk rosyjskich na Białoruś.";
        let paragraphs = reflow(&lines(text));
        let texts: Vec<_> = paragraphs.iter().map(Paragraph::text).collect();
        assert_eq!(
            texts,
            vec![
                "nad tym państwem, w tym zablokowanie jakichkolwiek jego działań zmierzających do rozszerzenia współpracy z państwami NATO. Istotna jest możliwość szybkiego przerzutu wojsk rosyjskich na Białoruś.",
                "W ciągu ostatnich kilku miesięcy Białoruś i Rosja zintensyfikowały rozmowy o warunkach dalszej integracji.",
                "Rosja pragnie wykorzystać sytuację, gdy popadająca w izolację międzynarodową po sfałszowaniu ubiegłorocznych wyborów prezydenckich Białoruś jest od niej coraz bardziej zależna."
            ]
        );
        let resumed = &paragraphs[0];
        assert_eq!(resumed.line_span(0..resumed.text().len()), (1, 11));
    }

    #[test]
    fn a_lowercase_block_after_finished_paragraphs_starts_a_new_one() {
        let text = "Rozmowy zakończyły się.\n\nnastępnego dnia nic się nie wydarzyło.";
        assert_eq!(texts(text).len(), 2);
    }

    #[test]
    fn keeps_the_hyphen_of_a_compound_and_drops_a_syllable_split() {
        // 001, lines 96–97.
        let text = "celu destabilizację sytuacji politycznej i społeczno-\ngospodarczej w przestrzeni Państwa Związkowego”";
        assert!(texts(text)[0].contains("politycznej i społeczno-gospodarczej w przestrzeni"));
        let text = "energetycznych w obu państwach. Mimo to negocjacje kon-\ntynuowano. Nabrały one tempa w ciągu ostatniego";
        assert!(texts(text)[0].contains("negocjacje kontynuowano. Nabrały"));
    }

    #[test]
    fn the_document_decides_about_a_hyphen_when_it_spells_the_word() {
        let vocabulary = Vocabulary::new(&lines(
            "w zakresie polsko-białoruskim\nkontynuowano rozmowy",
        ));
        assert!(keep_hyphen("polsko", "białoruskim", &vocabulary));
        // "druko-wano" would be kept by the -o rule, but the text spells "drukowano" elsewhere.
        let vocabulary = Vocabulary::new(&lines("drukowano ulotki"));
        assert!(!keep_hyphen("druko", "wano", &vocabulary));
        let empty = Vocabulary::new(&[]);
        assert!(keep_hyphen("społeczno", "gospodarczej", &empty));
        assert!(!keep_hyphen("kon", "tynuowano", &empty));
        assert!(keep_hyphen("Ust", "Łudze", &empty));
    }

    #[test]
    fn hyphenated_tail_needs_a_letter_before_the_hyphen() {
        assert_eq!(
            hyphenated_tail("politycznej i społeczno-"),
            Some("społeczno")
        );
        assert_eq!(
            hyphenated_tail("relacji polsko-białorusko-"),
            Some("białorusko")
        );
        assert_eq!(hyphenated_tail("pozycji międzynarodowej -"), None);
        assert_eq!(hyphenated_tail("w latach 2020-"), None);
        assert_eq!(hyphenated_tail("państwach"), None);
    }

    #[test]
    fn list_items_and_headings_start_new_paragraphs() {
        let text = "# Wnioski\n- Rosja zwiększa presję\n- Białoruś traci suwerenność";
        assert_eq!(texts(text).len(), 3);
    }
}
