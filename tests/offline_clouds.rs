//! A machine connected to each built-in cloud (agentconfig.json as connect writes it), cut off
//! from every network (`unshare -n`, loopback only): every command, human and --json, either
//! works offline or fails with its own AZCM code — never AZCM0001 (azcm's own bugs, such as the
//! tokio panic `logs` once hit on every connected machine) — within its time bound.

mod common;
use common::{assert_contract, Onboarding, Run};
use serde_json::Value;
use std::time::{Duration, Instant};

/// A machine connected to the fake, then re-labelled as connected to `cloud` in `region`: the
/// agentconfig.json connect wrote, with that cloud's name and region.
fn connected_to(cloud: &str, region: &str) -> common::Azcm {
    let o = Onboarding::new().with_secret_env();
    let run = o.azcm.json(&o.connect_args("offline-machine"));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let path = o.azcm.config_dir().join("agentconfig.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["Cloud"] = cloud.into();
    config["Location"] = region.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    // Only the state root stays: no cloud file, no extra CA, IMDS and HIMDS on a closed port.
    o.azcm.same_root_only()
}

/// Every command azcm has, as an admin would type it on a connected machine; the last ones
/// change the state (config set/clear, genkey, disconnect --force-local-only).
fn commands(out_dir: &str) -> Vec<Vec<String>> {
    let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let mut all: Vec<Vec<String>> = [
        "version",
        "license",
        "help",
        "help connect",
        "config list",
        "config get proxy.url",
        "config info",
        "show",
        "show --os",
        "show --arm --access-token eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2ln --retry-timeout 2",
        "check",
        "check --extensions sql",
        "extension list",
        "extension remove --all --yes",
        "connect --subscription-id 00000000-0000-0000-0000-000000000001 --resource-group rg --location eastus --access-token eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2ln --retry-timeout 2",
        "disconnect --access-token eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2ln --retry-timeout 2",
        "config set proxy.url http://127.0.0.1:3128",
        "config clear proxy.url",
        "genkey",
    ]
    .iter()
    .map(|c| words(c))
    .collect();
    all.insert(
        10,
        vec!["logs".into(), "--output".into(), format!("{out_dir}/")],
    );
    all
}

/// The bound each command is held to offline (docs/limits.md): the network ones end at their
/// first refused connection or their --retry-timeout; logs within its 20 s check bound.
const BOUND: Duration = Duration::from_secs(45);

fn check_run(cloud: &str, run: &Run, took: Duration) {
    assert!(
        !run.stderr.contains("panicked"),
        "{cloud} {}: {}",
        run.what,
        run.stderr
    );
    assert!(took < BOUND, "{cloud} {}: took {took:?}", run.what);
}

fn tier(cloud: &str, region: &str) {
    let azcm = connected_to(cloud, region);
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().display().to_string();
    for command in commands(&out_dir) {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        // --json: exactly one document, valid, exit code = its AZCM number, never AZCM0001.
        let mut json_args = vec!["--json"];
        json_args.extend(&args);
        let started = Instant::now();
        let run = azcm.run_offline(&json_args);
        check_run(cloud, &run, started.elapsed());
        assert_contract(&run);
        let doc = run.doc();
        eprintln!(
            "{cloud}: {:?} -> {} {} {}",
            args, run.code, doc["error"]["code"], doc["error"]["message"]
        );
        if doc["ok"] == false {
            let code = run.error_code();
            assert_ne!(code, "AZCM0001", "{cloud} {}: {doc:#}", run.what);
        }
        // Human: the same exit code, no panic.
        let started = Instant::now();
        let human = azcm.run_offline(&args);
        check_run(cloud, &human, started.elapsed());
        assert!(
            !human.stdout.contains("AZCM0001"),
            "{cloud} {}: {}",
            human.what,
            human.stdout
        );
        if args == ["check"] {
            // Endpoints failing the same way are one line with the endpoints it hit.
            let fails = human
                .stdout
                .lines()
                .filter(|l| l.starts_with("FAIL "))
                .count();
            assert!(fails <= 2, "{cloud}: {fails} FAIL lines: {}", human.stdout);
            assert!(
                human.stdout.contains(" endpoints — dns: "),
                "{cloud}: {}",
                human.stdout
            );
        }
        let expected_code = run.code;
        // The state-changing ones ran once already under --json; a second run may differ.
        if !matches!(args[0], "genkey" | "config") {
            assert_eq!(
                human.code, expected_code,
                "{cloud} {}: {}",
                human.what, human.stdout
            );
        }
    }
    // `logs` worked: an archive was written (the human run may replace the JSON run's: the
    // name carries the time to the second).
    let archives = std::fs::read_dir(out.path()).unwrap().count();
    assert!(archives >= 1, "{cloud}: logs wrote no archive");
    // And last, the machine leaves Arc locally, offline.
    let run = azcm.run_offline(&["--json", "disconnect", "--force-local-only"]);
    assert_eq!(run.code, 0, "{cloud}: {}", run.stdout);
}

#[test]
fn every_command_works_or_fails_cleanly_offline_on_a_machine_connected_to_each_builtin_cloud() {
    let clouds: [(&'static str, &'static str); 3] = [
        ("AzureCloud", "westeurope"),
        ("AzureUSGovernment", "usgovvirginia"),
        ("AzureChinaCloud", "chinanorth2"),
    ];
    let runs: Vec<_> = clouds
        .iter()
        .map(|&(cloud, region)| std::thread::spawn(move || tier(cloud, region)))
        .collect();
    for (run, (cloud, _)) in runs.into_iter().zip(clouds) {
        if let Err(panic) = run.join() {
            std::panic::resume_unwind(Box::new(format!(
                "{cloud}: {:?}",
                panic.downcast_ref::<String>()
            )));
        }
    }
}
