//! bench/fanout: what a fleet connect costs the admin's machine. Starts MACHINES + 1 SSH machines
//! on loopback as the remoting tests build them (an sshd each on 127.0.1.x in its own UTS
//! namespace, with its own agent state and PowerShell as its subsystem), times one machine's
//! `Connect-AzcmAgent -HostName` alone (median of 3), then `Connect-AzcmAgent -HostName` to
//! MACHINES machines with -ThrottleLimit THROTTLE, all against one fake cloud, and prints
//! `fanout: machines=… throttle=… wall=…s alone=…s per_machine=…s ratio=… peak_rss_admin=…MiB`
//! where ratio = wall ÷ (ceil(machines ÷ throttle) × alone) — 1.0 would be waves of perfectly
//! parallel machines — and peak_rss_admin is the admin PowerShell process's peak resident memory.
//! It also prints the CPU the whole host spent meanwhile (host_cpu; all the machines share its
//! cores here), the bound that sets (cpu_bound = host_cpu ÷ cores) and the admin PowerShell's own
//! CPU per machine. Goal (README): ratio ≤ 1.5. Needs root, sshd, ssh and unshare (CI has them; elsewhere the
//! bench says what is missing). Run: `cargo bench --bench fanout` (AZCM_FANOUT_MACHINES,
//! AZCM_FANOUT_THROTTLE change the 20 and 8).

use azcm_fakecloud::FakeCloud;
use std::path::PathBuf;
use std::process::Command;

const SCRIPT: &str = r#"
param([string]$Repo, [int]$Machines, [int]$Throttle)
$ErrorActionPreference = 'Stop'
. (Join-Path -Path $Repo -ChildPath 'tests/powershell/Common.ps1')
. (Join-Path -Path $Repo -ChildPath 'tests/powershell/Remoting.ps1')
$missing = @(Test-TestSshPrerequisite)
if ($missing.Count -gt 0) {
    'missing {0}' -f ($missing -join ', ')
    return
}
$all = foreach ($i in 1..($Machines + 1)) { @{ Address = '127.0.1.{0}' -f $i; Name = 'bench-{0:D3}' -f $i } }
$fleet = Start-TestSshMachine -Machine $all -ModuleRoot (Join-Path -Path $Repo -ChildPath 'powershell')
try {
    $ssh = $fleet.Ssh
    $credential = Get-TestFakeCredential
    $target = Get-TestFakeTarget
    $quiet = @{ Confirm = $false; InformationAction = 'SilentlyContinue'; ProgressAction = 'SilentlyContinue' }
    $alone = $all[-1].Address
    # Warm: the first remote PowerShell of this machine loads from a cold cache.
    $null = Get-AzcmAgent -HostName $alone @ssh -InformationAction SilentlyContinue -WarningAction SilentlyContinue
    $busy = { $f = ((Get-Content -LiteralPath '/proc/stat' -TotalCount 1) -split '\s+')[1..8] | ForEach-Object { [double]$_ }; ($f[0] + $f[1] + $f[2] + $f[5] + $f[6] + $f[7]) / 100 }
    $aloneCpu = @()
    $single = foreach ($round in 1..3) {
        $busyBefore = & $busy
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $row = Connect-AzcmAgent -HostName $alone @ssh -ServicePrincipalCredential $credential @target -Name ('bench-alone-{0}' -f $round) @quiet
        $watch.Stop()
        $aloneCpu += (& $busy) - $busyBefore
        if ($row.Status -ne 'Connected') { throw ('the machine alone: {0} {1}' -f $row.Status, $row.Error) }
        $null = Disconnect-AzcmAgent -HostName $alone @ssh -ForceLocalOnly @quiet
        $watch.Elapsed.TotalSeconds
    }
    $single = @($single | Sort-Object)[1]
    $hosts = @($all[0..($Machines - 1)] | ForEach-Object { $_.Address })
    # The CPU this machine spent meanwhile (all the machines share it), and the admin's share.
    $rssBefore = (Get-Process -Id $PID).WorkingSet64 / 1MB
    $busyBefore = & $busy
    $adminBefore = (Get-Process -Id $PID).TotalProcessorTime.TotalSeconds
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $rows = @(Connect-AzcmAgent -HostName $hosts @ssh -ServicePrincipalCredential $credential @target -ThrottleLimit $Throttle @quiet)
    $watch.Stop()
    $admin = (Get-Process -Id $PID).TotalProcessorTime.TotalSeconds - $adminBefore
    $hostBusy = (& $busy) - $busyBefore
    $connected = @($rows | Where-Object Status -EQ 'Connected').Count
    if ($connected -ne $Machines) { throw ('{0} of {1} connected: {2}' -f $connected, $Machines, ($rows | Format-Table PSComputerName, Status, Error | Out-String)) }
    $peak = (Get-Process -Id $PID).PeakWorkingSet64 / 1MB
    'figures {0:F3} {1:F3} {2:F1} {3:F3} {4:F3} {5} {6:F3} {7:F1}' -f $watch.Elapsed.TotalSeconds, $single, $peak, $admin, $hostBusy, [System.Environment]::ProcessorCount, (@($aloneCpu | Sort-Object)[1]), $rssBefore
} finally {
    Stop-TestSshMachine -Fleet $fleet
}
"#;

#[path = "../tests/common/pwsh.rs"]
mod pwsh_path;
use pwsh_path::pwsh;

fn knob(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=200).contains(n))
        .unwrap_or(default)
}

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let machines = knob("AZCM_FANOUT_MACHINES", 20);
    let throttle = knob("AZCM_FANOUT_THROTTLE", 8);
    let fake = FakeCloud::start().expect("fake cloud");
    let work = tempfile::tempdir().expect("work folder");
    let (cloud_file, ca_file) = fake
        .write_files(&work.path().join("fake"))
        .expect("fake cloud files");
    let script = work.path().join("fanout-bench.ps1");
    std::fs::write(&script, SCRIPT).unwrap();

    let mut cmd = Command::new(pwsh(&repo));
    cmd.args(["-NoProfile", "-NonInteractive", "-File"])
        .arg(&script)
        .arg("-Repo")
        .arg(&repo)
        .arg("-Machines")
        .arg(machines.to_string())
        .arg("-Throttle")
        .arg(throttle.to_string())
        .env("AZCM_BINARY", env!("CARGO_BIN_EXE_azcm"))
        .env_remove("AZCM_MODULE_PATH");
    for (key, value) in fake
        .azcm_env(&cloud_file, &ca_file)
        .into_iter()
        .chain(fake.fake_env())
    {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("run pwsh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pwsh: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(missing) = text.lines().find_map(|l| l.strip_prefix("missing ")) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must run the fan-out bench; missing: {missing}"
        );
        println!("fanout: not measured here (needs {missing})");
        return;
    }
    let figures: Vec<f64> = text
        .lines()
        .find_map(|l| l.strip_prefix("figures "))
        .unwrap_or_else(|| panic!("unexpected pwsh output: {text}"))
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let [wall, alone, peak, admin_cpu, busy, cores, alone_cpu, rss_before] = figures[..] else {
        panic!("unexpected pwsh output: {text}");
    };
    let waves = machines.div_ceil(throttle);
    // Here every machine runs on this one host: the fan-out cannot end before the CPU all of them
    // need is spent on its cores. On a real fleet each machine has its own.
    let cpu_bound = busy / cores;
    println!(
        "fanout: machines={machines} throttle={throttle} wall={wall:.1}s alone={alone:.1}s per_machine={:.2}s ratio={:.2} peak_rss_admin={peak:.0}MiB rss_admin_before={rss_before:.0}MiB admin_cpu_per_machine={:.3}s alone_host_cpu={alone_cpu:.2}s host_cpu={busy:.1}s cores={cores} cpu_bound={cpu_bound:.1}s wall_to_cpu_bound={:.2} (goal: ratio<=1.5)",
        wall / f64::from(machines),
        wall / (f64::from(waves) * alone),
        admin_cpu / f64::from(machines),
        wall / cpu_bound
    );
}
