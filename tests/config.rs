//! `azcm config`: every property, its values, list editing, monitor mode, conflicts, and bad
//! input that must fail with the right AZCM code while leaving state untouched.

mod common;
use common::Azcm;
use serde_json::{json, Value};

fn get(azcm: &Azcm, name: &str) -> Value {
    let doc = azcm.json(&["config", "get", name]).doc();
    assert_eq!(doc["ok"], true, "{doc:#}");
    doc["result"]["value"].clone()
}

fn set(azcm: &Azcm, args: &[&str]) -> Value {
    let mut full = vec!["config", "set"];
    full.extend_from_slice(args);
    let doc = azcm.json(&full).doc();
    assert_eq!(doc["ok"], true, "{args:?}: {doc:#}");
    doc
}

/// (property, value typed, value stored)
const GOOD_VALUES: &[(&str, &str, &str)] = &[
    ("incomingconnections.enabled", "FALSE", "false"),
    (
        "incomingconnections.ports",
        "22, 6516,10000-10010",
        r#"["22","6516","10000-10010"]"#,
    ),
    ("connection.type", "Gateway", r#""gateway""#),
    (
        "proxy.url",
        "http://proxy.contoso.corp:8080",
        r#""http://proxy.contoso.corp:8080""#,
    ),
    (
        "proxy.url",
        "https://[2001:db8::1]:3128/",
        r#""https://[2001:db8::1]:3128""#,
    ),
    (
        "proxy.bypass",
        "aad,ARM,arc,ArcData,ama",
        r#"["AAD","ARM","Arc","ArcData","AMA"]"#,
    ),
    (
        "extensions.allowlist",
        "Microsoft.Azure.Monitor/AzureMonitorWindowsAgent, Qualys/WindowsAgent.AzureSecurityCenter",
        r#"["Microsoft.Azure.Monitor/AzureMonitorWindowsAgent","Qualys/WindowsAgent.AzureSecurityCenter"]"#,
    ),
    ("extensions.allowlist", "allow/none", r#"["Allow/None"]"#),
    (
        "extensions.blocklist",
        "Microsoft.Compute/CustomScriptExtension",
        r#"["Microsoft.Compute/CustomScriptExtension"]"#,
    ),
    ("guestconfiguration.enabled", "false", "false"),
    ("extensions.enabled", "false", "false"),
    ("config.mode", "MONITOR", r#""monitor""#),
    ("config.mode", "full", r#""full""#),
    ("guestconfiguration.agent.cpulimit", "100", "100"),
    ("extensions.agent.cpulimit", "1", "1"),
];

#[test]
fn every_property_sets_gets_and_clears() {
    let azcm = Azcm::new();
    for (name, typed, stored) in GOOD_VALUES {
        let expected: Value = serde_json::from_str(stored).unwrap();
        let doc = set(&azcm, &[name, typed]);
        assert_eq!(doc["result"]["value"], expected, "{name} {typed}");
        assert_eq!(doc["result"]["source"], "local");
        assert_eq!(get(&azcm, name), expected);
        let on_disk: Value =
            serde_json::from_slice(&std::fs::read(azcm.local_config()).unwrap()).unwrap();
        assert_eq!(on_disk["localsettings"][name], expected, "{name} on disk");
    }
    let info = azcm.json(&["config", "info"]).doc();
    for prop in info["result"]["properties"].as_array().unwrap() {
        let name = prop["name"].as_str().unwrap();
        let doc = azcm.json(&["config", "clear", name]).doc();
        assert_eq!(doc["result"]["value"], prop["default"], "{name}");
        assert_eq!(doc["result"]["source"], "default");
        assert_eq!(doc["result"]["isDefault"], true);
    }
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(azcm.local_config()).unwrap()).unwrap();
    assert_eq!(on_disk["localsettings"], json!({}));
}

#[test]
fn defaults_match_azcmagent() {
    let azcm = Azcm::new();
    let doc = azcm.json(&["config", "list"]).doc();
    let values: std::collections::BTreeMap<String, Value> = doc["result"]["localsettings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["key"].as_str().unwrap().to_string(), s["value"].clone()))
        .collect();
    assert_eq!(values["incomingconnections.enabled"], json!(true));
    assert_eq!(values["connection.type"], json!("direct"));
    assert_eq!(values["proxy.url"], json!(""));
    assert_eq!(values["extensions.allowlist"], json!([]));
    assert_eq!(values["guestconfiguration.enabled"], json!(true));
    assert_eq!(values["config.mode"], json!("full"));
    assert_eq!(values["guestconfiguration.agent.cpulimit"], json!(5));
    assert_eq!(values["extensions.agent.cpulimit"], json!(5));
    assert_eq!(doc["result"]["configMode"], "full");
    // Reading creates nothing.
    assert!(azcm.snapshot().is_empty());
}

#[test]
fn property_names_are_case_insensitive() {
    let azcm = Azcm::new();
    set(&azcm, &["PROXY.URL", "http://p:3128"]);
    assert_eq!(get(&azcm, "Proxy.Url"), json!("http://p:3128"));
}

#[test]
fn add_and_remove_edit_lists() {
    let azcm = Azcm::new();
    set(&azcm, &["extensions.allowlist", "A/B", "--add"]);
    set(&azcm, &["extensions.allowlist", "C/D,E/F", "-a"]);
    let doc = set(&azcm, &["extensions.allowlist", "a/b", "--add"]);
    assert!(
        doc["warnings"][0].as_str().unwrap().contains("already"),
        "{doc:#}"
    );
    assert_eq!(
        get(&azcm, "extensions.allowlist"),
        json!(["A/B", "C/D", "E/F"])
    );
    set(&azcm, &["extensions.allowlist", "c/d", "--remove"]);
    assert_eq!(get(&azcm, "extensions.allowlist"), json!(["A/B", "E/F"]));
    let doc = set(&azcm, &["extensions.allowlist", "X/Y", "-r"]);
    assert!(doc["warnings"][0]
        .as_str()
        .unwrap()
        .contains("nothing to remove"));
    assert_eq!(doc["result"]["changed"], false);
    set(&azcm, &["extensions.allowlist", "A/B,E/F", "--remove"]);
    assert_eq!(get(&azcm, "extensions.allowlist"), json!([]));

    set(&azcm, &["incomingconnections.ports", "22", "--add"]);
    set(&azcm, &["incomingconnections.ports", "6516-6520", "--add"]);
    set(&azcm, &["incomingconnections.ports", "22", "--remove"]);
    assert_eq!(
        get(&azcm, "incomingconnections.ports"),
        json!(["6516-6520"])
    );
    set(&azcm, &["proxy.bypass", "AAD", "--add"]);
    set(&azcm, &["proxy.bypass", "arm", "--add"]);
    assert_eq!(get(&azcm, "proxy.bypass"), json!(["AAD", "ARM"]));
}

#[test]
fn set_reports_previous_value_and_change() {
    let azcm = Azcm::new();
    let doc = set(&azcm, &["extensions.agent.cpulimit", "40"]);
    assert_eq!(doc["result"]["previousValue"], json!(5));
    assert_eq!(doc["result"]["changed"], true);
    let before = azcm.snapshot();
    let doc = set(&azcm, &["extensions.agent.cpulimit", "40"]);
    assert_eq!(doc["result"]["changed"], false);
    assert_eq!(
        before,
        azcm.snapshot(),
        "an unchanged value must not rewrite the file"
    );
}

#[test]
fn monitor_mode_imposes_its_defaults_and_locks_the_lists() {
    let azcm = Azcm::new();
    set(&azcm, &["extensions.allowlist", "A/B"]);
    let doc = set(&azcm, &["config.mode", "monitor"]);
    assert!(doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("not in effect")));
    let list = azcm.json(&["config", "list"]).doc();
    assert_eq!(list["result"]["configMode"], "monitor");
    let by_key = |k: &str| {
        list["result"]["localsettings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == k)
            .unwrap()
            .clone()
    };
    assert_eq!(by_key("guestconfiguration.enabled")["value"], json!(false));
    assert_eq!(
        by_key("guestconfiguration.enabled")["source"],
        "monitorMode"
    );
    assert_eq!(by_key("incomingconnections.enabled")["value"], json!(false));
    let allow = by_key("extensions.allowlist")["value"].clone();
    assert!(allow
        .as_array()
        .unwrap()
        .contains(&json!("Microsoft.Azure.Monitor/AzureMonitorWindowsAgent")));
    let human = azcm.run(["config", "list"]).stdout;
    assert!(human.contains("(set by config.mode monitor)"), "{human}");
    // Every value says where it comes from.
    assert!(
        human.contains("config.mode                           : monitor (set locally)"),
        "{human}"
    );
    assert!(
        human.contains("proxy.url                             : not set (default)"),
        "{human}"
    );

    // Back to full: the admin's own list is in effect again.
    set(&azcm, &["config.mode", "full"]);
    assert_eq!(get(&azcm, "extensions.allowlist"), json!(["A/B"]));
    assert_eq!(get(&azcm, "guestconfiguration.enabled"), json!(true));
}

#[test]
fn documented_precedence_is_a_warning_not_an_error() {
    let azcm = Azcm::new();
    set(&azcm, &["extensions.allowlist", "A/B"]);
    let doc = set(&azcm, &["extensions.blocklist", "a/b"]);
    let warning = doc["warnings"][0].as_str().unwrap();
    assert!(warning.contains("blocklist wins"), "{warning}");
    let doc = set(&azcm, &["proxy.bypass", "ARM"]);
    assert!(doc["warnings"][0].as_str().unwrap().contains("proxy.url"));
}

/// Seeds a non-trivial state so that "unchanged" means something.
fn seeded() -> Azcm {
    let azcm = Azcm::new();
    set(&azcm, &["proxy.url", "http://proxy.contoso.corp:8080"]);
    set(&azcm, &["extensions.allowlist", "Allow/None"]);
    set(&azcm, &["incomingconnections.ports", "22"]);
    azcm
}

#[test]
fn bad_input_fails_with_its_code_and_changes_nothing() {
    let long_value = "a".repeat(5000);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // booleans
        (
            vec!["config", "set", "incomingconnections.enabled", "yes"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "guestconfiguration.enabled", "1"],
            "AZCM0023",
        ),
        (vec!["config", "set", "extensions.enabled", ""], "AZCM0023"),
        (
            vec!["config", "set", "extensions.enabled", "truee"],
            "AZCM0023",
        ),
        // ports
        (
            vec!["config", "set", "incomingconnections.ports", "0"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "incomingconnections.ports", "65536"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "incomingconnections.ports", "22,ssh"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "incomingconnections.ports", "200-100"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "incomingconnections.ports", "1-2-3"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "incomingconnections.ports", ","],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "incomingconnections.ports", "-22"],
            "AZCM0023",
        ),
        // enums
        (
            vec!["config", "set", "connection.type", "proxy"],
            "AZCM0023",
        ),
        (vec!["config", "set", "config.mode", "audit"], "AZCM0023"),
        // proxy.url
        (
            vec!["config", "set", "proxy.url", "proxy.contoso.corp:8080"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "proxy.url", "socks5://p:1080"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "proxy.url", "http://user:secret@p:8080"],
            "AZCM0023",
        ),
        (vec!["config", "set", "proxy.url", "http://p"], "AZCM0023"),
        (
            vec!["config", "set", "proxy.url", "http://p:8080/path"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "proxy.url", "http://p:8080?x=1"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "proxy.url", "http://p:99999"],
            "AZCM0023",
        ),
        (vec!["config", "set", "proxy.url", &long_value], "AZCM0023"),
        // proxy.bypass
        (vec!["config", "set", "proxy.bypass", "Storage"], "AZCM0023"),
        (
            vec!["config", "set", "proxy.bypass", "AAD,,ARM;Arc"],
            "AZCM0023",
        ),
        // extension lists
        (
            vec!["config", "set", "extensions.allowlist", "NoSlash"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "extensions.allowlist", "A/B/C"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "extensions.allowlist", "/Type"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "extensions.allowlist", "Pub lisher/Type"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "extensions.allowlist", "Allow/None,A/B"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "extensions.blocklist", "Allow/None"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "extensions.allowlist", "A/B", "--add"],
            "AZCM0027",
        ),
        // cpu limits
        (
            vec!["config", "set", "guestconfiguration.agent.cpulimit", "0"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "guestconfiguration.agent.cpulimit", "101"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "extensions.agent.cpulimit", "5.5"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "extensions.agent.cpulimit", "five"],
            "AZCM0023",
        ),
        // --add/--remove misuse
        (
            vec!["config", "set", "proxy.url", "http://p:1", "--add"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "extensions.enabled", "true", "--remove"],
            "AZCM0023",
        ),
        (
            vec!["config", "set", "proxy.bypass", "AAD", "--add", "--remove"],
            "AZCM0023",
        ),
        // unknown properties and shapes
        (
            vec!["config", "set", "proxy.urls", "http://p:1"],
            "AZCM0023",
        ),
        (vec!["config", "get", "agent.version"], "AZCM0023"),
        (vec!["config", "clear", "everything"], "AZCM0023"),
        (vec!["config", "info", "proxy"], "AZCM0023"),
        (vec!["config", "set", "proxy.url"], "AZCM0016"),
        (vec!["config", "set"], "AZCM0016"),
        (vec!["config", "clear"], "AZCM0016"),
        (
            vec!["config", "set", "proxy.url", "http://p:1", "extra"],
            "AZCM0023",
        ),
        // A mistyped command is azcmagent's parse failure (issue 21).
        (vec!["config", "remove", "proxy.url"], "AZCM0101"),
        // other commands
        (vec!["genkey", "--bits", "1024"], "AZCM0023"),
        (vec!["version", "--short"], "AZCM0023"),
        (vec!["license", "MIT"], "AZCM0023"),
    ];
    assert!(cases.len() >= 40);
    let azcm = seeded();
    let before = azcm.snapshot();
    assert!(!before.is_empty());
    for (args, code) in &cases {
        let run = azcm.json(args);
        assert_eq!(run.error_code(), *code, "{args:?}: {}", run.stdout);
        assert_eq!(before, azcm.snapshot(), "{args:?} changed the state");
    }
}

#[test]
fn monitor_mode_conflicts_change_nothing() {
    let azcm = Azcm::new();
    set(&azcm, &["config.mode", "monitor"]);
    let before = azcm.snapshot();
    for args in [
        vec!["config", "set", "extensions.allowlist", "A/B"],
        vec!["config", "set", "extensions.blocklist", "A/B", "--add"],
        vec!["config", "clear", "extensions.allowlist"],
        vec!["config", "set", "guestconfiguration.enabled", "true"],
        vec!["config", "set", "incomingconnections.enabled", "true"],
    ] {
        let run = azcm.json(&args);
        assert_eq!(run.error_code(), "AZCM0027", "{args:?}");
        assert!(run.doc()["error"]["remediation"]
            .as_str()
            .unwrap()
            .contains("config.mode full"));
        assert_eq!(before, azcm.snapshot(), "{args:?}");
    }
}

/// Without AZCM_ROOT the real agent state is used, and changing it needs admin rights.
#[cfg(target_os = "linux")]
#[test]
fn changing_the_real_state_needs_admin() {
    for args in [
        &["config", "set", "proxy.url", "http://p:1", "--json"][..],
        &["config", "clear", "proxy.url", "--json"],
        &["genkey", "--json"],
    ] {
        let Some(run) = common::run_as_unprivileged(args, None) else {
            return;
        };
        common::assert_contract(&run);
        assert_eq!(run.error_code(), "AZCM0018", "{args:?}: {}", run.stdout);
    }
}
