//! Redaction over arbitrary bytes (any encoding, NULs, lines of any length): never a panic; a
//! line with nothing to mask passes unchanged, and a count of masks means a mask is there.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (out, count) = azcm::logs::redact::redact_line(data);
    if count == 0 {
        assert_eq!(&*out, data);
    } else {
        assert!(out
            .windows(azcm::logs::redact::MASK.len())
            .any(|w| w == azcm::logs::redact::MASK.as_bytes()));
    }
});
