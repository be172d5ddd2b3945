//! `azcm show`: this machine's Azure Arc state as azcmagent shows it, from the agent's own
//! sources — agentconfig.json, the local configuration, the local HIMDS, the platform — and,
//! with `--arm`, the machine resource as Azure Resource Manager sees it.

use super::{connect, Context, Human, Outcome, Section};
use crate::cli::{AuthArgs, ShowArgs};
use crate::cloud;
use crate::error::{AzcmError, ErrorCode, Result};
use crate::platform::{self, AgentService};
use crate::state::agentconfig::AgentConfig;
use crate::state::localconfig::LocalConfig;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Every property in azcmagent's order: display name and JSON key.
pub const PROPERTIES: &[(&str, &str)] = &[
    ("Resource Name", "resourceName"),
    ("Resource Group Name", "resourceGroupName"),
    ("Resource Namespace", "resourceNamespace"),
    ("Resource Id", "resourceId"),
    ("Subscription ID", "subscriptionId"),
    ("Tenant ID", "tenantId"),
    ("VM ID", "vmId"),
    ("Correlation ID", "correlationId"),
    ("VM UUID", "vmUuid"),
    ("Location", "location"),
    ("Cloud", "cloud"),
    ("Agent Version", "agentVersion"),
    ("Agent Logfile", "agentLogfile"),
    ("Agent Status", "status"),
    ("Agent Last Heartbeat", "lastHeartbeat"),
    ("Agent Error Code", "errorCode"),
    ("Agent Error Details", "errorDetails"),
    ("Agent Error Timestamp", "errorTimestamp"),
    ("Using HTTPS Proxy", "httpsProxy"),
    ("Proxy Bypass List", "proxyBypassList"),
    ("Upstream Proxy", "upstreamProxy"),
    ("Gateway URL", "gatewayUrl"),
    ("Cloud Provider", "cloudProvider"),
    ("Cloud Metadata", "cloudMetadata"),
    ("Manufacturer", "manufacturer"),
    ("Model", "model"),
    ("Mssql Server Detected", "mssqlServerDetected"),
    ("MySQL Server Detected", "mysqlServerDetected"),
    ("PostgreSQL Server Detected", "postgreSqlServerDetected"),
    ("Azure VM", "azureVm"),
    ("Dependent Service Status", "dependentServices"),
    ("Portal Page", "portalPage"),
    ("Disabled Features", "disabledFeatures"),
    ("Automatic Upgrade", "automaticUpgrade"),
];

/// Added by `--os`.
pub const OS_PROPERTIES: &[(&str, &str)] = &[
    ("OS Type", "osType"),
    ("OS Version", "osVersion"),
    ("OS SKU", "osSku"),
    ("FQDN", "fqdn"),
    ("Domain", "domain"),
];

/// Port of the agent's local proxy (arcproxy) that the agent uses in gateway mode.
const ARCPROXY_URL: &str = "http://localhost:40343";

fn s(v: Option<&str>) -> Value {
    Value::String(v.unwrap_or("").to_string())
}

fn text(v: &Value) -> String {
    super::display_value(v)
}

fn auth_given(auth: &AuthArgs) -> bool {
    auth.service_principal_id.is_some()
        || auth.service_principal_secret.is_some()
        || auth.has_certificate()
        || auth.access_token.is_some()
        || auth.use_device_code
        || auth.use_azcli
        || auth.tenant_id.is_some()
        || auth.user_tenant_id.is_some()
}

/// The properties asked for, as keys, or AZCM0023 naming the valid ones.
fn selection(args: &ShowArgs) -> Result<Vec<&'static str>> {
    let all: Vec<(&str, &str)> = PROPERTIES
        .iter()
        .chain(OS_PROPERTIES.iter())
        .copied()
        .collect();
    let squash = |t: &str| {
        t.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let mut keys = Vec::new();
    for wanted in &args.properties {
        let w = squash(wanted);
        match all
            .iter()
            .find(|(label, key)| squash(label) == w || key.to_ascii_lowercase() == w)
        {
            Some((_, key)) => keys.push(*key),
            None => {
                let valid: Vec<String> = all.iter().map(|(l, k)| format!("{l} ({k})")).collect();
                return Err(AzcmError::invalid_argument(format!(
                    "unknown property '{wanted}'; valid properties: {}",
                    valid.join(", ")
                ))
                .with_detail("property", wanted.as_str())
                .with_detail(
                    "validProperties",
                    all.iter().map(|(_, k)| *k).collect::<Vec<_>>(),
                ));
            }
        }
    }
    Ok(keys)
}

pub fn run(args: &ShowArgs, ctx: &Context<'_>) -> Result<Outcome> {
    let selected = selection(args)?;
    if !args.arm && auth_given(&args.auth) {
        return Err(AzcmError::invalid_argument(
            "sign-in flags are used only with --arm (to read the machine resource from Azure)",
        ));
    }
    let method = if args.arm {
        Some(connect::auth_method(ctx, &args.auth)?)
    } else {
        None
    };
    let paths = ctx.paths()?;
    // Without admin rights the agent's files may be unreadable: show what HIMDS says instead.
    let config = match AgentConfig::load(&paths.agent_config()) {
        Ok(c) => c,
        Err(e) => {
            ctx.report.warning(&format!(
                "{}; showing what the local HIMDS reports",
                e.message
            ));
            None
        }
    };
    let local = match LocalConfig::load(&paths.local_config()) {
        Ok(l) => Some(l),
        Err(e) => {
            ctx.report.warning(&e.message);
            None
        }
    };
    let rt = connect::runtime()?;
    let (himds, vm_evidence) =
        rt.block_on(async { tokio::join!(crate::himds::read(), crate::imds::azure_vm_evidence()) });
    let status = himds.agent_status.clone().unwrap_or(Value::Null);
    let compute = himds
        .instance
        .as_ref()
        .map(|i| i["compute"].clone())
        .unwrap_or(Value::Null);
    if config.is_some() {
        if let Some(e) = &himds.error {
            ctx.report.warning(&format!(
                "the agent's local HIMDS at {} does not answer ({e}): agent status and heartbeat are unknown; is the {} service running?",
                crate::himds::endpoint(),
                AgentService::Himds.service_name()
            ));
        }
    }
    // The resource: agentconfig.json first, HIMDS's instance metadata second.
    let pick = |from_config: Option<&String>, key: &str| -> Value {
        match from_config.filter(|v| !v.is_empty()) {
            Some(v) => Value::String(v.clone()),
            None => s(compute[key].as_str()),
        }
    };
    let c = config.as_ref();
    let connected = c.is_some() || compute.is_object();
    let resource_id = pick(c.map(|c| &c.resource_id), "resourceId");
    let cloud_name = c.map(|c| c.cloud.clone()).unwrap_or_default();
    let value = |name: &str| -> Value {
        local
            .as_ref()
            .map(|l| l.effective(name))
            .unwrap_or(Value::Null)
    };
    let proxy_url = value("proxy.url").as_str().unwrap_or("").to_string();
    let gateway_mode = value("connection.type").as_str() == Some("gateway");
    let (https_proxy, upstream) = if gateway_mode {
        (ARCPROXY_URL.to_string(), proxy_url.clone())
    } else {
        (proxy_url.clone(), String::new())
    };
    let bypass = value("proxy.bypass");
    let hardware = platform::hardware();
    let facts = platform::os_facts();
    let services: Map<String, Value> = AgentService::ALL
        .iter()
        .map(|svc| {
            let name = svc.service_name();
            let state = match platform::query_service(name) {
                Ok(Some(st)) => format!("{:?}", st.state).to_ascii_lowercase(),
                Ok(None) => "not installed".to_string(),
                Err(e) => format!("unknown ({e})"),
            };
            (name.to_string(), Value::String(state))
        })
        .collect();
    let mut disabled = Vec::new();
    for (name, feature) in [
        ("extensions.enabled", "extensions"),
        ("guestconfiguration.enabled", "guestconfiguration"),
        ("incomingconnections.enabled", "incomingconnections"),
    ] {
        if value(name) == Value::Bool(false) {
            disabled.push(feature);
        }
    }
    let db = |kind: &str| match platform::database_installed(kind) {
        Some(b) => Value::String(b.to_string()),
        None => Value::String(String::new()),
    };
    let portal = match (
        resource_id.as_str(),
        cloud::find(if cloud_name.is_empty() {
            cloud::DEFAULT_CLOUD
        } else {
            &cloud_name
        }),
    ) {
        (Some(id), Ok(cloud)) if !id.is_empty() => cloud.portal_link(id),
        _ => String::new(),
    };
    let agent_status = if !connected {
        "Disconnected".to_string()
    } else {
        status["status"].as_str().unwrap_or("").to_string()
    };
    let mut fields: Map<String, Value> = Map::new();
    let mut put = |key: &str, v: Value| {
        fields.insert(key.to_string(), v);
    };
    put("resourceName", pick(c.map(|c| &c.resource_name), "name"));
    put(
        "resourceGroupName",
        pick(c.map(|c| &c.resource_group), "resourceGroupName"),
    );
    put(
        "resourceNamespace",
        s(connected.then_some("Microsoft.HybridCompute")),
    );
    put("resourceId", resource_id.clone());
    put(
        "subscriptionId",
        pick(c.map(|c| &c.subscription_id), "subscriptionId"),
    );
    put("tenantId", pick(c.map(|c| &c.tenant_id), "tenantId"));
    put("vmId", pick(c.map(|c| &c.vm_id), "vmId"));
    put("correlationId", s(c.map(|c| c.correlation_id.as_str())));
    put("vmUuid", s(hardware.vm_uuid.as_deref()));
    put("location", pick(c.map(|c| &c.location), "location"));
    put("cloud", Value::String(cloud_name.clone()));
    put("agentVersion", s(status["agentVersion"].as_str()));
    put(
        "agentLogfile",
        Value::String(
            paths
                .layout
                .log_dir
                .join("azcmagent.log")
                .display()
                .to_string(),
        ),
    );
    put("status", Value::String(agent_status));
    for (key, from) in [
        ("lastHeartbeat", "lastHeartbeat"),
        ("errorCode", "errorCode"),
        ("errorDetails", "errorDetails"),
        ("errorTimestamp", "errorTimestamp"),
    ] {
        put(key, s(status[from].as_str()));
    }
    put("httpsProxy", Value::String(https_proxy));
    put(
        "proxyBypassList",
        Value::String(
            bypass
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default(),
        ),
    );
    put("upstreamProxy", Value::String(upstream));
    put("gatewayUrl", s(c.map(|c| c.gateway_url.as_str())));
    put("cloudProvider", s(facts.cloud_provider.as_deref()));
    put(
        "cloudMetadata",
        match facts.cloud_provider.as_deref() {
            Some(p) => json!({"provider": p}),
            None => json!({}),
        },
    );
    put("manufacturer", s(hardware.manufacturer.as_deref()));
    put("model", s(hardware.model.as_deref()));
    put("mssqlServerDetected", db("mssql"));
    put("mysqlServerDetected", db("mysql"));
    put("postgreSqlServerDetected", db("postgresql"));
    put(
        "azureVm",
        json!({"detected": !vm_evidence.is_empty(), "evidence": vm_evidence}),
    );
    put("dependentServices", Value::Object(services));
    put("portalPage", Value::String(portal));
    put("disabledFeatures", json!(disabled));
    put("automaticUpgrade", Value::String(String::new()));
    if args.os {
        put("osType", Value::String(facts.os_type.clone()));
        put("osVersion", s(facts.os_version.as_deref()));
        put("osSku", s(facts.os_sku.as_deref()));
        put("fqdn", s(facts.fqdn.as_deref()));
        put("domain", s(facts.domain.as_deref()));
    }

    let arm_view = match method {
        Some(method) => {
            let Some(config) = config.as_ref() else {
                return Err(AzcmError::invalid_argument(
                    "--arm needs a connected machine: this one has no Azure resource to read (agentconfig.json is absent)",
                ));
            };
            let view = rt.block_on(arm_view(ctx, config, method, &args.auth, &fields))?;
            if let Some(auto) = view["automaticUpgrade"].as_bool() {
                fields.insert("automaticUpgrade".into(), Value::String(auto.to_string()));
            }
            Some(view)
        }
        None => None,
    };

    // The selection, in the order asked; the whole set otherwise.
    let mut result = Map::new();
    if selected.is_empty() {
        result = fields.clone();
    } else {
        for key in &selected {
            result.insert(
                (*key).to_string(),
                fields
                    .get(*key)
                    .cloned()
                    .unwrap_or(Value::String(String::new())),
            );
        }
    }
    if let Some(view) = &arm_view {
        result.insert("arm".into(), view.clone());
    }

    let label = |key: &str| {
        PROPERTIES
            .iter()
            .chain(OS_PROPERTIES.iter())
            .find(|(_, k)| *k == key)
            .map(|(l, _)| *l)
            .unwrap_or("")
    };
    let mut sections = Vec::new();
    let mut main = Section::untitled();
    let mut service_section = None;
    for (key, v) in &result {
        if key == "arm" {
            continue;
        }
        match (key.as_str(), v) {
            ("dependentServices", Value::Object(map)) => {
                let mut sec = Section::new("Dependent Service Status");
                for (name, state) in map {
                    let display = AgentService::ALL
                        .iter()
                        .find(|s| s.service_name() == name)
                        .map(|s| format!("{} ({name})", s.display_name()))
                        .unwrap_or_else(|| name.clone());
                    sec = sec.row(display, text(state));
                }
                service_section = Some(sec);
            }
            ("azureVm", v) => {
                main = main.row(
                    label(key),
                    if v["detected"] == true {
                        format!("yes ({})", text(&v["evidence"]))
                    } else {
                        "no".into()
                    },
                )
            }
            ("cloudMetadata", v) => {
                main = main.row(
                    label(key),
                    v["provider"]
                        .as_str()
                        .map(|p| format!("provider={p}"))
                        .unwrap_or_default(),
                )
            }
            _ => main = main.row(label(key), text(v)),
        }
    }
    sections.push(main);
    if let Some(sec) = service_section {
        sections.push(sec);
    }
    if let Some(view) = &arm_view {
        let mut sec = Section::new("Azure Resource Manager")
            .row("Status", text(&view["status"]))
            .row("Last Status Change", text(&view["lastStatusChange"]))
            .row("Agent Version", text(&view["agentVersion"]))
            .row("Provisioning State", text(&view["provisioningState"]));
        for d in view["disagreements"].as_array().into_iter().flatten() {
            sec = sec.row(
                format!("Differs: {}", text(&d["field"])),
                text(&d["message"]),
            );
        }
        sections.push(sec);
    }
    Ok(Outcome::new(
        Value::Object(result),
        Human::Sections(sections),
    ))
}

/// The machine resource as ARM has it, and where it disagrees with this machine.
async fn arm_view(
    ctx: &Context<'_>,
    config: &AgentConfig,
    method: crate::auth::AuthMethod,
    auth: &AuthArgs,
    local: &Map<String, Value>,
) -> Result<Value> {
    let cloud = cloud::find(&config.cloud)?;
    let budget = Duration::from_secs(auth.retry_timeout);
    let arm = connect::sign_in(ctx, &cloud, method, budget, config.correlation_id.clone()).await?;
    let path = connect::machine_path(
        &config.subscription_id,
        &config.resource_group,
        &config.resource_name,
        &config.api_version,
    );
    let Some(reply) = arm
        .get_if_exists("machine lookup", ErrorCode::NETWORK, &path)
        .await?
    else {
        return Ok(json!({
            "exists": false,
            "disagreements": [{"field": "resourceId", "local": config.resource_id, "arm": "", "message": format!("{} does not exist in Azure: the resource was deleted; disconnect with --force-local-only and connect again", config.resource_id)}],
        }));
    };
    let m = &reply.body;
    let p = &m["properties"];
    let mut disagreements = Vec::new();
    let mut differ = |field: &str, local_value: &str, arm_value: &str, message: String| {
        if !arm_value.is_empty() && !local_value.eq_ignore_ascii_case(arm_value) {
            disagreements.push(
                json!({"field": field, "local": local_value, "arm": arm_value, "message": message}),
            );
        }
    };
    let local_vm = local["vmId"].as_str().unwrap_or("");
    let arm_vm = p["vmId"].as_str().unwrap_or("");
    differ("vmId", local_vm, arm_vm, format!("the resource's vmId {arm_vm} is not this machine's {local_vm}: another machine (a clone of this image?) uses the same resource; disconnect this one with --force-local-only and connect it under its own name"));
    let arm_location = m["location"].as_str().unwrap_or("");
    differ(
        "location",
        &config.location,
        arm_location,
        format!(
            "Azure has the resource in {arm_location}, this machine says {}",
            config.location
        ),
    );
    let local_version = local["agentVersion"].as_str().unwrap_or("");
    let arm_version = p["agentVersion"].as_str().unwrap_or("");
    if !local_version.is_empty() {
        differ("agentVersion", local_version, arm_version, format!("Azure last heard of agent version {arm_version}, the local agent is {local_version}: the next heartbeat updates it"));
    }
    let local_status = local["status"].as_str().unwrap_or("");
    let arm_status = p["status"].as_str().unwrap_or("");
    if !local_status.is_empty() {
        differ(
            "status",
            local_status,
            arm_status,
            format!(
                "Azure shows the agent as {arm_status}, the local agent reports {local_status}"
            ),
        );
    }
    Ok(json!({
        "exists": true,
        "id": m["id"],
        "status": p["status"].as_str().unwrap_or(""),
        "lastStatusChange": p["lastStatusChange"].as_str().unwrap_or(""),
        "agentVersion": arm_version,
        "provisioningState": p["provisioningState"].as_str().unwrap_or(""),
        "vmId": arm_vm,
        "location": arm_location,
        "detectedProperties": p["detectedProperties"].clone(),
        "automaticUpgrade": p["agentUpgrade"]["enableAutomaticUpgrade"].clone(),
        "disagreements": disagreements,
    }))
}
