//! `check` against the fake cloud: every endpoint stage by stage, through the fake DNS server,
//! proxies and the gateway, with each way an endpoint can fail named at its stage.

mod common;
use azcm_fakecloud::check::{DnsRecord, Misbehaviour, ProxyAuth};
use common::{native_path, Azcm, Onboarding, Run};
use serde_json::{json, Value};

const CLOUD: &str = azcm_fakecloud::CLOUD_NAME;

/// The fake's catalogue on `*.azcmfake.test` names (resolved by the fake DNS server), with
/// `change` applied to the cloud definition; returns azcm wired to it.
fn lab_with(o: &Onboarding, change: impl FnOnce(&mut Value)) -> Azcm {
    let port = o.fake.base_url.rsplit(':').next().unwrap().to_string();
    let def = o
        .fake
        .cloud_definition_on(&format!("https://{{}}.azcmfake.test:{port}"));
    write_cloud(o, def, change)
}

/// The fake's own catalogue (on localhost, the system resolver's) with `change` applied.
fn cloud_with(o: &Onboarding, change: impl FnOnce(&mut Value)) -> Azcm {
    write_cloud(o, o.fake.cloud_definition(), change)
}

fn write_cloud(o: &Onboarding, mut def: Value, change: impl FnOnce(&mut Value)) -> Azcm {
    change(&mut def["clouds"][0]);
    let path = o.azcm.root().join(format!("lab-{}.json", rand_suffix()));
    std::fs::write(&path, serde_json::to_vec_pretty(&def).unwrap()).unwrap();
    o.azcm
        .clone_with_env("AZCM_CLOUD_FILE", &native_path(&path))
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn endpoint<'a>(cloud: &'a mut Value, id: &str) -> &'a mut Value {
    cloud["endpoints"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no endpoint {id}"))
}

fn check_args<'a>(dns: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "check",
        "--location",
        "westeurope",
        "--cloud",
        CLOUD,
        "--dns-server",
        dns,
    ];
    args.extend_from_slice(extra);
    args
}

/// The report: `result` on success, `error.details.check` on AZCM0026.
fn report(run: &Run) -> Value {
    let doc = run.doc();
    if doc["ok"] == true {
        doc["result"].clone()
    } else {
        assert_eq!(doc["error"]["code"], "AZCM0026", "{}", run.stdout);
        doc["error"]["details"]["check"].clone()
    }
}

fn result_for<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no result for {id} in {report:#}"))
}

/// Exactly one endpoint failed, at `stage` with `kind`; every other one is fine.
fn only_failure(run: &Run, id: &str, stage: &str, kind: &str) -> Value {
    assert_eq!(run.code, 26, "{}\n{}", run.stdout, run.stderr);
    let report = report(run);
    for e in report["endpoints"].as_array().unwrap() {
        if e["id"] == id {
            assert_eq!(e["ok"], false, "{e:#}");
            assert_eq!(e["failure"]["stage"], stage, "{e:#}");
            assert_eq!(e["failure"]["kind"], kind, "{e:#}");
            assert!(!e["failure"]["remediation"].as_str().unwrap().is_empty());
        } else {
            assert_eq!(e["ok"], true, "{e:#}");
        }
    }
    assert!(run.doc()["error"]["message"]
        .as_str()
        .unwrap()
        .contains(id_url(&report, id)));
    result_for(&report, id).clone()
}

fn id_url<'a>(report: &'a Value, id: &str) -> &'a str {
    result_for(report, id)["url"].as_str().unwrap()
}

#[test]
fn every_endpoint_is_checked_stage_by_stage() {
    let o = Onboarding::new();
    let run = o
        .azcm
        .json(&["check", "--location", "West Europe", "--cloud", CLOUD]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = report(&run);
    assert_eq!(r["location"], "westeurope");
    let endpoints = r["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 8);
    for e in endpoints {
        assert_eq!(e["reachable"], true, "{e:#}");
        assert_eq!(e["route"], "direct");
        let stages = &e["stages"];
        assert_eq!(stages["dns"]["server"], "system");
        assert_eq!(stages["dns"]["addresses"][0]["private"], false);
        assert!(stages["tcp"]["address"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"));
        assert!(stages["tls"]["version"]
            .as_str()
            .unwrap()
            .starts_with("TLS 1."));
        assert!(!stages["tls"]["cipherSuite"].as_str().unwrap().is_empty());
        assert_eq!(stages["http"]["status"], 200);
        assert!(stages["http"]["date"].as_str().unwrap().ends_with("GMT"));
    }
    let s = &r["summary"];
    assert_eq!(
        (s["requiredReachable"].as_u64(), s["requiredTotal"].as_u64()),
        (Some(8), Some(8))
    );
    assert_eq!(s["hisRegion"]["code"], "weu");
    assert_eq!(s["hisRegion"]["source"], "discovery");
    assert!(
        s["clockSkew"]["seconds"].as_i64().unwrap().abs() <= 2,
        "{s:#}"
    );
    assert_eq!(s["clockSkew"]["ok"], true);
    assert_eq!(s["azureVm"]["detected"], false);
    assert_eq!(s["skipped"][0]["id"], "sqlTelemetry");
    assert!(result_for(&r, "hisRegional")["url"]
        .as_str()
        .unwrap()
        .ends_with("/his/weu"));

    // --include-all and --extensions sql add the SQL endpoint.
    for flag in [&["--include-all"][..], &["--extensions", "SQL"][..]] {
        let mut args = vec!["check", "-l", "westeurope", "-c", CLOUD];
        args.extend_from_slice(flag);
        let r = report(&o.azcm.json(&args));
        assert_eq!(r["endpoints"].as_array().unwrap().len(), 9, "{flag:?}");
        assert!(r["summary"]["skipped"].as_array().unwrap().is_empty());
    }

    // The human view: the table, the summary line, no failure lines.
    let human = o.azcm.run(["check", "-l", "westeurope", "-c", CLOUD]);
    assert_eq!(human.code, 0, "{}", human.stdout);
    let first = human
        .stdout
        .lines()
        .find(|l| l.starts_with("Use Case"))
        .expect("the table header");
    for column in [
        "Use Case",
        "Endpoint",
        "Reachable",
        "Private",
        "Proxy",
        "TLS",
        "ms",
    ] {
        assert!(first.contains(column), "{first}");
    }
    assert!(
        human.stdout.contains("8 of 8 required endpoints reachable"),
        "{}",
        human.stdout
    );
    assert!(!human.stdout.contains("FAIL"));
}

#[test]
fn names_resolve_through_the_given_dns_server() {
    let o = Onboarding::new();
    let lab = lab_with(&o, |_| {});
    let dns = o.fake.dns_server.to_string();
    let run = lab.json(&check_args(&dns, &[]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = report(&run);
    for e in r["endpoints"].as_array().unwrap() {
        assert_eq!(e["stages"]["dns"]["server"], dns.as_str());
        let host = url::Url::parse(e["url"].as_str().unwrap())
            .unwrap()
            .host_str()
            .unwrap()
            .to_string();
        assert!(o.fake.dns_log().contains(&host), "{host} never asked");
    }
    assert_eq!(r["summary"]["dnsServer"], dns.as_str());
    assert!(result_for(&r, "hisRegional")["url"]
        .as_str()
        .unwrap()
        .contains("weu-his.azcmfake.test"));
}

#[test]
fn a_name_that_does_not_resolve_fails_at_dns() {
    let o = Onboarding::new();
    let lab = lab_with(&o, |_| {});
    o.fake.set_dns(
        "gns.azcmfake.test",
        DnsRecord {
            nxdomain: true,
            ..Default::default()
        },
    );
    let dns = o.fake.dns_server.to_string();
    let run = lab.json(&check_args(&dns, &[]));
    let e = only_failure(&run, "guestNotification", "dns", "dnsFailure");
    assert!(
        e["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("NXDOMAIN"),
        "{e:#}"
    );
    assert!(
        e["stages"].get("tcp").is_none(),
        "no TCP without an address: {e:#}"
    );

    // A server that never answers is a DNS timeout, bounded by --timeout.
    o.fake.set_dns(
        "gns.azcmfake.test",
        DnsRecord {
            drop: true,
            ..Default::default()
        },
    );
    let run = lab.json(&check_args(&dns, &["--timeout", "2"]));
    let e = only_failure(&run, "guestNotification", "dns", "dnsFailure");
    assert!(
        e["stages"]["dns"]["error"]
            .as_str()
            .unwrap()
            .contains("in time"),
        "{e:#}"
    );

    // Human output names the stage and the remedy.
    let human = lab.run(check_args(&dns, &["--timeout", "2"]));
    assert_eq!(human.code, 26);
    assert!(
        human.stdout.contains("FAIL https://gns.azcmfake.test"),
        "{}",
        human.stdout
    );
    assert!(human.stdout.contains("— dns:"), "{}", human.stdout);
    assert!(human.stdout.contains("Fix:"), "{}", human.stdout);
    assert!(
        human.stdout.contains("Error (AZCM0026)"),
        "{}",
        human.stdout
    );
}

#[test]
fn refused_connections_fail_at_tcp() {
    let o = Onboarding::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let lab = lab_with(&o, |c| {
        endpoint(c, "guestConfiguration")["url"] = json!(format!(
            "https://agentserviceapi-gc.azcmfake.test:{closed}/"
        ));
    });
    let run = lab.json(&check_args(&o.fake.dns_server.to_string(), &[]));
    let e = only_failure(&run, "guestConfiguration", "tcp", "tcpFailure");
    assert_eq!(e["stages"]["tcp"]["address"], format!("127.0.0.1:{closed}"));
    assert_eq!(e["reachable"], false);
}

fn misbehaving(o: &Onboarding, kind: Misbehaviour, host: &str, extra: &[&str]) -> Value {
    let port = o.fake.start_misbehaving(kind).unwrap();
    let url = format!("https://{host}:{port}/");
    let lab = lab_with(o, |c| endpoint(c, "guestNotification")["url"] = json!(url));
    let run = lab.json(&check_args(&o.fake.dns_server.to_string(), extra));
    assert_eq!(run.code, 26, "{}", run.stdout);
    result_for(&report(&run), "guestNotification").clone()
}

#[test]
fn tls_failures_are_named() {
    let o = Onboarding::new();
    let e = misbehaving(&o, Misbehaviour::UntrustedCa, "gns.azcmfake.test", &[]);
    assert_eq!(e["failure"]["kind"], "untrustedRoot", "{e:#}");
    assert!(e["failure"]["message"]
        .as_str()
        .unwrap()
        .contains("does not trust"));
    assert!(e["stages"]["tcp"]["ok"] == true && e["stages"]["tls"]["ok"] == false);

    let e = misbehaving(
        &o,
        Misbehaviour::ExpiredCertificate,
        "gns.azcmfake.test",
        &[],
    );
    assert_eq!(e["failure"]["kind"], "certificateExpired", "{e:#}");

    let e = misbehaving(&o, Misbehaviour::Tls11Only, "gns.azcmfake.test", &[]);
    assert_eq!(e["failure"]["kind"], "tlsVersion", "{e:#}");
    assert!(
        e["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("TLS 1.2"),
        "{e:#}"
    );

    let e = misbehaving(
        &o,
        Misbehaviour::Blackhole,
        "gns.azcmfake.test",
        &["--timeout", "1"],
    );
    assert_eq!(e["failure"]["kind"], "tlsTimeout", "{e:#}");
    assert_eq!(e["stages"]["tcp"]["ok"], true);

    // The fake's own certificate, presented for a name it does not cover.
    o.fake.set_dns(
        "gns.contoso-inspect.test",
        DnsRecord {
            addresses: vec!["127.0.0.1".parse().unwrap()],
            ..Default::default()
        },
    );
    let port = o.fake.base_url.rsplit(':').next().unwrap().to_string();
    let lab = lab_with(&o, |c| {
        endpoint(c, "guestNotification")["url"] =
            json!(format!("https://gns.contoso-inspect.test:{port}/"))
    });
    let run = lab.json(&check_args(&o.fake.dns_server.to_string(), &[]));
    only_failure(&run, "guestNotification", "tls", "hostnameMismatch");
}

#[test]
fn any_http_answer_means_reachable() {
    let o = Onboarding::new();
    let lab = lab_with(&o, |c| {
        let e = endpoint(c, "guestNotification");
        let url = e["url"]
            .as_str()
            .unwrap()
            .replace("/arc/guestnotification", "/_status/503");
        e["url"] = json!(url);
    });
    let run = lab.json(&check_args(&o.fake.dns_server.to_string(), &[]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let e = result_for(&report(&run), "guestNotification").clone();
    assert_eq!(e["stages"]["http"]["status"], 503);
    assert_eq!(e["ok"], true);
}

#[test]
fn private_link_rule_names_its_evidence() {
    let o = Onboarding::new();
    let lab = lab_with(&o, |_| {});
    let dns = o.fake.dns_server.to_string();
    // -p with public (loopback) answers: every private-link-capable endpoint breaks the rule.
    let run = lab.json(&check_args(&dns, &["--enable-pls-check"]));
    assert_eq!(run.code, 26);
    let r = report(&run);
    assert_eq!(r["summary"]["privateLinkCheck"], true);
    for e in r["endpoints"].as_array().unwrap() {
        if e["privateLinkCapable"] == true {
            assert_eq!(e["failure"]["kind"], "privateLinkMismatch", "{e:#}");
            assert_eq!(e["reachable"], true, "still probed: {e:#}");
            assert!(
                e["failure"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("127.0.0.1 (public)"),
                "{e:#}"
            );
        } else {
            assert_eq!(e["ok"], true, "{e:#}");
        }
    }
    assert!(r["summary"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == "extensionDownload"));

    // Private answers (through a proxy: nothing leaves loopback) satisfy -p ...
    let proxy = o.fake.start_proxy(None).unwrap();
    assert_eq!(lab.run(["config", "set", "proxy.url", &proxy]).code, 0);
    let private: std::net::IpAddr = "10.1.2.3".parse().unwrap();
    for host in [
        "gbl-his.azcmfake.test",
        "weu-his.azcmfake.test",
        "agentserviceapi-gc.azcmfake.test",
        "westeurope-gas-gc.azcmfake.test",
    ] {
        o.fake.set_dns(
            host,
            DnsRecord {
                addresses: vec![private],
                cname: Some(format!("privatelink.{host}")),
                ..Default::default()
            },
        );
    }
    let run = lab.json(&check_args(&dns, &["-p"]));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = report(&run);
    let gc = result_for(&r, "guestConfiguration");
    assert_eq!(
        gc["stages"]["dns"]["addresses"][0],
        json!({"address": "10.1.2.3", "private": true})
    );
    assert_eq!(
        gc["stages"]["dns"]["aliases"][0],
        "privatelink.agentserviceapi-gc.azcmfake.test"
    );
    assert_eq!(gc["stages"]["privateLink"]["ok"], true);
    assert_eq!(gc["route"], "proxy");

    // ... and without a private link scope they are the evidence azcmagent never names.
    let run = lab.json(&check_args(&dns, &[]));
    assert_eq!(run.code, 26);
    let gc = result_for(&report(&run), "guestConfiguration").clone();
    assert_eq!(
        gc["failure"]["message"],
        "agentserviceapi-gc.azcmfake.test resolves to 10.1.2.3 (private) but no private link scope is configured"
    );
    let human = lab.run(check_args(&dns, &[]));
    assert!(human
        .stdout
        .contains("resolves to 10.1.2.3 (private) but no private link scope is configured"));
}

#[test]
fn the_proxy_carries_what_is_not_bypassed() {
    let o = Onboarding::new();
    let proxy = o.fake.start_proxy(None).unwrap();
    assert_eq!(o.azcm.run(["config", "set", "proxy.url", &proxy]).code, 0);
    let run = o.azcm.json(&["check", "-l", "westeurope", "-c", CLOUD]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = report(&run);
    assert_eq!(r["summary"]["proxy"], proxy.as_str());
    for e in r["endpoints"].as_array().unwrap() {
        assert_eq!(e["route"], "proxy", "{e:#}");
        assert_eq!(e["stages"]["proxy"]["status"], 200);
        assert_eq!(
            e["stages"]["tcp"]["address"],
            proxy.trim_start_matches("http://")
        );
    }
    let seen = o.fake.proxy_log().len();
    assert!(seen >= 8, "{seen}");

    // Bypassing Arc: the Arc endpoints go direct, Entra ID and ARM still through the proxy.
    assert_eq!(o.azcm.run(["config", "set", "proxy.bypass", "Arc"]).code, 0);
    let r = report(&o.azcm.json(&["check", "-l", "westeurope", "-c", CLOUD]));
    for e in r["endpoints"].as_array().unwrap() {
        let expected = if e["category"] == "Arc" {
            "direct"
        } else {
            "proxy"
        };
        assert_eq!(e["route"], expected, "{e:#}");
        assert_eq!(e["ok"], true);
    }
    assert_eq!(r["summary"]["proxyBypass"], json!(["Arc"]));
}

#[test]
fn a_proxy_demanding_authentication_is_reported_as_such() {
    let o = Onboarding::new();
    let proxy = o
        .fake
        .start_proxy(Some(ProxyAuth {
            user: "arc".into(),
            password: "Secr3t!".into(),
        }))
        .unwrap();
    assert_eq!(o.azcm.run(["config", "set", "proxy.url", &proxy]).code, 0);
    let run = o.azcm.json(&["check", "-l", "westeurope", "-c", CLOUD]);
    assert_eq!(run.code, 26);
    for e in report(&run)["endpoints"].as_array().unwrap() {
        assert_eq!(e["failure"]["kind"], "proxyAuthentication", "{e:#}");
        assert_eq!(e["stages"]["proxy"]["status"], 407);
        assert!(e["failure"]["remediation"]
            .as_str()
            .unwrap()
            .contains("authentication"));
    }
}

#[test]
fn a_skewed_clock_is_a_non_blocking_finding() {
    let o = Onboarding::new();
    o.fake.update_settings(|s| s.clock_offset_secs = 600);
    let run = o.azcm.json(&["check", "-l", "westeurope", "-c", CLOUD]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let doc = run.doc();
    let skew = &doc["result"]["summary"]["clockSkew"];
    assert!(
        (598..=602).contains(&skew["seconds"].as_i64().unwrap()),
        "{skew}"
    );
    assert_eq!(skew["ok"], false);
    // (Under Wine another warning may come first: the certificate verifier's fallback.)
    let expected = format!("{} s behind", skew["seconds"]);
    let warnings = doc["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains(&expected)),
        "{warnings:?}"
    );
}

#[test]
fn the_regional_his_host_comes_from_discovery_else_the_table() {
    let o = Onboarding::new();
    // Discovery names another prefix than the table: the regional endpoints use it.
    o.fake
        .update_settings(|s| s.his_region_code = Some("weu2".into()));
    let r = report(&o.azcm.json(&["check", "-l", "westeurope", "-c", CLOUD]));
    assert_eq!(r["summary"]["hisRegion"]["code"], "weu2");
    assert_eq!(r["summary"]["hisRegion"]["source"], "discovery");
    assert!(result_for(&r, "hisRegional")["url"]
        .as_str()
        .unwrap()
        .ends_with("/his/weu2"));
    assert!(result_for(&r, "extensionDownload")["url"]
        .as_str()
        .unwrap()
        .ends_with("/storage/weu2"));
    assert_eq!(r["endpoints"].as_array().unwrap().len(), 8);

    // Discovery failing: the table, and the summary says so.
    let port = o.fake.base_url.rsplit(':').next().unwrap().to_string();
    let lab = lab_with(&o, |c| {
        c["hisDiscovery"] = json!(format!(
            "https://gbl-his.azcmfake.test:{port}/_status/500?location={{region}}"
        ))
    });
    let r = report(&lab.json(&check_args(&o.fake.dns_server.to_string(), &[])));
    assert_eq!(r["summary"]["hisRegion"]["source"], "table");
    assert_eq!(r["summary"]["hisRegion"]["code"], "weu");
    assert!(
        r["summary"]["hisRegion"]["detail"]
            .as_str()
            .unwrap()
            .contains("HTTP 500"),
        "{r:#}"
    );

    // Neither: the regional endpoints cannot even be named, and say why.
    let lab = lab_with(&o, |c| {
        c["hisDiscovery"] = json!(format!(
            "https://gbl-his.azcmfake.test:{port}/_status/404?location={{region}}"
        ));
        c["hisRegions"] = json!({});
    });
    let run = lab.json(&check_args(&o.fake.dns_server.to_string(), &[]));
    assert_eq!(run.code, 26);
    let e = result_for(&report(&run), "hisRegional").clone();
    assert_eq!(e["failure"]["kind"], "unknownEndpoint", "{e:#}");
}

#[test]
fn bad_input_is_refused_before_any_probe() {
    let o = Onboarding::new();
    o.without_requests("nothing was probed", || {
        let run = o.azcm.json(&["check", "-l", "westeurop", "-c", CLOUD]);
        assert_eq!(run.error_code(), "AZCM0020");
        assert!(run.doc()["error"]["details"]["suggestions"]
            .as_array()
            .unwrap()
            .contains(&json!("westeurope")));
        assert_eq!(
            o.azcm.json(&["check", "-c", CLOUD]).error_code(),
            "AZCM0016"
        );
        assert_eq!(o.azcm.json(&["check"]).error_code(), "AZCM0016");
        for bad in ["dns.contoso.com", "10.0.0.4:70000"] {
            assert_eq!(
                o.azcm
                    .json(&["check", "-l", "westeurope", "--dns-server", bad])
                    .error_code(),
                "AZCM0023",
                "{bad}"
            );
        }
        assert_eq!(
            o.azcm
                .json(&["check", "-l", "westeurope", "--timeout", "0"])
                .error_code(),
            "AZCM0023"
        );
        assert_eq!(
            o.azcm
                .json(&["check", "-l", "westeurope", "--extensions", "exchange"])
                .error_code(),
            "AZCM0023"
        );
    });
}

#[test]
fn progress_events_come_per_endpoint() {
    let o = Onboarding::new();
    let run = o
        .azcm
        .json(&["--log-stderr", "check", "-l", "westeurope", "-c", CLOUD]);
    assert_eq!(run.code, 0);
    let progress: Vec<Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["level"] == "progress")
        .collect();
    assert_eq!(progress.len(), 8, "{}", run.stderr);
    for event in &progress {
        common::validate_with("events.schema.json", event);
        assert_eq!(
            event["progress"]["activity"],
            "Checking network connectivity"
        );
    }
    assert_eq!(progress.last().unwrap()["progress"]["percent"], 100);
}

#[test]
fn an_azure_vm_is_reported() {
    let o = Onboarding::new();
    o.fake.update_settings(|s| s.azure_vm = true);
    let r = report(&o.azcm.json(&["check", "-l", "westeurope", "-c", CLOUD]));
    assert_eq!(r["summary"]["azureVm"]["detected"], true);
    assert!(r["summary"]["azureVm"]["evidence"][0]
        .as_str()
        .unwrap()
        .contains(&o.fake.imds_url));
}

#[test]
fn gateway_routed_endpoints_go_through_the_gateway() {
    let o = Onboarding::new().with_secret_env();
    let mut args = o.connect_args("gw-01");
    args.extend(["--gateway-id", &o.fake.gateway_id, "--ignore-network-check"]);
    let run = o.azcm.json(&args);
    assert_eq!(run.code, 0, "{}", run.stdout);
    // The connected cloud and region are the defaults.
    let run = o.azcm.json(&["check"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let r = report(&run);
    assert_eq!(r["cloud"], CLOUD);
    assert_eq!(r["summary"]["gateway"], o.fake.gateway_url.as_str());
    for e in r["endpoints"].as_array().unwrap() {
        let expected = if e["gatewayRouted"] == true {
            "gateway"
        } else {
            "direct"
        };
        assert_eq!(e["route"], expected, "{e:#}");
        assert_eq!(e["ok"], true, "{e:#}");
    }
    assert!(o.fake.proxy_log().len() >= 5, "{:?}", o.fake.proxy_log());
}

#[test]
fn connect_checks_the_network_first() {
    let o = Onboarding::new().with_secret_env();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let azcm = cloud_with(&o, |c| {
        endpoint(c, "guestNotification")["url"] = json!(format!("https://localhost:{closed}/"));
    });
    let args = o.connect_args("net-01");
    let run = azcm.json(&args);
    assert_eq!(run.error_code(), "AZCM0026", "{}", run.stdout);
    let doc = run.doc();
    let failed = result_for(&doc["error"]["details"]["check"], "guestNotification");
    assert_eq!(failed["failure"]["stage"], "tcp");
    assert!(doc["error"]["remediation"]
        .as_str()
        .unwrap()
        .contains("--ignore-network-check"));
    assert!(o.fake.machines().is_empty());
    assert_eq!(
        o.count(azcm_fakecloud::Step::Token),
        0,
        "nothing after the check"
    );
    let human = azcm.run(&args);
    assert!(
        human.stdout.contains("FAIL https://localhost:"),
        "{}",
        human.stdout
    );

    // --ignore-network-check: the same failure is a warning and onboarding goes on.
    let mut args = args.clone();
    args.push("--ignore-network-check");
    let run = azcm.json(&args);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let warnings = run.doc()["warnings"].to_string();
    assert!(
        warnings.contains(
            "--ignore-network-check: continuing although 1 of 8 required endpoints failed"
        ),
        "{warnings}"
    );
    assert_eq!(o.fake.machines().len(), 1);
}

#[test]
fn connect_with_a_private_link_scope_applies_the_rule() {
    let o = Onboarding::new().with_secret_env();
    let scope = format!("/subscriptions/{}/resourceGroups/net/providers/Microsoft.HybridCompute/privateLinkScopes/pls-01", o.fake.subscription_id);
    let mut args = o.connect_args("pls-01");
    args.extend(["--private-link-scope", &scope]);
    // localhost is not a private address: the private-link-capable endpoints break the rule.
    let run = o.azcm.json(&args);
    assert_eq!(run.error_code(), "AZCM0026", "{}", run.stdout);
    let check = &run.doc()["error"]["details"]["check"];
    assert_eq!(check["summary"]["privateLinkCheck"], true);
    assert_eq!(
        result_for(check, "guestConfiguration")["failure"]["kind"],
        "privateLinkMismatch"
    );
}
