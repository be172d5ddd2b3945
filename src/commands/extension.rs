//! `azcm extension list|remove`: the extensions installed on this machine, and their local
//! removal when the extension service is stopped.

use crate::cli::{ExtensionAction, ExtensionRemoveArgs};
use crate::context::Context;
use crate::error::{AzcmError, ErrorCode, Result};
use crate::extensions::{self, Extension};
use crate::platform::{self, AgentService, ServiceState};
use crate::view::{text_table, Human, Outcome};
use serde_json::json;
use std::time::Duration;

pub fn run(action: &ExtensionAction, ctx: &Context<'_>) -> Result<Outcome> {
    match action {
        ExtensionAction::List => list(ctx),
        ExtensionAction::Remove(args) => remove(args, ctx),
    }
}

fn list(ctx: &Context<'_>) -> Result<Outcome> {
    let dir = ctx.paths()?.layout.extensions_dir.clone();
    let installed = extensions::list(&dir)?;
    Ok(Outcome::viewed_with(
        json!({"extensionsPath": dir.display().to_string(), "extensions": installed}),
        list_view,
    ))
}

/// The human table of `extension list`, from its JSON result.
fn list_view(result: &serde_json::Value) -> Human {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let installed = result["extensions"].as_array().cloned().unwrap_or_default();
    if installed.is_empty() {
        return Human::Text(format!(
            "No extensions are installed (looked in {}).",
            text(&result["extensionsPath"])
        ));
    }
    Human::Text(text_table(
        ["Name", "Version", "State", "Size"],
        &installed
            .iter()
            .map(|e| {
                let state = text(&e["state"]);
                [
                    text(&e["name"]),
                    text(&e["version"]),
                    if state.is_empty() { "-".into() } else { state },
                    crate::view::bytes(e["sizeBytes"].as_u64().unwrap_or(0)),
                ]
            })
            .collect::<Vec<_>>(),
    ))
}

/// The extension service must be stopped: it would reinstall or hold what is removed.
fn require_service_stopped() -> Result<()> {
    let name = AgentService::ExtensionManager.service_name();
    match platform::query_service(name) {
        Ok(Some(status)) if status.state != ServiceState::Stopped => Err(AzcmError::new(
            ErrorCode::CONFIG_CONFLICT,
            format!(
                "the extension service {name} is {:?}: stop it before removing extensions",
                status.state
            ),
        )
        .with_detail("service", name)
        .with_detail("state", format!("{:?}", status.state))
        .with_remediation(format!(
            "Stop it with `{}`, remove the extensions, then start it again.",
            platform::stop_service_hint(name)
        ))),
        Ok(_) => Ok(()),
        Err(e) => Err(AzcmError::new(
            ErrorCode::CONFIG_CONFLICT,
            format!("cannot ask the service manager about {name}: {e}"),
        )
        .with_detail("service", name)),
    }
}

fn confirm(ctx: &Context<'_>, what: &str) -> Result<()> {
    // --json means a script reads the output: it says --yes itself (it no longer implies it, so
    // a script cannot remove extensions by asking for JSON alone).
    if ctx.json || !ctx.interactive() {
        return Err(AzcmError::new(
            ErrorCode::MISSING_PARAMETER,
            format!("removing {what} needs a confirmation: pass --yes when nobody can answer (scripts, --json)"),
        )
        .with_detail("flag", "yes"));
    }
    ctx.report
        .info(&format!("Remove {what}? Type 'yes' to continue:"));
    let mut answer = String::new();
    let _ = std::io::BufRead::read_line(
        &mut std::io::Read::take(std::io::stdin().lock(), 4096),
        &mut answer,
    );
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(AzcmError::new(
            ErrorCode::CANCELLED,
            "nothing was removed: the removal was not confirmed",
        ))
    }
}

fn remove(args: &ExtensionRemoveArgs, ctx: &Context<'_>) -> Result<Outcome> {
    let dir = ctx.paths()?.layout.extensions_dir.clone();
    let installed = extensions::list(&dir)?;
    let chosen = extensions::select(&installed, args.name.as_deref())?;
    if args.what_if {
        return Ok(what_if(&dir, &chosen));
    }
    ctx.require_admin_to_change_state("extension remove")?;
    require_service_stopped()?;
    if chosen.is_empty() {
        return Ok(Outcome::new(
            json!({"extensionsPath": dir.display().to_string(), "removed": []}),
            Human::Text("No extensions are installed.".into()),
        ));
    }
    let what = chosen
        .iter()
        .map(|e| format!("{} {}", e.name, e.version))
        .collect::<Vec<_>>()
        .join(", ");
    if !args.yes {
        confirm(ctx, &what)?;
    }
    let timeout = Duration::from_secs(args.timeout);
    let mut outcomes = Vec::new();
    for (i, ext) in chosen.iter().enumerate() {
        if platform::interrupted() {
            let done: Vec<String> = outcomes
                .iter()
                .map(|r: &extensions::Removal| r.name.clone())
                .collect();
            return Err(AzcmError::cancelled("removing extensions").with_detail("removed", done));
        }
        ctx.report.progress(
            "Removing extensions",
            &format!(
                "{} {}: running its uninstall command",
                ext.name, ext.version
            ),
            Some((i * 100 / chosen.len()) as u8),
        );
        let removal = extensions::remove(&dir, ext, timeout);
        if let Some(why) = &removal.uninstall_error {
            ctx.report.warning(&format!(
                "{} {}: {why}; its folder is removed anyway",
                ext.name, ext.version
            ));
        }
        outcomes.push(removal);
    }
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|r| !r.removed)
        .map(|r| format!("{} ({})", r.name, r.error.clone().unwrap_or_default()))
        .collect();
    let mut view = String::new();
    for r in &outcomes {
        view.push_str(&format!(
            "{} {}: {}{}\n",
            r.name,
            r.version,
            if r.removed { "removed" } else { "NOT removed" },
            r.uninstall_error
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        ));
    }
    let result = json!({"extensionsPath": dir.display().to_string(), "removed": outcomes});
    if !failed.is_empty() {
        return Err(AzcmError::new(
            ErrorCode::LOCAL_CONFIG_UPDATE,
            format!("could not remove {}", failed.join(", ")),
        )
        .with_detail("extension", result)
        .with_view(view));
    }
    Ok(Outcome::new(result, Human::Text(view)))
}

/// `--what-if`: the extensions a real run would remove (the name checked the same way), none
/// removed.
fn what_if(dir: &std::path::Path, chosen: &[&Extension]) -> Outcome {
    // The name is checked like a real run's; nothing is removed or asked.
    let would: Vec<serde_json::Value> = chosen
        .iter()
        .map(|e| json!({"name": e.name, "version": e.version, "path": e.path}))
        .collect();
    let view = match would.is_empty() {
        true => "What if: no extension is installed; nothing would be removed.".to_string(),
        false => chosen
            .iter()
            .map(|e| format!("What if: remove {} {} ({})", e.name, e.version, e.path))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    Outcome::new(
        json!({"extensionsPath": dir.display().to_string(), "removed": [], "whatIf": true, "wouldRemove": would}),
        Human::Text(view),
    )
}
