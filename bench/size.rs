//! bench/size: what ships. Prints `size: linux=… win=… module=…` in MB (10^6 bytes): the
//! stripped release azcm this bench was built with, the cross-built azcm.exe
//! (scripts/cross-windows.sh --profile release), and the staged module folder with every file
//! in it (scripts/stage-module.sh or build.ps1 -Configuration Release). Goal: each binary
//! ≤ 8 MB. Run: `cargo bench --bench size` (after the Windows build and the staging, as CI does).

use std::path::{Path, PathBuf};

const GOAL_MB: f64 = 8.0;

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn folder_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            total += folder_bytes(&entry.path());
        } else if kind.is_file() {
            total += entry.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    total
}

fn module_version(root: &Path) -> Option<String> {
    let manifest = std::fs::read_to_string(root.join("powershell/AzcmAgent/AzcmAgent.psd1")).ok()?;
    manifest.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("ModuleVersion")?.trim().strip_prefix('=')?;
        Some(rest.trim().trim_matches('\'').to_string())
    })
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let linux = std::fs::metadata(env!("CARGO_BIN_EXE_azcm")).map(|m| m.len()).ok();
    let win_path = std::env::var_os("AZCM_WIN_EXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/cross/x86_64-pc-windows-gnu/release/azcm.exe"));
    let win = std::fs::metadata(&win_path).map(|m| m.len()).ok();
    let stage = module_version(&root).map(|v| root.join("out/AzcmAgent").join(v));
    let module = stage
        .as_ref()
        .filter(|s| s.join("AzcmAgent.psd1").is_file())
        .map(|s| folder_bytes(s));

    let show = |bytes: Option<u64>| bytes.map_or("absent".to_string(), |b| format!("{:.2}MB", mb(b)));
    let within = |bytes: Option<u64>| bytes.is_some_and(|b| mb(b) <= GOAL_MB);
    println!(
        "size: linux={} win={} module={} goal=each binary <= {GOAL_MB}MB: {}",
        show(linux),
        show(win),
        show(module),
        if within(linux) && within(win) { "met" } else { "NOT met" }
    );
    if win.is_none() {
        eprintln!("size: no {} (scripts/cross-windows.sh --profile release builds it)", win_path.display());
    }
    if module.is_none() {
        eprintln!("size: no staged module under out/AzcmAgent (scripts/stage-module.sh --profile release stages it)");
    }
}
