use super::{AgentService, ServiceState, ServiceStatus, SystemLayout};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const AGENT_DIR: &str = "/var/opt/azcmagent";

pub fn system_layout() -> io::Result<SystemLayout> {
    let agent = PathBuf::from(AGENT_DIR);
    Ok(SystemLayout {
        config_dir: agent.clone(),
        log_dir: agent.join("log"),
        certs_dir: agent.join("certs"),
        tokens_dir: agent.join("tokens"),
        guest_config_dir: PathBuf::from("/var/lib/GuestConfig"),
        extensions_dir: PathBuf::from("/var/lib/waagent"),
        extension_logs_dir: PathBuf::from("/var/log/azure"),
        vm_agent_logs_dir: PathBuf::from("/var/log"),
        vm_agent_log_prefix: "waagent.log",
        vm_agent_config: Some(PathBuf::from("/etc/waagent.conf")),
    })
}

pub fn hostname() -> io::Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer and its length are valid; gethostname NUL-terminates within it.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

pub fn is_elevated() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub fn create_private_file(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    // The umask can only remove bits; set the mode explicitly so it is exactly 0600.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// Every folder it creates is 0700: the agent's folders are created below ones that exist on
/// any system (/var/opt, /var/lib), so what azcm creates is its own.
pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    match fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
    {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        other => other,
    }
}

pub fn create_private_dir(path: &Path) -> io::Result<()> {
    // mkdir never follows a link at its last component: a planted one is EEXIST.
    fs::DirBuilder::new().mode(0o700).create(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
}

pub fn file_kind(file_type: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a folder"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else {
        "a regular file"
    }
}

fn check_regular(meta: &fs::Metadata) -> io::Result<()> {
    if meta.file_type().is_file() {
        Ok(())
    } else {
        Err(super::not_a_regular_file(file_kind(meta.file_type())))
    }
}

fn refuse_link(e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::ELOOP) => super::not_a_regular_file("a symbolic link"),
        Some(libc::EISDIR) => super::not_a_regular_file("a folder"),
        _ => e,
    }
}

pub fn open_regular(path: &Path, follow: super::Links) -> io::Result<File> {
    use std::os::unix::fs::MetadataExt;
    let follow = follow == super::Links::Follow;
    // Decided before opening, so a device is never opened (opening some has side effects),
    // then again on the opened handle, so a swap in between is caught.
    let before = if follow {
        fs::metadata(path)?
    } else {
        fs::symlink_metadata(path)?
    };
    check_regular(&before)?;
    // Non-blocking: a FIFO swapped in after the check opens at once instead of waiting for
    // a writer, and is then refused by its fstat.
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(refuse_link)?;
    let opened = file.metadata()?;
    check_regular(&opened)?;
    if (opened.dev(), opened.ino()) != (before.dev(), before.ino()) {
        return Err(io::Error::other("it was replaced while being opened"));
    }
    if !follow && opened.nlink() > 1 {
        return Err(super::hard_linked());
    }
    Ok(file)
}

pub fn open_lock_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::MetadataExt;
    for _ in 0..2 {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
            .open(path)
            .map_err(refuse_link)?;
        let meta = file.metadata()?;
        check_regular(&meta)?;
        // SAFETY: geteuid has no preconditions.
        // Planted by another user while the folder was open to them, or a hard link to some
        // other file (whose mode azcm would change): removed, the link only, and made anew.
        if meta.uid() != unsafe { libc::geteuid() } || meta.nlink() > 1 {
            fs::remove_file(path)?;
            continue;
        }
        if meta.mode() & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        return Ok(file);
    }
    Err(io::Error::new(
        io::ErrorKind::PermissionDenied,
        "another user keeps planting it",
    ))
}

pub fn secure_existing_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        return Err(super::not_a_regular_folder(file_kind(meta.file_type())));
    }
    // SAFETY: geteuid has no preconditions.
    if meta.uid() == unsafe { libc::geteuid() } && meta.mode() & 0o022 != 0 {
        // Nobody else may plant files or links here; reading stays as the admin set it (the
        // agent's own services may run as other users).
        fs::set_permissions(path, fs::Permissions::from_mode(meta.mode() & 0o7755))?;
    }
    Ok(())
}

pub fn is_own_private_dir(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).is_ok_and(|m| {
        // SAFETY: geteuid has no preconditions.
        m.is_dir() && m.uid() == unsafe { libc::geteuid() } && m.mode() & 0o077 == 0
    })
}

pub fn opened_path(file: &File) -> io::Result<PathBuf> {
    use std::os::fd::AsRawFd;
    fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    alive || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub fn is_exposed(path: &Path) -> io::Result<bool> {
    let mode = fs::metadata(path)?.permissions().mode();
    Ok(mode & 0o077 != 0)
}

pub const AZURE_GUEST_AGENT_SERVICES: &[&str] = &["walinuxagent", "waagent"];

pub const EXTENSION_LAYOUT: super::ExtensionLayout = super::ExtensionLayout::NameDashVersion;

pub fn stop_service_hint(name: &str) -> String {
    format!("sudo systemctl stop {name}")
}

pub fn shell_command(command: &str) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut c = std::process::Command::new("/bin/sh");
    // Its own process group: a timeout kills the handler's children too.
    c.arg("-c").arg(command).process_group(0);
    c
}

/// The process group a handler runs in.
pub struct ProcessTree(libc::pid_t);

impl ProcessTree {
    pub fn adopt(child: &std::process::Child) -> Self {
        Self(child.id() as libc::pid_t)
    }

    pub fn kill(&self) {
        // SAFETY: signals the process group the child leads (created by process_group(0)).
        unsafe {
            libc::kill(-self.0, libc::SIGKILL);
        }
    }
}

pub fn service_name(service: AgentService) -> &'static str {
    match service {
        AgentService::Himds => "himdsd",
        AgentService::GuestConfiguration => "gcad",
        AgentService::ExtensionManager => "extd",
        AgentService::ArcProxy => "arcproxyd",
    }
}

/// systemd is the service manager when /run/systemd/system exists (what sd_booted() checks).
fn systemd_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

fn unit(name: &str) -> String {
    if name.contains('.') {
        name.to_string()
    } else {
        format!("{name}.service")
    }
}

fn systemctl(args: &[&str]) -> io::Result<String> {
    let out = Command::new("systemctl").args(args).output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "systemctl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Reads `systemctl show` output (`Key=value` lines) into a status; `None` when not installed.
pub(crate) fn parse_systemctl_show(name: &str, text: &str) -> Option<ServiceStatus> {
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .unwrap_or("")
    };
    if matches!(get("LoadState"), "not-found" | "") {
        return None;
    }
    let state = match get("ActiveState") {
        "active" | "reloading" => ServiceState::Running,
        "activating" => ServiceState::StartPending,
        "deactivating" => ServiceState::StopPending,
        _ => ServiceState::Stopped,
    };
    let pid = get("MainPID").parse::<u32>().ok().filter(|p| *p != 0);
    Some(ServiceStatus {
        name: name.to_string(),
        state,
        pid,
    })
}

pub fn query_service(name: &str) -> io::Result<Option<ServiceStatus>> {
    if !systemd_running() {
        return Ok(None);
    }
    let text = systemctl(&[
        "show",
        "--property=LoadState,ActiveState,SubState,MainPID",
        "--",
        &unit(name),
    ])?;
    Ok(parse_systemctl_show(name, &text))
}

pub fn request_start(name: &str) -> io::Result<()> {
    systemctl(&["start", "--no-block", "--", &unit(name)]).map(drop)
}

pub fn request_stop(name: &str) -> io::Result<()> {
    systemctl(&["stop", "--no-block", "--", &unit(name)]).map(drop)
}

fn os_release(text: &str) -> Option<String> {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .map(|v| v.trim().trim_matches('"').to_string())
            .filter(|v| !v.is_empty())
    };
    field("PRETTY_NAME").or_else(|| field("NAME"))
}

fn kernel_release() -> Option<String> {
    // SAFETY: utsname is plain data that uname fills in.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    // SAFETY: uname NUL-terminates release.
    let release = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) };
    Some(release.to_string_lossy().into_owned()).filter(|r| !r.is_empty())
}

/// The canonical DNS name of the host name, as the resolver has it; `None` without a dot.
fn canonical_name(host: &str) -> Option<String> {
    let name = std::ffi::CString::new(host).ok()?;
    // SAFETY: hints is zeroed plain data; the result list is freed below.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    hints.ai_family = libc::AF_UNSPEC;
    let mut result: *mut libc::addrinfo = std::ptr::null_mut();
    if unsafe { libc::getaddrinfo(name.as_ptr(), std::ptr::null(), &hints, &mut result) } != 0
        || result.is_null()
    {
        return None;
    }
    // SAFETY: result is a valid list; ai_canonname of the first entry is NUL-terminated or null.
    let canonical = unsafe {
        let c = (*result).ai_canonname;
        let value = if c.is_null() {
            None
        } else {
            Some(std::ffi::CStr::from_ptr(c).to_string_lossy().into_owned())
        };
        libc::freeaddrinfo(result);
        value
    };
    canonical.filter(|c| c.contains('.'))
}

pub fn os_facts() -> super::OsFacts {
    // A host without a DNS domain (a workgroup or lab machine) is its own FQDN, as azcmagent
    // reports it; a domain comes from the name or the resolver's canonical name.
    let fqdn = hostname().ok().map(|h| match h.contains('.') {
        true => h,
        false => canonical_name(&h).unwrap_or(h),
    });
    super::OsFacts {
        os_type: "linux".into(),
        os_version: kernel_release(),
        os_sku: fs::read_to_string("/etc/os-release")
            .ok()
            .as_deref()
            .and_then(os_release),
        domain: fqdn
            .as_ref()
            .and_then(|f| f.split_once('.').map(|(_, d)| d.to_string())),
        fqdn,
        cloud_provider: firmware_strings().map(|s| super::cloud_provider_from_firmware(&s)),
    }
}

/// The SMBIOS manufacturer, product and BIOS vendor; None when the kernel exposes none of them.
fn dmi(field: &str) -> Option<String> {
    fs::read_to_string(Path::new("/sys/class/dmi/id").join(field))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// DMI as the kernel exports it; product_uuid is readable by root only.
pub fn hardware() -> super::Hardware {
    super::Hardware {
        manufacturer: dmi("sys_vendor"),
        model: dmi("product_name"),
        vm_uuid: dmi("product_uuid").map(|u| u.to_ascii_uppercase()),
    }
}

fn firmware_strings() -> Option<Vec<String>> {
    let strings: Vec<String> = [
        "sys_vendor",
        "product_name",
        "bios_vendor",
        "chassis_asset_tag",
    ]
    .iter()
    .filter_map(|f| fs::read_to_string(Path::new("/sys/class/dmi/id").join(f)).ok())
    .map(|s| s.trim().to_string())
    .collect();
    (!strings.is_empty()).then_some(strings)
}

/// Linux has no certificate store: certificates come from files (`--service-principal-cert`).
pub const CERTIFICATE_STORES: &[&str] = &[];

pub enum StoreKey {}

impl StoreKey {
    pub fn sign_sha256(&self, _digest: &[u8; 32]) -> io::Result<Vec<u8>> {
        match *self {}
    }
}

pub fn find_store_certificate(
    _thumbprint: &[u8; 20],
) -> io::Result<Option<(Vec<u8>, &'static str, StoreKey)>> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "there is no certificate store on this platform",
    ))
}

const JOURNAL_NAME: &str = "journal/agent-services.log";

pub fn system_logs(work: &Path, full: bool, timeout: std::time::Duration) -> super::SystemLogs {
    let mut logs = super::SystemLogs {
        component: "journal",
        files: Vec::new(),
        failed: Vec::new(),
    };
    let dest = work.join("agent-services.log");
    match agent_journal(&dest, full, timeout) {
        Ok(true) => logs.files.push((JOURNAL_NAME.into(), dest)),
        Ok(false) => {}
        Err(e) => logs
            .failed
            .push((JOURNAL_NAME.into(), format!("journalctl failed: {e}"))),
    }
    logs
}

/// `Ok(false)` where there is no journal (no systemd, no journalctl).
fn agent_journal(dest: &Path, full: bool, timeout: std::time::Duration) -> io::Result<bool> {
    if !systemd_running() {
        return Ok(false);
    }
    let mut cmd = std::process::Command::new("journalctl");
    for service in super::AgentService::ALL {
        cmd.arg("-u").arg(service_name(service));
    }
    if !full {
        cmd.args(["-n", &super::system_log_limit(false).to_string()]);
    }
    let out = super::create_private_file(dest)?;
    let mut child = match cmd
        .args(["--no-pager", "-o", "short-iso"])
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let started = std::time::Instant::now();
    loop {
        if child.try_wait()?.is_some() {
            return Ok(true);
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(true);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemctl_show_is_read() {
        let running = "LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=812\n";
        let status = parse_systemctl_show("himdsd", running).unwrap();
        assert_eq!(
            (status.state, status.pid),
            (ServiceState::Running, Some(812))
        );
        let stopped = "LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\n";
        let status = parse_systemctl_show("gcad", stopped).unwrap();
        assert_eq!((status.state, status.pid), (ServiceState::Stopped, None));
        let starting = "LoadState=loaded\nActiveState=activating\nMainPID=0\n";
        assert_eq!(
            parse_systemctl_show("extd", starting).unwrap().state,
            ServiceState::StartPending
        );
        assert_eq!(
            parse_systemctl_show("nope", "LoadState=not-found\nActiveState=inactive\n"),
            None
        );
    }

    #[test]
    fn os_release_names_the_product() {
        let text = "NAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\n";
        assert_eq!(os_release(text).as_deref(), Some("Ubuntu 24.04.1 LTS"));
        assert_eq!(os_release("NAME=Debian\n").as_deref(), Some("Debian"));
        assert_eq!(os_release("ID=x\n"), None);
        let facts = os_facts();
        assert_eq!(facts.os_type, "linux");
        assert!(facts.os_version.is_some(), "uname always answers");
    }

    #[test]
    fn an_absent_service_is_none() {
        assert_eq!(query_service("azcm-no-such-service-9f3a").unwrap(), None);
    }
}
