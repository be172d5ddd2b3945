//! The network check behind `azcm check` and `connect`: every endpoint of the cloud's
//! catalogue (docs/endpoints.md), probed concurrently stage by stage, plus the findings around
//! them (regional HIS host, clock skew, proxy, gateway, Azure VM).

pub mod dns;
pub mod probe;
pub mod verdict;

use crate::cloud::{Cloud, EndpointSpec};
use crate::error::{AzcmError, Result};
use crate::report::Reporter;
use crate::state::agentconfig::AgentConfig;
use crate::state::localconfig::ProxySettings;
use probe::{EndpointResult, Forwarder, Route, Target};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Clock skew beyond which tokens and certificates start failing (azcmagent's limit).
pub const MAX_CLOCK_SKEW_SECS: i64 = 120;
pub const DEFAULT_CONCURRENCY: usize = 16;
const ACTIVITY: &str = "Checking network connectivity";

pub struct Plan {
    pub cloud: Cloud,
    pub region: String,
    /// `--extensions` values (lower case), e.g. "sql".
    pub extensions: Vec<String>,
    pub include_all: bool,
    pub private_link_mode: bool,
    pub resolver: dns::Resolver,
    pub stage_timeout: Duration,
    /// `proxy.url` and `proxy.bypass` (`gateway_mode` is already in `gateway_url`).
    pub proxy: ProxySettings,
    /// The Arc gateway's URL when the agent uses one.
    pub gateway_url: Option<String>,
    pub concurrency: usize,
    /// Probe IMDS and the guest agent (connect has already done so).
    pub detect_azure_vm: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub cloud: String,
    pub location: String,
    pub endpoints: Vec<EndpointResult>,
    pub summary: Summary,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Every required endpoint reachable and no rule broken.
    pub ok: bool,
    pub required_reachable: usize,
    pub required_total: usize,
    pub reachable: usize,
    pub total: usize,
    pub his_region: HisRegion,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_skew: Option<ClockSkew>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    pub proxy_bypass: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    pub private_link_check: bool,
    pub dns_server: String,
    pub azure_vm: AzureVm,
    pub skipped: Vec<SkippedEndpoint>,
    pub wall_ms: u64,
    pub slowest_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HisRegion {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// "discovery" (the global HIS said so), "table" (azcm's maintained table) or "unknown".
    pub source: &'static str,
    pub detail: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockSkew {
    /// Seconds the server's clock is ahead of this machine's (negative: behind).
    pub seconds: i64,
    pub source: String,
    pub ok: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureVm {
    pub detected: bool,
    pub evidence: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedEndpoint {
    pub id: String,
    pub url: String,
    pub reason: String,
}

fn fill(url: &str, region: &str, his: Option<&str>) -> Option<String> {
    let url = url.replace("{region}", region);
    match his {
        Some(code) => Some(url.replace("{hisRegion}", code)),
        None if url.contains("{hisRegion}") => None,
        None => Some(url),
    }
}

/// What a check asks for beyond the machine's own settings.
pub struct CheckOptions {
    pub extensions: Vec<String>,
    pub include_all: bool,
    pub private_link_mode: bool,
    pub resolver: dns::Resolver,
    pub stage_timeout: Duration,
    pub detect_azure_vm: bool,
}

impl Plan {
    /// The plan for this machine: its proxy, bypass and gateway settings, and the private link
    /// scope it connected with (`agent`, when connected), over what the caller asks for.
    pub fn for_machine(
        cloud: Cloud,
        region: String,
        proxy: ProxySettings,
        agent: Option<&AgentConfig>,
        options: CheckOptions,
        report: &dyn Reporter,
    ) -> Plan {
        let gateway_url = agent
            .map(|a| a.gateway_url.clone())
            .filter(|u| !u.is_empty());
        if proxy.gateway_mode && gateway_url.is_none() {
            report.warning("connection.type is gateway but no Arc gateway is known for this machine (connect with --gateway-id): checking without the gateway");
        }
        let scope = agent
            .map(|a| a.private_link_scope.as_str())
            .unwrap_or_default();
        if !scope.is_empty() && !options.private_link_mode {
            report.verbose(&format!(
                "this machine uses the private link scope {scope}: checking with the private-link rule"
            ));
        }
        Plan {
            private_link_mode: options.private_link_mode || !scope.is_empty(),
            gateway_url: gateway_url.filter(|_| proxy.gateway_mode),
            cloud,
            region,
            extensions: options.extensions,
            include_all: options.include_all,
            resolver: options.resolver,
            stage_timeout: options.stage_timeout,
            proxy,
            concurrency: DEFAULT_CONCURRENCY,
            detect_azure_vm: options.detect_azure_vm,
        }
    }

    fn route(&self, target: &Target) -> Result<Route> {
        if let (Some(gateway), true) = (&self.gateway_url, target.gateway_routed) {
            return Ok(Route::Gateway(Forwarder {
                url: parse_forwarder(gateway, "the Arc gateway URL")?,
            }));
        }
        if self.proxy.url.is_empty()
            || self
                .proxy
                .bypass
                .iter()
                .any(|b| b.eq_ignore_ascii_case(&target.category))
        {
            return Ok(Route::Direct);
        }
        Ok(Route::Proxy(Forwarder {
            url: parse_forwarder(&self.proxy.url, "proxy.url")?,
        }))
    }

    /// The catalogue entries this run checks, and those it leaves out with the reason.
    fn selected(&self) -> (Vec<EndpointSpec>, Vec<SkippedEndpoint>) {
        let mut chosen = Vec::new();
        let mut skipped = Vec::new();
        for spec in self.cloud.endpoint_specs() {
            let skip = |reason: String| SkippedEndpoint {
                id: spec.id.clone(),
                url: spec.url.replace("{region}", &self.region),
                reason,
            };
            if let Some(ext) = &spec.extension {
                if !self.include_all && !self.extensions.iter().any(|e| e.eq_ignore_ascii_case(ext))
                {
                    skipped.push(skip(format!(
                        "only with --extensions {ext} or --include-all"
                    )));
                    continue;
                }
            }
            if spec.not_with_private_link && self.private_link_mode {
                skipped.push(skip(
                    "not used when the machine connects through a private link scope".into(),
                ));
                continue;
            }
            chosen.push(spec);
        }
        (chosen, skipped)
    }
}

fn parse_forwarder(text: &str, what: &str) -> Result<url::Url> {
    let url = url::Url::parse(text)
        .map_err(|e| AzcmError::invalid_argument(format!("{what} '{text}' is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(AzcmError::invalid_argument(format!(
            "{what} '{text}' must be an http:// or https:// URL with a host"
        )));
    }
    Ok(url)
}

fn catalogue_failure(spec: &EndpointSpec, url: String, message: String) -> EndpointResult {
    EndpointResult {
        id: spec.id.clone(),
        use_case: spec.use_case.clone(),
        url,
        category: spec.category.clone(),
        required: spec.required,
        private_link_capable: spec.private_link,
        gateway_routed: spec.gateway,
        route: "direct",
        reachable: false,
        ok: false,
        failure: Some(probe::Failure {
            stage: "catalogue",
            kind: "unknownEndpoint",
            message,
            remediation: "Make the global HIS endpoint reachable, or add the region to the cloud's hisRegions (docs/endpoints.md).".into(),
        }),
        stages: Default::default(),
        total_ms: 0,
        clock_skew_secs: None,
        body: None,
    }
}

/// The endpoint probes in flight, at most `plan.concurrency` at once.
struct Probes<'p> {
    plan: &'p Plan,
    specs: &'p [EndpointSpec],
    settings: Arc<probe::Settings>,
    limit: Arc<tokio::sync::Semaphore>,
    tasks: tokio::task::JoinSet<(usize, EndpointResult)>,
}

impl Probes<'_> {
    fn spawn(&mut self, index: usize, target: Target, route: Route, body: bool) {
        let settings = self.settings.clone();
        let limit = self.limit.clone();
        self.tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (index, probe::check(&target, &route, &settings, body).await)
        });
    }

    /// Starts the endpoints (`only_his`: those naming the regional HIS host). Without a HIS
    /// prefix yet, those wait for discovery.
    fn start(&mut self, his: Option<&str>, only_his: bool) -> Result<()> {
        for (i, spec) in self.specs.iter().enumerate() {
            if only_his && !spec.url.contains("{hisRegion}") {
                continue;
            }
            if let Some(url) = fill(&spec.url, &self.plan.region, his) {
                let target = Target::new(spec, &url).map_err(AzcmError::invalid_argument)?;
                let route = self.plan.route(&target)?;
                self.spawn(i, target, route, false);
            }
        }
        Ok(())
    }
}

/// The request to the global HIS that names the regional host, when the cloud has one.
fn discovery_target(plan: &Plan) -> Result<Option<Target>> {
    let Some(template) = &plan.cloud.his_discovery else {
        return Ok(None);
    };
    let url = template.replace("{region}", &plan.region);
    let spec = EndpointSpec {
        id: "hisDiscovery".into(),
        use_case: "Hybrid Identity Service discovery".into(),
        url: url.clone(),
        category: "Arc".into(),
        required: false,
        private_link: true,
        gateway: false,
        not_with_private_link: false,
        extension: None,
    };
    Target::new(&spec, &url)
        .map(Some)
        .map_err(AzcmError::invalid_argument)
}

/// The regional HIS host as azcm's table knows it, before discovery answers.
fn his_from_table(plan: &Plan, table_code: Option<String>, needed: bool) -> HisRegion {
    let detail = match (needed, &table_code) {
        (false, _) => "not needed by this cloud's catalogue".into(),
        (true, Some(code)) => format!("{code} from azcm's table for {}", plan.region),
        (true, None) => format!("no entry for {} in azcm's table", plan.region),
    };
    HisRegion {
        source: if table_code.is_some() {
            "table"
        } else {
            "unknown"
        },
        code: table_code,
        detail,
    }
}

/// Runs the check. Failing endpoints are results, not errors; errors are bad settings.
pub async fn run(plan: &Plan, report: &dyn Reporter) -> Result<CheckReport> {
    let started = Instant::now();
    let tls = crate::tls::client_config(&[b"http/1.1"])?;
    if let Some(why) = &tls.fallback {
        report.warning(why);
    }
    let (specs, skipped) = plan.selected();
    let mut probes = Probes {
        plan,
        specs: &specs,
        settings: Arc::new(probe::Settings {
            resolver: plan.resolver.clone(),
            stage_timeout: plan.stage_timeout,
            tls: Arc::new(tls.config),
            private_link_mode: plan.private_link_mode,
            user_agent: crate::http::user_agent(),
        }),
        limit: Arc::new(tokio::sync::Semaphore::new(plan.concurrency.max(1))),
        tasks: tokio::task::JoinSet::new(),
    };
    // Endpoints start at once; those naming the regional HIS host start with the table's guess
    // and are checked again if discovery names another host.
    let table_code = plan.cloud.his_region_from_table(&plan.region);
    let needs_his = specs.iter().any(|s| s.url.contains("{hisRegion}"));
    probes.start(table_code.as_deref(), false)?;
    if needs_his {
        if let Some(target) = discovery_target(plan)? {
            let route = plan.route(&target)?;
            // Its index is past the endpoints'.
            probes.spawn(specs.len(), target, route, true);
        }
    }
    let detect = plan.detect_azure_vm;
    let vm = tokio::spawn(async move {
        match detect {
            true => crate::imds::azure_vm_evidence().await,
            false => Vec::new(),
        }
    });
    let mut his = his_from_table(plan, table_code, needs_his);
    let results = collect(&mut probes, &mut his, report).await?;
    // Endpoints that could not be named (no HIS prefix from table or discovery).
    let endpoints: Vec<EndpointResult> = specs
        .iter()
        .zip(results)
        .map(|(spec, r)| {
            r.unwrap_or_else(|| {
                catalogue_failure(
                    spec,
                    spec.url.replace("{region}", &plan.region),
                    format!(
                        "the regional Hybrid Identity Service host for {} is unknown: {}",
                        plan.region, his.detail
                    ),
                )
            })
        })
        .collect();
    let evidence = vm.await.unwrap_or_default();
    let findings = Findings {
        clock_skew: clock_skew(&endpoints, report),
        his,
        evidence,
        skipped,
        wall_ms: started.elapsed().as_millis() as u64,
    };
    Ok(check_report(plan, endpoints, findings))
}

/// The probes' results by endpoint, as they finish, each reported as progress. Discovery's
/// answer may replace the HIS host guessed from the table: those endpoints are probed again.
async fn collect(
    probes: &mut Probes<'_>,
    his: &mut HisRegion,
    report: &dyn Reporter,
) -> Result<Vec<Option<EndpointResult>>> {
    let (plan, specs) = (probes.plan, probes.specs);
    let discovery_index = specs.len();
    let mut started_with = his.code.clone();
    let mut results: Vec<Option<EndpointResult>> = vec![None; specs.len()];
    let mut done = 0usize;
    while let Some(joined) = probes.tasks.join_next().await {
        let Ok((index, result)) = joined else {
            continue;
        };
        if index == discovery_index {
            match discovered_code(&result) {
                Ok(code) => {
                    his.detail = format!("{code} from the global HIS ({})", result.url);
                    his.code = Some(code.clone());
                    his.source = "discovery";
                    if started_with.as_deref() != Some(code.as_str()) {
                        report.verbose(&format!("the global HIS names the regional host prefix {code}; checking the regional endpoints with it"));
                        for (spec, slot) in specs.iter().zip(results.iter_mut()) {
                            if spec.url.contains("{hisRegion}") {
                                *slot = None;
                            }
                        }
                        probes.start(Some(&code), true)?;
                        started_with = Some(code);
                    }
                }
                Err(why) => {
                    his.detail =
                        format!("{}; discovery at {} failed: {why}", his.detail, result.url);
                    report.verbose(&his.detail);
                }
            }
            continue;
        }
        // A result for a guess that discovery has replaced is dropped.
        let spec = &specs[index];
        if spec.url.contains("{hisRegion}") {
            let expected = fill(&spec.url, &plan.region, started_with.as_deref());
            if expected.as_deref() != Some(result.url.as_str()) {
                continue;
            }
        }
        done += 1;
        let status = match (&result.failure, result.reachable) {
            (None, _) => "reachable".to_string(),
            (Some(f), true) => format!("reachable, but {}", f.message),
            (Some(f), false) => format!("failed at {}: {}", f.stage, f.kind),
        };
        report.progress(
            ACTIVITY,
            &format!("{}: {status} ({} ms)", result.url, result.total_ms),
            Some((done * 100 / specs.len().max(1)).min(100) as u8),
        );
        results[index] = Some(result);
    }
    Ok(results)
}

/// The largest clock skew Entra ID or ARM showed, with a warning past the limit.
fn clock_skew(endpoints: &[EndpointResult], report: &dyn Reporter) -> Option<ClockSkew> {
    let skew = endpoints
        .iter()
        .filter(|e| matches!(e.category.as_str(), "AAD" | "ARM"))
        .filter_map(|e| e.clock_skew_secs.map(|s| (s, e.url.clone())))
        .max_by_key(|(s, _)| s.abs())
        .map(|(seconds, source)| ClockSkew {
            seconds,
            source,
            ok: seconds.abs() <= MAX_CLOCK_SKEW_SECS,
        });
    if let Some(skew) = skew.as_ref().filter(|s| !s.ok) {
        report.warning(&format!(
            "this machine's clock is {} s {} {} (more than {MAX_CLOCK_SKEW_SECS} s): tokens and certificates will fail; sync the clock (w32tm /resync or chronyc makestep)",
            skew.seconds.abs(),
            if skew.seconds > 0 { "behind" } else { "ahead of" },
            skew.source
        ));
    }
    skew
}

/// What the check found around the endpoints.
struct Findings {
    his: HisRegion,
    clock_skew: Option<ClockSkew>,
    evidence: Vec<String>,
    skipped: Vec<SkippedEndpoint>,
    wall_ms: u64,
}

fn check_report(plan: &Plan, endpoints: Vec<EndpointResult>, found: Findings) -> CheckReport {
    let required: Vec<&EndpointResult> = endpoints.iter().filter(|e| e.required).collect();
    let summary = Summary {
        ok: required.iter().all(|e| e.ok),
        required_reachable: required.iter().filter(|e| e.reachable).count(),
        required_total: required.len(),
        reachable: endpoints.iter().filter(|e| e.reachable).count(),
        total: endpoints.len(),
        his_region: found.his,
        clock_skew: found.clock_skew,
        proxy: (!plan.proxy.url.is_empty()).then(|| {
            parse_forwarder(&plan.proxy.url, "proxy.url")
                .map(|url| Forwarder { url }.display())
                .unwrap_or_default()
        }),
        proxy_bypass: plan.proxy.bypass.clone(),
        gateway: plan.gateway_url.clone(),
        private_link_check: plan.private_link_mode,
        dns_server: plan.resolver.describe(),
        azure_vm: AzureVm {
            detected: !found.evidence.is_empty(),
            evidence: found.evidence,
        },
        skipped: found.skipped,
        wall_ms: found.wall_ms,
        slowest_ms: endpoints.iter().map(|e| e.total_ms).max().unwrap_or(0),
    };
    CheckReport {
        cloud: plan.cloud.name.clone(),
        location: plan.region.clone(),
        endpoints,
        summary,
    }
}

fn discovered_code(result: &EndpointResult) -> std::result::Result<String, String> {
    if let Some(f) = &result.failure {
        if !result.reachable {
            return Err(f.message.clone());
        }
    }
    let status = result
        .stages
        .http
        .as_ref()
        .and_then(|h| h.status)
        .unwrap_or(0);
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    let body: serde_json::Value = serde_json::from_slice(result.body.as_deref().unwrap_or(&[]))
        .map_err(|e| format!("the answer is not JSON: {e}"))?;
    body["regionCode"]
        .as_str()
        .filter(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric()))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| "the answer names no regionCode".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(cloud: &str, region: &str, extensions: &[&str], pls: bool) -> Plan {
        let cloud = crate::cloud::find(cloud).unwrap();
        let region = cloud.region(region).unwrap();
        Plan {
            cloud,
            region,
            extensions: extensions.iter().map(|e| e.to_string()).collect(),
            include_all: false,
            private_link_mode: pls,
            resolver: dns::Resolver::System,
            stage_timeout: Duration::from_secs(1),
            proxy: ProxySettings::default(),
            gateway_url: None,
            concurrency: 16,
            detect_azure_vm: false,
        }
    }

    fn urls(plan: &Plan) -> Vec<String> {
        let his = plan.cloud.his_region_from_table(&plan.region);
        plan.selected()
            .0
            .iter()
            .filter_map(|s| fill(&s.url, &plan.region, his.as_deref()))
            .collect()
    }

    #[test]
    fn azure_public_cloud_endpoints_for_a_region() {
        let p = plan("AzureCloud", "West Europe", &[], false);
        let urls = urls(&p);
        for expected in [
            "https://login.microsoftonline.com",
            "https://westeurope.login.microsoft.com",
            "https://pas.windows.net",
            "https://management.azure.com",
            "https://gbl.his.arc.azure.com",
            "https://weu.his.arc.azure.com",
            "https://agentserviceapi.guestconfiguration.azure.com",
            "https://westeurope-gas.guestconfiguration.azure.com",
            "https://guestnotificationservice.azure.com",
        ] {
            assert!(
                urls.iter().any(|u| u == expected),
                "{expected} missing from {urls:?}"
            );
        }
        assert!(
            !urls.iter().any(|u| u.contains("arcdataservices")),
            "SQL only when asked"
        );
        let with_sql = self::urls(&plan("AzureCloud", "eastus", &["sql"], false));
        assert!(with_sql
            .iter()
            .any(|u| u == "https://telemetry.eastus.arcdataservices.com"));
        // Private link: the extension storage is not used, and says so.
        let pls = plan("AzureCloud", "westeurope", &[], true);
        let (_, skipped) = pls.selected();
        assert!(skipped.iter().any(|s| s.id == "extensionDownload"));
        let gov = self::urls(&plan("AzureUSGovernment", "usgovvirginia", &[], false));
        assert!(
            gov.iter().any(|u| u == "https://usgv.his.arc.azure.us"),
            "{gov:?}"
        );
    }

    #[test]
    fn routes_follow_gateway_proxy_and_bypass() {
        let spec = |category: &str, gateway: bool| EndpointSpec {
            id: "x".into(),
            use_case: "x".into(),
            url: "https://x.example".into(),
            category: category.into(),
            required: true,
            private_link: false,
            gateway,
            not_with_private_link: false,
            extension: None,
        };
        let target = |category: &str, gateway: bool| {
            Target::new(&spec(category, gateway), "https://x.example").unwrap()
        };
        let mut p = plan("AzureCloud", "westeurope", &[], false);
        assert_eq!(p.route(&target("Arc", true)).unwrap().name(), "direct");
        p.proxy.url = "http://proxy.contoso.corp:3128".into();
        p.proxy.bypass = vec!["arc".into()];
        assert_eq!(p.route(&target("Arc", true)).unwrap().name(), "direct");
        assert_eq!(p.route(&target("AAD", false)).unwrap().name(), "proxy");
        p.gateway_url = Some("https://gw.contoso.example".into());
        assert_eq!(p.route(&target("Arc", true)).unwrap().name(), "gateway");
        assert_eq!(p.route(&target("ARM", false)).unwrap().name(), "proxy");
        p.proxy.url = "proxy:3128".into();
        assert!(p.route(&target("AAD", false)).is_err());
    }
}
