//! Clean: line-level cleaning before paragraphs are rebuilt.
//! Normalises each line's characters and blanks out lines that are page furniture or web
//! boilerplate (URLs, photo credits, teasers, paywalls), keeping every line's original number.

use unicode_normalization::UnicodeNormalization;

use crate::text::sentences::ends_sentence;

/// One line of a document: its 1-based number in the original text and its cleaned text.
/// An empty `text` is a break between paragraphs: a blank line, or a line that was dropped.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Line {
    pub no: u32,
    pub text: String,
}

/// Labels that introduce a photo caption or credit (compared lowercase).
const PHOTO_CREDIT_LABELS: &[&str] = &[
    "zdjęcie:",
    "zdjęcia:",
    "foto:",
    "fot.",
    "fot:",
    "photo:",
    "photos:",
    "image:",
    "credit:",
];
/// Links to other articles; as a line of their own they announce a teaser headline below.
const READ_MORE_MARKERS: &[&str] = &[
    "czytaj więcej",
    "czytaj też",
    "czytaj także",
    "przeczytaj też",
    "przeczytaj także",
    "zobacz też",
    "zobacz także",
    "read more",
    "see also",
    "related",
];
/// Labels of a publication date line.
const PUBLICATION_LABELS: &[&str] = &[
    "publikacja:",
    "aktualizacja:",
    "opublikowano:",
    "data publikacji:",
    "published:",
    "updated:",
    "last updated:",
];
/// Keys of a metadata prefix such as ` date 2022-01 ` glued before a document's first sentence.
const METADATA_KEYS: &[&str] = &["date", "data", "published", "updated"];
/// Whole lines that are page widgets, not text.
const WIDGET_LABELS: &[&str] = &[
    "reklama",
    "advertisement",
    "sponsored",
    "artykuł sponsorowany",
    "subskrybuj",
    "subscribe",
    "udostępnij",
    "share",
];
/// Starts of lines saying that the rest of the article is behind a paywall.
const PAYWALL_STARTS: &[&str] = &[
    "subscribe to continue",
    "subscribe to read",
    "this article is for subscribers",
    "ten artykuł jest dostępny tylko dla",
];
/// Longest line taken as the teaser headline below a "read more" marker.
const MAX_HEADLINE_CHARS: usize = 160;
/// Longest line taken as the caption above a photo credit.
const MAX_CAPTION_CHARS: usize = 100;
/// Longer lines are text even when they contain a credit label.
const MAX_CREDIT_CHARS: usize = 200;

/// Splits `text` into numbered, cleaned lines with furniture and boilerplate blanked out.
pub(super) fn clean_lines(text: &str) -> Vec<Line> {
    let mut lines: Vec<Line> = text
        .split('\n')
        .enumerate()
        .map(|(index, line)| Line {
            no: u32::try_from(index + 1).unwrap_or(u32::MAX),
            text: normalize_line(line),
        })
        .collect();
    if let Some(first) = lines.iter_mut().find(|line| !line.text.is_empty()) {
        first.text = strip_leading_metadata(&first.text).to_string();
    }
    drop_furniture(&mut lines);
    lines
}

/// NFC-normalises `line`, removes control and invisible formatting characters, turns every kind
/// of whitespace into a single space and trims it. Typographic punctuation („ ” – —) is kept.
fn normalize_line(line: &str) -> String {
    let visible: String = line
        .nfc()
        .filter(|&c| c.is_whitespace() || !(c.is_control() || is_invisible_format(c)))
        .collect();
    visible.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Soft hyphens, zero-width spaces, word joiners, stray byte-order marks and bidi controls:
/// invisible, but they break word matching and can reorder text when printed.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{2060}' | '\u{FEFF}'
        | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Removes a metadata prefix like `date 2022-01` from the start of a document's first line.
fn strip_leading_metadata(line: &str) -> &str {
    let mut parts = line.splitn(3, ' ');
    let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
        return line;
    };
    let key = key.trim_end_matches(':').to_lowercase();
    if METADATA_KEYS.contains(&key.as_str()) && is_date(value) {
        parts.next().unwrap_or("")
    } else {
        line
    }
}

/// `2022-01`, `2022-01-06`, `06.01.2022`, `2022/01/06`: digits with separators, including a year.
/// A bare number is not enough (`Data 2022 roku…` is a sentence).
fn is_date(word: &str) -> bool {
    let is_separator = |c: char| matches!(c, '-' | '.' | '/');
    word.starts_with(|c: char| c.is_ascii_digit())
        && word.chars().all(|c| c.is_ascii_digit() || is_separator(c))
        && word.contains(is_separator)
        && word.chars().filter(char::is_ascii_digit).count() >= 4
}

/// Blanks the lines that are not article text. A dropped line becomes a paragraph break, which
/// keeps text on either side of it (a caption between two paragraphs) from being joined.
fn drop_furniture(lines: &mut [Line]) {
    for index in 0..lines.len() {
        let text = lines[index].text.as_str();
        if text.is_empty() {
            continue;
        }
        if is_paywall(text) {
            lines[index..].iter_mut().for_each(|line| line.text.clear());
            return;
        }
        match read_more(text) {
            Some(ReadMore::TeaserBelow) => {
                if let Some(next) = next_text_line(lines, index + 1) {
                    if lines[next].text.chars().count() <= MAX_HEADLINE_CHARS {
                        lines[next].text.clear();
                    }
                }
            }
            Some(ReadMore::TeaserInline) => {}
            None if is_photo_credit(text) => drop_captions_before(lines, index),
            None if is_lone_url(text)
                || is_domain_credit(text)
                || is_publication_line(text)
                || is_page_number(text)
                || is_widget_label(text) => {}
            None => continue,
        }
        lines[index].text.clear();
    }
}

fn next_text_line(lines: &[Line], from: usize) -> Option<usize> {
    (from..lines.len()).find(|&i| !lines[i].text.is_empty())
}

fn previous_text_line(lines: &[Line], before: usize) -> Option<usize> {
    (0..before).rev().find(|&i| !lines[i].text.is_empty())
}

/// `Pozostało 80% artykułu`, `Czytaj dalej. Subskrybuj`: the rest of the page is not the article.
fn is_paywall(line: &str) -> bool {
    let lower = line.to_lowercase();
    (lower.starts_with("pozostało ")
        && (lower.ends_with("% artykułu") || lower.ends_with("% tekstu")))
        || (lower.starts_with("czytaj dalej") && lower.contains("subskryb"))
        || PAYWALL_STARTS.iter().any(|start| lower.starts_with(start))
}

#[derive(Debug, PartialEq)]
enum ReadMore {
    /// The marker alone (`Czytaj więcej`); the teaser headline is the next line.
    TeaserBelow,
    /// Marker and teaser on one line (`Czytaj też: …`).
    TeaserInline,
}

fn read_more(line: &str) -> Option<ReadMore> {
    let lower = line.to_lowercase();
    let bare = lower.trim_end_matches([':', '»', '›', '>', '…', ' ']);
    READ_MORE_MARKERS.iter().find_map(|marker| {
        if bare == *marker {
            Some(ReadMore::TeaserBelow)
        } else if lower.starts_with(&format!("{marker}:")) {
            Some(ReadMore::TeaserInline)
        } else {
            None
        }
    })
}

/// `Zdjęcie: Prezydent Białorusi`, `Foto: AFP`, or a caption ending in a credit
/// (`Białoruska wyrzutnia … / Zdjęcie: Ministerstwo Obrony`).
fn is_photo_credit(line: &str) -> bool {
    if line.chars().count() > MAX_CREDIT_CHARS {
        return false;
    }
    let lower = line.to_lowercase();
    lower.split(['/', '|']).any(|part| {
        let part = part.trim_start();
        PHOTO_CREDIT_LABELS
            .iter()
            .any(|label| part.starts_with(label))
    })
}

/// Blanks the caption above a photo credit: the line just before it when that is short and not a
/// sentence, and an identical line before that (web pages often repeat the caption as alt text).
fn drop_captions_before(lines: &mut [Line], credit: usize) {
    let Some(caption) = previous_text_line(lines, credit) else {
        return;
    };
    if !is_caption(&lines[caption].text) {
        return;
    }
    if let Some(repeat) = previous_text_line(lines, caption) {
        if lines[repeat].text == lines[caption].text {
            lines[repeat].text.clear();
        }
    }
    lines[caption].text.clear();
}

fn is_caption(line: &str) -> bool {
    line.chars().count() <= MAX_CAPTION_CHARS && !ends_sentence(line)
}

/// A line holding nothing but a web address.
fn is_lone_url(line: &str) -> bool {
    let lower = line.to_lowercase();
    !line.contains(' ')
        && ["http://", "https://", "www."]
            .iter()
            .any(|scheme| lower.starts_with(scheme))
}

/// A source credit made only of domain names: `Kresy.pl / mfa.gov.by / belta.by`.
fn is_domain_credit(line: &str) -> bool {
    let mut names = line
        .split([' ', '/', '|', ','])
        .filter(|name| !name.is_empty())
        .peekable();
    names.peek().is_some() && names.all(is_domain)
}

/// `belta.by`, `mfa.gov.by`: dot-separated labels ending in an alphabetic top-level domain.
fn is_domain(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    let Some((tld, rest)) = labels.split_last() else {
        return false;
    };
    !rest.is_empty()
        && (2..=6).contains(&tld.chars().count())
        && tld.chars().all(char::is_alphabetic)
        && rest.iter().all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// `Publikacja: 23.07.2023 07:30`.
fn is_publication_line(line: &str) -> bool {
    let lower = line.to_lowercase();
    PUBLICATION_LABELS.iter().any(|label| {
        lower.strip_prefix(label).is_some_and(|rest| {
            rest.chars().count() <= 40 && rest.chars().any(|c| c.is_ascii_digit())
        })
    })
}

/// Page numbers and counters: `12`, `1 / 3`, `- 4 -`.
fn is_page_number(line: &str) -> bool {
    line.chars().count() <= 12
        && line.chars().any(|c| c.is_ascii_digit())
        && line
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '/' | '-' | '–' | '.'))
}

fn is_widget_label(line: &str) -> bool {
    WIDGET_LABELS.contains(&line.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<&str> {
        lines
            .iter()
            .map(|line| line.text.as_str())
            .filter(|text| !text.is_empty())
            .collect()
    }

    #[test]
    fn normalises_whitespace_and_strips_invisible_characters() {
        // 001 lines end in a trailing space; 003 has lines of spaces only.
        assert_eq!(
            normalize_line(" Białoruś i Rosja. Przyspieszona integracja "),
            "Białoruś i Rosja. Przyspieszona integracja"
        );
        assert_eq!(normalize_line(" "), "");
        assert_eq!(
            normalize_line("Mińsk\u{00A0}\tzastrzegł\u{200B} sobie\u{0007}, że"),
            "Mińsk zastrzegł sobie, że"
        );
        // Decomposed diacritics from PDF extraction become the composed letters.
        assert_eq!(normalize_line("Min\u{0301}sk"), "Mińsk");
        // Polish quotes and dashes stay.
        let quoted = "„przeciwnie – by ją chronić”.";
        assert_eq!(normalize_line(quoted), quoted);
    }

    #[test]
    fn strips_a_leading_date_prefix() {
        // 004's first line.
        assert_eq!(
            strip_leading_metadata("date 2022-01 Białoruskie władze na wezwanie prezydenta Kazachstanu wyślą do tego kraju „siły pokojowe”."),
            "Białoruskie władze na wezwanie prezydenta Kazachstanu wyślą do tego kraju „siły pokojowe”."
        );
        assert_eq!(strip_leading_metadata("Date: 06.01.2022"), "");
        let sentence = "Data 2022 roku okazała się przełomowa.";
        assert_eq!(strip_leading_metadata(sentence), sentence);
        let line = "date ważna dla nas";
        assert_eq!(strip_leading_metadata(line), line);
    }

    #[test]
    fn recognises_lone_urls_and_domain_credits() {
        // 001, 003, 004.
        assert!(is_lone_url(
            "https://www.pism.pl/publikacje/Unijne_sankcje_przeciw_Bialorusi"
        ));
        assert!(is_domain_credit("Kresy.pl / mfa.gov.by / belta.by"));
        assert!(!is_domain_credit("1 / 3"));
        assert!(!is_domain_credit(
            "Sekretarz białoruskiej Rady Bezpieczeństwa zapewniał."
        ));
        assert!(!is_lone_url(
            "Współpracę zacieśniają też służby specjalne obu państw."
        ));
    }

    #[test]
    fn recognises_photo_credits() {
        // 000 and 002.
        assert!(is_photo_credit("Zdjęcie: Prezydent Białorusi"));
        assert!(is_photo_credit("Białoruska wyrzutnia systemu 9K720 Iskander z pociskami balistycznymi 9M723 Iskander-M / Zdjęcie: Ministerstwo Obrony Republiki Białoruś"));
        assert!(is_photo_credit("Foto: AFP"));
        assert!(is_photo_credit("Fot. PAP/Leszek Szymański"));
        assert!(!is_photo_credit("Broń atomowa na Białorusi"));
        assert!(!is_photo_credit("Fotografia Putina obiegła media."));
    }

    #[test]
    fn recognises_publication_lines_page_numbers_and_widgets() {
        // 002.
        assert!(is_publication_line("Publikacja: 23.07.2023 07:30"));
        assert!(!is_publication_line(
            "Publikacja: raport o stanie bezpieczeństwa"
        ));
        assert!(is_page_number("1 / 3"));
        assert!(is_page_number("12"));
        assert!(!is_page_number("2 marca br."));
        assert!(is_widget_label("Reklama"));
        assert!(is_widget_label("Advertisement"));
        assert!(!is_widget_label("Polityka"));
    }

    #[test]
    fn recognises_read_more_markers_and_paywalls() {
        // 002.
        assert_eq!(read_more("Czytaj więcej"), Some(ReadMore::TeaserBelow));
        assert_eq!(read_more("Read more »"), Some(ReadMore::TeaserBelow));
        assert_eq!(
            read_more("Czytaj też: Rosja rozmieści pociski balistyczne Oriesznik na Białorusi"),
            Some(ReadMore::TeaserInline)
        );
        assert_eq!(
            read_more("Czytaj więcej o programach integracyjnych w raporcie."),
            None
        );
        assert!(is_paywall("Pozostało 80% artykułu"));
        assert!(is_paywall("Czytaj dalej. Subskrybuj"));
        assert!(is_paywall("Subscribe to continue reading"));
        assert!(!is_paywall("Pozostało jeszcze wiele pytań."));
    }

    #[test]
    fn drops_captions_credits_and_the_teaser_after_a_marker() {
        // The start of 002.
        let text = "Putin i Łukaszenko spotkają się po ostrzeżeniu Rosji przed agresją na Białoruś\n\nPublikacja: 23.07.2023 07:30\n\nWładimir Putin\n\nWładimir Putin\n\nFoto: AFP\n\nCzytaj więcej\n\nWojna Rosji z Ukrainą. Dzień 515\n\nKreml poinformował, że Łukaszenko składa roboczą wizytę w Rosji.";
        let lines = clean_lines(text);
        assert_eq!(
            texts(&lines),
            vec![
                "Putin i Łukaszenko spotkają się po ostrzeżeniu Rosji przed agresją na Białoruś",
                "Kreml poinformował, że Łukaszenko składa roboczą wizytę w Rosji."
            ]
        );
        assert_eq!(lines.len(), 15);
        assert_eq!(lines[14].no, 15);
    }

    #[test]
    fn keeps_the_paragraph_before_a_credit_and_the_heading_after_it() {
        // 000: a sentence before the credit is not a caption.
        let text = "Wszelkie decyzje będą należały do Kremla (Rosja rozmieści pociski balistyczne Oriesznik na Białorusi).\nZdjęcie: Ministerstwo Obrony Federacji Rosyjskiej\nRosyjskie wojska na Białorusi";
        let lines = clean_lines(text);
        assert_eq!(
            texts(&lines),
            vec![
                "Wszelkie decyzje będą należały do Kremla (Rosja rozmieści pociski balistyczne Oriesznik na Białorusi).",
                "Rosyjskie wojska na Białorusi"
            ]
        );
        assert_eq!(lines[1].text, "", "the credit becomes a break");
    }

    #[test]
    fn everything_after_a_paywall_marker_goes() {
        // The end of 002.
        let text = "Kreml poinformował, że Łukaszenko składa roboczą wizytę w Rosji.\n\nPozostało 80% artykułu\n1 / 3\nartykułów\nCzytaj dalej. Subskrybuj\nPolityka\nKamala Harris na prezydenta USA? Barack Obama przerwał milczenie";
        assert_eq!(
            texts(&clean_lines(text)),
            vec!["Kreml poinformował, że Łukaszenko składa roboczą wizytę w Rosji."]
        );
    }

    #[test]
    fn drops_url_runs_and_source_credits_as_breaks() {
        // 001 and 004.
        let text = "konsekwencje dla bezpieczeństwa regionalnego. \n https://www.pism.pl/publikacje/Miedzynarodowe_konsekwencje__wyborow_prezydenckich_na_Bialorusi\nhttps://www.pism.pl/publikacje/Unijne_sankcje_przeciw_Bialorusi\n z państwami NATO. Istotna jest możliwość szybkiego \n\nKresy.pl / mfa.gov.by / belta.by";
        let lines = clean_lines(text);
        assert_eq!(
            texts(&lines),
            vec![
                "konsekwencje dla bezpieczeństwa regionalnego.",
                "z państwami NATO. Istotna jest możliwość szybkiego"
            ]
        );
        assert_eq!(lines[3].no, 4);
    }
}
