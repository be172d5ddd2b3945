//! bench/check: `azcm check` over 15 endpoints, each answer delayed 300 ms by the fake cloud.
//! Probing them one after another would take about 15 × the slowest; concurrently it takes
//! about the slowest. Prints `check: wall=…ms slowest=…ms ratio=…` (wall = the whole azcm
//! process, slowest = the slowest endpoint's own check), the median of 5 runs.
//! Run: `cargo bench --bench check`.

use azcm_fakecloud::{FakeCloud, CLOUD_NAME};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Instant;

const ENDPOINTS: usize = 15;
const DELAY_MS: u64 = 300;
const RUNS: usize = 5;

fn main() {
    let azcm = env!("CARGO_BIN_EXE_azcm");
    let fake = FakeCloud::start().expect("fake cloud");
    fake.update_settings(|s| s.check_delay_ms = DELAY_MS);
    let work = tempfile::tempdir().expect("temp dir");
    let (cloud_file, ca_file) = fake
        .write_files(&work.path().join("fake"))
        .expect("fake files");
    // The fake's catalogue grown to 15 endpoints (the regional HIS host among them, so HIS
    // discovery runs alongside as it does against Azure).
    let mut def = fake.cloud_definition();
    let base = fake.base_url.replace("127.0.0.1", "localhost");
    let endpoints = def["clouds"][0]["endpoints"].as_array_mut().unwrap();
    endpoints.retain(|e| e["extension"].is_null());
    let mut i = 0;
    while endpoints.len() < ENDPOINTS {
        i += 1;
        endpoints.push(json!({"id": format!("extra{i}"), "useCase": format!("Extra endpoint {i}"), "url": format!("{base}/arc/extra/{i}"), "category": "Arc", "required": true, "privateLink": false, "gateway": false}));
    }
    std::fs::write(&cloud_file, serde_json::to_vec_pretty(&def).unwrap()).unwrap();

    let mut samples: Vec<(u128, u64)> = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let out = Command::new(azcm)
            .args([
                "check",
                "--location",
                "westeurope",
                "--cloud",
                CLOUD_NAME,
                "--json",
            ])
            .env("AZCM_ROOT", work.path().join("state"))
            .env("AZCM_CLOUD_FILE", &cloud_file)
            .env("AZCM_EXTRA_CA_CERTS", &ca_file)
            .env("AZCM_IMDS_ENDPOINT", &fake.imds_url)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .expect("run azcm");
        let wall = started.elapsed().as_millis();
        let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(doc["ok"], true, "{doc:#}");
        let report = &doc["result"];
        assert_eq!(report["endpoints"].as_array().unwrap().len(), ENDPOINTS);
        samples.push((wall, report["summary"]["slowestMs"].as_u64().unwrap()));
    }
    samples.sort();
    let (wall, slowest) = samples[RUNS / 2];
    println!(
        "check: endpoints={ENDPOINTS} delay={DELAY_MS}ms wall={wall}ms slowest={slowest}ms ratio={:.2} sequential≈{}ms",
        wall as f64 / slowest as f64,
        ENDPOINTS as u64 * slowest
    );
}
