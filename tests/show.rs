//! `show` against the fake cloud and its HIMDS: disconnected, connected, expired, HIMDS down,
//! property filters, --os, --arm (agreeing, a cloned image, a deleted resource), proxy and
//! gateway settings, and without admin rights.

mod common;
use common::{Onboarding, Run};
use serde_json::{json, Value};

fn connect(o: &Onboarding, name: &str) {
    let run = o.azcm.json(&o.connect_args(name));
    assert_eq!(run.code, 0, "{}", run.stdout);
}

fn show(o: &Onboarding, args: &[&str]) -> (Run, Value) {
    let mut full = vec!["show"];
    full.extend_from_slice(args);
    let run = o.azcm.json(&full);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let result = run.doc()["result"].clone();
    (run, result)
}

fn agent_config(o: &Onboarding) -> Value {
    serde_json::from_slice(&std::fs::read(o.azcm.config_dir().join("agentconfig.json")).unwrap())
        .unwrap()
}

#[test]
fn a_disconnected_machine_shows_empty_resource_fields() {
    let o = Onboarding::new();
    let (_, r) = show(&o, &[]);
    assert_eq!(r["status"], "Disconnected");
    for key in [
        "resourceName",
        "resourceId",
        "subscriptionId",
        "tenantId",
        "vmId",
        "location",
        "portalPage",
        "lastHeartbeat",
        "resourceNamespace",
    ] {
        assert_eq!(r[key], "", "{key}: {r:#}");
    }
    assert_eq!(
        r["agentVersion"], "1.50.02893.2181",
        "the installed agent's version, from HIMDS"
    );
    assert_eq!(r["dependentServices"].as_object().unwrap().len(), 4);
    // The log azcmagent's own `show` names (issue 21).
    assert!(r["agentLogfile"].as_str().unwrap().ends_with("himds.log"));
    assert_eq!(r["azureVm"]["detected"], false);
    let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
    assert_eq!(keys[0], "resourceName");
    assert_eq!(keys.len(), 34, "every azcmagent property: {keys:?}");

    let human = o.azcm.run(["show"]);
    assert_eq!(human.code, 0);
    // Labels are aligned to the longest; azcmagent's labels (MSSQL/PGSQL Server Detected).
    assert!(
        human
            .stdout
            .lines()
            .any(|l| l.starts_with("Agent Status ") && l.ends_with(": Disconnected")),
        "{}",
        human.stdout
    );
    for label in [
        "MSSQL Server Detected",
        "PGSQL Server Detected",
        "MySQL Server Detected",
    ] {
        assert!(human.stdout.contains(label), "{label}: {}", human.stdout);
    }
    assert!(
        !human.stdout.contains("[]"),
        "no JSON syntax: {}",
        human.stdout
    );
    assert!(
        human.stdout.contains("Dependent Service Status"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_connected_machine_shows_its_resource_and_the_agent_status() {
    let o = Onboarding::new().with_secret_env();
    connect(&o, "show-01");
    let config = agent_config(&o);
    let (_, r) = show(&o, &[]);
    assert_eq!(r["resourceName"], "show-01");
    assert_eq!(r["resourceNamespace"], "Microsoft.HybridCompute");
    assert_eq!(r["resourceId"], config["ResourceId"]);
    assert_eq!(r["vmId"], config["VmId"]);
    assert_eq!(r["tenantId"], o.fake.tenant_id.as_str());
    assert_eq!(r["correlationId"], config["CorrelationId"]);
    assert_eq!(r["location"], "westeurope");
    assert_eq!(r["cloud"], azcm_fakecloud::CLOUD_NAME);
    assert_eq!(r["status"], "Connected");
    assert!(r["lastHeartbeat"].as_str().unwrap().ends_with('Z'));
    assert!(r["portalPage"]
        .as_str()
        .unwrap()
        .ends_with(config["ResourceId"].as_str().unwrap()));
    assert_eq!(r["errorCode"], "");

    // The agent's certificate expired (45 days offline): HIMDS says so, with the error.
    o.fake.update_settings(|s| {
        s.himds_status = "Expired".into();
        s.himds_error_code = "AZCM0151".into();
        s.himds_error_details = "the agent's managed identity certificate expired".into();
    });
    let (_, r) = show(&o, &[]);
    assert_eq!(r["status"], "Expired");
    assert_eq!(r["errorCode"], "AZCM0151");
    assert!(!r["errorTimestamp"].as_str().unwrap().is_empty());
}

#[test]
fn himds_not_answering_leaves_the_status_unknown_and_says_why() {
    let o = Onboarding::new().with_secret_env();
    connect(&o, "show-02");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let azcm = o
        .azcm
        .clone_with_env("AZCM_HIMDS_ENDPOINT", &format!("http://127.0.0.1:{closed}"));
    let run = azcm.json(&["show"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let doc = run.doc();
    assert_eq!(doc["result"]["status"], "", "never invented");
    assert_eq!(doc["result"]["agentVersion"], "");
    assert_eq!(
        doc["result"]["resourceName"], "show-02",
        "agentconfig.json still answers"
    );
    let warnings = doc["warnings"].to_string();
    assert!(
        warnings.contains("HIMDS") && warnings.contains("himds"),
        "{warnings}"
    );
}

#[test]
fn properties_can_be_picked_by_display_name_or_json_key() {
    let o = Onboarding::new();
    let (_, r) = show(
        &o,
        &[
            "Agent Status",
            "lastheartbeat",
            "RESOURCEID",
            "agentversion",
        ],
    );
    let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["status", "lastHeartbeat", "resourceId", "agentVersion"]
    );
    let run = o.azcm.json(&["show", "Agent Colour"]);
    assert_eq!(run.error_code(), "AZCM0023");
    let doc = run.doc();
    assert!(doc["error"]["details"]["validProperties"]
        .as_array()
        .unwrap()
        .contains(&json!("lastHeartbeat")));
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Agent Last Heartbeat (lastHeartbeat)"));
    let human = o.azcm.run(["show", "Agent Status"]);
    assert_eq!(human.stdout.trim(), "Agent Status : Disconnected");
}

#[test]
fn os_details_come_with_os() {
    let o = Onboarding::new();
    let (_, r) = show(&o, &["--os"]);
    assert_eq!(
        r["osType"],
        if common::windows_binary() {
            "windows"
        } else {
            "linux"
        }
    );
    assert!(r.get("osSku").is_some() && r.get("fqdn").is_some());
    let (_, plain) = show(&o, &[]);
    assert!(plain.get("osType").is_none());
}

#[test]
fn proxy_gateway_and_disabled_features_come_from_the_local_config() {
    let o = Onboarding::new();
    for args in [
        [
            "config",
            "set",
            "proxy.url",
            "http://proxy.contoso.corp:3128",
        ],
        ["config", "set", "proxy.bypass", "AAD"],
        ["config", "set", "extensions.enabled", "false"],
    ] {
        assert_eq!(o.azcm.run(args).code, 0);
    }
    let (_, r) = show(&o, &[]);
    assert_eq!(r["httpsProxy"], "http://proxy.contoso.corp:3128");
    assert_eq!(r["proxyBypassList"], "AAD");
    assert_eq!(r["upstreamProxy"], "");
    assert_eq!(r["disabledFeatures"], json!(["extensions"]));
    assert_eq!(
        o.azcm
            .run(["config", "set", "connection.type", "gateway"])
            .code,
        0
    );
    let (_, r) = show(&o, &[]);
    assert_eq!(
        r["httpsProxy"], "http://localhost:40343",
        "the agent's arcproxy"
    );
    assert_eq!(r["upstreamProxy"], "http://proxy.contoso.corp:3128");
}

#[test]
fn arm_shows_the_clouds_view_and_where_it_disagrees() {
    let o = Onboarding::new().with_secret_env();
    let auth = [
        "--service-principal-id",
        &o.fake.client_id,
        "--tenant-id",
        &o.fake.tenant_id,
    ];
    // Not connected: nothing to read.
    let mut args = vec!["show", "--arm"];
    args.extend_from_slice(&auth);
    assert_eq!(o.azcm.json(&args).error_code(), "AZCM0023");
    // Sign-in flags only with --arm.
    assert_eq!(
        o.azcm
            .json(&["show", "--tenant-id", &o.fake.tenant_id])
            .error_code(),
        "AZCM0023"
    );

    let mut tagged = o.connect_args("show-03");
    tagged.extend(["--tags", "Owner='Ops \"Blue\" Team',Path=C:\\Temp\\"]);
    assert_eq!(o.azcm.json(&tagged).code, 0);
    let mut args = vec!["--arm"];
    args.extend_from_slice(&auth);
    let (_, r) = show(&o, &args);
    let arm = &r["arm"];
    assert_eq!(arm["exists"], true);
    assert_eq!(
        arm["tags"],
        json!({"Owner": "Ops \"Blue\" Team", "Path": "C:\\Temp\\"}),
        "{arm:#}"
    );

    assert_eq!(arm["provisioningState"], "Succeeded");
    assert_eq!(arm["vmId"], r["vmId"]);
    assert_eq!(arm["disagreements"], json!([]), "{arm:#}");

    // A cloned image: this machine's vmId is not the resource's.
    let path = o.azcm.config_dir().join("agentconfig.json");
    let mut config = agent_config(&o);
    let original = config.clone();
    config["VmId"] = json!("00000000-1111-2222-3333-444444444444");
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    let (_, r) = show(&o, &args);
    let d = &r["arm"]["disagreements"][0];
    assert_eq!(d["field"], "vmId");
    assert!(d["message"].as_str().unwrap().contains("clone"), "{d}");
    let human = o.azcm.run({
        let mut a = vec!["show"];
        a.extend_from_slice(&args);
        a
    });
    assert!(human.stdout.contains("Differs: vmId"), "{}", human.stdout);

    // The resource deleted in Azure.
    let mut config = original;
    config["ResourceName"] = json!("show-03-gone");
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    let (_, r) = show(&o, &args);
    assert_eq!(r["arm"]["exists"], false);
    assert!(r["arm"]["disagreements"][0]["message"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
}

#[cfg(target_os = "linux")]
#[test]
fn show_works_without_admin_rights() {
    if common::windows_binary() {
        return;
    }
    let Some(run) = common::run_as_unprivileged(&["--json", "show"], None) else {
        return;
    };
    common::assert_contract(&run);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.doc()["result"]["status"], "Disconnected");
}
