//! `Azcm/Connection`: whether this machine is connected to Azure Arc, and as which resource
//! (subscription, resource group, location, name, cloud, tenant, tags, private link scope,
//! gateway). get, test and export read the agent's configuration and the local metadata
//! service (HIMDS) and need no credential; set connects through the onboarding service (the
//! same request `azcm connect` builds), updates tags, or disconnects through the offboarding
//! service for `_exist: false`. A machine connected as another resource than the document's is
//! refused, never silently disconnected.

use super::Reply;
use crate::auth::flags::SignIn;
use crate::cloud;
use crate::context::Context;
use crate::error::{excerpt, AzcmError, ErrorCode, Result};
use crate::ids;
use crate::offboarding::{self, OffboardingRequest};
use crate::onboarding::request::{resource_name, same_tags, Target};
use crate::onboarding::{self, OnboardingResult};
use crate::operation::Action;
use crate::state::agentconfig::AgentConfig;
use azure_core::credentials::Secret;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

pub const RESOURCE_TYPE: &str = "Azcm/Connection";
pub const MANIFEST_FILE: &str = "azcm.connection.dsc.resource.json";
const EXIST: &str = "_exist";
const IN_DESIRED_STATE: &str = "_inDesiredState";
/// How long set's ARM calls and their retries may take, all told (connect's default).
const RETRY_BUDGET: Duration = Duration::from_secs(300);

/// The properties that say where the machine is connected: a connected machine differing in
/// any of them is connected elsewhere (set refuses; only disconnecting moves it).
const PLACE: &[&str] = &[
    "subscriptionId",
    "resourceGroup",
    "resourceName",
    "location",
    "cloud",
    "tenantId",
    "privateLinkScope",
    "gatewayId",
];

/// What the instance asks, checked: every value of the right type and form.
#[derive(Default)]
pub struct Desired {
    exist: bool,
    subscription_id: Option<String>,
    resource_group: Option<String>,
    location: Option<String>,
    resource_name: Option<String>,
    cloud: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    /// Named: `Some(None)` is "none".
    private_link_scope: Option<Option<String>>,
    gateway_id: Option<Option<String>>,
    sign_in: SignIn,
    force_local_only: bool,
}

fn wrong(name: &str, wants: &str, value: &Value) -> AzcmError {
    AzcmError::invalid_argument(format!(
        "{RESOURCE_TYPE}: {name} takes {wants}, not {}",
        excerpt(&value.to_string())
    ))
    .with_detail("property", name)
}

fn text(name: &str, value: &Value) -> Result<Option<String>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_string())),
        _ => Err(wrong(name, "a string", value)),
    }
}

fn flag(name: &str, value: &Value) -> Result<bool> {
    match value {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        _ => Err(wrong(name, "true or false", value)),
    }
}

fn guid(name: &str, value: &Value) -> Result<Option<String>> {
    let given = text(name, value)?;
    if let Some(id) = &given {
        if !ids::is_guid(id) {
            return Err(wrong(name, "a GUID (the id, not a display name)", value));
        }
    }
    Ok(given)
}

/// A secret as dsc passes a `secureString` parameter: `{"secureString": "…"}`. A plain string
/// is refused: it would sit in the document, where dsc shows it.
fn secure(name: &str, value: &Value) -> Result<Option<Secret>> {
    match value {
        Value::Null => Ok(None),
        Value::Object(map) if map.len() == 1 => match map.get("secureString") {
            // Blank is none: dsc 3.2.3 refuses '' as a parameter's default, documents use ' '.
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(Secret::new(s.clone()))),
            _ => Err(secret_shape(name)),
        },
        _ => Err(secret_shape(name)),
    }
}

fn secret_shape(name: &str) -> AzcmError {
    // The value is never quoted: it may be the secret.
    AzcmError::invalid_argument(format!(
        "{RESOURCE_TYPE}: {name} must come from a secureString parameter ({{\"secureString\": \"…\"}})"
    ))
    .with_detail("property", name)
    .with_remediation(format!(
        "Declare a parameter of type secureString and set {name}: \"[parameters('…')]\"; pass its value on dsc's stdin (--parameters-file -)."
    ))
}

fn tags(value: &Value) -> Result<Option<BTreeMap<String, String>>> {
    match value {
        Value::Null => Ok(None),
        Value::Object(map) => {
            let mut tags = BTreeMap::new();
            for (k, v) in map {
                match v {
                    Value::String(s) => tags.insert(k.clone(), s.clone()),
                    _ => return Err(wrong("tags", "an object of text values", value)),
                };
            }
            crate::onboarding::request::check_tags(&tags)?;
            Ok(Some(tags))
        }
        _ => Err(wrong("tags", "an object of text values", value)),
    }
}

impl Desired {
    pub fn parse(instance: &Map<String, Value>) -> Result<Self> {
        let mut d = Desired {
            exist: true,
            ..Desired::default()
        };
        for (key, value) in instance {
            match key.as_str() {
                EXIST => {
                    d.exist = match value {
                        Value::Null => true,
                        Value::Bool(b) => *b,
                        _ => return Err(wrong(EXIST, "true or false", value)),
                    }
                }
                "subscriptionId" => d.subscription_id = guid(key, value)?,
                "resourceGroup" => d.resource_group = text(key, value)?,
                "location" => d.location = text(key, value)?,
                "resourceName" => d.resource_name = text(key, value)?,
                "cloud" => d.cloud = text(key, value)?,
                // The tenant of the place and of the service principal's sign-in: one value.
                "tenantId" => d.sign_in.tenant_id = guid(key, value)?,
                "tags" => d.tags = tags(value)?,
                "privateLinkScope" => d.private_link_scope = Some(text(key, value)?),
                "gatewayId" => d.gateway_id = Some(text(key, value)?),
                "servicePrincipalId" => d.sign_in.service_principal_id = text(key, value)?,
                "servicePrincipalSecret" => {
                    d.sign_in.service_principal_secret = secure(key, value)?
                }
                "accessToken" => d.sign_in.access_token = secure(key, value)?,
                "servicePrincipalCertificate" => {
                    d.sign_in.service_principal_cert = text(key, value)?.map(Into::into)
                }
                "servicePrincipalCertificateThumbprint" => {
                    d.sign_in.service_principal_cert_thumbprint = text(key, value)?
                }
                "useAzureCli" => d.sign_in.use_azcli = flag(key, value)?,
                "useDeviceCode" => d.sign_in.use_device_code = flag(key, value)?,
                "userTenantId" => d.sign_in.user_tenant_id = guid(key, value)?,
                "forceLocalOnly" => d.force_local_only = flag(key, value)?,
                // What get returns may come back (export, then set): read-only, ignored.
                "resourceId" | "status" | IN_DESIRED_STATE => {}
                _ => {
                    return Err(AzcmError::invalid_argument(format!(
                        "{RESOURCE_TYPE} has no property '{}'",
                        excerpt(key)
                    ))
                    .with_detail("property", excerpt(key))
                    .with_detail("validProperties", property_names()))
                }
            }
        }
        Ok(d)
    }

    fn cloud_name(&self) -> String {
        self.cloud.clone().unwrap_or_else(cloud::default_cloud_name)
    }

    /// The onboarding target the document names; subscription, resource group and location
    /// are needed to connect.
    fn target(&self, what_if: bool) -> Result<Target> {
        let need = |name: &str, value: &Option<String>| {
            value.clone().ok_or_else(|| {
                AzcmError::new(
                    ErrorCode::MISSING_PARAMETER,
                    format!("{RESOURCE_TYPE}: {name} is needed to connect this machine"),
                )
                .with_detail("property", name)
            })
        };
        Ok(Target {
            cloud: self.cloud_name(),
            location: need("location", &self.location)?,
            subscription: need("subscriptionId", &self.subscription_id)?,
            resource_group: need("resourceGroup", &self.resource_group)?,
            resource_name: self.resource_name.clone(),
            tags: self.tags.clone(),
            private_link_scope: self.private_link_scope.clone().flatten(),
            gateway_id: self.gateway_id.clone().flatten(),
            what_if,
            retry_budget: RETRY_BUDGET,
            ..Target::default()
        })
    }
}

/// What is: the agent's configuration, and what HIMDS says about the resource.
pub struct Current {
    pub config: Option<AgentConfig>,
    /// The resource's tags (HIMDS), when HIMDS answered.
    pub tags: Option<BTreeMap<String, String>>,
    /// The agent's status (HIMDS), when HIMDS answered.
    pub status: Option<String>,
}

impl Current {
    /// Reads the configuration; HIMDS only for a connected machine. A HIMDS that does not
    /// answer is a warning: everything but the tags and status is known without it.
    pub fn read(ctx: &Context<'_>) -> Result<Self> {
        let config = AgentConfig::load(&ctx.paths()?.agent_config())?;
        let mut current = Current {
            config,
            tags: None,
            status: None,
        };
        if current.config.is_some() {
            let view = ctx.block_on(crate::himds::read())?;
            current.tags = view.instance.as_ref().and_then(crate::himds::tags);
            current.status = view
                .agent_status
                .as_ref()
                .and_then(|s| s["status"].as_str())
                .map(str::to_string);
            if current.tags.is_none() {
                ctx.report.warning(&format!(
                    "the agent's metadata service ({}) did not give the machine's tags{}; they are left out",
                    crate::himds::endpoint(),
                    view.error.map(|e| format!(": {e}")).unwrap_or_default()
                ));
            }
        }
        Ok(current)
    }

    /// The instance get returns: `_exist: false` when not connected.
    fn state(&self) -> Map<String, Value> {
        let mut state = Map::new();
        let Some(c) = &self.config else {
            state.insert(EXIST.into(), json!(false));
            return state;
        };
        let none_if_empty = |s: &str| match s.is_empty() {
            true => Value::Null,
            false => json!(s),
        };
        state.insert("subscriptionId".into(), json!(c.subscription_id));
        state.insert("resourceGroup".into(), json!(c.resource_group));
        state.insert("location".into(), json!(c.location));
        state.insert("resourceName".into(), json!(c.resource_name));
        state.insert("cloud".into(), json!(c.cloud));
        state.insert("tenantId".into(), json!(c.tenant_id));
        if let Some(tags) = &self.tags {
            state.insert("tags".into(), json!(tags));
        }
        state.insert(
            "privateLinkScope".into(),
            none_if_empty(&c.private_link_scope),
        );
        state.insert("gatewayId".into(), none_if_empty(&c.gateway_id));
        state.insert("resourceId".into(), json!(c.resource_id));
        if let Some(status) = &self.status {
            state.insert("status".into(), json!(status));
        }
        state.insert(EXIST.into(), json!(true));
        state
    }
}

fn same_text(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Regions compare by their canonical name ("West Europe" is westeurope).
fn same_location(cloud_name: &str, wanted: &str, actual: &str) -> bool {
    let canonical = |r: &str| {
        cloud::find(cloud_name)
            .and_then(|c| c.region(r))
            .unwrap_or_else(|_| r.replace(' ', "").to_ascii_lowercase())
    };
    canonical(wanted) == canonical(actual)
}

/// The properties (document order: place first, then tags) whose desired value the connected
/// machine does not have.
fn differing(
    desired: &Desired,
    config: &AgentConfig,
    tags: Option<&BTreeMap<String, String>>,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut check = |name: &str, same: bool| {
        if !same {
            out.push(name.to_string());
        }
    };
    if let Some(s) = &desired.subscription_id {
        check("subscriptionId", same_text(s, &config.subscription_id));
    }
    if let Some(g) = &desired.resource_group {
        check("resourceGroup", same_text(g, &config.resource_group));
    }
    // Unnamed, the resource name is the host name's, as connect would choose it.
    let name = match &desired.resource_name {
        Some(n) => n.clone(),
        None => resource_name(None)?,
    };
    check("resourceName", same_text(&name, &config.resource_name));
    if let Some(l) = &desired.location {
        check(
            "location",
            same_location(&config.cloud, l, &config.location),
        );
    }
    check("cloud", same_text(&desired.cloud_name(), &config.cloud));
    if let Some(t) = &desired.sign_in.tenant_id {
        check("tenantId", same_text(t, &config.tenant_id));
    }
    if let Some(scope) = &desired.private_link_scope {
        check(
            "privateLinkScope",
            same_text(scope.as_deref().unwrap_or(""), &config.private_link_scope),
        );
    }
    if let Some(gateway) = &desired.gateway_id {
        check(
            "gatewayId",
            same_text(gateway.as_deref().unwrap_or(""), &config.gateway_id),
        );
    }
    if let Some(wanted) = &desired.tags {
        // Tags HIMDS did not give are not known to be right.
        check("tags", tags.is_some_and(|t| same_tags(wanted, t)));
    }
    Ok(out)
}

/// get: what is.
pub fn get(current: &Current, instance: &Map<String, Value>) -> Result<Reply> {
    Desired::parse(instance)?;
    Ok(Reply {
        instances: vec![Value::Object(current.state())],
        ..Reply::default()
    })
}

/// test: what is, whether it is what the document says, and which properties are not.
pub fn test(current: &Current, instance: &Map<String, Value>) -> Result<Reply> {
    let desired = Desired::parse(instance)?;
    let differ = match (&current.config, desired.exist) {
        (None, false) => Vec::new(),
        (None, true) | (Some(_), false) => vec![EXIST.to_string()],
        (Some(config), true) => differing(&desired, config, current.tags.as_ref())?,
    };
    let mut state = current.state();
    state.insert(IN_DESIRED_STATE.into(), json!(differ.is_empty()));
    Ok(Reply {
        instances: vec![Value::Object(state)],
        differing: Some(differ),
        changed: None,
    })
}

/// export: this machine's connection, when it has one.
pub fn export(current: &Current) -> Reply {
    Reply {
        instances: match current.config {
            Some(_) => vec![Value::Object(current.state())],
            None => Vec::new(),
        },
        ..Reply::default()
    }
}

fn connected_elsewhere(config: &AgentConfig, differ: &[String]) -> AzcmError {
    AzcmError::new(
        ErrorCode::ALREADY_CONNECTED,
        format!(
            "this machine is connected as {}, not as the document says (it differs in {}); {RESOURCE_TYPE} does not move a connected machine",
            config.resource_id,
            differ.join(", ")
        ),
    )
    .with_detail("resourceId", config.resource_id.clone())
    .with_detail("differingProperties", differ.to_vec())
    .with_remediation("Disconnect it first (a document with _exist: false, or azcm disconnect), or make the document name the resource it is connected as.")
}

/// set: converge. Returns the reply; what-if changes nothing and says what set would do.
pub fn set(ctx: &Context<'_>, instance: &Map<String, Value>, what_if: bool) -> Result<Reply> {
    let desired = Desired::parse(instance)?;
    let current = Current::read(ctx)?;
    let before = current.state();
    match (&current.config, desired.exist) {
        (None, false) => Ok(unchanged(before)),
        (Some(_), false) => disconnect(ctx, desired, what_if),
        (Some(config), true) => {
            let differ = differing(&desired, config, current.tags.as_ref())?;
            let place: Vec<String> = differ
                .iter()
                .filter(|p| PLACE.contains(&p.as_str()))
                .cloned()
                .collect();
            if !place.is_empty() {
                return Err(connected_elsewhere(config, &place));
            }
            match differ.is_empty() {
                true => Ok(unchanged(before)),
                // Only the tags differ: onboarding finds the machine connected and updates them.
                false => connect(ctx, desired, before, what_if),
            }
        }
        (None, true) => connect(ctx, desired, before, what_if),
    }
}

fn unchanged(state: Map<String, Value>) -> Reply {
    Reply {
        instances: vec![Value::Object(state)],
        differing: Some(Vec::new()),
        changed: Some(false),
    }
}

fn connect(
    ctx: &Context<'_>,
    mut desired: Desired,
    before: Map<String, Value>,
    what_if: bool,
) -> Result<Reply> {
    let req = desired.target(what_if)?.request()?;
    let sign_in = std::mem::take(&mut desired.sign_in);
    let tenant = sign_in.tenant_id.clone();
    let method = sign_in.method(ctx)?;
    let result = onboarding::connect(ctx, req, method, tenant.as_deref(), "dsc connection set")?;
    say_actions(ctx, &result.actions, what_if);
    let after = after_connect(&result, &desired);
    let changed: Vec<String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .filter(|k| k != "resourceId" && k != "status")
        .collect();
    Ok(Reply {
        instances: vec![Value::Object(after)],
        differing: Some(changed),
        changed: Some(!result.actions.is_empty()),
    })
}

/// The onboarding's or offboarding's actions, as debug traces ("What if: …" with what-if).
fn say_actions(ctx: &Context<'_>, actions: &[Action], what_if: bool) {
    let prefix = if what_if { "What if: " } else { "" };
    for action in actions {
        ctx.report
            .verbose(&format!("{prefix}{}", action.description));
    }
}

/// The instance after connect (what-if: as it would be), in the shape get returns: the place
/// onboarding resolved, the tags and network the document named.
fn after_connect(result: &OnboardingResult, desired: &Desired) -> Map<String, Value> {
    let config = AgentConfig {
        resource_id: result.resource_id.clone(),
        resource_name: result.resource_name.clone(),
        subscription_id: result.subscription_id.clone(),
        resource_group: result.resource_group.clone(),
        location: result.location.clone(),
        tenant_id: result.tenant_id.clone(),
        cloud: result.cloud.clone(),
        private_link_scope: desired
            .private_link_scope
            .clone()
            .flatten()
            .unwrap_or_default(),
        gateway_id: desired.gateway_id.clone().flatten().unwrap_or_default(),
        ..AgentConfig::default()
    };
    Current {
        config: Some(config),
        tags: desired.tags.clone(),
        status: None,
    }
    .state()
}

fn disconnect(ctx: &Context<'_>, desired: Desired, what_if: bool) -> Result<Reply> {
    let req = OffboardingRequest {
        retry_budget: RETRY_BUDGET,
        what_if,
        operation: "dsc connection set",
        local_only_name: "forceLocalOnly",
    };
    let force_local_only = desired.force_local_only;
    let sign_in = desired.sign_in;
    let result = offboarding::offboard(ctx, &req, || match force_local_only {
        true => Ok(None),
        false => sign_in.method(ctx).map(Some),
    })?;
    say_actions(ctx, &result.actions, what_if);
    Ok(Reply {
        instances: vec![json!({ EXIST: false })],
        differing: Some(vec![EXIST.to_string()]),
        changed: Some(true),
    })
}

fn property_names() -> Vec<&'static str> {
    instance_schema_properties()
        .iter()
        .map(|(name, _)| *name)
        .collect()
}

fn secure_schema(description: &str) -> Value {
    json!({
        "type": ["object", "null"],
        "writeOnly": true,
        "description": description,
        "properties": {"secureString": {"type": "string", "minLength": 1}},
        "required": ["secureString"],
        "additionalProperties": false
    })
}

fn instance_schema_properties() -> Vec<(&'static str, Value)> {
    let guid = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
    let string =
        |description: &str| json!({"type": ["string", "null"], "description": description});
    let flag = |description: &str| json!({"type": ["boolean", "null"], "writeOnly": true, "description": description});
    vec![
        ("subscriptionId", json!({"type": ["string", "null"], "pattern": guid, "description": "The subscription's id (a GUID) the machine resource is in. Needed to connect."})),
        ("resourceGroup", string("The resource group of the machine resource (created when missing). Needed to connect.")),
        ("location", string("The Azure region of the machine resource, e.g. westeurope. Needed to connect.")),
        ("resourceName", string("The machine resource's name. Default: the host name without its domain.")),
        ("cloud", string("The Azure cloud: AzureCloud, AzureUSGovernment, AzureChinaCloud or a custom cloud (AZCM_CLOUD_FILE). Default: AZCM_CLOUD, else AzureCloud.")),
        ("tenantId", json!({"type": ["string", "null"], "pattern": guid, "description": "The Entra ID tenant (a GUID): the one the machine is connected in, and the service principal's."})),
        ("tags", json!({"type": ["object", "null"], "additionalProperties": {"type": "string"}, "maxProperties": 50, "description": "The machine resource's tags, all of them: named, set makes the resource's tags exactly these. Not named: left as they are."})),
        ("privateLinkScope", string("Resource id of the Azure Arc private link scope; null: none.")),
        ("gatewayId", string("Resource id of the Azure Arc gateway; null: none.")),
        ("resourceId", json!({"type": ["string", "null"], "readOnly": true, "description": "The machine resource's id (returned)."})),
        ("status", json!({"type": ["string", "null"], "readOnly": true, "description": "The agent's status as its metadata service reports it (returned)."})),
        ("servicePrincipalId", json!({"type": ["string", "null"], "writeOnly": true, "description": "Sign-in for set: the service principal's application (client) id, with tenantId and a secret or certificate."})),
        ("servicePrincipalSecret", secure_schema("Sign-in for set: the service principal's secret, from a secureString parameter only.")),
        ("servicePrincipalCertificate", json!({"type": ["string", "null"], "writeOnly": true, "description": "Sign-in for set: path of the service principal's certificate (PEM with its private key, or an unencrypted PFX)."})),
        ("servicePrincipalCertificateThumbprint", json!({"type": ["string", "null"], "writeOnly": true, "description": "Sign-in for set (Windows): thumbprint of the service principal's certificate in the LocalMachine\\My store."})),
        ("accessToken", secure_schema("Sign-in for set: an ARM access token, from a secureString parameter only.")),
        ("useAzureCli", flag("Sign-in for set: the Azure CLI's signed-in account on this machine.")),
        ("useDeviceCode", flag("Sign-in for set: a person signs in with a device code (shown as a warning trace).")),
        ("userTenantId", json!({"type": ["string", "null"], "pattern": guid, "writeOnly": true, "description": "Sign-in for set: the tenant a person signs in to, when it is not tenantId."})),
        ("forceLocalOnly", flag("With _exist false: reset this machine only and leave the Azure resource (no sign-in).")),
        (EXIST, json!({"type": ["boolean", "null"], "default": true, "description": "true: connected as the document says; false: not connected (set disconnects)."})),
        (IN_DESIRED_STATE, json!({"type": ["boolean", "null"], "readOnly": true, "description": "Returned by test: whether the machine is connected (or not) as the instance says."})),
    ]
}

/// The instance schema embedded in the manifest (`dsc resource schema` prints it).
pub fn instance_schema() -> Value {
    let mut properties = Map::new();
    for (name, mut schema) in instance_schema_properties() {
        schema["title"] = json!(name);
        properties.insert(name.to_string(), schema);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://schemas.azcm.invalid/v1/dsc/azcm-connection.schema.json",
        "title": RESOURCE_TYPE,
        "description": "Whether this machine is connected to Azure Arc, and as which machine resource. get, test and export need no credential; set signs in with the properties marked sign-in (secrets from secureString parameters only).",
        "type": "object",
        "additionalProperties": false,
        "properties": properties
    })
}

pub fn manifest() -> Value {
    super::manifest(
        RESOURCE_TYPE,
        "connection",
        "The Azure Connected Machine agent's connection to Azure Arc: connected or not, and as which machine resource (subscription, resource group, location, name, cloud, tags, private link scope, gateway).",
        instance_schema(),
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn config() -> AgentConfig {
        AgentConfig {
            resource_id: "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/web01".into(),
            resource_name: "web01".into(),
            subscription_id: "0b1f6471-1bf0-4dda-aec3-cb9272f09590".into(),
            resource_group: "rg".into(),
            location: "westeurope".into(),
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            cloud: "AzureCloud".into(),
            ..AgentConfig::default()
        }
    }

    #[test]
    fn the_place_compares_as_azure_does_and_tags_exactly() {
        let d = Desired::parse(&instance(json!({
            "subscriptionId": "0B1F6471-1BF0-4DDA-AEC3-CB9272F09590",
            "resourceGroup": "RG",
            "resourceName": "WEB01",
            "location": "West Europe",
            "cloud": "azurecloud",
            "privateLinkScope": null,
            "tags": {"Env": "prod"}
        })))
        .unwrap();
        let tags: BTreeMap<String, String> = [("env".to_string(), "prod".to_string())].into();
        assert_eq!(
            differing(&d, &config(), Some(&tags)).unwrap(),
            Vec::<String>::new()
        );
        let other: BTreeMap<String, String> = [("env".to_string(), "Prod".to_string())].into();
        assert_eq!(differing(&d, &config(), Some(&other)).unwrap(), ["tags"]);
        // Tags HIMDS did not give are not known to be right.
        assert_eq!(differing(&d, &config(), None).unwrap(), ["tags"]);
        let moved = Desired::parse(&instance(json!({
            "resourceName": "web01", "location": "eastus", "gatewayId": "/subscriptions/x/resourceGroups/g/providers/Microsoft.HybridCompute/gateways/gw"
        })))
        .unwrap();
        assert_eq!(
            differing(&moved, &config(), None).unwrap(),
            ["location", "gatewayId"]
        );
    }

    #[test]
    fn secrets_come_only_as_secure_strings_and_are_never_echoed() {
        for bad in [
            json!("plain"),
            json!({"secureString": 5}),
            json!({"secureString": "s", "x": 1}),
            json!(["s"]),
        ] {
            let err = Desired::parse(&instance(json!({"servicePrincipalSecret": bad})))
                .err()
                .unwrap();
            assert_eq!(err.code, ErrorCode::INVALID_ARGUMENT);
            assert!(!err.to_string().contains("plain"), "{err}");
        }
        let d = Desired::parse(&instance(json!({"accessToken": {"secureString": "t0k"}, "servicePrincipalSecret": {"secureString": " "}}))).unwrap();
        assert_eq!(
            d.sign_in.access_token.as_ref().map(|s| s.secret()),
            Some("t0k")
        );
        assert!(
            d.sign_in.service_principal_secret.is_none(),
            "blank is none"
        );
    }

    #[test]
    fn state_never_holds_a_sign_in_property() {
        let current = Current {
            config: Some(config()),
            tags: Some(BTreeMap::new()),
            status: Some("Connected".into()),
        };
        let state = current.state();
        for key in state.keys() {
            let schema = &instance_schema()["properties"][key];
            assert!(schema.is_object(), "{key} is not in the schema");
            assert_ne!(schema["writeOnly"], true, "{key} is write-only");
        }
        assert_eq!(
            Current {
                config: None,
                tags: None,
                status: None
            }
            .state(),
            instance(json!({"_exist": false}))
        );
    }
}
