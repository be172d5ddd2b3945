//! azcm's DSC v3 resources: the manifests and instance schemas shipped are the code's, every
//! operation follows the command-resource protocol (stdin JSON in, JSON lines out, trace lines
//! and AZCM exit codes), and Microsoft's own `dsc` (../shared/tools/dsc) drives them: resource
//! and configuration get/test/set/export, what-if, drift, conflicts.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};

fn bless() -> bool {
    std::env::var_os("AZCM_BLESS").is_some()
}

fn check_file(path: &Path, expected: &str) {
    if bless() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is stale; run AZCM_BLESS=1 cargo test --test dsc",
        path.display()
    );
}

fn pretty(v: &Value) -> String {
    format!("{}\n", serde_json::to_string_pretty(v).unwrap())
}

#[test]
fn the_shipped_manifests_and_instance_schemas_are_the_codes() {
    let repo = common::repo_root();
    for (file, manifest) in azcm::desired_state::manifests() {
        check_file(&repo.join("dsc").join(file), &pretty(&manifest));
        let schema = &manifest["schema"]["embedded"];
        let id = schema["$id"].as_str().unwrap();
        let name = id.rsplit('/').next().unwrap();
        check_file(&repo.join("docs/json/dsc").join(name), &pretty(schema));
    }
}

/// Microsoft's dsc 3.2.3 (../shared/tools/dsc); CI has it, so its absence is a failure.
fn dsc_engine() -> PathBuf {
    let path = common::repo_root().join("../shared/tools/dsc");
    assert!(
        path.exists(),
        "no dsc at {}: the DSC tests run Microsoft's engine",
        path.display()
    );
    path
}

/// A folder on PATH holding azcm and its manifests (as the packages install them), and a state
/// root of the test's own.
struct Machine {
    bin: tempfile::TempDir,
    azcm: common::Azcm,
}

impl Machine {
    fn new() -> Self {
        let bin = tempfile::tempdir().unwrap();
        // A hard link where the file system allows one (the debug binary is large), else a copy.
        let azcm = bin.path().join("azcm");
        if std::fs::hard_link(common::binary(), &azcm).is_err() {
            std::fs::copy(common::binary(), &azcm).unwrap();
        }
        for entry in std::fs::read_dir(common::repo_root().join("dsc")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, bin.path().join(path.file_name().unwrap())).unwrap();
        }
        Machine {
            bin,
            azcm: common::Azcm::new(),
        }
    }

    /// `dsc ARGS…` with the resource folder first on PATH; (exit code, stdout, stderr).
    fn dsc(&self, args: &[&str]) -> (i32, String, String) {
        let path = format!(
            "{}:{}",
            self.bin.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = std::process::Command::new(dsc_engine())
            .args(args)
            .env("PATH", path)
            .env("AZCM_ROOT", self.azcm.root())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn dsc_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let (code, out, err) = self.dsc(&all);
        assert_eq!(code, 0, "dsc {args:?}: {err}\n{out}");
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    fn local_config(&self) -> Option<(Vec<u8>, std::time::SystemTime)> {
        let path = self.azcm.local_config();
        let bytes = std::fs::read(&path).ok()?;
        Some((bytes, std::fs::metadata(&path).unwrap().modified().unwrap()))
    }

    fn config_get(&self, key: &str) -> Value {
        self.azcm.json(&["config", "get", key]).doc()["result"]["value"].clone()
    }
}

fn dsc_tests_run_here() -> bool {
    // dsc runs on Linux here; the Windows tier runs the protocol tests against azcm.exe.
    cfg!(target_os = "linux") && !common::windows_binary()
}

#[test]
fn dsc_lists_the_resource_and_prints_its_embedded_schema() {
    if !dsc_tests_run_here() {
        return;
    }
    let m = Machine::new();
    let (code, out, err) = m.dsc(&["resource", "list", "Azcm/Settings", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let listed: Value =
        serde_json::from_str(out.lines().next().expect("Azcm/Settings is listed")).unwrap();
    assert_eq!(listed["type"], "Azcm/Settings");
    assert_eq!(listed["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        listed["capabilities"],
        serde_json::json!(["get", "set", "test", "export"])
    );
    let schema = m.dsc_json(&["resource", "schema", "-r", "Azcm/Settings"]);
    assert_eq!(schema, azcm::desired_state::settings::instance_schema());
    // Unknown properties are refused by the schema dsc validates against.
    let (code, _, err) = m.dsc(&[
        "resource",
        "get",
        "-r",
        "Azcm/Settings",
        "-i",
        r#"{"proxy.uri":"http://127.0.0.1:1"}"#,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("'proxy.uri' was unexpected"), "{err}");
}

#[test]
fn dsc_resource_operations_converge_and_a_second_set_writes_nothing() {
    if !dsc_tests_run_here() {
        return;
    }
    let m = Machine::new();
    let want = r#"{"proxy.url":"http://127.0.0.1:3128","extensions.allowlist":["Microsoft.Azure.Monitor/AzureMonitorLinuxAgent"],"incomingconnections.ports":[22, "6516"]}"#;
    let got = m.dsc_json(&["resource", "get", "-r", "Azcm/Settings", "-i", want]);
    assert_eq!(got["actualState"]["proxy.url"], "");
    assert_eq!(
        got["actualState"]["extensions.allowlist"],
        serde_json::json!([])
    );

    let tested = m.dsc_json(&["resource", "test", "-r", "Azcm/Settings", "-i", want]);
    assert_eq!(tested["inDesiredState"], false);
    assert_eq!(
        tested["differingProperties"],
        serde_json::json!([
            "incomingconnections.ports",
            "proxy.url",
            "extensions.allowlist"
        ])
    );
    assert!(
        m.local_config().is_none(),
        "test wrote the local configuration"
    );

    // what-if says what would change and writes nothing.
    let (code, out, err) = m.dsc(&[
        "resource",
        "set",
        "-r",
        "Azcm/Settings",
        "-i",
        want,
        "--what-if",
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let what_if: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        what_if["afterState"]["proxy.url"], "http://127.0.0.1:3128",
        "{what_if}"
    );
    assert!(
        m.local_config().is_none(),
        "set --what-if wrote the local configuration"
    );

    let set = m.dsc_json(&["resource", "set", "-r", "Azcm/Settings", "-i", want]);
    assert_eq!(
        set["afterState"]["incomingconnections.ports"],
        serde_json::json!(["22", "6516"])
    );
    assert_eq!(
        set["changedProperties"].as_array().unwrap().len(),
        3,
        "{set}"
    );
    assert_eq!(m.config_get("proxy.url"), "http://127.0.0.1:3128");
    let written = m.local_config().expect("set wrote localconfig.json");

    // In the desired state now: test says so, and a second set writes nothing.
    let tested = m.dsc_json(&["resource", "test", "-r", "Azcm/Settings", "-i", want]);
    assert_eq!(tested["inDesiredState"], true, "{tested}");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = m.dsc_json(&["resource", "set", "-r", "Azcm/Settings", "-i", want]);
    assert!(
        again["changedProperties"]
            .as_array()
            .is_none_or(|c| c.is_empty()),
        "{again}"
    );
    assert_eq!(
        m.local_config(),
        Some(written),
        "a second set rewrote localconfig.json"
    );

    // export: every property not at its default, and only those.
    let exported = m.dsc_json(&["resource", "export", "-r", "Azcm/Settings"]);
    let props = &exported["resources"][0]["properties"];
    assert_eq!(
        props.as_object().unwrap().keys().collect::<Vec<_>>(),
        [
            "incomingconnections.ports",
            "proxy.url",
            "extensions.allowlist"
        ]
    );

    // null: back to the default (not set locally).
    m.dsc_json(&[
        "resource",
        "set",
        "-r",
        "Azcm/Settings",
        "-i",
        r#"{"proxy.url":null}"#,
    ]);
    let doc = m.azcm.json(&["config", "get", "proxy.url"]).doc();
    assert_eq!(doc["result"]["source"], "default", "{doc}");
}

fn example() -> String {
    common::repo_root()
        .join("examples/arc-settings.dsc.yaml")
        .display()
        .to_string()
}

#[test]
fn the_example_document_converges_detects_drift_and_repairs_it() {
    if !dsc_tests_run_here() {
        return;
    }
    let m = Machine::new();
    let params = r#"{"parameters":{"proxyUrl":"http://127.0.0.1:3128","extensionAllowList":["Microsoft.Azure.Monitor/AzureMonitorLinuxAgent"]}}"#;
    let doc = example();
    let test = |m: &Machine| m.dsc_json(&["config", "-p", params, "test", "-f", &doc]);

    let before = test(&m);
    assert_eq!(
        before["results"].as_array().unwrap().len(),
        1,
        "one result per resource"
    );
    assert_eq!(before["results"][0]["result"]["inDesiredState"], false);

    // what-if first: nothing written.
    let (code, _, err) = m.dsc(&[
        "config",
        "-p",
        params,
        "set",
        "--what-if",
        "-f",
        &doc,
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(m.local_config().is_none());

    // From defaults to converged in one set.
    let set = m.dsc_json(&["config", "-p", params, "set", "-f", &doc]);
    assert_eq!(set["hadErrors"], false, "{set}");
    assert_eq!(test(&m)["results"][0]["result"]["inDesiredState"], true);
    assert_eq!(
        m.config_get("extensions.allowlist"),
        serde_json::json!(["Microsoft.Azure.Monitor/AzureMonitorLinuxAgent"])
    );
    let converged = m.local_config().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    m.dsc_json(&["config", "-p", params, "set", "-f", &doc]);
    assert_eq!(
        m.local_config().as_ref(),
        Some(&converged),
        "a second set rewrote the file"
    );

    // Someone changes proxy.url: test names it, set repairs it.
    let run = m
        .azcm
        .json(&["config", "set", "proxy.url", "http://127.0.0.1:9999"]);
    assert_eq!(run.doc()["ok"], true);
    let drifted = test(&m);
    assert_eq!(drifted["results"][0]["result"]["inDesiredState"], false);
    assert_eq!(
        drifted["results"][0]["result"]["differingProperties"],
        serde_json::json!(["proxy.url"])
    );
    m.dsc_json(&["config", "-p", params, "set", "-f", &doc]);
    assert_eq!(m.config_get("proxy.url"), "http://127.0.0.1:3128");
    assert_eq!(test(&m)["results"][0]["result"]["inDesiredState"], true);
}

#[test]
fn monitor_mode_conflicts_fail_with_their_code_and_nothing_is_half_applied() {
    if !dsc_tests_run_here() {
        return;
    }
    let m = Machine::new();
    assert_eq!(
        m.azcm
            .json(&["config", "set", "config.mode", "monitor"])
            .doc()["ok"],
        true
    );
    let before = m.local_config().unwrap();
    let want = r#"{"proxy.url":"http://127.0.0.1:3128","extensions.allowlist":["Microsoft.Azure.Monitor/AzureMonitorLinuxAgent"]}"#;
    let (code, out, err) = m.dsc(&["resource", "set", "-r", "Azcm/Settings", "-i", want]);
    assert_eq!(code, 2, "dsc's resource failure: {out}\n{err}");
    assert!(err.contains("AZCM0027 ConfigurationConflict"), "{err}");
    assert!(
        err.contains("config.mode full"),
        "the remediation reaches dsc: {err}"
    );
    assert_eq!(
        m.local_config().unwrap().0,
        before.0,
        "proxy.url was applied without the allowlist"
    );
    // test only reports it: not in the desired state, nothing written.
    let tested = m.dsc_json(&["resource", "test", "-r", "Azcm/Settings", "-i", want]);
    assert_eq!(tested["inDesiredState"], false);
    // With config.mode full in the same document, the lists can change: mode first.
    let with_mode = r#"{"config.mode":"full","extensions.allowlist":["Microsoft.Azure.Monitor/AzureMonitorLinuxAgent"]}"#;
    m.dsc_json(&["resource", "set", "-r", "Azcm/Settings", "-i", with_mode]);
    assert_eq!(m.config_get("config.mode"), "full");
}

/// azcm's own side of the protocol, with no engine: what dsc would send and read. Runs against
/// azcm.exe in the Windows tier too.
fn resource(m: &common::Azcm, args: &[&str], stdin: &str) -> (i32, String, Vec<Value>) {
    use std::io::Write;
    let mut cmd = m.command(args);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    // Every stderr line is one of dsc's trace lines: an object with one level key.
    let traces: Vec<Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: stderr line {l:?}"));
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            assert!(
                keys.len() == 1
                    && ["error", "warn", "info", "debug", "trace"].contains(&keys[0].as_str()),
                "{l}"
            );
            v
        })
        .collect();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        traces,
    )
}

/// The arguments the shipped manifest gives dsc for an operation (what-if's marker left out):
/// the protocol tests run exactly those, against azcm.exe too.
fn manifest_args(operation: &str) -> Vec<String> {
    let path = common::repo_root().join("dsc/azcm.settings.dsc.resource.json");
    let manifest: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(manifest[operation]["executable"], "azcm");
    assert_eq!(manifest[operation]["input"], "stdin");
    manifest[operation]["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

#[test]
fn the_resource_protocol_json_lines_traces_and_exit_codes() {
    let m = common::Azcm::new();
    let [get, test, set] = ["get", "test", "set"].map(manifest_args);
    let get: Vec<&str> = get.iter().map(String::as_str).collect();
    let test: Vec<&str> = test.iter().map(String::as_str).collect();
    let set: Vec<&str> = set.iter().map(String::as_str).collect();
    let (code, out, _) = resource(&m, &test, r#"{"proxy.url":"http://127.0.0.1:3128"}"#);
    assert_eq!(code, 0);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "state, then the differing properties: {out}"
    );
    assert_eq!(
        lines[0],
        serde_json::json!({"proxy.url": "", "_inDesiredState": false})
    );
    assert_eq!(lines[1], serde_json::json!(["proxy.url"]));

    let (code, out, _) = resource(&m, &set, r#"{"proxy.url":"http://127.0.0.1:3128"}"#);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 2, "{out}");
    let (code, out, _) = resource(&m, &get, "");
    assert_eq!(code, 0);
    let all: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        all.as_object().unwrap().len(),
        12,
        "get without input: every property"
    );
    assert_eq!(all["proxy.url"], "http://127.0.0.1:3128");

    // Bad input: one error trace with the AZCM code, the code as exit code, stdout empty.
    for (input, code_wanted) in [
        ("{not json", 23),
        (r#"["proxy.url"]"#, 23),
        (r#"{"proxy.url": 5}"#, 23),
        (r#"{"proxy.url": "ftp://127.0.0.1:21"}"#, 23),
        (r#"{"incomingconnections.ports": ["22,23"]}"#, 23),
        (r#"{"nonsense": true}"#, 23),
    ] {
        let (code, out, traces) = resource(&m, &set, input);
        assert_eq!(code, code_wanted, "{input}: {traces:?}");
        assert!(out.is_empty(), "{input}: {out}");
        let error = traces
            .iter()
            .find_map(|t| t["error"].as_str())
            .expect("an error trace");
        assert!(
            error.starts_with(&format!("AZCM00{code_wanted} ")),
            "{error}"
        );
    }
    // A document larger than 1 MiB is refused, not read to the end.
    let huge = format!(r#"{{"proxy.url": "{}"}}"#, "a".repeat(2 * 1024 * 1024));
    let (code, _, traces) = resource(&m, &get, &huge);
    assert_eq!(code, 23, "{traces:?}");

    // With --json: one document, validated like every other.
    let (code, out, _) = resource(
        &m,
        &["dsc", "settings", "test", "--json"],
        r#"{"proxy.url":"http://127.0.0.1:3128"}"#,
    );
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&out).unwrap();
    common::validate(&doc);
    assert_eq!(doc["result"]["differingProperties"], serde_json::json!([]));
    let (code, out, _) = resource(&m, &["dsc", "settings", "frobnicate", "--json"], "");
    assert_eq!(code, 23);
    common::validate(&serde_json::from_str(&out).unwrap());
}
