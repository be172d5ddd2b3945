//! `azcm completions SHELL`: tab completion for bash, zsh, fish and PowerShell, and the man
//! page, generated from the clap definitions the parser itself uses (clap_complete,
//! clap_mangen), so they never disagree with `--help`.

use crate::error::{AzcmError, ErrorCode, Result};
use crate::view::{Human, Outcome};
use serde_json::json;

pub fn run(shell: &str) -> Result<Outcome> {
    let shell = shell.to_ascii_lowercase();
    let mut cmd = crate::cli::command();
    let mut out = Vec::new();
    match shell.as_str() {
        "man" => clap_mangen::Man::new(cmd).render(&mut out).map_err(|e| {
            AzcmError::new(
                ErrorCode::UNKNOWN,
                format!("cannot render the man page: {e}"),
            )
        })?,
        other => {
            let target = match other {
                "bash" => clap_complete::Shell::Bash,
                "zsh" => clap_complete::Shell::Zsh,
                "fish" => clap_complete::Shell::Fish,
                _ => clap_complete::Shell::PowerShell,
            };
            clap_complete::generate(target, &mut cmd, "azcm", &mut out);
        }
    }
    let script = String::from_utf8_lossy(&out).into_owned();
    Ok(Outcome::new(
        json!({"shell": shell, "script": script}),
        Human::Text(script),
    ))
}
