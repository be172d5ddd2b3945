//! The steps of onboarding, each one call or a few on ARM or the local state.

use super::OnboardingRequest;
use crate::arm::{
    session, Arm, AUTOMANAGE_API_VERSION, GATEWAY_API_VERSION, RESOURCES_API_VERSION,
    SUBSCRIPTIONS_API_VERSION,
};
use crate::context::Context;
use crate::error::{AzcmError, ErrorCode, Result};
use crate::keys::{self, RsaKey};
use crate::network_check::{self, dns::Resolver, CheckOptions, Plan};
use crate::operation::Actions;
use crate::platform;
use crate::settings;
use crate::state::agentconfig::AgentConfig;
use crate::state::localconfig::{LocalConfigTxn, ProxySettings};
use crate::state::AgentPaths;
use crate::{ids, imds};
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// Resource providers an Arc-enabled server needs registered in its subscription.
const RESOURCE_PROVIDERS: &[&str] = &[
    "Microsoft.HybridCompute",
    "Microsoft.GuestConfiguration",
    "Microsoft.HybridConnectivity",
];

/// Where the machine resource goes, once the subscription is resolved.
pub struct Place<'r> {
    pub subscription_id: &'r str,
    pub req: &'r OnboardingRequest,
}

impl Place<'_> {
    fn machine_path(&self) -> String {
        session::machine_path(
            self.subscription_id,
            &self.req.resource_group,
            &self.req.resource_name,
            &self.req.api_version,
        )
    }

    /// The machine's resource id, for when ARM has not answered with one (what-if).
    pub fn machine_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.HybridCompute/machines/{}",
            self.subscription_id, self.req.resource_group, self.req.resource_name
        )
    }
}

fn already_connected_error(config: &AgentConfig) -> AzcmError {
    AzcmError::new(
        ErrorCode::ALREADY_CONNECTED,
        format!(
            "this machine is already connected as {}",
            config.resource_id
        ),
    )
    .with_detail("resourceId", config.resource_id.clone())
}

/// A connected machine connects again only to the same resource (a re-run converges). Before
/// sign-in the subscription may still be a name: it is compared once resolved.
pub fn refuse_another_place(
    req: &OnboardingRequest,
    existing: Option<&AgentConfig>,
    resolved_subscription: Option<&str>,
) -> Result<()> {
    let Some(config) = existing else {
        return Ok(());
    };
    let same_place = match resolved_subscription {
        Some(subscription) => {
            config.is_resource(subscription, &req.resource_group, &req.resource_name)
        }
        None => {
            config
                .resource_group
                .eq_ignore_ascii_case(&req.resource_group)
                && config
                    .resource_name
                    .eq_ignore_ascii_case(&req.resource_name)
                && (!ids::is_guid(&req.subscription)
                    || config
                        .subscription_id
                        .eq_ignore_ascii_case(&req.subscription))
        }
    };
    match same_place {
        true => Ok(()),
        false => Err(already_connected_error(config)),
    }
}

/// The machine is not an Azure VM (IMDS, or the Azure guest agent's services), unless
/// `MSFT_ARC_TEST` says this is an evaluation on one.
pub async fn refuse_azure_vm(ctx: &Context<'_>) -> Result<()> {
    if std::env::var_os("MSFT_ARC_TEST").is_some_and(|v| !v.is_empty()) {
        ctx.report
            .verbose("MSFT_ARC_TEST is set: skipping the Azure VM check");
        return Ok(());
    }
    let evidence = imds::azure_vm_evidence().await;
    if evidence.is_empty() {
        return Ok(());
    }
    Err(AzcmError::new(
        ErrorCode::CONNECT_FAILED,
        format!("this machine is an Azure VM ({}); Azure Arc-enabled servers is for machines outside Azure", evidence.join("; ")),
    )
    .with_detail("evidence", evidence)
    .with_remediation("Manage Azure VMs natively in Azure. To evaluate Azure Arc on an Azure VM, follow Microsoft's evaluation guidance and set MSFT_ARC_TEST=true."))
}

/// The connectivity check of `azcm check`, before anything is changed: AZCM0026 when a
/// required endpoint fails, unless the request ignores the network check (then a warning).
pub async fn network_check(
    ctx: &Context<'_>,
    req: &OnboardingRequest,
    existing: Option<&AgentConfig>,
) -> Result<()> {
    let options = CheckOptions {
        extensions: Vec::new(),
        include_all: false,
        private_link_mode: req.private_link_scope.is_some(),
        resolver: Resolver::System,
        stage_timeout: Duration::from_secs(10),
        // The Azure VM guard has just asked.
        detect_azure_vm: false,
    };
    let plan = Plan::for_machine(
        req.cloud.clone(),
        req.location.clone(),
        ProxySettings::load(ctx.paths()?)?,
        existing,
        options,
        ctx.report,
    );
    let report = network_check::run(&plan, ctx.report).await?;
    let s = &report.summary;
    ctx.report.verbose(&format!(
        "network check: {} of {} required endpoints reachable in {} ms",
        s.required_reachable, s.required_total, s.wall_ms
    ));
    match network_check::verdict::verdict(&report) {
        Ok(()) => Ok(()),
        Err(err) if req.ignore_network_check => {
            ctx.report.warning(&format!(
                "--ignore-network-check: continuing although {}",
                err.message
            ));
            Ok(())
        }
        Err(err) => Err(err.with_remediation(
            "Fix what the check names (run `azcm check` to repeat it), or connect with --ignore-network-check to continue anyway.",
        )),
    }
}

/// The subscription as ARM has it.
pub struct Subscription {
    pub id: String,
    pub tenant_id: Option<String>,
}

/// The subscription by id, or by display name among those the sign-in sees.
pub async fn resolve_subscription(arm: &Arm<'_>, given: &str) -> Result<Subscription> {
    let found = |value: &Value| Subscription {
        id: value["subscriptionId"].as_str().unwrap_or("").to_string(),
        tenant_id: value["tenantId"].as_str().map(str::to_string),
    };
    if ids::is_guid(given) {
        let path = format!("/subscriptions/{given}?api-version={SUBSCRIPTIONS_API_VERSION}");
        let reply = arm
            .call(
                "subscription lookup",
                ErrorCode::CONNECT_FAILED,
                Method::GET,
                &path,
                None,
            )
            .await
            .map_err(|e| subscription_not_visible(e, given))?;
        return Ok(found(&reply.body));
    }
    let path = format!("/subscriptions?api-version={SUBSCRIPTIONS_API_VERSION}");
    let list = arm
        .call(
            "subscription lookup",
            ErrorCode::SUBSCRIPTION_LOOKUP,
            Method::GET,
            &path,
            None,
        )
        .await?
        .body;
    let named: Vec<&Value> = list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| {
            s["displayName"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(given))
        })
        .collect();
    match named.as_slice() {
        [one] => Ok(found(one)),
        [] => Err(AzcmError::new(
            ErrorCode::SUBSCRIPTION_LOOKUP,
            format!("no subscription named '{given}' is visible to these credentials"),
        )),
        _ => Err(AzcmError::new(
            ErrorCode::SUBSCRIPTION_LOOKUP,
            format!("several subscriptions are named '{given}'"),
        )),
    }
}

/// ARM's 404 (SubscriptionNotFound) or 403 for a subscription id: the id is wrong, or the
/// principal has no access to it. Other failures (throttling, outages) keep their code.
fn subscription_not_visible(err: AzcmError, given: &str) -> AzcmError {
    let status = err.details.get("httpStatus").and_then(Value::as_u64);
    if !matches!(status, Some(403 | 404)) {
        return err;
    }
    AzcmError {
        code: ErrorCode::SUBSCRIPTION_LOOKUP,
        message: format!(
            "the subscription {given} is not visible to these credentials: {}",
            err.message
        ),
        remediation: None,
        ..err
    }
}

/// Registers the resource providers the subscription lacks and waits until they are.
pub async fn register_providers(
    arm: &Arm<'_>,
    place: &Place<'_>,
    actions: &mut Actions,
) -> Result<()> {
    let subscription_id = place.subscription_id;
    for namespace in RESOURCE_PROVIDERS {
        let path = format!("/subscriptions/{subscription_id}/providers/{namespace}?api-version={RESOURCES_API_VERSION}");
        if registration_state(arm, &path).await? == "Registered" {
            continue;
        }
        actions.add(
            "registerResourceProvider",
            namespace,
            format!("Register the resource provider {namespace}"),
        );
        if place.req.what_if {
            continue;
        }
        let register = format!("/subscriptions/{subscription_id}/providers/{namespace}/register?api-version={RESOURCES_API_VERSION}");
        arm.call(
            "resource provider registration",
            ErrorCode::CONNECT_FAILED,
            Method::POST,
            &register,
            None,
        )
        .await?;
        wait_registered(arm, &path, namespace, place.req.retry_budget).await?;
    }
    Ok(())
}

/// A resource provider's registration state in the subscription.
async fn registration_state(arm: &Arm<'_>, path: &str) -> Result<String> {
    let reply = arm
        .call(
            "resource provider lookup",
            ErrorCode::CONNECT_FAILED,
            Method::GET,
            path,
            None,
        )
        .await?;
    Ok(reply.body["registrationState"]
        .as_str()
        .unwrap_or("")
        .to_string())
}

/// Registration takes seconds to minutes: poll with a growing pause, within the retry budget.
async fn wait_registered(
    arm: &Arm<'_>,
    path: &str,
    namespace: &str,
    budget: Duration,
) -> Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(200);
    loop {
        if registration_state(arm, path).await? == "Registered" {
            return Ok(());
        }
        if started.elapsed() + pause > budget {
            return Err(AzcmError::new(ErrorCode::CONNECT_FAILED, format!("{namespace} did not finish registering within {}s", budget.as_secs()))
                .with_remediation(format!("Register {namespace} in the subscription (Azure portal or `az provider register`), then run connect again.")));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

/// Creates the resource group when it is missing; whether it existed before.
pub async fn ensure_resource_group(
    arm: &Arm<'_>,
    place: &Place<'_>,
    actions: &mut Actions,
) -> Result<bool> {
    let req = place.req;
    let path = format!(
        "/subscriptions/{}/resourcegroups/{}?api-version={RESOURCES_API_VERSION}",
        place.subscription_id, req.resource_group
    );
    let exists = arm
        .get_if_exists("resource group lookup", ErrorCode::RESOURCE_CREATION, &path)
        .await?
        .is_some();
    if !exists {
        actions.add(
            "createResourceGroup",
            &req.resource_group,
            format!(
                "Create resource group {} in {}",
                req.resource_group, req.location
            ),
        );
        if !req.what_if {
            arm.call(
                "resource group creation",
                ErrorCode::RESOURCE_CREATION,
                Method::PUT,
                &path,
                Some(&json!({"location": req.location})),
            )
            .await?;
        }
    }
    Ok(exists)
}

/// The Arc gateway's endpoint URL, which the agent then reaches Azure through.
pub async fn gateway_endpoint(arm: &Arm<'_>, gateway_id: &str) -> Result<String> {
    let path = format!("{gateway_id}?api-version={GATEWAY_API_VERSION}");
    let reply = arm
        .call(
            "gateway lookup",
            ErrorCode::CONNECT_FAILED,
            Method::GET,
            &path,
            None,
        )
        .await?;
    Ok(reply.body["properties"]["gatewayEndpoint"]
        .as_str()
        .unwrap_or("")
        .to_string())
}

/// The machine resource, when it exists.
pub async fn machine_resource(arm: &Arm<'_>, place: &Place<'_>) -> Result<Option<Value>> {
    Ok(arm
        .get_if_exists(
            "machine lookup",
            ErrorCode::RESOURCE_CREATION,
            &place.machine_path(),
        )
        .await?
        .map(|reply| reply.body))
}

/// The machine's onboarding key: the one kept from an earlier (perhaps interrupted) connect, or
/// none yet. An existing resource must carry this key's public half, or it is another machine's.
pub struct MachineKey {
    path: PathBuf,
    kept: Option<RsaKey>,
}

impl MachineKey {
    pub fn find(
        paths: &AgentPaths,
        req: &OnboardingRequest,
        current: Option<&Value>,
    ) -> Result<Self> {
        let path = paths.onboarding_key();
        let kept = match path.exists() {
            true => Some(keys::load_private(&path)?),
            false => None,
        };
        if let Some(machine) = current {
            let public_key = kept.as_ref().map(keys::client_public_key).transpose()?;
            let theirs = machine["properties"]["clientPublicKey"]
                .as_str()
                .unwrap_or("");
            if public_key.as_deref() != Some(theirs) {
                return Err(AzcmError::new(
                    ErrorCode::RESOURCE_EXISTS,
                    format!("a machine resource named {} already exists in {} and belongs to another machine", req.resource_name, req.resource_group),
                )
                .with_detail("resourceId", machine["id"].clone()));
            }
        }
        Ok(Self { path, kept })
    }

    /// The public key for the resource, generating (and keeping) a key pair the first time.
    fn public_key(self, ctx: &Context<'_>) -> Result<String> {
        let key = match self.kept {
            Some(key) => key,
            None => {
                ctx.report.verbose("generating the machine's RSA key pair");
                let key = keys::generate()?;
                // Kept before the PUT, so an interrupted connect finds its key again.
                keys::save_private(&self.path, &key)?;
                key
            }
        };
        keys::client_public_key(&key)
    }
}

/// The machine's facts for the resource, warning about each one that cannot be read.
pub fn os_facts(ctx: &Context<'_>) -> platform::OsFacts {
    let facts = platform::os_facts();
    for (fact, value) in [
        ("OS version", &facts.os_version),
        ("OS product name", &facts.os_sku),
        ("DNS fully qualified domain name", &facts.fqdn),
    ] {
        if value.is_none() {
            ctx.report.warning(&format!(
                "could not read this machine's {fact}; it is left out of the machine resource"
            ));
        }
    }
    facts
}

/// Creates (or updates) the machine resource; ARM's answer.
pub async fn put_machine(
    ctx: &Context<'_>,
    arm: &Arm<'_>,
    place: &Place<'_>,
    key: MachineKey,
    facts: &platform::OsFacts,
) -> Result<Value> {
    let body = machine_body(place.req, &key.public_key(ctx)?, facts);
    Ok(arm
        .call(
            "machine creation",
            ErrorCode::RESOURCE_CREATION,
            Method::PUT,
            &place.machine_path(),
            Some(&body),
        )
        .await?
        .body)
}

/// Replaces the machine resource's tags (ARM's PATCH replaces the whole `tags` object); ARM's
/// answer.
pub async fn patch_tags(
    arm: &Arm<'_>,
    place: &Place<'_>,
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<Value> {
    Ok(arm
        .call(
            "machine tags update",
            ErrorCode::RESOURCE_CREATION,
            Method::PATCH,
            &place.machine_path(),
            Some(&json!({ "tags": tags })),
        )
        .await?
        .body)
}

/// The resource to PUT. ARM keeps what the spec lets a client write (clientPublicKey, osType,
/// ...); the OS facts it marks read-only are sent as azcmagent reports them and ARM drops them.
fn machine_body(req: &OnboardingRequest, public_key: &str, facts: &platform::OsFacts) -> Value {
    let mut properties = Map::new();
    properties.insert("clientPublicKey".into(), json!(public_key));
    properties.insert("osType".into(), json!(facts.os_type));
    properties.insert("osName".into(), json!(facts.os_type));
    properties.insert("agentVersion".into(), json!(env!("CARGO_PKG_VERSION")));
    for (key, value) in [
        ("osVersion", &facts.os_version),
        ("osSku", &facts.os_sku),
        ("dnsFqdn", &facts.fqdn),
        ("domainName", &facts.domain),
    ] {
        if let Some(value) = value {
            properties.insert(key.into(), json!(value));
        }
    }
    if let Some(provider) = &facts.cloud_provider {
        properties.insert("cloudMetadata".into(), json!({ "provider": provider }));
    }
    if let Some(scope) = &req.private_link_scope {
        properties.insert("privateLinkScopeResourceId".into(), json!(scope));
    }
    if req.enable_automatic_upgrade {
        properties.insert(
            "agentUpgrade".into(),
            json!({"enableAutomaticUpgrade": true}),
        );
    }
    json!({
        "location": req.location,
        "identity": {"type": "SystemAssigned"},
        "tags": req.tags.clone().unwrap_or_default(),
        "properties": properties,
    })
}

/// Routes the machine's traffic through the Arc gateway (the machine's `settings/default`).
pub async fn associate_gateway(arm: &Arm<'_>, resource_id: &str, gateway_id: &str) -> Result<()> {
    let path = format!("{resource_id}/providers/Microsoft.HybridCompute/settings/default?api-version={GATEWAY_API_VERSION}");
    let body = json!({"properties": {"gatewayProperties": {"gatewayResourceId": gateway_id}}});
    put_child(arm, "gateway association", &path, &body).await
}

pub async fn assign_automanage(arm: &Arm<'_>, resource_id: &str, profile: &str) -> Result<()> {
    let path = format!(
        "{resource_id}/providers/Microsoft.Automanage/configurationProfileAssignments/default?api-version={AUTOMANAGE_API_VERSION}"
    );
    let body = json!({"properties": {"configurationProfile": profile}});
    put_child(arm, "Automanage profile assignment", &path, &body).await
}

/// A PUT of a resource below the machine; ARM's answer is not needed.
async fn put_child(arm: &Arm<'_>, what: &str, path: &str, body: &Value) -> Result<()> {
    arm.call(
        what,
        ErrorCode::RESOURCE_CREATION,
        Method::PUT,
        path,
        Some(body),
    )
    .await?;
    Ok(())
}

/// agentconfig.json's contents for the machine resource ARM answered with.
pub fn agent_config(
    place: &Place<'_>,
    machine: &Value,
    tenant_id: &str,
    gateway_url: &str,
) -> AgentConfig {
    let req = place.req;
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    AgentConfig {
        resource_id: text(&machine["id"]),
        resource_name: req.resource_name.clone(),
        subscription_id: place.subscription_id.to_string(),
        resource_group: req.resource_group.clone(),
        location: req.location.clone(),
        tenant_id: tenant_id.to_string(),
        cloud: req.cloud.name.clone(),
        vm_id: text(&machine["properties"]["vmId"]),
        principal_id: text(&machine["identity"]["principalId"]),
        correlation_id: req.correlation_id.clone(),
        private_link_scope: req.private_link_scope.clone().unwrap_or_default(),
        gateway_id: req.gateway_id.clone().unwrap_or_default(),
        gateway_url: gateway_url.to_string(),
        api_version: req.api_version.clone(),
        connected_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
    }
}

/// Writes agentconfig.json and, with a gateway, switches the agent to reach Azure through it.
pub fn write_local_state(paths: &AgentPaths, config: &AgentConfig, gateway: bool) -> Result<()> {
    config.save(&paths.agent_config())?;
    if gateway {
        let mut txn = LocalConfigTxn::begin(paths)?;
        let applied = settings::apply(
            &txn.config.settings,
            settings::find("connection.type")?,
            settings::Change::Set("gateway"),
        )?;
        txn.config.settings = applied.stored;
        txn.commit()?;
    }
    Ok(())
}
