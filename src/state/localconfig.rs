//! `localconfig.json`: the properties set with `azcm config set` (docs/state-files.md).

use crate::error::{AzcmError, ErrorCode, Result};
use crate::settings::{self, Stored};
use crate::state::{write_atomic, AgentPaths, StateLock};
use serde_json::{Map, Value};
use std::io;
use std::path::{Path, PathBuf};

const SETTINGS_KEY: &str = "localsettings";

/// The file as read: the known settings plus anything else it held, kept on write so a file
/// shared with a newer agent loses nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocalConfig {
    pub settings: Stored,
    other: Map<String, Value>,
}

fn read_error(path: &Path, why: impl std::fmt::Display) -> AzcmError {
    AzcmError::new(
        ErrorCode::LOCAL_CONFIG_READ,
        format!(
            "cannot read the local configuration {}: {why}",
            path.display()
        ),
    )
    .with_detail("path", path.display().to_string())
    .with_detail("reason", why.to_string())
}

impl LocalConfig {
    /// Reads the file; a missing file is an empty configuration (all defaults).
    /// Anything unreadable or invalid is AZCM0070 naming the file and the problem.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = match crate::files::read_state_file(path, crate::files::MAX_STATE_FILE) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(read_error(path, e).with_remediation(
                    "Run the command elevated (Administrator or root), or set AZCM_ROOT to a state folder you own.",
                ))
            }
            Err(e) => return Err(read_error(path, e)),
        };
        let mut doc: Map<String, Value> = match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(read_error(path, "the file is not a JSON object")),
            Err(e) => return Err(read_error(path, format!("invalid JSON: {e}"))),
        };
        let settings = match doc.remove(SETTINGS_KEY) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(read_error(
                    path,
                    format!("'{SETTINGS_KEY}' is not an object"),
                ))
            }
        };
        for (name, value) in &settings {
            if let Ok(prop) = settings::find(name) {
                if prop.name != name {
                    return Err(read_error(
                        path,
                        format!("property '{name}' must be spelled '{}'", prop.name),
                    ));
                }
                settings::check_stored(prop, value).map_err(|why| read_error(path, why))?;
            }
        }
        Ok(Self {
            settings,
            other: doc,
        })
    }

    /// The value in effect for a known property (stored, imposed by monitor mode, or default).
    pub fn effective(&self, name: &str) -> Value {
        settings::effective(
            &self.settings,
            settings::find(name).expect("a known property"),
        )
        .0
    }

    /// The proxy and gateway settings in effect.
    pub fn proxy(&self) -> ProxySettings {
        ProxySettings {
            url: self
                .effective("proxy.url")
                .as_str()
                .unwrap_or("")
                .to_string(),
            bypass: serde_json::from_value(self.effective("proxy.bypass")).unwrap_or_default(),
            gateway_mode: self.effective("connection.type").as_str() == Some("gateway"),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut doc = self.other.clone();
        doc.insert(
            SETTINGS_KEY.to_string(),
            Value::Object(self.settings.clone()),
        );
        let mut bytes =
            serde_json::to_vec_pretty(&Value::Object(doc)).expect("a JSON map serialises");
        bytes.push(b'\n');
        bytes
    }
}

/// How the agent reaches Azure, from the local configuration: `proxy.url` (empty: no proxy),
/// the `proxy.bypass` categories that go around it, and whether `connection.type` is `gateway`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    pub url: String,
    pub bypass: Vec<String>,
    pub gateway_mode: bool,
}

impl ProxySettings {
    /// The settings of the agent's localconfig.json (defaults when there is none).
    pub fn load(paths: &AgentPaths) -> Result<Self> {
        Ok(LocalConfig::load(&paths.local_config())?.proxy())
    }
}

/// A locked read-modify-write session over localconfig.json.
pub struct LocalConfigTxn {
    _lock: StateLock,
    path: PathBuf,
    pub config: LocalConfig,
}

fn update_error(path: &Path, action: &str, e: io::Error) -> AzcmError {
    let err = AzcmError::new(
        ErrorCode::LOCAL_CONFIG_UPDATE,
        format!("cannot {action} {}: {e}", path.display()),
    )
    .with_detail("path", path.display().to_string())
    .with_detail("reason", e.to_string());
    if e.kind() == io::ErrorKind::PermissionDenied {
        err.with_remediation("Run the command elevated (Administrator or root), or set AZCM_ROOT to a state folder you own.")
    } else {
        err
    }
}

impl LocalConfigTxn {
    pub fn begin(paths: &AgentPaths) -> Result<Self> {
        let lock_path = paths.config_lock();
        let lock =
            StateLock::acquire(&lock_path, crate::state::atomic::LOCK_TIMEOUT).map_err(|e| {
                // A link, FIFO or folder where the lock (or its folder) should be: planted.
                if e.kind() == io::ErrorKind::InvalidInput {
                    read_error(&lock_path, e)
                } else {
                    update_error(&lock_path, "lock", e)
                }
            })?;
        let path = paths.local_config();
        let config = LocalConfig::load(&path)?;
        Ok(Self {
            _lock: lock,
            path,
            config,
        })
    }

    pub fn commit(self) -> Result<()> {
        write_atomic(&self.path, &self.config.to_bytes())
            .map_err(|e| update_error(&self.path, "write", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_keeps_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("localconfig.json");
        std::fs::write(
            &path,
            r#"{"version":7,"localsettings":{"proxy.url":"http://p:1","future.setting":1}}"#,
        )
        .unwrap();
        let cfg = LocalConfig::load(&path).unwrap();
        assert_eq!(cfg.settings["proxy.url"], json!("http://p:1"));
        let again: Value = serde_json::from_slice(&cfg.to_bytes()).unwrap();
        assert_eq!(again["version"], json!(7));
        assert_eq!(again["localsettings"]["future.setting"], json!(1));
    }

    #[test]
    fn corrupt_files_are_reported_not_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("localconfig.json");
        for body in [
            "{",
            "[]",
            r#"{"localsettings":3}"#,
            r#"{"localsettings":{"extensions.enabled":"yes"}}"#,
        ] {
            std::fs::write(&path, body).unwrap();
            let err = LocalConfig::load(&path).unwrap_err();
            assert_eq!(err.code, ErrorCode::LOCAL_CONFIG_READ, "{body}");
            assert!(err.message.contains("localconfig.json"));
        }
    }
}
