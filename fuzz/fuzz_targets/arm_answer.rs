//! An ARM (or HIMDS) answer: its body as JSON, ARM's error code and message from it, and a
//! Retry-After header value.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let body = azcm::arm::parse_body(data);
    for status in [200u16, 404, 429, 500] {
        let (_, message) = azcm::arm::error_of(body.as_ref(), status);
        assert!(!message.is_empty() || body.is_some());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = azcm::arm::parse_retry_after(text);
    }
});
