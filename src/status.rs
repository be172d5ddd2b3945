//! The machine's Azure Arc metadata and agent status, as `azcm show` displays them and
//! `azcm logs` archives them: gathered once from the agent's own sources (agentconfig.json, the
//! local configuration, the local HIMDS, the platform), then read through one table of fields
//! that serves the human view, the JSON and the property filters.

use crate::cloud;
use crate::context::Context;
use crate::error::Result;
use crate::platform::{self, AgentService, Hardware, OsFacts};
use crate::state::agentconfig::AgentConfig;
use crate::state::localconfig::{LocalConfig, ProxySettings};
use serde_json::{json, Map, Value};

/// Where a field's value comes from.
pub enum FieldSource {
    /// agentconfig.json's field, else the local HIMDS's instance metadata (`compute.<key>`).
    Resource(fn(&AgentConfig) -> &str, &'static str),
    /// agentconfig.json alone.
    AgentConfig(fn(&AgentConfig) -> &str),
    /// The local HIMDS's agent status.
    AgentStatus(&'static str),
    /// Worked out from the facts.
    Derived(fn(&Facts) -> Value),
}

/// How the human view shows a field.
pub enum FieldView {
    Text,
    /// A one-line summary of a structured value.
    Summary(fn(&Value) -> String),
    /// A section of its own (a map of names to texts).
    Section,
}

/// One field of `show`: azcmagent's label, the JSON key, its source and its view.
pub struct StatusField {
    pub label: &'static str,
    pub key: &'static str,
    pub source: FieldSource,
    pub view: FieldView,
    /// Shown only with `--os`.
    pub os: bool,
}

const fn field(label: &'static str, key: &'static str, source: FieldSource) -> StatusField {
    StatusField {
        label,
        key,
        source,
        view: FieldView::Text,
        os: false,
    }
}

const fn os_field(label: &'static str, key: &'static str, get: fn(&Facts) -> Value) -> StatusField {
    StatusField {
        os: true,
        ..field(label, key, FieldSource::Derived(get))
    }
}

use FieldSource::{AgentStatus, Derived, Resource};

/// Every field in azcmagent's order, the `--os` ones last.
pub static FIELDS: &[StatusField] = &[
    field(
        "Resource Name",
        "resourceName",
        Resource(|c| &c.resource_name, "name"),
    ),
    field(
        "Resource Group Name",
        "resourceGroupName",
        Resource(|c| &c.resource_group, "resourceGroupName"),
    ),
    field(
        "Resource Namespace",
        "resourceNamespace",
        Derived(|f| string_or_empty(f.connected().then_some("Microsoft.HybridCompute"))),
    ),
    field(
        "Resource Id",
        "resourceId",
        Resource(|c| &c.resource_id, "resourceId"),
    ),
    field(
        "Subscription ID",
        "subscriptionId",
        Resource(|c| &c.subscription_id, "subscriptionId"),
    ),
    field(
        "Tenant ID",
        "tenantId",
        Resource(|c| &c.tenant_id, "tenantId"),
    ),
    field("VM ID", "vmId", Resource(|c| &c.vm_id, "vmId")),
    field(
        "Correlation ID",
        "correlationId",
        FieldSource::AgentConfig(|c| &c.correlation_id),
    ),
    field(
        "VM UUID",
        "vmUuid",
        Derived(|f| string_or_empty(f.hardware.vm_uuid.as_deref())),
    ),
    field(
        "Location",
        "location",
        Resource(|c| &c.location, "location"),
    ),
    field("Cloud", "cloud", FieldSource::AgentConfig(|c| &c.cloud)),
    field("Agent Version", "agentVersion", AgentStatus("agentVersion")),
    field(
        "Agent Logfile",
        "agentLogfile",
        Derived(|f| json!(f.log_file)),
    ),
    field("Agent Status", "status", Derived(Facts::agent_status)),
    field(
        "Agent Last Heartbeat",
        "lastHeartbeat",
        AgentStatus("lastHeartbeat"),
    ),
    field("Agent Error Code", "errorCode", AgentStatus("errorCode")),
    field(
        "Agent Error Details",
        "errorDetails",
        AgentStatus("errorDetails"),
    ),
    field(
        "Agent Error Timestamp",
        "errorTimestamp",
        AgentStatus("errorTimestamp"),
    ),
    field(
        "Using HTTPS Proxy",
        "httpsProxy",
        Derived(|f| json!(f.https_proxy().0)),
    ),
    field(
        "Proxy Bypass List",
        "proxyBypassList",
        Derived(|f| json!(f.proxy.bypass.join(","))),
    ),
    field(
        "Upstream Proxy",
        "upstreamProxy",
        Derived(|f| json!(f.https_proxy().1)),
    ),
    field(
        "Gateway URL",
        "gatewayUrl",
        FieldSource::AgentConfig(|c| &c.gateway_url),
    ),
    field(
        "Cloud Provider",
        "cloudProvider",
        Derived(|f| string_or_empty(f.os.cloud_provider.as_deref())),
    ),
    StatusField {
        view: FieldView::Summary(|v| {
            v["provider"]
                .as_str()
                .map(|p| format!("provider={p}"))
                .unwrap_or_default()
        }),
        ..field(
            "Cloud Metadata",
            "cloudMetadata",
            Derived(|f| match f.os.cloud_provider.as_deref() {
                Some(p) => json!({ "provider": p }),
                None => json!({}),
            }),
        )
    },
    field(
        "Manufacturer",
        "manufacturer",
        Derived(|f| string_or_empty(f.hardware.manufacturer.as_deref())),
    ),
    field(
        "Model",
        "model",
        Derived(|f| string_or_empty(f.hardware.model.as_deref())),
    ),
    field(
        "MSSQL Server Detected",
        "mssqlServerDetected",
        Derived(|_| database("mssql")),
    ),
    field(
        "MySQL Server Detected",
        "mysqlServerDetected",
        Derived(|_| database("mysql")),
    ),
    field(
        "PGSQL Server Detected",
        "postgreSqlServerDetected",
        Derived(|_| database("postgresql")),
    ),
    StatusField {
        view: FieldView::Summary(|v| {
            if v["detected"] == true {
                format!("yes ({})", crate::view::display_value(&v["evidence"]))
            } else {
                "no".into()
            }
        }),
        ..field(
            "Azure VM",
            "azureVm",
            Derived(|f| json!({"detected": !f.vm_evidence.is_empty(), "evidence": f.vm_evidence})),
        )
    },
    StatusField {
        view: FieldView::Section,
        ..field(
            "Dependent Service Status",
            "dependentServices",
            Derived(|f| Value::Object(f.services.clone())),
        )
    },
    field("Portal Page", "portalPage", Derived(Facts::portal_page)),
    field(
        "Disabled Features",
        "disabledFeatures",
        Derived(|f| json!(f.disabled_features)),
    ),
    // Known only from Azure: `show --arm` fills it.
    field(
        "Automatic Upgrade",
        "automaticUpgrade",
        Derived(|_| json!("")),
    ),
    os_field("OS Type", "osType", |f| json!(f.os.os_type)),
    os_field("OS Version", "osVersion", |f| {
        string_or_empty(f.os.os_version.as_deref())
    }),
    os_field("OS SKU", "osSku", |f| {
        string_or_empty(f.os.os_sku.as_deref())
    }),
    os_field("FQDN", "fqdn", |f| string_or_empty(f.os.fqdn.as_deref())),
    os_field("Domain", "domain", |f| {
        string_or_empty(f.os.domain.as_deref())
    }),
];

/// Port of the agent's local proxy (arcproxy) that the agent uses in gateway mode.
const ARCPROXY_URL: &str = "http://localhost:40343";

/// A fact as show reports it: the text, or "" when the source did not say.
fn string_or_empty(v: Option<&str>) -> Value {
    Value::String(v.unwrap_or("").to_string())
}

fn database(kind: &str) -> Value {
    match platform::database_installed(kind) {
        Some(b) => Value::String(b.to_string()),
        None => Value::String(String::new()),
    }
}

/// The field of a label or key, compared without case and spaces ("Agent Status", "status").
pub fn find_field(wanted: &str) -> Option<&'static StatusField> {
    let squash = |t: &str| {
        t.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let w = squash(wanted);
    FIELDS
        .iter()
        .find(|f| squash(f.label) == w || f.key.eq_ignore_ascii_case(&w))
}

pub fn field_of_key(key: &str) -> Option<&'static StatusField> {
    FIELDS.iter().find(|f| f.key == key)
}

/// What the sources said, read once.
pub struct Facts {
    pub config: Option<AgentConfig>,
    /// HIMDS's agent status and instance metadata (`compute`); null when it did not answer.
    agent_status: Value,
    compute: Value,
    proxy: ProxySettings,
    disabled_features: Vec<&'static str>,
    hardware: Hardware,
    os: OsFacts,
    services: Map<String, Value>,
    vm_evidence: Vec<String>,
    log_file: String,
}

impl Facts {
    fn connected(&self) -> bool {
        self.config.is_some() || self.compute.is_object()
    }

    fn agent_status(&self) -> Value {
        match self.connected() {
            false => json!("Disconnected"),
            true => string_or_empty(self.agent_status["status"].as_str()),
        }
    }

    /// The proxy the agent uses and, in gateway mode (through arcproxy), the one behind it.
    fn https_proxy(&self) -> (String, String) {
        match self.proxy.gateway_mode {
            true => (ARCPROXY_URL.to_string(), self.proxy.url.clone()),
            false => (self.proxy.url.clone(), String::new()),
        }
    }

    fn portal_page(&self) -> Value {
        let cloud_name = self.config.as_ref().map(|c| c.cloud.as_str());
        let cloud = cloud::find(
            cloud_name
                .filter(|c| !c.is_empty())
                .unwrap_or(cloud::DEFAULT_CLOUD),
        );
        let id = self.value(&field_of_key("resourceId").expect("a field").source);
        match (id.as_str(), cloud) {
            (Some(id), Ok(cloud)) if !id.is_empty() => {
                let tenant = self.config.as_ref().map(|c| c.tenant_id.as_str());
                json!(cloud.portal_link(tenant.unwrap_or_default(), id))
            }
            _ => json!(""),
        }
    }

    fn value(&self, source: &FieldSource) -> Value {
        match source {
            Resource(from_config, himds_key) => {
                match self
                    .config
                    .as_ref()
                    .map(from_config)
                    .filter(|v| !v.is_empty())
                {
                    Some(v) => json!(v),
                    None => string_or_empty(self.compute[*himds_key].as_str()),
                }
            }
            FieldSource::AgentConfig(from_config) => {
                string_or_empty(self.config.as_ref().map(from_config))
            }
            AgentStatus(key) => string_or_empty(self.agent_status[*key].as_str()),
            Derived(get) => get(self),
        }
    }

    /// Every field's value by key, with the `--os` fields when asked for.
    pub fn fields(&self, os: bool) -> Map<String, Value> {
        FIELDS
            .iter()
            .filter(|f| os || !f.os)
            .map(|f| (f.key.to_string(), self.value(&f.source)))
            .collect()
    }
}

/// Reads every source. Without admin rights the agent's files may be unreadable: that is a
/// warning, and HIMDS's answer stands in.
pub fn gather(ctx: &Context<'_>) -> Result<Facts> {
    let paths = ctx.paths()?;
    let config = AgentConfig::load(&paths.agent_config()).unwrap_or_else(|e| {
        ctx.report.warning(&format!(
            "{}; showing what the local HIMDS reports",
            e.message
        ));
        None
    });
    let local = LocalConfig::load(&paths.local_config()).unwrap_or_else(|e| {
        ctx.report.warning(&e.message);
        LocalConfig::default()
    });
    let (himds, vm_evidence) = ctx
        .block_on(async { tokio::join!(crate::himds::read(), crate::imds::azure_vm_evidence()) })?;
    if let (Some(_), Some(e)) = (&config, &himds.error) {
        ctx.report.warning(&format!(
            "the agent's local HIMDS at {} does not answer ({e}): agent status and heartbeat are unknown; is the {} service running?",
            crate::himds::endpoint(),
            AgentService::Himds.service_name()
        ));
    }
    let disabled_features = [
        ("extensions.enabled", "extensions"),
        ("guestconfiguration.enabled", "guestconfiguration"),
        ("incomingconnections.enabled", "incomingconnections"),
    ]
    .into_iter()
    .filter(|(name, _)| local.effective(name) == Value::Bool(false))
    .map(|(_, feature)| feature)
    .collect();
    Ok(Facts {
        compute: himds
            .instance
            .as_ref()
            .map(|i| i["compute"].clone())
            .unwrap_or(Value::Null),
        agent_status: himds.agent_status.unwrap_or(Value::Null),
        config,
        proxy: local.proxy(),
        disabled_features,
        hardware: platform::hardware(),
        os: platform::os_facts(),
        services: service_states(),
        vm_evidence,
        log_file: paths
            .layout
            .log_dir
            // The agent's own log, as azcmagent's `show` names it.
            .join("himds.log")
            .display()
            .to_string(),
    })
}

/// Each agent service's state by service name: running, stopped, not installed, unknown (why).
fn service_states() -> Map<String, Value> {
    AgentService::ALL
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
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_its_own_label_and_key() {
        let mut labels = std::collections::HashSet::new();
        let mut keys = std::collections::HashSet::new();
        for f in FIELDS {
            assert!(labels.insert(f.label.to_ascii_lowercase()), "{}", f.label);
            assert!(keys.insert(f.key.to_ascii_lowercase()), "{}", f.key);
        }
        assert_eq!(find_field("agent status").unwrap().key, "status");
        assert_eq!(find_field("OSTYPE").unwrap().key, "osType");
        assert!(find_field("nope").is_none());
        let os_first = FIELDS.iter().position(|f| f.os).unwrap();
        assert!(
            FIELDS[os_first..].iter().all(|f| f.os),
            "--os fields come last"
        );
    }
}
