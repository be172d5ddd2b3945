//! Offboarding a machine from Azure Arc, the work behind `azcm disconnect`: delete the machine
//! resource (waiting for ARM's long-running operation), then reset the local state: agent
//! configuration and key. A resource already gone is a warning; without a sign-in (local only)
//! Azure is not touched.

use crate::arm::session;
use crate::auth::AuthMethod;
use crate::context::Context;
use crate::error::{AzcmError, ErrorCode, Result};
use crate::operation::{Action, Actions, Step, StepTiming, Steps};
use crate::platform::{self, ServiceOutcome};
use crate::state::agentconfig::AgentConfig;
use crate::state::AgentPaths;
use reqwest::Method;
use serde::Serialize;
use std::time::Duration;

/// What offboarding did (or, what-if, would do), as `disconnect --json` returns it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OffboardingResult {
    pub resource_id: String,
    pub resource_deleted: bool,
    pub local_only: bool,
    pub what_if: bool,
    pub actions: Vec<Action>,
    pub services: Vec<ServiceOutcome>,
    pub steps: Vec<StepTiming>,
}

/// An offboarding, resolved by its face.
pub struct OffboardingRequest {
    pub retry_budget: Duration,
    pub what_if: bool,
    /// The face's name for the change, for the admin check ("disconnect").
    pub operation: &'static str,
    /// The face's name for a local-only disconnect, for its warning ("--force-local-only").
    pub local_only_name: &'static str,
}

const TOKEN: Step = Step::new("token", "signing in to Entra ID");
const MACHINE: Step = Step::new("machine", "checking the machine resource");
const MACHINE_DELETE: Step = Step::new("machineDelete", "deleting the machine resource");
const LOCAL_STATE: Step = Step::new("localState", "resetting the local agent state");
const SERVICES: Step = Step::new("services", "restarting the agent services");

fn plan(azure: bool, what_if: bool) -> Vec<Step> {
    let changes = !what_if;
    [
        (TOKEN, azure),
        (MACHINE, azure),
        (MACHINE_DELETE, azure && changes),
        (LOCAL_STATE, changes),
        (SERVICES, changes),
    ]
    .into_iter()
    .filter_map(|(step, needed)| needed.then_some(step))
    .collect()
}

/// The error for a machine with nothing to disconnect.
pub fn not_connected() -> AzcmError {
    AzcmError::new(
        ErrorCode::DISCONNECT_FAILED,
        "this machine is not connected to Azure Arc",
    )
    .with_detail("reason", "notConnected")
    // What the module turns into its NotConnected row (Disconnect-AzcmAgent).
    .with_detail("state", serde_json::json!({"connected": false}))
    .with_remediation("Nothing to disconnect. Run `azcm connect` to connect it.")
}

/// Offboards this machine. `sign_in` is asked once the machine is known to be connected: the
/// method to delete the resource with, or `None` to reset this machine only.
pub fn offboard(
    ctx: &Context<'_>,
    req: &OffboardingRequest,
    sign_in: impl FnOnce() -> Result<Option<AuthMethod>>,
) -> Result<OffboardingResult> {
    let paths = ctx.paths()?;
    // Taken before the state is read: a connect running beside must not change it underneath.
    let _changing = match req.what_if {
        true => None,
        false if paths.is_system_root() && !crate::platform::is_elevated() => None,
        false => Some(crate::state::ChangeLock::acquire(paths, req.operation)?),
    };
    let Some(config) = AgentConfig::load(&paths.agent_config())? else {
        return Err(not_connected());
    };
    let method = sign_in()?;
    if method.is_none() && !req.what_if {
        ctx.report.warning(&format!(
            "{} resets this machine only: the Azure resource {} still exists; delete it in the Azure portal or with `az resource delete --ids {}`",
            req.local_only_name, config.resource_id, config.resource_id
        ));
    }
    if !req.what_if {
        ctx.require_admin_to_change_state(req.operation)?;
    }
    let activity = match req.what_if {
        true => "Disconnect (what-if)",
        false => "Disconnect",
    };
    let local_only = method.is_none();
    let mut steps = Steps::new(ctx.report, activity, plan(!local_only, req.what_if));
    let mut actions = Actions::new(req.what_if);
    let deleted = match method {
        Some(method) => ctx.block_on(delete_machine(
            ctx,
            &config,
            method,
            req.retry_budget,
            &mut steps,
            &mut actions,
        ))??,
        None => false,
    };
    let local = paths.agent_config().display().to_string();
    actions.add(
        "resetLocalState",
        &local,
        format!("Reset the local agent state ({local} and the onboarding key)"),
    );
    let mut services = Vec::new();
    if !req.what_if {
        steps.begin(LOCAL_STATE.name);
        reset_local_state(paths)?;
        steps.begin(SERVICES.name);
        services = platform::restart_agent_services(ctx.report);
    }
    Ok(OffboardingResult {
        resource_id: config.resource_id.clone(),
        resource_deleted: deleted,
        local_only,
        what_if: req.what_if,
        actions: actions.list,
        services,
        steps: steps.finish(),
    })
}

/// Deletes the machine resource and waits for ARM to finish; whether it was deleted (a resource
/// already gone is a warning, and what-if deletes nothing).
async fn delete_machine(
    ctx: &Context<'_>,
    config: &AgentConfig,
    method: AuthMethod,
    budget: Duration,
    steps: &mut Steps<'_>,
    actions: &mut Actions,
) -> Result<bool> {
    steps.begin(TOKEN.name);
    let (arm, path) = session::machine_session(ctx, config, method, budget).await?;
    steps.begin(MACHINE.name);
    let exists = arm
        .get_if_exists("machine lookup", ErrorCode::RESOURCE_DELETION, &path)
        .await?
        .is_some();
    if !exists {
        ctx.report.warning(&format!(
            "{} no longer exists in Azure; resetting the local state only",
            config.resource_id
        ));
        return Ok(false);
    }
    actions.add(
        "deleteMachine",
        &config.resource_id,
        format!(
            "Delete machine {} in resource group {}",
            config.resource_name, config.resource_group
        ),
    );
    if actions.what_if() {
        return Ok(false);
    }
    steps.begin(MACHINE_DELETE.name);
    let started = arm
        .call(
            "machine deletion",
            ErrorCode::RESOURCE_DELETION,
            Method::DELETE,
            &path,
            None,
        )
        .await?;
    arm.wait_for_operation("machine deletion", ErrorCode::RESOURCE_DELETION, &started)
        .await?;
    Ok(true)
}

/// Removes agentconfig.json and the onboarding key; files already gone are fine.
fn reset_local_state(paths: &AgentPaths) -> Result<()> {
    for file in [paths.agent_config(), paths.onboarding_key()] {
        // Through the checked folder handle, like every other state change.
        let removed = crate::state::atomic::open_parent(&file, false)
            .and_then(|(dir, name)| dir.remove(&name).and_then(|()| dir.sync()));
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(AzcmError::new(
                    ErrorCode::LOCAL_CONFIG_UPDATE,
                    format!("cannot remove {}: {e}", file.display()),
                )
                .with_detail("path", file.display().to_string()))
            }
        }
    }
    Ok(())
}
