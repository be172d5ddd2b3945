//! The extensions installed on this machine, read from their handler folders (the platform's
//! layout, re-rooted with AZCM_ROOT): name, version, state from the newest status file, size —
//! and their removal: the handler's uninstall command, then the folder.

use crate::error::{AzcmError, ErrorCode, Result};
use crate::platform::{self, CommandOutcome, ExtensionLayout};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    /// `Publisher.Type`, as the extension is known in Azure.
    pub name: String,
    pub publisher: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: String,
    /// From the newest status file: success, error, transitioning, warning; empty if none.
    pub state: String,
    pub operation: String,
    pub message: String,
    pub status_time: String,
    pub size_bytes: u64,
    pub path: String,
    #[serde(skip)]
    pub dir: PathBuf,
}

fn is_version(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

fn split_name(name: &str) -> (String, String) {
    match name.rsplit_once('.') {
        Some((publisher, kind)) => (publisher.to_string(), kind.to_string()),
        None => (String::new(), name.to_string()),
    }
}

/// A handler folder being deleted is first renamed to `<extensions>/.azcm-removing-…` in one
/// atomic step: a removal killed halfway leaves a folder that is plainly no extension, and the
/// next `list` or `remove` finishes deleting it.
const ASIDE_PREFIX: &str = ".azcm-removing-";

/// Deletes the folders earlier removals left aside (killed while deleting); best effort.
fn finish_removals(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let aside = entry
            .file_name()
            .to_string_lossy()
            .starts_with(ASIDE_PREFIX);
        // A folder, not a link: remove_dir_all does not follow links inside it either.
        if aside && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Every handler folder that holds a HandlerManifest.json, sorted by name and version.
pub fn list(dir: &Path) -> Result<Vec<Extension>> {
    finish_removals(dir);
    let read_dir = |d: &Path| -> Result<Vec<PathBuf>> {
        match std::fs::read_dir(d) {
            Ok(entries) => Ok(entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                .map(|e| e.path())
                .collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(AzcmError::new(
                ErrorCode::LOCAL_CONFIG_READ,
                format!("cannot read the extensions folder {}: {e}", d.display()),
            )
            .with_detail("path", d.display().to_string())),
        }
    };
    let mut found = Vec::new();
    for entry in read_dir(dir)? {
        let folder = entry
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match platform::EXTENSION_LAYOUT {
            ExtensionLayout::NameDashVersion => {
                if let Some((name, version)) = folder.rsplit_once('-') {
                    if is_version(version) && entry.join("HandlerManifest.json").is_file() {
                        found.push((name.to_string(), version.to_string(), entry.clone()));
                    }
                }
            }
            ExtensionLayout::NameThenVersion => {
                for version_dir in read_dir(&entry)? {
                    let version = version_dir
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned();
                    if is_version(&version) && version_dir.join("HandlerManifest.json").is_file() {
                        found.push((folder.clone(), version, version_dir));
                    }
                }
            }
        }
    }
    let mut extensions: Vec<Extension> = found
        .into_iter()
        .map(|(name, version, dir)| {
            let (publisher, kind) = split_name(&name);
            let status = newest_status(&dir);
            let st = |ptr: &str| {
                status
                    .as_ref()
                    .and_then(|s| s.pointer(ptr))
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            Extension {
                publisher,
                kind,
                version,
                state: st("/status/status"),
                operation: st("/status/operation"),
                message: st("/status/formattedMessage/message"),
                status_time: st("/timestampUTC"),
                size_bytes: size_of(&dir),
                path: dir.display().to_string(),
                name,
                dir,
            }
        })
        .collect();
    extensions.sort_by(|a, b| {
        (a.name.to_ascii_lowercase(), &a.version).cmp(&(b.name.to_ascii_lowercase(), &b.version))
    });
    Ok(extensions)
}

/// The newest `<n>.status` of the handler's status folder (any case), its first entry.
fn newest_status(dir: &Path) -> Option<Value> {
    let status_dir = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .eq_ignore_ascii_case("status")
        })
        // A real folder only: a `status` that is a link (or junction) would pull in status
        // files from anywhere on the machine.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))?
        .path();
    let newest = std::fs::read_dir(status_dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n: u64 = name.strip_suffix(".status")?.parse().ok()?;
            Some((n, e.path()))
        })
        .max_by_key(|(n, _)| *n)?;
    let bytes = crate::files::read_state_file(&newest.1, crate::files::MAX_EXTENSION_FILE).ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    match value {
        Value::Array(mut items) if !items.is_empty() => Some(items.swap_remove(0)),
        Value::Object(_) => Some(value),
        _ => None,
    }
}

/// Bytes under `dir`, symbolic links not followed (a link loop cannot trap it).
fn size_of(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(e.path());
            } else if meta.is_file() {
                total += meta.len();
            }
        }
    }
    total
}

/// The installed extensions a removal names: `Publisher.Type` in any letter case, or the type
/// alone (AzureMonitorWindowsAgent, as Microsoft's docs write it) when only one publisher's
/// extension has it; every one for `None` (`--all`).
pub fn select<'a>(installed: &'a [Extension], name: Option<&str>) -> Result<Vec<&'a Extension>> {
    match name {
        Some(name) => {
            let name = name.trim();
            let mut matching: Vec<&Extension> = installed
                .iter()
                .filter(|e| e.name.eq_ignore_ascii_case(name))
                .collect();
            if matching.is_empty() {
                // The type alone, as Microsoft's docs write it (AzureMonitorWindowsAgent),
                // when exactly one publisher's extension has it.
                let by_type: Vec<&Extension> = installed
                    .iter()
                    .filter(|e| e.kind.eq_ignore_ascii_case(name))
                    .collect();
                let publishers: std::collections::BTreeSet<String> = by_type
                    .iter()
                    .map(|e| e.name.to_ascii_lowercase())
                    .collect();
                if publishers.len() > 1 {
                    let names: Vec<&str> = by_type.iter().map(|e| e.name.as_str()).collect();
                    return Err(AzcmError::invalid_argument(format!(
                        "'{name}' is the type of more than one installed extension: {}; name one with its publisher",
                        names.join(", ")
                    ))
                    .with_detail("name", name)
                    .with_detail("candidates", names));
                }
                matching = by_type;
            }
            if matching.is_empty() {
                let names: Vec<&str> = installed.iter().map(|e| e.name.as_str()).collect();
                return Err(AzcmError::invalid_argument(format!(
                    "no extension '{name}' is installed{}",
                    if names.is_empty() {
                        String::new()
                    } else {
                        format!("; installed: {}", names.join(", "))
                    }
                ))
                .with_detail("name", name)
                .with_detail("installed", names));
            }
            Ok(matching)
        }
        None => Ok(installed.iter().collect()),
    }
}

/// The handler's uninstall command from HandlerManifest.json.
pub fn uninstall_command(ext: &Extension) -> std::result::Result<String, String> {
    let path = ext.dir.join("HandlerManifest.json");
    let text = crate::files::read_state_file(&path, crate::files::MAX_EXTENSION_FILE)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let manifest: Value = serde_json::from_slice(&text)
        .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
    let entry = match &manifest {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    entry["handlerManifest"]["uninstallCommand"]
        .as_str()
        .filter(|c| !c.trim().is_empty())
        .map(str::to_string)
        .ok_or_else(|| format!("{} names no uninstallCommand", path.display()))
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Removal {
    pub name: String,
    pub version: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uninstall: Option<CommandOutcome>,
    /// Why the uninstall command could not run, or how it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uninstall_error: Option<String>,
    pub removed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Runs the uninstall command (bounded by `timeout`), then deletes the handler folder whatever
/// the command did — a broken extension is exactly what this is for — and says what happened.
pub fn remove(extensions_dir: &Path, ext: &Extension, timeout: Duration) -> Removal {
    let mut removal = Removal {
        name: ext.name.clone(),
        version: ext.version.clone(),
        path: ext.path.clone(),
        uninstall: None,
        uninstall_error: None,
        removed: false,
        error: None,
    };
    match uninstall_command(ext) {
        Ok(command) => match platform::run_handler_command(&ext.dir, &command, timeout) {
            Ok(outcome) => {
                if outcome.timed_out {
                    removal.uninstall_error = Some(format!(
                        "the uninstall command did not finish within {} s and was stopped",
                        timeout.as_secs()
                    ));
                } else if outcome.exit_code != Some(0) {
                    removal.uninstall_error = Some(format!(
                        "the uninstall command failed (exit code {})",
                        outcome
                            .exit_code
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "none".into())
                    ));
                }
                removal.uninstall = Some(outcome);
            }
            Err(e) => {
                removal.uninstall_error = Some(format!("cannot run the uninstall command: {e}"))
            }
        },
        Err(why) => removal.uninstall_error = Some(why),
    }
    let aside = extensions_dir.join(format!(
        "{ASIDE_PREFIX}{}-{}-{}-{:08x}",
        ext.name,
        ext.version,
        std::process::id(),
        rand::random::<u32>()
    ));
    match std::fs::rename(&ext.dir, &aside) {
        Ok(()) => match std::fs::remove_dir_all(&aside) {
            Ok(()) => removal.removed = true,
            // It is no extension any more; the next list or remove deletes the rest.
            Err(e) => {
                removal.removed = true;
                removal.error = Some(format!(
                    "{} was set aside but not all of it could be deleted yet ({e}); the next `azcm extension list` finishes it",
                    aside.display()
                ));
            }
        },
        Err(e) => removal.error = Some(format!("cannot delete {}: {e}", ext.dir.display())),
    }
    // Windows: the version folder's parent goes too once empty.
    if platform::EXTENSION_LAYOUT == ExtensionLayout::NameThenVersion {
        if let Some(parent) = ext.dir.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
    removal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert!(is_version("1.33.0.1"));
        assert!(!is_version("1.x"));
        assert!(!is_version(""));
        assert_eq!(
            split_name("Microsoft.Azure.Monitor.AzureMonitorLinuxAgent"),
            (
                "Microsoft.Azure.Monitor".into(),
                "AzureMonitorLinuxAgent".into()
            )
        );
    }
}
