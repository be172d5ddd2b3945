//! `azcm-fakecloud [--print-env] [--dir DIR] [--scenario FILE]`: starts the fake cloud on free
//! loopback ports, writes its cloud definition and CA certificate into DIR, prints
//! `export NAME='value'` lines for azcm and for tests, and serves until it is stopped. While it
//! serves, DIR/requests.json holds the request log (FAKE_REQUEST_LOG), rewritten every 200 ms,
//! for tests in other processes (Pester).

use azcm_fakecloud::{FakeCloud, Fault, Settings};
use serde::Deserialize;
use std::path::PathBuf;

/// A scenario file: settings to change, faults to arm and client certificates (PEM) to register
/// on the default service principal, at start.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Scenario {
    settings: Option<serde_json::Value>,
    faults: Vec<Fault>,
    client_certificates: Vec<String>,
}

fn usage() -> ! {
    eprintln!("usage: azcm-fakecloud [--print-env] [--dir DIR] [--scenario FILE]");
    std::process::exit(2);
}

fn main() {
    let mut dir: Option<PathBuf> = None;
    let mut scenario: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--print-env" => {}
            "--dir" => dir = Some(args.next().map(PathBuf::from).unwrap_or_else(|| usage())),
            "--scenario" => {
                scenario = Some(args.next().map(PathBuf::from).unwrap_or_else(|| usage()))
            }
            "-h" | "--help" => usage(),
            other => {
                eprintln!("azcm-fakecloud: unknown argument {other}");
                usage();
            }
        }
    }
    let dir = dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("azcm-fakecloud-{}", std::process::id()))
    });
    let fake = FakeCloud::start().unwrap_or_else(|e| {
        eprintln!("azcm-fakecloud: cannot start: {e}");
        std::process::exit(1);
    });
    if let Some(path) = scenario {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            eprintln!("azcm-fakecloud: cannot read {}: {e}", path.display());
            std::process::exit(1);
        });
        let scenario: Scenario = serde_json::from_str(&text).unwrap_or_else(|e| {
            eprintln!("azcm-fakecloud: invalid scenario {}: {e}", path.display());
            std::process::exit(1);
        });
        if let Some(patch) = scenario.settings {
            let mut current = serde_json::to_value(fake.settings()).expect("settings serialise");
            for (k, v) in patch.as_object().cloned().unwrap_or_default() {
                current[k] = v;
            }
            let settings: Settings = serde_json::from_value(current).unwrap_or_else(|e| {
                eprintln!("azcm-fakecloud: invalid settings in scenario: {e}");
                std::process::exit(1);
            });
            fake.update_settings(|s| *s = settings);
        }
        for fault in scenario.faults {
            fake.add_fault(fault);
        }
        for pem in &scenario.client_certificates {
            if let Err(e) = fake.register_client_certificate(pem) {
                eprintln!("azcm-fakecloud: invalid client certificate in scenario: {e}");
                std::process::exit(1);
            }
        }
    }
    let (cloud_file, ca_file) = fake.write_files(&dir).unwrap_or_else(|e| {
        eprintln!("azcm-fakecloud: cannot write into {}: {e}", dir.display());
        std::process::exit(1);
    });
    let root = dir.join("state");
    let _ = std::fs::create_dir_all(&root);
    let request_log = dir.join("requests.json");
    let mut vars = vec![
        ("AZCM_ROOT".to_string(), root.display().to_string()),
        (
            "FAKE_REQUEST_LOG".to_string(),
            request_log.display().to_string(),
        ),
    ];
    vars.extend(fake.azcm_env(&cloud_file, &ca_file));
    vars.extend(fake.fake_env());
    for (name, value) in vars {
        println!("export {name}='{}'", value.replace('\'', "'\\''"));
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    eprintln!(
        "azcm-fakecloud: serving on {} (IMDS {}); stop with Ctrl+C",
        fake.base_url, fake.imds_url
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let stop = tokio::signal::ctrl_c();
        tokio::pin!(stop);
        loop {
            write_request_log(&fake, &request_log);
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
            }
        }
    });
    drop(fake);
}

/// The request log as a JSON array, replaced whole (temp file, then rename) so a reader never
/// sees half of it.
fn write_request_log(fake: &FakeCloud, path: &std::path::Path) {
    let temp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec(&fake.requests()).unwrap_or_default();
    if std::fs::write(&temp, bytes).is_ok() {
        let _ = std::fs::rename(&temp, path);
    }
}
