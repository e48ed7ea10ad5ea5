//! Chunk: the pipeline from a document's text to its numbered passages.
//! Cleans lines (`clean`), rebuilds paragraphs (`reflow`), drops repeated paragraphs, folds short
//! fragments such as titles and headings into their neighbours, and cuts what is over the token limit (`split`).
//! Each passage gets its lines, and from the `Source` its page and heading path.

use std::collections::HashSet;

use super::clean::clean_lines;
use super::paragraph::Paragraph;
use super::reflow::reflow;
use super::source::{Format, Source};
use super::split::split_to_limit;

/// A piece of a document that is embedded and returned as a search hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// 1-based ordinal of this passage within its document.
    pub paragraph: u32,
    /// 1-based number of the first (lowest) line of the original text the passage was read from.
    pub start_line: u32,
    /// 1-based number of the last (highest) such line, inclusive.
    pub end_line: u32,
    /// Cleaned text: single-spaced, no line breaks.
    pub text: String,
    /// 1-based page of the first line, for formats with pages.
    pub page: Option<u32>,
    /// Heading path (`Title › Section`) the passage stands under.
    pub section: Option<String>,
}

/// How `chunk` sizes passages.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkOptions {
    /// Hard limit: `count_tokens(passage.text)` is at most this for every passage.
    pub max_tokens: usize,
    /// Paragraphs shorter than this many characters are merged into a neighbour.
    pub min_chars: usize,
}

impl ChunkOptions {
    /// Paragraphs shorter than this are titles, bylines, headings or questions rather than text
    /// that can answer a query on its own.
    pub const DEFAULT_MIN_CHARS: usize = 120;

    pub fn new(max_tokens: usize) -> Self {
        ChunkOptions {
            max_tokens,
            min_chars: Self::DEFAULT_MIN_CHARS,
        }
    }
}

/// Cleans `text` (a plain text file) and cuts it into passages, numbered from 1 in document
/// order. See `chunk_source`.
pub fn chunk(
    text: &str,
    opts: &ChunkOptions,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Vec<Passage> {
    chunk_source(
        &Source::plain(text.to_string(), Format::Text),
        opts,
        count_tokens,
    )
}

/// Cleans the text of `source` and cuts it into passages, numbered from 1 in document order.
/// A heading is never a passage on its own: it joins the text it introduces.
/// `count_tokens` gives the model's token count of a passage text; it is called once per
/// paragraph, and for a paragraph over the limit once on "" (the fixed overhead) plus a few
/// times per piece.
pub fn chunk_source(
    source: &Source,
    opts: &ChunkOptions,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Vec<Passage> {
    // A heading that reflow has already joined to the text after it (a line starting with
    // a number continues it) is no longer a heading alone.
    let is_heading =
        |paragraph: &Paragraph| paragraph.line_numbers().all(|no| source.place(no).heading);
    let paragraphs = reflow(&clean_lines(&source.text));
    let paragraphs = merge_fragments(
        drop_duplicates(paragraphs, &is_heading),
        opts.min_chars,
        &is_heading,
    );
    let mut passages = Vec::new();
    for paragraph in &paragraphs {
        for span in split_to_limit(paragraph.text(), opts.max_tokens, count_tokens) {
            let (start_line, end_line) = paragraph.line_span(span.clone());
            let place = source.place(start_line);
            passages.push(Passage {
                paragraph: u32::try_from(passages.len() + 1).unwrap_or(u32::MAX),
                start_line,
                end_line,
                text: paragraph.text()[span].to_string(),
                page: place.page,
                section: source.section(place).map(str::to_string),
            });
        }
    }
    passages
}

/// Keeps the first of paragraphs with identical text: web pages repeat paragraphs (pull quotes,
/// text shown again around teasers), and a repeat would only crowd the results. Headings are
/// kept: chapters of a book can each have a section called "Summary".
fn drop_duplicates(
    paragraphs: Vec<Paragraph>,
    is_heading: &dyn Fn(&Paragraph) -> bool,
) -> Vec<Paragraph> {
    let mut seen = HashSet::new();
    paragraphs
        .into_iter()
        .filter(|paragraph| is_heading(paragraph) || seen.insert(paragraph.text().to_string()))
        .collect()
}

/// Merges each heading, and each paragraph shorter than `min_chars`, into the paragraph after it
/// (a heading belongs to the text it introduces), or into the one before it when nothing follows.
fn merge_fragments(
    paragraphs: Vec<Paragraph>,
    min_chars: usize,
    is_heading: &dyn Fn(&Paragraph) -> bool,
) -> Vec<Paragraph> {
    let mut merged: Vec<Paragraph> = Vec::new();
    let mut pending: Option<Paragraph> = None;
    for paragraph in paragraphs {
        let heading = is_heading(&paragraph);
        let paragraph = match pending.take() {
            Some(mut fragment) => {
                fragment.append(paragraph);
                fragment
            }
            None => paragraph,
        };
        if heading || paragraph.text().chars().count() < min_chars {
            pending = Some(paragraph);
        } else {
            merged.push(paragraph);
        }
    }
    if let Some(fragment) = pending {
        match merged.last_mut() {
            Some(last) => last.append(fragment),
            None => merged.push(fragment),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::clean::Line;

    const SEEDS: [(&str, &str); 5] = [
        ("000", include_str!("../../seeds/000_5f9f7457c2562a78.txt")),
        ("001", include_str!("../../seeds/001_79404beda8656f54.txt")),
        ("002", include_str!("../../seeds/002_f2bc2df27e4cd157.txt")),
        ("003", include_str!("../../seeds/003_4957006f09dcbc72.txt")),
        ("004", include_str!("../../seeds/004_84769c4275466146.txt")),
    ];

    /// Roughly a subword tokenizer's count for Polish, plus prefix and special tokens.
    fn fake_tokens(text: &str) -> usize {
        text.chars().count() / 4 + 3
    }

    fn passages_of(seed: &str, max_tokens: usize) -> Vec<Passage> {
        let (_, text) = SEEDS.iter().find(|(name, _)| *name == seed).unwrap();
        chunk(text, &ChunkOptions::new(max_tokens), &fake_tokens)
    }

    fn paragraph(no: u32, text: &str) -> Paragraph {
        Paragraph::new(&Line {
            no,
            text: text.to_string(),
        })
    }

    fn texts(paragraphs: &[Paragraph]) -> Vec<&str> {
        paragraphs.iter().map(Paragraph::text).collect()
    }

    #[test]
    fn repeated_paragraphs_are_kept_once() {
        // 002 repeats two paragraphs after its third teaser.
        let kreml = "Kreml poinformował, że Łukaszenko składa roboczą wizytę w Rosji i będzie rozmawiał z Putinem o dalszym rozwoju \"strategicznego partnerstwa\" między krajami.";
        let szef = "Szef Grupy Wagnera Jewgienij Prigożyn został pokazany na filmie, na którym wita swoich najemników na Białorusi w środę.";
        let kept = drop_duplicates(
            vec![
                paragraph(21, kreml),
                paragraph(41, szef),
                paragraph(45, kreml),
            ],
            &|_| false,
        );
        assert_eq!(texts(&kept), vec![kreml, szef]);
        assert_eq!(kept[0].first_line(), 21);
    }

    #[test]
    fn fragments_merge_into_the_next_paragraph_or_the_last() {
        // 003: title, author and a question before the answer.
        let answer = "Rozmowy w Mińsku były poprzedzone kolejnymi rundami rokowań w sprawie zatrzymania rosyjskiej inwazji na Ukrainę.";
        let merged = merge_fragments(
            vec![
                paragraph(1, "Piąta tura rozmów amerykańsko-białoruskich"),
                paragraph(3, "Anna Maria Dyner"),
                paragraph(9, "Jakie było tło spotkania?"),
                paragraph(11, answer),
                paragraph(40, "Dlaczego Łukaszenka zwolnił część więźniów?"),
            ],
            120,
            &|_| false,
        );
        assert_eq!(
            texts(&merged),
            vec![format!("Piąta tura rozmów amerykańsko-białoruskich Anna Maria Dyner Jakie było tło spotkania? {answer} Dlaczego Łukaszenka zwolnił część więźniów?")]
        );
        assert_eq!(merged[0].line_span(0..merged[0].text().len()), (1, 40));
    }

    #[test]
    fn a_heading_is_never_a_passage_alone_however_long() {
        use crate::ingest::source::SourceBuilder;
        let long_heading = "Dlaczego Łukaszenka zwolnił część więźniów politycznych właśnie teraz, po pięciu latach represji, i co w zamian dostał od administracji Stanów Zjednoczonych?";
        assert!(long_heading.chars().count() > ChunkOptions::DEFAULT_MIN_CHARS);
        let mut b = SourceBuilder::new(Format::Html);
        b.paragraph("Rozmowy w Mińsku były poprzedzone kolejnymi rundami rokowań w sprawie zatrzymania rosyjskiej inwazji na Ukrainę, a ich przebieg był tajny.");
        b.heading(2, long_heading);
        b.paragraph("Rezultatem rozmów było wypuszczenie przez białoruski reżim 123 więźniów politycznych, wśród których znaleźli się laureaci nagród.");
        let passages = chunk_source(&b.finish(), &ChunkOptions::new(512), &fake_tokens);
        assert_eq!(passages.len(), 2);
        assert!(passages[1].text.starts_with(long_heading));
        assert!(passages[1].text.ends_with("laureaci nagród."));
        assert_eq!(passages[1].section.as_deref(), Some(long_heading));
        assert_eq!(passages[0].section, None);
    }

    #[test]
    fn a_document_of_fragments_is_one_passage() {
        let merged = merge_fragments(
            vec![paragraph(1, "Polityka"), paragraph(2, "Kraj")],
            120,
            &|_| false,
        );
        assert_eq!(texts(&merged), vec!["Polityka Kraj"]);
    }

    #[test]
    fn empty_or_blank_text_has_no_passages() {
        let opts = ChunkOptions::new(100);
        assert!(chunk("", &opts, &fake_tokens).is_empty());
        assert!(chunk(" \n\n \n", &opts, &fake_tokens).is_empty());
    }

    #[test]
    fn passages_are_numbered_and_point_at_their_lines() {
        // 004: the metadata prefix is stripped and the source credit dropped.
        let passages = passages_of("004", 512);
        let numbers: Vec<u32> = passages.iter().map(|p| p.paragraph).collect();
        assert_eq!(numbers, (1..=passages.len() as u32).collect::<Vec<_>>());
        assert!(passages[0]
            .text
            .starts_with("Białoruskie władze na wezwanie prezydenta Kazachstanu"));
        assert_eq!((passages[0].start_line, passages[0].end_line), (1, 3));
        let last = passages.last().unwrap();
        assert!(last.text.ends_with("później otworzono ogień."));
        assert_eq!((last.start_line, last.end_line), (17, 17));
    }

    #[test]
    fn pdf_passages_span_their_wrapped_lines() {
        // 001: the paragraph about military cooperation is lines 45–63.
        let passages = passages_of("001", 512);
        let military = passages
            .iter()
            .find(|p| p.text.starts_with("Współpraca w sferze bezpieczeństwa."))
            .unwrap();
        assert_eq!((military.start_line, military.end_line), (45, 63));
    }

    #[test]
    fn seed_passages_keep_the_article_text_and_nothing_else() {
        let all: Vec<(&str, Vec<Passage>)> = SEEDS
            .iter()
            .map(|(name, _)| (*name, passages_of(name, 512)))
            .collect();
        let joined = |seed: &str| -> String {
            let (_, passages) = all.iter().find(|(name, _)| *name == seed).unwrap();
            passages
                .iter()
                .map(|p| p.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let passage_with = |seed: &str, needle: &str| -> Vec<Passage> {
            let (_, passages) = all.iter().find(|(name, _)| *name == seed).unwrap();
            passages
                .iter()
                .filter(|p| p.text.contains(needle))
                .cloned()
                .collect()
        };

        let plan = passage_with("001", "5-letni plan");
        assert_eq!(plan.len(), 1);
        assert!(plan[0].text.contains("160 wspólnych działań"));
        assert!(plan[0].text.contains("10–16 września"));
        assert!(joined("001").contains("społeczno-gospodarczej"));
        assert!(joined("001").contains(
            "do rozszerzenia współpracy z państwami NATO. Istotna jest możliwość szybkiego przerzutu"
        ));
        assert!(joined("001").contains("wszystkich programów integracyjnych nieuzgodniony"));

        let prigozyn = passage_with("002", "Jewgienij Prigożyn");
        assert_eq!(prigozyn.len(), 1);
        assert!(prigozyn[0].text.contains("nie wezmą udziału w wojnie"));
        assert!(joined("002").starts_with("Putin i Łukaszenko spotkają się"));

        assert!(joined("003").contains("Alaś Białacki"));
        assert!(joined("003").contains("stanu nadzwyczajnego"));
        assert!(joined("004").contains("Kirgistan"));
        assert!(joined("000").contains("1 sierpnia Łukaszenko ogłosił"));

        let boilerplate = [
            "http",
            "pism.pl",
            "Zdjęcie",
            "Foto:",
            "Publikacja:",
            "Czytaj",
            "Pozostało",
            "Subskrybuj",
            "Polityka",
            "Materiał Promocyjny",
            "Wojna Rosji z Ukrainą. Dzień 515",
            "Ambasador Rosji wezwany do MSZ",
            "Prigożyn zabrał głos",
            "Władimir Putin Władimir Putin",
            "Kresy.pl",
            "belta.by",
            "date 2022",
            "Prezydent Białorusi Prezydent",
        ];
        for (seed, passages) in &all {
            let mut seen = HashSet::new();
            for passage in passages {
                for junk in boilerplate {
                    assert!(
                        !passage.text.contains(junk),
                        "{seed}: {junk:?} in {:?}",
                        passage.text
                    );
                }
                assert!(!passage.text.contains("  ") && !passage.text.contains('\n'));
                assert!(passage.start_line <= passage.end_line);
                // Every substantive paragraph exactly once: no sentence appears twice.
                for sentence in passage.text.split(". ").filter(|s| s.len() > 40) {
                    assert!(
                        seen.insert(sentence.to_string()),
                        "{seed}: repeated {sentence:?}"
                    );
                }
            }
        }
        // 002 repeats two paragraphs verbatim; each is kept once.
        assert_eq!(
            joined("002")
                .matches("Po tym, jak Polska zdecydowała")
                .count(),
            1
        );
        assert_eq!(
            joined("002")
                .matches("Kreml poinformował, że Łukaszenko")
                .count(),
            1
        );
    }

    #[test]
    fn no_passage_of_any_seed_exceeds_a_small_limit() {
        for (name, text) in SEEDS {
            let passages = chunk(text, &ChunkOptions::new(40), &fake_tokens);
            assert!(passages.len() > 5, "{name}");
            for passage in &passages {
                assert!(
                    fake_tokens(&passage.text) <= 40,
                    "{name}: {:?}",
                    passage.text
                );
                assert!(!passage.text.is_empty());
            }
            // Cutting loses no words: the small-limit passages hold the same text as the large ones.
            let whole: Vec<String> = passages_of(name, 4096)
                .into_iter()
                .map(|p| p.text)
                .collect();
            let cut: Vec<String> = passages.into_iter().map(|p| p.text).collect();
            assert_eq!(cut.join(" "), whole.join(" "), "{name}");
        }
    }

    /// A generated document: its text, the line each article word stands on (by the word's
    /// number), and the numbers of the words that must reach the passages.
    #[derive(Debug)]
    struct Document {
        text: String,
        line_of: std::collections::HashMap<u32, u32>,
        expected: std::collections::BTreeSet<u32>,
    }

    /// What a document is built from: blocks separated by blank lines.
    #[derive(Debug, Clone)]
    enum Block {
        /// Sentences of words (their lengths), laid out `per_line` words to a line.
        Text {
            sentences: Vec<Vec<usize>>,
            per_line: usize,
        },
        /// An exact copy of an earlier text block, which is dropped as a repeat.
        Repeat(usize),
        /// Page furniture, dropped: a lone web address, a page number, a photo credit.
        Furniture(&'static str),
    }

    fn blocks() -> impl proptest::strategy::Strategy<Value = Vec<Block>> {
        use proptest::prelude::*;
        let text = (
            proptest::collection::vec(proptest::collection::vec(1usize..9, 2..14), 1..6),
            2usize..14,
        )
            .prop_map(|(sentences, per_line)| Block::Text {
                sentences,
                per_line,
            });
        let block = prop_oneof![
            6 => text,
            1 => (0usize..8).prop_map(Block::Repeat),
            1 => prop_oneof![
                Just("https://example.org/artykul"),
                Just("12"),
                Just("Foto: PAP"),
            ]
            .prop_map(Block::Furniture),
        ];
        proptest::collection::vec(block, 1..10)
    }

    /// Lays the blocks out as text. Words are unique (letters, then the word's number), so
    /// every word of a passage can be traced to the line it came from.
    fn document(blocks: &[Block]) -> Document {
        const LETTERS: &[char] = &['k', 'o', 't', 'ż', 'a', 'ł', 'm', 'ę', 'r', 's', 'ó', 'w'];
        let mut lines: Vec<String> = Vec::new();
        let mut line_of = std::collections::HashMap::new();
        let mut expected = std::collections::BTreeSet::new();
        let mut texts: Vec<Vec<String>> = Vec::new();
        let mut next_word = 0u32;
        for block in blocks {
            if !lines.is_empty() {
                lines.push(String::new());
            }
            match block {
                Block::Text {
                    sentences,
                    per_line,
                } => {
                    let mut words = Vec::new();
                    for sentence in sentences {
                        for (i, &len) in sentence.iter().enumerate() {
                            next_word += 1;
                            let mut word: String = (0..len)
                                .map(|j| LETTERS[(next_word as usize * 7 + j) % LETTERS.len()])
                                .collect();
                            if i == 0 {
                                word = word.to_uppercase();
                            }
                            word.push_str(&next_word.to_string());
                            if i + 1 == sentence.len() {
                                word.push('.');
                            }
                            words.push((next_word, word));
                        }
                    }
                    let mut block_lines = Vec::new();
                    for chunk in words.chunks(*per_line) {
                        for (number, _) in chunk {
                            line_of.insert(*number, (lines.len() + block_lines.len() + 1) as u32);
                            expected.insert(*number);
                        }
                        let line: Vec<&str> = chunk.iter().map(|(_, w)| w.as_str()).collect();
                        block_lines.push(line.join(" "));
                    }
                    lines.extend(block_lines.iter().cloned());
                    texts.push(block_lines);
                }
                Block::Repeat(i) if !texts.is_empty() => {
                    let copy = texts[i % texts.len()].clone();
                    lines.extend(copy);
                }
                Block::Repeat(_) => lines.push("Foto: PAP".to_string()),
                Block::Furniture(line) => lines.push(line.to_string()),
            }
        }
        Document {
            text: lines.join("\n"),
            line_of,
            expected,
        }
    }

    /// The number a generated word ends with.
    fn word_number(word: &str) -> Option<u32> {
        let digits: String = word
            .trim_end_matches('.')
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        digits.parse().ok()
    }

    proptest::proptest! {
        /// Every word of the article is in exactly one passage, repeats and page furniture
        /// are dropped, nothing else is, and each passage's lines are exactly the lines its
        /// words stand on; every passage fits the limit.
        #[test]
        fn every_word_lands_in_one_passage_citing_its_lines(
            blocks in blocks(),
            max_tokens in 24usize..200,
        ) {
            let doc = document(&blocks);
            let passages = chunk(&doc.text, &ChunkOptions::new(max_tokens), &fake_tokens);
            let mut seen = std::collections::BTreeSet::new();
            for (i, passage) in passages.iter().enumerate() {
                proptest::prop_assert_eq!(passage.paragraph as usize, i + 1);
                proptest::prop_assert!(fake_tokens(&passage.text) <= max_tokens, "{:?}", passage);
                proptest::prop_assert!(!passage.text.contains("  ") && !passage.text.contains('\n'));
                let mut lines = Vec::new();
                for word in passage.text.split_whitespace() {
                    let number = word_number(word);
                    proptest::prop_assert!(number.is_some(), "{word:?} is not article text");
                    let number = number.unwrap_or_default();
                    proptest::prop_assert!(seen.insert(number), "word {} twice", number);
                    lines.push(doc.line_of[&number]);
                }
                let (low, high) = (lines.iter().min().copied(), lines.iter().max().copied());
                proptest::prop_assert_eq!((low, high), (Some(passage.start_line), Some(passage.end_line)));
            }
            proptest::prop_assert_eq!(seen, doc.expected);
        }
    }
}
