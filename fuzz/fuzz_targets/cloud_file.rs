//! AZCM_CLOUD_FILE text: clouds with https endpoints and regions, or an AZCM0019 reason.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let path = std::path::Path::new("clouds.json");
        match azcm::cloud::parse_file(path, text) {
            Ok(clouds) => {
                for cloud in clouds {
                    assert!(!cloud.regions.is_empty());
                    assert!(cloud.authority.starts_with("https://"));
                }
            }
            Err(e) => assert_eq!(e.code, azcm::error::ErrorCode::CONFIG_FILE),
        }
    }
});
