//! Everything that differs between Windows and Linux lives here, behind one interface:
//! the agent's system layout, elevation, file protection and durable file-system operations.
//! No other module uses `cfg(windows)` / `cfg(unix)`.

use serde::Serialize;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// Where the agent keeps its state on this platform, before any `AZCM_ROOT` re-rooting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemLayout {
    /// Folder holding `agentconfig.json` and `localconfig.json`.
    pub config_dir: PathBuf,
    pub log_dir: PathBuf,
    pub certs_dir: PathBuf,
    pub tokens_dir: PathBuf,
    /// Guest configuration (machine configuration) agent folder.
    pub guest_config_dir: PathBuf,
    /// Where extension handlers are installed.
    pub extensions_dir: PathBuf,
    /// Where extensions write their own logs.
    pub extension_logs_dir: PathBuf,
    /// The Azure VM agent's logs (an Arc machine that is really an Azure VM, or a migrated one).
    pub vm_agent_logs_dir: PathBuf,
    /// File-name prefix of the VM agent's logs in that folder (empty: every file).
    pub vm_agent_log_prefix: &'static str,
    /// The VM agent's configuration file where the platform has one at a known place
    /// (Linux: /etc/waagent.conf).
    pub vm_agent_config: Option<PathBuf>,
}

/// The platform name as azcm reports it (`windows`, `linux`, ...).
pub const OS: &str = std::env::consts::OS;

/// The agent's layout on this machine, from the platform's own sources
/// (known folders on Windows, the FHS paths the Linux agent uses).
pub fn system_layout() -> io::Result<SystemLayout> {
    imp::system_layout()
}

/// True when the process runs with administrative rights (elevated token / effective uid 0).
pub fn is_elevated() -> bool {
    imp::is_elevated()
}

/// Creates a new file (failing if it exists) that only its rightful readers can open:
/// mode 0600 on Linux; a protected DACL of SYSTEM and Administrators on Windows.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    imp::create_private_file(path)
}

/// Creates a folder and its parents; the last component gets owner-only access.
pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    imp::create_private_dir_all(path)
}

/// Makes a rename inside `dir` durable (fsync of the folder where the platform needs it).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    imp::sync_dir(dir)
}

/// Whether a path's last component may be a link that is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// A path the admin named (a --config file, a certificate): a link there is theirs.
    Follow,
    /// A path inside the agent's folders, where a link may have been planted.
    Refuse,
}

/// What an opened path turned out to be when azcm wants a regular file.
/// A file inside the agent's folders that has other names: a planted hard link to some other
/// file, never read or written as if it were the agent's.
fn hard_linked() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "it has more than one name (a hard link to another file, planted there), so azcm does not use it",
    )
}

fn not_a_regular_file(kind: &str) -> io::Error {
    let why = if kind == "a symbolic link" || kind.contains("reparse point") {
        format!("it is {kind}, which azcm does not follow here")
    } else {
        format!("it is {kind}, not a regular file")
    };
    io::Error::new(io::ErrorKind::InvalidInput, why)
}

fn not_a_regular_folder(kind: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {kind}, not a folder"),
    )
}

/// What a directory entry is, for messages: "a FIFO (named pipe)", "a symbolic link", ...
pub fn describe_file_type(file_type: std::fs::FileType) -> &'static str {
    imp::file_kind(file_type)
}

/// Opens a regular file for reading, never a FIFO, device, socket or folder: the type is
/// decided without blocking (no FIFO can hang the open) and checked again on the opened
/// handle. With [`Links::Refuse`], a link or (Windows) reparse point at the last component is
/// refused, not followed. Errors of kind `InvalidInput` say what the path was instead.
pub fn open_regular(path: &Path, links: Links) -> io::Result<File> {
    imp::open_regular(path, links)
}

/// Ctrl+C (SIGINT; on Windows the console's Ctrl+C and Ctrl+Break) from now on only marks the
/// run as interrupted: commands notice it at their next step and end with AZCM0011, leaving
/// state as the crash-safety rules leave it. A second one ends the process at once (exit 130).
pub fn watch_interrupts() {
    imp::watch_interrupts()
}

/// Whether Ctrl+C was pressed since [`watch_interrupts`].
pub fn interrupted() -> bool {
    imp::interrupted()
}

/// While held, what is typed on the terminal at stdin is not shown (a secret being entered);
/// the terminal's settings come back when it is dropped, however the read ends.
pub struct HiddenInput(#[allow(dead_code)] imp::HiddenInput);

/// Turns off the echo of stdin's terminal (termios ECHO; the console's ENABLE_ECHO_INPUT).
pub fn hide_input() -> io::Result<HiddenInput> {
    imp::HiddenInput::start().map(HiddenInput)
}

/// One of the agent's state folders (config, certs), opened once and checked — a real folder,
/// not a link or junction; on Linux owned by this user or root and closed to others' writes —
/// then used through that handle for every file in it (docs/limits.md).
pub struct StateDir {
    inner: imp::StateDir,
    path: PathBuf,
}

impl StateDir {
    /// Opens the folder, creating it (and what is missing above it) privately when `create`.
    pub fn open(path: &Path, create: bool) -> io::Result<Self> {
        let inner = imp::StateDir::open(path, create)
            .map_err(|e| io::Error::new(e.kind(), format!("the folder {}: {e}", path.display())))?;
        Ok(Self {
            inner,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new owner-only file; fails when anything (a link too) is at `name`.
    pub fn create_new(&self, name: &str) -> io::Result<File> {
        self.inner.create_new(name)
    }

    /// A regular file with a single name, never through a link, never blocking.
    pub fn open_read(&self, name: &str) -> io::Result<File> {
        self.inner.open_read(name)
    }

    /// The lock file `name`, created when missing: owner-only, never through a link, a regular
    /// file owned by this user with one name (one planted by another user, or a hard link to
    /// another file, is removed and made anew).
    pub fn open_lock(&self, name: &str) -> io::Result<File> {
        self.inner.open_lock(name)
    }

    /// Replaces `to` with `from`, both in this folder.
    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.inner.rename(from, to)
    }

    pub fn remove(&self, name: &str) -> io::Result<()> {
        self.inner.remove(name)
    }

    /// Makes renames and removals in the folder durable (Linux: fsync of the folder).
    pub fn sync(&self) -> io::Result<()> {
        self.inner.sync()
    }

    /// The names of the regular files in the folder.
    pub fn file_names(&self) -> io::Result<Vec<String>> {
        self.inner.file_names()
    }
}

/// Creates one new folder only this user (Windows: SYSTEM, Administrators and the owner) can
/// enter; fails if anything exists at `path`.
fn create_private_dir(path: &Path) -> io::Result<()> {
    imp::create_private_dir(path)
}

/// A new private folder in `parent` named `<prefix><pid>-<random>` (mkdtemp-style), for work
/// files nobody else can see or plant anything in.
pub fn create_private_temp_dir(parent: &Path, prefix: &str) -> io::Result<PathBuf> {
    for _ in 0..16 {
        let path = parent.join(format!(
            "{prefix}{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        match create_private_dir(&path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            other => return other.map(|()| path),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a unique private folder",
    ))
}

/// Whether `path` is a folder (not a link) this user owns and nobody else may enter: only
/// such leftovers of a killed azcm are removed.
pub fn is_own_private_dir(path: &Path) -> bool {
    imp::is_own_private_dir(path)
}

/// Where an opened file really is (every link in its path resolved).
pub fn opened_path(file: &File) -> io::Result<PathBuf> {
    imp::opened_path(file)
}

/// Whether a process with this id is running.
pub fn process_alive(pid: u32) -> bool {
    imp::process_alive(pid)
}

/// Whether `path` is readable or writable by users other than its owner, administrators and
/// the system: used to warn about state files whose protection was loosened outside azcm.
pub fn is_exposed(path: &Path) -> io::Result<bool> {
    imp::is_exposed(path)
}

/// The agent's services, in Arc's vocabulary; each platform names them its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AgentService {
    /// Hybrid Instance Metadata Service: the machine's identity and connection to Azure.
    Himds,
    /// The guest configuration (machine configuration) policy agent.
    GuestConfiguration,
    /// The extension manager.
    ExtensionManager,
    /// Azure Arc Proxy, which routes agent traffic through an Arc gateway.
    ArcProxy,
}

impl AgentService {
    pub const ALL: [AgentService; 4] = [
        AgentService::Himds,
        AgentService::GuestConfiguration,
        AgentService::ExtensionManager,
        AgentService::ArcProxy,
    ];

    /// The service (Windows) or unit (Linux, without `.service`) name.
    pub fn service_name(self) -> &'static str {
        imp::service_name(self)
    }

    pub fn display_name(self) -> &'static str {
        match self {
            AgentService::Himds => "Azure Hybrid Instance Metadata Service",
            AgentService::GuestConfiguration => "Guest Configuration Arc Service",
            AgentService::ExtensionManager => "Guest Configuration Extension Service",
            AgentService::ArcProxy => "Azure Arc Proxy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ServiceState {
    Stopped,
    StartPending,
    StopPending,
    Running,
    ContinuePending,
    PausePending,
    Paused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    pub name: String,
    pub state: ServiceState,
    pub pid: Option<u32>,
}

/// A service's status, or `None` when it is not installed (or there is no service manager).
pub fn query_service(name: &str) -> io::Result<Option<ServiceStatus>> {
    imp::query_service(name)
}

fn not_installed(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("service {name} is not installed"),
    )
}

/// Polls until the service reaches `target`; the platform calls only ask for the change.
fn wait_for(name: &str, target: ServiceState, timeout: Duration) -> io::Result<ServiceStatus> {
    let started = Instant::now();
    loop {
        let status = query_service(name)?.ok_or_else(|| not_installed(name))?;
        if status.state == target {
            return Ok(status);
        }
        if started.elapsed() >= timeout {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "service {name} is {:?}, not {target:?}, after {}s",
                    status.state,
                    timeout.as_secs()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts a service and waits until it runs.
pub fn start_service(name: &str, timeout: Duration) -> io::Result<ServiceStatus> {
    let status = query_service(name)?.ok_or_else(|| not_installed(name))?;
    if status.state != ServiceState::Running {
        imp::request_start(name)?;
    }
    wait_for(name, ServiceState::Running, timeout)
}

/// Stops a service and waits until it has stopped.
pub fn stop_service(name: &str, timeout: Duration) -> io::Result<ServiceStatus> {
    let status = query_service(name)?.ok_or_else(|| not_installed(name))?;
    if status.state != ServiceState::Stopped {
        imp::request_stop(name)?;
    }
    wait_for(name, ServiceState::Stopped, timeout)
}

/// Stops (when running) and starts a service, each step within `timeout`.
pub fn restart_service(name: &str, timeout: Duration) -> io::Result<ServiceStatus> {
    stop_service(name, timeout)?;
    start_service(name, timeout)
}

/// What restarting one agent service came to, as connect's and disconnect's results list it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOutcome {
    pub name: String,
    /// `restarted`, `notInstalled` or `failed: <why>`.
    pub result: String,
}

/// How long one agent service may take to stop, and then to start.
const AGENT_SERVICE_TIMEOUT: Duration = Duration::from_secs(60);

/// Restarts the agent services that are installed, so they pick up a new agent state; absent
/// ones are reported, failures are warnings and results, never errors.
pub fn restart_agent_services(report: &dyn crate::report::Reporter) -> Vec<ServiceOutcome> {
    AgentService::ALL
        .iter()
        .map(|service| {
            let name = service.service_name();
            let result = match query_service(name) {
                Ok(None) => "notInstalled".to_string(),
                Ok(Some(_)) => match restart_service(name, AGENT_SERVICE_TIMEOUT) {
                    Ok(_) => "restarted".to_string(),
                    Err(e) => {
                        report.warning(&format!("could not restart {name}: {e}"));
                        format!("failed: {e}")
                    }
                },
                Err(e) => {
                    report.warning(&format!("could not query {name}: {e}"));
                    format!("failed: {e}")
                }
            };
            ServiceOutcome {
                name: name.to_string(),
                result,
            }
        })
        .collect()
}

/// The Azure VM guest agent's service when it is installed — one of the signs, besides IMDS,
/// that this machine is an Azure VM (Windows: WindowsAzureGuestAgent or RdAgent, as the Azure
/// Windows VM Agent documentation names them; Linux: walinuxagent or waagent).
pub fn azure_guest_agent() -> io::Result<Option<ServiceStatus>> {
    for name in imp::AZURE_GUEST_AGENT_SERVICES {
        if let Some(status) = query_service(name)? {
            return Ok(Some(status));
        }
    }
    Ok(None)
}

/// The machine's host name (the default resource name for `connect`).
pub fn hostname() -> io::Result<String> {
    imp::hostname()
}

/// What the machine says about itself, for the machine resource. Each fact that cannot be read
/// is `None`; the caller warns and leaves it out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OsFacts {
    /// `windows` or `linux`, as ARM's osType.
    pub os_type: String,
    /// Kernel release (Linux) or build (Windows).
    pub os_version: Option<String>,
    /// The product: "Ubuntu 24.04.1 LTS", "Windows Server 2022 Datacenter".
    pub os_sku: Option<String>,
    /// Fully qualified DNS name.
    pub fqdn: Option<String>,
    /// DNS domain (the Active Directory domain on a domain-joined Windows machine).
    pub domain: Option<String>,
    /// The cloud the machine runs in, from its firmware: `AWS`, `GCP`, `OCI`, or `N/A` (none known).
    pub cloud_provider: Option<String>,
}

/// Cloud provider from the firmware's manufacturer, product and BIOS vendor strings.
pub fn cloud_provider_from_firmware(strings: &[String]) -> String {
    let all = strings.join(" ").to_ascii_lowercase();
    if all.contains("amazon") {
        "AWS".into()
    } else if all.contains("google") {
        "GCP".into()
    } else if all.contains("oraclecloud") || all.contains("oracle cloud") {
        "OCI".into()
    } else {
        "N/A".into()
    }
}

pub fn os_facts() -> OsFacts {
    imp::os_facts()
}

/// The hardware as SMBIOS describes it; what cannot be read (e.g. the UUID without root on
/// Linux) is `None`, never guessed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hardware {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub vm_uuid: Option<String>,
}

pub fn hardware() -> Hardware {
    imp::hardware()
}

/// The system UUID of an SMBIOS structure table (type 1, System Information), formatted as
/// the OS shows it (SMBIOS 2.6+: the first three fields little-endian). All-zero and all-FF
/// UUIDs mean "not set".
pub fn smbios_uuid(table: &[u8]) -> Option<String> {
    let mut at = 0usize;
    while at + 4 <= table.len() {
        let kind = table[at];
        let len = table[at + 1] as usize;
        if len < 4 || at + len > table.len() {
            return None;
        }
        if kind == 1 && len >= 0x19 {
            let u = &table[at + 8..at + 24];
            if u.iter().all(|b| *b == 0) || u.iter().all(|b| *b == 0xFF) {
                return None;
            }
            return Some(format!(
                "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
                u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]
            ));
        }
        if kind == 127 {
            return None;
        }
        // The strings after the formatted area end with a double NUL.
        let mut end = at + len;
        while end + 1 < table.len() && !(table[end] == 0 && table[end + 1] == 0) {
            end += 1;
        }
        at = end + 2;
    }
    None
}

/// How extension handler folders are named under the extensions folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionLayout {
    /// Windows: `Packages\Plugins\<Publisher.Type>\<version>`.
    NameThenVersion,
    /// Linux: `/var/lib/waagent/<Publisher.Type>-<version>`.
    NameDashVersion,
}

pub const EXTENSION_LAYOUT: ExtensionLayout = imp::EXTENSION_LAYOUT;

/// The extension service's stop command, for messages.
pub fn stop_service_hint(name: &str) -> String {
    imp::stop_service_hint(name)
}

/// How a handler command ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandOutcome {
    pub command: String,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub ms: u64,
    /// The last lines it printed (stdout and stderr), for the report.
    pub output_tail: String,
}

/// The most of a handler command's output azcm keeps, per stream: the last bytes it printed.
pub const MAX_COMMAND_OUTPUT_TAIL: usize = 64 << 10;

/// The last [`MAX_COMMAND_OUTPUT_TAIL`] bytes of a stream, however much passes through.
#[derive(Default)]
struct OutputTail {
    bytes: Vec<u8>,
}

impl OutputTail {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        // Trimmed in steps (at twice the cap) so the copying stays linear in what is read.
        if self.bytes.len() > 2 * MAX_COMMAND_OUTPUT_TAIL {
            let cut = self.bytes.len() - MAX_COMMAND_OUTPUT_TAIL;
            self.bytes.drain(..cut);
        }
    }

    fn into_bytes(mut self) -> Vec<u8> {
        let cut = self.bytes.len().saturating_sub(MAX_COMMAND_OUTPUT_TAIL);
        self.bytes.drain(..cut);
        self.bytes
    }
}

/// Runs an extension handler's command (from its HandlerManifest.json) in its folder through
/// the platform's shell, killing it after `timeout`.
pub fn run_handler_command(
    dir: &Path,
    command: &str,
    timeout: Duration,
) -> io::Result<CommandOutcome> {
    use std::io::Read;
    let started = Instant::now();
    let mut child = imp::shell_command(command)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    // The handler and everything it starts, so a timeout stops all of it (a killed shell's
    // children would otherwise keep running and hold the folder).
    let tree = imp::ProcessTree::adopt(&child);
    let deadline = started + timeout;
    // Drain the pipes on threads so a chatty handler never blocks on a full pipe; each keeps
    // only the tail of what it reads (memory stays bounded whatever the handler prints) and
    // hands it over through a channel, so azcm can stop waiting for it.
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        let (sender, receiver) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            let mut tail = OutputTail::default();
            if let Some(mut p) = pipe {
                let mut chunk = [0u8; 8192];
                loop {
                    match p.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => tail.push(&chunk[..n]),
                    }
                }
            }
            let _ = sender.send(tail.into_bytes());
        });
        receiver
    };
    let out_pipe = child
        .stdout
        .take()
        .map(|p| Box::new(p) as Box<dyn Read + Send>);
    let err_pipe = child
        .stderr
        .take()
        .map(|p| Box::new(p) as Box<dyn Read + Send>);
    let out_tail = reader(out_pipe);
    let err_tail = reader(err_pipe);
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        // Ctrl+C stops the handler like a timeout does.
        if Instant::now() >= deadline || interrupted() {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // What the handler left running (`sleep 25 &`, a helper) is stopped with it: the extension
    // is being removed. A process that left the tree (a daemon) may still hold the pipes, so
    // their tails are waited for briefly, never past the deadline.
    tree.kill();
    let grace = deadline
        .saturating_duration_since(Instant::now())
        .min(Duration::from_secs(2));
    let until = Instant::now() + grace;
    let collect = |r: std::sync::mpsc::Receiver<Vec<u8>>| -> Vec<u8> {
        r.recv_timeout(until.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    };
    let mut text = String::from_utf8_lossy(&collect(out_tail)).into_owned();
    text.push_str(&String::from_utf8_lossy(&collect(err_tail)));
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    Ok(CommandOutcome {
        command: command.to_string(),
        exit_code: status.and_then(|s| s.code()),
        timed_out,
        ms: started.elapsed().as_millis() as u64,
        output_tail: tail,
    })
}

/// What the operating system's own logs gave `logs`: what kind they are (`journal`,
/// `eventlog`), files written under the work folder with their names in the archive, and what
/// could not be exported, with why.
#[derive(Debug)]
pub struct SystemLogs {
    pub component: &'static str,
    pub files: Vec<(String, PathBuf)>,
    pub failed: Vec<(String, String)>,
}

/// The agent's entries in the system's logs, written into `work` (an existing private folder):
/// the agent services' journal on Linux with systemd; on Windows the event-log entries of
/// [`event_log_queries`] rendered as XML. Bounded by `timeout` overall.
pub fn system_logs(work: &Path, full: bool, timeout: Duration) -> SystemLogs {
    imp::system_logs(work, full, timeout)
}

/// One event-log export: the archive name, the channel, and the XPath filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLogQuery {
    pub name: &'static str,
    pub channel: &'static str,
    pub xpath: String,
}

/// Event sources of the agent and of the Azure VM agent (present only on Azure VMs).
const AGENT_EVENT_SOURCES: &[&str] = &[
    "himds",
    "GCArcService",
    "ExtensionService",
    "arcproxy",
    "AzureConnectedMachineAgent",
    "WindowsAzureGuestAgent",
    "RdAgent",
];

/// The Windows VM agent's services as the Service Control Manager names them in its events.
const AZURE_GUEST_AGENT_DISPLAY_NAMES: &[&str] = &["Windows Azure Guest Agent", "RdAgent"];

/// Windows Installer results (install, remove, repair, failure) of any product: the agent's
/// own installs and upgrades are among them.
const INSTALLER_EVENT_IDS: &[u32] = &[1033, 1034, 1035, 11707, 11708, 11724, 11728];

/// Newest entries kept per journal or event-log query: weeks of agent activity, bounded for a
/// busy server.
pub fn system_log_limit(full: bool) -> usize {
    if full {
        20_000
    } else {
        2_000
    }
}

/// What `logs` exports from the Windows event logs: the agent's and the VM agent's entries in
/// the Application log, the Service Control Manager's entries about their services in the
/// System log, and Windows Installer results.
pub fn event_log_queries() -> Vec<EventLogQuery> {
    let or = |parts: Vec<String>| parts.join(" or ");
    let providers = or(AGENT_EVENT_SOURCES
        .iter()
        .map(|p| format!("@Name='{p}'"))
        .collect());
    let services = or(AgentService::ALL
        .iter()
        .map(|s| s.display_name())
        .chain(AZURE_GUEST_AGENT_DISPLAY_NAMES.iter().copied())
        .map(|d| format!("Data[@Name='param1']='{d}'"))
        .collect());
    let installer = or(INSTALLER_EVENT_IDS
        .iter()
        .map(|id| format!("EventID={id}"))
        .collect());
    vec![
        EventLogQuery {
            name: "eventlog/Application-agent.xml",
            channel: "Application",
            xpath: format!("*[System[Provider[{providers}]]]"),
        },
        EventLogQuery {
            name: "eventlog/System-services.xml",
            channel: "System",
            xpath: format!(
                "*[System[Provider[@Name='Service Control Manager']] and EventData[{services}]]"
            ),
        },
        EventLogQuery {
            name: "eventlog/Application-installer.xml",
            channel: "Application",
            xpath: format!("*[System[Provider[@Name='MsiInstaller'] and ({installer})]]"),
        },
    ]
}

/// A certificate from the Windows certificate store with a handle on its private key, which
/// signs where it lives (CNG, or the CAPI provider it was imported into): a non-exportable key
/// works, and the key never enters azcm's memory.
pub struct StoreCertificate {
    /// The certificate (DER).
    pub der: Vec<u8>,
    /// Where it was found, e.g. `LocalMachine\My`.
    pub store: &'static str,
    key: imp::StoreKey,
}

impl StoreCertificate {
    /// An RSA PKCS #1 v1.5 signature of a SHA-256 digest.
    pub fn sign_sha256(&self, digest: &[u8; 32]) -> io::Result<Vec<u8>> {
        self.key.sign_sha256(digest)
    }
}

/// The certificate stores searched by thumbprint, in order (Windows: the machine's personal
/// store, then the user's; elsewhere none).
pub fn certificate_stores() -> &'static [&'static str] {
    imp::CERTIFICATE_STORES
}

/// The certificate with this SHA-1 thumbprint in the first of [`certificate_stores`] that has
/// it; `Unsupported` where there is no certificate store.
pub fn find_store_certificate(thumbprint: &[u8; 20]) -> io::Result<Option<StoreCertificate>> {
    Ok(
        imp::find_store_certificate(thumbprint)?.map(|(der, store, key)| StoreCertificate {
            der,
            store,
            key,
        }),
    )
}

/// Known database servers by their service names (Windows and Linux spellings).
const DATABASE_SERVICES: &[(&str, &[&str])] = &[
    ("mssql", &["MSSQLSERVER", "mssql-server"]),
    (
        "mysql",
        &["MySQL", "MySQL80", "MySQL57", "mysql", "mysqld", "mariadb"],
    ),
    (
        "postgresql",
        &[
            "postgresql",
            "postgresql-x64-16",
            "postgresql-x64-15",
            "postgresql-x64-14",
        ],
    ),
];

/// Whether a database server is installed as a service: `Some(true/false)`, `None` when the
/// service manager cannot be asked.
pub fn database_installed(kind: &str) -> Option<bool> {
    let names = DATABASE_SERVICES.iter().find(|(k, _)| *k == kind)?.1;
    for name in names {
        match query_service(name) {
            Ok(Some(_)) => return Some(true),
            Ok(None) => {}
            Err(_) => return None,
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::{cloud_provider_from_firmware, smbios_uuid};

    #[test]
    fn the_smbios_system_uuid_is_read() {
        // Type 0 (BIOS) with one string, then type 1 with the UUID, then the end marker.
        let mut table = vec![0u8, 0x18, 0, 0];
        table.extend_from_slice(&[0u8; 0x14]);
        table.extend_from_slice(b"Vendor\0\0");
        let mut system = vec![1u8, 0x1b, 1, 0, 1, 2, 3, 4];
        system.extend_from_slice(&[
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD,
            0xEE, 0xFF,
        ]);
        system.extend_from_slice(&[6, 0, 0]);
        table.extend_from_slice(&system);
        table.extend_from_slice(b"Contoso\0Box\0\0");
        table.extend_from_slice(&[127, 4, 0, 0, 0, 0]);
        assert_eq!(
            smbios_uuid(&table).as_deref(),
            Some("00112233-4455-6677-8899-AABBCCDDEEFF")
        );
        let mut zero = table.clone();
        let at = 0x18 + 8 + 8;
        for b in &mut zero[at..at + 16] {
            *b = 0;
        }
        assert_eq!(smbios_uuid(&zero), None);
        assert_eq!(smbios_uuid(&table[..10]), None);
    }

    fn provider(strings: &[&str]) -> String {
        cloud_provider_from_firmware(&strings.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn event_log_queries_name_every_agent_service() {
        let queries = super::event_log_queries();
        assert_eq!(queries.len(), 3);
        let names: Vec<_> = queries.iter().map(|q| q.name).collect();
        assert_eq!(
            names.iter().collect::<std::collections::HashSet<_>>().len(),
            3
        );
        let services = &queries[1].xpath;
        for s in super::AgentService::ALL {
            assert!(
                services.contains(&format!("='{}'", s.display_name())),
                "{services}"
            );
        }
        for q in &queries {
            assert!(q.name.starts_with("eventlog/") && q.name.ends_with(".xml"));
            // Balanced brackets and quotes: the event log rejects a malformed XPath outright.
            let depth = q.xpath.chars().try_fold(0i32, |d, c| match c {
                '[' | '(' => Some(d + 1),
                ']' | ')' => (d > 0).then(|| d - 1),
                _ => Some(d),
            });
            assert_eq!(depth, Some(0), "{}", q.xpath);
            assert_eq!(q.xpath.matches('\'').count() % 2, 0, "{}", q.xpath);
        }
        assert!(queries[0].xpath.contains("@Name='himds'"));
        assert!(queries[2].xpath.contains("EventID=11708"));
        assert!(super::system_log_limit(true) > super::system_log_limit(false));
    }

    #[test]
    fn firmware_names_the_cloud() {
        assert_eq!(provider(&["Amazon EC2", "m5.large", "Amazon EC2"]), "AWS");
        assert_eq!(provider(&["Xen", "HVM domU", "Xen"]), "N/A");
        assert_eq!(
            provider(&["Google", "Google Compute Engine", "Google"]),
            "GCP"
        );
        assert_eq!(
            provider(&["QEMU", "Standard PC", "SeaBIOS", "OracleCloud.com"]),
            "OCI"
        );
        assert_eq!(
            provider(&["Dell Inc.", "PowerEdge R740", "Dell Inc."]),
            "N/A"
        );
        assert_eq!(
            provider(&["Microsoft Corporation", "Virtual Machine"]),
            "N/A"
        );
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn only_regular_files_open_for_reading() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.txt");
        std::fs::write(&file, "x").unwrap();
        assert!(open_regular(&file, Links::Refuse).is_ok());
        let err = open_regular(dir.path(), Links::Follow).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("a folder"), "{err}");
        let missing = open_regular(&dir.path().join("none"), Links::Refuse).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn an_opened_file_knows_where_it_really_is() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.txt");
        std::fs::write(&file, "x").unwrap();
        let opened = open_regular(&file, Links::Refuse).unwrap();
        let real = opened_path(&opened).unwrap();
        assert!(
            real.starts_with(std::fs::canonicalize(dir.path()).unwrap()),
            "{real:?}"
        );
        assert!(real.ends_with("f.txt"), "{real:?}");
    }

    #[test]
    fn private_temp_folders_are_new_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let a = create_private_temp_dir(dir.path(), ".w-").unwrap();
        let b = create_private_temp_dir(dir.path(), ".w-").unwrap();
        assert_ne!(a, b);
        assert!(a.is_dir() && is_own_private_dir(&a));
        assert!(!is_own_private_dir(&dir.path().join("none")));
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(&format!(".w-{}-", std::process::id())),
            "{name}"
        );
        // Something already at the name is never taken over.
        assert_eq!(
            create_private_dir(&a).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
    }

    #[test]
    fn a_lock_file_is_created_private_and_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path(), false).unwrap();
        drop(state.open_lock(".lock").unwrap());
        drop(state.open_lock(".lock").unwrap());
        assert!(dir.path().join(".lock").is_file());
        std::fs::create_dir(dir.path().join("folder")).unwrap();
        let err = state.open_lock("folder").unwrap_err();
        assert!(
            err.kind() == io::ErrorKind::InvalidInput
                || err.kind() == io::ErrorKind::PermissionDenied,
            "{err:?}"
        );
    }

    #[test]
    fn this_process_is_alive_and_an_impossible_one_is_not() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(u32::MAX - 7));
    }
}
