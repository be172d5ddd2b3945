//! One module per command. A command turns parsed arguments into calls on the services and
//! returns an [`Outcome`]; it never prints and never exits.

pub mod check;
pub mod config;
pub mod connect;
pub mod disconnect;
pub mod extension;
pub mod genkey;
pub mod help;
pub mod license;
pub mod logs;
pub mod show;
pub mod version;

use crate::cli::Command;
use crate::error::{AzcmError, ErrorCode, Result};
use crate::platform;
use crate::report::Reporter;
use crate::state::AgentPaths;
use serde::Serialize;
use serde_json::Value;
use std::cell::OnceCell;

/// A command's result: the JSON `result` and the human view of the same facts.
#[derive(Debug)]
pub struct Outcome {
    pub result: Value,
    pub human: Human,
}

impl Outcome {
    pub fn new(result: impl Serialize, human: Human) -> Self {
        Self {
            result: serde_json::to_value(result).expect("command results serialise"),
            human,
        }
    }
}

/// Human output: free text, or azcmagent-style aligned `Label : value` sections.
#[derive(Debug)]
pub enum Human {
    Text(String),
    Sections(Vec<Section>),
}

#[derive(Debug, Default)]
pub struct Section {
    pub title: Option<String>,
    pub rows: Vec<(String, String)>,
}

impl Section {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: Some(title.into()),
            rows: Vec::new(),
        }
    }

    pub fn untitled() -> Self {
        Self::default()
    }

    pub fn row(mut self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.rows.push((label.into(), value.into()));
        self
    }
}

/// What every command may use: the reporter and, resolved on first use, the agent's paths.
pub struct Context<'a> {
    pub report: &'a dyn Reporter,
    paths: OnceCell<AgentPaths>,
    /// Long names of the flags typed on the real command line (not from --config).
    command_line_flags: Vec<String>,
    /// --json: a script is reading, nobody answers prompts.
    pub json: bool,
}

impl<'a> Context<'a> {
    pub fn new(report: &'a dyn Reporter) -> Self {
        Self {
            report,
            paths: OnceCell::new(),
            command_line_flags: Vec::new(),
            json: false,
        }
    }

    pub fn with_command_line_flags(mut self, flags: Vec<String>) -> Self {
        self.command_line_flags = flags;
        self
    }

    /// Whether a person is at the keyboard: stdin is a terminal.
    pub fn interactive(&self) -> bool {
        use std::io::IsTerminal;
        std::io::stdin().is_terminal()
    }

    pub fn with_json(mut self, json: bool) -> Self {
        self.json = json;
        self
    }

    pub fn given_on_command_line(&self, long: &str) -> bool {
        self.command_line_flags.iter().any(|f| f == long)
    }

    pub fn paths(&self) -> Result<&AgentPaths> {
        if let Some(p) = self.paths.get() {
            return Ok(p);
        }
        let resolved = AgentPaths::from_env()?;
        if let Some(root) = &resolved.root {
            self.report.verbose(&format!(
                "agent state re-rooted under {} (AZCM_ROOT)",
                root.display()
            ));
        }
        Ok(self.paths.get_or_init(|| resolved))
    }

    /// Changing the real agent state needs admin rights, as azcmagent; a re-rooted state
    /// folder (AZCM_ROOT) is governed by its own file permissions instead.
    pub fn require_admin_to_change_state(&self, command: &str) -> Result<()> {
        if self.paths()?.is_system_root() && !platform::is_elevated() {
            return Err(AzcmError::new(
                ErrorCode::NEEDS_ADMIN,
                format!("`azcm {command}` changes the agent's state and must run elevated (Administrator or root)"),
            )
            .with_detail("command", command));
        }
        Ok(())
    }
}

pub fn run(command: &Command, ctx: &Context<'_>) -> Result<Outcome> {
    match command {
        Command::Check(args) => check::run(args, ctx),
        Command::Config { action } => config::run(action, ctx),
        Command::Connect(args) => connect::run(args, ctx),
        Command::Disconnect(args) => disconnect::run(args, ctx),
        Command::Extension { action } => extension::run(action, ctx),
        Command::Genkey => genkey::run(ctx),
        Command::Help { command } => help::run(command),
        Command::License => Ok(license::run()),
        Command::Show(args) => show::run(args, ctx),
        Command::Logs(args) => logs::run(args, ctx),
        Command::Version => Ok(version::run()),
    }
}

/// An aligned text table, azcmagent style: a header, a dashed rule, one line per row.
pub fn text_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| {
            row.clone()
                .map(|cell| crate::terminal::field(&cell).into_owned())
        })
        .collect();
    let rows = &rows[..];
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut text = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect::<Vec<_>>()
            .join("  ");
        text.truncate(text.trim_end().len());
        text.push('\n');
        text
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = line(header.to_vec());
    out.push_str(&line(rule.iter().map(String::as_str).collect()));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Formats a stored/effective JSON value the way azcmagent's human output shows it.
pub fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(display_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
