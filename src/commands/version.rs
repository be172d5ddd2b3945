//! `azcm version`.

use crate::view::{Human, Outcome, Section};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub name: &'static str,
    pub version: &'static str,
    pub target: &'static str,
    pub git_revision: &'static str,
    pub profile: &'static str,
    pub schema_version: u32,
}

pub fn info() -> VersionInfo {
    VersionInfo {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        target: env!("AZCM_BUILD_TARGET"),
        git_revision: env!("AZCM_GIT_REVISION"),
        profile: env!("AZCM_BUILD_PROFILE"),
        schema_version: crate::output::SCHEMA_VERSION,
    }
}

pub fn run() -> Outcome {
    let v = info();
    let human = Human::Sections(vec![Section::new(format!("azcm version {}", v.version))
        .row("Build Target", v.target)
        .row("Git Revision", v.git_revision)
        .row("Build Profile", v.profile)
        .row("JSON Schema Version", v.schema_version.to_string())]);
    Outcome::new(v, human)
}
