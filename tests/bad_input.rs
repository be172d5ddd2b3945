//! The bad-input corpus: every file and argument azcm reads, fed devices, FIFOs, links, huge
//! and deeply nested files, control characters and invalid UTF-8. Each case asserts the
//! contract of a failure (or, where the input is harmless, of a success): exit code = the AZCM
//! number, exactly one JSON document, no panic, and bounded resources measured on the child
//! itself (wait4's rusage): under 2 s of CPU, under 100 MB peak RSS, and no hang (a watchdog
//! kills it at 20 s). Nothing leaves loopback: clouds point at 127.0.0.1:9, DNS at 127.0.0.1:9.
#![cfg(unix)]

mod common;
use common::{windows_binary, Azcm};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::time::{Duration, Instant};

const GUID1: &str = "00000000-0000-0000-0000-000000000001";
const GUID2: &str = "00000000-0000-0000-0000-000000000002";
const GUID3: &str = "00000000-0000-0000-0000-000000000003";

const LOOPBACK_CLOUD: &str = r#"{"version": 1, "clouds": [{"name": "AzcmLoopback",
  "authority": "https://127.0.0.1:9", "resourceManager": "https://127.0.0.1:9",
  "audience": "https://management.core.windows.net/", "portal": "https://127.0.0.1:9",
  "regions": ["lab1"]}]}"#;

/// What a bad file can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    DevZero,
    DevNull,
    Fifo,
    Folder,
    DanglingLink,
    LinkToDevZero,
    Huge,
    DeepJson,
    DeepYaml,
    ControlChars,
    InvalidUtf8,
    Empty,
}

const KINDS: [Kind; 12] = [
    Kind::DevZero,
    Kind::DevNull,
    Kind::Fifo,
    Kind::Folder,
    Kind::DanglingLink,
    Kind::LinkToDevZero,
    Kind::Huge,
    Kind::DeepJson,
    Kind::DeepYaml,
    Kind::ControlChars,
    Kind::InvalidUtf8,
    Kind::Empty,
];

impl Kind {
    /// A regular file holding bad content (as opposed to something that is no file at all).
    fn is_regular(self) -> bool {
        matches!(
            self,
            Kind::Huge
                | Kind::DeepJson
                | Kind::DeepYaml
                | Kind::ControlChars
                | Kind::InvalidUtf8
                | Kind::Empty
        )
    }
}

/// Puts `kind` at `path` (its folder created). /dev/zero and /dev/null are reached by links
/// or used directly: the test never writes to a device.
fn plant(path: &Path, kind: Kind) {
    use std::os::unix::fs::symlink;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_dir_all(path);
    match kind {
        Kind::DevZero => symlink("/dev/zero", path).unwrap(),
        Kind::DevNull => symlink("/dev/null", path).unwrap(),
        Kind::LinkToDevZero => {
            let hop = path.with_extension("hop");
            let _ = std::fs::remove_file(&hop);
            symlink("/dev/zero", &hop).unwrap();
            symlink(&hop, path).unwrap();
        }
        Kind::Fifo => {
            let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        }
        Kind::Folder => std::fs::create_dir_all(path).unwrap(),
        Kind::DanglingLink => symlink(path.with_extension("nowhere"), path).unwrap(),
        Kind::Huge => std::fs::File::create(path)
            .unwrap()
            .set_len(5 << 30)
            .unwrap(),
        Kind::DeepJson => std::fs::write(
            path,
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        )
        .unwrap(),
        Kind::DeepYaml => std::fs::write(
            path,
            format!("a: {}{}\n", "[".repeat(32_000), "]".repeat(32_000)),
        )
        .unwrap(),
        Kind::ControlChars => std::fs::write(
            path,
            "{\"json\": \"\u{1b}]0;x\u{7}\", \"\u{1b}[2J\": \"\r\n\u{9b}\"}\u{0}",
        )
        .unwrap(),
        Kind::InvalidUtf8 => std::fs::write(path, [0x7b, 0x22, 0xff, 0xfe, 0x80, 0x22]).unwrap(),
        Kind::Empty => std::fs::write(path, "").unwrap(),
    }
}

/// One invocation and what it must end with.
struct Case {
    name: String,
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    /// The AZCM code (`AZCM0000` for success); `None`: any failure, with its contract kept.
    expect: Option<&'static str>,
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

struct Measured {
    code: i32,
    stdout: String,
    stderr: String,
    cpu: Duration,
    max_rss_kib: i64,
    wall: Duration,
}

/// Runs the case's command and reaps it with wait4, for the child's own rusage.
#[allow(clippy::zombie_processes)] // reaped by wait4, which std's Child cannot do
fn measure(azcm: &Azcm, case: &Case) -> Measured {
    use std::io::Read;
    let mut cmd = azcm.command(&case.args);
    for (k, v) in &case.env {
        cmd.env(k, v);
    }
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(if case.stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        });
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    if let Some(bytes) = case.stdin.clone() {
        let mut input = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut input, &bytes);
        });
    }
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let watchdog = common::Watchdog::start(pid as u32, Duration::from_secs(20));
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our unreaped child; out-pointers are valid.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4");
    let wall = started.elapsed();
    watchdog.stop();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Measured {
        code,
        stdout: String::from_utf8_lossy(&out_reader.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss,
        wall,
    }
}

/// The contract of one case; the reason it was broken, if it was.
fn check(case: &Case, m: &Measured) -> Result<(), String> {
    let fail = |why: String| {
        Err(format!(
            "{}: {why}\n  args: {:?}\n  stdout: {}\n  stderr: {}",
            case.name,
            case.args,
            &m.stdout[..m.stdout.len().min(1500)],
            &m.stderr[..m.stderr.len().min(800)]
        ))
    };
    if m.code < 0 {
        return fail(format!(
            "killed by signal {} after {:?} (a hang?)",
            -m.code, m.wall
        ));
    }
    // 101 is Rust's exit code for an escaped panic and also AZCM0101 (a mistyped command):
    // only the latter's document makes it a clean exit.
    if m.stderr.contains("panicked") || m.code == 101 && !m.stdout.contains("AZCM0101") {
        return fail("panicked".into());
    }
    if m.cpu > Duration::from_secs(2) {
        return fail(format!("used {:?} of CPU", m.cpu));
    }
    if m.max_rss_kib > 100 * 1024 {
        return fail(format!("peak RSS {} KiB", m.max_rss_kib));
    }
    let mut docs =
        serde_json::Deserializer::from_str(m.stdout.trim()).into_iter::<serde_json::Value>();
    let doc = match docs.next() {
        Some(Ok(doc)) => doc,
        other => return fail(format!("no JSON document on stdout ({other:?})")),
    };
    if docs.next().is_some() {
        return fail("more than one JSON document".into());
    }
    common::validate(&doc);
    let got = if doc["ok"] == true {
        "AZCM0000".to_string()
    } else {
        doc["error"]["code"].as_str().unwrap_or("").to_string()
    };
    let number: i32 = got.trim_start_matches("AZCM").parse().unwrap_or(-1);
    if number != m.code {
        return fail(format!("exit code {} but {got}", m.code));
    }
    if doc["ok"] == false
        && doc["error"]["message"]
            .as_str()
            .is_none_or(|s| s.trim().is_empty())
    {
        return fail("a failure without a message".into());
    }
    match case.expect {
        Some(want) if want != got => fail(format!("expected {want}, got {got}")),
        None if doc["ok"] == true => fail("expected a failure".into()),
        _ => Ok(()),
    }
}

fn connect_base(cloud: &str) -> Vec<String> {
    [
        "--json",
        "connect",
        "-s",
        GUID1,
        "-g",
        "rg",
        "-l",
        "lab1",
        "-t",
        GUID2,
        "-i",
        GUID3,
        "--cloud",
        cloud,
        "--retry-timeout",
        "1",
    ]
    .map(String::from)
    .to_vec()
}

/// Every file azcm reads, with each kind of bad file.
fn file_cases(root: &Path) -> Vec<(Case, Box<dyn Fn()>)> {
    let mut out: Vec<(Case, Box<dyn Fn()>)> = Vec::new();
    let bad = root.join("bad/input.json");
    let cloud_file = root.join("loopback-cloud.json");
    std::fs::write(&cloud_file, LOOPBACK_CLOUD).unwrap();
    let cloud_env = (
        "AZCM_CLOUD_FILE".to_string(),
        cloud_file.display().to_string(),
    );
    let config_dir = root.join("var/opt/azcmagent");
    let handler = root.join("var/lib/waagent/Contoso.Ops.Agent-1.0.0");
    let bad_s = bad.display().to_string();
    for kind in KINDS {
        let plant_bad = {
            let bad = bad.clone();
            move || plant(&bad, kind)
        };
        // --config FILE, read as JSON (.json) and as YAML (else): all refused (AZCM0019) but
        // an empty YAML file, which is an empty map.
        out.push((
            Case {
                name: format!("--config {kind:?} (JSON)"),
                args: os(&["--json", "--config", &bad_s, "version"]),
                env: vec![],
                stdin: None,
                expect: Some("AZCM0019"),
            },
            Box::new(plant_bad.clone()),
        ));
        let yaml = bad.with_extension("yaml");
        out.push((
            Case {
                name: format!("--config {kind:?} (YAML)"),
                args: os(&["--json", "--config", &yaml.display().to_string(), "version"]),
                env: vec![],
                stdin: None,
                expect: Some(if kind == Kind::Empty {
                    "AZCM0000"
                } else {
                    "AZCM0019"
                }),
            },
            Box::new(move || plant(&yaml, kind)),
        ));
        out.push((
            Case {
                name: format!("AZCM_CLOUD_FILE {kind:?}"),
                args: os(&["--json", "check", "--cloud", "NoSuchCloud", "-l", "lab1"]),
                env: vec![("AZCM_CLOUD_FILE".into(), bad_s.clone())],
                stdin: None,
                expect: Some("AZCM0019"),
            },
            Box::new(plant_bad.clone()),
        ));
        out.push((
            Case {
                name: format!("AZCM_EXTRA_CA_CERTS {kind:?}"),
                args: os(&[
                    "--json",
                    "check",
                    "--cloud",
                    "AzcmLoopback",
                    "-l",
                    "lab1",
                    "--dns-server",
                    "127.0.0.1:9",
                    "--timeout",
                    "1",
                ]),
                env: vec![
                    cloud_env.clone(),
                    ("AZCM_EXTRA_CA_CERTS".into(), bad_s.clone()),
                ],
                stdin: None,
                expect: Some("AZCM0019"),
            },
            Box::new(plant_bad.clone()),
        ));
        let mut args = connect_base("AzcmLoopback");
        args.extend(["--service-principal-cert".into(), bad_s.clone()]);
        out.push((
            Case {
                name: format!("--service-principal-cert {kind:?}"),
                args: args.into_iter().map(OsString::from).collect(),
                env: vec![cloud_env.clone()],
                stdin: None,
                expect: Some("AZCM0023"),
            },
            Box::new(plant_bad.clone()),
        ));
        let state = |name: &str| {
            let path = config_dir.join(name);
            move || plant(&path, kind)
        };
        out.push((
            Case {
                name: format!("localconfig.json {kind:?}"),
                args: os(&["--json", "config", "list"]),
                env: vec![],
                stdin: None,
                expect: Some("AZCM0070"),
            },
            Box::new(state("localconfig.json")),
        ));
        out.push((
            Case {
                name: format!("agentconfig.json {kind:?}"),
                args: os(&["--json", "disconnect", "--force-local-only"]),
                env: vec![],
                stdin: None,
                expect: Some("AZCM0070"),
            },
            Box::new(state("agentconfig.json")),
        ));
        // The lock only needs to be a regular file this user owns: content does not matter.
        out.push((
            Case {
                name: format!(".azcm.lock {kind:?}"),
                args: os(&["--json", "config", "set", "proxy.url", "http://p:3128"]),
                env: vec![],
                stdin: None,
                expect: Some(if kind.is_regular() {
                    "AZCM0000"
                } else {
                    "AZCM0070"
                }),
            },
            Box::new(state(".azcm.lock")),
        ));
        // Extension files are passed over (the listing goes on without them).
        let folder = handler.clone();
        let manifest = handler.join("HandlerManifest.json");
        let status = handler.join("status/0.status");
        out.push((
            Case {
                name: format!("extension status {kind:?}"),
                args: os(&["--json", "extension", "list"]),
                env: vec![],
                stdin: None,
                expect: Some("AZCM0000"),
            },
            Box::new(move || {
                std::fs::create_dir_all(&folder).unwrap();
                std::fs::write(&manifest, "[{\"handlerManifest\": {}}]").unwrap();
                plant(&status, kind);
            }),
        ));
    }
    out
}

/// Values that break argument parsing in as many ways as there are.
fn bad_values() -> Vec<(&'static str, OsString)> {
    vec![
        (
            "escape sequences",
            OsString::from("x\u{1b}]0;pwned\u{7}\u{1b}[2J"),
        ),
        ("CR LF", OsString::from("a\r\nFAKE: line")),
        (
            "invalid UTF-8",
            OsString::from_vec(vec![b'a', 0xff, 0xfe, 0x80]),
        ),
        ("100 KiB", OsString::from("z".repeat(100 * 1024))),
        ("NUL-free empty", OsString::from("")),
        ("bidi override", OsString::from("abc\u{202e}fed")),
    ]
}

/// Every value-taking flag or argument of every command, with each bad value.
fn argument_cases(root: &Path) -> Vec<Case> {
    let cloud_file = root.join("loopback-cloud.json");
    std::fs::write(&cloud_file, LOOPBACK_CLOUD).unwrap();
    let env = vec![
        (
            "AZCM_CLOUD_FILE".to_string(),
            cloud_file.display().to_string(),
        ),
        ("AZCM_SERVICE_PRINCIPAL_SECRET".to_string(), "s".to_string()),
    ];
    let slot = "{}";
    let mut templates: Vec<Vec<String>> = Vec::new();
    let push = |t: &mut Vec<Vec<String>>, args: &[&str]| {
        t.push(args.iter().map(|s| s.to_string()).collect())
    };
    for flag in [
        "-s",
        "-g",
        "-l",
        "-n",
        "-t",
        "-i",
        "--tags",
        "--correlation-id",
        "--private-link-scope",
        "--gateway-id",
        "--cloud",
        "--retry-timeout",
        "--automanage-profile",
        "--user-tenant-id",
    ] {
        let mut base = connect_base("AzcmLoopback");
        // The flag's value in the base is replaced; flags it lacks are added.
        match base.iter().position(|a| a == flag) {
            Some(i) => base[i + 1] = slot.into(),
            None => base.extend([flag.to_string(), slot.to_string()]),
        }
        templates.push(base);
    }
    push(&mut templates, &["--json", "config", "get", slot]);
    push(&mut templates, &["--json", "config", "set", slot, "x"]);
    push(
        &mut templates,
        &["--json", "config", "set", "proxy.url", slot],
    );
    push(
        &mut templates,
        &["--json", "config", "set", "incomingconnections.ports", slot],
    );
    push(
        &mut templates,
        &["--json", "config", "set", "proxy.bypass", slot, "--add"],
    );
    push(&mut templates, &["--json", "config", "clear", slot]);
    push(&mut templates, &["--json", "config", "info", slot]);
    push(&mut templates, &["--json", "show", slot]);
    push(&mut templates, &["--json", "check", "-l", slot]);
    push(
        &mut templates,
        &[
            "--json",
            "check",
            "-l",
            "lab1",
            "--cloud",
            "AzcmLoopback",
            "--dns-server",
            slot,
        ],
    );
    push(
        &mut templates,
        &[
            "--json",
            "check",
            "-l",
            "lab1",
            "--cloud",
            "AzcmLoopback",
            "--timeout",
            slot,
        ],
    );
    push(&mut templates, &["--json", "logs", "--max-file-size", slot]);
    push(
        &mut templates,
        &["--json", "extension", "remove", "--name", slot, "--yes"],
    );
    push(&mut templates, &["--json", "help", slot]);
    push(&mut templates, &["--json", "genkey", slot]);
    push(
        &mut templates,
        &["--json", "disconnect", "--force-local-only", slot],
    );
    push(&mut templates, &["--json", slot]);
    let mut cases = Vec::new();
    for template in &templates {
        for (what, value) in bad_values() {
            let args: Vec<OsString> = template
                .iter()
                .map(|a| {
                    if a == slot {
                        value.clone()
                    } else {
                        OsString::from(a)
                    }
                })
                .collect();
            let shown: Vec<&str> = template.iter().map(String::as_str).collect();
            cases.push(Case {
                name: format!("{} <- {what}", shown.join(" ")),
                args,
                env: env.clone(),
                stdin: None,
                expect: None,
            });
        }
    }
    // Secrets and tokens on stdin: endless, empty, binary.
    for (flag, what, bytes) in [
        (
            "--service-principal-secret",
            "1 MiB line",
            vec![b'x'; 1 << 20],
        ),
        ("--service-principal-secret", "nothing", Vec::new()),
        ("--access-token", "1 MiB line", vec![b'x'; 1 << 20]),
        ("--access-token", "invalid UTF-8", vec![0xff, 0xfe, b'\n']),
    ] {
        let mut args = connect_base("AzcmLoopback");
        args.retain(|a| a != "-i" && a != GUID3);
        args.extend([flag.to_string(), "-".to_string()]);
        cases.push(Case {
            name: format!("{flag} - <- {what}"),
            args: args.into_iter().map(OsString::from).collect(),
            env: vec![env[0].clone()],
            stdin: Some(bytes),
            expect: None,
        });
    }
    cases
}

#[test]
fn the_bad_input_corpus_keeps_the_contract_within_bounds() {
    if windows_binary() {
        // Devices, FIFOs, Unix links and invalid UTF-8 arguments have no Windows equivalent
        // reachable through Wine; the Windows tier runs the rest of the suite.
        return;
    }
    let mut failures = Vec::new();
    let mut count = 0;
    // Files: each case on a fresh state root, planted just before it runs.
    let cases = {
        let probe = Azcm::new();
        file_cases(probe.root()).len()
    };
    for i in 0..cases {
        let azcm = Azcm::new();
        let mut all = file_cases(azcm.root());
        let (case, setup) = all.swap_remove(i);
        setup();
        let m = measure(&azcm, &case);
        if let Err(e) = check(&case, &m) {
            failures.push(e);
        }
        count += 1;
    }
    // Arguments: two at a time (the machine has two cores).
    let azcm = Azcm::new();
    let arg_cases = argument_cases(azcm.root());
    let chunks: Vec<&[Case]> = arg_cases.chunks(arg_cases.len().div_ceil(2)).collect();
    let results: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let azcm = &azcm;
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|case| check(case, &measure(azcm, case)).err())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    count += arg_cases.len();
    failures.extend(results.into_iter().flatten());
    println!("bad-input corpus: {count} cases, {} failed", failures.len());
    assert!(count >= 150, "the corpus has {count} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A non-UTF-8 AZCM_IMDS_ENDPOINT was taken as unset, so azcm asked the real IMDS
/// (169.254.169.254); every text-valued AZCM_ variable that is not UTF-8 is refused.
#[cfg(unix)]
#[test]
fn non_utf8_azcm_variables_are_refused_not_replaced_by_defaults() {
    use std::os::unix::ffi::OsStrExt;
    if common::windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    for name in [
        "AZCM_IMDS_ENDPOINT",
        "AZCM_HIMDS_ENDPOINT",
        "AZCM_SERVICE_PRINCIPAL_SECRET",
    ] {
        let mut cmd = azcm.command(["--json", "show"]);
        cmd.env(
            name,
            std::ffi::OsStr::from_bytes(b"http://127.0.0.1:9/\xff"),
        );
        let out = cmd.output().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["error"]["code"], "AZCM0023", "{name}: {doc:#}");
        assert_eq!(doc["error"]["details"]["variable"], name);
    }
}

/// An error about a huge input (a 120,000-character argument; 1 MB would exceed the
/// command line's own limit) once quoted it whole, sometimes twice: message and details are
/// bounded whatever the input, in JSON and in human output.
#[test]
fn an_error_about_a_huge_input_quotes_a_bounded_excerpt() {
    let azcm = Azcm::new();
    let huge = "a".repeat(120_000);
    for args in [
        vec!["config", "set", "proxy.url", huge.as_str()],
        vec!["config", "set", "extensions.allowlist", huge.as_str()],
        vec!["config", "get", huge.as_str()],
        vec!["show", huge.as_str()],
        vec![
            "connect",
            "-s",
            "sub",
            "-g",
            huge.as_str(),
            "-l",
            "eastus",
            "--access-token",
            "t",
        ],
        vec!["help", huge.as_str()],
        vec![huge.as_str()],
    ] {
        let run = azcm.json(&args);
        assert_ne!(run.code, 0);
        assert_ne!(run.error_code(), "AZCM0001");
        assert!(
            run.stdout.len() < 10_000,
            "{} bytes for {:?}…",
            run.stdout.len(),
            &args[..args.len().min(2)]
        );
        assert!(
            run.stdout.contains("more characters"),
            "{}",
            &run.stdout[..500.min(run.stdout.len())]
        );
        let human = azcm.run(&args);
        assert!(
            human.stdout.len() + human.stderr.len() < 10_000,
            "human: {} bytes",
            human.stdout.len()
        );
    }
}
