//! `azcm show`: this machine's Azure Arc state as azcmagent shows it (gathered by src/status)
//! and, with `--arm`, the machine resource as Azure Resource Manager sees it.

use crate::arm::session;
use crate::auth::flags::method_from_flags;
use crate::auth::AuthMethod;
use crate::cli::{AuthArgs, ShowArgs};
use crate::context::Context;
use crate::error::{AzcmError, ErrorCode, Result};
use crate::platform::AgentService;
use crate::state::agentconfig::AgentConfig;
use crate::status::{self, FieldView, StatusField, FIELDS};
use crate::view::{display_value, Human, Outcome, Section};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// `show`'s flags, resolved.
struct ShowRequest {
    /// The fields asked for, in the order asked; empty means all.
    selected: Vec<&'static StatusField>,
    os: bool,
    /// With --arm: how to sign in, and the retry budget.
    arm: Option<(AuthMethod, Duration)>,
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

/// The fields asked for, or AZCM0003 naming the valid ones.
fn selection(properties: &[String]) -> Result<Vec<&'static StatusField>> {
    properties
        .iter()
        .map(|wanted| {
            status::find_field(wanted).ok_or_else(|| {
                let valid: Vec<String> = FIELDS
                    .iter()
                    .map(|f| format!("{} ({})", f.label, f.key))
                    .collect();
                AzcmError::invalid_argument(format!(
                    "unknown property '{wanted}'; valid properties: {}",
                    valid.join(", ")
                ))
                .with_detail("property", wanted.as_str())
                .with_detail(
                    "validProperties",
                    FIELDS.iter().map(|f| f.key).collect::<Vec<_>>(),
                )
            })
        })
        .collect()
}

fn request(args: &ShowArgs, ctx: &Context<'_>) -> Result<ShowRequest> {
    let selected = selection(&args.properties)?;
    if !args.arm && auth_given(&args.auth) {
        return Err(AzcmError::invalid_argument(
            "sign-in flags are used only with --arm (to read the machine resource from Azure)",
        ));
    }
    let arm = match args.arm {
        true => Some((
            method_from_flags(ctx, &args.auth)?,
            Duration::from_secs(args.auth.retry_timeout),
        )),
        false => None,
    };
    Ok(ShowRequest {
        selected,
        os: args.os,
        arm,
    })
}

pub fn run(args: &ShowArgs, ctx: &Context<'_>) -> Result<Outcome> {
    let req = request(args, ctx)?;
    let facts = status::gather(ctx)?;
    let mut fields = facts.fields(req.os);
    let arm = match req.arm {
        Some((method, budget)) => {
            let Some(config) = facts.config.as_ref() else {
                return Err(AzcmError::invalid_argument(
                    "--arm needs a connected machine: this one has no Azure resource to read (agentconfig.json is absent)",
                ));
            };
            let view = ctx.block_on(arm_view(ctx, config, method, budget, &fields))??;
            if let Some(auto) = view["automaticUpgrade"].as_bool() {
                fields.insert("automaticUpgrade".into(), Value::String(auto.to_string()));
            }
            Some(view)
        }
        None => None,
    };
    // The selection, in the order asked; the whole set otherwise.
    let mut result = match req.selected.is_empty() {
        true => fields,
        false => req
            .selected
            .iter()
            .map(|f| {
                let value = fields.get(f.key).cloned().unwrap_or(json!(""));
                (f.key.to_string(), value)
            })
            .collect(),
    };
    let shown = (result.clone(), arm.clone());
    if let Some(view) = arm {
        result.insert("arm".into(), view);
    }
    Ok(Outcome::viewed_with(Value::Object(result), move |_| {
        view(&shown.0, shown.1.as_ref())
    }))
}

/// azcmagent's `Label : value` lines, the services in a section of their own, then ARM's view.
fn view(result: &Map<String, Value>, arm: Option<&Value>) -> Human {
    let mut main = Section::untitled();
    let mut own_sections = Vec::new();
    for (key, value) in result {
        let Some(field) = status::field_of_key(key) else {
            continue;
        };
        match (&field.view, value.as_object()) {
            (FieldView::Section, Some(map)) => {
                own_sections.push(services_section(field.label, map))
            }
            (FieldView::Summary(summary), _) => main = main.row(field.label, summary(value)),
            _ => main = main.row(field.label, display_value(value)),
        }
    }
    let mut sections = vec![main];
    sections.extend(own_sections);
    if let Some(view) = arm {
        let mut sec = Section::new("Azure Resource Manager")
            .row("Status", display_value(&view["status"]))
            .row(
                "Last Status Change",
                display_value(&view["lastStatusChange"]),
            )
            .row("Agent Version", display_value(&view["agentVersion"]))
            .row(
                "Provisioning State",
                display_value(&view["provisioningState"]),
            )
            .row("Tags", tags_text(&view["tags"]));
        for d in view["disagreements"].as_array().into_iter().flatten() {
            sec = sec.row(
                format!("Differs: {}", display_value(&d["field"])),
                display_value(&d["message"]),
            );
        }
        sections.push(sec);
    }
    Human::Sections(sections)
}

/// Tags as `Name=Value` pairs, in ARM's order.
fn tags_text(tags: &Value) -> String {
    tags.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", display_value(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each service by its display name and service name, with its state.
fn services_section(title: &str, services: &Map<String, Value>) -> Section {
    let mut section = Section::new(title);
    for (name, state) in services {
        let display = AgentService::ALL
            .iter()
            .find(|s| s.service_name() == name)
            .map(|s| format!("{} ({name})", s.display_name()))
            .unwrap_or_else(|| name.clone());
        section = section.row(display, display_value(state));
    }
    section
}

/// The machine resource as ARM has it, and where it disagrees with this machine.
async fn arm_view(
    ctx: &Context<'_>,
    config: &AgentConfig,
    method: AuthMethod,
    budget: Duration,
    local: &Map<String, Value>,
) -> Result<Value> {
    let (arm, path) = session::machine_session(ctx, config, method, budget).await?;
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
        "tags": m["tags"].as_object().cloned().unwrap_or_default(),
        "disagreements": disagreements,
    }))
}
