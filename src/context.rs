//! What every command may use: the reporter, the agent's paths (resolved on first use), the
//! flags typed on the command line, and the async runtime the network work runs on.

use crate::error::{AzcmError, ErrorCode, Result};
use crate::platform;
use crate::report::Reporter;
use crate::state::AgentPaths;
use std::cell::OnceCell;
use std::future::Future;

pub struct Context<'a> {
    pub report: &'a dyn Reporter,
    paths: OnceCell<AgentPaths>,
    /// One current-thread runtime per command, started on first use: commands that never touch
    /// the network never start one.
    runtime: OnceCell<tokio::runtime::Runtime>,
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
            runtime: OnceCell::new(),
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

    /// Runs `work` to completion on the command's runtime.
    pub fn block_on<F: Future>(&self, work: F) -> Result<F::Output> {
        let runtime = match self.runtime.get() {
            Some(rt) => rt,
            None => {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| {
                        AzcmError::new(
                            ErrorCode::UNKNOWN,
                            format!("cannot start the async runtime: {e}"),
                        )
                    })?;
                self.runtime.get_or_init(|| rt)
            }
        };
        // Ctrl+C ends the work at its next await: dropped futures close their connections,
        // and nothing half-written remains (state writes are atomic). Every second of network
        // work the running step is said again, so a consumer's progress shows the step azcm
        // waits in, not the one before it.
        let watch = async {
            while !platform::interrupted() {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                // Cheap when nothing is due: the reporter says the step again once per second.
                self.report.still_working();
            }
        };
        runtime.block_on(async {
            tokio::select! {
                out = work => Ok(out),
                () = watch => Err(AzcmError::cancelled("waiting on the network")),
            }
        })
    }
}
