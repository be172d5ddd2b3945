//! Redaction over arbitrary bytes (any encoding, NULs, lines of any length): never a panic,
//! and a masked line never holds a secret a form names again.
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
    // Idempotent: what came out has nothing left to mask.
    let (_, again) = azcm::logs::redact::redact_line(&out);
    assert_eq!(again, 0, "{}", String::from_utf8_lossy(&out));
});
