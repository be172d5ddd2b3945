//! `--tags` text: at most 50 tags within Azure's limits, or an AZCM0023 reason.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match azcm::onboarding::request::parse_tags(text) {
            Ok(tags) => {
                assert!(tags.len() <= 50);
                for (name, value) in &tags {
                    assert!(!name.is_empty() && name.len() <= 512 && value.len() <= 256);
                }
            }
            Err(e) => assert_eq!(e.code, azcm::error::ErrorCode::INVALID_ARGUMENT),
        }
    }
});
