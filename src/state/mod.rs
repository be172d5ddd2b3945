//! The agent's local state: where it lives, how it is written, and its file models.

pub mod atomic;
pub mod localconfig;
pub mod paths;

pub use atomic::{write_atomic, StateLock};
pub use paths::AgentPaths;
