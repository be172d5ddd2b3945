//! Everything that differs between Windows and Linux lives here, behind one interface:
//! the agent's system layout, elevation, file protection and durable file-system operations.
//! No other module uses `cfg(windows)` / `cfg(unix)`.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// Where the agent keeps its state on this platform, before any `AZCM_ROOT` re-rooting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemLayout {
    /// Folder holding `agentconfig.json` and `localconfig.json`.
    pub config_dir: PathBuf,
    pub log_dir: PathBuf,
    pub certs_dir: PathBuf,
    pub tokens_dir: PathBuf,
    /// Guest configuration (machine configuration) agent folder.
    pub guest_config_dir: PathBuf,
    /// Where extension handlers are installed.
    pub extensions_dir: PathBuf,
}

/// The platform name as azcm reports it (`windows`, `linux`, ...).
pub const OS: &str = std::env::consts::OS;

/// The agent's layout on this machine, from the platform's own sources
/// (known folders on Windows, the FHS paths the Linux agent uses).
pub fn system_layout() -> io::Result<SystemLayout> {
    imp::system_layout()
}

/// True when the process runs with administrative rights (elevated token / effective uid 0).
pub fn is_elevated() -> bool {
    imp::is_elevated()
}

/// Creates a new file (failing if it exists) that only its rightful readers can open:
/// mode 0600 on Linux; a protected DACL of SYSTEM and Administrators on Windows.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    imp::create_private_file(path)
}

/// Creates a folder and its parents; the last component gets owner-only access.
pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    imp::create_private_dir_all(path)
}

/// Makes a rename inside `dir` durable (fsync of the folder where the platform needs it).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    imp::sync_dir(dir)
}

/// Whether `path` is readable or writable by users other than its owner, administrators and
/// the system: used to warn about state files whose protection was loosened outside azcm.
pub fn is_exposed(path: &Path) -> io::Result<bool> {
    imp::is_exposed(path)
}
