//! Test harness: runs the real azcm binary on a private state root and checks its JSON
//! contract. `AZCM_TEST_BIN` selects another binary (e.g. azcm.exe) and `AZCM_TEST_WRAPPER`
//! a program to run it with (e.g. wine); product code knows nothing of either.
#![allow(dead_code)]
pub mod pwsh;

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub struct Run {
    /// What ran, for failure messages.
    pub what: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(what: String, out: &std::process::Output) -> Self {
        Run {
            what,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The single JSON document on stdout (fails if there is anything else).
    pub fn doc(&self) -> Value {
        let trimmed = self.stdout.trim();
        let mut stream = serde_json::Deserializer::from_str(trimmed).into_iter::<Value>();
        let first = stream
            .next()
            .unwrap_or_else(|| {
                panic!(
                    "{}: exit {}, no JSON on stdout; stderr: {}",
                    self.what, self.code, self.stderr
                )
            })
            .unwrap_or_else(|e| panic!("{}: stdout is not JSON ({e}): {}", self.what, self.stdout));
        assert!(
            stream.next().is_none(),
            "more than one JSON document on stdout: {}",
            self.stdout
        );
        first
    }

    pub fn error_code(&self) -> String {
        self.doc()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

pub fn binary() -> PathBuf {
    std::env::var_os("AZCM_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_azcm")))
}

pub fn wrapper() -> Option<String> {
    std::env::var("AZCM_TEST_WRAPPER")
        .ok()
        .filter(|w| !w.is_empty())
}

/// Whether the binary under test is a Windows one (run under Wine here).
pub fn windows_binary() -> bool {
    binary()
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("exe"))
}

/// A host path as the binary under test sees it: Wine maps the Unix root to drive Z:.
pub fn native_path(path: &Path) -> String {
    if windows_binary() && cfg!(unix) {
        format!("Z:{}", path.display()).replace('/', "\\")
    } else {
        path.display().to_string()
    }
}

/// A path printed by the binary under test, as a host path.
pub fn host_path(printed: &str) -> PathBuf {
    match printed
        .strip_prefix("Z:")
        .or_else(|| printed.strip_prefix("z:"))
    {
        Some(rest) if windows_binary() && cfg!(unix) => PathBuf::from(rest.replace('\\', "/")),
        _ => PathBuf::from(printed),
    }
}

/// Exit 1 with nothing on either stream, from a run under a wrapper (Wine).
fn wine_start_failure(out: &std::process::Output) -> bool {
    wrapper().is_some()
        && out.status.code() == Some(1)
        && out.stdout.is_empty()
        && out.stderr.is_empty()
}

/// Appends the rerun to `AZCM_WINE_RERUN_LOG` (set by scripts/windows-tier.sh), so the tier
/// prints how many runs Wine failed to start.
fn note_wine_rerun(what: &str) {
    use std::io::Write;
    eprintln!("Wine failed to start {what} (exit 1, no output); running it once more");
    if let Some(log) = std::env::var_os("AZCM_WINE_RERUN_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{what}");
        }
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// azcm's lock files (`.azcm.lock`, `.azcm.change.lock`): they hold the last holder's pid,
/// not state.
pub fn is_lock_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(".azcm.") && n.ends_with(".lock"))
}

/// A private agent state root plus a way to run azcm on it.
#[derive(Clone)]
pub struct Azcm {
    dir: std::sync::Arc<tempfile::TempDir>,
    env: Vec<(String, String)>,
}

impl Default for Azcm {
    fn default() -> Self {
        Self::new()
    }
}

impl Azcm {
    pub fn new() -> Self {
        Self {
            dir: std::sync::Arc::new(tempfile::tempdir().expect("temp dir")),
            env: Vec::new(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The extra environment this root's runs get (cloud file, CA, endpoints).
    pub fn env_vars(&self) -> &[(String, String)] {
        &self.env
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The same state root with none of the extra environment (cloud file, CA, endpoints).
    pub fn same_root_only(&self) -> Self {
        Self {
            dir: self.dir.clone(),
            env: Vec::new(),
        }
    }

    /// The same state root with one more environment variable.
    pub fn clone_with_env(&self, key: &str, value: &str) -> Self {
        self.clone().env(key, value)
    }

    /// The agent's folder under this root, in the layout of the binary's platform.
    fn agent_dir(&self) -> PathBuf {
        if windows_binary() {
            self.root().join("ProgramData/AzureConnectedMachineAgent")
        } else {
            self.root().join("var/opt/azcmagent")
        }
    }

    /// Where agentconfig.json and localconfig.json live.
    pub fn config_dir(&self) -> PathBuf {
        if windows_binary() {
            self.agent_dir().join("Config")
        } else {
            self.agent_dir()
        }
    }

    pub fn certs_dir(&self) -> PathBuf {
        if windows_binary() {
            self.agent_dir().join("Certs")
        } else {
            self.agent_dir().join("certs")
        }
    }

    pub fn local_config(&self) -> PathBuf {
        self.config_dir().join("localconfig.json")
    }

    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = match wrapper() {
            Some(w) => {
                let mut c = Command::new(w);
                c.arg(binary());
                c
            }
            None => Command::new(binary()),
        };
        // Loopback only: unless a test points them at the fake, IMDS and HIMDS are a closed
        // loopback port, never 169.254.169.254.
        cmd.args(args)
            .env("AZCM_ROOT", native_path(self.root()))
            .env("AZCM_IMDS_ENDPOINT", "http://127.0.0.1:9")
            .env("AZCM_HIMDS_ENDPOINT", "http://127.0.0.1:9")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// A shell command line run in a pseudo-terminal (util-linux `script`) with this state
    /// root's environment: where a person would sit (prompts, progress, Ctrl+C).
    /// The shell stands for the person's interactive shell, which outlives a Ctrl+C typed at
    /// the command it runs: it catches SIGINT (its children get the default back on exec), and
    /// it is named, because `script` runs `$SHELL` and dash without the trap dies with the
    /// command before printing what follows it (CI has no SHELL; bash happens to survive).
    pub fn in_pseudo_terminal(&self, line: &str) -> Command {
        let inner = self.command(Vec::<&str>::new());
        let mut script = Command::new("script");
        script.args(["-qec", &format!("trap : INT; {line}"), "/dev/null"]);
        for (key, value) in inner.get_envs() {
            if let Some(value) = value {
                script.env(key, value);
            }
        }
        script.env("SHELL", "/bin/sh");
        script
    }

    /// Runs azcm in a network namespace of its own with only loopback up (`unshare -n`):
    /// nothing it sends can leave the machine, and no name resolves.
    pub fn run_offline(&self, args: &[&str]) -> Run {
        let inner = self.command(args);
        let mut cmd = Command::new("unshare");
        cmd.args(["-n", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""])
            .arg(inner.get_program())
            .args(inner.get_args())
            .stdin(Stdio::null());
        for (key, value) in inner.get_envs() {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        let what = format!("offline {:?}", args);
        let out = cmd.output().expect("run unshare");
        Run::from_output(what, &out)
    }

    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<S> = args.into_iter().collect();
        let mut cmd = self.command(&args);
        let what = format!("{:?}", cmd.get_args().collect::<Vec<_>>());
        let mut out = cmd.output().expect("run azcm");
        if wine_start_failure(&out) {
            // Wine, not azcm: azcm always prints something when it exits 1, so an exit 1 with
            // both streams empty is Wine failing to start the process (seen once in ~100 CI
            // tier runs). Run it once more, and record it for the tier's summary.
            note_wine_rerun(&what);
            out = self.command(&args).output().expect("run azcm");
        }
        Run::from_output(what, &out)
    }

    /// Runs with `--json`, checks the contract (one document, valid against the command's
    /// schema, exit code = error number) and returns the run.
    pub fn json(&self, args: &[&str]) -> Run {
        let mut full: Vec<&str> = vec!["--json"];
        full.extend_from_slice(args);
        let run = self.run(&full);
        assert_contract(&run);
        run
    }

    /// Every regular file under the root with its bytes: "state unchanged" means equal snapshots.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self.root().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if !is_lock_file(&path) {
                    out.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
                }
            }
        }
        out
    }
}

/// Runs azcm as the unprivileged user `nobody` (via setpriv), with `AZCM_ROOT` set or removed.
/// `None` (with the reason printed) where that cannot be done honestly: not root, or a binary
/// nobody may execute.
#[cfg(target_os = "linux")]
pub fn run_as_unprivileged(args: &[&str], azcm_root: Option<&Path>) -> Option<Run> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    if !is_root {
        eprintln!("skipped: needs root to run azcm as an unprivileged user (setpriv)");
        return None;
    }
    let run = |args: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(binary())
            .args(args);
        cmd.env("AZCM_IMDS_ENDPOINT", "http://127.0.0.1:9")
            .env("AZCM_HIMDS_ENDPOINT", "http://127.0.0.1:9");
        match azcm_root {
            Some(root) => cmd.env("AZCM_ROOT", native_path(root)),
            None => cmd.env_remove("AZCM_ROOT"),
        };
        let what = format!("{:?}", cmd.get_args().collect::<Vec<_>>());
        let out = cmd.output().expect("setpriv");
        Run::from_output(what, &out)
    };
    let probe = run(&["version", "--json"]);
    if probe.code != 0 {
        eprintln!(
            "skipped: the test binary is not executable by an unprivileged user: {}",
            probe.stderr
        );
        return None;
    }
    Some(run(args))
}

/// The JSON contract every --json run must keep.
pub fn assert_contract(run: &Run) {
    // 101 is also Rust's exit code for a panic that escaped: it must be AZCM0101's document.
    assert!(
        !run.stderr.contains("panicked at"),
        "azcm panicked: {}",
        run.stderr
    );
    let doc = run.doc();
    if run.code == 101 {
        assert_eq!(
            doc["error"]["code"], "AZCM0101",
            "exit 101 without AZCM0101: {doc:#}"
        );
    }
    validate(&doc);
    let ok = doc["ok"].as_bool().expect("ok is a boolean");
    if ok {
        assert_eq!(run.code, 0, "ok:true but exit code {}", run.code);
    } else {
        let exit = doc["error"]["exitCode"].as_i64().expect("exitCode");
        assert_eq!(
            i64::from(run.code),
            exit,
            "exit code differs from error.exitCode"
        );
        let code = doc["error"]["code"].as_str().unwrap();
        assert_eq!(code, format!("AZCM{exit:04}"));
    }
}

fn schemas() -> &'static HashMap<String, jsonschema::Validator> {
    static CELL: OnceLock<HashMap<String, jsonschema::Validator>> = OnceLock::new();
    CELL.get_or_init(|| {
        let dir = repo_root().join("docs/json");
        let mut docs = Vec::new();
        // docs/json/dsc/ holds the DSC resources' instance schemas, named "dsc/<file>".
        for (sub, prefix) in [(dir.clone(), ""), (dir.join("dsc"), "dsc/")] {
            for entry in std::fs::read_dir(&sub).expect("docs/json") {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if name.ends_with(".schema.json") {
                    let value: Value =
                        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                    docs.push((format!("{prefix}{name}"), value));
                }
            }
        }
        let mut registry = jsonschema::Registry::new();
        for (_, value) in &docs {
            let id = value["$id"]
                .as_str()
                .expect("every schema has an $id")
                .to_string();
            registry = registry.add(id, value.clone()).expect("schema resource");
        }
        let registry = registry.prepare().expect("schema registry");
        let registry: &'static _ = Box::leak(Box::new(registry));
        docs.iter()
            .map(|(name, value)| {
                let validator = jsonschema::options()
                    .with_registry(registry)
                    .build(value)
                    .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"));
                (name.clone(), validator)
            })
            .collect()
    })
}

pub fn schema_for(command: &str) -> String {
    if command.is_empty() {
        "envelope.schema.json".to_string()
    } else {
        format!("{}.schema.json", command.replace(' ', "-"))
    }
}

/// Validates a document against docs/json/<command>.schema.json (and so the envelope).
/// A failure of a group command (`config` without a subcommand) has no result schema of its
/// own and is checked against the envelope; every success must have its command's schema.
pub fn validate(doc: &Value) {
    let command = doc["command"].as_str().unwrap_or("");
    let mut schema = schema_for(command);
    if doc["ok"] == Value::Bool(false) && !schemas().contains_key(&schema) {
        schema = "envelope.schema.json".to_string();
    }
    validate_with(&schema, doc);
}

pub fn validate_with(schema: &str, doc: &Value) {
    let validator = schemas()
        .get(schema)
        .unwrap_or_else(|| panic!("no schema docs/json/{schema} for {doc}"));
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{schema} rejects {doc:#}:\n{}",
        errors.join("\n")
    );
}

/// A fake Azure cloud plus an azcm state root wired to it through azcm's public knobs
/// (cloud definition file, extra trusted roots, IMDS address).
pub struct Onboarding {
    pub fake: azcm_fakecloud::FakeCloud,
    pub azcm: Azcm,
}

impl Onboarding {
    pub fn new() -> Self {
        let fake = azcm_fakecloud::FakeCloud::start().expect("fake cloud");
        fake.update_settings(|s| s.registration_polls = 0);
        let azcm = Azcm::new();
        let files = azcm.root().join("fakecloud");
        let (cloud_file, ca_file) = fake.write_files(&files).expect("fake cloud files");
        let azcm = azcm
            .env("AZCM_CLOUD_FILE", &native_path(&cloud_file))
            .env("AZCM_EXTRA_CA_CERTS", &native_path(&ca_file))
            .env("AZCM_IMDS_ENDPOINT", &fake.imds_url)
            .env("AZCM_HIMDS_ENDPOINT", &fake.himds_url);
        Self { fake, azcm }
    }

    /// `connect` arguments for the fake's ready tenant, subscription and resource group.
    pub fn connect_args<'a>(&'a self, name: &'a str) -> Vec<&'a str> {
        vec![
            "connect",
            "--subscription-id",
            &self.fake.subscription_id,
            "--resource-group",
            &self.fake.resource_group,
            "--location",
            &self.fake.location,
            "--resource-name",
            name,
            "--cloud",
            azcm_fakecloud::CLOUD_NAME,
            "--service-principal-id",
            &self.fake.client_id,
            "--tenant-id",
            &self.fake.tenant_id,
        ]
    }

    pub fn with_secret_env(mut self) -> Self {
        let secret = self.fake.client_secret.clone();
        self.azcm = self.azcm.env("AZCM_SERVICE_PRINCIPAL_SECRET", &secret);
        self
    }

    pub fn disconnect_args(&self) -> Vec<&str> {
        vec![
            "disconnect",
            "--service-principal-id",
            &self.fake.client_id,
            "--tenant-id",
            &self.fake.tenant_id,
        ]
    }

    /// Runs `act` and asserts the fake saw no request meanwhile (`why` says what should have
    /// stopped them).
    pub fn without_requests<T>(&self, why: &str, act: impl FnOnce() -> T) -> T {
        let before = self.fake.requests().len();
        let result = act();
        assert_eq!(self.fake.requests().len(), before, "{why}");
        result
    }

    /// Requests the fake saw for a step.
    pub fn count(&self, step: azcm_fakecloud::Step) -> usize {
        self.fake
            .requests()
            .iter()
            .filter(|r| r.step == step)
            .count()
    }
}

/// Kills a child that runs past its limit, so a hang fails its test instead of stalling the
/// suite.
pub struct Watchdog {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<bool>,
}

impl Watchdog {
    pub fn start(pid: u32, limit: std::time::Duration) -> Self {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = {
            let done = done.clone();
            std::thread::spawn(move || {
                let until = std::time::Instant::now() + limit;
                while std::time::Instant::now() < until {
                    if done.load(std::sync::atomic::Ordering::SeqCst) {
                        return false;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                #[cfg(unix)]
                // SAFETY: signals the child the caller spawned and has not reaped yet.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGKILL);
                }
                #[cfg(not(unix))]
                let _ = pid;
                true
            })
        };
        Self { done, thread }
    }

    /// Call once the child has exited; whether the watchdog had to kill it.
    pub fn stop(self) -> bool {
        self.done.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.join().unwrap()
    }
}
