use super::SystemLayout;
use std::ffi::{c_void, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::AsRawHandle;
use std::path::{Component, Path, PathBuf};
use std::ptr;

use windows_sys::core::{GUID, PWSTR};
use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, GENERIC_READ, GENERIC_WRITE, HANDLE};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, GetSecurityInfo, SetSecurityInfo,
    SDDL_REVISION_1, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    EqualSid, GetAce, GetSecurityDescriptorDacl, GetTokenInformation, IsWellKnownSid,
    TokenElevation, WinBuiltinAdministratorsSid, WinLocalSystemSid, ACCESS_ALLOWED_ACE, ACL,
    DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION,
    PSECURITY_DESCRIPTOR, PSID, TOKEN_ELEVATION, TOKEN_QUERY,
};
use windows_sys::Win32::Storage::FileSystem::{READ_CONTROL, WRITE_DAC};
use windows_sys::Win32::System::Com::CoTaskMemFree;
use windows_sys::Win32::System::SystemServices::ACCESS_ALLOWED_ACE_TYPE;
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
use windows_sys::Win32::UI::Shell::{FOLDERID_ProgramData, FOLDERID_Windows, SHGetKnownFolderPath};

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
    })
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

pub fn create_private_file(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .access_mode(GENERIC_READ | GENERIC_WRITE | WRITE_DAC | READ_CONTROL)
        .open(path)?;
    // The file is still empty here: nothing is exposed before the DACL is in place.
    apply_dacl(file.as_raw_handle() as HANDLE, state_sddl())?;
    Ok(file)
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
    const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
    let dir = OpenOptions::new()
        .access_mode(WRITE_DAC | READ_CONTROL)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)?;
    let sddl = if is_elevated() {
        "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
    } else {
        "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)"
    };
    apply_dacl(dir.as_raw_handle() as HANDLE, sddl)
}

pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    // NTFS journals the rename itself (MoveFileEx with REPLACE_EXISTING); a directory
    // handle cannot be flushed on Windows.
    Ok(())
}

pub fn is_exposed(path: &Path) -> io::Result<bool> {
    let file = OpenOptions::new().access_mode(READ_CONTROL).open(path)?;
    let mut owner: PSID = ptr::null_mut();
    let mut dacl: *mut ACL = ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = ptr::null_mut();
    // SAFETY: handle opened with READ_CONTROL; out-pointers point into sd, freed below.
    let rc = unsafe {
        GetSecurityInfo(
            file.as_raw_handle() as HANDLE,
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
            let trusted = unsafe {
                IsWellKnownSid(sid, WinLocalSystemSid) != 0
                    || IsWellKnownSid(sid, WinBuiltinAdministratorsSid) != 0
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
