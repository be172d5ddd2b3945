//! Text bound for the terminal: after escaping, no control character (line breaks and tabs
//! only where kept) and no bidirectional override reaches it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let acts =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    assert!(!azcm::terminal::field(&text).chars().any(acts));
    assert!(!azcm::terminal::lines(&text)
        .chars()
        .any(|c| acts(c) && c != '\n' && c != '\t'));
});
