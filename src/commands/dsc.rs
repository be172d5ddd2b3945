//! `azcm dsc settings|connection get|test|set|export`: the operations of azcm's DSC v3 resources
//! (src/desired_state), as dsc runs them through the shipped manifests.

use crate::cli::{DscArgs, DscOperation, DscResource};
use crate::context::Context;
use crate::desired_state::connection::{self, Current};
use crate::desired_state::{self, settings, Reply};
use crate::error::Result;
use crate::state::localconfig::{LocalConfig, LocalConfigTxn};
use crate::view::{Human, Outcome};
use serde_json::json;

pub fn run(resource: &DscResource, ctx: &Context<'_>) -> Result<Outcome> {
    match resource {
        DscResource::Settings(args) => run_settings(args, ctx),
        DscResource::Connection(args) => run_connection(args, ctx),
    }
}

fn run_connection(args: &DscArgs, ctx: &Context<'_>) -> Result<Outcome> {
    let instance = desired_state::read_instance()?;
    let reply = match args.operation {
        DscOperation::Get => connection::get(&Current::read(ctx)?, &instance)?,
        DscOperation::Test => connection::test(&Current::read(ctx)?, &instance)?,
        DscOperation::Export => connection::export(&Current::read(ctx)?),
        DscOperation::Set => connection::set(ctx, &instance, args.what_if)?,
    };
    Ok(outcome(connection::RESOURCE_TYPE, args, reply))
}

fn run_settings(args: &DscArgs, ctx: &Context<'_>) -> Result<Outcome> {
    let instance = desired_state::read_instance()?;
    let path = ctx.paths()?.local_config();
    let read = || LocalConfig::load(&path).map(|c| c.settings);
    let reply = match args.operation {
        DscOperation::Get => settings::get(&read()?, &instance)?,
        DscOperation::Test => settings::test(&read()?, &instance)?,
        DscOperation::Export => settings::export(&read()?),
        DscOperation::Set if args.what_if => settings::set(&read()?, &instance)?.1,
        DscOperation::Set => {
            ctx.require_admin_to_change_state("dsc settings set")?;
            // The same transaction as `azcm config set`: locked read-modify-write, written
            // atomically, once for the whole document.
            let mut txn = LocalConfigTxn::begin(ctx.paths()?)?;
            let (applied, reply) = settings::set(&txn.config.settings, &instance)?;
            for warning in &applied.warnings {
                ctx.report.warning(warning);
            }
            if reply.changed == Some(true) {
                ctx.report.verbose(&format!("writing {}", path.display()));
                txn.config.settings = applied.stored;
                txn.commit()?;
            }
            reply
        }
    };
    Ok(outcome(settings::RESOURCE_TYPE, args, reply))
}

fn outcome(resource_type: &str, args: &DscArgs, reply: Reply) -> Outcome {
    let operation = match args.operation {
        DscOperation::Get => "get",
        DscOperation::Test => "test",
        DscOperation::Set => "set",
        DscOperation::Export => "export",
    };
    let mut result = json!({
        "resourceType": resource_type,
        "operation": operation,
        "whatIf": args.what_if,
        "instances": reply.instances,
    });
    if let Some(diff) = &reply.differing {
        result["differingProperties"] = json!(diff);
    }
    if let Some(changed) = reply.changed {
        result["changed"] = json!(changed && !args.what_if);
    }
    // The "human" output of a DSC resource is the protocol dsc reads.
    Outcome::new(result, Human::Text(reply.lines()))
}
