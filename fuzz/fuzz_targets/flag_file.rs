//! `--config FILE` text, read as JSON and as YAML: a map or a reason, never a panic or a hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for is_json in [true, false] {
            if let Ok(map) = azcm::flagfile::parse(text, is_json) {
                assert!(serde_json::to_string(&map).is_ok());
            }
        }
    }
});
