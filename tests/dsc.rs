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

/// Runs `cmd` with `stdin` written from a thread (a child that stops reading early cannot
/// block the test) and its output captured.
fn output_with_stdin(mut cmd: std::process::Command, stdin: &str) -> std::process::Output {
    use std::io::Write;
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
    out
}

/// A folder on PATH holding azcm and its manifests (as the packages install them), and a state
/// root of the test's own.
struct Machine {
    bin: tempfile::TempDir,
    azcm: common::Azcm,
}

impl Machine {
    fn new() -> Self {
        Self::with(common::Azcm::new())
    }

    /// A machine whose azcm runs get `azcm`'s root and environment (a fake cloud's knobs).
    fn with(azcm: common::Azcm) -> Self {
        let bin = tempfile::tempdir().unwrap();
        // A hard link where the file system allows one (the debug binary is large), else a copy.
        let exe = bin.path().join("azcm");
        if std::fs::hard_link(common::binary(), &exe).is_err() {
            std::fs::copy(common::binary(), &exe).unwrap();
        }
        for entry in std::fs::read_dir(common::repo_root().join("dsc")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, bin.path().join(path.file_name().unwrap())).unwrap();
        }
        Machine { bin, azcm }
    }

    /// `dsc ARGS…` with the resource folder first on PATH; (exit code, stdout, stderr).
    fn dsc(&self, args: &[&str]) -> (i32, String, String) {
        self.dsc_with_stdin(args, "")
    }

    /// `dsc ARGS…` with `stdin` (parameters for `--parameters-file -`).
    fn dsc_with_stdin(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        let path = format!(
            "{}:{}",
            self.bin.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = std::process::Command::new(dsc_engine());
        // Loopback only: IMDS and HIMDS are a closed port unless the fake's are given.
        cmd.args(args)
            .env("PATH", path)
            .env("AZCM_ROOT", self.azcm.root())
            .env("AZCM_IMDS_ENDPOINT", "http://127.0.0.1:9")
            .env("AZCM_HIMDS_ENDPOINT", "http://127.0.0.1:9");
        for (k, v) in self.azcm.env_vars() {
            cmd.env(k, v);
        }
        let out = output_with_stdin(cmd, stdin);
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

    // The document's defaults alone (a blank proxy) work too.
    let defaults = m.dsc_json(&["config", "test", "-f", &doc]);
    assert_eq!(defaults["results"][0]["result"]["inDesiredState"], false);
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
    let out = output_with_stdin(m.command(args), stdin);
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
    resource_args("azcm.settings.dsc.resource.json", operation)
}

fn resource_args(manifest: &str, operation: &str) -> Vec<String> {
    let path = common::repo_root().join("dsc").join(manifest);
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

// ---- Azcm/Connection, against the fake cloud ----

fn onboard_example() -> String {
    common::repo_root()
        .join("examples/arc-onboard.dsc.yaml")
        .display()
        .to_string()
}

/// The onboard example's parameters for the fake cloud (the secret included, as an admin's
/// parameters file would hold it).
fn onboard_params(o: &common::Onboarding, name: &str, tags: Value, proxy: &str) -> String {
    serde_json::json!({"parameters": {
        "subscriptionId": o.fake.subscription_id,
        "resourceGroup": o.fake.resource_group,
        "location": o.fake.location,
        "tenantId": o.fake.tenant_id,
        "cloud": azcm_fakecloud::CLOUD_NAME,
        "resourceName": name,
        "servicePrincipalId": o.fake.client_id,
        "servicePrincipalSecret": o.fake.client_secret,
        "tags": tags,
        "proxyUrl": proxy,
    }})
    .to_string()
}

/// `dsc config --parameters-file - OPERATION -f example…` as JSON; exit code 0 wanted.
fn config_op(m: &Machine, params: &str, operation: &[&str]) -> (Value, String) {
    let doc = onboard_example();
    let mut args = vec!["config", "--parameters-file", "-"];
    args.extend(operation);
    args.extend(["-f", &doc, "-o", "json"]);
    let (code, out, err) = m.dsc_with_stdin(&args, params);
    assert_eq!(code, 0, "dsc {operation:?}: {err}\n{out}");
    (
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}")),
        format!("{out}\n{err}"),
    )
}

/// The connection resource's result in a configuration result.
fn connection_result(doc: &Value) -> &Value {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Azcm/Connection")
        .map(|r| &r["result"])
        .expect("an Azcm/Connection result")
}

fn machine_tags(o: &common::Onboarding, name: &str) -> Option<Value> {
    o.fake
        .machines()
        .into_iter()
        .find(|m| m["name"] == name)
        .map(|m| m["tags"].clone())
}

fn onboarded(name: &str) -> (common::Onboarding, Machine, String) {
    let o = common::Onboarding::new();
    let m = Machine::with(o.azcm.clone());
    let params = onboard_params(
        &o,
        name,
        serde_json::json!({"env": "test", "owner": "it ops"}),
        "",
    );
    let (set, _) = config_op(&m, &params, &["set"]);
    assert_eq!(set["hadErrors"], false, "{set}");
    (o, m, params)
}

#[test]
fn the_onboard_document_connects_in_one_set_and_then_set_and_test_send_nothing() {
    if !dsc_tests_run_here() {
        return;
    }
    let o = common::Onboarding::new();
    let m = Machine::with(o.azcm.clone());
    let secret = o.fake.client_secret.clone();
    let name = "dsc-01";
    let params = onboard_params(
        &o,
        name,
        serde_json::json!({"env": "test", "owner": "it ops"}),
        "",
    );
    let mut seen = String::new();

    // test needs no secret: the parameters of the place alone (the sign-in, resource name and
    // proxy take the document's blank defaults).
    let place = serde_json::json!({"parameters": {
        "subscriptionId": o.fake.subscription_id,
        "resourceGroup": o.fake.resource_group,
        "location": o.fake.location,
        "tenantId": o.fake.tenant_id,
        "cloud": azcm_fakecloud::CLOUD_NAME,
    }})
    .to_string();
    let (tested, _) =
        o.without_requests("test without a secret", || config_op(&m, &place, &["test"]));
    assert_eq!(connection_result(&tested)["inDesiredState"], false);
    // set without one says what is missing.
    let doc = onboard_example();
    let (code, _, err) = m.dsc_with_stdin(
        &["config", "--parameters-file", "-", "set", "-f", &doc],
        &place,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("AZCM0016"), "{err}");

    // test needs no sign-in and sends nothing.
    let (before, out) = o.without_requests("test reads only local state", || {
        config_op(&m, &params, &["test"])
    });
    seen.push_str(&out);
    assert_eq!(
        before["results"].as_array().unwrap().len(),
        2,
        "one result per resource"
    );
    let conn = connection_result(&before);
    assert_eq!(conn["inDesiredState"], false);
    assert_eq!(conn["differingProperties"], serde_json::json!(["_exist"]));
    assert_eq!(conn["actualState"]["_exist"], false);

    // what-if: every check, nothing written, here or in Azure.
    let (what_if, out) = config_op(&m, &params, &["set", "--what-if"]);
    seen.push_str(&out);
    assert_eq!(what_if["hadErrors"], false, "{what_if}");
    assert!(
        o.fake
            .requests()
            .iter()
            .all(|r| r.method == "GET" || r.method == "POST" && r.path.contains("token")),
        "what-if wrote to Azure: {:?}",
        o.fake
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
    assert!(o.fake.machines().is_empty());
    assert!(!o.azcm.config_dir().join("agentconfig.json").exists());
    assert_eq!(
        connection_result(&what_if)["afterState"]["resourceName"],
        name,
        "{what_if}"
    );

    // From disconnected to converged in one set (dsc's debug traces on).
    let (code, out, err) = m.dsc_with_stdin(
        &[
            "-l",
            "debug",
            "config",
            "--parameters-file",
            "-",
            "set",
            "-f",
            &doc,
            "-o",
            "json",
        ],
        &params,
    );
    assert_eq!(code, 0, "{err}");
    seen.push_str(&out);
    seen.push_str(&err);
    let set: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(set["hadErrors"], false);
    let after = &connection_result(&set)["afterState"];
    assert_eq!(after["_exist"], true);
    assert_eq!(after["subscriptionId"], o.fake.subscription_id.as_str());
    assert_eq!(
        machine_tags(&o, name),
        Some(serde_json::json!({"env": "test", "owner": "it ops"}))
    );
    assert!(o.azcm.config_dir().join("agentconfig.json").exists());

    // Converged: a second set and every test send nothing and write nothing.
    let files = o.azcm.snapshot();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (again, out) = o.without_requests("a second set of a converged machine", || {
        config_op(&m, &params, &["set"])
    });
    seen.push_str(&out);
    assert_eq!(again["hadErrors"], false);
    let (tested, out) = o.without_requests("test", || config_op(&m, &params, &["test"]));
    seen.push_str(&out);
    for r in tested["results"].as_array().unwrap() {
        assert_eq!(r["result"]["inDesiredState"], true, "{r}");
    }
    assert_eq!(
        o.azcm.snapshot(),
        files,
        "a converged set or test wrote a state file"
    );
    let (code, out, err) = m.dsc_with_stdin(
        &[
            "-l",
            "debug",
            "config",
            "--parameters-file",
            "-",
            "test",
            "-f",
            &doc,
        ],
        &params,
    );
    assert_eq!(code, 0, "{err}");
    seen.push_str(&out);
    seen.push_str(&err);

    // The resource operations: get and export say what is, with the tags from HIMDS.
    let got = m.dsc_json(&["resource", "get", "-r", "Azcm/Connection"]);
    assert_eq!(got["actualState"]["status"], "Connected", "{got}");
    assert_eq!(got["actualState"]["tags"]["owner"], "it ops");
    let exported = m.dsc_json(&["resource", "export", "-r", "Azcm/Connection"]);
    let resources = exported["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{exported}");
    assert_eq!(resources[0]["properties"]["resourceName"], name);
    assert!(
        !seen.contains(&secret) && !exported.to_string().contains(&secret),
        "the secret reached dsc's output"
    );
}

#[test]
fn drift_in_arm_tags_and_the_proxy_is_found_by_test_and_repaired_by_set() {
    if !dsc_tests_run_here() {
        return;
    }
    let (o, m, params) = onboarded("dsc-02");
    // Someone changes the tags in the portal and the proxy on the machine.
    assert!(o
        .fake
        .set_machine_tags("dsc-02", serde_json::json!({"env": "prod"})));
    let run = m
        .azcm
        .json(&["config", "set", "proxy.url", "http://127.0.0.1:3128"]);
    assert_eq!(run.doc()["ok"], true);

    let (drifted, _) = o.without_requests("test", || config_op(&m, &params, &["test"]));
    let conn = connection_result(&drifted);
    assert_eq!(conn["inDesiredState"], false);
    assert_eq!(conn["differingProperties"], serde_json::json!(["tags"]));
    assert_eq!(
        conn["actualState"]["tags"],
        serde_json::json!({"env": "prod"})
    );
    let settings = drifted["results"][0]["result"].clone();
    assert_eq!(
        settings["differingProperties"],
        serde_json::json!(["proxy.url"])
    );

    let patches = o.count(azcm_fakecloud::Step::MachinePatch);
    let puts = o.count(azcm_fakecloud::Step::MachinePut);
    let (set, _) = config_op(&m, &params, &["set"]);
    assert_eq!(set["hadErrors"], false);
    assert_eq!(
        connection_result(&set)["changedProperties"],
        serde_json::json!(["tags"]),
        "{set}"
    );
    assert_eq!(
        o.count(azcm_fakecloud::Step::MachinePatch),
        patches + 1,
        "one PATCH of the tags"
    );
    assert_eq!(
        o.count(azcm_fakecloud::Step::MachinePut),
        puts,
        "the resource is not re-created"
    );
    assert_eq!(
        machine_tags(&o, "dsc-02"),
        Some(serde_json::json!({"env": "test", "owner": "it ops"}))
    );
    assert_eq!(m.config_get("proxy.url"), "");
    let (tested, _) = config_op(&m, &params, &["test"]);
    for r in tested["results"].as_array().unwrap() {
        assert_eq!(r["result"]["inDesiredState"], true, "{r}");
    }
}

#[test]
fn a_wrong_subscription_is_refused_with_its_code_and_exist_false_disconnects() {
    if !dsc_tests_run_here() {
        return;
    }
    let (o, m, _) = onboarded("dsc-03");
    let files = o.azcm.snapshot();
    let elsewhere = onboard_params(&o, "dsc-03", serde_json::json!({}), "").replace(
        &o.fake.subscription_id,
        "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
    );
    let doc = onboard_example();
    let (code, out, err) = o.without_requests(
        "a machine connected elsewhere is refused before sign-in",
        || {
            m.dsc_with_stdin(
                &["config", "--parameters-file", "-", "set", "-f", &doc],
                &elsewhere,
            )
        },
    );
    assert_eq!(code, 2, "dsc's resource failure: {out}\n{err}");
    assert!(err.contains("AZCM0067 AlreadyConnected"), "{err}");
    assert!(
        err.contains("Disconnect it first"),
        "the remediation reaches dsc: {err}"
    );
    assert!(err.contains("subscriptionId"), "{err}");
    let mut after = o.azcm.snapshot();
    // The settings resource before it converged: only the connection matters here.
    after.retain(|p, _| !p.ends_with("localconfig.json"));
    let mut kept = files.clone();
    kept.retain(|p, _| !p.ends_with("localconfig.json"));
    assert_eq!(after, kept, "a refused set changed the state");

    // _exist: false disconnects: the resource is deleted, the local state reset.
    let gone = tempfile::tempdir().unwrap();
    let gone_doc = gone.path().join("disconnect.dsc.yaml");
    std::fs::write(
        &gone_doc,
        format!(
            r#"$schema: https://aka.ms/dsc/schemas/v3/bundled/config/document.json
parameters:
  secret:
    type: secureString
resources:
  - name: Not connected
    type: Azcm/Connection
    properties:
      _exist: false
      tenantId: {}
      servicePrincipalId: {}
      servicePrincipalSecret: "[parameters('secret')]"
"#,
            o.fake.tenant_id, o.fake.client_id
        ),
    )
    .unwrap();
    let gone_doc = gone_doc.display().to_string();
    let secret = serde_json::json!({"parameters": {"secret": o.fake.client_secret}}).to_string();
    let (code, out, err) = m.dsc_with_stdin(
        &[
            "config",
            "--parameters-file",
            "-",
            "test",
            "-f",
            &gone_doc,
            "-o",
            "json",
        ],
        &secret,
    );
    assert_eq!(code, 0, "{err}");
    let tested: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        tested["results"][0]["result"]["differingProperties"],
        serde_json::json!(["_exist"])
    );
    let (code, out, err) = m.dsc_with_stdin(
        &[
            "config",
            "--parameters-file",
            "-",
            "set",
            "-f",
            &gone_doc,
            "-o",
            "json",
        ],
        &secret,
    );
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(
        machine_tags(&o, "dsc-03").is_none(),
        "the machine resource is still in Azure"
    );
    assert!(!o.azcm.config_dir().join("agentconfig.json").exists());
    let (code, out, _) = m.dsc_with_stdin(
        &[
            "config",
            "--parameters-file",
            "-",
            "test",
            "-f",
            &gone_doc,
            "-o",
            "json",
        ],
        &secret,
    );
    assert_eq!(code, 0);
    let tested: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(tested["results"][0]["result"]["inDesiredState"], true);

    // Disconnected, a subscription the service principal cannot see fails with its code.
    let (code, _, err) = m.dsc_with_stdin(
        &["config", "--parameters-file", "-", "set", "-f", &doc],
        &elsewhere,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("AZCM00"), "{err}");
    assert!(o.fake.machines().is_empty());
}

#[test]
fn the_connection_resource_protocol_without_a_cloud() {
    let m = common::Azcm::new();
    let args = |op: &str| -> Vec<String> { resource_args("azcm.connection.dsc.resource.json", op) };
    let [get, test, set, export] = ["get", "test", "set", "export"].map(args);
    fn v(a: &[String]) -> Vec<&str> {
        a.iter().map(String::as_str).collect()
    }
    let (get, test, set, export) = (v(&get), v(&test), v(&set), v(&export));

    let (code, out, _) = resource(&m, &get, "");
    assert_eq!(code, 0);
    assert_eq!(out.trim(), r#"{"_exist":false}"#);
    let (code, out, _) = resource(&m, &test, r#"{"_exist":false}"#);
    assert_eq!(code, 0);
    assert_eq!(out, "{\"_exist\":false,\"_inDesiredState\":true}\n[]\n");
    let (code, out, _) = resource(
        &m,
        &test,
        r#"{"subscriptionId":"0b1f6471-1bf0-4dda-aec3-cb9272f09590"}"#,
    );
    assert_eq!(code, 0);
    assert!(out.ends_with("[\"_exist\"]\n"), "{out}");
    let (code, out, _) = resource(&m, &export, "");
    assert_eq!((code, out.as_str()), (0, ""), "nothing to export");
    // Disconnected already: set has nothing to do and needs no sign-in.
    let (code, out, _) = resource(&m, &set, r#"{"_exist":false}"#);
    assert_eq!(code, 0);
    assert!(out.ends_with("[]\n"), "{out}");

    for (input, code_wanted) in [
        ("{}", 16),
        (
            r#"{"subscriptionId":"0b1f6471-1bf0-4dda-aec3-cb9272f09590","resourceGroup":"rg","location":"westeurope"}"#,
            16,
        ),
        (r#"{"servicePrincipalSecret":"hunter2-plain"}"#, 23),
        (r#"{"accessToken":{"secureString":"hunter2","also":1}}"#, 23),
        (r#"{"subscriptionId":"My Subscription"}"#, 23),
        (r#"{"tags":{"a":1}}"#, 23),
        (r#"{"tags":{"a/b":"1"}}"#, 23),
        (r#"{"_exist":"no"}"#, 23),
        (r#"{"bogus":1}"#, 23),
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
        assert!(
            !format!("{traces:?}").contains("hunter2"),
            "a secret in a trace: {traces:?}"
        );
    }
    assert!(!m.config_dir().join("agentconfig.json").exists());

    let (code, out, _) = resource(&m, &["dsc", "connection", "get", "--json"], "");
    assert_eq!(code, 0);
    common::validate(&serde_json::from_str(&out).unwrap());
}

#[test]
fn set_signs_in_with_a_certificate_or_a_device_code_and_force_local_only_keeps_the_resource() {
    if !dsc_tests_run_here() {
        return;
    }
    let o = common::Onboarding::new();
    let m = Machine::with(o.azcm.clone());
    let (cert, key) = o.fake.issue_client_certificate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("onboarding.pem");
    std::fs::write(&pem, format!("{cert}{key}")).unwrap();
    let place = |name: &str| {
        serde_json::json!({
            "subscriptionId": o.fake.subscription_id,
            "resourceGroup": o.fake.resource_group,
            "location": o.fake.location,
            "cloud": azcm_fakecloud::CLOUD_NAME,
            "tenantId": o.fake.tenant_id,
            "resourceName": name,
        })
    };
    let mut with_cert = place("dsc-cert");
    with_cert["servicePrincipalId"] = o.fake.client_id.clone().into();
    with_cert["servicePrincipalCertificate"] = pem.display().to_string().into();
    let set = m.dsc_json(&[
        "resource",
        "set",
        "-r",
        "Azcm/Connection",
        "-i",
        &with_cert.to_string(),
    ]);
    assert_eq!(set["afterState"]["resourceName"], "dsc-cert", "{set}");
    assert!(machine_tags(&o, "dsc-cert").is_some());

    // forceLocalOnly: this machine is reset, the resource stays (and a warning says so).
    let (code, _, err) = m.dsc(&[
        "resource",
        "set",
        "-r",
        "Azcm/Connection",
        "-i",
        r#"{"_exist":false,"forceLocalOnly":true}"#,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("forceLocalOnly resets this machine only"),
        "{err}"
    );
    assert!(machine_tags(&o, "dsc-cert").is_some());
    assert!(!o.azcm.config_dir().join("agentconfig.json").exists());

    // A device code: the person sees it at dsc's default trace level (a warn trace).
    let mut device = place("dsc-device");
    device["useDeviceCode"] = true.into();
    let (code, out, err) = m.dsc(&[
        "resource",
        "set",
        "-r",
        "Azcm/Connection",
        "-i",
        &device.to_string(),
    ]);
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(
        err.contains("enter the code"),
        "the device code is not shown: {err}"
    );
    assert!(machine_tags(&o, "dsc-device").is_some());

    // An access token, from a secureString: never in dsc's answer.
    let (code, _, err) = m.dsc(&[
        "resource",
        "set",
        "-r",
        "Azcm/Connection",
        "-i",
        r#"{"_exist":false,"forceLocalOnly":true}"#,
    ]);
    assert_eq!(code, 0, "{err}");
    let token = o.fake.issue_token();
    let mut with_token = place("dsc-token");
    with_token["accessToken"] = serde_json::json!({"secureString": token});
    let (code, out, err) = m.dsc(&[
        "resource",
        "set",
        "-r",
        "Azcm/Connection",
        "-i",
        &with_token.to_string(),
        "-o",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains(&token) && !err.contains(&token),
        "the token came back"
    );
    assert!(machine_tags(&o, "dsc-token").is_some());
    let tested = m.dsc_json(&[
        "resource",
        "test",
        "-r",
        "Azcm/Connection",
        "-i",
        &place("dsc-token").to_string(),
    ]);
    assert_eq!(tested["inDesiredState"], true, "{tested}");
}

/// What dsc would send Azcm/Connection on a machine `azcm connect` onboarded, with no engine:
/// runs against azcm.exe in the Windows tier too (agentconfig's Windows path, HIMDS, sign-in
/// from a secureString).
#[test]
fn the_connection_resource_follows_a_connected_machine_without_the_engine() {
    let o = common::Onboarding::new().with_secret_env();
    let connect = o.azcm.run(o.connect_args("proto-01"));
    assert_eq!(connect.code, 0, "{}", connect.stdout);
    // The resource reads no environment secret: it signs in only with what the instance says.
    let azcm = o.azcm.clone_with_env("AZCM_SERVICE_PRINCIPAL_SECRET", "");
    let args = |op: &str| resource_args("azcm.connection.dsc.resource.json", op);
    let (test, set) = (args("test"), args("set"));
    let test: Vec<&str> = test.iter().map(String::as_str).collect();
    let set: Vec<&str> = set.iter().map(String::as_str).collect();
    let mut desired = serde_json::json!({
        "subscriptionId": o.fake.subscription_id,
        "resourceGroup": o.fake.resource_group,
        "location": o.fake.location,
        "cloud": azcm_fakecloud::CLOUD_NAME,
        "tenantId": o.fake.tenant_id,
        "resourceName": "proto-01",
        "tags": {"env": "test"},
    });

    let (code, out, traces) =
        o.without_requests("test", || resource(&azcm, &test, &desired.to_string()));
    assert_eq!(code, 0, "{traces:?}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["_inDesiredState"], false);
    assert_eq!(lines[0]["status"], "Connected");
    assert_eq!(lines[0]["tags"], serde_json::json!({}));
    assert_eq!(lines[1], serde_json::json!(["tags"]));

    desired["servicePrincipalId"] = o.fake.client_id.clone().into();
    desired["servicePrincipalSecret"] = serde_json::json!({"secureString": o.fake.client_secret});
    let (code, out, traces) = resource(&azcm, &set, &desired.to_string());
    assert_eq!(code, 0, "{traces:?}");
    assert!(out.ends_with("[\"tags\"]\n"), "{out}");
    assert!(
        !format!("{out}{traces:?}").contains(&o.fake.client_secret),
        "the secret came back"
    );
    assert_eq!(
        machine_tags(&o, "proto-01"),
        Some(serde_json::json!({"env": "test"}))
    );
    let (code, out, _) = resource(&azcm, &test, &desired.to_string());
    assert_eq!(code, 0);
    assert!(out.ends_with("[]\n"), "{out}");

    // Elsewhere: refused before any request; then _exist false deletes the resource.
    let mut elsewhere = desired.clone();
    elsewhere["resourceGroup"] = "another-rg".into();
    let (code, _, traces) = o.without_requests("refused before sign-in", || {
        resource(&azcm, &set, &elsewhere.to_string())
    });
    assert_eq!(code, 67, "{traces:?}");
    desired["_exist"] = false.into();
    let (code, out, traces) = resource(&azcm, &set, &desired.to_string());
    assert_eq!(code, 0, "{traces:?}");
    assert_eq!(out, "{\"_exist\":false}\n[\"_exist\"]\n");
    assert!(machine_tags(&o, "proto-01").is_none());
    assert!(!o.azcm.config_dir().join("agentconfig.json").exists());
}
