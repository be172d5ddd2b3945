//! `logs` over fixture trees of the binary's platform layout (under the state root): every
//! source kind, rotated and gzipped logs, secrets of each kind planted everywhere, a large log,
//! a file growing while read, symlink loops, size limits; the archive re-read by the zip crate,
//! by Python's zipfile (hashes checked against the manifest) and by `unzip -t`.

mod common;
use common::{native_path, windows_binary, Azcm, Run};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const CANARIES: &[&str] = &[
    "eyJhbGciOiJSUzI1NiJ9.eyJjYW5hcnkiOiJqd3QifQ.Q0FOQVJZLWp3dC1zaWduYXR1cmU",
    "CANARYbearer0123456789",
    "CANARYsassignature",
    "CANARYclientsecret",
    "CANARYproxypassword",
    "CANARYprotectedsettings",
];

/// One line per canary, each in the form it takes in real logs.
fn secrets() -> String {
    format!(
        "token issued: {}\nAuthorization: Bearer {}\nGET https://acct.blob.core.windows.net/ext/pkg.zip?sv=2024-11-04&sig={}&se=2026\nclient_secret={}\nusing proxy http://arcuser:{}@proxy.contoso.corp:3128\n{{\"protectedSettings\": \"{}\"}}\n",
        CANARIES[0], CANARIES[1], CANARIES[2], CANARIES[3], CANARIES[4], CANARIES[5]
    )
}

struct Layout {
    agent_logs: PathBuf,
    config: PathBuf,
    guest_config: PathBuf,
    extension_logs: PathBuf,
    handlers: PathBuf,
    vm_agent: PathBuf,
}

fn layout(root: &Path) -> Layout {
    if windows_binary() {
        let pd = root.join("ProgramData");
        Layout {
            agent_logs: pd.join("AzureConnectedMachineAgent/Log"),
            config: pd.join("AzureConnectedMachineAgent/Config"),
            guest_config: pd.join("GuestConfig"),
            extension_logs: pd.join("GuestConfig/extension_logs"),
            handlers: root.join("Packages/Plugins/Contoso.Ops.Agent/1.0.0"),
            vm_agent: root.join("WindowsAzure/Logs"),
        }
    } else {
        Layout {
            agent_logs: root.join("var/opt/azcmagent/log"),
            config: root.join("var/opt/azcmagent"),
            guest_config: root.join("var/lib/GuestConfig"),
            extension_logs: root.join("var/log/azure"),
            handlers: root.join("var/lib/waagent/Contoso.Ops.Agent-1.0.0"),
            vm_agent: root.join("var/log"),
        }
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn gzip(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

/// Every source kind, each holding every canary; rotated logs older than the current ones.
fn populate(azcm: &Azcm) -> Layout {
    let l = layout(azcm.root());
    let s = secrets();
    for (name, body) in [
        ("himds.log", format!("current himds\n{s}")),
        ("himds.log.1", format!("rotated himds\n{s}")),
        ("azcmagent.log", format!("azcmagent\n{s}")),
        ("arcproxy.log", format!("arcproxy\n{s}")),
    ] {
        write(&l.agent_logs.join(name), body.as_bytes());
    }
    write(
        &l.agent_logs.join("himds.log.2.gz"),
        &gzip(&format!("archived himds\n{s}")),
    );
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
    for rotated in ["himds.log.1", "himds.log.2.gz"] {
        let f = std::fs::File::options()
            .write(true)
            .open(l.agent_logs.join(rotated))
            .unwrap();
        f.set_modified(old).unwrap();
    }
    write(
        &l.config.join("localconfig.json"),
        format!(
            "{{\"proxy.url\": \"http://arcuser:{}@proxy:3128\"}}",
            CANARIES[4]
        )
        .as_bytes(),
    );
    write(
        &l.guest_config.join("ext_mgr_logs/gc_ext.log"),
        s.as_bytes(),
    );
    write(
        &l.guest_config.join("arc_policy_logs/gc_agent.log"),
        s.as_bytes(),
    );
    write(
        &l.extension_logs.join("Contoso.Ops.Agent/extension.log"),
        s.as_bytes(),
    );
    write(
        &l.handlers.join("HandlerManifest.json"),
        b"[{\"handlerManifest\": {\"uninstallCommand\": \"x\"}}]",
    );
    write(&l.handlers.join("status/0.status"), format!("[{{\"status\": {{\"status\": \"error\", \"formattedMessage\": {{\"message\": \"{}\"}}}}}}]", s.replace('"', "'").replace('\n', " ")).as_bytes());
    write(
        &l.handlers.join("RuntimeSettings/0.settings"),
        format!("{{\"runtimeSettings\": [{{\"handlerSettings\": {{\"protectedSettings\": \"{}\", \"publicSettings\": {{}}}}}}]}}", CANARIES[5]).as_bytes(),
    );
    let vm_log = if windows_binary() {
        l.vm_agent.join("WaAppAgent.log")
    } else {
        l.vm_agent.join("waagent.log")
    };
    write(&vm_log, s.as_bytes());
    if !windows_binary() {
        write(&azcm.root().join("etc/waagent.conf"), s.as_bytes());
    }
    l
}

fn logs(azcm: &Azcm, args: &[&str]) -> (Run, Value) {
    let mut full = vec!["logs"];
    full.extend_from_slice(args);
    let run = azcm.json(&full);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let result = run.doc()["result"].clone();
    (run, result)
}

fn entries(zip_path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (f.name().unwrap().to_string(), bytes)
        })
        .collect()
}

/// Python's zipfile re-reads every entry and checks each against the manifest's SHA-256 and
/// size; returns the names it saw.
fn python_check(zip_path: &Path) -> Vec<String> {
    let script = r#"
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, "corrupt entry"
manifest = json.loads(z.read("manifest.json"))
for f in manifest["files"]:
    data = z.read(f["name"])
    assert hashlib.sha256(data).hexdigest() == f["sha256"], f["name"]
    assert len(data) == f["size"], f["name"]
print(json.dumps(z.namelist()))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(zip_path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python zipfile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn unzip_test(zip_path: &Path) {
    match std::process::Command::new("unzip").arg("-tq").arg(zip_path).output() {
        Ok(out) => assert!(out.status.success(), "unzip -t: {}", String::from_utf8_lossy(&out.stdout)),
        Err(_) => eprintln!("unzip not installed: the archive was checked by the zip crate and Python only (.ci/run installs unzip)"),
    }
}

fn manifest(zip_path: &Path) -> Value {
    let (_, bytes) = entries(zip_path)
        .into_iter()
        .find(|(n, _)| n == "manifest.json")
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The manifest's entry for one file of the archive.
fn manifest_file(zip_path: &Path, name: &str) -> Value {
    manifest(zip_path)["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in the manifest"))
        .clone()
}

#[test]
fn every_source_is_collected_and_no_secret_reaches_the_zip() {
    let azcm = Azcm::new();
    populate(&azcm);
    let out = azcm.root().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let (run, r) = logs(&azcm, &["--output", &native_path(&out)]);
    let path = common::host_path(r["path"].as_str().unwrap());
    assert!(path.starts_with(&out), "{path:?}");
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("azcmagent-") && name.ends_with(".zip"),
        "{name}"
    );
    let names: Vec<String> = entries(&path).into_iter().map(|(n, _)| n).collect();
    for expected in [
        "agent/log/himds.log",
        "agent/log/azcmagent.log",
        "agent/log/arcproxy.log",
        "agent/config/localconfig.json",
        "guestconfig/ext_mgr_logs/gc_ext.log",
        "guestconfig/arc_policy_logs/gc_agent.log",
        "extensions/logs/Contoso.Ops.Agent/extension.log",
        "azcm/show.json",
        "manifest.json",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("extensions/handlers/") && n.ends_with("0.status")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("extensions/handlers/") && n.ends_with("0.settings")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.starts_with("vmagent/")), "{names:?}");
    // The Linux VM agent's configuration; Windows has none at a known place.
    assert_eq!(
        names.iter().any(|n| n == "vmagent/waagent.conf"),
        !windows_binary(),
        "{names:?}"
    );
    // Default: the newest log of each family only.
    assert!(
        !names
            .iter()
            .any(|n| n.contains("himds.log.1") || n.contains("himds.log.2")),
        "{names:?}"
    );
    for (entry, bytes) in entries(&path) {
        let text = String::from_utf8_lossy(&bytes);
        for canary in CANARIES {
            assert!(!text.contains(canary), "{canary} reached {entry}");
        }
    }
    assert!(!run.stdout.contains("CANARY") && !run.stderr.contains("CANARY"));
    assert!(r["redactions"].as_u64().unwrap() >= 40, "{r}");
    assert_eq!(r["redacted"], true);
    let python_names = python_check(&path);
    assert_eq!(python_names.len(), names.len());
    unzip_test(&path);
    let himds = manifest_file(&path, "agent/log/himds.log");
    assert!(himds["source"].as_str().unwrap().ends_with("himds.log"));
    assert!(himds["mtime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(manifest(&path)["redacted"], true);
}

#[test]
fn full_takes_rotated_and_archived_logs_decompressed() {
    let azcm = Azcm::new();
    populate(&azcm);
    let target = azcm.root().join("full.zip");
    let (_, r) = logs(&azcm, &["--full", "-o", &native_path(&target)]);
    assert_eq!(common::host_path(r["path"].as_str().unwrap()), target);
    assert_eq!(r["full"], true);
    let all = entries(&target);
    let archived = all
        .iter()
        .find(|(n, _)| n == "agent/log/himds.log.2")
        .expect("the .gz, decompressed");
    let text = String::from_utf8_lossy(&archived.1);
    assert!(text.starts_with("archived himds"), "{text}");
    assert!(!text.contains(CANARIES[3]), "redacted after decompression");
    assert!(all.iter().any(|(n, _)| n == "agent/log/himds.log.1"));
    let entry = manifest_file(&target, "agent/log/himds.log.2");
    assert_eq!(entry["decompressed"], true);
    python_check(&target);
}

#[test]
fn no_redact_keeps_secrets_says_so_and_records_it() {
    let azcm = Azcm::new();
    populate(&azcm);
    let target = azcm.root().join("raw.zip");
    let (run, r) = logs(&azcm, &["--no-redact", "-o", &native_path(&target)]);
    assert!(run.doc()["warnings"][0]
        .as_str()
        .unwrap()
        .contains("--no-redact"));
    assert_eq!(r["redacted"], false);
    assert_eq!(manifest(&target)["redacted"], false);
    let all = entries(&target);
    let himds = &all
        .iter()
        .find(|(n, _)| n == "agent/log/himds.log")
        .unwrap()
        .1;
    assert!(String::from_utf8_lossy(himds).contains(CANARIES[3]));
}

#[test]
fn large_growing_linked_and_oversized_files() {
    let azcm = Azcm::new();
    let l = populate(&azcm);
    // A 200 MB log, streamed (memory is the benchmark's business, bench/logs).
    let big = l.agent_logs.join("azcmagent.log");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        let line = "2026-11-23T10:00:00.000Z INFO azcmagent heartbeat ok seq=000000 request-id=2f1c9b8e-1111-4c4c-9f9f-000000000000\n";
        let mut written = 0usize;
        let mut i = 0u64;
        while written < 200 * 1024 * 1024 {
            let l = line.replace("000000", &format!("{:06}", i % 1_000_000));
            f.write_all(l.as_bytes()).unwrap();
            written += l.len();
            i += 1;
        }
    }
    // A file that grows while the archive is written.
    let growing = l.agent_logs.join("arcproxy.log");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (path, stop) = (growing.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                f.write_all(b"arcproxy still writing a line\n").unwrap();
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    // Symbolic links, including a loop, are listed as skipped, never followed.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&l.guest_config, l.guest_config.join("ext_mgr_logs/loop"))
            .unwrap();
        std::os::unix::fs::symlink("/etc/passwd", l.agent_logs.join("himds-link.log")).unwrap();
    }
    let target = azcm.root().join("big.zip");
    let (_, r) = logs(
        &azcm,
        &["--max-file-size", "150000000", "-o", &native_path(&target)],
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.join().unwrap();
    let skipped = r["skipped"].to_string();
    assert!(
        skipped.contains("azcmagent.log") && skipped.contains("too large"),
        "{skipped}"
    );
    #[cfg(unix)]
    if !windows_binary() {
        assert!(
            skipped.contains("symbolic link (not followed)"),
            "{skipped}"
        );
    }
    python_check(&target);
    let m = manifest(&target);
    assert!(m["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["reason"].as_str().unwrap().contains("--max-file-size")));

    // Without the limit the 200 MB log goes in whole.
    let target = azcm.root().join("big2.zip");
    logs(&azcm, &["-o", &native_path(&target)]);
    let entry = manifest_file(&target, "agent/log/azcmagent.log");
    assert!(entry["size"].as_u64().unwrap() >= 200 * 1024 * 1024);
    python_check(&target);
    unzip_test(&target);
}

#[test]
fn an_interrupted_run_leaves_no_archive_and_bad_targets_are_refused() {
    let azcm = Azcm::new();
    let l = populate(&azcm);
    let big = l.agent_logs.join("azcmagent.log");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        for i in 0..3_000_000u64 {
            writeln!(
                f,
                "2026-11-23T10:00:00Z INFO line {i} of a long log that takes a while to pack"
            )
            .unwrap();
        }
    }
    let target = azcm.root().join("interrupted.zip");
    let mut child = azcm
        .command(["logs", "-o", &native_path(&target)])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !target.exists(),
        "a killed run leaves nothing at the target path"
    );

    let missing = azcm.root().join("no/such/folder/out.zip");
    let run = azcm.json(&["logs", "-o", &native_path(&missing)]);
    assert_eq!(run.error_code(), "AZCM0104", "{}", run.stdout);
    assert_eq!(
        azcm.json(&["logs", "--max-file-size", "0"]).error_code(),
        "AZCM0023"
    );
}

/// An unreadable file is listed in the manifest with the reason; the rest is archived.
#[cfg(target_os = "linux")]
#[test]
fn an_unreadable_file_is_skipped_with_the_reason() {
    use std::os::unix::fs::PermissionsExt;
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let l = populate(&azcm);
    let secret_file = l.agent_logs.join("azcmagent.log");
    // Everything readable by an unprivileged user but the one file; the output folder writable.
    for entry in walk_all(azcm.root()) {
        let mode = if entry.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::set_permissions(azcm.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = azcm.root().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).unwrap();
    let target = out.join("unprivileged.zip");
    let Some(run) = common::run_as_unprivileged(
        &["--json", "logs", "-o", target.to_str().unwrap()],
        Some(azcm.root()),
    ) else {
        return;
    };
    common::assert_contract(&run);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let skipped = run.doc()["result"]["skipped"].to_string();
    assert!(
        skipped.contains("azcmagent.log") && skipped.contains("unreadable"),
        "{skipped}"
    );
    let names = python_check(&target);
    assert!(names.iter().any(|n| n == "agent/log/himds.log"));
    assert!(!names.iter().any(|n| n == "agent/log/azcmagent.log"));
}

#[cfg(target_os = "linux")]
fn walk_all(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

/// A log over 4 GiB needs zip64: the archive must still read back whole. (A sparse file: no
/// disk is used for it, and its zeros compress to almost nothing.)
#[test]
fn a_file_over_4_gib_is_stored_as_zip64() {
    let azcm = Azcm::new();
    let l = layout(azcm.root());
    std::fs::create_dir_all(&l.agent_logs).unwrap();
    let huge = l.agent_logs.join("himds.log");
    let size = (4u64 << 30) + 12_345;
    std::fs::File::create(&huge).unwrap().set_len(size).unwrap();
    let target = azcm.root().join("zip64.zip");
    logs(&azcm, &["-o", &native_path(&target)]);
    let entry = manifest_file(&target, "agent/log/himds.log");
    assert_eq!(entry["size"].as_u64(), Some(size));
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&target).unwrap()).unwrap();
    let f = archive.by_name("agent/log/himds.log").unwrap();
    assert_eq!(f.size(), size, "the zip64 size field");
    drop(f);
    // A second reader of the zip64 records (without inflating 4 GiB again).
    let script = "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.getinfo('agent/log/himds.log').file_size)";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&target)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        size.to_string()
    );
}

/// Attack: a rotated log that is a gzip bomb (4 MiB that decompresses to 4 GiB) was unpacked
/// whole — 4 GiB written in 25 s — before it was passed over. Decompression stops at 1 GiB
/// (or --max-file-size when smaller) and the file is listed as skipped with the reason.
#[test]
fn a_gzip_bomb_is_cut_at_the_decompression_cap() {
    let azcm = Azcm::new();
    let l = layout(azcm.root());
    // 1 GiB and 1 MiB of zeros: about 1 MiB gzipped.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1025 {
        e.write_all(&zeros).unwrap();
    }
    write(&l.agent_logs.join("himds.log.3.gz"), &e.finish().unwrap());
    // A small bomb against a small --max-file-size: 10 MiB out of a few KiB.
    let mut small = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for _ in 0..10 {
        small.write_all(&zeros).unwrap();
    }
    write(
        &l.agent_logs.join("azcmagent.log.1.gz"),
        &small.finish().unwrap(),
    );
    let out = tempfile::tempdir().unwrap();
    for (args, bomb, cap) in [
        (vec![], "himds.log.3.gz", "1024 MiB"),
        (
            vec!["--max-file-size", "1048576"],
            "azcmagent.log.1.gz",
            "1 MiB",
        ),
    ] {
        let zip = out.path().join(format!("{bomb}.zip"));
        let mut full = vec!["logs", "--output"];
        let target = native_path(&zip);
        full.push(&target);
        full.extend(args);
        let started = std::time::Instant::now();
        let run = azcm.json(&full);
        assert_eq!(run.code, 0, "{}", run.stdout);
        let skipped = run.doc()["result"]["skipped"].to_string();
        assert!(
            skipped.contains(bomb) && skipped.contains(&format!("decompresses to more than {cap}")),
            "{skipped}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        assert!(
            std::fs::metadata(&zip).unwrap().len() < 8 << 20,
            "the bomb was archived"
        );
    }
}
