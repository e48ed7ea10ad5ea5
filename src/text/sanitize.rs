//! Makes document text safe to print: control characters and bidirectional overrides
//! (which can make a terminal show something other than what is there) are removed,
//! and any line breaks or tabs become single spaces.

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
}
