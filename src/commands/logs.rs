//! `azcm logs`: the support archive (src/logs), with azcm's own show and check results.

use crate::cli::LogsArgs;
use crate::context::Context;
use crate::error::{AzcmError, ErrorCode, Result};
use crate::logs::{self, Generated, LogSource, SkippedSource};
use crate::network_check::{self, dns::Resolver, CheckOptions, Plan};
use crate::platform;
use crate::report::Silent;
use crate::state::agentconfig::AgentConfig;
use crate::state::localconfig::ProxySettings;
use crate::status;
use crate::view::{Human, Outcome};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

fn default_name(computer: &str) -> String {
    let stamp: String = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .trim_end_matches('Z')
        .to_string();
    let computer: String = computer
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("azcmagent-{stamp}-{computer}.zip")
}

/// `--output`: a folder (existing, or written with a trailing separator) gets the default name.
fn target(output: Option<&Path>, computer: &str) -> Result<PathBuf> {
    let name = default_name(computer);
    // A folder (not a link to one) gets the default name inside it.
    let is_folder = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    let chosen = match output {
        None => PathBuf::from(&name),
        Some(p) if is_folder(p) || p.as_os_str().to_string_lossy().ends_with(['/', '\\']) => {
            p.join(&name)
        }
        Some(p) => p.to_path_buf(),
    };
    let absolute = std::path::absolute(&chosen)
        .map_err(|e| AzcmError::invalid_argument(format!("--output {}: {e}", chosen.display())))?;
    let refused = |why: String| {
        AzcmError::new(ErrorCode::LOGS_FAILED, why)
            .with_detail("path", absolute.display().to_string())
    };
    match absolute.parent() {
        Some(dir) if dir.is_dir() => {
            logs::check_target(&absolute).map_err(|why| {
                refused(why).with_remediation(
                    "Name a new file, or an existing regular file to replace, with --output.",
                )
            })?;
            Ok(absolute)
        }
        _ => Err(refused(format!(
            "the folder for {} does not exist",
            absolute.display()
        ))),
    }
}

/// azcm's own view, each bounded in time: `show --os`, and `check` of the connected region.
fn own_results(ctx: &Context<'_>) -> Vec<Generated> {
    let quiet = Context::new(&Silent);
    let document = |outcome: Result<serde_json::Value>| match outcome {
        Ok(result) => json!({"ok": true, "result": result}),
        Err(e) => json!({"ok": false, "error": e.to_json()}),
    };
    let show = status::gather(&quiet).map(|facts| serde_json::Value::Object(facts.fields(true)));
    let mut out = vec![Generated {
        name: "azcm/show.json".into(),
        bytes: serde_json::to_vec_pretty(&document(show)).unwrap_or_default(),
    }];
    let connected = ctx
        .paths()
        .ok()
        .and_then(|p| AgentConfig::load(&p.agent_config()).ok().flatten());
    if let Some(config) = connected {
        out.push(Generated {
            name: "azcm/check.json".into(),
            bytes: serde_json::to_vec_pretty(&document(check(&quiet, &config))).unwrap_or_default(),
        });
    }
    out
}

/// The check of the connected cloud and region, within 20 s.
fn check(quiet: &Context<'_>, config: &AgentConfig) -> Result<serde_json::Value> {
    let cloud = crate::cloud::find(&config.cloud)?;
    let region = cloud.region(&config.location)?;
    let options = CheckOptions {
        extensions: Vec::new(),
        include_all: false,
        private_link_mode: false,
        resolver: Resolver::System,
        stage_timeout: Duration::from_secs(3),
        detect_azure_vm: false,
    };
    let proxy = ProxySettings::load(quiet.paths()?)?;
    let plan = Plan::for_machine(cloud, region, proxy, Some(config), options, quiet.report);
    let limit = Duration::from_secs(20);
    // The timer is made inside the runtime: tokio's timers need one to exist when created.
    match quiet
        .block_on(async { tokio::time::timeout(limit, network_check::run(&plan, &Silent)).await })?
    {
        Ok(report) => Ok(serde_json::to_value(report?).unwrap_or_default()),
        Err(_) => Err(AzcmError::new(
            ErrorCode::NETWORK,
            "the check took longer than 20 s and was left out",
        )),
    }
}

pub fn run(args: &LogsArgs, ctx: &Context<'_>) -> Result<Outcome> {
    let paths = ctx.paths()?;
    let computer = platform::hostname().unwrap_or_else(|_| "unknown".into());
    let target = target(args.output.as_deref(), &computer)?;
    if args.no_redact {
        ctx.report.warning("--no-redact: secrets in the logs (tokens, SAS signatures, passwords) stay in the archive; store and send it as you would those secrets");
    }
    let folder = target.parent().unwrap_or(Path::new("."));
    let work = logs::WorkDir::create_in(folder).map_err(|e| {
        AzcmError::new(
            ErrorCode::LOGS_FAILED,
            format!("cannot write into {}: {e}", folder.display()),
        )
        .with_detail("path", target.display().to_string())
    })?;
    let (mut sources, mut skipped) = logs::collect(paths, args.full);
    // The system's logs (journal, event logs), only for the real agent: they are not under
    // the state root. Exported into the private work folder.
    if paths.is_system_root() {
        let system_dir = work.path().join("system");
        let exported = platform::create_private_dir_all(&system_dir).and_then(|()| {
            let root = std::fs::canonicalize(&system_dir)?;
            Ok((
                platform::system_logs(&system_dir, args.full, Duration::from_secs(60)),
                root,
            ))
        });
        match exported {
            Ok((system, root)) => {
                for (name, path) in system.files {
                    sources.push(LogSource {
                        component: system.component,
                        name,
                        path,
                        root: root.clone(),
                    });
                }
                for (source, reason) in system.failed {
                    ctx.report
                        .warning(&format!("could not export {source}: {reason}"));
                    skipped.push(SkippedSource { source, reason });
                }
            }
            Err(e) => ctx.report.warning(&format!(
                "could not export the system's logs: cannot create {}: {e}",
                system_dir.display()
            )),
        }
    }
    let generated = own_results(ctx);
    let options = logs::ArchiveOptions {
        full: args.full,
        redact: !args.no_redact,
        max_file_size: args.max_file_size,
        workers: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 8),
    };
    let progress = |done: u64, total: u64, name: &str| {
        ctx.report.progress(
            "Collecting logs",
            &format!(
                "{name} ({} of {})",
                crate::view::bytes(done),
                crate::view::bytes(total)
            ),
            Some((done.saturating_mul(100) / total.max(1)).min(100) as u8),
        );
    };
    let written = logs::write_archive(
        &work, &target, sources, skipped, generated, &options, &computer, &progress,
    );
    drop(work);
    let report = written?;
    let m = &report.manifest;
    let bytes: u64 = m.files.iter().map(|f| f.size).sum();
    let redactions: usize = m.files.iter().map(|f| f.redactions).sum();
    let result = json!({
        "path": target.display().to_string(),
        "archiveSize": report.archive_size,
        "fileCount": m.files.len(),
        "bytes": bytes,
        "redacted": m.redacted,
        "redactions": redactions,
        "full": m.full,
        "skipped": m.skipped,
    });
    let view = format!(
        "{}\n{} files ({}, {} secrets redacted) packed into {}; {} skipped (see manifest.json)",
        target.display(),
        m.files.len(),
        crate::view::bytes(bytes),
        redactions,
        crate::view::bytes(report.archive_size),
        m.skipped.len()
    );
    Ok(Outcome::new(result, Human::Text(view)))
}
