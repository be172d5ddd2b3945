//! `azcm license`.

use crate::view::{Human, Outcome};
use serde::Serialize;

const LICENSE_TEXT: &str = include_str!("../../LICENSE");

#[derive(Debug, Serialize)]
struct LicenseResult {
    spdx: &'static str,
    text: &'static str,
}

pub fn run() -> Outcome {
    Outcome::new(
        LicenseResult {
            spdx: env!("CARGO_PKG_LICENSE"),
            text: LICENSE_TEXT,
        },
        Human::Text(LICENSE_TEXT.to_string()),
    )
}
