//! Durable, atomic file replacement and the lock around read-modify-write.
//! Every state file azcm writes goes through [`write_atomic`].

use crate::platform::{self, StateDir};
use std::fs::{File, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Replaces `path` with `bytes`: temp file in the same folder (private from creation),
/// write, fsync, rename over the target, fsync the folder. Readers see the old or the new
/// file, never a partial one; a crash leaves at most a stray temp file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let (dir, name) = open_parent(path, true)?;
    let (tmp, mut file) = create_temp(&dir, &name)?;
    let result = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        dir.rename(&tmp, &name)?;
        dir.sync()
    })();
    if result.is_err() {
        let _ = dir.remove(&tmp);
    } else {
        remove_stray_temps(&dir, &name);
    }
    result
}

/// The state folder holding `path`, opened and checked once (created privately when
/// `create`), and the file's name in it: every later step works through that folder handle,
/// so swapping the folder for a link mid-way redirects nothing.
pub fn open_parent(path: &Path, create: bool) -> io::Result<(StateDir, String)> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent folder"))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the file name is not text"))?;
    Ok((StateDir::open(dir, create)?, name.to_string()))
}

/// Temp files of writes whose process was killed (`.<name>.<pid>.<random>.tmp` of a pid that
/// no longer runs): removed by the next write of the same file.
fn remove_stray_temps(dir: &StateDir, name: &str) {
    let Ok(names) = dir.file_names() else {
        return;
    };
    let prefix = format!(".{name}.");
    for file_name in names {
        let Some(rest) = file_name
            .strip_prefix(&prefix)
            .and_then(|n| n.strip_suffix(".tmp"))
        else {
            continue;
        };
        let Some(pid) = rest
            .split_once('.')
            .and_then(|(p, _)| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !platform::process_alive(pid) {
            let _ = dir.remove(&file_name);
        }
    }
}

fn create_temp(dir: &StateDir, name: &str) -> io::Result<(String, File)> {
    for _ in 0..16 {
        let tmp = format!(
            ".{name}.{}.{:08x}.tmp",
            std::process::id(),
            rand::random::<u32>()
        );
        match dir.create_new(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a unique temporary file",
    ))
}

/// An exclusive advisory lock on a lock file, held for the lifetime of the value.
/// Used around every read-modify-write of state so concurrent azcm processes never lose updates.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

/// How long a writer waits for another azcm process to finish before giving up.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a lock could not be had in time: another process holds it (the inner error of a
/// TimedOut from [`StateLock::acquire`]).
#[derive(Debug)]
pub struct LockHeld {
    pub holder: Option<u32>,
    pub path: PathBuf,
    pub waited: Duration,
}

impl std::fmt::Display for LockHeld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "another azcm")?;
        if let Some(pid) = self.holder {
            write!(f, " (process {pid})")?;
        }
        write!(
            f,
            " held {} for over {} s",
            self.path.display(),
            self.waited.as_secs()
        )
    }
}

impl std::error::Error for LockHeld {}

/// The process id the holder of a lock writes into it, read by those who wait for it.
pub fn lock_holder(file: &File) -> Option<u32> {
    use std::io::{Read, Seek};
    let mut text = String::new();
    let mut reader = file;
    reader.seek(io::SeekFrom::Start(0)).ok()?;
    reader.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

impl StateLock {
    /// Waits up to `timeout` for the lock; the holder's pid is written into the lock file so
    /// that a waiter that gives up can name it (`holder N` in the TimedOut error).
    pub fn acquire(lock_path: &Path, timeout: Duration) -> io::Result<Self> {
        let (dir, name) = open_parent(lock_path, true)?;
        let file = dir.open_lock(&name)?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                Ok(()) => {
                    use std::io::Seek;
                    let mut writer = &file;
                    // Best effort: the lock itself is what serialises, the pid only informs.
                    let _ = file.set_len(0).and_then(|()| {
                        writer.seek(io::SeekFrom::Start(0))?;
                        write!(writer, "{}", std::process::id())
                    });
                    return Ok(Self { _file: file });
                }
                Err(TryLockError::WouldBlock) if started.elapsed() < timeout => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        LockHeld {
                            holder: lock_holder(&file),
                            path: lock_path.to_path_buf(),
                            waited: timeout,
                        },
                    ));
                }
                Err(TryLockError::Error(e)) => return Err(e),
            }
        }
    }
}

/// How long connect, disconnect and genkey wait for another one to finish on this machine.
pub const CHANGE_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Held for the whole run of a command that changes the machine's onboarding state (connect,
/// disconnect, genkey): two of them at once could leave two Azure resources, or a key on disk
/// that matches neither.
#[derive(Debug)]
pub struct ChangeLock {
    _lock: StateLock,
}

impl ChangeLock {
    pub fn acquire(paths: &crate::state::AgentPaths, command: &str) -> crate::error::Result<Self> {
        use crate::error::{AzcmError, ErrorCode};
        let lock_path = paths.change_lock();
        StateLock::acquire(&lock_path, CHANGE_LOCK_TIMEOUT)
            .map(|lock| Self { _lock: lock })
            .map_err(|e| {
                let holder = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<LockHeld>())
                    .and_then(|held| held.holder);
                let mut err = AzcmError::new(
                    ErrorCode::LOCAL_CONFIG_UPDATE,
                    if e.kind() == io::ErrorKind::TimedOut {
                        format!("another azcm is changing this machine: {e}; `azcm {command}` did not start")
                    } else {
                        format!("cannot lock the agent's state for `azcm {command}` ({}): {e}", lock_path.display())
                    },
                )
                .with_detail("path", lock_path.display().to_string())
                .with_detail("reason", if e.kind() == io::ErrorKind::TimedOut { "locked" } else { "lockFailed" });
                if let Some(pid) = holder {
                    err = err.with_detail("holderPid", pid);
                }
                err.with_remediation("Wait for the other azcm connect, disconnect or genkey to finish (the message names its process), then run the command again.")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn replaces_content_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("f.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.json")]);
    }

    #[test]
    fn written_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write_atomic(&path, b"secret-ish").unwrap();
        assert!(!platform::is_exposed(&path).unwrap());
    }

    #[test]
    fn lock_times_out_while_held() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join(".lock");
        let held = StateLock::acquire(&lock, LOCK_TIMEOUT).unwrap();
        let err = StateLock::acquire(&lock, Duration::from_millis(50)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        drop(held);
        StateLock::acquire(&lock, Duration::from_millis(50)).unwrap();
    }
}
