//! Reading files as a process that runs as root / Administrator: every file azcm reads is a
//! regular file (a FIFO, device, socket or folder is refused without blocking), read up to a
//! cap for its kind (docs/limits.md), and — inside the agent's folders — never through a link.
//! Writing goes through `state::write_atomic` and the private work folders of `platform`.

use crate::platform::{self, Links};
use std::io::{self, Read};
use std::path::Path;

/// A `--config` flag file.
pub const MAX_FLAG_FILE: u64 = 1 << 20;
/// A cloud definition file (AZCM_CLOUD_FILE).
pub const MAX_CLOUD_FILE: u64 = 4 << 20;
/// Extra trusted roots (AZCM_EXTRA_CA_CERTS).
pub const MAX_CA_FILE: u64 = 4 << 20;
/// A service principal's certificate (PEM or PFX).
pub const MAX_CERTIFICATE: u64 = 1 << 20;
/// agentconfig.json, localconfig.json.
pub const MAX_STATE_FILE: u64 = 4 << 20;
/// An extension's status or manifest file.
pub const MAX_EXTENSION_FILE: u64 = 1 << 20;
/// A secret or access token read from standard input.
pub const MAX_SECRET: u64 = 64 << 10;

/// `4 MiB`, `64 KiB`: caps as people read them.
pub fn size_text(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

fn too_large(max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "it is larger than {}, the most azcm reads from such a file",
            size_text(max)
        ),
    )
}

/// Reads at most `max` bytes from `reader`; more is an error, never a growing buffer.
pub fn read_bounded(reader: impl Read, max: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(bytes)
}

/// An opened file's bytes, up to its kind's cap (checked on its size first, then while read).
fn read_opened(file: std::fs::File, max: u64) -> io::Result<Vec<u8>> {
    if file.metadata()?.len() > max {
        return Err(too_large(max));
    }
    read_bounded(file, max)
}

/// A file the admin named (a flag, an environment variable): a link there is followed.
pub fn read_input(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    read_opened(platform::open_regular(path, Links::Follow)?, max)
}

/// A file inside the agent's folders: its folder is opened and checked once (a real folder,
/// not writable by others) and the file is read through it; a link or a second name (hard
/// link) is refused, not followed.
pub fn read_state_file(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let (dir, name) = crate::state::atomic::open_parent(path, false)?;
    read_opened(dir.open_read(&name)?, max)
}

/// [`read_input`] as UTF-8 text.
pub fn read_input_text(path: &Path, max: u64) -> io::Result<String> {
    String::from_utf8(read_input(path, max)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "it is not UTF-8 text".to_string(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_kinds_are_enforced() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, vec![b'x'; 100]).unwrap();
        assert_eq!(read_input(&file, 100).unwrap().len(), 100);
        let err = read_input(&file, 99).unwrap_err();
        assert!(err.to_string().contains("larger than 99 bytes"), "{err}");
        let err = read_input(dir.path(), 99).unwrap_err();
        assert!(err.to_string().contains("a folder"), "{err}");
        assert_eq!(size_text(4 << 20), "4 MiB");
        assert_eq!(size_text(64 << 10), "64 KiB");
    }

    #[test]
    fn a_bounded_read_stops_an_endless_stream() {
        let endless = std::io::repeat(b'a');
        let err = read_bounded(endless, 1000).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
