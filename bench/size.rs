//! bench/size: what ships. Prints `size: linux=… win=… module=…` in MB (10^6 bytes): the
//! module staged by scripts/stage-module.sh (or build.ps1 -Configuration Release) in
//! out/AzcmAgent/<version>/, its bin/linux-x64/azcm and bin/win-x64/azcm.exe (there when
//! scripts/cross-windows.sh --profile release built one), and the whole folder. Not the azcm
//! this bench was built with: a bench build unifies dev-dependency features (regex's Unicode
//! tables, for one) into it, so it is not the shipped binary. Goal: each binary ≤ 8 MB.
//! Run: `cargo bench --bench size` after the staging, as CI does.

use std::path::{Path, PathBuf};

const GOAL_MB: f64 = 8.0;

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn folder_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            total += folder_bytes(&entry.path());
        } else if kind.is_file() {
            total += entry.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    total
}

fn module_version(root: &Path) -> Option<String> {
    let manifest =
        std::fs::read_to_string(root.join("powershell/AzcmAgent/AzcmAgent.psd1")).ok()?;
    manifest.lines().find_map(|line| {
        let rest = line
            .trim()
            .strip_prefix("ModuleVersion")?
            .trim()
            .strip_prefix('=')?;
        Some(rest.trim().trim_matches('\'').to_string())
    })
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let stage = module_version(&root)
        .map(|v| root.join("out/AzcmAgent").join(v))
        .filter(|s| s.join("AzcmAgent.psd1").is_file());
    let Some(stage) = stage else {
        eprintln!("size: no staged module under out/AzcmAgent (scripts/stage-module.sh --profile release stages it)");
        std::process::exit(1);
    };
    let size = |path: PathBuf| std::fs::metadata(path).map(|m| m.len()).ok();
    let linux = std::fs::read_dir(stage.join("bin"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("linux-"))
        .find_map(|e| size(e.path().join("azcm")));
    let win = size(stage.join("bin/win-x64/azcm.exe"));
    let module = Some(folder_bytes(&stage));

    let show =
        |bytes: Option<u64>| bytes.map_or("absent".to_string(), |b| format!("{:.2}MB", mb(b)));
    let within = |bytes: Option<u64>| bytes.is_some_and(|b| mb(b) <= GOAL_MB);
    println!(
        "size: linux={} win={} module={} goal=each binary <= {GOAL_MB}MB: {}",
        show(linux),
        show(win),
        show(module),
        if within(linux) && within(win) {
            "met"
        } else {
            "NOT met"
        }
    );
    if win.is_none() {
        eprintln!(
            "size: no bin/win-x64/azcm.exe in {} (scripts/stage-module.sh --with-windows)",
            stage.display()
        );
    }
}
