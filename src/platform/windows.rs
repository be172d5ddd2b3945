use super::{AgentService, ServiceState, ServiceStatus, SystemLayout};
use std::ffi::{c_void, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::AsRawHandle;
use std::path::{Component, Path, PathBuf};
use std::ptr;

use windows_sys::core::{GUID, PWSTR};
use windows_sys::Win32::Foundation::{
    CloseHandle, LocalFree, ERROR_ACCESS_DENIED, ERROR_SERVICE_ALREADY_RUNNING,
    ERROR_SERVICE_DOES_NOT_EXIST, ERROR_SERVICE_NOT_ACTIVE, GENERIC_READ, GENERIC_WRITE, HANDLE,
    INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, GetSecurityInfo, SetSecurityInfo,
    SDDL_REVISION_1, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES;
use windows_sys::Win32::Security::{
    EqualSid, GetAce, GetSecurityDescriptorDacl, GetTokenInformation, IsWellKnownSid,
    TokenElevation, WinBuiltinAdministratorsSid, WinCreatorOwnerRightsSid, WinLocalSystemSid,
    ACCESS_ALLOWED_ACE, ACL, DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, TOKEN_ELEVATION, TOKEN_QUERY,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateDirectoryW, CreateFileW, GetFileType, GetFinalPathNameByHandleW, CREATE_NEW,
    FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_REPARSE_POINT,
    FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT, FILE_SHARE_DELETE, FILE_SHARE_READ,
    FILE_SHARE_WRITE, FILE_TYPE_DISK, FILE_TYPE_PIPE, OPEN_ALWAYS, READ_CONTROL, WRITE_DAC,
};
use windows_sys::Win32::System::Com::CoTaskMemFree;
use windows_sys::Win32::System::Services::{
    CloseServiceHandle, ControlService, OpenSCManagerW, OpenServiceW, QueryServiceStatusEx,
    StartServiceW, SC_HANDLE, SC_MANAGER_CONNECT, SC_STATUS_PROCESS_INFO, SERVICE_CONTINUE_PENDING,
    SERVICE_CONTROL_STOP, SERVICE_PAUSED, SERVICE_PAUSE_PENDING, SERVICE_QUERY_STATUS,
    SERVICE_RUNNING, SERVICE_START, SERVICE_START_PENDING, SERVICE_STATUS, SERVICE_STATUS_PROCESS,
    SERVICE_STOP, SERVICE_STOP_PENDING,
};
use windows_sys::Win32::System::SystemServices::ACCESS_ALLOWED_ACE_TYPE;
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
use windows_sys::Win32::System::Threading::{
    GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
};
use windows_sys::Win32::UI::Shell::{FOLDERID_ProgramData, FOLDERID_Windows, SHGetKnownFolderPath};

mod certstore;
mod eventlog;
pub use certstore::{find_store_certificate, StoreKey, CERTIFICATE_STORES};
pub use eventlog::system_logs;

/// SYSTEM and Administrators full control, nothing inherited: the agent's own state files.
const SDDL_ADMIN_ONLY: &str = "D:P(A;;FA;;;SY)(A;;FA;;;BA)";
/// The same plus the file's owner: a non-elevated trial under AZCM_ROOT must read its own files.
const SDDL_ADMIN_AND_OWNER: &str = "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;OW)";

fn known_folder(id: &GUID) -> io::Result<PathBuf> {
    let mut raw: PWSTR = ptr::null_mut();
    // SAFETY: valid GUID pointer and out-pointer; the returned buffer is freed below.
    let hr = unsafe { SHGetKnownFolderPath(id, 0, ptr::null_mut(), &mut raw) };
    let result = if hr >= 0 && !raw.is_null() {
        // SAFETY: SHGetKnownFolderPath returned a NUL-terminated wide string.
        let len = unsafe { (0..).take_while(|&i| *raw.add(i) != 0).count() };
        let slice = unsafe { std::slice::from_raw_parts(raw, len) };
        Ok(PathBuf::from(OsString::from_wide(slice)))
    } else {
        Err(io::Error::other(format!(
            "SHGetKnownFolderPath failed (HRESULT {hr:#010x})"
        )))
    };
    // SAFETY: CoTaskMemFree accepts null and the buffer SHGetKnownFolderPath allocated.
    unsafe { CoTaskMemFree(raw as *const c_void) };
    result
}

pub fn system_layout() -> io::Result<SystemLayout> {
    let program_data = known_folder(&FOLDERID_ProgramData)?;
    let windows_dir = known_folder(&FOLDERID_Windows)?;
    // %SystemDrive% is the drive the Windows folder is on.
    let system_drive: PathBuf = windows_dir
        .components()
        .take_while(|c| matches!(c, Component::Prefix(_) | Component::RootDir))
        .collect();
    let agent = program_data.join("AzureConnectedMachineAgent");
    Ok(SystemLayout {
        config_dir: agent.join("Config"),
        log_dir: agent.join("Log"),
        certs_dir: agent.join("Certs"),
        tokens_dir: agent.join("Tokens"),
        guest_config_dir: program_data.join("GuestConfig"),
        extensions_dir: system_drive.join("Packages").join("Plugins"),
        extension_logs_dir: program_data.join("GuestConfig").join("extension_logs"),
        vm_agent_logs_dir: system_drive.join("WindowsAzure").join("Logs"),
        vm_agent_log_prefix: "",
        // No documented place for the Windows VM agent's configuration; its logs are collected.
        vm_agent_config: None,
    })
}

pub fn hostname() -> io::Result<String> {
    use windows_sys::Win32::System::SystemInformation::{
        ComputerNameDnsHostname, GetComputerNameExW,
    };
    let mut size = 0u32;
    // SAFETY: a null buffer asks for the size needed.
    unsafe { GetComputerNameExW(ComputerNameDnsHostname, ptr::null_mut(), &mut size) };
    let mut buf = vec![0u16; size as usize + 1];
    let mut len = buf.len() as u32;
    // SAFETY: buffer and length match.
    if unsafe { GetComputerNameExW(ComputerNameDnsHostname, buf.as_mut_ptr(), &mut len) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(String::from_utf16_lossy(&buf[..len as usize]))
}

fn computer_name(
    kind: windows_sys::Win32::System::SystemInformation::COMPUTER_NAME_FORMAT,
) -> Option<String> {
    use windows_sys::Win32::System::SystemInformation::GetComputerNameExW;
    let mut size = 0u32;
    // SAFETY: a null buffer asks for the size needed.
    unsafe { GetComputerNameExW(kind, ptr::null_mut(), &mut size) };
    let mut buf = vec![0u16; size as usize + 1];
    let mut len = buf.len() as u32;
    // SAFETY: buffer and length match.
    if unsafe { GetComputerNameExW(kind, buf.as_mut_ptr(), &mut len) } == 0 {
        return None;
    }
    Some(String::from_utf16_lossy(&buf[..len as usize])).filter(|s| !s.is_empty())
}

/// A REG_SZ or REG_DWORD under HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion.
fn current_version(name: &str) -> Option<String> {
    registry_value("SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", name)
}

/// A REG_SZ or REG_DWORD under an HKLM key.
fn registry_value(key: &str, name: &str) -> Option<String> {
    use windows_sys::Win32::System::Registry::{
        RegGetValueW, HKEY_LOCAL_MACHINE, RRF_RT_REG_DWORD, RRF_RT_REG_SZ,
    };
    let key = wide(key);
    let value = wide(name);
    let mut buf = vec![0u16; 256];
    let mut size = (buf.len() * 2) as u32;
    let mut kind = 0u32;
    // SAFETY: buffer and size (bytes) match; key and value names are NUL-terminated.
    let rc = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            key.as_ptr(),
            value.as_ptr(),
            RRF_RT_REG_SZ | RRF_RT_REG_DWORD,
            &mut kind,
            buf.as_mut_ptr().cast(),
            &mut size,
        )
    };
    if rc != 0 {
        return None;
    }
    const REG_DWORD: u32 = 4;
    if kind == REG_DWORD {
        return Some(u32::from(buf[0]) | (u32::from(buf[1]) << 16)).map(|v| v.to_string());
    }
    let chars = (size as usize / 2).saturating_sub(1);
    Some(String::from_utf16_lossy(&buf[..chars.min(buf.len())])).filter(|s| !s.is_empty())
}

pub fn os_facts() -> super::OsFacts {
    use windows_sys::Win32::System::SystemInformation::{
        ComputerNameDnsDomain, ComputerNameDnsFullyQualified,
    };
    let version = match (
        current_version("CurrentMajorVersionNumber"),
        current_version("CurrentMinorVersionNumber"),
        current_version("CurrentBuildNumber"),
    ) {
        (Some(major), Some(minor), Some(build)) => {
            let ubr = current_version("UBR")
                .map(|u| format!(".{u}"))
                .unwrap_or_default();
            Some(format!("{major}.{minor}.{build}{ubr}"))
        }
        (_, _, Some(build)) => Some(build),
        _ => None,
    };
    super::OsFacts {
        os_type: "windows".into(),
        os_version: version,
        os_sku: current_version("ProductName"),
        // A workgroup machine's fully qualified name is its host name, as azcmagent reports it.
        fqdn: computer_name(ComputerNameDnsFullyQualified),
        domain: computer_name(ComputerNameDnsDomain),
        cloud_provider: firmware_strings().map(|s| super::cloud_provider_from_firmware(&s)),
    }
}

/// Manufacturer and model from the registry copy of SMBIOS; the UUID from the raw SMBIOS table
/// (GetSystemFirmwareTable 'RSMB').
pub fn hardware() -> super::Hardware {
    let bios = |name: &str| {
        registry_value("HARDWARE\\DESCRIPTION\\System\\BIOS", name).filter(|v| !v.trim().is_empty())
    };
    super::Hardware {
        manufacturer: bios("SystemManufacturer"),
        model: bios("SystemProductName"),
        vm_uuid: smbios_table().and_then(|t| super::smbios_uuid(&t)),
    }
}

fn smbios_table() -> Option<Vec<u8>> {
    use windows_sys::Win32::System::SystemInformation::GetSystemFirmwareTable;
    let rsmb = u32::from_be_bytes(*b"RSMB");
    // SAFETY: a size query with no buffer, then a fill of a buffer of exactly that size.
    let size = unsafe { GetSystemFirmwareTable(rsmb, 0, std::ptr::null_mut(), 0) };
    if size <= 8 {
        return None;
    }
    let mut buf = vec![0u8; size as usize];
    let got = unsafe { GetSystemFirmwareTable(rsmb, 0, buf.as_mut_ptr().cast(), size) };
    if got == 0 || got > size {
        return None;
    }
    // RawSMBIOSData: an 8-byte header, then the structure table.
    buf.drain(..8);
    Some(buf)
}

/// The SMBIOS manufacturer, product and BIOS vendor Windows copies into the registry at boot.
fn firmware_strings() -> Option<Vec<String>> {
    let strings: Vec<String> = ["SystemManufacturer", "SystemProductName", "BIOSVendor"]
        .iter()
        .filter_map(|name| registry_value("HARDWARE\\DESCRIPTION\\System\\BIOS", name))
        .collect();
    (!strings.is_empty()).then_some(strings)
}

pub fn is_elevated() -> bool {
    let mut token: HANDLE = ptr::null_mut();
    // SAFETY: GetCurrentProcess returns a pseudo handle; token is an out-pointer.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return false;
    }
    let mut elevation = TOKEN_ELEVATION { TokenIsElevated: 0 };
    let mut len = 0u32;
    // SAFETY: buffer and length match TOKEN_ELEVATION.
    let ok = unsafe {
        GetTokenInformation(
            token,
            TokenElevation,
            &mut elevation as *mut _ as *mut c_void,
            std::mem::size_of::<TOKEN_ELEVATION>() as u32,
            &mut len,
        )
    };
    // SAFETY: token was opened above.
    unsafe { CloseHandle(token) };
    ok != 0 && elevation.TokenIsElevated != 0
}

fn wide(s: &str) -> Vec<u16> {
    std::ffi::OsStr::new(s)
        .encode_wide()
        .chain(Some(0))
        .collect()
}

/// Replaces the DACL of an open handle with `sddl`'s protected DACL.
fn apply_dacl(handle: HANDLE, sddl: &str) -> io::Result<()> {
    let sddl = wide(sddl);
    let mut sd: PSECURITY_DESCRIPTOR = ptr::null_mut();
    // SAFETY: NUL-terminated SDDL; sd receives a LocalAlloc'd descriptor freed below.
    if unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            ptr::null_mut(),
        )
    } == 0
    {
        return Err(io::Error::last_os_error());
    }
    let mut present = 0;
    let mut defaulted = 0;
    let mut dacl: *mut ACL = ptr::null_mut();
    // SAFETY: sd is a valid descriptor; dacl points into it.
    let got = unsafe { GetSecurityDescriptorDacl(sd, &mut present, &mut dacl, &mut defaulted) };
    let status = if got == 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: handle was opened with WRITE_DAC; dacl is valid while sd lives.
        let rc = unsafe {
            SetSecurityInfo(
                handle,
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                ptr::null_mut(),
                ptr::null_mut(),
                dacl,
                ptr::null(),
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(rc as i32))
        }
    };
    // SAFETY: sd was allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
    unsafe { LocalFree(sd as _) };
    status
}

fn state_sddl() -> &'static str {
    if is_elevated() {
        SDDL_ADMIN_ONLY
    } else {
        SDDL_ADMIN_AND_OWNER
    }
}

/// A security descriptor made from SDDL, freed when dropped.
struct Descriptor(PSECURITY_DESCRIPTOR);

impl Descriptor {
    fn new(sddl: &str) -> io::Result<Self> {
        let sddl = wide(sddl);
        let mut sd: PSECURITY_DESCRIPTOR = ptr::null_mut();
        // SAFETY: NUL-terminated SDDL; sd receives a LocalAlloc'd descriptor freed on drop.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self(sd))
    }

    /// Attributes that give a new object this descriptor from the moment it exists.
    fn attributes(&self) -> SECURITY_ATTRIBUTES {
        SECURITY_ATTRIBUTES {
            nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
            lpSecurityDescriptor: self.0,
            bInheritHandle: 0,
        }
    }
}

impl Drop for Descriptor {
    fn drop(&mut self) {
        // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
        unsafe { LocalFree(self.0 as _) };
    }
}

fn wide_path(path: &Path) -> Vec<u16> {
    path.as_os_str().encode_wide().chain(Some(0)).collect()
}

/// CreateFileW never following a reparse point at the last component, as a `File`.
fn create_file(path: &Path, access: u32, disposition: u32, sddl: Option<&str>) -> io::Result<File> {
    use std::os::windows::io::FromRawHandle;
    let descriptor = sddl.map(Descriptor::new).transpose()?;
    let attributes = descriptor.as_ref().map(Descriptor::attributes);
    let name = wide_path(path);
    // SAFETY: NUL-terminated path; the attributes (when given) outlive the call.
    let handle = unsafe {
        CreateFileW(
            name.as_ptr(),
            access,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            attributes
                .as_ref()
                .map_or(ptr::null(), |a| a as *const SECURITY_ATTRIBUTES),
            disposition,
            FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT,
            ptr::null_mut(),
        )
    };
    if handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a valid handle that nothing else owns.
    Ok(unsafe { File::from_raw_handle(handle as _) })
}

pub fn create_private_file(path: &Path) -> io::Result<File> {
    // Protected from the moment it exists: no other user can open it even while it is empty.
    create_file(
        path,
        GENERIC_READ | GENERIC_WRITE,
        CREATE_NEW,
        Some(state_sddl()),
    )
}

fn private_dir_sddl() -> &'static str {
    if is_elevated() {
        "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
    } else {
        "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)"
    }
}

pub fn create_private_dir(path: &Path) -> io::Result<()> {
    let descriptor = Descriptor::new(private_dir_sddl())?;
    let attributes = descriptor.attributes();
    let name = wide_path(path);
    // SAFETY: NUL-terminated path; attributes valid for the call. CreateDirectoryW fails with
    // ERROR_ALREADY_EXISTS on anything at the path, a planted junction included.
    if unsafe { CreateDirectoryW(name.as_ptr(), &attributes) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// What a handle is, when it is not a regular file.
fn handle_kind(file: &File) -> io::Result<Option<&'static str>> {
    use std::os::windows::fs::MetadataExt;
    // SAFETY: a valid handle.
    let kind = unsafe { GetFileType(file.as_raw_handle() as HANDLE) };
    if kind != FILE_TYPE_DISK {
        return Ok(Some(if kind == FILE_TYPE_PIPE {
            "a pipe"
        } else {
            "a device"
        }));
    }
    let attributes = file.metadata()?.file_attributes();
    Ok(if attributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        Some("a link or junction (reparse point)")
    } else if attributes & FILE_ATTRIBUTE_DIRECTORY != 0 {
        Some("a folder")
    } else {
        None
    })
}

fn path_kind(meta: &fs::Metadata) -> Option<&'static str> {
    use std::os::windows::fs::MetadataExt;
    if meta.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        Some("a link or junction (reparse point)")
    } else if meta.is_dir() {
        Some("a folder")
    } else {
        None
    }
}

pub fn file_kind(file_type: fs::FileType) -> &'static str {
    if file_type.is_symlink() {
        "a link or junction (reparse point)"
    } else if file_type.is_dir() {
        "a folder"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "a device or pipe"
    }
}

pub fn open_regular(path: &Path, links: super::Links) -> io::Result<File> {
    let before = match links {
        super::Links::Follow => fs::metadata(path)?,
        super::Links::Refuse => fs::symlink_metadata(path)?,
    };
    if let Some(kind) = path_kind(&before) {
        return Err(super::not_a_regular_file(kind));
    }
    let mut options = OpenOptions::new();
    options.read(true);
    if links == super::Links::Refuse {
        options.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
    }
    let file = options.open(path)?;
    if let Some(kind) = handle_kind(&file)? {
        return Err(super::not_a_regular_file(kind));
    }
    if links == super::Links::Refuse && link_count(&file)? > 1 {
        return Err(super::hard_linked());
    }
    Ok(file)
}

/// How many names (hard links) the opened file has.
fn link_count(file: &File) -> io::Result<u32> {
    use windows_sys::Win32::Storage::FileSystem::{
        GetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION,
    };
    // SAFETY: a valid handle and an out-structure of the right type.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    if unsafe { GetFileInformationByHandle(file.as_raw_handle() as HANDLE, &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(info.nNumberOfLinks)
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    let file = create_file(
        path,
        GENERIC_READ | GENERIC_WRITE | WRITE_DAC | READ_CONTROL,
        OPEN_ALWAYS,
        Some(state_sddl()),
    )?;
    if let Some(kind) = handle_kind(&file)? {
        return Err(super::not_a_regular_file(kind));
    }
    if link_count(&file)? > 1 {
        // A hard link planted to some other file (whose protection azcm would change): the
        // link is removed, the lock made anew.
        drop(file);
        fs::remove_file(path)?;
        return create_file(
            path,
            GENERIC_READ | GENERIC_WRITE | WRITE_DAC | READ_CONTROL,
            CREATE_NEW,
            Some(state_sddl()),
        );
    }
    if dacl_exposed(file.as_raw_handle() as HANDLE)? {
        apply_dacl(file.as_raw_handle() as HANDLE, state_sddl())?;
    }
    Ok(file)
}

pub fn is_own_private_dir(path: &Path) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    if path_kind(&meta) != Some("a folder") {
        return false;
    }
    OpenOptions::new()
        .access_mode(READ_CONTROL)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
        .and_then(|dir| dacl_exposed(dir.as_raw_handle() as HANDLE))
        .is_ok_and(|exposed| !exposed)
}

pub fn opened_path(file: &File) -> io::Result<PathBuf> {
    let handle = file.as_raw_handle() as HANDLE;
    let mut buffer = vec![0u16; 512];
    loop {
        // SAFETY: the buffer holds `len` characters.
        let n = unsafe {
            GetFinalPathNameByHandleW(handle, buffer.as_mut_ptr(), buffer.len() as u32, 0)
        } as usize;
        if n == 0 {
            return Err(io::Error::last_os_error());
        }
        if n < buffer.len() {
            return Ok(PathBuf::from(OsString::from_wide(&buffer[..n])));
        }
        buffer.resize(n + 1, 0);
    }
}

pub fn process_alive(pid: u32) -> bool {
    // SAFETY: OpenProcess has no preconditions; the handle is closed below.
    let process = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if process.is_null() {
        // A process we may not query still runs.
        return io::Error::last_os_error().raw_os_error() == Some(ERROR_ACCESS_DENIED as i32);
    }
    let mut code = 0u32;
    // SAFETY: a valid process handle and out-pointer.
    let ok = unsafe { GetExitCodeProcess(process, &mut code) };
    // SAFETY: opened above.
    unsafe { CloseHandle(process) };
    const STILL_ACTIVE: u32 = 259;
    ok != 0 && code == STILL_ACTIVE
}

pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    match fs::create_dir(path) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => return Ok(()),
        other => other?,
    }
    // FILE_FLAG_BACKUP_SEMANTICS is needed to open a directory handle.
    let dir = OpenOptions::new()
        .access_mode(WRITE_DAC | READ_CONTROL)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)?;
    apply_dacl(dir.as_raw_handle() as HANDLE, private_dir_sddl())
}

pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    // NTFS journals the rename itself (MoveFileEx with REPLACE_EXISTING); a directory
    // handle cannot be flushed on Windows.
    Ok(())
}

pub fn is_exposed(path: &Path) -> io::Result<bool> {
    let file = OpenOptions::new().access_mode(READ_CONTROL).open(path)?;
    dacl_exposed(file.as_raw_handle() as HANDLE)
}

/// Whether the DACL of an object opened with READ_CONTROL lets in anyone but its owner,
/// administrators and SYSTEM.
fn dacl_exposed(handle: HANDLE) -> io::Result<bool> {
    let mut owner: PSID = ptr::null_mut();
    let mut dacl: *mut ACL = ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = ptr::null_mut();
    // SAFETY: handle opened with READ_CONTROL; out-pointers point into sd, freed below.
    let rc = unsafe {
        GetSecurityInfo(
            handle,
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
            &mut owner,
            ptr::null_mut(),
            &mut dacl,
            ptr::null_mut(),
            &mut sd,
        )
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc as i32));
    }
    // A null DACL grants everyone everything.
    let mut exposed = dacl.is_null();
    if !exposed {
        // SAFETY: dacl is valid while sd lives.
        let count = unsafe { (*dacl).AceCount };
        for i in 0..u32::from(count) {
            let mut ace: *mut c_void = ptr::null_mut();
            // SAFETY: i < AceCount.
            if unsafe { GetAce(dacl, i, &mut ace) } == 0 {
                continue;
            }
            let ace = ace as *const ACCESS_ALLOWED_ACE;
            // SAFETY: every ACE starts with ACE_HEADER; allowed ACEs have this layout.
            if u32::from(unsafe { (*ace).Header.AceType }) != ACCESS_ALLOWED_ACE_TYPE {
                continue;
            }
            let sid = unsafe { &(*ace).SidStart as *const u32 as PSID };
            // OWNER RIGHTS (S-1-3-4) is the owner, granted in the non-elevated AZCM_ROOT DACL.
            let trusted = unsafe {
                IsWellKnownSid(sid, WinLocalSystemSid) != 0
                    || IsWellKnownSid(sid, WinBuiltinAdministratorsSid) != 0
                    || IsWellKnownSid(sid, WinCreatorOwnerRightsSid) != 0
                    || (!owner.is_null() && EqualSid(sid, owner) != 0)
            };
            if !trusted {
                exposed = true;
                break;
            }
        }
    }
    // SAFETY: sd was allocated by GetSecurityInfo.
    unsafe { LocalFree(sd as _) };
    Ok(exposed)
}

pub const AZURE_GUEST_AGENT_SERVICES: &[&str] = &["WindowsAzureGuestAgent", "RdAgent"];

pub const EXTENSION_LAYOUT: super::ExtensionLayout = super::ExtensionLayout::NameThenVersion;

pub fn stop_service_hint(name: &str) -> String {
    format!("Stop-Service -Name {name} (or: sc.exe stop {name})")
}

/// A job object holding a handler and every process it starts; closing or terminating it
/// ends them all.
pub struct ProcessTree(HANDLE);

impl ProcessTree {
    pub fn adopt(child: &std::process::Child) -> Self {
        use std::os::windows::io::AsRawHandle;
        use windows_sys::Win32::System::JobObjects::{
            AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
            SetInformationJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
            JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
        };
        // SAFETY: a fresh unnamed job; the limit struct is fully initialised; the process
        // handle belongs to the live child.
        unsafe {
            let job = CreateJobObjectW(std::ptr::null(), std::ptr::null());
            if job.is_null() {
                return Self(std::ptr::null_mut());
            }
            let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
            limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
            SetInformationJobObject(
                job,
                JobObjectExtendedLimitInformation,
                (&limits as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            );
            AssignProcessToJobObject(job, child.as_raw_handle() as HANDLE);
            Self(job)
        }
    }

    pub fn kill(&self) {
        if !self.0.is_null() {
            // SAFETY: the job handle is owned by self.
            unsafe {
                windows_sys::Win32::System::JobObjects::TerminateJobObject(self.0, 1);
            }
        }
    }
}

impl Drop for ProcessTree {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: closing the handle we own; KILL_ON_JOB_CLOSE ends what is left.
            unsafe {
                windows_sys::Win32::Foundation::CloseHandle(self.0);
            }
        }
    }
}

/// Handler commands are command lines for cmd.exe, as the VM agent runs them.
pub fn shell_command(command: &str) -> std::process::Command {
    use std::os::windows::process::CommandExt;
    let mut c = std::process::Command::new("cmd.exe");
    c.arg("/C").raw_arg(command);
    c
}

pub fn service_name(service: AgentService) -> &'static str {
    match service {
        AgentService::Himds => "himds",
        AgentService::GuestConfiguration => "GCArcService",
        AgentService::ExtensionManager => "ExtensionService",
        AgentService::ArcProxy => "arcproxy",
    }
}

/// A service control handle, closed on drop.
struct ScHandle(SC_HANDLE);

impl Drop for ScHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from OpenSCManagerW/OpenServiceW and is closed once.
        unsafe { CloseServiceHandle(self.0) };
    }
}

/// An open service with the service-manager handle it came from: the manager stays open as
/// long as the service handle (dropped first, in field order).
struct OpenService {
    service: ScHandle,
    _manager: ScHandle,
}

/// Opens a service; `Ok(None)` when it does not exist.
fn open_service(name: &str, access: u32) -> io::Result<Option<OpenService>> {
    // SAFETY: null machine and database names mean the local active database.
    let manager = unsafe { OpenSCManagerW(ptr::null(), ptr::null(), SC_MANAGER_CONNECT) };
    if manager.is_null() {
        return Err(io::Error::last_os_error());
    }
    let manager = ScHandle(manager);
    let wide_name = wide(name);
    // SAFETY: valid manager handle and NUL-terminated name.
    let service = unsafe { OpenServiceW(manager.0, wide_name.as_ptr(), access) };
    if service.is_null() {
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(ERROR_SERVICE_DOES_NOT_EXIST as i32) {
            return Ok(None);
        }
        return Err(err);
    }
    Ok(Some(OpenService {
        service: ScHandle(service),
        _manager: manager,
    }))
}

pub fn query_service(name: &str) -> io::Result<Option<ServiceStatus>> {
    let Some(service) = open_service(name, SERVICE_QUERY_STATUS)? else {
        return Ok(None);
    };
    // SAFETY: SERVICE_STATUS_PROCESS is plain data; the buffer size matches it.
    let mut status: SERVICE_STATUS_PROCESS = unsafe { std::mem::zeroed() };
    let mut needed = 0u32;
    let ok = unsafe {
        QueryServiceStatusEx(
            service.service.0,
            SC_STATUS_PROCESS_INFO,
            &mut status as *mut _ as *mut u8,
            std::mem::size_of::<SERVICE_STATUS_PROCESS>() as u32,
            &mut needed,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    let state = match status.dwCurrentState {
        SERVICE_RUNNING => ServiceState::Running,
        SERVICE_START_PENDING => ServiceState::StartPending,
        SERVICE_STOP_PENDING => ServiceState::StopPending,
        SERVICE_CONTINUE_PENDING => ServiceState::ContinuePending,
        SERVICE_PAUSE_PENDING => ServiceState::PausePending,
        SERVICE_PAUSED => ServiceState::Paused,
        _ => ServiceState::Stopped,
    };
    Ok(Some(ServiceStatus {
        name: name.to_string(),
        state,
        pid: Some(status.dwProcessId).filter(|p| *p != 0),
    }))
}

pub fn request_start(name: &str) -> io::Result<()> {
    let service = open_service(name, SERVICE_START)?.ok_or_else(|| super::not_installed(name))?;
    // SAFETY: valid service handle; no arguments.
    if unsafe { StartServiceW(service.service.0, 0, ptr::null()) } == 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(ERROR_SERVICE_ALREADY_RUNNING as i32) {
            return Err(err);
        }
    }
    Ok(())
}

pub fn request_stop(name: &str) -> io::Result<()> {
    let service = open_service(name, SERVICE_STOP)?.ok_or_else(|| super::not_installed(name))?;
    // SAFETY: SERVICE_STATUS is plain data the call fills in.
    let mut status: SERVICE_STATUS = unsafe { std::mem::zeroed() };
    if unsafe { ControlService(service.service.0, SERVICE_CONTROL_STOP, &mut status) } == 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(ERROR_SERVICE_NOT_ACTIVE as i32) {
            return Err(err);
        }
    }
    Ok(())
}

/// A state folder held open for the whole command without FILE_SHARE_DELETE, so it cannot be
/// renamed, removed or replaced by a junction while azcm works in it; opened without following
/// a reparse point, and refused when it is one. Files in it are then used by path.
pub struct StateDir {
    _held: File,
    path: PathBuf,
}

impl StateDir {
    pub fn open(path: &Path, create: bool) -> io::Result<Self> {
        use std::os::windows::fs::MetadataExt;
        if create {
            create_private_dir_all(path)?;
        }
        let held = OpenOptions::new()
            .access_mode(READ_CONTROL)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE)
            .custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT)
            .open(path)?;
        let attributes = held.metadata()?.file_attributes();
        if attributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
            return Err(super::not_a_regular_folder(
                "a link or junction (reparse point)",
            ));
        }
        if attributes & FILE_ATTRIBUTE_DIRECTORY == 0 {
            return Err(super::not_a_regular_folder("a file"));
        }
        Ok(Self {
            _held: held,
            path: path.to_path_buf(),
        })
    }

    fn at(&self, name: &str) -> io::Result<PathBuf> {
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', ':']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'{name}' is not a file name"),
            ));
        }
        Ok(self.path.join(name))
    }

    pub fn create_new(&self, name: &str) -> io::Result<File> {
        create_private_file(&self.at(name)?)
    }

    pub fn open_read(&self, name: &str) -> io::Result<File> {
        open_regular(&self.at(name)?, super::Links::Refuse)
    }

    pub fn open_lock(&self, name: &str) -> io::Result<File> {
        open_lock_file(&self.at(name)?)
    }

    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        fs::rename(self.at(from)?, self.at(to)?)
    }

    pub fn remove(&self, name: &str) -> io::Result<()> {
        fs::remove_file(self.at(name)?)
    }

    pub fn sync(&self) -> io::Result<()> {
        sync_dir(&self.path)
    }

    pub fn file_names(&self) -> io::Result<Vec<String>> {
        Ok(fs::read_dir(&self.path)?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect())
    }
}

static INTERRUPTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe extern "system" fn on_console_event(kind: u32) -> windows_sys::core::BOOL {
    use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, CTRL_C_EVENT};
    if kind != CTRL_C_EVENT && kind != CTRL_BREAK_EVENT {
        return 0;
    }
    if INTERRUPTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 1 {
        std::process::exit(130);
    }
    1
}

pub fn watch_interrupts() {
    use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;
    // SAFETY: registers a handler that only touches an atomic (and exits the second time).
    unsafe {
        SetConsoleCtrlHandler(Some(on_console_event), 1);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTS.load(std::sync::atomic::Ordering::SeqCst) > 0
}

/// The console input mode before the echo was turned off, restored on drop.
pub struct HiddenInput {
    handle: HANDLE,
    mode: u32,
}

impl HiddenInput {
    pub fn start() -> io::Result<Self> {
        use windows_sys::Win32::System::Console::{
            GetConsoleMode, GetStdHandle, SetConsoleMode, ENABLE_ECHO_INPUT, STD_INPUT_HANDLE,
        };
        // SAFETY: GetStdHandle has no preconditions; the mode is read and written for that
        // console handle only.
        let handle = unsafe { GetStdHandle(STD_INPUT_HANDLE) };
        let mut mode = 0u32;
        if unsafe { GetConsoleMode(handle, &mut mode) } == 0 {
            return Err(io::Error::last_os_error());
        }
        if unsafe { SetConsoleMode(handle, mode & !ENABLE_ECHO_INPUT) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { handle, mode })
    }
}

impl Drop for HiddenInput {
    fn drop(&mut self) {
        use windows_sys::Win32::System::Console::SetConsoleMode;
        // SAFETY: restores the mode read in start() on the same handle.
        unsafe {
            SetConsoleMode(self.handle, self.mode);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A symbolic link (a reparse point) is refused inside the agent's folders, followed where
    /// the admin named the path.
    #[test]
    fn a_reparse_point_is_not_followed_where_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        std::fs::write(&target, "outside").unwrap();
        let link = dir.path().join("link.txt");
        if let Err(e) = std::os::windows::fs::symlink_file(&target, &link) {
            // Without SeCreateSymbolicLinkPrivilege (a non-elevated Windows session).
            eprintln!("cannot create a symbolic link here: {e}");
            assert_eq!(e.raw_os_error(), Some(1314), "{e}");
            return;
        }
        let err = open_regular(&link, super::super::Links::Refuse).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("reparse point"), "{err}");
        assert!(open_regular(&link, super::super::Links::Follow).is_ok());
        let lock = open_lock_file(&link).unwrap_err();
        assert_eq!(lock.kind(), io::ErrorKind::InvalidInput, "{lock}");
    }

    #[test]
    fn a_device_is_not_a_regular_file() {
        let err = open_regular(Path::new("NUL"), super::super::Links::Follow).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }

    #[test]
    fn layout_comes_from_known_folders() {
        let layout = system_layout().unwrap();
        let program_data = known_folder(&FOLDERID_ProgramData).unwrap();
        assert_eq!(
            layout.config_dir,
            program_data
                .join("AzureConnectedMachineAgent")
                .join("Config")
        );
        assert_eq!(layout.guest_config_dir, program_data.join("GuestConfig"));
        assert!(
            layout.extensions_dir.ends_with("Packages\\Plugins"),
            "{:?}",
            layout.extensions_dir
        );
        assert!(layout.extensions_dir.is_absolute());
    }

    #[test]
    fn private_files_get_a_protected_dacl() {
        let dir = std::env::temp_dir().join(format!("azcm-acl-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        let _ = fs::remove_file(&path);
        drop(create_private_file(&path).unwrap());
        assert!(!is_exposed(&path).unwrap(), "the DACL lets others in");
        // A second create must not replace an existing file.
        assert_eq!(
            create_private_file(&path).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn os_facts_come_from_the_system() {
        let facts = os_facts();
        assert_eq!(facts.os_type, "windows");
        assert!(
            facts
                .os_version
                .as_deref()
                .is_some_and(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit())),
            "{facts:?}"
        );
        assert!(
            facts
                .os_sku
                .as_deref()
                .is_some_and(|s| s.contains("Windows")),
            "{facts:?}"
        );
    }

    #[test]
    fn agent_service_names_are_the_windows_ones() {
        let names: Vec<_> = AgentService::ALL.iter().map(|s| s.service_name()).collect();
        assert_eq!(
            names,
            ["himds", "GCArcService", "ExtensionService", "arcproxy"]
        );
    }

    #[test]
    fn an_absent_service_is_none() {
        assert_eq!(query_service("AzcmNoSuchService9f3a").unwrap(), None);
        let err = super::super::start_service("AzcmNoSuchService9f3a", Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    /// Registers a stand-in RdAgent service (never started) and checks it is detected.
    #[test]
    fn the_azure_guest_agent_service_is_detected() {
        use windows_sys::Win32::System::Services::{
            CreateServiceW, DeleteService, SC_MANAGER_CREATE_SERVICE, SERVICE_DEMAND_START,
            SERVICE_ERROR_IGNORE, SERVICE_WIN32_OWN_PROCESS,
        };
        const DELETE: u32 = 0x0001_0000;
        assert_eq!(super::super::azure_guest_agent().unwrap(), None);
        let manager =
            unsafe { OpenSCManagerW(ptr::null(), ptr::null(), SC_MANAGER_CREATE_SERVICE) };
        assert!(!manager.is_null(), "{}", io::Error::last_os_error());
        let manager = ScHandle(manager);
        let (name, path) = (wide("RdAgent"), wide("C:\\azcm-test\\rdagent-stand-in.exe"));
        let service = unsafe {
            CreateServiceW(
                manager.0,
                name.as_ptr(),
                name.as_ptr(),
                DELETE | SERVICE_QUERY_STATUS,
                SERVICE_WIN32_OWN_PROCESS,
                SERVICE_DEMAND_START,
                SERVICE_ERROR_IGNORE,
                path.as_ptr(),
                ptr::null(),
                ptr::null_mut(),
                ptr::null(),
                ptr::null(),
                ptr::null(),
            )
        };
        assert!(!service.is_null(), "{}", io::Error::last_os_error());
        let service = ScHandle(service);
        let detected = super::super::azure_guest_agent();
        unsafe { DeleteService(service.0) };
        drop(service);
        let detected = detected.unwrap().expect("RdAgent detected");
        assert_eq!(
            (detected.name.as_str(), detected.state),
            ("RdAgent", ServiceState::Stopped)
        );
    }

    /// Drives a real service through the SCM. The Windows unit tier registers a dummy service
    /// in the Wine prefix and names it in AZCM_TEST_SERVICE.
    #[test]
    fn drives_a_registered_service() {
        let Ok(name) = std::env::var("AZCM_TEST_SERVICE") else {
            eprintln!("skipped: AZCM_TEST_SERVICE names no registered test service");
            return;
        };
        let timeout = Duration::from_secs(20);
        let stopped = super::super::stop_service(&name, timeout).unwrap();
        assert_eq!((stopped.state, stopped.pid), (ServiceState::Stopped, None));
        let running = super::super::start_service(&name, timeout).unwrap();
        assert_eq!(running.state, ServiceState::Running);
        assert!(running.pid.is_some());
        let restarted = super::super::restart_service(&name, timeout).unwrap();
        assert_eq!(restarted.state, ServiceState::Running);
        let stopped = super::super::stop_service(&name, timeout).unwrap();
        assert_eq!(stopped.state, ServiceState::Stopped);
        assert_eq!(
            query_service(&name).unwrap().unwrap().state,
            ServiceState::Stopped
        );
    }
}
