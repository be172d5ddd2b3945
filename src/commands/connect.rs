//! `azcm connect`: the flags resolved once into an onboarding request, checked before any
//! network I/O; then the onboarding (src/onboarding) and its view.

use crate::auth::flags::method_from_flags;
use crate::cli::ConnectArgs;
use crate::context::Context;
use crate::error::Result;
use crate::onboarding::request::{parse_tags, Target};
use crate::onboarding::{self, OnboardingRequest, OnboardingResult};
use crate::view::{Human, Outcome, Section};
use std::time::Duration;

/// connect's flags as an onboarding target, checked before any network I/O.
fn request(args: &ConnectArgs) -> Result<OnboardingRequest> {
    Target {
        cloud: args.cloud.clone(),
        location: args.location.clone(),
        subscription: args.subscription_id.clone(),
        resource_group: args.resource_group.clone(),
        resource_name: args.resource_name.clone(),
        tags: args.tags.as_deref().map(parse_tags).transpose()?,
        correlation_id: args.correlation_id.clone(),
        private_link_scope: args.private_link_scope.clone(),
        gateway_id: args.gateway_id.clone(),
        automanage_profile: args.automanage_profile.clone(),
        enable_automatic_upgrade: args.enable_automatic_upgrade,
        ignore_network_check: args.ignore_network_check,
        what_if: args.what_if,
        retry_budget: Duration::from_secs(args.auth.retry_timeout),
    }
    .request()
}

pub fn run(args: &ConnectArgs, ctx: &Context<'_>) -> Result<Outcome> {
    let req = request(args)?;
    let method = method_from_flags(ctx, &args.auth)?;
    let result = onboarding::connect(ctx, req, method, args.auth.tenant_id.as_deref(), "connect")?;
    let view = view(&result);
    Ok(Outcome::new(result, view))
}

fn view(result: &OnboardingResult) -> Human {
    let section = if result.what_if {
        // One line per planned change, as PowerShell's -WhatIf writes them.
        let mut text = format!("What if: connect {}\n", result.resource_id);
        if result.actions.is_empty() {
            text.push_str("What if: nothing would change (already connected)\n");
        }
        for a in &result.actions {
            text.push_str(&format!("What if: {}\n", a.description));
        }
        return Human::Text(text);
    } else if result.already_connected {
        Section::new("Already connected; nothing changed")
            .row("Resource Id", result.resource_id.clone())
    } else {
        Section::untitled()
            .row("Resource Id", result.resource_id.clone())
            .row("Location", result.location.clone())
            .row("VM Id", result.vm_id.clone())
            .row("Portal Page", result.portal_link.clone())
    };
    Human::Sections(vec![section])
}
