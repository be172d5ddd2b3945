//! `extension list` and `extension remove` over handler folders laid out as the binary's
//! platform has them (under the state root): state from status files, size, and removal with
//! an uninstall command that succeeds, fails and hangs.

mod common;
use common::{windows_binary, Azcm};
use serde_json::{json, Value};
use std::path::PathBuf;

fn extensions_dir(azcm: &Azcm) -> PathBuf {
    if windows_binary() {
        azcm.root().join("Packages/Plugins")
    } else {
        azcm.root().join("var/lib/waagent")
    }
}

/// A handler folder with its manifest, a status file sequence and some payload.
fn install(
    azcm: &Azcm,
    name: &str,
    version: &str,
    uninstall: &str,
    state: Option<&str>,
) -> PathBuf {
    let dir = if windows_binary() {
        extensions_dir(azcm).join(name).join(version)
    } else {
        extensions_dir(azcm).join(format!("{name}-{version}"))
    };
    std::fs::create_dir_all(dir.join("status")).unwrap();
    let manifest = json!([{"version": 1.0, "handlerManifest": {
        "installCommand": "install", "enableCommand": "enable", "disableCommand": "disable",
        "uninstallCommand": uninstall, "updateCommand": "update", "rebootAfterInstall": false}}]);
    std::fs::write(
        dir.join("HandlerManifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("payload.bin"), vec![7u8; 4096]).unwrap();
    if let Some(state) = state {
        let old = json!([{"status": {"status": "transitioning", "operation": "Install"}, "timestampUTC": "2026-11-01T10:00:00Z"}]);
        let new = json!([{"status": {"status": state, "operation": "Enable", "formattedMessage": {"lang": "en-US", "message": format!("{name} is {state}")}}, "timestampUTC": "2026-11-20T10:00:00Z"}]);
        std::fs::write(
            dir.join("status/1.status"),
            serde_json::to_vec(&old).unwrap(),
        )
        .unwrap();
        std::fs::write(
            dir.join("status/10.status"),
            serde_json::to_vec(&new).unwrap(),
        )
        .unwrap();
    }
    dir
}

fn succeed() -> &'static str {
    "echo uninstalled"
}

fn fail() -> &'static str {
    "exit 3"
}

fn list(azcm: &Azcm) -> Vec<Value> {
    let run = azcm.json(&["extension", "list"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    run.doc()["result"]["extensions"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn installed_extensions_are_listed_with_state_and_size() {
    let azcm = Azcm::new();
    assert!(list(&azcm).is_empty());
    install(
        &azcm,
        "Microsoft.Azure.Monitor.AzureMonitorLinuxAgent",
        "1.33.2",
        succeed(),
        Some("success"),
    );
    install(
        &azcm,
        "Microsoft.CPlat.Core.RunCommandHandlerLinux",
        "1.3.9",
        succeed(),
        Some("error"),
    );
    install(&azcm, "Contoso.Custom.NoStatusYet", "2.0", succeed(), None);
    // Not handler folders: a package archive and a folder without a manifest.
    std::fs::write(extensions_dir(&azcm).join("Some.Package-1.0.zip"), b"zip").unwrap();
    std::fs::create_dir_all(extensions_dir(&azcm).join("junk")).unwrap();
    let listed = list(&azcm);
    assert_eq!(listed.len(), 3, "{listed:#?}");
    let ama = &listed[1];
    assert_eq!(
        ama["name"],
        "Microsoft.Azure.Monitor.AzureMonitorLinuxAgent"
    );
    assert_eq!(ama["publisher"], "Microsoft.Azure.Monitor");
    assert_eq!(ama["type"], "AzureMonitorLinuxAgent");
    assert_eq!(ama["version"], "1.33.2");
    assert_eq!(
        ama["state"], "success",
        "the newest status file (10, not 1)"
    );
    assert_eq!(ama["operation"], "Enable");
    assert!(ama["sizeBytes"].as_u64().unwrap() >= 4096);
    assert_eq!(listed[2]["state"], "error");
    assert_eq!(
        listed[0]["state"], "",
        "no status file yet: empty, not invented"
    );
    let human = azcm.run(["extension", "list"]);
    assert!(
        human.stdout.lines().next().unwrap().starts_with("Name"),
        "{}",
        human.stdout
    );
    let row = human
        .stdout
        .lines()
        .find(|l| l.starts_with("Microsoft.CPlat.Core.RunCommandHandlerLinux"))
        .expect("a row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &cells[..3],
        [
            "Microsoft.CPlat.Core.RunCommandHandlerLinux",
            "1.3.9",
            "error"
        ],
        "{row}"
    );
}

#[test]
fn remove_runs_the_uninstall_command_and_deletes_the_folder() {
    let azcm = Azcm::new();
    let good = install(
        &azcm,
        "Contoso.Ops.Good",
        "1.0.0",
        succeed(),
        Some("success"),
    );
    let bad = install(&azcm, "Contoso.Ops.Bad", "1.0.0", fail(), Some("error"));
    let keep = install(
        &azcm,
        "Contoso.Ops.Keep",
        "1.0.0",
        succeed(),
        Some("success"),
    );

    let run = azcm.json(&["extension", "remove", "--name", "contoso.ops.good", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let removed = &run.doc()["result"]["removed"][0];
    assert_eq!(removed["removed"], true);
    assert_eq!(removed["uninstall"]["exitCode"], 0);
    assert!(removed["uninstall"]["outputTail"]
        .as_str()
        .unwrap()
        .contains("uninstalled"));
    assert!(!good.exists());

    // A failing uninstall is recorded and warned about; the folder still goes.
    let run = azcm.json(&["extension", "remove", "-n", "Contoso.Ops.Bad", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let doc = run.doc();
    assert_eq!(doc["result"]["removed"][0]["uninstall"]["exitCode"], 3);
    assert!(doc["result"]["removed"][0]["uninstallError"]
        .as_str()
        .unwrap()
        .contains("exit code 3"));
    assert!(doc["warnings"][0]
        .as_str()
        .unwrap()
        .contains("Contoso.Ops.Bad"));
    assert!(!bad.exists());
    assert!(keep.exists(), "only what was named");

    // Unknown names are refused, naming what is installed.
    let run = azcm.json(&["extension", "remove", "--name", "Contoso.Ops.Nope"]);
    assert_eq!(run.error_code(), "AZCM0023");
    assert!(run.doc()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Contoso.Ops.Keep"));
}

#[test]
fn a_hanging_uninstall_is_stopped_at_the_timeout() {
    let azcm = Azcm::new();
    let hang = if windows_binary() {
        "ping -n 60 127.0.0.1"
    } else {
        "sleep 60"
    };
    let dir = install(&azcm, "Contoso.Ops.Hangs", "1.0.0", hang, None);
    let started = std::time::Instant::now();
    let run = azcm.json(&["extension", "remove", "--all", "--yes", "--timeout", "1"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = &run.doc()["result"]["removed"][0];
    assert_eq!(r["uninstall"]["timedOut"], true, "{r:#}");
    assert!(r["uninstallError"]
        .as_str()
        .unwrap()
        .contains("did not finish within 1 s"));
    assert!(!dir.exists());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(50),
        "not left waiting for the handler"
    );
}

#[test]
fn remove_needs_a_choice_and_a_confirmation() {
    let azcm = Azcm::new();
    let dir = install(&azcm, "Contoso.Ops.Ask", "1.0.0", succeed(), None);
    assert_eq!(azcm.json(&["extension", "remove"]).error_code(), "AZCM0016");
    assert_eq!(
        azcm.json(&["extension", "remove", "--name", "x", "--all"])
            .error_code(),
        "AZCM0023"
    );
    // No terminal, no --yes, no --json: refused, nothing removed.
    let run = azcm.run(["extension", "remove", "--all"]);
    assert_eq!(run.code, 16, "{}", run.stdout);
    assert!(run.stdout.contains("--yes"), "{}", run.stdout);
    assert!(dir.exists());
    let run = azcm.run(["extension", "remove", "--all", "--yes"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("Contoso.Ops.Ask 1.0.0: removed"),
        "{}",
        run.stdout
    );
    assert!(!dir.exists());
    // --json alone is no confirmation: a script says --yes.
    let dir = install(&azcm, "Contoso.Ops.Ask", "1.0.1", succeed(), None);
    let run = azcm.json(&["extension", "remove", "--all"]);
    assert_eq!(run.error_code(), "AZCM0016", "{}", run.stdout);
    assert!(dir.exists());
    assert_eq!(
        azcm.json(&["extension", "remove", "--all", "--yes"]).code,
        0
    );
    // Nothing left: --all is a no-op, not an error.
    let run = azcm.json(&["extension", "remove", "--all"]);
    assert_eq!(run.code, 0);
    assert_eq!(run.doc()["result"]["removed"], json!([]));
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_does_not_trap_the_size() {
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let dir = install(&azcm, "Contoso.Ops.Loop", "1.0.0", succeed(), None);
    std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
    let listed = list(&azcm);
    assert_eq!(
        listed[0]["sizeBytes"].as_u64().unwrap() / 1000,
        4,
        "{listed:#?}"
    );
}

/// Attack: an extension status whose message is longer than 65,535 characters made `extension
/// list` panic building its table (format! padding), with --json too. The view is built only
/// for human output and cuts long values with a marker; JSON carries the whole value.
#[test]
fn a_status_longer_than_any_table_is_listed_not_a_panic() {
    let azcm = Azcm::new();
    let dir = install(&azcm, "Contoso.Ops.Long", "1.0.0", succeed(), None);
    let long = "s".repeat(70_000);
    let status = json!([{"status": {"status": long, "operation": "Enable"}, "timestampUTC": "2026-11-20T10:00:00Z"}]);
    std::fs::write(
        dir.join("status/3.status"),
        serde_json::to_vec(&status).unwrap(),
    )
    .unwrap();
    let listed = list(&azcm);
    assert_eq!(listed[0]["state"].as_str().unwrap().len(), 70_000);
    let human = azcm.run(["extension", "list"]);
    assert_eq!(human.code, 0, "{}{}", human.stdout, human.stderr);
    assert!(
        human.stdout.contains("(69000 more characters)"),
        "{}",
        &human.stdout[..300.min(human.stdout.len())]
    );
    assert!(human.stdout.len() < 5_000);
}

/// An uninstall command that starts a background child holding its output (`sleep 25 &`) once
/// held `extension remove` for 25 s, and a daemonizing one would have held it forever: the
/// command's process group is stopped when it ends, and its output is waited for at most 2 s.
#[cfg(unix)]
#[test]
fn background_children_of_an_uninstall_command_do_not_hold_the_removal() {
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    install(
        &azcm,
        "Contoso.Ops.Background",
        "1.0.0",
        "sleep 25 & echo started",
        None,
    );
    // setsid: a daemon that leaves the process group and keeps stdout open.
    install(
        &azcm,
        "Contoso.Ops.Daemon",
        "1.0.0",
        "setsid sleep 20 & echo daemonized",
        None,
    );
    let started = std::time::Instant::now();
    let run = azcm.json(&["extension", "remove", "--all", "--yes", "--timeout", "60"]);
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        took < std::time::Duration::from_secs(12),
        "held for {took:?}"
    );
    let removed = run.doc()["result"]["removed"].as_array().unwrap().clone();
    assert_eq!(removed.len(), 2);
    assert!(removed.iter().all(|r| r["removed"] == true), "{removed:#?}");
}

/// An uninstall command that prints 300 MB drove `extension remove` to 2.6 GB of memory: only
/// the last 64 KiB of each stream is kept (its last lines go into the result).
#[cfg(unix)]
#[test]
fn a_loud_uninstall_command_costs_bounded_memory() {
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    install(&azcm, "Contoso.Ops.Loud", "1.0.0", "yes 'a line of uninstall chatter' | head -c 300000000; yes err | head -c 50000000 >&2; echo last-line", None);
    let mut cmd = azcm.command(["--json", "extension", "remove", "--all", "--yes"]);
    let out = cmd.output().unwrap();
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let peak_mib = usage.ru_maxrss / 1024;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tail = doc["result"]["removed"][0]["uninstall"]["outputTail"]
        .as_str()
        .unwrap();
    assert!(tail.len() <= 64 << 10, "{}", tail.len());
    assert!(tail.contains("err"), "{tail}");
    // The largest child of this test process (other tests' azcm runs included) stayed small.
    assert!(peak_mib < 200, "peak RSS {peak_mib} MiB");
}

/// kill -9 while a handler folder was being deleted left hundreds of files without a
/// HandlerManifest.json that neither `list` showed nor `remove --all` could remove. The
/// folder is set aside in one rename first; whatever a kill leaves, the next list finishes.
#[cfg(unix)]
#[test]
fn a_killed_removal_converges_on_the_next_run() {
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    for round in 0..25u64 {
        let dir = install(
            &azcm,
            "Contoso.Ops.Big",
            &format!("1.0.{round}"),
            succeed(),
            None,
        );
        for i in 0..1500 {
            std::fs::write(dir.join(format!("f{i}")), b"x").unwrap();
        }
        let mut child = azcm
            .command(["--json", "extension", "remove", "--all", "--yes"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5 + (round * 7) % 40));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever the kill left: list finishes it, and nothing half-deleted remains.
        let listed = list(&azcm);
        let left: Vec<_> = std::fs::read_dir(extensions_dir(&azcm))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        if listed.is_empty() {
            assert!(left.is_empty(), "round {round}: {left:?} left behind");
        } else {
            // Killed before the rename: still a whole extension, removable.
            assert!(dir.join("HandlerManifest.json").exists(), "round {round}");
            let run = azcm.json(&["extension", "remove", "--all", "--yes"]);
            assert_eq!(run.code, 0, "{}", run.stdout);
            assert!(list(&azcm).is_empty());
        }
    }
}

/// Attack: a handler's `status` folder planted as a link to another folder made `extension
/// list` read status files from there (outside content in its output). It is not followed.
#[cfg(unix)]
#[test]
fn a_status_folder_that_is_a_link_is_not_followed() {
    if windows_binary() {
        return;
    }
    let azcm = Azcm::new();
    let dir = install(&azcm, "Contoso.Ops.Linked", "1.0.0", succeed(), None);
    std::fs::remove_dir(dir.join("status")).unwrap();
    let elsewhere = azcm.root().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let status = json!([{"status": {"status": "OUTSIDE-CANARY", "operation": "Enable"}}]);
    std::fs::write(
        elsewhere.join("1.status"),
        serde_json::to_vec(&status).unwrap(),
    )
    .unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join("status")).unwrap();
    let listed = list(&azcm);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["state"], "", "{listed:#?}");
    assert!(!serde_json::to_string(&listed)
        .unwrap()
        .contains("OUTSIDE-CANARY"));
}

/// `--name AzureMonitorWindowsAgent`, the type alone as Microsoft's docs write it, removes the
/// one extension of that type; a type two publishers share is refused, naming both.
#[test]
fn an_extension_can_be_named_by_its_type_alone_when_that_is_unambiguous() {
    let azcm = Azcm::new();
    let dir = install(
        &azcm,
        "Microsoft.Azure.Monitor.AzureMonitorLinuxAgent",
        "1.33.0",
        succeed(),
        None,
    );
    let run = azcm.json(&[
        "extension",
        "remove",
        "--name",
        "azuremonitorlinuxagent",
        "--yes",
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.doc()["result"]["removed"][0]["name"],
        "Microsoft.Azure.Monitor.AzureMonitorLinuxAgent"
    );
    assert!(!dir.exists());
    install(&azcm, "Contoso.A.Agent", "1.0.0", succeed(), None);
    install(&azcm, "Fabrikam.B.Agent", "1.0.0", succeed(), None);
    let run = azcm.json(&["extension", "remove", "--name", "Agent", "--yes"]);
    assert_eq!(run.error_code(), "AZCM0023", "{}", run.stdout);
    let message = run.doc()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("Contoso.A.Agent") && message.contains("Fabrikam.B.Agent"),
        "{message}"
    );
    assert_eq!(list(&azcm).len(), 2, "nothing removed");
}

/// `extension remove --what-if` checks the name as a real run does (AZCM0023 for an unknown
/// one), says what it would remove, and removes nothing (no admin rights or stopped service
/// needed: it changes nothing).
#[test]
fn what_if_checks_the_name_and_removes_nothing() {
    let azcm = Azcm::new();
    let dir = install(&azcm, "Contoso.Ops.Plan", "2.1.0", succeed(), None);
    let run = azcm.json(&[
        "extension",
        "remove",
        "--name",
        "Contoso.Ops.Nope",
        "--what-if",
    ]);
    assert_eq!(run.error_code(), "AZCM0023", "{}", run.stdout);
    let run = azcm.json(&["extension", "remove", "--all", "--what-if"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let result = &run.doc()["result"];
    assert_eq!(result["whatIf"], true);
    assert_eq!(result["removed"], json!([]));
    assert_eq!(result["wouldRemove"][0]["name"], "Contoso.Ops.Plan");
    let human = azcm.run(["extension", "remove", "--name", "Plan", "--what-if"]);
    assert!(
        human
            .stdout
            .contains("What if: remove Contoso.Ops.Plan 2.1.0"),
        "{}",
        human.stdout
    );
    assert!(dir.exists());
}
