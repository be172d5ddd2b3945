//! Text bound for a terminal. Values in human views come from files and services azcm does
//! not control (agentconfig.json, ARM, HIMDS, extension status): a control character in one
//! could retitle the window, move the cursor or fake extra lines, so each is shown as an
//! escape instead (`\e`, `\r`, `\u{202e}`). JSON output is never altered.

use std::borrow::Cow;

/// Characters that would act on the terminal instead of being shown: C0 and C1 controls,
/// DEL, and the bidirectional overrides that reorder what is shown.
fn acts_on_terminal(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape(c: char) -> String {
    match c {
        '\x1b' => "\\e".into(),
        '\r' => "\\r".into(),
        '\n' => "\\n".into(),
        '\t' => "\\t".into(),
        '\x07' => "\\a".into(),
        '\x08' => "\\b".into(),
        c if (c as u32) < 0x100 => format!("\\x{:02x}", c as u32),
        c => format!("\\u{{{:x}}}", c as u32),
    }
}

fn visible_with<'a>(text: &'a str, keep: &[char]) -> Cow<'a, str> {
    if !text
        .chars()
        .any(|c| acts_on_terminal(c) && !keep.contains(&c))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if acts_on_terminal(c) && !keep.contains(&c) {
            out.push_str(&escape(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One value (a table cell, a property): every control character escaped, line breaks too.
pub fn field(text: &str) -> Cow<'_, str> {
    visible_with(text, &[])
}

/// A whole message or view: line breaks and tabs kept, every other control escaped.
pub fn lines(text: &str) -> Cow<'_, str> {
    visible_with(text, &['\n', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_not_obeyed() {
        assert_eq!(field("plain"), "plain");
        assert!(matches!(field("plain"), Cow::Borrowed(_)));
        assert_eq!(field("a\x1b]0;pwned\x07b"), "a\\e]0;pwned\\ab");
        assert_eq!(field("x\rFAKE\ny"), "x\\rFAKE\\ny");
        assert_eq!(field("\u{9b}31m"), "\\x9b31m");
        assert_eq!(field("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(lines("one\ntwo\t2\x1b[2J"), "one\ntwo\t2\\e[2J");
        assert_eq!(field("Zürich ✓"), "Zürich ✓");
    }
}
