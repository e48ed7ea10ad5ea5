//! Makes untrusted text safe to print. Control characters and bidirectional overrides can
//! make a terminal show something other than what is there (or forge whole lines):
//! - `clean`, for document text: they are removed, and line breaks and tabs become spaces;
//! - `escape`, for names (file names, paths, titles): they are shown as visible escapes
//!   (`\n`, `\u{202e}`), so that the name can still be told apart and typed.

/// True for characters that reorder or hide text in a terminal.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_whitespace() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else if !c.is_control() && !is_bidi_control(c) {
            out.push(c);
        }
    }
    out.trim().to_string()
}

/// `text` with every control and bidirectional-override character written as a visible
/// escape (`\n`, `\t`, `\u{1b}`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || is_bidi_control(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// `escape` for a message of several lines: its line breaks stay, everything else that
/// could reach the terminal is escaped (the last defence for messages that carry names).
pub fn escape_lines(text: &str) -> String {
    text.split('\n').map(escape).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_controls_and_bidi_keeps_polish() {
        let dirty = "Łukaszenka\u{1b}[31m\u{202E}ogłosił\t„pokój”\r\n\u{7}koniec";
        assert_eq!(clean(dirty), "Łukaszenka[31mogłosił „pokój” koniec");
    }

    #[test]
    fn collapses_whitespace_runs() {
        assert_eq!(clean("  a \n\n b\u{a0} c "), "a b c");
    }

    #[test]
    fn names_show_their_controls_as_escapes() {
        assert_eq!(
            escape("raport\u{1b}[2J\u{202e}fdp.txt\nstale: none"),
            "raport\\u{1b}[2J\\u{202e}fdp.txt\\nstale: none"
        );
        assert_eq!(escape("Łódź/żółć.txt"), "Łódź/żółć.txt");
    }

    #[test]
    fn messages_keep_their_lines_and_lose_their_escapes() {
        assert_eq!(
            escape_lines("model x is not available:\n  cache: \u{1b}]0;pwned\u{7}"),
            "model x is not available:\n  cache: \\u{1b}]0;pwned\\u{7}"
        );
    }
}
