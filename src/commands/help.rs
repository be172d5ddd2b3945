//! `azcm help [COMMAND...]` and `--help`: clap's help text for people, and the same command's
//! structure (subcommands, flags, allowed values) for scripts.

use crate::cli;
use crate::error::{AzcmError, Result};
use crate::view::{Human, Outcome};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Subcommand {
    name: String,
    about: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Argument {
    name: String,
    long: Option<String>,
    short: Option<String>,
    positional: bool,
    takes_value: bool,
    required: bool,
    global: bool,
    possible_values: Vec<String>,
    help: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct HelpResult {
    command: String,
    about: String,
    usage: String,
    subcommands: Vec<Subcommand>,
    arguments: Vec<Argument>,
    text: String,
}

/// Finds the command a help request names; unknown names are AZCM0023 listing the valid ones.
fn find(path: &[String]) -> Result<(clap::Command, String)> {
    let mut cmd = cli::command();
    let mut walked = vec!["azcm".to_string()];
    for name in path {
        let next = cmd.find_subcommand(name).cloned().ok_or_else(|| {
            let valid: Vec<String> = cmd
                .get_subcommands()
                .map(|s| s.get_name().to_string())
                .collect();
            AzcmError::invalid_argument(format!(
                "'{}' has no command '{name}'; valid commands: {}",
                walked.join(" "),
                valid.join(", ")
            ))
            .with_detail("validCommands", valid)
        })?;
        walked.push(next.get_name().to_string());
        cmd = next;
    }
    Ok((cmd, walked[1..].join(" ")))
}

pub fn describe(path: &[String]) -> Result<Outcome> {
    let (mut cmd, name) = find(path)?;
    let mut full_name = cli::command();
    full_name.set_bin_name("azcm");
    let bin_name = if name.is_empty() {
        "azcm".to_string()
    } else {
        format!("azcm {name}")
    };
    cmd = cmd.bin_name(bin_name);
    let text = cmd.render_long_help().to_string();
    let usage = cmd
        .render_usage()
        .to_string()
        .trim_start_matches("Usage: ")
        .to_string();
    let result = HelpResult {
        command: name,
        about: cmd.get_about().map(|a| a.to_string()).unwrap_or_default(),
        usage,
        subcommands: cmd
            .get_subcommands()
            .map(|s| Subcommand {
                name: s.get_name().to_string(),
                about: s.get_about().map(|a| a.to_string()).unwrap_or_default(),
            })
            .collect(),
        arguments: cmd
            .get_arguments()
            .filter(|a| a.get_id() != "help")
            .map(|a| Argument {
                name: a.get_id().to_string(),
                long: a.get_long().map(str::to_string),
                short: a.get_short().map(|c| c.to_string()),
                positional: a.is_positional(),
                takes_value: a.get_action().takes_values(),
                required: a.is_required_set(),
                global: a.is_global_set(),
                possible_values: a
                    .get_possible_values()
                    .iter()
                    .map(|v| v.get_name().to_string())
                    .collect(),
                help: a.get_help().map(|h| h.to_string()).unwrap_or_default(),
            })
            .collect(),
        text: text.clone(),
    };
    Ok(Outcome::new(result, Human::Text(text)))
}

pub fn run(path: &[String]) -> Result<Outcome> {
    describe(path)
}
