//! `azcm check`: the network diagnosis of every Azure Arc endpoint of a cloud and region.

use crate::cli::CheckArgs;
use crate::cloud::{self, Cloud};
use crate::context::Context;
use crate::error::{AzcmError, ErrorCode, Result};
use crate::network_check::verdict::{render, verdict};
use crate::network_check::{self, dns::Resolver, CheckOptions, Plan};
use crate::state::agentconfig::AgentConfig;
use crate::state::localconfig::ProxySettings;
use crate::view::{Human, Outcome};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// `--dns-server ADDR[:PORT]`: an IPv4 or IPv6 address (IPv6 with a port in brackets).
pub fn parse_dns_server(text: &str) -> Result<SocketAddr> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = text.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(AzcmError::invalid_argument(format!(
        "--dns-server '{text}' is not an IP address with an optional port (10.0.0.4, 10.0.0.4:53, [fd00::4]:53)"
    ))
    .with_detail("flag", "dns-server"))
}

/// `check`'s flags, resolved: the cloud and region to check, and how.
struct CheckRequest {
    cloud: Cloud,
    region: String,
    options: CheckOptions,
}

/// A connected machine checks its own cloud and region unless told otherwise.
fn request(args: &CheckArgs, connected: Option<&AgentConfig>) -> Result<CheckRequest> {
    let resolver = match &args.dns_server {
        Some(s) => Resolver::Server(parse_dns_server(s)?),
        None => Resolver::System,
    };
    let connected_cloud = connected.map(|c| c.cloud.clone()).filter(|c| !c.is_empty());
    let (cloud_name, location) = match (&args.location, connected) {
        (Some(l), _) => (args.cloud.clone().or(connected_cloud), l.clone()),
        (None, Some(c)) if !c.location.is_empty() => (connected_cloud, c.location.clone()),
        _ => {
            return Err(AzcmError::new(
                ErrorCode::MISSING_PARAMETER,
                "this machine is not connected: give the region to check with --location (and --cloud for another cloud than AzureCloud)",
            )
            .with_detail("flag", "location"))
        }
    };
    let cloud = cloud::find(&cloud_name.unwrap_or_else(cloud::default_cloud_name))?;
    let region = cloud.region(&location)?;
    let options = CheckOptions {
        extensions: args
            .extensions
            .iter()
            .map(|e| e.to_ascii_lowercase())
            .collect(),
        include_all: args.include_all,
        private_link_mode: args.enable_pls_check,
        resolver,
        stage_timeout: Duration::from_secs(args.timeout),
        detect_azure_vm: true,
    };
    Ok(CheckRequest {
        cloud,
        region,
        options,
    })
}

pub fn run(args: &CheckArgs, ctx: &Context<'_>) -> Result<Outcome> {
    let paths = ctx.paths()?;
    let connected = AgentConfig::load(&paths.agent_config())?;
    let request = request(args, connected.as_ref())?;
    let plan = Plan::for_machine(
        request.cloud,
        request.region,
        ProxySettings::load(paths)?,
        connected.as_ref(),
        request.options,
        ctx.report,
    );
    let report = ctx.block_on(network_check::run(&plan, ctx.report))??;
    verdict(&report)?;
    let result = serde_json::to_value(&report).expect("the check report serialises");
    Ok(Outcome::viewed_with(result, move |_| {
        Human::Text(render(&report))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_server_addresses() {
        assert_eq!(
            parse_dns_server("10.0.0.4").unwrap(),
            "10.0.0.4:53".parse().unwrap()
        );
        assert_eq!(
            parse_dns_server("127.0.0.1:5353").unwrap(),
            "127.0.0.1:5353".parse().unwrap()
        );
        assert_eq!(
            parse_dns_server("[fd00::4]:54").unwrap(),
            "[fd00::4]:54".parse().unwrap()
        );
        assert_eq!(
            parse_dns_server("fd00::4").unwrap(),
            "[fd00::4]:53".parse().unwrap()
        );
        for bad in ["", "dns.contoso.com", "10.0.0.4:99999", "10.0.0"] {
            assert_eq!(
                parse_dns_server(bad).unwrap_err().code,
                ErrorCode::INVALID_ARGUMENT,
                "{bad}"
            );
        }
    }
}
