//! `logs`: everything a support engineer asks for, in one zip. Sources come from the platform's
//! layout (re-rooted with AZCM_ROOT); text is redacted while it streams; entries are compressed
//! on every core into single-entry temporary zips and stitched into the archive with zip's raw
//! copy, so memory stays bounded; the archive appears at its path only when complete.

pub mod redact;

use crate::error::{AzcmError, ErrorCode, Result};
use crate::state::AgentPaths;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

/// One file to archive: where it comes from and its name in the zip.
#[derive(Debug, Clone)]
pub struct LogSource {
    pub name: String,
    pub path: PathBuf,
    pub component: &'static str,
    /// The real path of the folder it was found in: the opened file must be inside it, so a
    /// folder on its path swapped for a link cannot pull in an outside file.
    pub root: PathBuf,
}

/// Something made for the archive (show/check results).
#[derive(Debug, Clone)]
pub struct Generated {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedSource {
    pub source: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestFile {
    pub name: String,
    pub source: String,
    pub component: String,
    /// Bytes stored (after redaction and decompression).
    pub size: u64,
    pub source_size: u64,
    pub mtime: String,
    pub sha256: String,
    pub redactions: usize,
    pub decompressed: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    pub created_at: String,
    pub computer_name: String,
    pub full: bool,
    pub redacted: bool,
    pub max_file_size: Option<u64>,
    pub files: Vec<ManifestFile>,
    pub skipped: Vec<SkippedSource>,
}

pub struct ArchiveOptions {
    pub full: bool,
    pub redact: bool,
    pub max_file_size: Option<u64>,
    pub workers: usize,
}

// ---------- collection ----------

/// Folders deeper than this are not entered (a backstop where links look like folders).
const MAX_DEPTH: usize = 16;

/// Whether a source folder may be walked: it exists and is a folder itself, not a link to one.
fn source_folder(dir: &Path, skipped: &mut Vec<SkippedSource>) -> bool {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => {
            skipped.push(SkippedSource {
                source: dir.display().to_string(),
                reason: "a symbolic link (not followed): the folder's files are not collected"
                    .into(),
            });
            false
        }
        Ok(m) if !m.is_dir() => {
            skipped.push(SkippedSource {
                source: dir.display().to_string(),
                reason: "not a folder".into(),
            });
            false
        }
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            skipped.push(SkippedSource {
                source: dir.display().to_string(),
                reason: format!("unreadable folder: {e}"),
            });
            false
        }
    }
}

/// Files under `dir` (recursively if asked); symbolic links are not followed, and no folder is
/// entered twice. A `dir` that is itself a link is not walked.
fn walk(dir: &Path, recursive: bool, skipped: &mut Vec<SkippedSource>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if !source_folder(dir, skipped) {
        return files;
    }
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        if let Ok(real) = std::fs::canonicalize(&d) {
            if !seen.insert(real) {
                skipped.push(SkippedSource {
                    source: d.display().to_string(),
                    reason: "a folder already collected (a link loop?)".into(),
                });
                continue;
            }
        }
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                skipped.push(SkippedSource {
                    source: d.display().to_string(),
                    reason: format!("unreadable folder: {e}"),
                });
                continue;
            }
        };
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        names.sort();
        for path in names {
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => skipped.push(SkippedSource {
                    source: path.display().to_string(),
                    reason: "symbolic link (not followed)".into(),
                }),
                Ok(m) if m.is_dir() => {
                    if recursive && depth < MAX_DEPTH {
                        stack.push((path, depth + 1));
                    } else if recursive {
                        skipped.push(SkippedSource {
                            source: path.display().to_string(),
                            reason: format!("deeper than {MAX_DEPTH} folders"),
                        });
                    }
                }
                Ok(m) if m.is_file() => files.push(path),
                Ok(m) => skipped.push(SkippedSource {
                    source: path.display().to_string(),
                    reason: format!(
                        "{}, not a regular file",
                        crate::platform::describe_file_type(m.file_type())
                    ),
                }),
                Err(e) => skipped.push(SkippedSource {
                    source: path.display().to_string(),
                    reason: format!("unreadable: {e}"),
                }),
            }
        }
    }
    files
}

/// The log a rotated file belongs to: `himds.log.2.gz` → `himds`, `gc_agent-3.log` → `gc_agent`.
fn log_family(path: &Path) -> (PathBuf, String) {
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_ascii_lowercase();
    let stem = name.split('.').next().unwrap_or("").to_string();
    let stem = stem
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end_matches(['-', '_'])
        .to_string();
    (
        path.parent().map(Path::to_path_buf).unwrap_or_default(),
        stem,
    )
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// By default the newest file of each log family; everything with `full`.
fn newest_of_each(files: Vec<PathBuf>, full: bool) -> Vec<PathBuf> {
    if full {
        return files;
    }
    let mut best: std::collections::BTreeMap<(PathBuf, String), (SystemTime, PathBuf)> =
        Default::default();
    for f in files {
        let key = log_family(&f);
        let t = mtime(&f);
        match best.get(&key) {
            Some((bt, _)) if *bt >= t => {}
            _ => {
                best.insert(key, (t, f));
            }
        }
    }
    best.into_values().map(|(_, f)| f).collect()
}

fn relative_name(prefix: &str, base: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(base).unwrap_or(file);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("{prefix}/{}", parts.join("/"))
}

/// Every source of the platform's layout: agent logs and configuration, guest configuration
/// and extension-manager logs, per-extension logs and status files, the VM agent's logs.
pub fn collect(paths: &AgentPaths, full: bool) -> (Vec<LogSource>, Vec<SkippedSource>) {
    let layout = &paths.layout;
    let mut skipped = Vec::new();
    let mut sources = Vec::new();
    let mut add = |component: &'static str, prefix: &str, base: &Path, files: Vec<PathBuf>| {
        let Ok(root) = std::fs::canonicalize(base) else {
            return;
        };
        for f in files {
            sources.push(LogSource {
                name: relative_name(prefix, base, &f),
                path: f,
                component,
                root: root.clone(),
            });
        }
    };
    let agent_logs = walk(&layout.log_dir, false, &mut skipped);
    add(
        "agent",
        "agent/log",
        &layout.log_dir,
        newest_of_each(agent_logs, full),
    );
    // Whatever is there (a planted link too) is a source: reading it decides, and says why not.
    let present = |p: &Path| std::fs::symlink_metadata(p).is_ok();
    let configs: Vec<PathBuf> = [paths.agent_config(), paths.local_config()]
        .into_iter()
        .filter(|p| present(p))
        .collect();
    add("config", "agent/config", &layout.config_dir, configs);
    let gc = walk(&layout.guest_config_dir, true, &mut skipped)
        .into_iter()
        .filter(|f| {
            let n = f.to_string_lossy().to_ascii_lowercase();
            n.contains("log") || n.ends_with(".json") || n.ends_with(".txt")
        })
        .collect();
    add(
        "guestConfiguration",
        "guestconfig",
        &layout.guest_config_dir,
        newest_of_each(gc, full),
    );
    let ext_logs = walk(&layout.extension_logs_dir, true, &mut skipped);
    add(
        "extensionLogs",
        "extensions/logs",
        &layout.extension_logs_dir,
        newest_of_each(ext_logs, full),
    );
    let handler_files: Vec<PathBuf> = walk(&layout.extensions_dir, true, &mut skipped)
        .into_iter()
        .filter(|f| {
            let n = f
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_ascii_lowercase();
            let parent = f
                .parent()
                .and_then(|p| p.file_name())
                .unwrap_or_default()
                .to_string_lossy()
                .to_ascii_lowercase();
            n.ends_with(".status")
                || n == "handlermanifest.json"
                || n == "handlerenvironment.json"
                || (parent == "runtimesettings" && n.ends_with(".settings"))
        })
        .collect();
    add(
        "extensionStatus",
        "extensions/handlers",
        &layout.extensions_dir,
        newest_of_each(handler_files, full),
    );
    // Windows keeps the VM agent's logs in their own tree; Linux only waagent.log* in /var/log.
    let vm_agent: Vec<PathBuf> = walk(
        &layout.vm_agent_logs_dir,
        layout.vm_agent_log_prefix.is_empty(),
        &mut Vec::new(),
    )
    .into_iter()
    .filter(|f| {
        f.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .starts_with(layout.vm_agent_log_prefix)
    })
    .collect();
    add(
        "vmAgent",
        "vmagent",
        &layout.vm_agent_logs_dir,
        newest_of_each(vm_agent, full),
    );
    if let Some(config) = layout.vm_agent_config.as_ref().filter(|p| present(p)) {
        let folder = config.parent().unwrap_or(config);
        add("vmAgent", "vmagent", folder, vec![config.clone()]);
    }
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    (sources, skipped)
}

// ---------- archiving ----------

fn zip_time(t: SystemTime) -> zip::DateTime {
    let text = humantime::format_rfc3339_seconds(t).to_string();
    let n =
        |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<u16>().ok()).unwrap_or(0);
    zip::DateTime::from_date_and_time(
        n(0..4),
        n(5..7) as u8,
        n(8..10) as u8,
        n(11..13) as u8,
        n(14..16) as u8,
        n(17..19) as u8,
    )
    .unwrap_or_default()
}

fn file_options(t: SystemTime, large: bool) -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(zip_time(t))
        .large_file(large)
}

/// Counts and hashes what goes into the archive.
struct Tally<W: Write> {
    inner: W,
    hash: Sha256,
    size: u64,
}

impl<W: Write> Write for Tally<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

const CHUNK: usize = 64 * 1024;
/// The most a gzipped log may decompress to (or `--max-file-size`, when smaller): a 4 MiB
/// gzip bomb once became 4 GiB in 25 s before it was passed over.
pub const MAX_DECOMPRESSED: u64 = 1 << 30;

/// A decompressing reader that fails once more than `left` bytes come out of it.
struct DecompressedCap<R> {
    inner: R,
    cap: u64,
    left: u64,
}

impl<R: Read> Read for DecompressedCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "it decompresses to more than {}, the most azcm unpacks from one file",
                    crate::files::size_text(self.cap)
                ),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
/// Lines longer than this are passed on in pieces (a file without line breaks stays bounded).
const MAX_LINE: usize = 1024 * 1024;

/// UTF-16 text (after its byte order mark) as UTF-8, streamed: unpaired surrogates and an odd
/// last byte become U+FFFD, as any decoder would show them.
struct Utf16ToUtf8<R> {
    inner: R,
    big_endian: bool,
    /// UTF-8 made but not yet read.
    ready: Vec<u8>,
    at: usize,
    /// A byte of a unit whose other byte is in the next read.
    odd: Option<u8>,
    /// A high surrogate waiting for its low one.
    high: Option<u16>,
    done: bool,
}

impl<R: Read> Utf16ToUtf8<R> {
    fn new(inner: R, big_endian: bool) -> Self {
        Self {
            inner,
            big_endian,
            ready: Vec::new(),
            at: 0,
            odd: None,
            high: None,
            done: false,
        }
    }

    fn push_char(&mut self, c: char) {
        let mut utf8 = [0u8; 4];
        self.ready
            .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }

    fn push_unit(&mut self, unit: u16) {
        match (self.high.take(), unit) {
            (Some(high), 0xDC00..=0xDFFF) => {
                let c = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                self.push_char(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
            (lone, _) => {
                if lone.is_some() {
                    self.push_char('\u{FFFD}');
                }
                match unit {
                    0xD800..=0xDBFF => self.high = Some(unit),
                    0xDC00..=0xDFFF => self.push_char('\u{FFFD}'),
                    _ => self.push_char(char::from_u32(u32::from(unit)).unwrap_or('\u{FFFD}')),
                }
            }
        }
    }

    fn fill(&mut self) -> std::io::Result<()> {
        self.ready.clear();
        self.at = 0;
        let mut raw = [0u8; 8192];
        while self.ready.is_empty() && !self.done {
            let n = match self.inner.read(&mut raw) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.done = true;
                if self.high.take().is_some() || self.odd.take().is_some() {
                    self.push_char('\u{FFFD}');
                }
                break;
            }
            let mut bytes = &raw[..n];
            if let Some(first) = self.odd.take() {
                let pair = [first, bytes[0]];
                self.push_unit(self.unit(pair));
                bytes = &bytes[1..];
            }
            let mut pairs = bytes.chunks_exact(2);
            for pair in pairs.by_ref() {
                self.push_unit(self.unit([pair[0], pair[1]]));
            }
            self.odd = pairs.remainder().first().copied();
        }
        Ok(())
    }

    fn unit(&self, pair: [u8; 2]) -> u16 {
        if self.big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    }
}

impl<R: Read> Read for Utf16ToUtf8<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.ready.len() {
            self.fill()?;
        }
        let n = buf.len().min(self.ready.len() - self.at);
        buf[..n].copy_from_slice(&self.ready[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Writes the complete lines of `region` to `out`, redacting the lines the prefilter flags.
fn redact_region(region: &[u8], out: &mut impl Write) -> std::io::Result<usize> {
    let mut count = 0;
    let mut cursor = 0;
    for hit in redact::prefilter().find_iter(region) {
        if hit.start() < cursor {
            continue;
        }
        let line_start = region[..hit.start()]
            .iter()
            .rposition(|b| *b == b'\n')
            .map(|i| i + 1)
            .unwrap_or(0)
            .max(cursor);
        let line_end = region[hit.start()..]
            .iter()
            .position(|b| *b == b'\n')
            .map(|i| hit.start() + i + 1)
            .unwrap_or(region.len());
        out.write_all(&region[cursor..line_start])?;
        let (clean, c) = redact::redact_line(&region[line_start..line_end]);
        count += c;
        out.write_all(&clean)?;
        cursor = line_end;
    }
    out.write_all(&region[cursor..])?;
    Ok(count)
}

/// Copies `reader` to `out`, redacting line by line unless redaction is off. Any bytes are
/// redacted: a log with NUL bytes (a file cut short by an unclean shutdown) or in another
/// encoding is still scanned, never passed through whole. Returns the number of redactions.
fn copy_redacted(
    mut reader: impl Read,
    out: &mut impl Write,
    redact: bool,
) -> std::io::Result<usize> {
    // A UTF-16 log (byte order mark first, as Windows tools write them) is redacted as the text
    // it is: turned into UTF-8 first, since the patterns are ASCII and would never match
    // characters with a NUL byte between them.
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match reader.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let mut reader: Box<dyn Read + '_> = match (redact, got, head) {
        (true, 2, [0xFF, 0xFE]) => Box::new(Utf16ToUtf8::new(reader, false)),
        (true, 2, [0xFE, 0xFF]) => Box::new(Utf16ToUtf8::new(reader, true)),
        _ => Box::new(std::io::Read::chain(&head[..got], reader)),
    };
    let mut buf = vec![0u8; CHUNK];
    // The unfinished last line of the previous chunk.
    let mut pending: Vec<u8> = Vec::new();
    let mut count = 0;
    loop {
        if crate::platform::interrupted() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "cancelled with Ctrl+C",
            ));
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..n];
        if !redact {
            out.write_all(chunk)?;
            continue;
        }
        match chunk.iter().rposition(|b| *b == b'\n') {
            Some(last) => {
                if pending.is_empty() {
                    count += redact_region(&chunk[..=last], out)?;
                } else {
                    pending.extend_from_slice(&chunk[..=last]);
                    count += redact_region(&pending, out)?;
                    pending.clear();
                }
                pending.extend_from_slice(&chunk[last + 1..]);
            }
            None => pending.extend_from_slice(chunk),
        }
        if pending.len() > MAX_LINE {
            count += redact_region(&pending, out)?;
            pending.clear();
        }
    }
    if !pending.is_empty() {
        count += redact_region(&pending, out)?;
    }
    Ok(count)
}

enum Prepared {
    Entry { temp: PathBuf, file: ManifestFile },
    Skipped(SkippedSource),
}

/// One source into a single-entry zip in `work`: read once (up to the size it had when opened,
/// so a growing file is captured consistently), decompressed if gzipped, redacted, hashed.
fn prepare(source: &LogSource, index: usize, work: &Path, options: &ArchiveOptions) -> Prepared {
    let skip = |reason: String| {
        Prepared::Skipped(SkippedSource {
            source: source.path.display().to_string(),
            reason,
        })
    };
    // Opened without following a link and without blocking; only a regular file is read.
    let file = match crate::platform::open_regular(&source.path, crate::platform::Links::Refuse) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return skip("vanished before it could be read".into())
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => return skip(e.to_string()),
        Err(e) => return skip(format!("unreadable: {e}")),
    };
    match crate::platform::opened_path(&file) {
        Ok(real) if real.starts_with(&source.root) => {}
        Ok(real) => {
            return skip(format!(
                "it resolves to {}, outside {} (a link on its path): not collected",
                real.display(),
                source.root.display()
            ))
        }
        Err(e) => return skip(format!("cannot tell where it really is: {e}")),
    }
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return skip(format!("unreadable: {e}")),
    };
    let source_size = meta.len();
    if let Some(max) = options.max_file_size {
        if source_size > max {
            return skip(format!(
                "too large: {source_size} bytes, over --max-file-size {max}"
            ));
        }
    }
    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let gzipped = source.name.ends_with(".gz");
    let name = if gzipped {
        source.name.trim_end_matches(".gz").to_string()
    } else {
        source.name.clone()
    };
    let temp = work.join(format!("{index}.zip"));
    let result = (|| -> std::io::Result<(u64, String, usize)> {
        let out = crate::platform::create_private_file(&temp)?;
        let mut zip = zip::ZipWriter::new(BufWriter::with_capacity(CHUNK, out));
        // What is written is at most the source (plus what masks add) or, decompressed, at
        // most MAX_DECOMPRESSED: both known before writing, so zip64 is chosen only when an
        // entry can really pass 4 GiB.
        let large = !gzipped && source_size > (1 << 30);
        let decompressed_cap = options
            .max_file_size
            .unwrap_or(MAX_DECOMPRESSED)
            .min(MAX_DECOMPRESSED);
        zip.start_file(name.clone(), file_options(modified, large))
            .map_err(std::io::Error::other)?;
        let mut tally = Tally {
            inner: &mut zip,
            hash: Sha256::new(),
            size: 0,
        };
        let limited = file.take(source_size);
        let count = if gzipped {
            copy_redacted(
                DecompressedCap {
                    inner: flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(
                        CHUNK, limited,
                    )),
                    cap: decompressed_cap,
                    left: decompressed_cap,
                },
                &mut tally,
                options.redact,
            )?
        } else {
            copy_redacted(limited, &mut tally, options.redact)?
        };
        let (size, hash) = (tally.size, tally.hash.finalize());
        let mut out = zip.finish().map_err(std::io::Error::other)?;
        out.flush()?;
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        Ok((size, hex, count))
    })();
    match result {
        Ok((size, sha256, redactions)) => Prepared::Entry {
            temp,
            file: ManifestFile {
                name,
                source: source.path.display().to_string(),
                component: source.component.to_string(),
                size,
                source_size,
                mtime: humantime::format_rfc3339_seconds(modified).to_string(),
                sha256,
                redactions,
                decompressed: gzipped,
            },
        },
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            skip(format!("could not be read completely: {e}"))
        }
    }
}

const WORK_PREFIX: &str = ".azcm-logs-";

/// A private folder (0700 / SYSTEM, Administrators and owner) beside the archive, where every
/// work file is created new: nobody else can see, plant or replace anything in it. It is
/// removed however the run ends; a killed run's folder is removed by the next run.
pub struct WorkDir(PathBuf);

impl WorkDir {
    /// A new work folder in `dir`, after removing those of azcm runs that no longer run.
    pub fn create_in(dir: &Path) -> std::io::Result<Self> {
        remove_abandoned(dir);
        crate::platform::create_private_temp_dir(dir, WORK_PREFIX).map(Self)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Work folders of killed runs: `.azcm-logs-<pid>-<random>` of a process that no longer runs,
/// owned by this user and private (so nothing in them was put there by anyone else).
fn remove_abandoned(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(WORK_PREFIX))
            .and_then(|n| n.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let path = entry.path();
        if pid != std::process::id()
            && !crate::platform::process_alive(pid)
            && crate::platform::is_own_private_dir(&path)
        {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Where the archive may go: nothing there yet, or a regular file (replaced). A link, folder,
/// FIFO, device or socket is refused: the archive never writes through or over one.
pub fn check_target(target: &Path) -> std::result::Result<(), String> {
    match std::fs::symlink_metadata(target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot check {}: {e}", target.display())),
        Ok(m) if m.is_file() => Ok(()),
        Ok(m) => Err(format!(
            "{} is {}, not a regular file: the archive replaces only a regular file",
            target.display(),
            crate::platform::describe_file_type(m.file_type())
        )),
    }
}

pub struct ArchiveReport {
    pub manifest: Manifest,
    pub archive_size: u64,
}

/// Writes the archive to `target`: built in `work` (a [`WorkDir`] in the target's folder), then
/// renamed into place.
#[allow(clippy::too_many_arguments)]
pub fn write_archive(
    work: &WorkDir,
    target: &Path,
    sources: Vec<LogSource>,
    skipped: Vec<SkippedSource>,
    generated: Vec<Generated>,
    options: &ArchiveOptions,
    computer_name: &str,
    progress: &dyn Fn(u64, u64, &str),
) -> Result<ArchiveReport> {
    let fail = |what: String| {
        AzcmError::new(ErrorCode::LOGS_FAILED, what)
            .with_detail("path", target.display().to_string())
    };
    check_target(target).map_err(fail)?;
    let prepared = prepare_all(&sources, work, options, progress);
    if crate::platform::interrupted() {
        // The work folder goes with its WorkDir; no archive appears at the target.
        return Err(AzcmError::cancelled("collecting logs"));
    }
    let partial = work.0.join("archive.zip");
    let contents = Contents {
        prepared,
        generated,
        skipped,
        options,
        computer_name,
    };
    match write_zip(&partial, target, contents) {
        Ok((manifest, archive_size)) => Ok(ArchiveReport {
            manifest,
            archive_size,
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(fail(format!("cannot write the log archive: {e}")))
        }
    }
}

/// Reads, redacts and compresses every source on `options.workers` threads, each into a zip of
/// its own in the work folder, in the sources' order.
fn prepare_all(
    sources: &[LogSource],
    work: &WorkDir,
    options: &ArchiveOptions,
    progress: &dyn Fn(u64, u64, &str),
) -> Vec<Prepared> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Prepared>>> =
        Mutex::new((0..sources.len()).map(|_| None).collect());
    let total = sources.len();
    let (tell, heard) = std::sync::mpsc::channel::<usize>();
    std::thread::scope(|scope| {
        for _ in 0..options.workers.max(1).min(total.max(1)) {
            let tell = tell.clone();
            let (next, results) = (&next, &results);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total || crate::platform::interrupted() {
                    break;
                }
                let prepared = prepare_guarded(&sources[i], i, work, options);
                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(prepared);
                let _ = tell.send(i);
            });
        }
        drop(tell);
        // Progress is reported from this thread (the reporter is not shared across threads),
        // in bytes packed of the total, as the files stood when collection began.
        let sizes: Vec<u64> = sources
            .iter()
            .map(|s| {
                std::fs::symlink_metadata(&s.path)
                    .map(|m| m.len())
                    .unwrap_or(0)
            })
            .collect();
        let total_bytes: u64 = sizes.iter().sum();
        let mut done_bytes = 0u64;
        for i in heard.iter() {
            done_bytes += sizes[i];
            progress(done_bytes, total_bytes.max(1), &sources[i].name);
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// A bug reading one file must not lose the archive: it becomes a skipped entry.
fn prepare_guarded(
    source: &LogSource,
    index: usize,
    work: &WorkDir,
    options: &ArchiveOptions,
) -> Prepared {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        prepare(source, index, &work.0, options)
    }))
    .unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Prepared::Skipped(SkippedSource {
            source: source.path.display().to_string(),
            reason: format!("internal error while reading: {why}"),
        })
    })
}

/// What goes into the archive besides the manifest that describes it.
struct Contents<'a> {
    prepared: Vec<Prepared>,
    generated: Vec<Generated>,
    skipped: Vec<SkippedSource>,
    options: &'a ArchiveOptions,
    computer_name: &'a str,
}

/// One pass: the prepared entries, azcm's own results, then the manifest; written to `partial`,
/// synced, and renamed to `target`.
fn write_zip(
    partial: &Path,
    target: &Path,
    contents: Contents<'_>,
) -> std::result::Result<(Manifest, u64), String> {
    let Contents {
        prepared,
        generated,
        mut skipped,
        options,
        computer_name,
    } = contents;
    let out = crate::platform::create_private_file(partial).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipWriter::new(BufWriter::with_capacity(CHUNK, out));
    let mut files = Vec::new();
    for prepared in prepared {
        match prepared {
            Prepared::Skipped(s) => skipped.push(s),
            Prepared::Entry { temp, file } => {
                let one = std::fs::File::open(&temp).map_err(|e| e.to_string())?;
                let mut archive = zip::ZipArchive::new(std::io::BufReader::new(one))
                    .map_err(|e| e.to_string())?;
                let entry = archive.by_index_raw(0).map_err(|e| e.to_string())?;
                zip.raw_copy_file(entry).map_err(|e| e.to_string())?;
                drop(archive);
                let _ = std::fs::remove_file(&temp);
                files.push(file);
            }
        }
    }
    let now = SystemTime::now();
    for g in &generated {
        files.push(add_generated(&mut zip, g, options.redact, now)?);
    }
    let manifest = Manifest {
        schema_version: 1,
        created_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        computer_name: computer_name.to_string(),
        full: options.full,
        redacted: options.redact,
        max_file_size: options.max_file_size,
        files,
        skipped,
    };
    zip.start_file("manifest.json", file_options(SystemTime::now(), false))
        .map_err(|e| e.to_string())?;
    zip.write_all(&serde_json::to_vec_pretty(&manifest).expect("manifests serialise"))
        .map_err(|e| e.to_string())?;
    let file = zip
        .finish()
        .map_err(|e| e.to_string())?
        .into_inner()
        .map_err(|e| e.to_string())?;
    file.sync_all().map_err(|e| e.to_string())?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    drop(file);
    // Checked again just before: a rename replaces whatever name is there, never writes
    // through it, but a folder, FIFO or device at the target is still refused.
    check_target(target)?;
    std::fs::rename(partial, target).map_err(|e| e.to_string())?;
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let _ = crate::platform::sync_dir(dir);
    Ok((manifest, size))
}

/// One of azcm's own results, redacted like the rest, and its manifest entry.
fn add_generated<W: Write + std::io::Seek>(
    zip: &mut zip::ZipWriter<W>,
    g: &Generated,
    redact: bool,
    now: SystemTime,
) -> std::result::Result<ManifestFile, String> {
    zip.start_file(g.name.clone(), file_options(now, false))
        .map_err(|e| e.to_string())?;
    let mut tally = Tally {
        inner: zip,
        hash: Sha256::new(),
        size: 0,
    };
    let redactions = copy_redacted(&g.bytes[..], &mut tally, redact).map_err(|e| e.to_string())?;
    let (size, hash) = (tally.size, tally.hash.finalize());
    Ok(ManifestFile {
        name: g.name.clone(),
        source: "azcm".into(),
        component: "azcm".into(),
        size,
        source_size: g.bytes.len() as u64,
        mtime: humantime::format_rfc3339_seconds(now).to_string(),
        sha256: hash.iter().map(|b| format!("{b:02x}")).collect(),
        redactions,
        decompressed: false,
    })
}

#[cfg(test)]
mod archive_tests {
    use super::*;

    #[test]
    fn an_archive_is_written_with_its_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("himds.log");
        std::fs::write(&log, "a line with client_secret=CANARY1\nanother\n").unwrap();
        let sources = vec![LogSource {
            name: "agent/log/himds.log".into(),
            path: log,
            component: "agent",
            root: std::fs::canonicalize(dir.path()).unwrap(),
        }];
        let target = dir.path().join("out.zip");
        let work = WorkDir::create_in(dir.path()).unwrap();
        let options = ArchiveOptions {
            full: false,
            redact: true,
            max_file_size: None,
            workers: 2,
        };
        let report = write_archive(
            &work,
            &target,
            sources,
            Vec::new(),
            Vec::new(),
            &options,
            "box",
            &|_, _, _| {},
        )
        .unwrap();
        assert_eq!(report.manifest.files.len(), 1);
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&target).unwrap()).unwrap();
        let mut text = String::new();
        archive
            .by_name("agent/log/himds.log")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert!(!text.contains("CANARY1"), "{text}");
        assert!(archive.by_name("manifest.json").is_ok());
        drop(work);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "only the log and the archive: {left:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_logs_belong_to_their_family() {
        for (name, family) in [
            ("himds.log", "himds"),
            ("himds.log.1", "himds"),
            ("himds.log.2.gz", "himds"),
            ("gc_agent-3.log", "gc_agent"),
            ("azcmagent.log", "azcmagent"),
        ] {
            assert_eq!(log_family(Path::new(name)).1, family, "{name}");
        }
    }

    #[test]
    fn utf16_logs_are_redacted_as_text() {
        for big_endian in [false, true] {
            let text = "héllo 😀\r\nclient_secret=CANARYutf16 next\r\n";
            let mut bytes = if big_endian {
                vec![0xFE, 0xFF]
            } else {
                vec![0xFF, 0xFE]
            };
            for unit in text.encode_utf16() {
                bytes.extend_from_slice(&if big_endian {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                });
            }
            // Read one byte at a time: units and surrogate pairs split across reads.
            struct Trickle<'a>(&'a [u8]);
            impl Read for Trickle<'_> {
                fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                    match self.0.split_first() {
                        Some((b, rest)) if !buf.is_empty() => {
                            buf[0] = *b;
                            self.0 = rest;
                            Ok(1)
                        }
                        _ => Ok(0),
                    }
                }
            }
            let mut out = Vec::new();
            assert_eq!(copy_redacted(Trickle(&bytes), &mut out, true).unwrap(), 1);
            let out = String::from_utf8(out).unwrap();
            assert!(!out.contains("CANARYutf16"), "{out}");
            assert!(
                out.starts_with("héllo 😀\r\nclient_secret=[REDACTED]"),
                "{out}"
            );
            // Not redacting: the bytes as they were.
            let mut raw = Vec::new();
            copy_redacted(&bytes[..], &mut raw, false).unwrap();
            assert_eq!(raw, bytes);
        }
        // A lone surrogate and an odd last byte are U+FFFD, never a panic.
        let mut out = Vec::new();
        copy_redacted(
            &[0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00, 0x42][..],
            &mut out,
            true,
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\u{FFFD}A\u{FFFD}");
    }

    #[test]
    fn redaction_streams_across_chunks_and_covers_binary() {
        let secret = "client_secret=CANARYchunked";
        let mut text = "x".repeat(CHUNK - 10).into_bytes();
        text.extend_from_slice(format!(" {secret}\nnext line\n").as_bytes());
        let mut out = Vec::new();
        assert_eq!(copy_redacted(&text[..], &mut out, true).unwrap(), 1);
        assert!(!String::from_utf8_lossy(&out).contains("CANARYchunked"));
        // A NUL in the first bytes (a log cut short by an unclean shutdown) once made the whole
        // file pass unredacted: it is redacted like any other.
        let mut binary = vec![0u8, 1, 2];
        binary.extend_from_slice(secret.as_bytes());
        let mut out = Vec::new();
        assert_eq!(copy_redacted(&binary[..], &mut out, true).unwrap(), 1);
        assert!(!String::from_utf8_lossy(&out).contains("CANARYchunked"));
        assert!(out.starts_with(&[0, 1, 2]));
        // With redaction off, bytes pass as they are.
        let mut out = Vec::new();
        copy_redacted(&binary[..], &mut out, false).unwrap();
        assert_eq!(out, binary);
    }
}
