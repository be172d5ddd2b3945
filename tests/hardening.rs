//! azcm runs as root: each test here is an attack a local user (or a careless admin) could
//! try, named after it, and asserts that it no longer works. Unix-only constructs (symbolic
//! links, FIFOs, device nodes, modes) are planted from the Linux side; tests/wine-skips.txt
//! says which of them the Windows tier cannot host.
// Most attacks need Unix links, FIFOs and modes; their helpers are unused in a Windows build.
#![cfg_attr(not(unix), allow(dead_code))]

mod common;
use common::{native_path, windows_binary, Azcm, Onboarding, Run};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn agent_logs(azcm: &Azcm) -> PathBuf {
    azcm.config_dir()
        .join(if windows_binary() { "../Log" } else { "log" })
}

/// A folder in the test root that is none of the agent's: what an attacker wants read or
/// overwritten.
fn outside(azcm: &Azcm) -> PathBuf {
    let dir = azcm.root().join("outside");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const CANARY: &str = "OUTSIDE-CANARY-7f3a";

fn zip_names_and_text(zip: &Path) -> (Vec<String>, String) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut names = Vec::new();
    let mut text = String::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        names.push(f.name().unwrap().to_string());
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        text.push_str(&String::from_utf8_lossy(&bytes));
    }
    (names, text)
}

fn logs_to(azcm: &Azcm, target: &Path) -> Run {
    azcm.json(&["logs", "-o", &native_path(target)])
}

fn skipped_reasons(run: &Run) -> String {
    run.doc()["result"]["skipped"].to_string()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0, "mkfifo");
}

/// A character device node like /dev/null (1, 3), made where the test can lose it.
#[cfg(unix)]
fn mknod_null(path: &Path) -> bool {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) == 0 }
}

#[cfg(unix)]
fn file_type(path: &Path) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = std::fs::symlink_metadata(path).unwrap().file_type();
    if t.is_symlink() {
        "link"
    } else if t.is_fifo() {
        "fifo"
    } else if t.is_char_device() {
        "char"
    } else if t.is_socket() {
        "socket"
    } else if t.is_dir() {
        "dir"
    } else {
        "file"
    }
}

/// A big agent log, so a `logs` run takes long enough to be watched or killed.
fn big_log(azcm: &Azcm) {
    use std::io::Write;
    let path = agent_logs(azcm).join("azcmagent.log");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..3_000_000u64 {
        writeln!(
            f,
            "2026-11-23T10:00:00Z INFO line {i} of a long log that takes a while"
        )
        .unwrap();
    }
}

// ---------- 1. logs' work files ----------

/// Before: `.azcm-logs-<pid>/N.zip` and `.<name>.partial-<pid>` at predictable names in the
/// target folder, opened following links. A user who can write there plants links at the
/// names of the next pids, and root overwrites the files they point to.
#[cfg(target_os = "linux")]
#[test]
fn planted_links_at_predictable_work_file_names_are_never_written_through() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    write(&agent_logs(&azcm).join("himds.log"), b"a log line\n");
    let shared = azcm.root().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let victim = outside(&azcm).join("victim");
    std::fs::write(&victim, CANARY).unwrap();
    let victim_dir = outside(&azcm).join("victim-dir");
    std::fs::create_dir_all(&victim_dir).unwrap();
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for pid in last + 1..last + 400 {
        symlink(&victim, shared.join(format!(".out.zip.partial-{pid}"))).unwrap();
        symlink(&victim_dir, shared.join(format!(".azcm-logs-{pid}"))).unwrap();
        symlink(&victim_dir, shared.join(format!(".azcm-system-logs-{pid}"))).unwrap();
    }
    let run = logs_to(&azcm, &shared.join("out.zip"));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), CANARY);
    assert_eq!(std::fs::read_dir(&victim_dir).unwrap().count(), 0);
    assert_eq!(mode(&shared.join("out.zip")), 0o600);
    // Only the archive is new in the shared folder: no work folder or file is left.
    let new: Vec<String> = std::fs::read_dir(&shared)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".out.zip.partial-") && !n.starts_with(".azcm-"))
        .collect();
    assert_eq!(new, vec!["out.zip".to_string()]);
    let links = std::fs::read_dir(&shared)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_symlink())
        .count();
    assert_eq!(
        links,
        3 * 399,
        "the planted links are left alone, none followed"
    );
}

/// While `logs` runs, its work files are in one new folder that only its owner may enter.
#[cfg(target_os = "linux")]
#[test]
fn work_files_live_in_a_fresh_private_folder() {
    use std::os::unix::fs::MetadataExt;
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    big_log(&azcm);
    let out = azcm.root().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut child = azcm
        .command(["logs", "-o", &native_path(&out.join("a.zip"))])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut seen = None;
    while started.elapsed() < Duration::from_secs(20) && seen.is_none() {
        for e in std::fs::read_dir(&out).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".azcm-logs-") {
                let files: Vec<(String, u32)> = std::fs::read_dir(e.path())
                    .map(|d| {
                        d.flatten()
                            .filter_map(|f| {
                                let m = f.metadata().ok()?;
                                Some((f.file_name().to_string_lossy().into_owned(), m.mode()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if !files.is_empty() {
                    seen = Some((e.metadata().unwrap().mode() & 0o7777, files));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = child.wait().unwrap();
    assert!(status.success());
    let (dir_mode, files) = seen.expect("a work folder was seen while the run lasted");
    assert_eq!(dir_mode, 0o700);
    for (name, m) in files {
        assert_eq!(m & 0o7777, 0o600, "{name}");
    }
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "only the archive remains");
}

// ---------- 2. logs -o PATH ----------

/// Before: an existing device node or FIFO at the output path was replaced by the zip (it
/// replaced a machine's /dev/null). Now anything but a regular file there is refused.
#[cfg(target_os = "linux")]
#[test]
fn output_over_a_device_fifo_socket_folder_or_link_is_refused() {
    use std::os::unix::fs::symlink;
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    write(&agent_logs(&azcm).join("himds.log"), b"a log line\n");
    let out = azcm.root().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let victim = outside(&azcm).join("victim");
    std::fs::write(&victim, CANARY).unwrap();
    mkfifo(&out.join("fifo.zip"));
    symlink(&victim, out.join("link.zip")).unwrap();
    symlink(outside(&azcm), out.join("dirlink")).unwrap();
    symlink(out.join("nowhere"), out.join("dangling.zip")).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(out.join("socket.zip")).unwrap();
    let mut cases = vec![
        ("fifo.zip", "fifo", "a FIFO"),
        ("link.zip", "link", "a symbolic link"),
        ("dirlink", "link", "a symbolic link"),
        ("dangling.zip", "link", "a symbolic link"),
        ("socket.zip", "socket", "a socket"),
    ];
    if mknod_null(&out.join("null.zip")) {
        cases.push(("null.zip", "char", "a character device"));
    }
    for (name, kind, says) in cases {
        let path = out.join(name);
        let run = logs_to(&azcm, &path);
        assert_eq!(run.error_code(), "AZCM0104", "{name}: {}", run.stdout);
        let message = run.doc()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(says), "{name}: {message}");
        assert_eq!(file_type(&path), kind, "{name} is left as it was");
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), CANARY);
    // A folder (not a link to one) still takes the default name inside it.
    let run = logs_to(&azcm, &out);
    assert_eq!(run.code, 0, "{}", run.stdout);
    // An existing regular file is replaced, owner-only whatever the umask.
    let existing = out.join("existing.zip");
    std::fs::write(&existing, "old").unwrap();
    let mut cmd = azcm.command(["--json", "logs", "-o", &native_path(&existing)]);
    // SAFETY: umask is async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::umask(0);
            Ok(())
        });
    }
    assert!(cmd.output().unwrap().status.success());
    assert_eq!(mode(&existing), 0o600);
    assert!(zip::ZipArchive::new(std::fs::File::open(&existing).unwrap()).is_ok());
}

/// A killed run may leave its private work folder; the next run removes it.
#[cfg(unix)]
#[test]
fn a_killed_run_leaves_nothing_the_next_run_does_not_clean() {
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    big_log(&azcm);
    let out = azcm.root().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let target = out.join("killed.zip");
    for _ in 0..3 {
        let mut child = azcm
            .command(["logs", "-o", &native_path(&target)])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(400));
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(!target.exists());
    std::fs::remove_file(agent_logs(&azcm).join("azcmagent.log")).unwrap();
    let run = logs_to(&azcm, &out.join("next.zip"));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["next.zip".to_string()]);
}

// ---------- 3. logs collects only what is in the agent's folders ----------

/// Before: a state file that is a link, or a source folder that is itself a link, pulled
/// outside files into the zip.
#[cfg(target_os = "linux")]
#[test]
fn linked_state_files_and_linked_source_folders_are_not_collected() {
    use std::os::unix::fs::symlink;
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let secret_dir = outside(&azcm).join("secrets");
    write(&secret_dir.join("shadow.log"), CANARY.as_bytes());
    write(&secret_dir.join("status/0.status"), CANARY.as_bytes());
    let secret_file = outside(&azcm).join("shadow");
    std::fs::write(&secret_file, format!("{{\"x\": \"{CANARY}\"}}")).unwrap();
    let config = azcm.config_dir();
    std::fs::create_dir_all(&config).unwrap();
    symlink(&secret_file, config.join("localconfig.json")).unwrap();
    symlink(&secret_file, config.join("agentconfig.json")).unwrap();
    std::fs::create_dir_all(azcm.root().join("etc")).unwrap();
    symlink(&secret_file, azcm.root().join("etc/waagent.conf")).unwrap();
    symlink(&secret_dir, config.join("log")).unwrap();
    std::fs::create_dir_all(azcm.root().join("var/lib")).unwrap();
    std::fs::create_dir_all(azcm.root().join("var/log")).unwrap();
    symlink(&secret_dir, azcm.root().join("var/lib/GuestConfig")).unwrap();
    symlink(&secret_dir, azcm.root().join("var/log/azure")).unwrap();
    let target = azcm.root().join("out.zip");
    let run = logs_to(&azcm, &target);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let (names, text) = zip_names_and_text(&target);
    assert!(
        !text.contains(CANARY),
        "an outside file reached the zip: {names:?}"
    );
    let skipped = skipped_reasons(&run);
    for what in [
        "localconfig.json",
        "agentconfig.json",
        "waagent.conf",
        "/log\"",
        "GuestConfig",
        "azure",
    ] {
        assert!(skipped.contains(what), "{what} not reported: {skipped}");
    }
    assert!(skipped.contains("symbolic link"), "{skipped}");
}

/// Before: a file swapped for a link or a FIFO while `logs` ran leaked (3 in 100 runs) or
/// hung (5 in 100). A second thread now swaps a log between a regular file, a link to an
/// outside file and a FIFO, and a folder between a real one and a link, all run long.
#[cfg(target_os = "linux")]
#[test]
fn files_and_folders_swapped_during_the_run_neither_leak_nor_hang() {
    use std::os::unix::fs::symlink;
    use std::sync::atomic::{AtomicBool, Ordering};
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let secret = outside(&azcm).join("secret.log");
    std::fs::write(&secret, CANARY).unwrap();
    let secret_dir = outside(&azcm).join("dir");
    write(&secret_dir.join("extension.log"), CANARY.as_bytes());
    let logs_dir = agent_logs(&azcm);
    write(&logs_dir.join("himds.log"), b"himds\n");
    let ext = azcm.root().join("var/log/azure/Contoso.Ext");
    write(&ext.join("extension.log"), b"ours\n");
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, logs_dir, ext, secret, secret_dir) = (
            stop.clone(),
            logs_dir.clone(),
            ext.clone(),
            secret.clone(),
            secret_dir.clone(),
        );
        std::thread::spawn(move || {
            let file = logs_dir.join("swapped.log");
            let spare = ext.with_extension("real");
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let tmp = logs_dir.join(".swap");
                let _ = std::fs::remove_file(&tmp);
                match i % 3 {
                    0 => {
                        let _ = std::fs::write(&tmp, "a regular log\n");
                    }
                    1 => {
                        let _ = symlink(&secret, &tmp);
                    }
                    _ => mkfifo(&tmp),
                }
                let _ = std::fs::rename(&tmp, &file);
                // The extension's log folder: a real folder, then a link to an outside one.
                if i.is_multiple_of(2) {
                    let _ = std::fs::rename(&ext, &spare);
                    let _ = symlink(&secret_dir, &ext);
                } else {
                    let _ = std::fs::remove_file(&ext);
                    let _ = std::fs::rename(&spare, &ext);
                }
                i += 1;
                std::thread::yield_now();
            }
        })
    };
    let mut runs = 0;
    for n in 0..40 {
        let target = azcm.root().join(format!("race-{n}.zip"));
        let started = Instant::now();
        let run = logs_to(&azcm, &target);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "a run took {:?}",
            started.elapsed()
        );
        assert_eq!(run.code, 0, "{}", run.stdout);
        let (names, text) = zip_names_and_text(&target);
        assert!(!text.contains(CANARY), "run {n} leaked: {names:?}");
        std::fs::remove_file(&target).unwrap();
        runs += 1;
    }
    stop.store(true, Ordering::SeqCst);
    swapper.join().unwrap();
    assert_eq!(runs, 40);
}

// ---------- 4. state files ----------

/// Before: `.azcm.lock` was 0644 in a 0755 folder, so any user could hold it and make
/// `config set` wait 60 s for AZCM0069. Now lock and state are 0600 in a 0700 folder, and a
/// loose lock left by an older azcm is tightened by the next change.
#[cfg(target_os = "linux")]
#[test]
fn another_user_cannot_open_or_hold_the_state_lock() {
    use std::os::unix::fs::PermissionsExt;
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let config = azcm.config_dir();
    let set = azcm.json(&["config", "set", "proxy.url", "http://proxy:3128"]);
    assert_eq!(set.code, 0, "{}", set.stdout);
    assert_eq!(mode(&config), 0o700);
    assert_eq!(mode(&config.join(".azcm.lock")), 0o600);
    assert_eq!(mode(&config.join("localconfig.json")), 0o600);
    // As an older azcm left it: a world-readable lock in a world-writable folder.
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(
        config.join(".azcm.lock"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let set = azcm.json(&["config", "set", "proxy.url", "http://proxy:3129"]);
    assert_eq!(set.code, 0, "{}", set.stdout);
    assert_eq!(mode(&config.join(".azcm.lock")), 0o600);
    assert_eq!(
        mode(&config) & 0o022,
        0,
        "nobody else may plant files in it"
    );
    // An unprivileged user can neither open the lock nor (so) hold it.
    std::fs::set_permissions(azcm.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let held = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args([
            "python3",
            "-c",
            "import fcntl,sys; f=open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); print('held')",
        ])
        .arg(config.join(".azcm.lock"))
        .output();
    if let Ok(out) = held {
        if String::from_utf8_lossy(&out.stderr).contains("setpriv: ") {
            eprintln!(
                "setpriv unavailable: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        } else {
            assert!(!out.status.success(), "nobody held the lock");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Before: a lock that was a dangling link made azcm create a file outside the state root.
#[cfg(unix)]
#[test]
fn a_lock_that_is_a_dangling_link_creates_nothing_outside() {
    use std::os::unix::fs::symlink;
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let config = azcm.config_dir();
    std::fs::create_dir_all(&config).unwrap();
    let planted = outside(&azcm).join("created-by-root");
    symlink(&planted, config.join(".azcm.lock")).unwrap();
    let run = azcm.json(&["config", "set", "proxy.url", "http://proxy:3128"]);
    assert_eq!(run.error_code(), "AZCM0070", "{}", run.stdout);
    let message = run.doc()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains(".azcm.lock") && message.contains("symbolic link"),
        "{message}"
    );
    assert!(!planted.exists());
    assert!(!config.join("localconfig.json").exists());
}

/// Before: a localconfig.json (or agentconfig.json) that was a link to an outside JSON file
/// was read through, and its keys copied into state.
#[cfg(unix)]
#[test]
fn a_state_file_that_is_a_link_is_refused_not_read() {
    use std::os::unix::fs::symlink;
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let config = azcm.config_dir();
    std::fs::create_dir_all(&config).unwrap();
    let outside_json = outside(&azcm).join("planted.json");
    let planted = r#"{"localsettings": {"proxy.url": "http://attacker:8080"}, "stolen": 1}"#;
    std::fs::write(&outside_json, planted).unwrap();
    symlink(&outside_json, config.join("localconfig.json")).unwrap();
    for args in [
        vec!["config", "list"],
        vec!["config", "get", "proxy.url"],
        vec!["config", "set", "extensions.enabled", "false"],
    ] {
        let run = azcm.json(&args);
        assert_eq!(run.error_code(), "AZCM0070", "{args:?}: {}", run.stdout);
        assert!(run.stdout.contains("localconfig.json"), "{}", run.stdout);
        assert!(!run.stdout.contains("attacker"), "{}", run.stdout);
    }
    assert_eq!(std::fs::read_to_string(&outside_json).unwrap(), planted);
    std::fs::remove_file(config.join("localconfig.json")).unwrap();
    // `show` (a diagnosis that works without admin rights too) warns and shows HIMDS's view.
    let outside_config = outside(&azcm).join("agentconfig.json");
    std::fs::write(
        &outside_config,
        r#"{"ResourceId": "/subscriptions/x/resourceGroups/attacker/providers/Microsoft.HybridCompute/machines/attacker", "ResourceName": "attacker"}"#,
    )
    .unwrap();
    symlink(&outside_config, config.join("agentconfig.json")).unwrap();
    let run = azcm.json(&["show"]);
    let doc = run.doc();
    assert_eq!(doc["ok"], true, "{}", run.stdout);
    let warnings = doc["warnings"].to_string();
    assert!(
        warnings.contains("agentconfig.json") && warnings.contains("symbolic link"),
        "{warnings}"
    );
    assert!(
        !doc["result"].to_string().contains("attacker"),
        "{}",
        run.stdout
    );
    let run = azcm.json(&["disconnect", "--force-local-only"]);
    assert_eq!(run.error_code(), "AZCM0070", "{}", run.stdout);
    assert!(outside_config.exists(), "the link's target is not touched");
}

/// Temp files of writes killed between create and rename are removed by the next write; one
/// of a process that still runs is left alone.
#[test]
fn stray_temp_files_of_killed_writes_are_cleaned_by_the_next_write() {
    let azcm = Azcm::new();
    let config = azcm.config_dir();
    std::fs::create_dir_all(&config).unwrap();
    let dead = {
        let mut child = std::process::Command::new(if cfg!(windows) { "cmd" } else { "true" })
            .spawn()
            .unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    };
    let stray = config.join(format!(".localconfig.json.{dead}.0badc0de.tmp"));
    let live = config.join(format!(
        ".localconfig.json.{}.0badc0de.tmp",
        std::process::id()
    ));
    std::fs::write(&stray, "half").unwrap();
    std::fs::write(&live, "in progress").unwrap();
    let run = azcm.json(&["config", "set", "proxy.url", "http://proxy:3128"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    if !windows_binary() {
        // Under Wine the test's own pid is not a Windows process id: only the stray is checked.
        assert!(live.exists(), "a write in progress is not touched");
    }
    assert!(!stray.exists(), "the killed write's temp file is removed");
}

// ---------- 5. bounded reads ----------

/// Runs with a watchdog: a hang is a failure after 20 s, not a stuck suite.
fn bounded(azcm: &Azcm, args: &[&str], stdin: Option<&[u8]>) -> (Run, Duration) {
    let mut cmd = azcm.command(args);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(std::process::Stdio::piped());
    }
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    if let Some(bytes) = stdin {
        let mut input = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut input, &bytes);
        });
    }
    let watchdog = common::Watchdog::start(child.id(), Duration::from_secs(20));
    let out = child.wait_with_output().unwrap();
    let what: String = format!("{args:?}").chars().take(300).collect();
    assert!(!watchdog.stop(), "{what} hung");
    let run = Run {
        what,
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (run, started.elapsed())
}

/// A 5 GiB sparse file: reading it whole would take minutes and gigabytes.
fn huge_file(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = std::fs::File::create(path).unwrap();
    f.set_len(5 << 30).unwrap();
}

/// Before: /dev/zero as --config, a state file, AZCM_CLOUD_FILE, AZCM_EXTRA_CA_CERTS or a
/// certificate grew to ~4 GB, and a FIFO there hung forever. Each input kind now has a cap
/// and a regular-file check.
#[cfg(unix)]
#[test]
fn endless_huge_and_fifo_inputs_are_refused_at_once() {
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let fifo = azcm.root().join("fifo");
    mkfifo(&fifo);
    let huge = azcm.root().join("huge.json");
    huge_file(&huge);
    let connect = [
        "connect",
        "-s",
        "00000000-0000-0000-0000-000000000001",
        "-g",
        "rg",
        "-l",
        "eastus",
        "-t",
        "00000000-0000-0000-0000-000000000002",
        "-i",
        "00000000-0000-0000-0000-000000000003",
    ];
    for input in ["/dev/zero", fifo.to_str().unwrap(), huge.to_str().unwrap()] {
        type Case<'a> = (Vec<&'a str>, Option<(&'a str, &'a str)>, &'a str);
        let cases: Vec<Case> = vec![
            (
                vec!["--json", "--config", input, "version"],
                None,
                "AZCM0019",
            ),
            (
                vec!["--json", "check", "-l", "eastus"],
                Some(("AZCM_CLOUD_FILE", input)),
                "AZCM0019",
            ),
            (
                vec!["--json", "check", "-l", "eastus"],
                Some(("AZCM_EXTRA_CA_CERTS", input)),
                "AZCM0019",
            ),
            (
                [
                    &["--json"][..],
                    &connect[..],
                    &["--service-principal-cert", input],
                ]
                .concat(),
                None,
                "AZCM0023",
            ),
        ];
        for (args, env, code) in cases {
            let runner = match env {
                Some((k, v)) => azcm.clone_with_env(k, v),
                None => azcm.clone(),
            };
            let (run, took) = bounded(&runner, &args, None);
            common::assert_contract(&run);
            assert_eq!(run.error_code(), code, "{args:?} {env:?}: {}", run.stdout);
            assert!(
                took < Duration::from_secs(10),
                "{args:?} {env:?} took {took:?}"
            );
        }
    }
    // State files: a FIFO or a huge file in place of localconfig.json / agentconfig.json.
    for (name, args) in [
        ("localconfig.json", ["--json", "config", "list"]),
        (
            "agentconfig.json",
            ["--json", "disconnect", "--force-local-only"],
        ),
    ] {
        let state = azcm.config_dir().join(name);
        std::fs::create_dir_all(state.parent().unwrap()).unwrap();
        for make in [mkfifo as fn(&Path), huge_file] {
            let _ = std::fs::remove_file(&state);
            make(&state);
            let (run, took) = bounded(&azcm, &args, None);
            common::assert_contract(&run);
            assert_eq!(run.error_code(), "AZCM0070", "{name}: {}", run.stdout);
            assert!(run.stdout.contains(name));
            assert!(took < Duration::from_secs(10), "{name} took {took:?}");
            // show warns about it and goes on.
            let (run, took) = bounded(&azcm, &["--json", "show"], None);
            common::assert_contract(&run);
            assert!(
                run.doc()["warnings"].to_string().contains(name),
                "{}",
                run.stdout
            );
            assert!(took < Duration::from_secs(10), "{name} took {took:?}");
        }
        std::fs::remove_file(&state).unwrap();
    }
    // A secret on stdin that never ends.
    let endless = vec![b'x'; 1 << 20];
    let args = [
        &["--json"][..],
        &connect[..],
        &["--service-principal-secret", "-"],
    ]
    .concat();
    let (run, _) = bounded(&azcm, &args, Some(&endless));
    common::assert_contract(&run);
    assert_eq!(run.error_code(), "AZCM0023", "{}", run.stdout);
}

/// An extension's status file that is a FIFO or huge is passed over, not read.
#[cfg(unix)]
#[test]
fn an_extension_status_fifo_or_huge_file_is_passed_over() {
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let handler = azcm.root().join("var/lib/waagent/Contoso.Ops.Agent-1.0.0");
    write(
        &handler.join("HandlerManifest.json"),
        b"[{\"handlerManifest\": {\"uninstallCommand\": \"true\"}}]",
    );
    std::fs::create_dir_all(handler.join("status")).unwrap();
    mkfifo(&handler.join("status/1.status"));
    huge_file(&handler.join("status/0.status"));
    let (run, took) = bounded(&azcm, &["--json", "extension", "list"], None);
    common::assert_contract(&run);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(took < Duration::from_secs(10));
    // logs collects a huge status like any large file (--max-file-size bounds that); the FIFO
    // is passed over.
    std::fs::remove_file(handler.join("status/0.status")).unwrap();
    let (run, took) = bounded(
        &azcm,
        &[
            "--json",
            "logs",
            "-o",
            azcm.root().join("x.zip").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert!(run.stdout.contains("FIFO"), "{}", run.stdout);
}

/// Before: 32k levels of YAML flow nesting took 8.8 s, a 40k-entry allowlist 3.6 s and 100k
/// tags over 30 s. Now nesting is capped and lists and tags are checked in linear time.
#[test]
fn deep_yaml_long_lists_and_many_tags_finish_at_once() {
    let azcm = Azcm::new();
    let deep = azcm.root().join("deep.yaml");
    std::fs::write(
        &deep,
        format!(
            "json: true\nx: {}{}\n",
            "[".repeat(32_000),
            "]".repeat(32_000)
        ),
    )
    .unwrap();
    let (run, took) = bounded(
        &azcm,
        &["--json", "--config", &native_path(&deep), "version"],
        None,
    );
    common::assert_contract(&run);
    assert_eq!(run.error_code(), "AZCM0019", "{}", run.stdout);
    assert!(took < Duration::from_secs(5), "took {took:?}");

    // A 40,000-entry allowlist already stored, then edited and listed.
    let list: Vec<String> = (0..40_000)
        .map(|i| format!("Contoso.Ext{i}/Handler{i}"))
        .collect();
    write(
        &azcm.local_config(),
        &serde_json::to_vec(&serde_json::json!({
            "localsettings": {"extensions.allowlist": list}
        }))
        .unwrap(),
    );
    // Within what one argument may hold: 128 KiB on Linux (4,000 entries), 32,767 characters
    // for a whole Windows command line (1,000); half of them already stored.
    let half = if windows_binary() { 500 } else { 2_000 };
    let arg: String = (40_000 - half..40_000 + half)
        .map(|i| format!("Contoso.Ext{i}/Handler{i}"))
        .collect::<Vec<_>>()
        .join(",");
    for args in [
        vec![
            "--json",
            "config",
            "set",
            "extensions.allowlist",
            &arg,
            "--add",
        ],
        vec![
            "--json",
            "config",
            "set",
            "extensions.allowlist",
            &arg,
            "--remove",
        ],
        vec!["--json", "config", "list"],
        vec!["--json", "config", "set", "extensions.allowlist", &arg],
    ] {
        let (run, took) = bounded(&azcm, &args, None);
        common::assert_contract(&run);
        assert_eq!(
            run.code,
            0,
            "{:?}: {}",
            &args[..4],
            &run.stdout[..run.stdout.len().min(500)]
        );
        assert!(
            took < Duration::from_secs(5),
            "{:?} took {took:?}",
            &args[..4]
        );
    }

    // 100,000 tags, from a --config file (more than a command line holds).
    let tags: Vec<String> = (0..100_000).map(|i| format!("t{i}=v")).collect();
    let o = Onboarding::new().with_secret_env();
    let flags = o.azcm.root().join("tags.json");
    std::fs::write(
        &flags,
        serde_json::to_vec(&serde_json::json!({"tags": tags.join(",")})).unwrap(),
    )
    .unwrap();
    let mut full = vec!["--json"];
    full.extend(o.connect_args("web-01"));
    let flags_arg = native_path(&flags);
    full.extend(["--config", &flags_arg]);
    let (run, took) = o.without_requests("too many tags", || bounded(&o.azcm, &full, None));
    common::assert_contract(&run);
    assert_eq!(
        run.error_code(),
        "AZCM0023",
        "{}",
        &run.stdout[..run.stdout.len().min(800)]
    );
    assert!(
        run.stdout.len() < 10_000,
        "the message quotes an excerpt, not 100k tags"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// ARM, Entra ID and HIMDS answers are capped: an endless answer is an error, not memory.
#[test]
fn oversized_answers_from_arm_and_entra_are_cut_off() {
    use azcm_fakecloud::{Fault, FaultKind, Step};
    for step in [Step::Subscription, Step::Token] {
        let o = Onboarding::new().with_secret_env();
        o.fake.add_fault(Fault {
            step,
            kind: FaultKind::OversizedBody { mib: 40 },
            times: 100,
        });
        let mut args = vec!["--json"];
        args.extend(o.connect_args("web-01"));
        args.extend(["--retry-timeout", "2"]);
        let run = o.azcm.run(&args);
        common::assert_contract(&run);
        assert!(
            !run.doc()["ok"].as_bool().unwrap(),
            "{:?}: {}",
            step,
            run.stdout
        );
        assert!(
            run.stdout.contains("larger than"),
            "{step:?}: {}",
            run.stdout
        );
    }
}

// ---------- 6. control characters ----------

/// Before: ESC/BEL/CR in agentconfig.json fields reached the terminal through `show`, so a
/// field could retitle the window or fake extra lines. Human views now show them escaped;
/// JSON keeps the value exactly.
#[test]
fn control_characters_in_state_never_reach_the_terminal() {
    let azcm = Azcm::new();
    let evil = "web\x1b]0;pwned\x07\rFAKE: line\n\u{9b}2J\u{202e}";
    let config = serde_json::json!({
        "ResourceId": format!("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/{evil}"),
        "ResourceName": evil,
        "SubscriptionId": "00000000-0000-0000-0000-000000000001",
        "ResourceGroup": evil,
        "Location": "eastus",
        "TenantId": evil,
        "Cloud": "AzureCloud",
        "VmId": evil,
        "CorrelationId": evil,
        "ApiVersion": "2024-07-10",
        "ConnectedAt": "2026-11-30T10:00:00Z",
    });
    write(
        &azcm.config_dir().join("agentconfig.json"),
        &serde_json::to_vec(&config).unwrap(),
    );
    let run = azcm.run(["show"]);
    for c in ['\x1b', '\x07', '\r', '\u{9b}', '\u{202e}'] {
        assert!(
            !run.stdout.contains(c),
            "{c:?} reached the terminal: {:?}",
            run.stdout
        );
    }
    assert!(
        run.stdout.contains("web\\e]0;pwned\\a\\rFAKE: line\\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.lines().any(|l| l.starts_with("FAKE")));
    let json = azcm.json(&["show"]);
    let doc: Value = json.doc();
    assert!(
        doc.to_string().contains("\\u001b]0;pwned\\u0007\\rFAKE"),
        "{}",
        json.stdout
    );
}

/// Attack: a `.azcm.lock` (or `.azcm.change.lock`) planted as a hard link to a root-owned 0644
/// file got that file chmod-ed to 0600 by the next azcm run. A lock with more than one name is
/// removed (the link only) and made anew; the other file keeps its mode and bytes.
#[cfg(unix)]
#[test]
fn a_hard_linked_lock_file_is_replaced_not_chmodded() {
    use std::os::unix::fs::PermissionsExt;
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let config = azcm.config_dir();
    std::fs::create_dir_all(&config).unwrap();
    // The victim lives in the same file system as the state root (hard links cannot cross).
    let victim = azcm.root().join("victim-0644");
    std::fs::write(&victim, b"root's file").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    for lock in [".azcm.lock", ".azcm.change.lock"] {
        std::fs::hard_link(&victim, config.join(lock)).unwrap();
    }
    let set = azcm.json(&["config", "set", "proxy.url", "http://proxy:3128"]);
    assert_eq!(set.code, 0, "{}", set.stdout);
    let key = azcm.json(&["genkey"]);
    assert_eq!(key.code, 0, "{}", key.stdout);
    assert_eq!(mode(&victim), 0o644, "the linked file's mode was changed");
    assert_eq!(std::fs::read(&victim).unwrap(), b"root's file");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&victim).unwrap().nlink(),
        1,
        "the links were removed"
    );
}

/// Attack: a state file (agentconfig.json, localconfig.json) or a log planted as a hard link to
/// another file was read as if it were the agent's. A file with more than one name is refused
/// where links are (the state) and passed over with its reason (the support archive).
#[cfg(unix)]
#[test]
fn hard_linked_state_and_log_files_are_not_read() {
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let config = azcm.config_dir();
    std::fs::create_dir_all(&config).unwrap();
    let secret = outside(&azcm).join("secret.json");
    std::fs::write(&secret, br#"{"CANARYhardlink": "only root may read this"}"#).unwrap();
    std::fs::hard_link(&secret, config.join("localconfig.json")).unwrap();
    let run = azcm.json(&["config", "list"]);
    assert_eq!(run.error_code(), "AZCM0070", "{}", run.stdout);
    assert!(run.stdout.contains("more than one name"), "{}", run.stdout);
    assert!(!run.stdout.contains("CANARYhardlink"));
    std::fs::remove_file(config.join("localconfig.json")).unwrap();
    // agentconfig.json: disconnect reads it first.
    std::fs::hard_link(&secret, config.join("agentconfig.json")).unwrap();
    let run = azcm.json(&["disconnect", "--force-local-only"]);
    assert_eq!(run.error_code(), "AZCM0070", "{}", run.stdout);
    assert!(!run.stdout.contains("CANARYhardlink"));
    std::fs::remove_file(config.join("agentconfig.json")).unwrap();
    // The onboarding key: genkey replaces the name, the other file keeps its bytes.
    let certs = azcm.certs_dir();
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::hard_link(&secret, certs.join("onboarding.key")).unwrap();
    let run = azcm.json(&["genkey"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(std::fs::read_to_string(&secret)
        .unwrap()
        .contains("CANARYhardlink"));
    // A log in the agent's log folder.
    let log_dir = azcm.root().join("var/opt/azcmagent/log");
    std::fs::create_dir_all(&log_dir).unwrap();
    std::fs::hard_link(&secret, log_dir.join("himds.log")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let zip = out.path().join("a.zip");
    let run = azcm.json(&["logs", "--output", zip.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let skipped = run.doc()["result"]["skipped"].to_string();
    assert!(
        skipped.contains("himds.log") && skipped.contains("more than one name"),
        "{skipped}"
    );
    let bytes = std::fs::read(&zip).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("CANARYhardlink"));
}

/// Attack: where the state folder's parent is writable by someone else, swapping the folder
/// for a link between azcm's check and its writes made root write localconfig.json, the lock
/// and certs/onboarding.key into the other folder. The folder is now opened once (never
/// through a link) and every file is written through that handle: a neighbour swapping it
/// back and forth at least 200 times while azcm writes gets nothing written outside.
#[cfg(unix)]
#[test]
fn a_state_folder_swapped_for_a_link_during_runs_redirects_nothing() {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let first = azcm.json(&["config", "set", "proxy.url", "http://proxy:3128"]);
    assert_eq!(first.code, 0, "{}", first.stdout);
    let config = azcm.config_dir();
    let parent = config.parent().unwrap().to_path_buf();
    // The parent open to everyone's writes (no sticky bit): the neighbour's foothold.
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o777)).unwrap();
    let elsewhere = outside(&azcm).join("swapped-in");
    std::fs::create_dir_all(elsewhere.join("certs")).unwrap();
    let aside = parent.join("azcmagent.aside");
    let stop = AtomicBool::new(false);
    let swaps = AtomicUsize::new(0);
    let mut runs = Vec::new();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                if std::fs::rename(&config, &aside).is_ok() {
                    let _ = std::os::unix::fs::symlink(&elsewhere, &config);
                    std::thread::sleep(std::time::Duration::from_micros(500));
                    let _ = std::fs::remove_file(&config);
                    let _ = std::fs::rename(&aside, &config);
                    swaps.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(std::time::Duration::from_micros(1500));
            }
        });
        let started = std::time::Instant::now();
        let mut i = 0;
        while (swaps.load(Ordering::SeqCst) < 200 || runs.len() < 40)
            && started.elapsed() < std::time::Duration::from_secs(120)
        {
            let run = if i % 4 == 3 {
                azcm.json(&["genkey"])
            } else {
                azcm.json(&[
                    "config",
                    "set",
                    "proxy.url",
                    &format!("http://proxy:{}", 3000 + i),
                ])
            };
            runs.push(run);
            i += 1;
        }
        stop.store(true, Ordering::SeqCst);
    });
    let swapped = swaps.load(Ordering::SeqCst);
    assert!(swapped >= 200, "only {swapped} swaps");
    // Nothing was ever written through the link.
    let mut planted = Vec::new();
    let mut stack = vec![elsewhere.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                planted.push(entry.path());
            }
        }
    }
    assert!(planted.is_empty(), "written outside: {planted:?}");
    // Every run either worked or refused the link with its own code.
    let mut worked = 0;
    for run in &runs {
        if run.code == 0 {
            worked += 1;
        } else {
            let code = run.error_code();
            assert!(
                ["AZCM0069", "AZCM0070", "AZCM0103"].contains(&code.as_str()),
                "{}: {}",
                code,
                run.stdout
            );
        }
    }
    assert!(worked > 0, "no run worked in {} runs", runs.len());
    eprintln!(
        "{} runs ({worked} worked) against {swapped} swaps",
        runs.len()
    );
}

/// A state folder that belongs to another user is theirs to fill with anything (links, a
/// lock, a crafted agentconfig.json): root refuses to read or write through it.
#[cfg(unix)]
#[test]
fn a_state_folder_owned_by_another_user_is_refused() {
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let config = azcm.config_dir();
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("localconfig.json"),
        br#"{"proxy.url": "http://attacker:1"}"#,
    )
    .unwrap();
    // SAFETY: chown on a path this test created.
    let path = std::ffi::CString::new(config.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::chown(path.as_ptr(), 65534, 65534) }, 0);
    for args in [
        vec!["config", "list"],
        vec!["config", "set", "proxy.url", "http://proxy:3128"],
        vec!["genkey"],
    ] {
        let run = azcm.json(&args);
        assert_ne!(run.code, 0, "{args:?}: {}", run.stdout);
        assert_ne!(run.error_code(), "AZCM0001");
        assert!(
            run.stdout.contains("belongs to another user"),
            "{args:?}: {}",
            run.stdout
        );
        assert!(!run.stdout.contains("attacker"), "{args:?}: {}", run.stdout);
    }
}
