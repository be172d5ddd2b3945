//! `azcm check`: the network diagnosis of every Azure Arc endpoint of a cloud and region.

use super::{Context, Human, Outcome};
use crate::cli::CheckArgs;
use crate::cloud::{self, Cloud};
use crate::connectivity::{self, dns::Resolver, CheckReport, Plan};
use crate::error::{AzcmError, ErrorCode, Result};
use crate::state::agentconfig::AgentConfig;
use crate::state::localconfig::LocalConfig;
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

/// What `check` and `connect` probe with: the agent's proxy, bypass, gateway and private link
/// scope from the local state.
pub struct Options {
    pub extensions: Vec<String>,
    pub include_all: bool,
    pub private_link_mode: bool,
    pub resolver: Resolver,
    pub stage_timeout: Duration,
    pub detect_azure_vm: bool,
}

/// `agent` is the machine's agent configuration, as the caller has already read it.
pub fn plan(
    ctx: &Context<'_>,
    cloud: Cloud,
    region: String,
    agent: Option<&AgentConfig>,
    options: Options,
) -> Result<Plan> {
    let paths = ctx.paths()?;
    let local = LocalConfig::load(&paths.local_config())?;
    let value = |name: &str| local.effective(name);
    let proxy_url = value("proxy.url").as_str().unwrap_or("").to_string();
    let bypass: Vec<String> = serde_json::from_value(value("proxy.bypass")).unwrap_or_default();
    let gateway_mode = value("connection.type").as_str() == Some("gateway");
    let gateway_url = agent
        .map(|a| a.gateway_url.clone())
        .filter(|u| !u.is_empty());
    if gateway_mode && gateway_url.is_none() {
        ctx.report.warning("connection.type is gateway but no Arc gateway is known for this machine (connect with --gateway-id): checking without the gateway");
    }
    let scope = agent
        .map(|a| a.private_link_scope.clone())
        .unwrap_or_default();
    if !scope.is_empty() && !options.private_link_mode {
        ctx.report.verbose(&format!(
            "this machine uses the private link scope {scope}: checking with the private-link rule"
        ));
    }
    Ok(Plan {
        cloud,
        region,
        extensions: options.extensions,
        include_all: options.include_all,
        private_link_mode: options.private_link_mode || !scope.is_empty(),
        resolver: options.resolver,
        stage_timeout: options.stage_timeout,
        proxy_url,
        bypass,
        gateway_url: gateway_url.filter(|_| gateway_mode),
        concurrency: connectivity::DEFAULT_CONCURRENCY,
        detect_azure_vm: options.detect_azure_vm,
    })
}

pub fn run(args: &CheckArgs, ctx: &Context<'_>) -> Result<Outcome> {
    let resolver = match &args.dns_server {
        Some(s) => Resolver::Server(parse_dns_server(s)?),
        None => Resolver::System,
    };
    let connected = AgentConfig::load(&ctx.paths()?.agent_config())?;
    let (cloud_name, location) = match (&args.location, &connected) {
        (Some(l), _) => (
            args.cloud
                .clone()
                .or_else(|| connected.as_ref().map(|c| c.cloud.clone()).filter(|c| !c.is_empty()))
                .unwrap_or_else(|| cloud::DEFAULT_CLOUD.to_string()),
            l.clone(),
        ),
        (None, Some(c)) if !c.location.is_empty() => (
            if c.cloud.is_empty() { cloud::DEFAULT_CLOUD.to_string() } else { c.cloud.clone() },
            c.location.clone(),
        ),
        _ => {
            return Err(AzcmError::new(
                ErrorCode::MISSING_PARAMETER,
                "this machine is not connected: give the region to check with --location (and --cloud for another cloud than AzureCloud)",
            )
            .with_detail("flag", "location"))
        }
    };
    let cloud = cloud::find(&cloud_name)?;
    let region = cloud.region(&location)?;
    let options = Options {
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
    let plan = plan(ctx, cloud, region, connected.as_ref(), options)?;
    let report = super::connect::runtime()?.block_on(connectivity::run(&plan, ctx.report))?;
    let view = render(&report);
    verdict(&report, view.clone())?;
    Ok(Outcome::new(&report, Human::Text(view)))
}

/// AZCM0026 when a required endpoint is unreachable or breaks the private-link rule; the
/// error's `details.check` holds the whole report.
pub fn verdict(report: &CheckReport, view: String) -> Result<()> {
    if report.summary.ok {
        return Ok(());
    }
    let failed: Vec<String> = report
        .endpoints
        .iter()
        .filter(|e| e.required && !e.ok)
        .map(|e| match &e.failure {
            Some(f) => format!("{} ({}: {})", e.url, f.stage, f.kind),
            None => e.url.clone(),
        })
        .collect();
    Err(AzcmError::new(
        ErrorCode::NETWORK,
        format!(
            "{} of {} required endpoints failed the check: {}",
            failed.len(),
            report.summary.required_total,
            failed.join(", ")
        ),
    )
    .with_remediation("Each failure above names its stage and what to do; `azcm check --json` gives every stage's outcome and timing.")
    .with_detail("check", serde_json::to_value(report).expect("reports serialise"))
    .with_view(view))
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The azcmagent-style table, a summary line, and one line per failure with its remedy.
pub fn render(report: &CheckReport) -> String {
    let header = [
        "Use Case",
        "Endpoint",
        "Reachable",
        "Private",
        "Proxy",
        "TLS",
        "ms",
    ];
    let rows: Vec<[String; 7]> = report
        .endpoints
        .iter()
        .map(|e| {
            let private = match &e.stages.dns {
                Some(d) if d.ok => yes_no(d.addresses.iter().any(|a| a.private)).to_string(),
                _ => "-".into(),
            };
            let tls = match &e.stages.tls {
                Some(t) if t.ok => t.version.clone().unwrap_or_default(),
                Some(_) => e
                    .failure
                    .as_ref()
                    .map(|f| f.kind.to_string())
                    .unwrap_or("failed".into()),
                None => "-".into(),
            };
            let reachable = match (e.reachable, e.ok) {
                (true, true) => "yes",
                (true, false) => "yes (!)",
                (false, _) => "no",
            };
            [
                format!(
                    "{}{}",
                    e.use_case,
                    if e.required { "" } else { " (optional)" }
                ),
                e.url.clone(),
                reachable.to_string(),
                private,
                e.route.to_string(),
                tls,
                e.total_ms.to_string(),
            ]
        })
        .collect();
    let mut out = super::text_table(header, &rows);
    let s = &report.summary;
    out.push('\n');
    out.push_str(&format!(
        "{} of {} required endpoints reachable{} ({} {}, {} ms, DNS: {}{}{}{})\n",
        s.required_reachable,
        s.required_total,
        if s.ok { "" } else { " — check FAILED" },
        report.cloud,
        report.location,
        s.wall_ms,
        s.dns_server,
        s.proxy
            .as_ref()
            .map(|p| format!(", proxy {p}"))
            .unwrap_or_default(),
        s.gateway
            .as_ref()
            .map(|g| format!(", gateway {g}"))
            .unwrap_or_default(),
        if s.private_link_check {
            ", private-link rule on"
        } else {
            ""
        },
    ));
    out.push_str(&format!(
        "Regional HIS host: {} ({})\n",
        s.his_region.code.as_deref().unwrap_or("unknown"),
        s.his_region.detail
    ));
    if let Some(skew) = &s.clock_skew {
        out.push_str(&format!(
            "Clock skew: {} s against {}{}\n",
            skew.seconds,
            skew.source,
            if skew.ok {
                ""
            } else {
                " — more than 120 s: sync this machine's clock"
            }
        ));
    }
    out.push_str(&format!(
        "Azure VM: {}\n",
        if s.azure_vm.detected {
            s.azure_vm.evidence.join("; ")
        } else {
            "no".into()
        }
    ));
    for skipped in &s.skipped {
        out.push_str(&format!("Skipped {}: {}\n", skipped.url, skipped.reason));
    }
    let failures: Vec<_> = report
        .endpoints
        .iter()
        .filter_map(|e| e.failure.as_ref().map(|f| (e, f)))
        .collect();
    if !failures.is_empty() {
        out.push('\n');
        for (e, f) in failures {
            out.push_str(&format!(
                "{} {} — {}: {}\n    Fix: {}\n",
                if e.required { "FAIL" } else { "WARN" },
                e.url,
                f.stage,
                f.message,
                f.remediation
            ));
        }
    }
    out
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
