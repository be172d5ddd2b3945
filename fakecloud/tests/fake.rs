//! The fake cloud, driven over TLS by a client that trusts only the fake's CA.

use azcm_fakecloud::{FakeCloud, Fault, FaultKind, Step};
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

struct Session {
    fake: FakeCloud,
    http: Client,
    token: String,
}

const HC: &str = "api-version=2026-09-01";

impl Session {
    fn new() -> Self {
        let fake = FakeCloud::start().unwrap();
        let ca = reqwest::Certificate::from_pem(fake.ca_pem.as_bytes()).unwrap();
        let http = Client::builder()
            .tls_certs_only([ca])
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut s = Self {
            fake,
            http,
            token: String::new(),
        };
        let resp = s.token_request(&s.fake.client_secret.clone());
        assert_eq!(resp.status(), 200);
        s.token = resp.json::<Value>().unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        s
    }

    fn token_request(&self, secret: &str) -> Response {
        self.token_request_for(secret, "https://management.core.windows.net//.default")
    }

    /// The client-credentials grant for the fake's principal, with `scope`.
    fn token_request_for(&self, secret: &str, scope: &str) -> Response {
        self.http
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                self.fake.base_url, self.fake.tenant_id
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &self.fake.client_id),
                ("client_secret", secret),
                ("scope", scope),
            ])
            .send()
            .unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.fake.base_url)
    }

    fn arm(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Response {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().unwrap()
    }

    fn sub(&self) -> String {
        format!("/subscriptions/{}", self.fake.subscription_id)
    }

    fn machine_path(&self, name: &str) -> String {
        format!(
            "{}/resourceGroups/{}/providers/Microsoft.HybridCompute/machines/{name}?{HC}",
            self.sub(),
            self.fake.resource_group
        )
    }
}

fn error_code(resp: Response) -> String {
    resp.json::<Value>().unwrap()["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn onboarding_conversation_and_lro_delete() {
    let s = Session::new();
    use reqwest::Method;
    let sub = s.sub();
    let provider = format!("{sub}/providers/Microsoft.HybridCompute?api-version=2021-04-01");
    assert_eq!(
        s.arm(Method::GET, &provider, None).json::<Value>().unwrap()["registrationState"],
        "NotRegistered"
    );

    // A machine cannot be created before the provider is registered, nor without its group.
    let rg = format!(
        "{sub}/resourcegroups/{}?api-version=2021-04-01",
        s.fake.resource_group
    );
    assert_eq!(
        error_code(s.arm(Method::GET, &rg, None)),
        "ResourceGroupNotFound"
    );
    assert_eq!(
        s.arm(Method::PUT, &rg, Some(json!({"location": "westeurope"})))
            .status(),
        201
    );
    let body = json!({"location": "West Europe", "identity": {"type": "SystemAssigned"}, "tags": {"env": "test"},
        "properties": {"clientPublicKey": "MIIBCgKCAQEA", "osName": "read-only: dropped", "osType": "linux"}});
    assert_eq!(
        error_code(s.arm(Method::PUT, &s.machine_path("m1"), Some(body.clone()))),
        "MissingSubscriptionRegistration"
    );

    let registered = s.arm(
        Method::POST,
        &format!("{sub}/providers/Microsoft.HybridCompute/register?api-version=2021-04-01"),
        None,
    );
    assert_eq!(
        registered.json::<Value>().unwrap()["registrationState"],
        "Registering"
    );
    let mut polls = 0;
    while s.arm(Method::GET, &provider, None).json::<Value>().unwrap()["registrationState"]
        != "Registered"
    {
        polls += 1;
        assert!(polls < 10);
    }

    let machine: Value = s
        .arm(Method::PUT, &s.machine_path("m1"), Some(body.clone()))
        .json()
        .unwrap();
    assert_eq!(machine["location"], "westeurope");
    assert_eq!(machine["type"], "Microsoft.HybridCompute/machines");
    assert_eq!(machine["identity"]["tenantId"], s.fake.tenant_id.as_str());
    assert!(machine["identity"]["principalId"].as_str().unwrap().len() == 36);
    assert!(machine["properties"]["vmId"].as_str().unwrap().len() == 36);
    assert_eq!(machine["properties"]["clientPublicKey"], "MIIBCgKCAQEA");
    assert!(
        machine["properties"].get("osName").is_none(),
        "read-only properties are dropped"
    );
    assert_eq!(machine["tags"]["env"], "test");

    // Re-PUT keeps identity and vmId; another location is refused.
    let again: Value = s
        .arm(Method::PUT, &s.machine_path("M1"), Some(body.clone()))
        .json()
        .unwrap();
    assert_eq!(again["properties"]["vmId"], machine["properties"]["vmId"]);
    assert_eq!(
        again["identity"]["principalId"],
        machine["identity"]["principalId"]
    );
    let moved =
        json!({"location": "eastus", "identity": {"type": "SystemAssigned"}, "properties": {}});
    assert_eq!(
        error_code(s.arm(Method::PUT, &s.machine_path("m1"), Some(moved))),
        "InvalidResourceLocation"
    );

    // DELETE is a long-running operation: 202 + Location + Azure-AsyncOperation, then gone.
    let deleted = s.arm(Method::DELETE, &s.machine_path("m1"), None);
    assert_eq!(deleted.status(), 202);
    let status_url = deleted.headers()["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(deleted.headers().contains_key("location"));
    let path = status_url
        .strip_prefix(&s.fake.base_url)
        .unwrap()
        .to_string();
    let mut status = String::new();
    for _ in 0..10 {
        status = s.arm(Method::GET, &path, None).json::<Value>().unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status != "InProgress" {
            break;
        }
    }
    assert_eq!(status, "Succeeded");
    assert_eq!(
        error_code(s.arm(Method::GET, &s.machine_path("m1"), None)),
        "ResourceNotFound"
    );
    assert_eq!(
        s.arm(Method::DELETE, &s.machine_path("m1"), None).status(),
        204
    );
}

#[test]
fn tokens_and_requests_are_checked() {
    let s = Session::new();
    use reqwest::Method;
    let bad = s.token_request("wrong");
    assert_eq!(bad.status(), 401);
    let body: Value = bad.json().unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS7000215"));

    let path = format!("{}?api-version=2022-12-01", s.sub());
    let no_auth = s.http.get(s.url(&path)).send().unwrap();
    assert_eq!(no_auth.status(), 401);
    assert!(no_auth.headers().contains_key("www-authenticate"));
    let forged = s
        .http
        .get(s.url(&path))
        .bearer_auth(format!("{}x", s.token))
        .send()
        .unwrap();
    assert_eq!(error_code(forged), "InvalidAuthenticationToken");

    s.fake.update_settings(|st| st.token_lifetime_secs = 0);
    let expired_token = s
        .token_request(&s.fake.client_secret)
        .json::<Value>()
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let expired = s
        .http
        .get(s.url(&path))
        .bearer_auth(expired_token)
        .send()
        .unwrap();
    assert_eq!(error_code(expired), "ExpiredAuthenticationToken");

    assert_eq!(
        error_code(s.arm(
            Method::GET,
            &format!("/subscriptions/{}?api-version=2022-12-01", "0000"),
            None
        )),
        "SubscriptionNotFound"
    );
    let wrong_version = s
        .machine_path("m1")
        .replace(HC, "api-version=2019-03-18-preview");
    assert_eq!(
        error_code(s.arm(Method::GET, &wrong_version, None)),
        "InvalidApiVersionParameter"
    );
    let missing = s.machine_path("m1").replace(&format!("?{HC}"), "");
    assert_eq!(
        error_code(s.arm(Method::GET, &missing, None)),
        "MissingApiVersionParameter"
    );
    let rg = format!(
        "{}/resourcegroups/{}?api-version=2021-04-01",
        s.sub(),
        s.fake.resource_group
    );
    s.arm(Method::PUT, &rg, Some(json!({"location": "westeurope"})));
    assert_eq!(
        error_code(s.arm(Method::GET, &s.machine_path("bad%20name"), None)),
        "InvalidResourceName"
    );
}

#[test]
fn faults_hit_the_named_step_the_asked_number_of_times() {
    let s = Session::new();
    use reqwest::Method;
    let path = format!("{}?api-version=2022-12-01", s.sub());
    s.fake.add_fault(Fault {
        step: Step::Subscription,
        kind: FaultKind::Throttle {
            retry_after_secs: 7,
            http_date: false,
        },
        times: 2,
    });
    for _ in 0..2 {
        let r = s.arm(Method::GET, &path, None);
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "7");
    }
    assert_eq!(s.arm(Method::GET, &path, None).status(), 200);

    s.fake.add_fault(Fault {
        step: Step::Subscription,
        kind: FaultKind::Throttle {
            retry_after_secs: 2,
            http_date: true,
        },
        times: 1,
    });
    let r = s.arm(Method::GET, &path, None);
    assert!(r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .ends_with(" GMT"));

    s.fake.add_fault(Fault {
        step: Step::Subscription,
        kind: FaultKind::Status {
            status: 503,
            code: None,
        },
        times: 1,
    });
    assert_eq!(s.arm(Method::GET, &path, None).status(), 503);

    s.fake.add_fault(Fault {
        step: Step::Subscription,
        kind: FaultKind::Reset,
        times: 1,
    });
    assert!(s
        .http
        .get(s.url(&path))
        .bearer_auth(&s.token)
        .send()
        .is_err());

    s.fake.add_fault(Fault {
        step: Step::Subscription,
        kind: FaultKind::TruncatedJson,
        times: 1,
    });
    assert!(s.arm(Method::GET, &path, None).json::<Value>().is_err());
    s.fake.add_fault(Fault {
        step: Step::Subscription,
        kind: FaultKind::InvalidJson,
        times: 1,
    });
    assert!(s.arm(Method::GET, &path, None).json::<Value>().is_err());

    s.fake.add_fault(Fault {
        step: Step::Subscription,
        kind: FaultKind::Delay { ms: 300 },
        times: 1,
    });
    let started = Instant::now();
    assert_eq!(s.arm(Method::GET, &path, None).status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Another step is not affected by a fault armed for a different one.
    s.fake.add_fault(Fault {
        step: Step::Token,
        kind: FaultKind::Status {
            status: 500,
            code: None,
        },
        times: 1,
    });
    assert_eq!(s.arm(Method::GET, &path, None).status(), 200);
    assert_eq!(s.token_request(&s.fake.client_secret).status(), 500);

    let log = s.fake.requests();
    assert!(log
        .iter()
        .any(|r| r.status == 0 && r.fault.as_deref() == Some("Reset")));
    assert!(
        log.iter()
            .all(|r| !format!("{r:?}").contains(&s.fake.client_secret)),
        "the log holds no secrets"
    );
}

#[test]
fn writes_beyond_the_limit_are_throttled_per_subscription() {
    let s = Session::new();
    use reqwest::Method;
    s.fake.update_settings(|st| st.throttle_writes_per_sec = 3);
    let rg = |i: u32| format!("{}/resourcegroups/rg{i}?api-version=2021-04-01", s.sub());
    let statuses: Vec<u16> = (0..5)
        .map(|i| {
            s.arm(Method::PUT, &rg(i), Some(json!({"location": "westeurope"})))
                .status()
                .as_u16()
        })
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
    // Reads are not writes.
    assert_eq!(s.arm(Method::GET, &rg(0), None).status(), 200);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        s.arm(Method::PUT, &rg(9), Some(json!({"location": "westeurope"})))
            .status(),
        201
    );
}

#[test]
fn imds_says_not_azure_unless_told() {
    let s = Session::new();
    let http = Client::new();
    let url = format!(
        "{}/metadata/instance/compute?api-version=2021-02-01",
        s.fake.imds_url
    );
    assert_eq!(
        http.get(&url).send().unwrap().status(),
        400,
        "Metadata header required"
    );
    assert_eq!(
        http.get(&url)
            .header("Metadata", "true")
            .send()
            .unwrap()
            .status(),
        404
    );
    s.fake.update_settings(|st| st.azure_vm = true);
    let compute: Value = http
        .get(&url)
        .header("Metadata", "true")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(compute["azEnvironment"], "AzurePublicCloud");
}

#[test]
fn the_spec_excerpt_agrees_with_the_fake() {
    // The fake follows ../shared/azure-specs; when it is beside the repo, check the details.
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/azure-specs/2026-09-01/machines-excerpt.openapi.json");
    let Ok(text) = std::fs::read_to_string(&spec) else {
        eprintln!("skipped: {} is not there", spec.display());
        return;
    };
    let doc: Value = serde_json::from_str(&text).unwrap();
    let props = doc["definitions"]["MachineProperties"]["properties"]
        .as_object()
        .unwrap();
    let writable: std::collections::BTreeSet<&str> = props
        .iter()
        .filter(|(_, v)| v["readOnly"] != json!(true))
        .map(|(k, _)| k.as_str())
        .collect();
    let fake: std::collections::BTreeSet<&str> = azcm_fakecloud::WRITABLE_MACHINE_PROPERTIES
        .iter()
        .copied()
        .collect();
    assert_eq!(writable, fake);
    assert_eq!(
        doc["info"]["version"],
        azcm_fakecloud::HYBRIDCOMPUTE_API_VERSIONS[0]
    );
    let name = &doc["paths"]["/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.HybridCompute/machines/{machineName}"]["get"]["parameters"];
    let pattern = name
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "machineName")
        .unwrap()["pattern"]
        .clone();
    assert_eq!(pattern, "^[a-zA-Z0-9-_\\.]{1,54}$");
}

#[test]
fn entra_authority_metadata_is_served_as_msal_reads_it() {
    let s = Session::new();
    let get = |path: &str| {
        let resp = s.http.get(s.url(path)).send().unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().unwrap())
    };
    let tenant = s.fake.tenant_id.clone();
    let (status, doc) = get(&format!("/{tenant}/v2.0/.well-known/openid-configuration"));
    assert_eq!(status, 200);
    assert_eq!(doc["issuer"], format!("{}/{tenant}/v2.0", s.fake.base_url));
    assert_eq!(
        doc["token_endpoint"],
        format!("{}/{tenant}/oauth2/v2.0/token", s.fake.base_url)
    );
    assert_eq!(
        doc["device_authorization_endpoint"],
        format!("{}/{tenant}/oauth2/v2.0/devicecode", s.fake.base_url)
    );
    for alias in ["organizations", "common"] {
        let (status, doc) = get(&format!("/{alias}/v2.0/.well-known/openid-configuration"));
        assert_eq!(status, 200);
        assert_eq!(
            doc["issuer"],
            format!("{}/{{tenantid}}/v2.0", s.fake.base_url)
        );
    }
    let (status, doc) =
        get("/00000000-0000-0000-0000-00000000dead/v2.0/.well-known/openid-configuration");
    assert_eq!(status, 400);
    assert_eq!(doc["error_codes"], json!([90002]));
    assert_eq!(
        get(&format!("/{tenant}/discovery/v2.0/keys")).1,
        json!({"keys": []})
    );

    // Instance discovery knows this host (by name: MSAL drops the port), nothing else.
    let ask = |endpoint: &str| {
        let resp = s
            .http
            .get(s.url("/common/discovery/instance"))
            .query(&[("api-version", "1.1"), ("authorization_endpoint", endpoint)])
            .send()
            .unwrap();
        (resp.status().as_u16(), resp.json::<Value>().unwrap())
    };
    let (status, doc) = ask(&format!("https://127.0.0.1/{tenant}/oauth2/v2.0/authorize"));
    assert_eq!(status, 200);
    assert_eq!(
        doc["tenant_discovery_endpoint"],
        format!(
            "{}/{tenant}/v2.0/.well-known/openid-configuration",
            s.fake.base_url
        )
    );
    assert_eq!(doc["metadata"][0]["aliases"], json!(["127.0.0.1"]));
    let (status, doc) = ask("https://login.contoso.example/x/oauth2/v2.0/authorize");
    assert_eq!(status, 400);
    assert_eq!(doc["error"], "invalid_instance");
    assert!(s
        .fake
        .requests()
        .iter()
        .all(|r| r.step == Step::Discovery || r.step == Step::Token));
}

#[test]
fn tokens_for_either_arm_audience_are_issued_and_accepted() {
    let s = Session::new();
    let path = format!("{}?api-version=2022-12-01", s.sub());
    for resource in [
        "https://management.core.windows.net/",
        "https://management.azure.com/",
    ] {
        let resp = s.token_request_for(&s.fake.client_secret, &format!("{resource}.default"));
        assert_eq!(resp.status(), 200, "{resource}");
        let token = resp.json::<Value>().unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        let claims = token.split('.').nth(1).unwrap();
        use base64::Engine;
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(claims)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["aud"], resource);
        let answer = s.http.get(s.url(&path)).bearer_auth(&token).send().unwrap();
        assert_eq!(answer.status(), 200, "ARM refused a token for {resource}");
    }
    let other = s.token_request_for(
        &s.fake.client_secret,
        "https://graph.microsoft.com/.default",
    );
    assert_eq!(other.status(), 400);
}

/// What Az PowerShell (Microsoft's .NET SDKs) asks to read a machine azcm created: the
/// resource group list with `resourcegroups` in lower case (ARM paths are case-insensitive),
/// the provider's resource types with their api-versions (Get-AzResource -ResourceId picks
/// one from them), a generic GET by resource id with that api-version, and ARM's generic
/// resources list of the group.
#[test]
fn az_powershell_reads_of_a_machine_are_answered_as_arm_does() {
    use reqwest::Method;
    let s = Session::new();
    let sub = s.sub();
    let rg = s.fake.resource_group.clone();
    s.fake
        .set_provider_state("Microsoft.HybridCompute", "Registered");
    let resp = s.arm(
        Method::PUT,
        &format!("{sub}/resourceGroups/{rg}?api-version=2021-04-01"),
        Some(json!({"location": "westeurope"})),
    );
    assert!(resp.status().is_success());
    let resp = s.arm(
        Method::PUT,
        &s.machine_path("sdk-read"),
        Some(json!({"location": "westeurope", "identity": {"type": "SystemAssigned"}, "tags": {"env": "test"}, "properties": {}})),
    );
    assert!(resp.status().is_success(), "{:?}", resp.text());

    let groups: Value = s
        .arm(
            Method::GET,
            &format!("{sub}/resourcegroups?api-version=2021-04-01"),
            None,
        )
        .json()
        .unwrap();
    let names: Vec<&str> = groups["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&rg.as_str()), "{groups:#}");

    let provider: Value = s
        .arm(
            Method::GET,
            &format!("{sub}/providers/Microsoft.HybridCompute?api-version=2021-04-01"),
            None,
        )
        .json()
        .unwrap();
    let machines = provider["resourceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["resourceType"] == "machines")
        .expect("machines is a resource type");
    let version = machines["apiVersions"][0].as_str().unwrap().to_string();

    let id =
        format!("{sub}/resourceGroups/{rg}/providers/Microsoft.HybridCompute/machines/sdk-read");
    let resp = s.arm(Method::GET, &format!("{id}?api-version={version}"), None);
    assert_eq!(resp.status(), 200);
    let machine: Value = resp.json().unwrap();
    assert_eq!(machine["name"], "sdk-read");

    let listed: Value = s
        .arm(
            Method::GET,
            &format!("{sub}/resourceGroups/{rg}/resources?api-version=2021-04-01"),
            None,
        )
        .json()
        .unwrap();
    let entry = &listed["value"][0];
    assert_eq!(
        entry["id"].as_str().unwrap().to_ascii_lowercase(),
        id.to_ascii_lowercase()
    );
    assert_eq!(entry["type"], "Microsoft.HybridCompute/machines");
    assert_eq!(entry["tags"]["env"], "test");
    // Unknown groups answer as ARM does.
    let resp = s.arm(
        Method::GET,
        &format!("{sub}/resourceGroups/nope/resources?api-version=2021-04-01"),
        None,
    );
    assert_eq!(error_code(resp), "ResourceGroupNotFound");
}
