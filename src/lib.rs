//! azcm: the Azure Connected Machine agent CLI. `main.rs` calls [`main_with_args`]; everything
//! else is here so tests and tools can drive the same code.

pub mod arm;
pub mod auth;
pub mod cli;
pub mod cloud;
pub mod commands;
pub mod context;
pub mod desired_state;
pub mod error;
pub mod extensions;
pub mod files;
pub mod flagfile;
pub mod himds;
pub mod http;
pub mod ids;
pub mod imds;
pub mod keys;
pub mod logs;
pub mod network_check;
pub mod offboarding;
pub mod onboarding;
pub mod operation;
pub mod output;
pub mod platform;
pub mod report;
pub mod settings;
pub mod state;
pub mod status;
pub mod terminal;
pub mod tls;
pub mod view;

use clap::error::ErrorKind;
use clap::FromArgMatches;
use error::{AzcmError, ErrorCode};
use output::{Output, Prefs};
use std::ffi::OsString;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

/// Runs azcm with a full argument list (program name first); returns the exit code.
/// A panic is a bug: it still ends in the JSON contract, as AZCM0001.
pub fn main_with_args(args: Vec<OsString>) -> i32 {
    platform::watch_interrupts();
    static PANIC: Mutex<Option<String>> = Mutex::new(None);
    panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        if let Ok(mut slot) = PANIC.lock() {
            *slot = Some(format!("{message}{location}"));
        }
    }));
    let prefs = scan_prefs(&args);
    let command = command_path(&args);
    match panic::catch_unwind(AssertUnwindSafe(|| run(&args))) {
        Ok(code) => code,
        Err(_) => {
            let what = PANIC
                .lock()
                .ok()
                .and_then(|mut p| p.take())
                .unwrap_or_default();
            let err = AzcmError::new(
                ErrorCode::UNKNOWN,
                format!("internal error (a bug in azcm): {what}"),
            );
            Output::new(prefs).failure(&command, &err)
        }
    }
}

fn run(args: &[OsString]) -> i32 {
    let cmd = cli::command();
    // First without required flags (the --config file may hold them), then strictly below.
    let relaxed = flagfile::relaxed(cmd.clone());
    let matches = match relaxed.clone().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => return clap_failure(e, args),
    };
    let typed = flagfile::command_line_flags(&relaxed, &matches);
    let expanded = match flagfile::expand(&relaxed, &matches, args) {
        Ok(e) => e,
        Err(err) => {
            let mut prefs = scan_prefs(args);
            for flag in flagfile::output_flags(&matches) {
                match flag {
                    "json" => prefs.json = true,
                    "log-stderr" => prefs.log_stderr = true,
                    "no-color" => prefs.no_color = true,
                    _ => prefs.verbose = true,
                }
            }
            return Output::new(prefs).failure(&command_path(args), &err);
        }
    };
    let strict_args = expanded.as_deref().unwrap_or(args);
    let matches = match cmd.clone().try_get_matches_from(strict_args) {
        Ok(m) => m,
        Err(e) => return clap_failure(e, strict_args),
    };
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return clap_failure(e, args),
    };
    let mut prefs = Prefs::from_global(&cli.global);
    prefs.dsc = matches!(cli.command, cli::Command::Dsc { .. }) && !prefs.json;
    let out = Output::new(prefs);
    if let Err(err) = check_environment() {
        return out.failure(&cli.command.path(), &err);
    }
    let ctx = context::Context::new(&out)
        .with_command_line_flags(typed)
        .with_json(cli.global.json);
    let name = cli.command.path();
    match commands::run(&cli.command, &ctx) {
        Ok(outcome) => out.success(&name, outcome),
        Err(err) => out.failure(&name, &err),
    }
}

/// azcm's environment variables that hold text (endpoints, api-version, secrets) must be
/// UTF-8: one that is not was once taken as unset, so AZCM_IMDS_ENDPOINT fell back to the real
/// 169.254.169.254. Paths (AZCM_ROOT, AZCM_CLOUD_FILE, AZCM_EXTRA_CA_CERTS) may be any bytes.
fn check_environment() -> error::Result<()> {
    const PATHS: &[&str] = &["AZCM_ROOT", "AZCM_CLOUD_FILE", "AZCM_EXTRA_CA_CERTS"];
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if name.starts_with("AZCM_") && !PATHS.contains(&name) && value.to_str().is_none() {
            return Err(AzcmError::invalid_argument(format!(
                "the environment variable {name} is not valid text (UTF-8); azcm does not guess what it meant"
            ))
            .with_detail("variable", name)
            .with_remediation(format!("Set {name} to a valid value, or unset it.")));
        }
    }
    Ok(())
}

/// Output preferences read straight from the arguments, for failures before (or instead of)
/// a successful parse.
fn scan_prefs(args: &[OsString]) -> Prefs {
    let mut prefs = Prefs::default();
    for arg in args.iter().skip(1) {
        let Some(arg) = arg.to_str() else { continue };
        match arg {
            "--" => break,
            "--json" => prefs.json = true,
            "--log-stderr" => prefs.log_stderr = true,
            "--no-color" => prefs.no_color = true,
            "--verbose" => prefs.verbose = true,
            short if short.starts_with('-') && !short.starts_with("--") && short.len() > 1 => {
                let flags = &short[1..];
                if flags.chars().all(|c| c.is_ascii_alphabetic()) {
                    prefs.json |= flags.contains('j');
                    prefs.verbose |= flags.contains('v');
                }
            }
            _ => {}
        }
    }
    // `azcm dsc …` answers dsc in its own terms, also when the arguments are wrong.
    prefs.dsc = command_path(args).split(' ').next() == Some("dsc") && !prefs.json;
    prefs
}

/// The subcommand path named by the arguments (`config set`), as far as it is valid.
fn command_path(args: &[OsString]) -> String {
    let mut cmd = cli::command();
    let mut path = Vec::new();
    let mut skip_value = false;
    for arg in args.iter().skip(1) {
        let Some(arg) = arg.to_str() else { break };
        if skip_value {
            skip_value = false;
            continue;
        }
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            skip_value = true;
            continue;
        }
        if arg.starts_with('-') {
            continue;
        }
        match cmd.find_subcommand(arg).cloned() {
            Some(sub) => {
                path.push(sub.get_name().to_string());
                cmd = sub;
            }
            None => break,
        }
    }
    path.join(" ")
}

/// Turns clap's verdict into azcm's contract: help is a normal result; argument errors are
/// AZCM0016 (missing) or AZCM0023 (invalid), in JSON too when --json was given.
fn clap_failure(e: clap::Error, args: &[OsString]) -> i32 {
    let prefs = scan_prefs(args);
    let out = Output::new(prefs);
    let path = command_path(args);
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let words: Vec<String> = path.split_whitespace().map(str::to_string).collect();
            match commands::help::describe(&words) {
                Ok(outcome) => out.success("help", outcome),
                Err(err) => out.failure("help", &err),
            }
        }
        // `azcm --version` / `-V`: the version command's own result.
        ErrorKind::DisplayVersion => out.success("version", commands::version::run()),
        kind => {
            let code = match kind {
                ErrorKind::MissingRequiredArgument | ErrorKind::MissingSubcommand => {
                    ErrorCode::MISSING_PARAMETER
                }
                // A mistyped command: azcmagent's parse failure.
                ErrorKind::InvalidSubcommand => ErrorCode::PARSE_FAILED,
                _ => ErrorCode::INVALID_ARGUMENT,
            };
            let rendered = e.render().to_string();
            let mut message_lines = Vec::new();
            let mut tips = Vec::new();
            let mut usage = None;
            for line in rendered.lines() {
                let line = line.trim();
                if let Some(u) = line.strip_prefix("Usage: ") {
                    usage = Some(u.trim().to_string());
                } else if line.starts_with("For more information") || line.is_empty() {
                    continue;
                } else if line.starts_with("tip:") {
                    tips.push(line.to_string());
                } else {
                    message_lines.push(line.trim_start_matches("error: ").to_string());
                }
            }
            // clap's tips stay on lines of their own, then the help of the real command.
            let command = if path.is_empty() {
                "azcm".to_string()
            } else {
                format!("azcm {path}")
            };
            tips.push(format!("Run `{command} --help` for the syntax."));
            let mut err = AzcmError::new(code, message_lines.join(" "))
                .with_remediation(tips.join("\n"))
                .with_detail("kind", format!("{kind:?}"));
            if let Some(u) = usage {
                err = err.with_detail("usage", u);
            }
            out.failure(&path, &err)
        }
    }
}
