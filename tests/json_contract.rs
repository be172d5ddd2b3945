//! Every command, success and failure, keeps the JSON contract of docs/json.

mod common;
use common::{validate_with, Azcm};
use serde_json::Value;

#[test]
fn every_command_succeeds_with_a_valid_document() {
    let azcm = Azcm::new();
    let cases: &[&[&str]] = &[
        &["config", "list"],
        &["config", "get", "proxy.url"],
        &[
            "config",
            "set",
            "proxy.url",
            "http://proxy.contoso.corp:8080",
        ],
        &["config", "set", "proxy.bypass", "AAD,arm"],
        &[
            "config",
            "set",
            "extensions.allowlist",
            "Microsoft.Azure.Monitor/AzureMonitorWindowsAgent",
            "--add",
        ],
        &[
            "config",
            "set",
            "extensions.allowlist",
            "Microsoft.Azure.Monitor/AzureMonitorWindowsAgent",
            "--remove",
        ],
        &["config", "clear", "proxy.url"],
        &["config", "info"],
        &["config", "info", "extensions.allowlist"],
        &["genkey"],
        &["version"],
        &["license"],
        &["help"],
        &["help", "config", "set"],
        &["config", "set", "--help"],
        &["--help"],
    ];
    for args in cases {
        let run = azcm.json(args);
        let doc = run.doc();
        assert_eq!(doc["ok"], Value::Bool(true), "{args:?}: {doc:#}");
        assert_eq!(run.code, 0, "{args:?}");
    }
}

#[test]
fn help_describes_the_named_command() {
    let azcm = Azcm::new();
    let doc = azcm.json(&["help", "config", "set"]).doc();
    assert_eq!(doc["command"], "help");
    assert_eq!(doc["result"]["command"], "config set");
    let longs: Vec<&str> = doc["result"]["arguments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["long"].as_str())
        .collect();
    for flag in [
        "add",
        "remove",
        "json",
        "verbose",
        "config",
        "log-stderr",
        "no-color",
    ] {
        assert!(longs.contains(&flag), "{flag} missing from {longs:?}");
    }
    let via_flag = azcm.json(&["config", "set", "--help"]).doc();
    assert_eq!(via_flag["result"], doc["result"]);
}

#[test]
fn failures_are_one_document_with_the_azcm_code() {
    let azcm = Azcm::new();
    let cases: &[(&[&str], &str)] = &[
        // A mistyped command is azcmagent's parse failure (issue 21).
        (&["frobnicate"], "AZCM0101"),
        (&["config"], "AZCM0016"),
        (&["config", "get"], "AZCM0016"),
        (&["config", "set", "proxy.url"], "AZCM0016"),
        (&["config", "get", "no.such.property"], "AZCM0023"),
        (&["config", "list", "--bogus"], "AZCM0023"),
        (&["version", "extra"], "AZCM0023"),
        (&["help", "nosuchcommand"], "AZCM0023"),
        (&["config", "set", "proxy.url", "nope"], "AZCM0023"),
        (
            &["--config", "/definitely/not/here.json", "version"],
            "AZCM0019",
        ),
    ];
    for (args, code) in cases {
        let run = azcm.json(args);
        assert_eq!(run.error_code(), *code, "{args:?}: {}", run.stdout);
        let doc = run.doc();
        assert!(doc["error"]["message"].as_str().unwrap().len() > 5);
        assert!(doc["error"]["remediation"].as_str().unwrap().len() > 5);
    }
}

#[test]
fn short_json_flag_and_clusters_are_honoured_on_parse_errors() {
    let azcm = Azcm::new();
    for flag in ["-j", "-vj", "--json"] {
        let run = azcm.run(["config", "get", "nope", flag]);
        common::assert_contract(&run);
        assert_eq!(run.error_code(), "AZCM0023");
    }
}

#[cfg(unix)]
#[test]
fn non_utf8_arguments_are_an_invalid_argument_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let azcm = Azcm::new();
    let bad = std::ffi::OsStr::from_bytes(b"proxy.\xff");
    let run = azcm.run([
        std::ffi::OsStr::new("config"),
        std::ffi::OsStr::new("get"),
        bad,
        std::ffi::OsStr::new("--json"),
    ]);
    common::assert_contract(&run);
    assert_eq!(run.error_code(), "AZCM0023");
}

#[test]
fn odd_inputs_never_panic() {
    let azcm = Azcm::new();
    // Long, but within Windows' 32767-character command line.
    let long = "x".repeat(20_000);
    let cases: Vec<Vec<&str>> = vec![
        vec![""],
        vec!["", ""],
        vec!["--"],
        vec!["config", "--", "list"],
        vec!["config", "set", "--", "proxy.url", "-x"],
        vec!["config", "set", "proxy.url", &long],
        vec![
            "config",
            "set",
            "incomingconnections.ports",
            "1-99999999999999999999",
        ],
        vec!["config", "set", "extensions.agent.cpulimit", "-1"],
        vec!["config", "set", "extensions.agent.cpulimit", "1e2"],
        vec!["config", "set", "extensions.allowlist", ",,,/,"],
        vec!["config", "set", "proxy.url", "http://[::1:8080"],
        vec!["config", "set", "proxy.url", "http://\u{1F600}:80"],
        vec!["--config"],
        vec!["--config", ""],
        vec!["help", "config", "set", "extra"],
        vec!["-jjjj", "version"],
        vec!["-x"],
    ];
    for args in cases {
        let run = azcm.json(&args);
        assert!(run.code == 0 || run.code >= 1, "{args:?}");
    }
}

#[test]
fn events_on_stderr_are_json_lines() {
    let azcm = Azcm::new();
    let run = azcm.run(["genkey", "--json", "--log-stderr", "-v"]);
    common::assert_contract(&run);
    let mut levels = Vec::new();
    for line in run.stderr.lines() {
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {line}"));
        validate_with("events.schema.json", &event);
        levels.push(event["level"].as_str().unwrap().to_string());
    }
    assert!(levels.contains(&"verbose".to_string()), "{levels:?}");
    assert!(levels.contains(&"progress".to_string()), "{levels:?}");

    // Warnings are events too, and also land in the envelope.
    let run = azcm.run([
        "config",
        "set",
        "proxy.bypass",
        "AAD",
        "--json",
        "--log-stderr",
    ]);
    let doc = run.doc();
    let warned: Vec<Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        warned.iter().any(|e| e["level"] == "warning"),
        "{}",
        run.stderr
    );
    assert_eq!(doc["warnings"].as_array().unwrap().len(), 1);
}

#[test]
fn without_verbose_no_verbose_events() {
    let azcm = Azcm::new();
    let run = azcm.run(["config", "list", "--json", "--log-stderr"]);
    common::assert_contract(&run);
    for line in run.stderr.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        assert_ne!(event["level"], "verbose", "{line}");
    }
    let verbose = azcm.run(["config", "list", "--json", "--log-stderr", "-v"]);
    assert!(
        verbose.stderr.contains(r#""level":"verbose""#),
        "{}",
        verbose.stderr
    );
}

#[test]
fn human_output_is_aligned_label_value_text() {
    let azcm = Azcm::new();
    let run = azcm.run(["config", "list"]);
    assert_eq!(run.code, 0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "Local Configuration Settings");
    let columns: Vec<usize> = lines[1..]
        .iter()
        .map(|l| l.find(" : ").expect("Label : value"))
        .collect();
    assert!(
        columns.windows(2).all(|w| w[0] == w[1]),
        "labels not aligned:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("incomingconnections.enabled (preview)"));
    assert!(!run.stdout.contains('\x1b'), "colour in piped output");
}

#[test]
fn human_errors_name_the_code_and_remediation() {
    let azcm = Azcm::new();
    let run = azcm.run(["config", "set", "extensions.agent.cpulimit", "0"]);
    assert_eq!(run.code, 23);
    assert!(run.stdout.contains("AZCM0023"), "{}", run.stdout);
    assert!(run.stdout.contains("Remediation:"));
    let run = azcm.run([
        "config",
        "set",
        "extensions.agent.cpulimit",
        "0",
        "--log-stderr",
    ]);
    assert!(run.stdout.is_empty() && run.stderr.contains("AZCM0023"));
}

#[test]
fn bare_azcm_prints_help_and_succeeds() {
    let azcm = Azcm::new();
    let run = azcm.run(Vec::<&str>::new());
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("Usage: azcm"), "{}", run.stdout);
    for command in ["config", "genkey", "help", "license", "version"] {
        assert!(run.stdout.contains(command));
    }
}

/// Colour appears only on a terminal and never with --no-color or NO_COLOR.
#[cfg(target_os = "linux")]
#[test]
fn colour_only_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux `script` (a pseudo-terminal) is not available");
        return;
    }
    let azcm = Azcm::new();
    let on_tty = |extra: &str, no_color: bool| {
        let line = format!("{} config list {extra}", common::binary().display());
        let mut cmd = azcm.command(Vec::<&str>::new());
        let mut script = std::process::Command::new("script");
        script.args(["-qec", &line, "/dev/null"]);
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                script.env(k, v);
            }
        }
        if no_color {
            script.env("NO_COLOR", "1");
        } else {
            script.env_remove("NO_COLOR");
        }
        let _ = &mut cmd;
        String::from_utf8_lossy(&script.output().unwrap().stdout).into_owned()
    };
    assert!(
        on_tty("", false).contains("\x1b["),
        "no colour on a terminal"
    );
    assert!(!on_tty("--no-color", false).contains("\x1b["));
    assert!(!on_tty("", true).contains("\x1b["));
}

/// `azcm --version` and `-V` answer like `azcm version` (human and --json); a mistyped command
/// is azcmagent's parse failure (AZCM0101) with clap's tip on a line of its own and the help of
/// the real command named in the remediation, never `azcm <command>`.
#[test]
fn version_flags_tips_and_real_command_names() {
    let azcm = Azcm::new();
    for flag in ["--version", "-V"] {
        let run = azcm.json(&[flag]);
        assert_eq!(run.code, 0, "{}", run.stdout);
        assert_eq!(run.doc()["command"], "version");
        assert_eq!(run.doc()["result"]["version"], env!("CARGO_PKG_VERSION"));
        let human = azcm.run([flag]);
        assert!(
            human.stdout.starts_with("azcm version "),
            "{}",
            human.stdout
        );
    }
    let run = azcm.json(&["conect"]);
    assert_eq!(run.error_code(), "AZCM0101", "{}", run.stdout);
    let doc = run.doc();
    assert_eq!(doc["error"]["message"], "unrecognized subcommand 'conect'");
    let remediation = doc["error"]["remediation"].as_str().unwrap();
    assert!(remediation.starts_with("tip: "), "{remediation}");
    assert!(
        remediation.contains("'connect'") && remediation.contains("\nRun `azcm --help`"),
        "{remediation}"
    );
    let human = azcm.run(["conect"]);
    assert!(
        human
            .stdout
            .lines()
            .any(|l| l.starts_with("Remediation: tip: ")),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .lines()
            .any(|l| l == "Run `azcm --help` for the syntax."),
        "{}",
        human.stdout
    );
    for (args, named) in [
        (vec!["config", "get"], "azcm config get --help"),
        (vec!["config", "set", "proxy.url"], "azcm config set --help"),
        (vec!["check", "--timeout", "0"], "azcm check --help"),
    ] {
        let run = azcm.json(&args);
        let remediation = run.doc()["error"]["remediation"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(remediation.contains(named), "{args:?}: {remediation}");
        assert!(
            !remediation.contains("<command>"),
            "{args:?}: {remediation}"
        );
    }
}

/// `azcm completions SHELL` prints a completion script generated from the same definitions as
/// the parser (bash's completes `azcm con` to config and connect), and `man` the man page.
#[test]
fn completions_and_the_man_page_come_from_the_command_definitions() {
    let azcm = Azcm::new();
    for shell in ["bash", "zsh", "fish", "powershell", "man"] {
        let run = azcm.json(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stdout);
        let script = run.doc()["result"]["script"].as_str().unwrap().to_string();
        assert!(script.contains("connect"), "{shell}: {script}");
    }
    let man = azcm.run(["completions", "man"]);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH azcm"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    assert_eq!(azcm.json(&["completions", "tcsh"]).error_code(), "AZCM0023");
    if common::windows_binary()
        || std::process::Command::new("bash")
            .arg("--version")
            .output()
            .is_err()
    {
        return;
    }
    let bash = azcm.run(["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azcm.bash");
    std::fs::write(&file, &bash.stdout).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}'; COMP_WORDS=(azcm con); COMP_CWORD=1; COMP_LINE='azcm con'; COMP_POINT=8; _azcm azcm con azcm; echo \"${{COMPREPLY[@]}}\"",
            file.display()
        ))
        .output()
        .unwrap();
    let offered = String::from_utf8_lossy(&out.stdout);
    assert!(
        offered.contains("config") && offered.contains("connect"),
        "{offered} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--help` groups connect's flags (target, network, behaviour, authentication; the global
/// options apart) and shows examples for the commands admins type most.
#[test]
fn help_groups_flags_and_shows_examples() {
    let azcm = Azcm::new();
    let connect = azcm.run(["connect", "--help"]).stdout;
    let headings: Vec<&str> = connect
        .lines()
        .filter(|l| !l.starts_with(' ') && l.ends_with(':'))
        .collect();
    for wanted in [
        "Target:",
        "Network:",
        "Behaviour:",
        "Authentication (one method):",
        "Global options:",
        "Examples:",
    ] {
        assert!(headings.contains(&wanted), "{wanted} in {headings:?}");
    }
    for command in ["disconnect", "check", "logs"] {
        let help = azcm.run([command, "--help"]).stdout;
        assert!(help.contains("\nExamples:\n  "), "{command}: {help}");
    }
}
