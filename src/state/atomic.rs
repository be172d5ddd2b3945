//! Durable, atomic file replacement and the lock around read-modify-write.
//! Every state file azcm writes goes through [`write_atomic`].

use crate::platform;
use std::fs::{self, File, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Replaces `path` with `bytes`: temp file in the same folder (private from creation),
/// write, fsync, rename over the target, fsync the folder. Readers see the old or the new
/// file, never a partial one; a crash leaves at most a stray temp file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent folder"))?;
    prepare_dir(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let (tmp, mut file) = create_temp(dir, name)?;
    let result = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        platform::sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    } else {
        remove_stray_temps(dir, name);
    }
    result
}

/// The state folder, created private when missing; an existing one must be a real folder
/// (not a link) and is closed to other users' writes.
fn prepare_dir(dir: &Path) -> io::Result<()> {
    platform::create_private_dir_all(dir)?;
    platform::secure_existing_dir(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("the folder {}: {e}", dir.display())))
}

/// Temp files of writes whose process was killed (`.<name>.<pid>.<random>.tmp` of a pid that
/// no longer runs): removed by the next write of the same file.
fn remove_stray_temps(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.filter_map(|e| e.ok()) {
        let file_name = entry.file_name();
        let Some(rest) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
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
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && pid != std::process::id() && !platform::process_alive(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    for _ in 0..16 {
        let tmp = dir.join(format!(
            ".{name}.{}.{:08x}.tmp",
            std::process::id(),
            rand::random::<u32>()
        ));
        match platform::create_private_file(&tmp) {
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

impl StateLock {
    pub fn acquire(lock_path: &Path, timeout: Duration) -> io::Result<Self> {
        if let Some(dir) = lock_path.parent() {
            prepare_dir(dir)?;
        }
        let file = platform::open_lock_file(lock_path)?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(TryLockError::WouldBlock) if started.elapsed() < timeout => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "another process held {} for over {}s",
                            lock_path.display(),
                            timeout.as_secs()
                        ),
                    ))
                }
                Err(TryLockError::Error(e)) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
