//! The agent's local state: where it lives, how it is written, and its file models.

pub mod agentconfig;
pub mod atomic;
pub mod localconfig;
pub mod paths;

pub use atomic::{write_atomic, ChangeLock, StateLock};
pub use paths::AgentPaths;

/// A warning when a state file's protection was loosened outside azcm (readable or writable by
/// users other than its owner, administrators and SYSTEM). Every azcm write replaces the file
/// with a private one, so the next change restores the protection.
pub fn exposure_warning(path: &std::path::Path) -> Option<String> {
    match crate::platform::is_exposed(path) {
        Ok(true) => Some(format!(
            "{} can be read or changed by users other than administrators; the next change made with azcm restores its protection",
            path.display()
        )),
        _ => None,
    }
}
