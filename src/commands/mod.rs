//! One module per command. A command turns parsed arguments into calls on the services and
//! returns an [`Outcome`]; it never prints and never exits.

pub mod check;
pub mod completions;
pub mod config;
pub mod connect;
pub mod disconnect;
pub mod dsc;
pub mod extension;
pub mod genkey;
pub mod help;
pub mod license;
pub mod logs;
pub mod show;
pub mod version;

use crate::cli::Command;
use crate::context::Context;
use crate::error::Result;
use crate::view::Outcome;

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
        Command::Completions { shell } => completions::run(shell),
        Command::Dsc { resource } => dsc::run(resource, ctx),
    }
}
