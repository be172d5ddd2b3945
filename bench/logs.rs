//! bench/logs: 1 GiB of realistic agent logs (a seeded generator: himds, azcmagent, arcproxy,
//! guest configuration and extension logs with timestamps, GUIDs, URLs and JSON), packed by
//! `azcm logs --full` and by `zip -r -6` on the same files, in one run.
//!
//! Prints `logs: azcm=…s zip=…s speedup=… size_ratio=… peak_rss=…MiB` (size_ratio = azcm's
//! archive ÷ zip's; peak_rss = azcm's maximum resident set). Goal: speedup ≥ 2.0 at
//! size_ratio ≤ 1.05 and peak RSS ≤ 64 MiB. Needs the `zip` tool. Run: `cargo bench --bench logs`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const TOTAL: u64 = 1 << 30;
const FILE: u64 = 64 << 20;

const COMPONENTS: &[(&str, &str)] = &[
    ("var/opt/azcmagent/log", "himds"),
    ("var/opt/azcmagent/log", "azcmagent"),
    ("var/opt/azcmagent/log", "arcproxy"),
    ("var/lib/GuestConfig/ext_mgr_logs", "gc_ext"),
    ("var/lib/GuestConfig/arc_policy_logs", "gc_agent"),
    (
        "var/log/azure/Microsoft.Azure.Monitor.AzureMonitorLinuxAgent",
        "extension",
    ),
];

const MESSAGES: &[&str] = &[
    "Heartbeat sent to https://weu.his.arc.azure.com/agents/heartbeat status=200",
    "Refreshing managed identity token for resource https://management.azure.com/",
    "Extension Microsoft.Azure.Monitor.AzureMonitorLinuxAgent reported status success (Enable)",
    "Downloading extension package from https://oaasguestconfigweus1.blob.core.windows.net/extensions/pkg.zip",
    "Guest assignment AzureLinuxBaseline compliance evaluated: Compliant",
    "Proxy connection to management.azure.com:443 established in 12ms",
    "{\"level\":\"info\",\"component\":\"ExtensionManager\",\"operation\":\"Enable\",\"sequence\":42,\"result\":\"success\"}",
    "Polling for new goal state (etag unchanged)",
    "Certificate thumbprint validated; expires in 44 days",
    "WARN retrying request after 429 Too Many Requests, Retry-After=2",
];

fn generate(root: &Path) {
    let mut rng = StdRng::seed_from_u64(20261123);
    let mut written = 0u64;
    let mut n = 0usize;
    while written < TOTAL {
        let (dir, base) = COMPONENTS[n % COMPONENTS.len()];
        let rotation = n / COMPONENTS.len();
        let name = if rotation == 0 {
            format!("{base}.log")
        } else {
            format!("{base}.log.{rotation}")
        };
        let path = root.join(dir).join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut size = 0u64;
        let mut seconds = 1_795_000_000u64 + rng.gen_range(0..1000);
        while size < FILE && written + size < TOTAL {
            seconds += rng.gen_range(0..3);
            let line = format!(
                "{} {:>5} [{}] pid={} req={:08x}-{:04x}-{:04x}-{:04x}-{:012x} {}\n",
                seconds,
                ["INFO", "DEBUG", "WARN", "INFO", "INFO"][rng.gen_range(0..5)],
                base,
                rng.gen_range(1000..9999),
                rng.gen::<u32>(),
                rng.gen::<u16>(),
                rng.gen::<u16>(),
                rng.gen::<u16>(),
                rng.gen::<u64>() & 0xffff_ffff_ffff,
                MESSAGES[rng.gen_range(0..MESSAGES.len())]
            );
            f.write_all(line.as_bytes()).unwrap();
            size += line.len() as u64;
        }
        written += size;
        n += 1;
    }
}

#[cfg(unix)]
fn children_peak_rss_kib() -> u64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss as u64
}

#[cfg(not(unix))]
fn children_peak_rss_kib() -> u64 {
    0
}

fn main() {
    let azcm = env!("CARGO_BIN_EXE_azcm");
    if Command::new("zip")
        .arg("-v")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        println!("logs: skipped (the zip tool is not installed)");
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let root = work.path().join("root");
    generate(&root);
    let out = work.path().join("azcm.zip");
    let extra: Vec<String> = std::env::var("AZCM_BENCH_LOGS_ARGS")
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let started = Instant::now();
    let status = Command::new(azcm)
        .args(["logs", "--full", "--json"])
        .args(&extra)
        .arg("-o")
        .arg(&out)
        .env("AZCM_ROOT", &root)
        .env("AZCM_IMDS_ENDPOINT", "http://127.0.0.1:9")
        .env("AZCM_HIMDS_ENDPOINT", "http://127.0.0.1:9")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("azcm");
    let azcm_secs = started.elapsed().as_secs_f64();
    assert!(status.success(), "azcm logs failed");
    let peak = children_peak_rss_kib();
    let zip_out = work.path().join("zip.zip");
    let started = Instant::now();
    let status = Command::new("zip")
        .args(["-r", "-6", "-q"])
        .arg(&zip_out)
        .arg(".")
        .current_dir(&root)
        .status()
        .expect("zip");
    let zip_secs = started.elapsed().as_secs_f64();
    assert!(status.success());
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64;
    println!(
        "logs: input=1GiB azcm={azcm_secs:.2}s zip={zip_secs:.2}s speedup={:.2} size_ratio={:.3} peak_rss={:.1}MiB",
        zip_secs / azcm_secs,
        size(&out) / size(&zip_out),
        peak as f64 / 1024.0
    );
}
