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
    verify_opened(file, (before.dev(), before.ino()), !follow)
}

/// The checks on an opened handle, after those on the path: still a regular file, the same
/// one that was checked (not swapped in between), and — where links are refused — with one
/// name only (not a hard link planted to some other file).
fn verify_opened(file: File, checked: (u64, u64), single_name: bool) -> io::Result<File> {
    use std::os::unix::fs::MetadataExt;
    let opened = file.metadata()?;
    check_regular(&opened)?;
    if (opened.dev(), opened.ino()) != checked {
        return Err(io::Error::other("it was replaced while being opened"));
    }
    if single_name && opened.nlink() > 1 {
        return Err(super::hard_linked());
    }
    Ok(file)
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

/// A state folder opened once and then used through its handle (openat and friends), so a
/// folder swapped for a link (or another folder) after it was checked changes nothing: every
/// file azcm writes or reads in it is in the folder it checked.
pub struct StateDir {
    dir: File,
}

fn c_name(name: &str) -> io::Result<std::ffi::CString> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("'{name}' is not a file name"),
        ));
    }
    std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a file name with a NUL byte"))
}

fn c_os(name: &std::ffi::OsStr) -> io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path with a NUL byte"))
}

fn cvt(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

fn fd_of(file: &File) -> libc::c_int {
    use std::os::fd::AsRawFd;
    file.as_raw_fd()
}

/// Opens `name` in `dir` with `flags` (O_CLOEXEC and O_NOFOLLOW always added).
fn openat(
    dir: &File,
    name: &std::ffi::CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<File> {
    use std::os::fd::FromRawFd;
    // SAFETY: a valid folder descriptor and a NUL-terminated name.
    let fd = cvt(unsafe {
        libc::openat(
            fd_of(dir),
            name.as_ptr(),
            flags | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            libc::c_uint::from(mode),
        )
    })?;
    // SAFETY: a fresh descriptor nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// What is at `name` in `dir`, without following a link there.
fn lstatat(dir: &File, name: &std::ffi::CStr) -> io::Result<libc::stat> {
    // SAFETY: a valid descriptor, a NUL-terminated name and a stat buffer to fill.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe {
        libc::fstatat(
            fd_of(dir),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    Ok(st)
}

fn kind_of_mode(mode: libc::mode_t) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFLNK => "a symbolic link",
        libc::S_IFDIR => "a folder",
        libc::S_IFIFO => "a FIFO (named pipe)",
        libc::S_IFSOCK => "a socket",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        _ => "a regular file",
    }
}

/// Whether a folder with this owner and mode lets users other than its owner (and root) add,
/// remove or rename entries: group or others may write, and no sticky bit restrains them.
fn others_may_change_entries(st: &libc::stat) -> bool {
    st.st_mode & 0o022 != 0 && st.st_mode & libc::S_ISVTX == 0
}

/// A link (or an entry) that no other user can have planted: owned by root or this user, in a
/// folder where others cannot change entries (or, in a sticky folder like /tmp, owned by
/// root or this user, which others cannot rename or remove).
fn trusted_entry(parent: &libc::stat, entry: &libc::stat) -> bool {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let owner_ok = entry.st_uid == 0 || entry.st_uid == me;
    owner_ok && !others_may_change_entries(parent)
}

fn fstat_of(file: &File) -> io::Result<libc::stat> {
    // SAFETY: a valid descriptor and a stat buffer to fill.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    cvt(unsafe { libc::fstat(fd_of(file), &mut st) })?;
    Ok(st)
}

impl StateDir {
    /// Walks `path` from `/` one folder at a time, each opened relative to the one before and
    /// never through a link — except a link nobody else could have planted (the system's own,
    /// such as a distribution's /var/run). With `create`, missing folders are made 0700. The
    /// folder itself must be owned by this user or root; write access for others is taken away
    /// when it is this user's, and refused otherwise.
    pub fn open(path: &Path, create: bool) -> io::Result<Self> {
        use std::collections::VecDeque;
        use std::path::Component;
        if !path.is_absolute() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the state folder's path is not absolute",
            ));
        }
        let open_dir = |parent: &File, name: &std::ffi::CStr| {
            openat(parent, name, libc::O_RDONLY | libc::O_DIRECTORY, 0)
        };
        let root = || {
            OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
                .open("/")
        };
        // The names to walk: `..` kept (opened like any other folder), `/` and `.` dropped.
        let names = |p: &Path| -> VecDeque<std::ffi::OsString> {
            p.components()
                .filter_map(|c| match c {
                    Component::Normal(n) => Some(n.to_os_string()),
                    Component::ParentDir => Some("..".into()),
                    _ => None,
                })
                .collect()
        };
        let mut current = root()?;
        let mut rest = names(path);
        let mut hops = 0;
        while let Some(name) = rest.pop_front() {
            let cname = c_os(&name)?;
            let opened = match open_dir(&current, &cname) {
                Ok(dir) => dir,
                Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                    // SAFETY: a valid descriptor and a NUL-terminated name.
                    match cvt(unsafe { libc::mkdirat(fd_of(&current), cname.as_ptr(), 0o700) }) {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(e),
                    }
                    let dir = open_dir(&current, &cname)?;
                    // The umask can only take bits away; exactly 0700 when azcm made it.
                    if fstat_of(&dir)?.st_uid == unsafe { libc::geteuid() } {
                        dir.set_permissions(fs::Permissions::from_mode(0o700))?;
                    }
                    dir
                }
                Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) => {
                    let st = lstatat(&current, &cname)?;
                    let shown = Path::new(&name).display().to_string();
                    if st.st_mode & libc::S_IFMT != libc::S_IFLNK {
                        return Err(super::not_a_regular_folder(kind_of_mode(st.st_mode)))
                            .map_err(|e| io::Error::new(e.kind(), format!("{shown}: {e}")));
                    }
                    // The state folder itself is never a link; a link above it is followed
                    // only when nobody else could have planted it.
                    if rest.is_empty() {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "it is a symbolic link, which azcm does not follow here",
                        ));
                    }
                    if !trusted_entry(&fstat_of(&current)?, &st) || hops >= 40 {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("{shown} on the way to {} is a symbolic link that another user could have planted, which azcm does not follow", path.display()),
                        ));
                    }
                    hops += 1;
                    let target =
                        fs::read_link(format!("/proc/self/fd/{}/{}", fd_of(&current), shown))?;
                    let mut expanded = names(&target);
                    if target.is_absolute() {
                        current = root()?;
                    }
                    expanded.extend(rest.drain(..));
                    rest = expanded;
                    continue;
                }
                Err(e) => return Err(e),
            };
            current = opened;
        }
        let st = fstat_of(&current)?;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        if st.st_uid != me && st.st_uid != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "it belongs to another user (uid {}), who could put anything in it",
                    st.st_uid
                ),
            ));
        }
        if st.st_mode & 0o022 != 0 {
            if st.st_uid == me {
                // Nobody else may plant files or links here; reading stays as the admin set it.
                current.set_permissions(fs::Permissions::from_mode(st.st_mode & 0o7755))?;
            } else {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "other users can write in it, so they could plant files or links there",
                ));
            }
        }
        Ok(Self { dir: current })
    }

    /// A new private (0600) file; fails when anything is at `name`.
    pub fn create_new(&self, name: &str) -> io::Result<File> {
        let file = openat(
            &self.dir,
            &c_name(name)?,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
            0o600,
        )?;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }

    /// A regular file with one name, opened for reading without blocking or following a link.
    pub fn open_read(&self, name: &str) -> io::Result<File> {
        let cname = c_name(name)?;
        let before = lstatat(&self.dir, &cname)?;
        if before.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(super::not_a_regular_file(kind_of_mode(before.st_mode)));
        }
        let file = openat(
            &self.dir,
            &cname,
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
            0,
        )
        .map_err(refuse_link)?;
        verify_opened(file, (before.st_dev, before.st_ino), true)
    }

    /// The lock file `name`, created when missing: owner-only, one name, this user's (one
    /// planted by another user, or a hard link, is removed and made anew).
    pub fn open_lock(&self, name: &str) -> io::Result<File> {
        use std::os::unix::fs::MetadataExt;
        let cname = c_name(name)?;
        for _ in 0..2 {
            let file = openat(
                &self.dir,
                &cname,
                libc::O_RDWR | libc::O_CREAT | libc::O_NONBLOCK | libc::O_NOCTTY,
                0o600,
            )
            .map_err(refuse_link)?;
            let meta = file.metadata()?;
            check_regular(&meta)?;
            // SAFETY: geteuid has no preconditions.
            if meta.uid() != unsafe { libc::geteuid() } || meta.nlink() > 1 {
                self.remove(name)?;
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

    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (from, to) = (c_name(from)?, c_name(to)?);
        // SAFETY: valid descriptors and NUL-terminated names.
        cvt(unsafe {
            libc::renameat(
                fd_of(&self.dir),
                from.as_ptr(),
                fd_of(&self.dir),
                to.as_ptr(),
            )
        })?;
        Ok(())
    }

    pub fn remove(&self, name: &str) -> io::Result<()> {
        let name = c_name(name)?;
        // SAFETY: a valid descriptor and a NUL-terminated name.
        cvt(unsafe { libc::unlinkat(fd_of(&self.dir), name.as_ptr(), 0) })?;
        Ok(())
    }

    /// Makes renames and removals in the folder durable.
    pub fn sync(&self) -> io::Result<()> {
        self.dir.sync_all()
    }

    /// The names of the regular files in the folder (not following links).
    pub fn file_names(&self) -> io::Result<Vec<String>> {
        let listing = fs::read_dir(format!("/proc/self/fd/{}", fd_of(&self.dir)))?;
        Ok(listing
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect())
    }
}

static INTERRUPTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// The terminal settings to put back if a second Ctrl+C ends the process while a secret's
/// echo is off (written before the echo goes off, read only by the signal handler).
static mut ECHO_SETTINGS: Option<libc::termios> = None;

extern "C" fn on_interrupt(_: libc::c_int) {
    if INTERRUPTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 1 {
        // SAFETY: tcsetattr and _exit are async-signal-safe; ECHO_SETTINGS is only written
        // by the main thread before the handler can need it.
        unsafe {
            if let Some(settings) = *std::ptr::addr_of!(ECHO_SETTINGS) {
                libc::tcsetattr(0, libc::TCSANOW, &settings);
            }
            libc::_exit(130);
        }
    }
}

pub fn watch_interrupts() {
    // SAFETY: installs a handler that only touches an atomic (and, the second time,
    // async-signal-safe calls); no SA_RESTART, so a blocking read returns EINTR.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = 0;
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}

pub fn interrupted() -> bool {
    INTERRUPTS.load(std::sync::atomic::Ordering::SeqCst) > 0
}

/// stdin's terminal settings before the echo was turned off, restored on drop.
pub struct HiddenInput(libc::termios);

impl HiddenInput {
    pub fn start() -> io::Result<Self> {
        // SAFETY: tcgetattr fills the struct for a valid descriptor (0, stdin).
        let mut before: libc::termios = unsafe { std::mem::zeroed() };
        cvt(unsafe { libc::tcgetattr(0, &mut before) })?;
        // SAFETY: written before the echo goes off, on the one thread that prompts.
        unsafe {
            *std::ptr::addr_of_mut!(ECHO_SETTINGS) = Some(before);
        }
        let mut hidden = before;
        hidden.c_lflag &= !libc::ECHO;
        hidden.c_lflag |= libc::ICANON;
        // SAFETY: a settings struct tcgetattr gave, with one flag changed.
        cvt(unsafe { libc::tcsetattr(0, libc::TCSANOW, &hidden) })?;
        Ok(Self(before))
    }
}

impl Drop for HiddenInput {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in start().
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.0);
            *std::ptr::addr_of_mut!(ECHO_SETTINGS) = None;
        }
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
