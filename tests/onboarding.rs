//! `connect` and `disconnect` against the fake Azure cloud over TLS: every auth method that
//! exists, idempotent re-runs, what-if, bad input caught before any request, the Azure VM
//! guard, faults at each step, and no secret anywhere.

mod common;
use azcm_fakecloud::{Fault, FaultKind, Step};
use common::{Onboarding, Run};
use serde_json::{json, Value};
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn json_run(o: &Onboarding, args: &[&str]) -> Run {
    o.azcm.json(args)
}

fn machine(o: &Onboarding, name: &str) -> Option<Value> {
    o.fake.machines().into_iter().find(|m| {
        m["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

fn agent_config(o: &Onboarding) -> Option<Value> {
    std::fs::read(o.azcm.config_dir().join("agentconfig.json"))
        .ok()
        .map(|b| serde_json::from_slice(&b).unwrap())
}

/// Every file under the state root, stdout and stderr: none may hold the secret.
fn assert_no_secret(o: &Onboarding, runs: &[&Run], secret: &str) {
    for run in runs {
        assert!(
            !run.stdout.contains(secret),
            "secret on stdout: {}",
            run.what
        );
        assert!(
            !run.stderr.contains(secret),
            "secret on stderr: {}",
            run.what
        );
    }
    for (path, bytes) in o.azcm.snapshot() {
        if path.ends_with("clouds.json") || path.ends_with("fakecloud-ca.pem") {
            continue;
        }
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "secret in {}",
            path.display()
        );
    }
}

#[test]
fn connect_with_a_service_principal_secret_creates_the_machine() {
    let o = Onboarding::new().with_secret_env();
    let mut args: Vec<&str> = o.connect_args("web-01");
    let at = args.iter().position(|a| *a == "--location").unwrap();
    args[at + 1] = "West Europe";
    args.extend(["--tags", "env=test,Owner='Ops Team'"]);
    let run = json_run(&o, &args);
    let doc = run.doc();
    assert_eq!(doc["ok"], true, "{doc:#}");
    let result = &doc["result"];
    assert_eq!(result["alreadyConnected"], false);
    assert_eq!(result["location"], "westeurope");
    let actions: Vec<&str> = result["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "registerResourceProvider",
            "registerResourceProvider",
            "registerResourceProvider",
            "createResourceGroup",
            "createMachine"
        ]
    );

    let m = machine(&o, "web-01").expect("machine in ARM");
    assert_eq!(m["id"], result["resourceId"]);
    assert_eq!(m["tags"], json!({"env": "test", "Owner": "Ops Team"}));
    assert_eq!(m["identity"]["type"], "SystemAssigned");
    let os = if common::windows_binary() {
        "windows"
    } else {
        "linux"
    };
    assert_eq!(result["osFacts"]["osType"], os);
    assert!(result["osFacts"]["osVersion"].is_string(), "{result:#}");
    // The firmware may be unreadable (containers have no DMI) but the fact is always reported.
    let provider = &result["osFacts"]["cloudProvider"];
    assert!(provider.is_string() || provider.is_null(), "{result:#}");
    if let Some(provider) = provider.as_str() {
        assert_eq!(m["properties"]["cloudMetadata"]["provider"], provider);
    }
    assert_eq!(m["properties"]["osType"], os, "osType is writable");
    assert!(
        m["properties"].get("osVersion").is_none(),
        "ARM drops the read-only OS facts"
    );
    assert_eq!(result["principalId"], m["identity"]["principalId"]);
    assert_eq!(result["vmId"], m["properties"]["vmId"]);
    // The resource carries the public half of the key kept on this machine.
    let key = azcm::keys::load_private(&o.azcm.certs_dir().join("onboarding.key")).unwrap();
    assert_eq!(
        m["properties"]["clientPublicKey"],
        json!(azcm::keys::client_public_key(&key).unwrap())
    );

    let config = agent_config(&o).expect("agentconfig.json");
    for (field, expected) in [
        ("ResourceId", result["resourceId"].clone()),
        ("SubscriptionId", json!(o.fake.subscription_id)),
        ("ResourceGroup", json!(o.fake.resource_group)),
        ("Location", json!("westeurope")),
        ("TenantId", json!(o.fake.tenant_id)),
        ("Cloud", json!(azcm_fakecloud::CLOUD_NAME)),
        ("VmId", result["vmId"].clone()),
    ] {
        assert_eq!(config[field], expected, "{field}");
    }
    // The agent's own (PascalCase) names, which case-sensitive readers such as jq need exactly.
    assert!(config.get("tenantId").is_none(), "{config:#}");
    assert_no_secret(&o, &[&run], &o.fake.client_secret);
}

#[test]
fn re_running_the_same_connect_changes_nothing() {
    let o = Onboarding::new().with_secret_env();
    json_run(&o, &o.connect_args("web-01"));
    let config = std::fs::read(o.azcm.config_dir().join("agentconfig.json")).unwrap();
    let puts = o.count(Step::MachinePut);
    let run = json_run(&o, &o.connect_args("WEB-01"));
    let doc = run.doc();
    assert_eq!(doc["result"]["alreadyConnected"], true, "{doc:#}");
    assert!(doc["result"]["actions"].as_array().unwrap().is_empty());
    assert_eq!(o.count(Step::MachinePut), puts, "no second PUT");
    assert_eq!(
        std::fs::read(o.azcm.config_dir().join("agentconfig.json")).unwrap(),
        config
    );

    // Another resource while connected: disconnect first.
    let run = o.without_requests("refused before any request", || {
        json_run(&o, &o.connect_args("web-02"))
    });
    assert_eq!(run.error_code(), "AZCM0067");
}

#[test]
fn an_interrupted_connect_converges_on_re_run() {
    let o = Onboarding::new().with_secret_env();
    // The machine PUT is answered, but the connection dies before azcm hears it: ARM has the
    // resource, this machine has its key and no agent configuration.
    o.fake.add_fault(Fault {
        step: Step::MachinePut,
        kind: FaultKind::Reset,
        times: 100,
    });
    let mut args = o.connect_args("web-01");
    args.extend(["--retry-timeout", "2"]);
    let run = json_run(&o, &args);
    assert_eq!(run.error_code(), "AZCM0026", "{}", run.stdout);
    assert!(agent_config(&o).is_none());
    assert!(
        o.azcm.certs_dir().join("onboarding.key").exists(),
        "the key is kept for the re-run"
    );
    o.fake.clear_faults();
    let run = json_run(&o, &o.connect_args("web-01"));
    assert_eq!(run.doc()["ok"], true, "{}", run.stdout);
    assert!(agent_config(&o).is_some());
    assert!(machine(&o, "web-01").is_some());
}

#[test]
fn a_machine_of_someone_else_is_not_taken_over() {
    let o = Onboarding::new().with_secret_env();
    json_run(&o, &o.connect_args("shared-name"));
    // A second machine (another state root, so another key) asks for the same name.
    let other = common::Azcm::new()
        .env(
            "AZCM_CLOUD_FILE",
            &common::native_path(&o.azcm.root().join("fakecloud/clouds.json")),
        )
        .env(
            "AZCM_EXTRA_CA_CERTS",
            &common::native_path(&o.azcm.root().join("fakecloud/fakecloud-ca.pem")),
        )
        .env("AZCM_IMDS_ENDPOINT", &o.fake.imds_url)
        .env("AZCM_SERVICE_PRINCIPAL_SECRET", &o.fake.client_secret);
    let run = other.json(&o.connect_args("shared-name"));
    assert_eq!(run.error_code(), "AZCM0044", "{}", run.stdout);
}

fn warned_about_argv(run: &Run) -> bool {
    run.doc()["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap_or("").contains("command line"))
}

#[test]
fn secrets_come_from_stdin_config_or_env_and_argv_warns() {
    let o = Onboarding::new();
    let secret = o.fake.client_secret.clone();

    // stdin
    let mut args = o.connect_args("stdin-01");
    args.extend(["--service-principal-secret", "-", "--json"]);
    let mut child = o
        .azcm
        .command(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{secret}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let run = Run {
        what: "stdin".into(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    };
    common::assert_contract(&run);
    assert_eq!(run.doc()["ok"], true, "{}", run.stdout);
    assert!(
        !warned_about_argv(&run),
        "no warning for a secret from stdin"
    );
    json_run(&o, &["disconnect", "--force-local-only"]);

    // --config file
    let file = o.azcm.root().join("onboard.json");
    std::fs::write(
        &file,
        json!({"service-principal-secret": secret}).to_string(),
    )
    .unwrap();
    let native = common::native_path(&file);
    let mut args = o.connect_args("config-01");
    args.extend(["--config", &native]);
    let run2 = json_run(&o, &args);
    assert_eq!(run2.doc()["ok"], true, "{}", run2.stdout);
    assert!(
        !warned_about_argv(&run2),
        "no warning for a secret from --config"
    );
    std::fs::remove_file(&file).unwrap();
    json_run(&o, &["disconnect", "--force-local-only"]);

    // command line: works, warns
    let mut args = o.connect_args("argv-01");
    args.extend(["--service-principal-secret", &secret]);
    let run3 = json_run(&o, &args);
    let doc = run3.doc();
    assert_eq!(doc["ok"], true, "{}", run3.stdout);
    assert!(warned_about_argv(&run3));
    assert_no_secret(&o, &[&run, &run2, &run3], &secret);
}

#[test]
fn an_access_token_works_and_an_expired_one_is_azcm0012() {
    let o = Onboarding::new();
    let token = o.fake.issue_token();
    let mut args: Vec<&str> = o
        .connect_args("token-01")
        .into_iter()
        .filter(|a| *a != o.fake.client_id.as_str())
        .collect();
    args.retain(|a| *a != "--service-principal-id");
    let azcm = o.azcm.clone_with_env("AZCM_ACCESS_TOKEN", &token);
    let run = azcm.json(&args);
    assert_eq!(run.doc()["ok"], true, "{}", run.stdout);
    assert_no_secret(&o, &[&run], &token);

    o.fake.update_settings(|s| s.token_lifetime_secs = -10);
    let expired = o.fake.issue_token();
    let azcm = o.azcm.clone_with_env("AZCM_ACCESS_TOKEN", &expired);
    let run = azcm.json(&["disconnect", "--retry-timeout", "5"]);
    assert_eq!(run.error_code(), "AZCM0012", "{}", run.stdout);
}

#[test]
fn a_wrong_secret_is_azcm0041_with_the_entra_code() {
    let o = Onboarding::new();
    let azcm = o
        .azcm
        .clone_with_env("AZCM_SERVICE_PRINCIPAL_SECRET", "not-the-secret");
    let run = azcm.json(&o.connect_args("web-01"));
    assert_eq!(run.error_code(), "AZCM0041", "{}", run.stdout);
    assert_eq!(run.doc()["error"]["details"]["aadsts"], "AADSTS7000215");
}

#[test]
fn bad_input_is_refused_before_any_request() {
    let o = Onboarding::new().with_secret_env();
    let base = o.connect_args("web-01");
    let with = |flag: &'static str, value: &'static str| {
        let mut args: Vec<&str> = Vec::new();
        let mut skip = false;
        for a in &base {
            if skip {
                skip = false;
                continue;
            }
            if *a == flag {
                skip = true;
                continue;
            }
            args.push(a);
        }
        args.extend([flag, value]);
        args
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (with("--location", "westeurop"), "AZCM0020"),
        (with("--location", "mars"), "AZCM0020"),
        (with("--resource-group", "bad group!"), "AZCM0023"),
        (with("--resource-group", "ends."), "AZCM0023"),
        (with("--resource-name", "web_"), "AZCM0023"),
        (with("--resource-name", "web 01"), "AZCM0023"),
        (with("--tenant-id", "contoso"), "AZCM0023"),
        (with("--cloud", "AzureMoonCloud"), "AZCM0023"),
        (with("--tags", "a='open"), "AZCM0023"),
        (with("--tags", "novalue"), "AZCM0023"),
        (with("--correlation-id", "12345"), "AZCM0023"),
        (
            with("--private-link-scope", "/subscriptions/x/scope"),
            "AZCM0023",
        ),
        (with("--retry-timeout", "0"), "AZCM0023"),
        (with("--access-token", "eyJ.x.y"), "AZCM0023"),
        (
            vec![
                "connect",
                "-g",
                "rg",
                "-l",
                "westeurope",
                "-s",
                "sub",
                "--cloud",
                azcm_fakecloud::CLOUD_NAME,
            ],
            "AZCM0016",
        ),
        (vec!["connect", "-g", "rg", "-l", "westeurope"], "AZCM0016"),
    ];
    let before = o.azcm.snapshot();
    for (args, code) in &cases {
        let run = json_run(&o, args);
        assert_eq!(run.error_code(), *code, "{args:?}: {}", run.stdout);
        assert!(
            o.fake.requests().is_empty(),
            "{args:?} reached the fake: {:?}",
            o.fake.requests()
        );
        assert_eq!(before, o.azcm.snapshot(), "{args:?} changed the state");
    }
    // A service principal without its tenant, or without a secret.
    let azcm = o.azcm.clone_with_env("AZCM_SERVICE_PRINCIPAL_SECRET", "");
    assert_eq!(
        azcm.json(&o.connect_args("web-01")).error_code(),
        "AZCM0016"
    );
    assert!(o.fake.requests().is_empty());
}

#[test]
fn an_azure_vm_is_refused_unless_testing() {
    let o = Onboarding::new().with_secret_env();
    o.fake.update_settings(|s| s.azure_vm = true);
    let run = json_run(&o, &o.connect_args("vm-01"));
    assert_eq!(run.error_code(), "AZCM0062", "{}", run.stdout);
    assert!(run.doc()["error"]["remediation"]
        .as_str()
        .unwrap()
        .contains("MSFT_ARC_TEST"));
    assert!(o.count(Step::Token) == 0 && o.count(Step::MachinePut) == 0);
    let testing = o.azcm.clone_with_env("MSFT_ARC_TEST", "true");
    assert_eq!(testing.json(&o.connect_args("vm-01")).doc()["ok"], true);
}

#[test]
fn what_if_changes_nothing_and_says_what_it_would_do() {
    let o = Onboarding::new().with_secret_env();
    let mut args = o.connect_args("web-01");
    args.push("--what-if");
    let run = json_run(&o, &args);
    let doc = run.doc();
    assert_eq!(doc["result"]["whatIf"], true, "{doc:#}");
    let actions = doc["result"]["actions"].as_array().unwrap();
    assert!(actions.iter().all(|a| a["done"] == false));
    assert!(actions.iter().any(|a| a["action"] == "createMachine"));
    assert!(o.fake.machines().is_empty());
    assert_eq!(o.count(Step::Register) + o.count(Step::MachinePut), 0);
    assert!(
        o.fake
            .requests()
            .iter()
            .all(|r| r.method == "GET" || r.step == Step::Token),
        "only reads"
    );
    assert!(agent_config(&o).is_none());
    assert!(!o.azcm.certs_dir().join("onboarding.key").exists());
}

#[test]
fn disconnect_deletes_the_resource_and_resets_local_state() {
    let o = Onboarding::new().with_secret_env();
    o.fake.update_settings(|s| s.lro_polls = 2);
    json_run(&o, &o.connect_args("web-01"));
    let run = json_run(&o, &o.disconnect_args());
    let doc = run.doc();
    assert_eq!(doc["result"]["resourceDeleted"], true, "{doc:#}");
    assert!(o.fake.machines().is_empty());
    assert!(
        o.count(Step::LroPoll) >= 2,
        "the delete operation was polled to the end"
    );
    assert!(agent_config(&o).is_none());
    assert!(!o.azcm.certs_dir().join("onboarding.key").exists());
    // Again: a clean error.
    let again = json_run(&o, &o.disconnect_args());
    assert_eq!(again.error_code(), "AZCM0063");
    assert_eq!(again.doc()["error"]["details"]["reason"], "notConnected");
}

#[test]
fn disconnect_when_the_resource_is_already_gone_or_local_only() {
    let o = Onboarding::new().with_secret_env();
    json_run(&o, &o.connect_args("web-01"));
    // Deleted in Azure behind the machine's back.
    let admin = json_run(&o, &o.disconnect_args());
    assert_eq!(admin.doc()["ok"], true);
    json_run(&o, &o.connect_args("web-01"));
    let id = agent_config(&o).unwrap()["ResourceId"]
        .as_str()
        .unwrap()
        .to_string();
    o.fake.add_fault(Fault {
        step: Step::MachineGet,
        kind: FaultKind::Status {
            status: 404,
            code: Some("ResourceNotFound".into()),
        },
        times: 1,
    });
    let run = json_run(&o, &o.disconnect_args());
    let doc = run.doc();
    assert_eq!(doc["ok"], true, "{doc:#}");
    assert_eq!(doc["result"]["resourceDeleted"], false);
    assert!(
        doc["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("no longer exists")),
        "{doc:#}"
    );
    assert!(agent_config(&o).is_none());
    assert!(machine(&o, "web-01").is_some(), "{id} was left alone");

    // The old resource still holds the old key: connect anew under another name.
    assert_eq!(json_run(&o, &o.connect_args("web-02")).doc()["ok"], true);
    let local = o.without_requests("no request with --force-local-only", || {
        json_run(&o, &["disconnect", "--force-local-only"])
    });
    assert_eq!(local.doc()["result"]["localOnly"], true);
    assert!(agent_config(&o).is_none());
}

/// Each onboarding step, hit once by each kind of transient fault, still converges within one
/// run; the fake's log shows the retry.
#[test]
fn transient_faults_at_every_step_are_retried() {
    let kinds = [
        FaultKind::Throttle {
            retry_after_secs: 1,
            http_date: false,
        },
        FaultKind::Throttle {
            retry_after_secs: 1,
            http_date: true,
        },
        FaultKind::Status {
            status: 500,
            code: None,
        },
        FaultKind::Status {
            status: 503,
            code: None,
        },
        FaultKind::Reset,
        FaultKind::InvalidJson,
        FaultKind::TruncatedJson,
    ];
    let steps = [
        Step::Subscription,
        Step::Provider,
        Step::ResourceGroup,
        Step::MachineGet,
        Step::MachinePut,
    ];
    let o = Onboarding::new().with_secret_env();
    for (i, kind) in kinds.iter().enumerate() {
        for step in steps {
            let name = format!("m{i}-{step:?}").to_lowercase();
            o.fake.add_fault(Fault {
                step,
                kind: kind.clone(),
                times: 1,
            });
            let run = json_run(&o, &o.connect_args(&name));
            assert_eq!(
                run.doc()["ok"],
                true,
                "{kind:?} at {step:?}: {}",
                run.stdout
            );
            assert!(
                o.fake
                    .requests()
                    .iter()
                    .any(|r| r.step == step && r.fault.is_some()),
                "{kind:?} at {step:?} never hit"
            );
            json_run(&o, &["disconnect", "--force-local-only"]);
        }
    }
}

/// The token step (azure_identity's pipeline) and a server that hangs (the per-request timeout is
/// bounded by --retry-timeout) are retried too.
#[test]
fn token_faults_and_hung_requests_are_retried() {
    let o = Onboarding::new().with_secret_env();
    let kinds = [
        FaultKind::Throttle {
            retry_after_secs: 1,
            http_date: false,
        },
        FaultKind::Status {
            status: 500,
            code: None,
        },
        FaultKind::Reset,
    ];
    for (i, kind) in kinds.iter().enumerate() {
        o.fake.add_fault(Fault {
            step: Step::Token,
            kind: kind.clone(),
            times: 1,
        });
        let run = json_run(&o, &o.connect_args(&format!("token-fault-{i}")));
        assert_eq!(run.doc()["ok"], true, "{kind:?} at Token: {}", run.stdout);
        assert!(o
            .fake
            .requests()
            .iter()
            .any(|r| r.step == Step::Token && r.fault.is_some()));
        json_run(&o, &["disconnect", "--force-local-only"]);
    }
    for step in [Step::Subscription, Step::MachinePut] {
        o.fake.add_fault(Fault {
            step,
            kind: FaultKind::Delay { ms: 8000 },
            times: 1,
        });
        let name = format!("hung-{step:?}").to_lowercase();
        let mut args = o.connect_args(&name);
        args.extend(["--retry-timeout", "9"]);
        let run = json_run(&o, &args);
        assert_eq!(
            run.doc()["ok"],
            true,
            "a hung {step:?} request: {}",
            run.stdout
        );
        json_run(&o, &["disconnect", "--force-local-only"]);
        o.fake.clear_faults();
    }
}

#[test]
fn delete_faults_are_retried_and_retry_after_is_honoured() {
    let o = Onboarding::new().with_secret_env();
    o.fake.update_settings(|s| s.lro_polls = 1);
    json_run(&o, &o.connect_args("web-01"));
    o.fake.add_fault(Fault {
        step: Step::MachineDelete,
        kind: FaultKind::Throttle {
            retry_after_secs: 2,
            http_date: false,
        },
        times: 1,
    });
    o.fake.add_fault(Fault {
        step: Step::LroPoll,
        kind: FaultKind::Status {
            status: 500,
            code: None,
        },
        times: 1,
    });
    let started = Instant::now();
    let run = json_run(&o, &o.disconnect_args());
    assert_eq!(run.doc()["ok"], true, "{}", run.stdout);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After: 2 was not honoured"
    );
    assert!(o.fake.machines().is_empty());
}

/// Faults that do not go away: the run fails with the step's AZCM code and ARM's details within
/// the retry budget, and a re-run once the fault is gone converges.
#[test]
fn persistent_faults_fail_with_the_steps_code_and_a_re_run_converges() {
    let cases = [
        (
            Step::Subscription,
            FaultKind::Status {
                status: 503,
                code: Some("ServiceUnavailable".into()),
            },
            "AZCM0062",
        ),
        (
            Step::ResourceGroup,
            FaultKind::Throttle {
                retry_after_secs: 1,
                http_date: false,
            },
            "AZCM0042",
        ),
        (
            Step::MachinePut,
            FaultKind::Status {
                status: 500,
                code: Some("InternalServerError".into()),
            },
            "AZCM0042",
        ),
        (Step::MachinePut, FaultKind::Reset, "AZCM0026"),
        (
            Step::MachinePut,
            FaultKind::Status {
                status: 403,
                code: Some("AuthorizationFailed".into()),
            },
            "AZCM0041",
        ),
    ];
    for (step, kind, code) in cases {
        let o = Onboarding::new().with_secret_env();
        o.fake.add_fault(Fault {
            step,
            kind: kind.clone(),
            times: 1000,
        });
        let mut args = o.connect_args("web-01");
        args.extend(["--retry-timeout", "3"]);
        let started = Instant::now();
        let run = json_run(&o, &args);
        assert_eq!(
            run.error_code(),
            code,
            "{kind:?} at {step:?}: {}",
            run.stdout
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the retry budget bounds the run"
        );
        let details = &run.doc()["error"]["details"];
        assert!(
            details["correlationId"]
                .as_str()
                .is_some_and(|c| c.len() == 36),
            "{details}"
        );
        if !matches!(kind, FaultKind::Reset) {
            assert!(details["requestId"].as_str().is_some(), "{details}");
            assert!(details["armErrorCode"].as_str().is_some(), "{details}");
        }
        o.fake.clear_faults();
        let rerun = json_run(&o, &o.connect_args("web-01"));
        assert_eq!(
            rerun.doc()["ok"],
            true,
            "re-run after {kind:?} at {step:?}: {}",
            rerun.stdout
        );
        assert!(machine(&o, "web-01").is_some());
    }
}

#[test]
fn progress_is_reported_per_step() {
    let o = Onboarding::new().with_secret_env();
    let mut args = o.connect_args("web-01");
    args.extend(["--json", "--log-stderr"]);
    let run = o.azcm.run(&args);
    common::assert_contract(&run);
    let statuses: Vec<String> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["level"] == "progress")
        .map(|e| e["progress"]["status"].as_str().unwrap().to_string())
        .collect();
    for expected in [
        "signing in to Entra ID",
        "resolving the subscription",
        "creating the machine resource",
        "writing the agent configuration",
    ] {
        assert!(
            statuses.iter().any(|s| s == expected),
            "{expected} not in {statuses:?}"
        );
    }
    let doc = run.doc();
    let steps: Vec<&str> = doc["result"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        steps.contains(&"machinePut") && steps.contains(&"token"),
        "{steps:?}"
    );
}

/// A slow answer does not leave a reader on the step before it: the running step is said again
/// about once a second, with how long it has run, as an event (what the module's progress bar
/// redraws from) and on a terminal's progress line.
#[test]
fn a_slow_step_is_said_again_every_second() {
    let o = Onboarding::new().with_secret_env();
    let slow_put = || {
        o.fake.add_fault(Fault {
            step: Step::MachinePut,
            kind: FaultKind::Delay { ms: 3_500 },
            times: 1,
        })
    };
    slow_put();
    let mut args = o.connect_args("slow-put");
    args.extend(["--json", "--log-stderr"]);
    let run = o.azcm.run(&args);
    common::assert_contract(&run);
    let events: Vec<Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["level"] == "progress")
        .collect();
    let put: Vec<&Value> = events
        .iter()
        .filter(|e| e["progress"]["status"] == "creating the machine resource")
        .collect();
    assert!(put[0]["progress"].get("seconds").is_none(), "{put:?}");
    let seconds: Vec<u64> = put[1..]
        .iter()
        .map(|e| e["progress"]["seconds"].as_u64().unwrap())
        .collect();
    assert!((2..=5).contains(&seconds.len()), "{seconds:?}");
    // One per whole second, none skipped: 1, 2, 3 for a 3.5 s answer.
    assert_eq!(seconds, (1..=seconds.len() as u64).collect::<Vec<_>>());
    // Said again with the same step and percent, never a later one.
    for e in &put[1..] {
        assert_eq!(e["progress"]["percent"], put[0]["progress"]["percent"]);
        assert_eq!(e["progress"]["activity"], "Connect");
    }

    // A person at a terminal sees the count on the progress line.
    if !cfg!(target_os = "linux") || common::windows_binary() {
        return;
    }
    json_run(&o, &["disconnect", "--force-local-only"]);
    slow_put();
    let line = std::iter::once(common::binary().display().to_string())
        .chain(
            o.connect_args("slow-put-typed")
                .iter()
                .map(|a| format!("'{a}'")),
        )
        .collect::<Vec<_>>()
        .join(" ");
    let out = o
        .azcm
        .in_pseudo_terminal(&line)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("creating the machine resource (2 s)"),
        "{screen}"
    );
    assert!(screen.contains("Connect: done in "), "{screen}");
}

fn pem_der(pem: &str, tag: &str) -> Vec<u8> {
    pem::parse_many(pem.as_bytes())
        .unwrap()
        .into_iter()
        .find(|b| b.tag() == tag)
        .unwrap()
        .contents()
        .to_vec()
}

fn pfx(cert_pem: &str, key_pem: &str, password: &str) -> Vec<u8> {
    let key = p12_keystore::PrivateKey::from_der(&pem_der(key_pem, "PRIVATE KEY")).unwrap();
    let cert = p12_keystore::Certificate::from_der(&pem_der(cert_pem, "CERTIFICATE")).unwrap();
    let chain = p12_keystore::PrivateKeyChain::new(vec![1u8; 20], key, [cert]);
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry("azcm", p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
    store.writer(password).write().unwrap()
}

fn cert_args<'a>(o: &'a Onboarding, name: &'a str, file: &'a str) -> Vec<&'a str> {
    let mut args = o.connect_args(name);
    args.extend(["--service-principal-cert", file]);
    args
}

#[test]
fn a_service_principal_certificate_in_pem_or_pfx_works() {
    let o = Onboarding::new();
    let (cert_pem, key_pem) = o.fake.issue_client_certificate().unwrap();
    let pem_file = o.azcm.root().join("sp.pem");
    std::fs::write(&pem_file, format!("{cert_pem}{key_pem}")).unwrap();
    let native = common::native_path(&pem_file);
    let run = json_run(&o, &cert_args(&o, "cert-pem", &native));
    assert_eq!(run.doc()["ok"], true, "{}", run.stdout);
    assert!(o
        .fake
        .requests()
        .iter()
        .any(|r| r.step == Step::Token && r.status == 200));
    json_run(&o, &["disconnect", "--force-local-only"]);

    let pfx_file = o.azcm.root().join("sp.pfx");
    std::fs::write(&pfx_file, pfx(&cert_pem, &key_pem, "")).unwrap();
    let native = common::native_path(&pfx_file);
    let run2 = json_run(&o, &cert_args(&o, "cert-pfx", &native));
    assert_eq!(run2.doc()["ok"], true, "{}", run2.stdout);
    let key_body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for run in [&run, &run2] {
        assert!(!run.stdout.contains(&key_body[..40]) && !run.stderr.contains(&key_body[..40]));
    }
}

#[test]
fn unusable_certificates_are_refused_before_any_request() {
    let o = Onboarding::new();
    let (cert_pem, key_pem) = o.fake.issue_client_certificate().unwrap();
    let other = azcm_fakecloud::FakeCloud::start().unwrap();
    let (_, other_key) = other.issue_client_certificate().unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("locked.pfx", pfx(&cert_pem, &key_pem, "secret")),
        (
            "mismatch.pem",
            format!("{cert_pem}{other_key}").into_bytes(),
        ),
        ("nokey.pem", cert_pem.clone().into_bytes()),
        ("garbage.pfx", b"not a pfx".to_vec()),
    ];
    for (name, bytes) in cases {
        let file = o.azcm.root().join(name);
        std::fs::write(&file, bytes).unwrap();
        let native = common::native_path(&file);
        let run = json_run(&o, &cert_args(&o, "cert-bad", &native));
        assert_eq!(run.error_code(), "AZCM0023", "{name}: {}", run.stdout);
        assert!(run.doc()["error"]["message"]
            .as_str()
            .unwrap()
            .contains(name));
    }
    let missing = common::native_path(&o.azcm.root().join("missing.pem"));
    assert_eq!(
        json_run(&o, &cert_args(&o, "cert-bad", &missing)).error_code(),
        "AZCM0023"
    );
    assert!(o.fake.requests().is_empty());
}

#[test]
fn a_store_thumbprint_is_checked_before_any_request() {
    let o = Onboarding::new();
    let with = |extra: &[&str]| {
        let mut args = o.connect_args("cert-store");
        args.extend(extra);
        json_run(&o, &args)
    };
    o.without_requests("bad thumbprints are refused locally", || {
        let run = with(&["--service-principal-cert-thumbprint", "not-a-thumbprint"]);
        assert_eq!(run.error_code(), "AZCM0023", "{}", run.stdout);
        assert!(
            run.stdout.contains("40 hexadecimal digits"),
            "{}",
            run.stdout
        );
        let run = with(&["--service-principal-cert-thumbprint", &"AB".repeat(19)]);
        assert_eq!(run.error_code(), "AZCM0023", "{}", run.stdout);

        let pem = o.azcm.root().join("unused.pem");
        let native = common::native_path(&pem);
        let both = with(&[
            "--service-principal-cert",
            &native,
            "--service-principal-cert-thumbprint",
            &"AB".repeat(20),
        ]);
        assert_eq!(both.error_code(), "AZCM0023", "{}", both.stdout);
        assert!(both.stdout.contains("not both"), "{}", both.stdout);

        // As copied from the certificate dialog: spaces, lower case, a leading mark.
        let pasted = format!("\u{200e}{}", ["5a"; 20].join(" "));
        let run = with(&["--service-principal-cert-thumbprint", &pasted]);
        assert_eq!(run.error_code(), "AZCM0023", "{}", run.stdout);
        let message = run.doc()["error"]["message"].as_str().unwrap().to_string();
        if common::windows_binary() {
            assert!(
                message.contains(&"5A".repeat(20))
                    && message.contains("LocalMachine\\My or CurrentUser\\My"),
                "{message}"
            );
            assert_eq!(run.doc()["error"]["details"]["thumbprint"], "5A".repeat(20));
        } else {
            assert!(
                message.contains("Windows certificate store")
                    && message.contains("--service-principal-cert"),
                "{message}"
            );
        }
    });
    let mut args: Vec<&str> = o
        .connect_args("cert-store")
        .into_iter()
        .filter(|a| *a != "--service-principal-id" && *a != o.fake.client_id.as_str())
        .collect();
    let thumbprint = "AB".repeat(20);
    args.extend(["--service-principal-cert-thumbprint", thumbprint.as_str()]);
    let run = json_run(&o, &args);
    assert_eq!(run.error_code(), "AZCM0016", "{}", run.stdout);
}

#[test]
fn a_certificate_entra_does_not_know_is_azcm0041() {
    let o = Onboarding::new();
    let other = azcm_fakecloud::FakeCloud::start().unwrap();
    let (cert_pem, key_pem) = other.issue_client_certificate().unwrap();
    let file = o.azcm.root().join("unregistered.pem");
    std::fs::write(&file, format!("{cert_pem}{key_pem}")).unwrap();
    let native = common::native_path(&file);
    let run = json_run(&o, &cert_args(&o, "cert-unknown", &native));
    assert_eq!(run.error_code(), "AZCM0041", "{}", run.stdout);
    assert_eq!(run.doc()["error"]["details"]["aadsts"], "AADSTS700027");
}

fn device_args(o: &Onboarding, name: &str) -> Vec<String> {
    let mut args: Vec<String> = o
        .connect_args(name)
        .into_iter()
        .map(str::to_string)
        .collect();
    // No service principal: a user signs in with a device code.
    let at = args
        .iter()
        .position(|a| a == "--service-principal-id")
        .unwrap();
    args.drain(at..at + 2);
    args.push("--use-device-code".into());
    args
}

#[test]
fn device_code_sign_in_shows_the_code_and_polls_until_approved() {
    let o = Onboarding::new();
    let mut args = device_args(&o, "device-01");
    args.extend(["--json".into(), "--log-stderr".into()]);
    let run = o.azcm.run(&args);
    common::assert_contract(&run);
    assert_eq!(run.doc()["ok"], true, "{}", run.stdout);
    let info: Vec<String> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["level"] == "information")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(info.len(), 1, "{}", run.stderr);
    assert!(
        info[0].contains("/devicelogin") && info[0].contains("enter the code"),
        "{}",
        info[0]
    );
    let polls = o
        .fake
        .requests()
        .iter()
        .filter(|r| r.step == Step::Token)
        .count();
    assert!(
        polls >= 3,
        "two pending answers, then the token: {polls} polls"
    );
    assert!(o
        .fake
        .requests()
        .iter()
        .any(|r| r.step == Step::DeviceCode && r.status == 200));

    // Human mode: the prompt is on stdout with the result. Without --tenant-id the user signs
    // in to their home tenant (the `organizations` endpoint).
    json_run(&o, &["disconnect", "--force-local-only"]);
    let mut args = device_args(&o, "device-02");
    let at = args.iter().position(|a| a == "--tenant-id").unwrap();
    args.drain(at..at + 2);
    let human = o.azcm.run(args);
    assert_eq!(human.code, 0, "{}", human.stdout);
    assert!(human.stdout.contains("enter the code"), "{}", human.stdout);
}

#[test]
fn a_declined_or_expired_device_code_is_azcm0041() {
    let o = Onboarding::new();
    o.fake.update_settings(|s| {
        s.device_code_outcome = "decline".into();
        s.device_code_pending_polls = 1;
    });
    let args = device_args(&o, "device-03");
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = json_run(&o, &refs);
    assert_eq!(run.error_code(), "AZCM0041", "{}", run.stdout);
    assert_eq!(
        run.doc()["error"]["details"]["entraError"],
        "authorization_declined"
    );

    o.fake
        .update_settings(|s| s.device_code_outcome = "ignore".into());
    let run = json_run(&o, &refs);
    assert_eq!(run.error_code(), "AZCM0041", "{}", run.stdout);
    assert_eq!(run.doc()["error"]["details"]["entraError"], "expired_token");
    assert!(agent_config(&o).is_none());
}

#[test]
fn device_code_polling_slows_down_when_asked() {
    let o = Onboarding::new();
    o.fake.update_settings(|s| {
        s.device_code_slow_down_first = true;
        s.device_code_pending_polls = 0;
        // A client that ignored slow_down would be told to slow down until the code expires.
        s.device_code_expires_secs = 30;
    });
    let args = device_args(&o, "device-04");
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = json_run(&o, &refs);
    assert_eq!(run.doc()["ok"], true, "{}", run.stdout);
    let polls = o
        .fake
        .requests()
        .iter()
        .filter(|r| r.step == Step::Token)
        .count();
    assert_eq!(
        polls, 2,
        "one slow_down, then the token after the longer interval"
    );
}

#[test]
fn device_code_does_not_mix_with_other_credentials() {
    let o = Onboarding::new().with_secret_env();
    let mut args = o.connect_args("device-05");
    args.push("--use-device-code");
    assert_eq!(json_run(&o, &args).error_code(), "AZCM0023");
    assert!(o.fake.requests().is_empty());
}

/// A stand-in for the Azure CLI on PATH: answers `az account get-access-token` with a token of
/// the fake cloud, or fails like a CLI nobody signed in to.
#[cfg(unix)]
fn with_fake_az(o: &Onboarding, signed_in: bool) -> common::Azcm {
    use std::os::unix::fs::PermissionsExt;
    let dir = o.azcm.root().join("fake-az");
    std::fs::create_dir_all(&dir).unwrap();
    let script = if signed_in {
        let expires = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        let answer = json!({"accessToken": o.fake.issue_token(), "expires_on": expires, "tenant": o.fake.tenant_id, "tokenType": "Bearer"});
        std::fs::write(dir.join("answer.json"), answer.to_string()).unwrap();
        "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/calls.log\"\ncat \"$(dirname \"$0\")/answer.json\"\n".to_string()
    } else {
        "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n"
            .to_string()
    };
    let az = dir.join("az");
    std::fs::write(&az, script).unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    o.azcm.clone_with_env("PATH", &path)
}

#[cfg(unix)]
#[test]
fn the_azure_cli_session_can_sign_in() {
    let o = Onboarding::new();
    let azcm = with_fake_az(&o, true);
    let mut args: Vec<&str> = o.connect_args("azcli-01");
    let at = args
        .iter()
        .position(|a| *a == "--service-principal-id")
        .unwrap();
    args.drain(at..at + 2);
    args.push("--use-azcli");
    let run = azcm.json(&args);
    assert_eq!(run.doc()["ok"], true, "{}", run.stdout);
    let calls = std::fs::read_to_string(o.azcm.root().join("fake-az/calls.log")).unwrap();
    assert!(
        calls.contains("account get-access-token") && calls.contains("--tenant"),
        "{calls}"
    );

    let signed_out = with_fake_az(&o, false);
    let run = signed_out.json(&["disconnect", "--use-azcli"]);
    assert_eq!(run.error_code(), "AZCM0041", "{}", run.stdout);
    assert!(run.doc()["error"]["remediation"]
        .as_str()
        .unwrap()
        .contains("az login"));
}

#[test]
fn azure_cli_sign_in_does_not_mix_with_other_credentials() {
    let o = Onboarding::new().with_secret_env();
    let mut args = o.connect_args("azcli-02");
    args.push("--use-azcli");
    assert_eq!(json_run(&o, &args).error_code(), "AZCM0023");
    assert!(o.fake.requests().is_empty());
}

#[test]
fn user_tenant_id_is_where_the_person_signs_in() {
    let o = Onboarding::new();
    let args = device_args(&o, "device-06");
    let mut refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let other = "11111111-2222-3333-4444-555555555555";
    refs.extend(["--user-tenant-id", other]);
    let run = json_run(&o, &refs);
    // The fake knows no such tenant: the device code request went there, not to --tenant-id.
    assert_eq!(run.error_code(), "AZCM0041", "{}", run.stdout);
    assert!(o
        .fake
        .requests()
        .iter()
        .any(|r| r.step == Step::DeviceCode && r.path.starts_with(&format!("/{other}/"))));

    let o = Onboarding::new().with_secret_env();
    let mut args = o.connect_args("sp-utid");
    args.extend(["--user-tenant-id", other]);
    assert_eq!(json_run(&o, &args).error_code(), "AZCM0023");
    let mut args = o.connect_args("sp-utid");
    args.extend(["--user-tenant-id", "contoso"]);
    assert_eq!(json_run(&o, &args).error_code(), "AZCM0023");
    assert!(o.fake.requests().is_empty());
}

/// The full matrix: every step × every fault kind, each fault hitting once. The run either
/// rides it out, or fails with an AZCM code naming the failure, and a re-run converges.
#[test]
fn fault_matrix_every_step_and_kind() {
    let kinds = [
        (
            "429",
            FaultKind::Throttle {
                retry_after_secs: 1,
                http_date: false,
            },
        ),
        (
            "500",
            FaultKind::Status {
                status: 500,
                code: None,
            },
        ),
        ("reset", FaultKind::Reset),
        ("timeout", FaultKind::Delay { ms: 4000 }),
        ("invalid-json", FaultKind::InvalidJson),
    ];
    let connect_steps = [
        Step::Token,
        Step::Subscription,
        Step::Provider,
        Step::Register,
        Step::ResourceGroup,
        Step::MachinePut,
    ];
    let delete_steps = [Step::MachineDelete, Step::LroPoll];
    let o = Onboarding::new().with_secret_env();
    o.fake.update_settings(|s| s.lro_polls = 1);
    let mut outcomes = Vec::new();
    for (label, kind) in &kinds {
        for step in connect_steps.iter().chain(delete_steps.iter()) {
            let name = format!("mx-{label}-{step:?}").to_lowercase();
            let is_delete = delete_steps.contains(step);
            // Providers start unregistered for the registration step to be reached.
            for ns in [
                "Microsoft.HybridCompute",
                "Microsoft.GuestConfiguration",
                "Microsoft.HybridConnectivity",
            ] {
                o.fake.set_provider_state(
                    ns,
                    if *step == Step::Register {
                        "NotRegistered"
                    } else {
                        "Registered"
                    },
                );
            }
            let mut connect = o.connect_args(&name);
            connect.extend(["--retry-timeout", "9"]);
            let mut disconnect = o.disconnect_args();
            disconnect.extend(["--retry-timeout", "9"]);
            let run_step = |args: &[&str]| json_run(&o, args);
            if is_delete {
                assert_eq!(
                    run_step(&connect).doc()["ok"],
                    true,
                    "setup connect for {name}"
                );
            }
            o.fake.add_fault(Fault {
                step: *step,
                kind: kind.clone(),
                times: 1,
            });
            let args: &[&str] = if is_delete { &disconnect } else { &connect };
            let first = run_step(args);
            let doc = first.doc();
            assert!(
                o.fake
                    .requests()
                    .iter()
                    .any(|r| r.step == *step && r.fault.is_some()),
                "{label} at {step:?} was never hit"
            );
            o.fake.clear_faults();
            if doc["ok"] == true {
                outcomes.push(format!("{label}@{step:?}: rode it out"));
            } else {
                let code = doc["error"]["code"].as_str().unwrap().to_string();
                assert!(
                    ["AZCM0026", "AZCM0041", "AZCM0042", "AZCM0043", "AZCM0062"]
                        .contains(&code.as_str()),
                    "{label} at {step:?}: {doc:#}"
                );
                assert!(doc["error"]["details"].as_object().is_some());
                let rerun = run_step(args);
                assert_eq!(
                    rerun.doc()["ok"],
                    true,
                    "re-run after {label} at {step:?}: {}",
                    rerun.stdout
                );
                outcomes.push(format!("{label}@{step:?}: {code}, re-run converged"));
            }
            if !is_delete {
                json_run(&o, &["disconnect", "--force-local-only"]);
            }
            assert_no_secret(&o, &[&first], &o.fake.client_secret);
        }
    }
    eprintln!("{}", outcomes.join("\n"));
    assert_eq!(
        outcomes.len(),
        kinds.len() * (connect_steps.len() + delete_steps.len())
    );
}

#[test]
fn a_gateway_and_an_automanage_profile_are_associated() {
    let o = Onboarding::new().with_secret_env();
    let profile = "/providers/Microsoft.Automanage/bestPractices/AzureBestPracticesProduction";
    let mut args = o.connect_args("gw-01");
    args.extend([
        "--gateway-id",
        &o.fake.gateway_id,
        "--automanage-profile",
        profile,
        "--what-if",
    ]);
    let plan = json_run(&o, &args).doc();
    let actions: Vec<&str> = plan["result"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"associateGateway") && actions.contains(&"assignAutomanageProfile"),
        "{actions:?}"
    );
    assert!(o.fake.machines().is_empty());

    args.pop();
    let run = json_run(&o, &args);
    assert_eq!(run.doc()["ok"], true, "{}", run.stdout);
    let (settings, automanage) = o.fake.machine_children("gw-01");
    assert_eq!(
        settings.unwrap()["properties"]["gatewayProperties"]["gatewayResourceId"],
        json!(o.fake.gateway_id)
    );
    assert_eq!(
        automanage.unwrap()["properties"]["configurationProfile"],
        json!(profile)
    );
    let config = agent_config(&o).unwrap();
    assert_eq!(config["GatewayId"], json!(o.fake.gateway_id));
    assert!(config["GatewayUrl"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    assert_eq!(
        json_run(&o, &["config", "get", "connection.type"]).doc()["result"]["value"],
        "gateway"
    );
}

/// The percentages of one activity's progress events on stderr (--json --log-stderr).
fn progress_of(stderr: &str, activity: &str) -> Vec<u64> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["level"] == "progress" && e["progress"]["activity"] == activity)
        .map(|e| e["progress"]["percent"].as_u64().unwrap())
        .collect()
}

fn assert_forward_to_100(percents: &[u64], what: &str) {
    assert!(
        percents.windows(2).all(|w| w[0] < w[1]),
        "{what}: progress went backwards or stood still: {percents:?}"
    );
    assert_eq!(percents.last(), Some(&100), "{what}: {percents:?}");
}

#[test]
fn progress_counts_every_planned_step_and_ends_at_100() {
    let o = Onboarding::new().with_secret_env();
    let profile = "/providers/Microsoft.Automanage/bestPractices/AzureBestPracticesDevTest";
    let mut args = o.connect_args("gw-02");
    args.extend([
        "--gateway-id",
        &o.fake.gateway_id,
        "--automanage-profile",
        profile,
        "--json",
        "--log-stderr",
    ]);
    let run = o.azcm.run(&args);
    assert_eq!(run.doc()["ok"], true, "{}", run.stdout);
    let percents = progress_of(&run.stderr, "Connect");
    assert_forward_to_100(&percents, "connect with every step");
    // Fifteen steps, each reported as it begins (0, 6, 13, ... 93), then done.
    let steps = run.doc()["result"]["steps"].as_array().unwrap().len();
    assert_eq!(steps, 15, "{}", run.stdout);
    assert_eq!(percents.len(), steps + 1, "{percents:?}");
    assert_eq!(percents[steps - 1], 93, "{percents:?}");

    // Already connected: the changing steps are passed over, still forward, still to 100.
    let rerun = o.azcm.run(&args);
    assert_eq!(
        rerun.doc()["result"]["alreadyConnected"],
        true,
        "{}",
        rerun.stdout
    );
    assert_forward_to_100(&progress_of(&rerun.stderr, "Connect"), "re-run");

    let mut what_if = args.clone();
    what_if.push("--what-if");
    let planned = o.azcm.run(&what_if);
    assert_forward_to_100(
        &progress_of(&planned.stderr, "Connect (what-if)"),
        "what-if",
    );

    let mut disconnect = o.disconnect_args();
    disconnect.extend(["--json", "--log-stderr"]);
    let disconnect = o.azcm.run(&disconnect);
    assert_eq!(disconnect.doc()["ok"], true, "{}", disconnect.stdout);
    let percents = progress_of(&disconnect.stderr, "Disconnect");
    assert_forward_to_100(&percents, "disconnect");
    assert_eq!(percents, [0, 20, 40, 60, 80, 100]);
}

#[test]
fn an_unknown_gateway_stops_connect_before_the_machine_exists() {
    let o = Onboarding::new().with_secret_env();
    let missing = o
        .fake
        .gateway_id
        .replace("azcm-fake-gateway", "no-such-gateway");
    let mut args = o.connect_args("gw-02");
    args.extend(["--gateway-id", &missing]);
    let run = json_run(&o, &args);
    assert_eq!(run.error_code(), "AZCM0062", "{}", run.stdout);
    assert_eq!(
        run.doc()["error"]["details"]["armErrorCode"],
        "ResourceNotFound"
    );
    assert!(o.fake.machines().is_empty());

    o.without_requests("bad ids are refused before any request", || {
        for (flag, value) in [
            ("--gateway-id", "/subscriptions/x/gateways/y"),
            (
                "--automanage-profile",
                "/providers/Microsoft.Automanage/bestPractices/Whatever",
            ),
            ("--automanage-profile", "AzureBestPracticesProduction"),
        ] {
            let mut args = o.connect_args("gw-03");
            args.extend([flag, value]);
            assert_eq!(
                json_run(&o, &args).error_code(),
                "AZCM0023",
                "{flag} {value}"
            );
        }
    });
}

#[test]
fn the_hybridcompute_api_version_can_be_chosen() {
    let o = Onboarding::new().with_secret_env();
    let older = o
        .azcm
        .clone_with_env("AZCM_HYBRIDCOMPUTE_API_VERSION", "2026-07-15");
    assert_eq!(older.json(&o.connect_args("api-01")).doc()["ok"], true);
    assert!(o
        .fake
        .requests()
        .iter()
        .filter(|r| r.step == Step::MachinePut)
        .all(|r| r.query.contains("api-version=2026-07-15")));
    assert_eq!(agent_config(&o).unwrap()["ApiVersion"], "2026-07-15");
    json_run(&o, &["disconnect", "--force-local-only"]);
    // One the fake (like ARM) does not serve is ARM's error, with its code.
    let unknown = o
        .azcm
        .clone_with_env("AZCM_HYBRIDCOMPUTE_API_VERSION", "2019-03-18-preview");
    let run = unknown.json(&o.connect_args("api-02"));
    assert_eq!(
        run.doc()["error"]["details"]["armErrorCode"],
        "InvalidApiVersionParameter",
        "{}",
        run.stdout
    );
    let bad = o
        .azcm
        .clone_with_env("AZCM_HYBRIDCOMPUTE_API_VERSION", "latest");
    let run = o.without_requests("a bad api-version is refused before any request", || {
        bad.json(&o.connect_args("api-03"))
    });
    assert_eq!(run.error_code(), "AZCM0023");
}

#[test]
fn a_host_without_a_domain_is_its_own_fqdn_without_a_warning() {
    // A host name without a DNS domain that nothing resolves (`hostname -f` fails): a workgroup
    // or lab machine. unshare gives the run a UTS namespace with that name.
    let unshare_works = std::process::Command::new("unshare")
        .args(["--uts", "true"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        unshare_works || std::env::var_os("CI").is_none(),
        "CI runs as root with util-linux: unshare --uts must work there"
    );
    if !unshare_works {
        eprintln!("skipped: unshare --uts needs root (CAP_SYS_ADMIN)");
        return;
    }
    let o = Onboarding::new().with_secret_env();
    let mut args = o.connect_args("lab01");
    args.extend(["--json", "--log-stderr"]);
    let inner = o.azcm.command(&args);
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--uts", "sh", "-c", "hostname lab01 && exec \"$@\"", "sh"])
        .arg(inner.get_program())
        .args(inner.get_args())
        .stdin(std::process::Stdio::null());
    for (key, value) in inner.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(doc["ok"], true, "{stdout}");
    assert_eq!(doc["result"]["osFacts"]["fqdn"], "lab01", "{stdout}");
    let warnings = doc["warnings"].as_array().cloned().unwrap_or_default();
    assert!(
        !warnings
            .iter()
            .any(|w| w.to_string().contains("domain name")),
        "{warnings:?}"
    );
    // What the machine resource is sent as dnsFqdn (ARM keeps it read-only, the fake drops it).
    assert!(doc["result"]["osFacts"]["domain"].is_null(), "{stdout}");
    assert!(machine(&o, "lab01").is_some());
}

#[test]
fn a_subscription_by_name_resolves_and_an_unknown_one_is_azcm0068() {
    let o = Onboarding::new().with_secret_env();
    let replace = |args: Vec<&str>, with: &str| -> Vec<String> {
        let id = o.fake.subscription_id.as_str();
        args.into_iter()
            .map(|a| {
                if a == id {
                    with.to_string()
                } else {
                    a.to_string()
                }
            })
            .collect()
    };
    // An id nobody has: ARM answers 404 SubscriptionNotFound.
    let wrong = replace(
        o.connect_args("sub-01"),
        "00000000-0000-0000-0000-0000000000aa",
    );
    let run = o
        .azcm
        .json(&wrong.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.error_code(), "AZCM0068", "{}", run.stdout);
    let error = &run.doc()["error"];
    assert!(
        error["remediation"]
            .as_str()
            .unwrap()
            .contains("--subscription-id"),
        "{error}"
    );
    assert_eq!(
        error["details"]["armErrorCode"], "SubscriptionNotFound",
        "{error}"
    );

    let unknown_name = replace(o.connect_args("sub-01"), "No Such Subscription");
    let run = o
        .azcm
        .json(&unknown_name.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.error_code(), "AZCM0068", "{}", run.stdout);

    let by_name = replace(o.connect_args("sub-01"), &o.fake.subscription_name);
    let run = o
        .azcm
        .json(&by_name.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.doc()["ok"], true, "{}", run.stdout);
    assert_eq!(
        run.doc()["result"]["subscriptionId"],
        json!(o.fake.subscription_id)
    );
}

/// Attack/accident: two admins (or two scheduled scripts) connect the same machine at once
/// with different names. Without one lock around connect, both succeeded and left two ARM
/// resources, one orphaned, and sometimes a key on disk that matched neither. 8 racers per
/// round, 25 rounds (200 connects): one resource in ARM at most, the key on disk matches it,
/// every loser fails with an AZCM code.
#[test]
fn concurrent_connects_leave_one_resource_whose_key_is_on_disk() {
    let o = Onboarding::new().with_secret_env();
    for round in 0..25 {
        let names: Vec<String> = (0..8).map(|i| format!("racer-{round}-{i}")).collect();
        let runs: Vec<Run> = std::thread::scope(|scope| {
            let handles: Vec<_> = names
                .iter()
                .map(|name| scope.spawn(|| o.azcm.json(&o.connect_args(name))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<&Run> = runs.iter().filter(|r| r.code == 0).collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: {} connects succeeded",
            winners.len()
        );
        for loser in runs.iter().filter(|r| r.code != 0) {
            let code = loser.error_code();
            assert!(
                code == "AZCM0067" || code == "AZCM0069",
                "round {round}: a loser got {code}: {}",
                loser.stdout
            );
        }
        let machines = o.fake.machines();
        assert_eq!(
            machines.len(),
            1,
            "round {round}: {} resources in ARM",
            machines.len()
        );
        let key = azcm::keys::load_private(&o.azcm.certs_dir().join("onboarding.key")).unwrap();
        assert_eq!(
            machines[0]["properties"]["clientPublicKey"],
            json!(azcm::keys::client_public_key(&key).unwrap()),
            "round {round}: the key on disk is not the resource's"
        );
        assert_eq!(
            agent_config(&o).unwrap()["ResourceName"],
            machines[0]["name"],
            "round {round}"
        );
        let run = json_run(&o, &o.disconnect_args());
        assert_eq!(run.code, 0, "{}", run.stdout);
    }
}

/// A second connect while one holds the machine waits for it; one that cannot wait that long
/// is told who holds the machine (AZCM0069, holderPid).
#[test]
fn a_held_change_lock_names_its_holder() {
    let o = Onboarding::new().with_secret_env();
    let lock_path = o.azcm.config_dir().join(".azcm.change.lock");
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let held = azcm::state::StateLock::acquire(&lock_path, Duration::from_secs(1)).unwrap();
    let started = Instant::now();
    let run = json_run(&o, &o.connect_args("waits"));
    let waited = started.elapsed();
    drop(held);
    assert_eq!(run.error_code(), "AZCM0069", "{}", run.stdout);
    let doc = run.doc();
    assert_eq!(
        doc["error"]["details"]["holderPid"],
        json!(std::process::id())
    );
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("another azcm is changing this machine"));
    assert!(
        waited >= Duration::from_secs(29) && waited < Duration::from_secs(45),
        "{waited:?}"
    );
    assert!(o.fake.machines().is_empty());
}

/// A person typing a secret at a terminal (`-p -` with a terminal on stdin) is asked for it on
/// stderr and does not see it echoed, as with Get-Credential or `read -s`; the terminal's echo
/// comes back afterwards. Run in a pseudo-terminal (util-linux `script`).
#[cfg(target_os = "linux")]
#[test]
fn a_secret_typed_at_a_terminal_is_prompted_for_and_not_echoed() {
    if common::windows_binary() {
        return;
    }
    let o = Onboarding::new();
    let mut args: Vec<String> = o
        .connect_args("typed-secret")
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.extend(["--service-principal-secret".into(), "-".into()]);
    let line = std::iter::once(common::binary().display().to_string())
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    // After the command, `stty -a` shows whether echo came back on.
    let line = format!("{line}; stty -a");
    let mut script = o.azcm.in_pseudo_terminal(&line);
    script.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = script.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let secret = o.fake.client_secret.clone();
    let typist = std::thread::spawn(move || {
        // Typed once the prompt is up (the terminal echoes what arrives before).
        std::thread::sleep(Duration::from_millis(1500));
        let _ = writeln!(stdin, "{secret}");
        std::thread::sleep(Duration::from_secs(20));
    });
    let out = child.wait_with_output().unwrap();
    drop(typist);
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("Enter the value of --service-principal-secret (it is not shown): "),
        "{screen}"
    );
    assert!(
        !screen.contains(&o.fake.client_secret),
        "the secret was echoed: {screen}"
    );
    assert!(machine(&o, "typed-secret").is_some(), "{screen}");
    assert!(
        screen.contains(" echo "),
        "echo is back on afterwards: {screen}"
    );
}

/// Waits until a connect is inside its machine PUT, held by a Delay fault: the fake logs a
/// request once answered, so the resource group look-up before it is what shows. (The Ctrl+C
/// test that uses it signals a Unix process.)
#[cfg(target_os = "linux")]
fn inside_the_held_put(o: &Onboarding) {
    let started = Instant::now();
    while !o
        .fake
        .requests()
        .iter()
        .any(|r| r.step == Step::ResourceGroup)
    {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never reached ARM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1000));
}

/// Ctrl+C is an answer: a connect waiting on ARM stops at once with AZCM0011 (exit 11), one
/// JSON document with --json, nothing written locally and nothing more sent; in a terminal
/// (a real Ctrl+C through a pseudo-terminal) it prints the cancellation.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_c_cancels_with_azcm0011() {
    if common::windows_binary() {
        return;
    }
    let o = Onboarding::new().with_secret_env();
    // --json, SIGINT sent to the process as a terminal would.
    o.fake.add_fault(Fault {
        step: Step::MachinePut,
        kind: FaultKind::Delay { ms: 20_000 },
        times: 1,
    });
    let mut args = vec!["--json".to_string()];
    args.extend(o.connect_args("interrupted").iter().map(|a| a.to_string()));
    let child = o
        .azcm
        .command(&args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    inside_the_held_put(&o);
    // SAFETY: signals the azcm child this test started.
    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let signalled = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "{:?}",
        signalled.elapsed()
    );
    assert_eq!(out.status.code(), Some(11));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["code"], "AZCM0011", "{doc:#}");
    assert!(agent_config(&o).is_none(), "nothing written locally");
    o.fake.clear_faults();

    // Human, in a pseudo-terminal: Ctrl+C typed as a person would.
    o.fake.add_fault(Fault {
        step: Step::MachinePut,
        kind: FaultKind::Delay { ms: 20_000 },
        times: 1,
    });
    let line = std::iter::once(common::binary().display().to_string())
        .chain(
            o.connect_args("typed-ctrl-c")
                .iter()
                .map(|a| format!("'{a}'")),
        )
        .collect::<Vec<_>>()
        .join(" ");
    let line = format!("{line}; echo exit=$?");
    let mut script = o.azcm.in_pseudo_terminal(&line);
    script.stdin(Stdio::piped()).stdout(Stdio::piped());
    o.fake.clear_requests();
    let mut child = script.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    inside_the_held_put(&o);
    stdin.write_all(b"\x03").unwrap();
    stdin.flush().unwrap();
    let typed = Instant::now();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(typed.elapsed() < Duration::from_secs(5), "{screen}");
    // (In colour: a terminal.)
    assert!(screen.contains("Error (AZCM0011):"), "{screen}");
    assert!(screen.contains("cancelled with Ctrl+C"), "{screen}");
    assert!(screen.contains("exit=11"), "{screen}");
}

/// AZCM_CLOUD names the cloud `connect` uses without --cloud, as the fake cloud's --print-env
/// sets it: examples copied without --cloud talk to the fake, never to Azure. --cloud wins.
#[test]
fn azcm_cloud_is_the_default_cloud_of_connect() {
    let o = Onboarding::new().with_secret_env();
    let mut args = o.connect_args("default-cloud");
    let at = args.iter().position(|a| *a == "--cloud").unwrap();
    args.drain(at..at + 2);
    let run = o
        .azcm
        .clone_with_env("AZCM_CLOUD", azcm_fakecloud::CLOUD_NAME)
        .json(&args);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        agent_config(&o).unwrap()["Cloud"],
        azcm_fakecloud::CLOUD_NAME
    );
    json_run(&o, &["disconnect", "--force-local-only"]);
    // check too: no --cloud and no connected machine, the variable's cloud is checked.
    let run = o
        .azcm
        .clone_with_env("AZCM_CLOUD", azcm_fakecloud::CLOUD_NAME)
        .json(&["check", "--location", &o.fake.location]);
    assert_eq!(
        run.doc()["result"]["cloud"],
        azcm_fakecloud::CLOUD_NAME,
        "{}",
        run.stdout
    );
    // --cloud beats the variable.
    let run = o
        .azcm
        .clone_with_env("AZCM_CLOUD", "NoSuchCloud")
        .json(&o.connect_args("cloud-flag-wins"));
    assert_eq!(run.code, 0, "{}", run.stdout);
}

/// What a person reads after connect and a local-only disconnect: the portal link opens in
/// the machine's tenant; --force-local-only warns that the Azure resource stays, naming it;
/// changes are sentences, not internal keys.
#[test]
fn human_views_speak_the_admins_language() {
    let o = Onboarding::new().with_secret_env();
    let run = o.azcm.run(o.connect_args("words-01"));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("/#@{}/resource/subscriptions/", o.fake.tenant_id)),
        "{}",
        run.stdout
    );
    json_run(&o, &["disconnect", "--force-local-only"]);
    let mut what_if = o.connect_args("words-02");
    what_if.push("--what-if");
    let run = o.azcm.run(&what_if);
    assert!(
        run.stdout
            .contains("What if: Create machine words-02 in resource group"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("createMachine"), "{}", run.stdout);
    let run = o.azcm.run(o.connect_args("words-03"));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let run = o.azcm.run(["disconnect", "--force-local-only"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "WARNING: --force-local-only resets this machine only: the Azure resource /subscriptions/"
        ) && run.stdout.contains("machines/words-03 still exists"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("done: Reset the local agent state"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("resetLocalState"), "{}", run.stdout);
}

/// In a terminal (a pseudo-terminal here), connect shows the step that runs and a bar on
/// stderr, says when and for how long it waits on a 429, and ends with one line that says what
/// happened; NO_COLOR gives one plain line per step; --json shows none of it.
#[cfg(target_os = "linux")]
#[test]
fn a_terminal_sees_progress_throttling_and_the_outcome() {
    if common::windows_binary() {
        return;
    }
    let o = Onboarding::new().with_secret_env();
    let on_tty = |name: &str, extra_env: &[(&str, &str)], json: bool| {
        o.fake.add_fault(Fault {
            step: Step::MachinePut,
            kind: FaultKind::Throttle {
                retry_after_secs: 2,
                http_date: false,
            },
            times: 1,
        });
        let mut words: Vec<String> = vec![common::binary().display().to_string()];
        if json {
            words.push("--json".into());
        }
        words.extend(o.connect_args(name).iter().map(|a| format!("'{a}'")));
        let mut script = o.azcm.in_pseudo_terminal(&words.join(" "));
        for (k, v) in extra_env {
            script.env(k, v);
        }
        let out = script.stdin(Stdio::null()).output().unwrap();
        json_run(&o, &["disconnect", "--force-local-only"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let screen = on_tty("progress-bar", &[], false);
    assert!(
        screen.contains("Connect [") && screen.contains("%  creating the machine resource"),
        "{screen}"
    );
    assert!(
        screen.contains("\x1b[2K"),
        "the line is redrawn in place: {screen}"
    );
    assert!(
        screen.contains(
            "machine creation: ARM is throttling requests (HTTP 429) — trying again in 2.0 s"
        ),
        "{screen}"
    );
    assert!(screen.contains("Connect: done in "), "{screen}");
    let plain = on_tty("progress-plain", &[("NO_COLOR", "1")], false);
    assert!(!plain.contains('\x1b'), "NO_COLOR keeps it plain: {plain}");
    assert!(
        plain.contains("Connect [") && plain.contains("Connect: done in "),
        "{plain}"
    );
    let json = on_tty("progress-json", &[], true);
    assert!(
        !json.contains("Connect [") && !json.contains("Connect: done"),
        "{json}"
    );
}
