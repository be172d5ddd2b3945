//! The agent's state files: corrupt files are reported (never reset), writes are atomic and
//! private, and concurrent read-modify-write loses nothing.

mod common;
use common::Azcm;
use serde_json::{json, Value};
use std::process::Stdio;

#[test]
fn a_corrupt_local_config_is_reported_and_left_alone() {
    let bodies = [
        "{ not json",
        "",
        "[1,2,3]",
        r#"{"localsettings": "proxy.url=x"}"#,
        r#"{"localsettings": {"proxy.url": 42}}"#,
        r#"{"localsettings": {"extensions.agent.cpulimit": 500}}"#,
        r#"{"localsettings": {"proxy.bypass": ["Storage"]}}"#,
        r#"{"localsettings": {"Proxy.Url": "http://p:1"}}"#,
    ];
    for body in bodies {
        let azcm = Azcm::new();
        std::fs::create_dir_all(azcm.config_dir()).unwrap();
        std::fs::write(azcm.local_config(), body).unwrap();
        for args in [
            vec!["config", "list"],
            vec!["config", "get", "proxy.url"],
            vec!["config", "set", "proxy.url", "http://p:8080"],
            vec!["config", "clear", "proxy.url"],
        ] {
            let run = azcm.json(&args);
            assert_eq!(
                run.error_code(),
                "AZCM0070",
                "{body:?} {args:?}: {}",
                run.stdout
            );
            let doc = run.doc();
            assert!(doc["error"]["message"]
                .as_str()
                .unwrap()
                .contains("localconfig.json"));
            assert!(doc["error"]["details"]["path"]
                .as_str()
                .unwrap()
                .ends_with("localconfig.json"));
            assert_eq!(
                std::fs::read_to_string(azcm.local_config()).unwrap(),
                body,
                "file was rewritten"
            );
        }
    }
}

#[test]
fn unknown_keys_survive_a_write() {
    let azcm = Azcm::new();
    std::fs::create_dir_all(azcm.config_dir()).unwrap();
    std::fs::write(
        azcm.local_config(),
        r#"{"agentVersion":"1.50","localsettings":{"future.setting":{"a":1},"proxy.url":"http://p:1"}}"#,
    )
    .unwrap();
    azcm.json(&["config", "set", "extensions.enabled", "false"]);
    let doc: Value = serde_json::from_slice(&std::fs::read(azcm.local_config()).unwrap()).unwrap();
    assert_eq!(doc["agentVersion"], "1.50");
    assert_eq!(doc["localsettings"]["future.setting"], json!({"a": 1}));
    assert_eq!(doc["localsettings"]["extensions.enabled"], json!(false));
}

#[cfg(unix)]
#[test]
fn state_files_are_private_and_no_temp_files_remain() {
    use std::os::unix::fs::PermissionsExt;
    let azcm = Azcm::new();
    azcm.json(&["config", "set", "proxy.url", "http://p:8080"]);
    azcm.json(&["genkey"]);
    for file in [azcm.local_config(), azcm.certs_dir().join("onboarding.key")] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    let certs_mode = std::fs::metadata(azcm.certs_dir())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(certs_mode, 0o700);
    for path in azcm.snapshot().keys() {
        assert!(
            !path.to_string_lossy().ends_with(".tmp"),
            "temp file left: {}",
            path.display()
        );
    }
}

#[cfg(unix)]
#[test]
fn a_loosened_state_file_is_reported_and_the_next_write_restores_it() {
    use std::os::unix::fs::PermissionsExt;
    let azcm = Azcm::new();
    azcm.json(&["config", "set", "proxy.url", "http://p:8080"]);
    assert!(azcm.json(&["config", "list"]).doc()["warnings"]
        .as_array()
        .unwrap()
        .is_empty());
    std::fs::set_permissions(azcm.local_config(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let doc = azcm.json(&["config", "get", "proxy.url"]).doc();
    let warning = doc["warnings"][0]
        .as_str()
        .expect("a warning about the file");
    assert!(
        warning.contains("localconfig.json") && warning.contains("administrators"),
        "{warning}"
    );
    azcm.json(&["config", "set", "proxy.url", "http://p:3128"]);
    let mode = std::fs::metadata(azcm.local_config())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(azcm.json(&["config", "list"]).doc()["warnings"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn concurrent_adds_lose_nothing() {
    let azcm = Azcm::new();
    let writers: Vec<_> = ["Alpha", "Beta"]
        .into_iter()
        .map(|publisher| {
            let mut script = Vec::new();
            for i in 0..20 {
                script.push(format!("{publisher}.Pub/Type{i}"));
            }
            (publisher, script)
        })
        .collect();
    // Two processes at a time, each adding its own 20 entries one by one.
    std::thread::scope(|scope| {
        for (_, entries) in &writers {
            let azcm = &azcm;
            scope.spawn(move || {
                for entry in entries {
                    let out = azcm
                        .command([
                            "config",
                            "set",
                            "extensions.blocklist",
                            entry,
                            "--add",
                            "--json",
                        ])
                        .stdout(Stdio::piped())
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stdout)
                    );
                }
            });
        }
    });
    let doc = azcm.json(&["config", "get", "extensions.blocklist"]).doc();
    let list: Vec<String> = serde_json::from_value(doc["result"]["value"].clone()).unwrap();
    assert_eq!(list.len(), 40, "lost updates: {list:?}");
    for (_, entries) in &writers {
        for entry in entries {
            assert!(list.contains(entry), "{entry} lost");
        }
    }
}

/// A file the user may not read is AZCM0070 naming the file, with a remediation about rights.
#[cfg(target_os = "linux")]
#[test]
fn an_unreadable_local_config_is_reported() {
    use std::os::unix::fs::PermissionsExt;
    let azcm = Azcm::new();
    azcm.json(&["config", "set", "proxy.url", "http://p:8080"]);
    // Let the unprivileged user reach the folder but not the file.
    for dir in [
        azcm.root().to_path_buf(),
        azcm.root().join("var"),
        azcm.root().join("var/opt"),
        azcm.config_dir(),
    ] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let Some(run) = common::run_as_unprivileged(&["config", "list", "--json"], Some(azcm.root()))
    else {
        return;
    };
    common::assert_contract(&run);
    assert_eq!(run.error_code(), "AZCM0070", "{}", run.stdout);
    assert!(run.doc()["error"]["remediation"]
        .as_str()
        .unwrap()
        .contains("elevated"));
}
