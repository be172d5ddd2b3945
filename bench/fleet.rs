//! bench/fleet: 200 machines onboarded at once against the fake cloud, throttled like ARM at
//! 20 writes per second per subscription (429 + Retry-After beyond). Each machine has its own
//! state root and resource name, and its key pair is made with `genkey` before the timed phase,
//! as every machine of a real fleet pays its own key generation on its own CPU.
//!
//! Prints `fleet: ok=N/200 wall=…s bound=…s ratio=…`, where bound = the ARM writes the run needed
//! ÷ 20/s: the fastest any client could finish under the throttle; then what explains a slow
//! run: requests per onboarding, 429s per successful write, the fleet's CPU (user+sys of the azcm
//! processes) per onboarding, and when the first and last writes were answered.
//! Run: `cargo bench --bench fleet`.

use azcm_fakecloud::{FakeCloud, CLOUD_NAME};
use std::process::{Command, Stdio};
use std::time::Instant;

const MACHINES: usize = 200;
const WRITES_PER_SEC: u32 = 20;

fn main() {
    let azcm = env!("CARGO_BIN_EXE_azcm");
    let fake = FakeCloud::start().expect("fake cloud");
    fake.update_settings(|s| s.registration_polls = 0);
    let work = tempfile::tempdir().expect("temp dir");
    let (cloud_file, ca_file) = fake
        .write_files(&work.path().join("fake"))
        .expect("fake files");
    let base_args = |name: &str| {
        vec![
            "connect".to_string(),
            "--subscription-id".into(),
            fake.subscription_id.clone(),
            "--resource-group".into(),
            fake.resource_group.clone(),
            "--location".into(),
            fake.location.clone(),
            "--cloud".into(),
            CLOUD_NAME.into(),
            "--service-principal-id".into(),
            fake.client_id.clone(),
            "--tenant-id".into(),
            fake.tenant_id.clone(),
            "--resource-name".into(),
            name.to_string(),
            "--retry-timeout".into(),
            "600".into(),
            "--json".into(),
        ]
    };
    let command = |root: &std::path::Path, args: &[String]| {
        let mut cmd = Command::new(azcm);
        cmd.args(args)
            .env("AZCM_ROOT", root)
            .env("AZCM_CLOUD_FILE", &cloud_file)
            .env("AZCM_EXTRA_CA_CERTS", &ca_file)
            .env("AZCM_IMDS_ENDPOINT", &fake.imds_url)
            .env("AZCM_SERVICE_PRINCIPAL_SECRET", &fake.client_secret)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        cmd
    };

    // Untimed: the subscription's one-time setup (providers, resource group) by a first machine,
    // and every machine's own key pair.
    let setup = work.path().join("setup");
    let out = command(&setup, &base_args("fleet-setup"))
        .output()
        .expect("setup connect");
    assert!(
        out.status.success(),
        "setup connect failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let roots: Vec<_> = (0..MACHINES)
        .map(|i| work.path().join(format!("m{i:03}")))
        .collect();
    for root in &roots {
        let out = command(root, &["genkey".into(), "--json".into()])
            .output()
            .expect("genkey");
        assert!(out.status.success());
    }

    fake.update_settings(|s| s.throttle_writes_per_sec = WRITES_PER_SEC);
    fake.clear_requests();
    let cpu_before = children_cpu_secs();
    let fake_cpu_before = own_cpu_secs();
    let started = Instant::now();
    let children: Vec<_> = roots
        .iter()
        .enumerate()
        .map(|(i, root)| {
            command(root, &base_args(&format!("fleet-{i:03}")))
                .spawn()
                .expect("spawn azcm")
        })
        .collect();
    let ok = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("azcm finished"))
        .filter(|o| o.status.success())
        .count();
    let wall = started.elapsed().as_secs_f64();
    let cpu = children_cpu_secs()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let fake_cpu = own_cpu_secs()
        .zip(fake_cpu_before)
        .map(|(after, before)| after - before);

    let requests = fake.requests();
    // Successful ARM writes, and when each was answered (seconds after the fleet's first
    // request reached the fake).
    let first = requests.iter().map(|r| r.ms_since_start).min().unwrap_or(0);
    let write_times: Vec<f64> = requests
        .iter()
        .filter(|r| {
            r.method != "GET"
                && r.path.starts_with("/subscriptions")
                && (200..300).contains(&r.status)
        })
        .map(|r| (r.ms_since_start - first) as f64 / 1000.0)
        .collect();
    let writes = write_times.len();
    let throttled = requests.iter().filter(|r| r.status == 429).count();
    let bound = writes as f64 / f64::from(WRITES_PER_SEC);
    let first_write = write_times.iter().copied().fold(f64::INFINITY, f64::min);
    let last_write = write_times.iter().copied().fold(0.0, f64::max);
    println!(
        "fleet: ok={ok}/{MACHINES} wall={wall:.2}s bound={bound:.2}s ratio={:.3} writes={writes} throttled={throttled} requests={} \
         requests/onboarding={:.1} 429s/write={:.2} cpu/onboarding={} fake_cpu/onboarding={} first_write=+{first_write:.1}s last_write=+{last_write:.1}s",
        wall / bound,
        requests.len(),
        requests.len() as f64 / MACHINES as f64,
        throttled as f64 / writes.max(1) as f64,
        per_onboarding(cpu),
        per_onboarding(fake_cpu),
    );
}

fn per_onboarding(cpu_secs: Option<f64>) -> String {
    cpu_secs.map_or("n/a".to_string(), |c| {
        format!("{:.0}ms", c * 1000.0 / MACHINES as f64)
    })
}

/// User + system CPU seconds of every child process waited for so far (Unix only).
fn children_cpu_secs() -> Option<f64> {
    #[cfg(unix)]
    return cpu_secs(libc::RUSAGE_CHILDREN);
    #[cfg(not(unix))]
    None
}

/// User + system CPU seconds of this process: the fake cloud's threads (Unix only).
fn own_cpu_secs() -> Option<f64> {
    #[cfg(unix)]
    return cpu_secs(libc::RUSAGE_SELF);
    #[cfg(not(unix))]
    None
}

#[cfg(unix)]
fn cpu_secs(who: libc::c_int) -> Option<f64> {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(usage.ru_utime) + secs(usage.ru_stime))
}
