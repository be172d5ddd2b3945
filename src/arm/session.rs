//! The ARM session a command works in: the HTTP client with the agent's proxy settings, the
//! sign-in to Entra ID on it, and the resource paths of the machine.

use super::Arm;
use crate::auth::{AuthMethod, Tokens};
use crate::cloud::{self, Cloud};
use crate::context::Context;
use crate::error::Result;
use crate::http::{self, HostCategory, HttpOptions};
use crate::state::agentconfig::AgentConfig;
use crate::state::localconfig::ProxySettings;
use std::time::Duration;

/// The HTTP client for a cloud, with the local proxy settings applied. One request may take up
/// to a minute, and at most a third of the retry budget, so a hung request leaves time to retry.
pub fn http_client(ctx: &Context<'_>, cloud: &Cloud, budget: Duration) -> Result<reqwest::Client> {
    let proxy = ProxySettings::load(ctx.paths()?)?;
    let host = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default()
    };
    let options = HttpOptions {
        proxy_url: proxy.url,
        bypass: proxy.bypass,
        hosts: vec![
            HostCategory {
                host: host(&cloud.authority),
                category: "AAD",
            },
            HostCategory {
                host: host(&cloud.resource_manager),
                category: "ARM",
            },
        ],
        request_timeout: Some((budget / 3).clamp(Duration::from_secs(2), Duration::from_secs(60))),
    };
    if !options.proxy_url.is_empty() {
        ctx.report.verbose(&format!(
            "using proxy {} (bypass: {:?})",
            options.proxy_url, options.bypass
        ));
    }
    http::client(&options, ctx.report)
}

/// Signs in to Entra ID for `cloud` and returns the ARM client on that token, with the retry
/// budget and the correlation id every request carries.
pub async fn sign_in<'a>(
    ctx: &Context<'a>,
    cloud: &Cloud,
    method: AuthMethod,
    budget: Duration,
    correlation_id: String,
) -> Result<Arm<'a>> {
    let http = http_client(ctx, cloud, budget)?;
    let tokens = Tokens::login(method, cloud, &http, ctx.report, budget).await?;
    Arm::new(
        http,
        &cloud.resource_manager,
        tokens,
        budget,
        correlation_id,
        ctx.report,
    )
}

/// The machine resource's path with its api-version.
pub fn machine_path(subscription: &str, group: &str, name: &str, api_version: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.HybridCompute/machines/{name}?api-version={api_version}")
}

/// The session on a connected machine's own resource: signed in to its cloud with its
/// correlation id, and the resource's path.
pub async fn machine_session<'a>(
    ctx: &Context<'a>,
    config: &AgentConfig,
    method: AuthMethod,
    budget: Duration,
) -> Result<(Arm<'a>, String)> {
    let cloud = cloud::find(&config.cloud)?;
    let arm = sign_in(ctx, &cloud, method, budget, config.correlation_id.clone()).await?;
    let path = machine_path(
        &config.subscription_id,
        &config.resource_group,
        &config.resource_name,
        &config.api_version,
    );
    Ok((arm, path))
}
