//! Onboarding a machine to Azure Arc, the work behind `azcm connect`: check the local state,
//! refuse Azure VMs, check the network, sign in, then subscription → resource providers →
//! resource group → (gateway) → machine resource → key → gateway association / Automanage →
//! agent configuration → services. Each step is reported and timed; a re-run converges; a
//! what-if request changes nothing and lists what it would change.

pub mod request;
mod steps;

use crate::arm::session;
use crate::auth::AuthMethod;
use crate::cloud::Cloud;
use crate::context::Context;
use crate::error::Result;
use crate::operation::{Action, Actions, Step, StepTiming, Steps};
use crate::platform::{self, ServiceOutcome};
use crate::state::agentconfig::AgentConfig;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Everything `connect` was asked for, validated: no step reads a flag.
#[derive(Debug)]
pub struct OnboardingRequest {
    pub cloud: Cloud,
    pub location: String,
    /// A subscription id, or a display name resolved once signed in.
    pub subscription: String,
    pub resource_group: String,
    pub resource_name: String,
    /// `None`: not named; the resource a PUT creates (or takes over for this machine) gets no
    /// tags, a connected machine's resource keeps its own.
    pub tags: Option<BTreeMap<String, String>>,
    pub correlation_id: String,
    pub api_version: String,
    pub private_link_scope: Option<String>,
    pub gateway_id: Option<String>,
    pub automanage_profile: Option<String>,
    pub enable_automatic_upgrade: bool,
    pub ignore_network_check: bool,
    pub what_if: bool,
    /// How long ARM calls and their retries may take, all told.
    pub retry_budget: Duration,
    /// The tenant the sign-in names, used when the subscription does not say.
    pub tenant_hint: Option<String>,
}

/// What onboarding did (or, what-if, would do), as `connect --json` returns it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnboardingResult {
    pub resource_id: String,
    pub resource_name: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub location: String,
    pub tenant_id: String,
    pub cloud: String,
    pub vm_id: String,
    pub principal_id: String,
    pub correlation_id: String,
    pub portal_link: String,
    pub already_connected: bool,
    pub what_if: bool,
    pub actions: Vec<Action>,
    pub services: Vec<ServiceOutcome>,
    pub steps: Vec<StepTiming>,
    pub os_facts: platform::OsFacts,
}

/// The steps a request can take, in order; [`plan`] keeps those it needs.
const LOCAL_STATE: Step = Step::new("localState", "checking the local agent state");
const AZURE_VM: Step = Step::new("azureVm", "checking this is not an Azure VM");
const NETWORK_CHECK: Step = Step::new(
    "networkCheck",
    "checking this machine reaches Azure Arc's endpoints",
);
const TOKEN: Step = Step::new("token", "signing in to Entra ID");
const SUBSCRIPTION: Step = Step::new("subscription", "resolving the subscription");
const RESOURCE_PROVIDERS: Step = Step::new(
    "resourceProviders",
    "checking resource provider registration",
);
const RESOURCE_GROUP: Step = Step::new("resourceGroup", "checking the resource group");
const GATEWAY: Step = Step::new("gateway", "checking the Azure Arc gateway");
const MACHINE: Step = Step::new("machine", "checking the machine resource");
const KEY_PAIR: Step = Step::new("keyPair", "preparing the machine's key pair");
const MACHINE_PUT: Step = Step::new("machinePut", "creating the machine resource");
const TAGS: Step = Step::new("tags", "updating the machine's tags");
const GATEWAY_ASSOCIATION: Step = Step::new(
    "gatewayAssociation",
    "associating the machine with the gateway",
);
const AUTOMANAGE: Step = Step::new(
    "automanage",
    "assigning the Automanage configuration profile",
);
const AGENT_CONFIG: Step = Step::new("agentConfig", "writing the agent configuration");
const SERVICES: Step = Step::new("services", "restarting the agent services");

/// The steps this request takes; an already connected machine passes over the changing ones.
pub fn plan(req: &OnboardingRequest) -> Vec<Step> {
    let changes = !req.what_if;
    let gateway = req.gateway_id.is_some();
    [
        (LOCAL_STATE, true),
        (AZURE_VM, true),
        (NETWORK_CHECK, true),
        (TOKEN, true),
        (SUBSCRIPTION, true),
        (RESOURCE_PROVIDERS, true),
        (RESOURCE_GROUP, true),
        (GATEWAY, gateway),
        (MACHINE, true),
        (KEY_PAIR, true),
        (MACHINE_PUT, changes),
        (TAGS, changes && req.tags.is_some()),
        (GATEWAY_ASSOCIATION, changes && gateway),
        (AUTOMANAGE, changes && req.automanage_profile.is_some()),
        (AGENT_CONFIG, changes),
        (SERVICES, changes),
    ]
    .into_iter()
    .filter_map(|(step, needed)| needed.then_some(step))
    .collect()
}

/// Onboards as a face asks (`operation` names it for the admin check and the lock): a change
/// needs an administrator and holds the change lock; what-if changes nothing and runs beside
/// anything. `tenant` is the tenant the face named, for a token that does not say.
pub fn connect(
    ctx: &Context<'_>,
    mut req: OnboardingRequest,
    method: AuthMethod,
    tenant: Option<&str>,
    operation: &str,
) -> Result<OnboardingResult> {
    req.tenant_hint = crate::auth::flags::tenant_hint(&method, tenant);
    let _changing = match req.what_if {
        true => None,
        false => {
            ctx.require_admin_to_change_state(operation)?;
            Some(crate::state::ChangeLock::acquire(ctx.paths()?, operation)?)
        }
    };
    ctx.block_on(onboard(ctx, &req, method))?
}

/// Runs the request's steps; an error names the step's failure, and what was done before it
/// stays done (a re-run converges).
pub async fn onboard(
    ctx: &Context<'_>,
    req: &OnboardingRequest,
    method: AuthMethod,
) -> Result<OnboardingResult> {
    let paths = ctx.paths()?;
    let activity = if req.what_if {
        "Connect (what-if)"
    } else {
        "Connect"
    };
    let mut steps = Steps::new(ctx.report, activity, plan(req));
    let mut actions = Actions::new(req.what_if);

    steps.begin(LOCAL_STATE.name);
    let existing = AgentConfig::load(&paths.agent_config())?;
    steps::refuse_another_place(req, existing.as_ref(), None)?;

    steps.begin(AZURE_VM.name);
    steps::refuse_azure_vm(ctx).await?;

    steps.begin(NETWORK_CHECK.name);
    steps::network_check(ctx, req, existing.as_ref()).await?;

    steps.begin(TOKEN.name);
    ctx.report.verbose(&format!(
        "signing in to Entra ID with {}",
        method.description()
    ));
    let arm = session::sign_in(
        ctx,
        &req.cloud,
        method,
        req.retry_budget,
        req.correlation_id.clone(),
    )
    .await?;

    steps.begin(SUBSCRIPTION.name);
    let subscription = steps::resolve_subscription(&arm, &req.subscription).await?;
    let tenant_id = subscription
        .tenant_id
        .clone()
        .or_else(|| req.tenant_hint.clone())
        .unwrap_or_default();
    steps::refuse_another_place(req, existing.as_ref(), Some(&subscription.id))?;
    let place = steps::Place {
        subscription_id: &subscription.id,
        req,
    };

    steps.begin(RESOURCE_PROVIDERS.name);
    steps::register_providers(&arm, &place, &mut actions).await?;

    steps.begin(RESOURCE_GROUP.name);
    let group_exists = steps::ensure_resource_group(&arm, &place, &mut actions).await?;

    let gateway_url = match &req.gateway_id {
        Some(gateway) => {
            steps.begin(GATEWAY.name);
            steps::gateway_endpoint(&arm, gateway).await?
        }
        None => String::new(),
    };

    steps.begin(MACHINE.name);
    let current = match group_exists {
        true => steps::machine_resource(&arm, &place).await?,
        false => None,
    };

    steps.begin(KEY_PAIR.name);
    let key = steps::MachineKey::find(paths, req, current.as_ref())?;
    let already_connected = existing.is_some() && current.is_some();
    let facts = steps::os_facts(ctx);
    match (already_connected, current.is_some()) {
        (true, _) => {}
        (false, true) => actions.add(
            "updateMachine",
            &req.resource_name,
            format!(
                "Update machine {} in resource group {} for this machine",
                req.resource_name, req.resource_group
            ),
        ),
        (false, false) => actions.add(
            "createMachine",
            &req.resource_name,
            format!(
                "Create machine {} in resource group {} ({})",
                req.resource_name, req.resource_group, req.location
            ),
        ),
    }
    let change = !req.what_if && !already_connected;
    let mut machine = match change {
        true => {
            steps.begin(MACHINE_PUT.name);
            steps::put_machine(ctx, &arm, &place, key, &facts).await?
        }
        false => current.unwrap_or(Value::Null),
    };
    // A connected machine keeps its resource; tags the request names that differ from the
    // resource's are all that changes (a new or re-created resource got them in its PUT).
    if let Some(tags) = req.tags.as_ref().filter(|_| already_connected) {
        if !request::same_tags(tags, &request::tags_of(&machine["tags"])) {
            actions.add(
                "updateTags",
                &req.resource_name,
                format!(
                    "Set the tags of machine {} to {}",
                    req.resource_name,
                    request::tags_text(tags)
                ),
            );
            if !req.what_if {
                steps.begin(TAGS.name);
                machine = steps::patch_tags(&arm, &place, tags).await?;
            }
        }
    }
    let resource_id = machine["id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| place.machine_id());

    attach(&arm, req, &resource_id, change, &mut steps, &mut actions).await?;

    let config = steps::agent_config(&place, &machine, &tenant_id, &gateway_url);
    let mut services = Vec::new();
    if change {
        steps.begin(AGENT_CONFIG.name);
        steps::write_local_state(paths, &config, req.gateway_id.is_some())?;
        steps.begin(SERVICES.name);
        services = platform::restart_agent_services(ctx.report);
    }

    Ok(OnboardingResult {
        portal_link: req.cloud.portal_link(&tenant_id, &resource_id),
        resource_id,
        resource_name: req.resource_name.clone(),
        subscription_id: subscription.id,
        resource_group: req.resource_group.clone(),
        location: req.location.clone(),
        tenant_id,
        cloud: req.cloud.name.clone(),
        vm_id: config.vm_id,
        principal_id: config.principal_id,
        correlation_id: req.correlation_id.clone(),
        already_connected,
        what_if: req.what_if,
        actions: actions.list,
        services,
        steps: steps.finish(),
        os_facts: facts,
    })
}

/// The gateway association and the Automanage profile assignment the request asks for.
async fn attach(
    arm: &crate::arm::Arm<'_>,
    req: &OnboardingRequest,
    resource_id: &str,
    change: bool,
    steps: &mut Steps<'_>,
    actions: &mut Actions,
) -> Result<()> {
    if let Some(gateway) = &req.gateway_id {
        actions.add(
            "associateGateway",
            gateway,
            format!("Route the machine through the Arc gateway {gateway}"),
        );
        if change {
            steps.begin(GATEWAY_ASSOCIATION.name);
            steps::associate_gateway(arm, resource_id, gateway).await?;
        }
    }
    if let Some(profile) = &req.automanage_profile {
        actions.add(
            "assignAutomanageProfile",
            profile,
            format!("Assign the Automanage profile {profile}"),
        );
        if change {
            steps.begin(AUTOMANAGE.name);
            steps::assign_automanage(arm, resource_id, profile).await?;
        }
    }
    Ok(())
}
