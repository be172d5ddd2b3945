//! bench/module: what the AzcmAgent module costs over the raw binary. Prints
//! `module: first_import_ms=… import_ms=… config_ms=… raw_config_ms=… config_overhead_ms=… agent_ms=… raw_show_ms=…
//! agent_overhead_ms=…`: the first Import-Module of a process, then medians of 30: Import-Module in
//! a fresh runspace, Get-AzcmConfig
//! and Get-AzcmAgent in PowerShell, and `azcm config list --json` / `azcm show --json` spawned
//! directly, all in one run against one state root. Goals (README): import ≤ 200 ms, a cmdlet
//! ≤ the raw binary + 15 ms. PowerShell: pwsh on PATH, else ../shared/tools/pwsh.
//! Run: `cargo bench --bench module`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const RUNS: usize = 30;

fn median(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(|a, b| a.total_cmp(b));
    ms[ms.len() / 2]
}

#[path = "../tests/common/pwsh.rs"]
mod pwsh_path;
use pwsh_path::pwsh;

/// Loopback only: IMDS and HIMDS are a closed port, never 169.254.169.254.
fn isolate(cmd: &mut Command, root: &Path) {
    cmd.env("AZCM_ROOT", root)
        .env("AZCM_IMDS_ENDPOINT", "http://127.0.0.1:9")
        .env("AZCM_HIMDS_ENDPOINT", "http://127.0.0.1:9");
}

fn raw(azcm: &str, root: &Path, args: &[&str]) -> f64 {
    let times = (0..RUNS)
        .map(|_| {
            let mut cmd = Command::new(azcm);
            cmd.args(args);
            isolate(&mut cmd, root);
            let started = Instant::now();
            let out = cmd.output().expect("run azcm");
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            assert!(out.status.success(), "azcm {args:?}: {out:?}");
            ms
        })
        .collect();
    median(times)
}

const SCRIPT: &str = r#"
param([string]$Module, [int]$Runs)
$ErrorActionPreference = 'Stop'
function Get-Median([double[]]$Values) { $sorted = $Values | Sort-Object; $sorted[[int]($sorted.Count / 2)] }
# The first import of this process pays for compiling the module's code; the median is an import
# in a fresh runspace of a warm process.
$first = (Measure-Command { Import-Module -Name $Module }).TotalMilliseconds
Remove-Module -Name AzcmAgent
$imports = foreach ($i in 1..$Runs) {
    $ps = [powershell]::Create()
    [void]$ps.AddCommand('Import-Module').AddParameter('Name', $Module)
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    [void]$ps.Invoke()
    $watch.Stop()
    if ($ps.HadErrors) { throw ($ps.Streams.Error | Out-String) }
    $ps.Dispose()
    $watch.Elapsed.TotalMilliseconds
}
Import-Module -Name $Module
Get-AzcmConfig | Out-Null
Get-AzcmAgent -WarningAction SilentlyContinue | Out-Null
$config = foreach ($i in 1..$Runs) { (Measure-Command { Get-AzcmConfig | Out-Null }).TotalMilliseconds }
$agent = foreach ($i in 1..$Runs) { (Measure-Command { Get-AzcmAgent -WarningAction SilentlyContinue | Out-Null }).TotalMilliseconds }
'{0:F1} {1:F1} {2:F1} {3:F1}' -f $first, (Get-Median $imports), (Get-Median $config), (Get-Median $agent)
"#;

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let azcm = env!("CARGO_BIN_EXE_azcm");
    let root = tempfile::tempdir().expect("state root");
    let work = tempfile::tempdir().expect("work folder");
    let script = work.path().join("module-bench.ps1");
    std::fs::write(&script, SCRIPT).unwrap();
    // Warm the file cache and the binary before timing either side.
    raw(azcm, root.path(), &["config", "list", "--json"]);
    let raw_config = raw(azcm, root.path(), &["config", "list", "--json"]);
    let raw_show = raw(azcm, root.path(), &["show", "--json"]);

    let mut cmd = Command::new(pwsh(&repo));
    cmd.args(["-NoProfile", "-NonInteractive", "-File"])
        .arg(&script)
        .arg("-Module")
        .arg(repo.join("powershell/AzcmAgent/AzcmAgent.psd1"))
        .arg("-Runs")
        .arg(RUNS.to_string())
        .env("AZCM_BINARY", azcm);
    isolate(&mut cmd, root.path());
    let out = cmd.output().expect("run pwsh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pwsh: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: Vec<f64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let [first_import, import, config, agent] = figures[..] else {
        panic!("unexpected pwsh output: {text}");
    };
    println!(
        "module: first_import_ms={first_import:.1} import_ms={import:.1} config_ms={config:.1} raw_config_ms={raw_config:.1} config_overhead_ms={:.1} agent_ms={agent:.1} raw_show_ms={raw_show:.1} agent_overhead_ms={:.1} (goals: import<=200 overhead<=15)",
        config - raw_config,
        agent - raw_show
    );
}
