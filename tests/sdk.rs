//! Microsoft's own clients against the fake cloud: tests/sdk/arm_sdk.py signs in with
//! azure-identity/MSAL and drives azure-mgmt-resource and azure-mgmt-hybridcompute (pinned in
//! tests/sdk/requirements.txt); every machine answer the SDK read is then checked against the
//! HybridCompute spec excerpt, and azcm reads a machine the SDK created.
//!
//! Needs a Python with those packages: `scripts/sdk-test.sh` makes the venv and runs this
//! with `AZCM_SDK_PYTHON` set (CI does); plain `cargo test` leaves it out.

mod common;

use common::{repo_root, Onboarding};
use serde_json::{json, Value};
use std::process::Command;

fn spec() -> Value {
    let path = repo_root().join("../shared/azure-specs/2026-09-01/machines-excerpt.openapi.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the spec excerpt {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The common-types definitions the excerpt refers to but does not carry: ARM's
/// TrackedResource (types.json v6) as published.
fn tracked_resource() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "string", "readOnly": true},
            "name": {"type": "string", "readOnly": true},
            "type": {"type": "string", "readOnly": true},
            "systemData": {"type": "object", "readOnly": true, "additionalProperties": true},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
            "location": {"type": "string"},
        },
        "required": ["location"],
    })
}

fn resolve(spec: &Value, reference: &str) -> Value {
    let (file, pointer) = reference.split_once('#').unwrap_or(("", reference));
    let name = pointer.rsplit('/').next().unwrap_or("");
    if file.ends_with("types.json") && name == "TrackedResource" {
        return tracked_resource();
    }
    let found = if file.ends_with("managedidentity.json") {
        &spec["x-common-types-v6-excerpt"][name]
    } else if file.is_empty() {
        // The managed-identity excerpt's own local references land in its section too.
        match &spec["definitions"][name] {
            Value::Null => &spec["x-common-types-v6-excerpt"][name],
            found => found,
        }
    } else {
        &Value::Null
    };
    assert!(!found.is_null(), "the spec excerpt has no {reference}");
    found.clone()
}

/// The schema with `$ref` followed and `allOf` members' properties merged in.
fn flatten(spec: &Value, schema: &Value) -> Value {
    let mut schema = match schema["$ref"].as_str() {
        Some(r) => flatten(spec, &resolve(spec, r)),
        None => schema.clone(),
    };
    if let Some(parts) = schema["allOf"].as_array().cloned() {
        for part in parts {
            let part = flatten(spec, &part);
            for (k, v) in part["properties"].as_object().cloned().unwrap_or_default() {
                schema["properties"][k] = v;
            }
            if schema["type"].is_null() {
                schema["type"] = part["type"].clone();
            }
        }
    }
    schema
}

/// Every place `value` leaves the spec: a field the spec does not define, or a value of
/// another type than the spec's (null included) or outside a closed enum.
fn check(spec: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = flatten(spec, schema);
    let object = schema["type"] == "object" || schema["properties"].is_object();
    let kind = if object {
        "object"
    } else {
        schema["type"].as_str().unwrap_or("")
    };
    let fits = match kind {
        "object" => value.is_object(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        _ => true,
    };
    if !fits {
        errors.push(format!("{at}: {value} is not of the spec's type {kind}"));
        return;
    }
    if let (Some(allowed), Some(text)) = (schema["enum"].as_array(), value.as_str()) {
        let open = schema["x-ms-enum"]["modelAsString"] == json!(true);
        if !open
            && !allowed
                .iter()
                .any(|a| a.as_str().is_some_and(|a| a.eq_ignore_ascii_case(text)))
        {
            errors.push(format!("{at}: {text} is not one of {allowed:?}"));
        }
    }
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                let here = format!("{at}.{key}");
                match &schema["properties"][key] {
                    Value::Null => match &schema["additionalProperties"] {
                        Value::Bool(true) => {}
                        extra @ Value::Object(_) => check(spec, extra, field, &here, errors),
                        _ => errors.push(format!("{here}: the spec defines no such field")),
                    },
                    field_schema => check(spec, field_schema, field, &here, errors),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check(spec, &schema["items"], item, &format!("{at}[{i}]"), errors);
            }
        }
        _ => {}
    }
}

#[test]
fn the_checker_catches_what_the_spec_does_not_define() {
    let spec = spec();
    let machine = json!({"$ref": "#/definitions/Machine"});
    let mut errors = Vec::new();
    check(
        &spec,
        &machine,
        &json!({"location": "westeurope", "kind": null, "extra": 1, "tags": {"a": 1}, "properties": {"vmId": 5}}),
        "machine",
        &mut errors,
    );
    let text = errors.join("\n");
    for expected in [
        "machine.kind",
        "machine.extra",
        "machine.tags.a",
        "machine.properties.vmId",
    ] {
        assert!(text.contains(expected), "{expected} not caught in:\n{text}");
    }
    let mut errors = Vec::new();
    check(
        &spec,
        &machine,
        &json!({"id": "/x", "name": "m", "type": "Microsoft.HybridCompute/machines", "location": "westeurope", "tags": {}, "properties": {"vmId": "f23785dd-ff4d-479d-a94a-1270c64c3fea"}}),
        "machine",
        &mut errors,
    );
    assert_eq!(errors, Vec::<String>::new());
}

#[test]
#[ignore = "needs Python with the pinned Azure SDKs: run scripts/sdk-test.sh"]
fn microsofts_python_sdks_work_against_the_fake_cloud() {
    let python = std::env::var("AZCM_SDK_PYTHON")
        .expect("AZCM_SDK_PYTHON: the venv's python (scripts/sdk-test.sh sets it)");
    let o = Onboarding::new().with_secret_env();
    let files = o.azcm.root().join("fakecloud");
    let ca = files.join("fakecloud-ca.pem");
    let out = Command::new(&python)
        .arg(repo_root().join("tests/sdk/arm_sdk.py"))
        .env("FAKE_BASE_URL", &o.fake.base_url)
        .env("FAKE_TENANT_ID", &o.fake.tenant_id)
        .env("FAKE_CLIENT_ID", &o.fake.client_id)
        .env("FAKE_CLIENT_SECRET", &o.fake.client_secret)
        .env("FAKE_SUBSCRIPTION_ID", &o.fake.subscription_id)
        .env("FAKE_LOCATION", &o.fake.location)
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("SSL_CERT_FILE", &ca)
        .env("NO_PROXY", "*")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("AZURE_AUTHORITY_HOST")
        .output()
        .expect("run the SDK script");
    assert!(
        out.status.success(),
        "the SDK script failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).expect("the script's JSON");

    assert_eq!(seen["refused_addresses"], json!([]), "non-loopback lookups");
    assert_eq!(seen["msal"], json!({"token_type": "Bearer", "error": null}));
    assert!(seen["token_expires_on"].as_i64().unwrap() > 0);
    assert_eq!(
        seen["providers"],
        json!({"Microsoft.HybridCompute": "Registered", "Microsoft.GuestConfiguration": "Registered"})
    );
    assert_eq!(seen["resource_group"]["state"], "Succeeded");
    let created = &seen["created"];
    assert_eq!(created["name"], "sdk-machine-01");
    assert_eq!(created["location"], o.fake.location.as_str());
    assert_eq!(created["provisioningState"], "Succeeded");
    assert_eq!(
        created["tags"],
        json!({"made-by": "azure-mgmt-hybridcompute"})
    );
    assert_eq!(seen["got"], *created);
    assert_eq!(seen["listed"], json!(["sdk-machine-01"]));
    assert_eq!(
        seen["patched"]["tags"],
        json!({"made-by": "sdk", "patched": "yes"})
    );
    assert_eq!(seen["patched"]["vmId"], created["vmId"]);
    assert_eq!(seen["delete_status"], "Succeeded");
    assert_eq!(
        seen["after_delete"],
        json!({"status": 404, "code": "ResourceNotFound"})
    );
    assert_eq!(seen["listed_in_subscription"], json!(["sdk-machine-02"]));

    // Every machine answer the SDK read is the spec's shape.
    let spec = spec();
    let mut checked = 0;
    let mut errors = Vec::new();
    for answer in seen["answers"].as_array().unwrap() {
        let Some(body) = answer["body"].as_str().filter(|b| !b.is_empty()) else {
            continue;
        };
        let url = answer["url"].as_str().unwrap();
        let path = url.split('?').next().unwrap();
        if answer["status"] != 200 || !path.contains("/Microsoft.HybridCompute/machines") {
            continue;
        }
        let definition = if path.ends_with("/machines") {
            "MachineListResult"
        } else {
            "Machine"
        };
        let value: Value = serde_json::from_str(body).unwrap();
        let schema = json!({"$ref": format!("#/definitions/{definition}")});
        check(
            &spec,
            &schema,
            &value,
            &format!("{} {path}", answer["method"]),
            &mut errors,
        );
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} machine answers checked");
    assert!(
        errors.is_empty(),
        "the fake's answers leave the spec:\n{}",
        errors.join("\n")
    );

    // azcm reads the machine the SDK made (its agentconfig.json written as connect would).
    let kept = &seen["kept"];
    let id = kept["id"].as_str().unwrap();
    std::fs::create_dir_all(o.azcm.config_dir()).unwrap();
    let config = json!({
        "ResourceId": id,
        "ResourceName": "sdk-machine-02",
        "SubscriptionId": o.fake.subscription_id,
        "ResourceGroup": "sdk-made-rg",
        "Location": o.fake.location,
        "TenantId": o.fake.tenant_id,
        "Cloud": azcm_fakecloud::CLOUD_NAME,
        "VmId": kept["vmId"],
        "CorrelationId": "00000000-0000-0000-0000-000000000001",
        "ApiVersion": azcm_fakecloud::HYBRIDCOMPUTE_API_VERSIONS[0],
        "ConnectedAt": "2026-12-01T00:00:00Z",
    });
    std::fs::write(
        o.azcm.config_dir().join("agentconfig.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
    let run = o.azcm.json(&[
        "show",
        "--arm",
        "--service-principal-id",
        &o.fake.client_id,
        "--tenant-id",
        &o.fake.tenant_id,
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let result = &run.doc()["result"];
    assert_eq!(result["resourceName"], "sdk-machine-02");
    let arm = &result["arm"];
    assert_eq!(arm["exists"], true, "{arm:#}");
    assert_eq!(arm["provisioningState"], "Succeeded");
    assert_eq!(arm["vmId"], kept["vmId"]);

    // And what azcm's connect PUTs, as the fake stores and answers it, is the spec's shape too.
    let fresh = Onboarding::new().with_secret_env();
    let run = fresh.azcm.json(&fresh.connect_args("azcm-made-01"));
    assert_eq!(run.code, 0, "{}", run.stdout);
    let machines = fresh.fake.machines();
    assert_eq!(machines.len(), 1);
    let mut errors = Vec::new();
    let schema = json!({"$ref": "#/definitions/Machine"});
    check(&spec, &schema, &machines[0], "azcm-made-01", &mut errors);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
