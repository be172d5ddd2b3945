//! `--config FILE`: JSON or YAML maps of long flag names; the command line wins.

mod common;
use common::Azcm;
use serde_json::json;

fn write(azcm: &Azcm, name: &str, body: &str) -> String {
    let path = azcm.root().join(name);
    std::fs::write(&path, body).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn json_file_supplies_global_and_command_flags() {
    let azcm = Azcm::new();
    azcm.json(&["config", "set", "extensions.allowlist", "A/B"]);
    let file = write(
        &azcm,
        "flags.json",
        r#"{"json": true, "add": true, "verbose": false}"#,
    );
    let run = azcm.run([
        "config",
        "set",
        "extensions.allowlist",
        "C/D",
        "--config",
        &file,
    ]);
    common::assert_contract(&run);
    assert_eq!(run.doc()["result"]["value"], json!(["A/B", "C/D"]));
}

#[test]
fn yaml_file_works_the_same() {
    let azcm = Azcm::new();
    for (name, body) in [
        ("flags.yaml", "json: true\nremove: true\n"),
        (
            "flags.yml",
            "---\n\"--json\": \"true\"\nremove: yes_is_not_a_bool_here\n",
        ),
    ] {
        azcm.json(&["config", "set", "proxy.bypass", "AAD,ARM"]);
        let file = write(&azcm, name, body);
        let run = azcm.run(["config", "set", "proxy.bypass", "ARM", "--config", &file]);
        if name == "flags.yaml" {
            common::assert_contract(&run);
            assert_eq!(run.doc()["result"]["value"], json!(["AAD"]));
        } else {
            common::assert_contract(&run);
            assert_eq!(run.error_code(), "AZCM0023", "{}", run.stdout);
        }
    }
}

#[test]
fn command_line_wins_over_the_file() {
    let azcm = Azcm::new();
    // The file asks for --remove; the command line's --add excludes it, so --add wins.
    azcm.json(&["config", "set", "proxy.bypass", "AAD"]);
    let file = write(&azcm, "flags.json", r#"{"json": true, "remove": true}"#);
    let run = azcm.run([
        "config",
        "set",
        "proxy.bypass",
        "ARM",
        "--add",
        "--config",
        &file,
    ]);
    common::assert_contract(&run);
    assert_eq!(run.doc()["result"]["value"], json!(["AAD", "ARM"]));

    // The file says json: false; the command line's --json wins.
    let file = write(
        &azcm,
        "verbose.json",
        r#"{"verbose": false, "json": false}"#,
    );
    let run = azcm.run(["config", "list", "--json", "--config", &file]);
    common::assert_contract(&run);
}

#[test]
fn bad_files_are_clear_errors() {
    let azcm = Azcm::new();
    let cases = [
        ("missing", None, "AZCM0019"),
        ("broken.json", Some("{\"json\": tru"), "AZCM0019"),
        ("list.json", Some("[1, 2]"), "AZCM0019"),
        ("broken.yaml", Some("json: [unclosed"), "AZCM0019"),
        ("scalar.yaml", Some("just a string"), "AZCM0019"),
        ("unknown.json", Some(r#"{"frobnicate": 1}"#), "AZCM0023"),
        (
            "config.json",
            Some(r#"{"config": "other.json"}"#),
            "AZCM0023",
        ),
        ("help.json", Some(r#"{"help": true}"#), "AZCM0023"),
        (
            "wrongtype.json",
            Some(r#"{"verbose": "sometimes"}"#),
            "AZCM0023",
        ),
        ("nested.json", Some(r#"{"add": {"a": 1}}"#), "AZCM0023"),
        (
            "positional.json",
            Some(r#"{"name": "proxy.url"}"#),
            "AZCM0023",
        ),
    ];
    let before = azcm.snapshot();
    for (name, body, code) in cases {
        let path = match body {
            Some(body) => write(&azcm, name, body),
            None => azcm.root().join(name).to_string_lossy().into_owned(),
        };
        let after_write = azcm.snapshot();
        let run = azcm.json(&[
            "config",
            "set",
            "proxy.url",
            "http://p:1",
            "--config",
            &path,
        ]);
        assert_eq!(run.error_code(), code, "{name}: {}", run.stdout);
        assert_eq!(after_write, azcm.snapshot(), "{name} changed state");
        if code == "AZCM0023" && name == "unknown.json" {
            let details = &run.doc()["error"]["details"];
            assert!(details["validKeys"]
                .as_array()
                .unwrap()
                .contains(&json!("add")));
        }
    }
    drop(before);
}

#[test]
fn an_empty_file_changes_nothing() {
    let azcm = Azcm::new();
    let file = write(&azcm, "empty.yaml", "");
    let run = azcm.json(&["version", "--config", &file]);
    assert_eq!(run.code, 0);
}

/// A flag file as Windows Notepad or Windows PowerShell 5.1's `Set-Content -Encoding UTF8`
/// writes it (a UTF-8 byte order mark, CRLF line ends) was refused; it is read as written.
#[test]
fn a_file_with_a_byte_order_mark_and_crlf_is_read() {
    let azcm = Azcm::new();
    for (name, text) in [
        ("bom.yaml", "\u{feff}json: true\r\nverbose: true\r\n"),
        ("bom.json", "\u{feff}{\r\n  \"json\": true\r\n}\r\n"),
    ] {
        let file = write(&azcm, name, text);
        let run = azcm.run(["version", "--config", &file]);
        assert_eq!(run.code, 0, "{name}: {}", run.stdout);
        assert!(
            run.stdout.trim_start().starts_with('{'),
            "{name}: --json from the file: {}",
            run.stdout
        );
    }
}

/// A flag given twice in one file was silently taken from its last line; it is refused.
#[test]
fn a_flag_given_twice_in_a_file_is_refused() {
    let azcm = Azcm::new();
    for (name, text) in [
        ("twice.json", "{\"verbose\": true, \"verbose\": false}"),
        ("twice.yaml", "verbose: true\nverbose: false\n"),
    ] {
        let file = write(&azcm, name, text);
        let run = azcm.json(&["version", "--config", &file]);
        assert_eq!(run.error_code(), "AZCM0019", "{name}: {}", run.stdout);
        let message = run.doc()["error"]["message"].as_str().unwrap().to_string();
        assert!(
            message.contains("verbose") && message.contains("twice")
                || message.contains("duplicate"),
            "{name}: {message}"
        );
    }
}

/// Microsoft documents a whole connect in one --config file, the secret included (to keep it
/// off the console): the required flags may all come from the file. A missing file is
/// AZCM0019, not a missing-flag error.
#[test]
fn a_whole_connect_comes_from_one_config_file() {
    let o = common::Onboarding::new();
    let file = o.azcm.root().join("connect.yaml");
    std::fs::write(
        &file,
        format!(
            "service-principal-id: {}\nservice-principal-secret: {}\ntenant-id: {}\nsubscription-id: {}\nresource-group: {}\nlocation: {}\ncloud: {}\nresource-name: from-file\n",
            o.fake.client_id,
            o.fake.client_secret,
            o.fake.tenant_id,
            o.fake.subscription_id,
            o.fake.resource_group,
            o.fake.location,
            azcm_fakecloud::CLOUD_NAME
        ),
    )
    .unwrap();
    let run = o
        .azcm
        .json(&["connect", "--config", &common::native_path(&file)]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(o.fake.machines()[0]["name"], "from-file");
    assert!(!run.stdout.contains(&o.fake.client_secret));
    let missing = o.azcm.root().join("missing.yaml");
    let run = o
        .azcm
        .json(&["connect", "--config", &common::native_path(&missing)]);
    assert_eq!(run.error_code(), "AZCM0019", "{}", run.stdout);
    // Without the file the required flags are still required.
    assert_eq!(o.azcm.json(&["connect"]).error_code(), "AZCM0016");
}
