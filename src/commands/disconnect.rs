//! `azcm disconnect`: delete the machine resource (waiting for ARM's long-running operation),
//! then reset the local state: agent configuration and key. A resource already gone is a
//! warning; `--force-local-only` skips Azure.

use super::connect::{self, Action, Steps};
use super::{Context, Human, Outcome, Section};
use crate::cli::DisconnectArgs;
use crate::cloud;
use crate::error::{AzcmError, ErrorCode, Result};
use crate::state::agentconfig::AgentConfig;
use reqwest::Method;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DisconnectResult {
    resource_id: String,
    resource_deleted: bool,
    local_only: bool,
    what_if: bool,
    actions: Vec<Action>,
    services: Vec<connect::ServiceOutcome>,
    steps: Vec<connect::StepTiming>,
}

pub fn run(args: &DisconnectArgs, ctx: &Context<'_>) -> Result<Outcome> {
    let paths = ctx.paths()?;
    let Some(config) = AgentConfig::load(&paths.agent_config())? else {
        return Err(AzcmError::new(
            ErrorCode::DISCONNECT_FAILED,
            "this machine is not connected to Azure Arc",
        )
        .with_detail("reason", "notConnected")
        .with_remediation("Nothing to disconnect. Run `azcm connect` to connect it."));
    };
    let method = if args.force_local_only {
        None
    } else {
        Some(connect::auth_method(ctx, &args.auth)?)
    };
    if !args.what_if {
        ctx.require_admin_to_change_state("disconnect")?;
    }
    connect::runtime()?.block_on(async {
        let what_if = args.what_if;
        let mut steps = Steps::new(
            ctx,
            if what_if {
                "Disconnect (what-if)"
            } else {
                "Disconnect"
            },
            5,
        );
        let mut actions = Vec::new();
        let mut deleted = false;
        if let Some(method) = method {
            steps.begin("token", "signing in to Entra ID");
            let cloud = cloud::find(&config.cloud)?;
            let arm = connect::sign_in(
                ctx,
                &cloud,
                method,
                Duration::from_secs(args.auth.retry_timeout),
                config.correlation_id.clone(),
            )
            .await?;
            let path = connect::machine_path(
                &config.subscription_id,
                &config.resource_group,
                &config.resource_name,
                &config.api_version,
            );
            steps.begin("machine", "checking the machine resource");
            let exists = arm
                .get_if_exists("machine lookup", ErrorCode::RESOURCE_DELETION, &path)
                .await?
                .is_some();
            if exists {
                actions.push(Action {
                    action: "deleteMachine".into(),
                    target: config.resource_id.clone(),
                    done: !what_if,
                });
                if !what_if {
                    steps.begin("machineDelete", "deleting the machine resource");
                    let started = arm
                        .call(
                            "machine deletion",
                            ErrorCode::RESOURCE_DELETION,
                            Method::DELETE,
                            &path,
                            None,
                        )
                        .await?;
                    arm.wait_for_operation(
                        "machine deletion",
                        ErrorCode::RESOURCE_DELETION,
                        &started,
                    )
                    .await?;
                    deleted = true;
                }
            } else {
                ctx.report.warning(&format!(
                    "{} no longer exists in Azure; resetting the local state only",
                    config.resource_id
                ));
            }
        }
        actions.push(Action {
            action: "resetLocalState".into(),
            target: paths.agent_config().display().to_string(),
            done: !what_if,
        });
        let mut services = Vec::new();
        if !what_if {
            steps.begin("localState", "resetting the local agent state");
            for file in [paths.agent_config(), paths.onboarding_key()] {
                match std::fs::remove_file(&file) {
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
            steps.begin("services", "restarting the agent services");
            services = connect::restart_services(ctx);
        }
        steps.finish();
        let result = DisconnectResult {
            resource_id: config.resource_id.clone(),
            resource_deleted: deleted,
            local_only: args.force_local_only,
            what_if,
            actions,
            services,
            steps: steps.timings,
        };
        let title = if what_if {
            "What if: disconnect would"
        } else {
            "Disconnected"
        };
        let mut section = Section::new(title).row("Resource Id", result.resource_id.clone());
        for a in &result.actions {
            section = section.row(a.action.clone(), a.target.clone());
        }
        Ok(Outcome::new(result, Human::Sections(vec![section])))
    })
}
