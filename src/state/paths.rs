//! The agent's state layout, resolved from the platform and optionally re-rooted.

use crate::error::{AzcmError, ErrorCode, Result};
use crate::platform::{self, SystemLayout};
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// Environment variable that re-roots every agent path under a folder, keeping the
/// platform's layout beneath it (documented in README and docs/state-files.md).
pub const ROOT_ENV: &str = "AZCM_ROOT";

pub const AGENT_CONFIG_FILE: &str = "agentconfig.json";
pub const LOCAL_CONFIG_FILE: &str = "localconfig.json";
/// The private key `genkey` makes for a later `connect` (PKCS#8 PEM).
pub const ONBOARDING_KEY_FILE: &str = "onboarding.key";
const LOCK_FILE: &str = ".azcm.lock";
/// Held by connect, disconnect and genkey for their whole run.
const CHANGE_LOCK_FILE: &str = ".azcm.change.lock";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPaths {
    /// The `AZCM_ROOT` folder when set.
    pub root: Option<PathBuf>,
    pub layout: SystemLayout,
}

impl AgentPaths {
    /// The layout for this process: the platform's, re-rooted under `AZCM_ROOT` when set.
    pub fn from_env() -> Result<Self> {
        Self::resolve(std::env::var_os(ROOT_ENV))
    }

    pub fn resolve(root: Option<OsString>) -> Result<Self> {
        let layout = platform::system_layout().map_err(|e| {
            AzcmError::new(
                ErrorCode::LOCAL_CONFIG_READ,
                format!("cannot determine the agent's folders: {e}"),
            )
        })?;
        let root = match root.filter(|r| !r.is_empty()) {
            None => return Ok(Self { root: None, layout }),
            Some(r) => absolute(PathBuf::from(r))?,
        };
        let rebase = |p: &Path| rebase(&root, p);
        let layout = SystemLayout {
            config_dir: rebase(&layout.config_dir),
            log_dir: rebase(&layout.log_dir),
            certs_dir: rebase(&layout.certs_dir),
            tokens_dir: rebase(&layout.tokens_dir),
            guest_config_dir: rebase(&layout.guest_config_dir),
            extensions_dir: rebase(&layout.extensions_dir),
            extension_logs_dir: rebase(&layout.extension_logs_dir),
            vm_agent_logs_dir: rebase(&layout.vm_agent_logs_dir),
            vm_agent_log_prefix: layout.vm_agent_log_prefix,
            vm_agent_config: layout.vm_agent_config.as_deref().map(rebase),
        };
        Ok(Self {
            root: Some(root),
            layout,
        })
    }

    /// Whether changing state needs administrative rights: only on the real system layout.
    pub fn is_system_root(&self) -> bool {
        self.root.is_none()
    }

    pub fn agent_config(&self) -> PathBuf {
        self.layout.config_dir.join(AGENT_CONFIG_FILE)
    }

    pub fn local_config(&self) -> PathBuf {
        self.layout.config_dir.join(LOCAL_CONFIG_FILE)
    }

    pub fn onboarding_key(&self) -> PathBuf {
        self.layout.certs_dir.join(ONBOARDING_KEY_FILE)
    }

    /// The lock file connect, disconnect and genkey hold while they change the machine.
    pub fn change_lock(&self) -> PathBuf {
        self.layout.config_dir.join(CHANGE_LOCK_FILE)
    }

    /// The lock file that serialises read-modify-write of the agent's config folder.
    pub fn config_lock(&self) -> PathBuf {
        self.layout.config_dir.join(LOCK_FILE)
    }
}

fn absolute(path: PathBuf) -> Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path);
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .map_err(|e| {
            AzcmError::invalid_argument(format!(
                "{ROOT_ENV} is relative and the current folder is unknown: {e}"
            ))
        })
}

/// `C:\ProgramData\X` under `R` becomes `R\ProgramData\X`; `/var/opt/x` becomes `R/var/opt/x`.
fn rebase(root: &Path, path: &Path) -> PathBuf {
    let mut out = root.to_path_buf();
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebase_keeps_layout_beneath_root() {
        let root = Path::new("/tmp/r");
        assert_eq!(
            rebase(root, Path::new("/var/opt/azcmagent")),
            Path::new("/tmp/r/var/opt/azcmagent")
        );
    }

    #[test]
    fn empty_root_means_system_layout() {
        let paths = AgentPaths::resolve(Some(OsString::new())).unwrap();
        assert!(paths.is_system_root());
    }

    #[test]
    fn rerooted_paths_stay_under_root() {
        let root = std::env::temp_dir().join("azcm-root");
        let paths = AgentPaths::resolve(Some(root.clone().into())).unwrap();
        for p in [
            paths.local_config(),
            paths.agent_config(),
            paths.onboarding_key(),
            paths.layout.extensions_dir.clone(),
        ] {
            assert!(p.starts_with(&root), "{p:?}");
        }
    }
}
