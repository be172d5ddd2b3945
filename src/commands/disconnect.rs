//! `azcm disconnect`: the flags resolved into an offboarding (src/offboarding) and its view.

use crate::auth::flags::method_from_flags;
use crate::cli::DisconnectArgs;
use crate::context::Context;
use crate::error::Result;
use crate::offboarding::{self, OffboardingRequest};
use crate::view::{Human, Outcome};
use std::time::Duration;

pub fn run(args: &DisconnectArgs, ctx: &Context<'_>) -> Result<Outcome> {
    let req = OffboardingRequest {
        retry_budget: Duration::from_secs(args.auth.retry_timeout),
        what_if: args.what_if,
        operation: "disconnect",
        local_only_name: "--force-local-only",
    };
    let result = offboarding::offboard(ctx, &req, || match args.force_local_only {
        true => Ok(None),
        false => method_from_flags(ctx, &args.auth).map(Some),
    })?;
    let what_if = result.what_if;
    let mut view = match what_if {
        true => format!("What if: disconnect {}\n", result.resource_id),
        false => format!("Disconnected {}\n", result.resource_id),
    };
    for a in &result.actions {
        match what_if {
            true => view.push_str(&format!("What if: {}\n", a.description)),
            false => view.push_str(&format!("  done: {}\n", a.description)),
        }
    }
    Ok(Outcome::new(result, Human::Text(view)))
}
