//! `azcm connect`: validate everything locally, refuse Azure VMs, authenticate, then
//! subscription → resource provider → resource group → key → machine resource → agent config
//! → services, each step reported and timed. Re-running converges; `--what-if` changes nothing.

use super::{Context, Human, Outcome, Section};
use crate::arm::{
    Arm, AUTOMANAGE_API_VERSION, GATEWAY_API_VERSION, RESOURCES_API_VERSION,
    SUBSCRIPTIONS_API_VERSION,
};
use crate::auth::{AuthMethod, ClientCertificate, Tokens};
use crate::cli::{AuthArgs, ConnectArgs};
use crate::cloud::{self, Cloud};
use crate::error::{AzcmError, ErrorCode, Result};
use crate::http::{self, HostCategory, HttpOptions};
use crate::keys;
use crate::platform::{self, AgentService};
use crate::settings;
use crate::state::agentconfig::AgentConfig;
use crate::state::localconfig::{LocalConfig, LocalConfigTxn};
use crate::{ids, imds};
use azure_core::credentials::Secret;
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::time::{Duration, Instant, SystemTime};

/// Resource providers an Arc-enabled server needs registered in its subscription.
const RESOURCE_PROVIDERS: &[&str] = &[
    "Microsoft.HybridCompute",
    "Microsoft.GuestConfiguration",
    "Microsoft.HybridConnectivity",
];
const SERVICE_TIMEOUT: Duration = Duration::from_secs(60);

/// Environment variables a secret may come from instead of the command line.
pub const SECRET_ENV: &str = "AZCM_SERVICE_PRINCIPAL_SECRET";
pub const TOKEN_ENV: &str = "AZCM_ACCESS_TOKEN";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepTiming {
    pub name: &'static str,
    pub ms: u128,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    pub action: String,
    pub target: String,
    pub done: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOutcome {
    pub name: String,
    pub result: String,
}

/// Times the steps and reports each as progress.
pub struct Steps<'c> {
    ctx: &'c Context<'c>,
    activity: &'static str,
    total: usize,
    done: usize,
    started: Option<(&'static str, Instant)>,
    pub timings: Vec<StepTiming>,
}

impl<'c> Steps<'c> {
    pub fn new(ctx: &'c Context<'c>, activity: &'static str, total: usize) -> Self {
        Self {
            ctx,
            activity,
            total,
            done: 0,
            started: None,
            timings: Vec::new(),
        }
    }

    pub fn begin(&mut self, name: &'static str, status: &str) {
        self.finish();
        let percent = (self.done * 100 / self.total.max(1)).min(100) as u8;
        self.ctx
            .report
            .progress(self.activity, status, Some(percent));
        self.started = Some((name, Instant::now()));
    }

    pub fn finish(&mut self) {
        if let Some((name, at)) = self.started.take() {
            self.timings.push(StepTiming {
                name,
                ms: at.elapsed().as_millis(),
            });
            self.done += 1;
        }
    }
}

// ---------- input ----------

/// azcmagent's tag syntax: `Name=Value,Other='Value, with spaces'`; a doubled quote inside
/// quotes is a literal quote.
pub fn parse_tags(text: &str) -> Result<BTreeMap<String, String>> {
    let bad = |why: &str| {
        AzcmError::invalid_argument(format!(
            "invalid --tags '{}': {why}",
            crate::error::excerpt(text)
        ))
        .with_detail("tags", crate::error::excerpt(text))
    };
    let mut tags = BTreeMap::new();
    // Tag names compare case-insensitively, as Azure does; one set keeps the check linear.
    let mut names = std::collections::HashSet::new();
    let mut chars = text.chars().peekable();
    let read =
        |stop: &[char], chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Result<String> {
            let mut out = String::new();
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            if chars.peek() == Some(&'\'') {
                chars.next();
                loop {
                    match chars.next() {
                        None => return Err(bad("a quote is not closed")),
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            out.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => out.push(c),
                    }
                }
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
                if chars.peek().is_some_and(|c| !stop.contains(c)) {
                    return Err(bad("text after a closing quote"));
                }
                return Ok(out);
            }
            while let Some(&c) = chars.peek() {
                if stop.contains(&c) {
                    break;
                }
                if c == '\'' {
                    return Err(bad("a quote inside an unquoted name or value"));
                }
                out.push(c);
                chars.next();
            }
            Ok(out.trim().to_string())
        };
    while chars.peek().is_some() {
        let name = read(&['=', ','], &mut chars)?;
        if chars.next() != Some('=') {
            return Err(bad(&format!("tag '{name}' has no =value")));
        }
        let value = read(&[','], &mut chars)?;
        chars.next();
        if name.is_empty() {
            return Err(bad("a tag has an empty name"));
        }
        if name.len() > 512 || value.len() > 256 || name.chars().any(|c| "<>%&\\?/".contains(c)) {
            return Err(bad(&format!("tag '{name}' breaks Azure's rules (name up to 512 characters without <>%&\\?/, value up to 256)")));
        }
        if !names.insert(name.to_ascii_lowercase()) {
            return Err(bad(&format!("tag '{name}' is given twice")));
        }
        tags.insert(name, value);
        if tags.len() > 50 {
            return Err(bad("Azure allows at most 50 tags"));
        }
    }
    Ok(tags)
}

fn check_resource_group(name: &str) -> Result<()> {
    let ok = (1..=90).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
        && !name.ends_with('.');
    if ok {
        Ok(())
    } else {
        Err(AzcmError::invalid_argument(format!(
            "invalid --resource-group '{name}': 1 to 90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'"
        ))
        .with_detail("resourceGroup", name))
    }
}

fn machine_name_error(name: &str) -> Option<&'static str> {
    if !(1..=54).contains(&name.len()) {
        return Some("1 to 54 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Some("only letters, digits, '-', '_' and '.'");
    }
    if name.ends_with('-') || name.ends_with('_') || name.ends_with('.') {
        return Some("must not end with '-', '_' or '.'");
    }
    None
}

fn resource_name(args: &ConnectArgs) -> Result<String> {
    if let Some(name) = &args.resource_name {
        return match machine_name_error(name) {
            None => Ok(name.clone()),
            Some(why) => Err(AzcmError::invalid_argument(format!(
                "invalid --resource-name '{name}': {why}"
            ))
            .with_detail("resourceName", name.as_str())),
        };
    }
    let host = platform::hostname().map_err(|e| {
        AzcmError::new(
            ErrorCode::HOSTNAME,
            format!("cannot read the host name: {e}"),
        )
    })?;
    let short = host.split('.').next().unwrap_or("").to_string();
    match machine_name_error(&short) {
        None => Ok(short),
        Some(why) => Err(AzcmError::new(ErrorCode::HOSTNAME, format!("the host name '{host}' is not a valid resource name ({why})"))
            .with_remediation("Pass --resource-name with letters, digits, hyphens and underscores, not ending in a hyphen or underscore.")),
    }
}

fn check_guid(flag: &str, value: &str) -> Result<()> {
    if ids::is_guid(value) {
        Ok(())
    } else {
        Err(
            AzcmError::invalid_argument(format!("--{flag} must be a GUID, not '{value}'"))
                .with_detail("flag", flag),
        )
    }
}

/// `/subscriptions/<guid>/resourceGroups/<group>/providers/<namespace>/<type>/<name>`.
fn is_resource_id(id: &str, namespace: &str, kind: &str) -> bool {
    let parts: Vec<&str> = id.trim_start_matches('/').split('/').collect();
    id.starts_with('/')
        && parts.len() == 8
        && parts[0].eq_ignore_ascii_case("subscriptions")
        && ids::is_guid(parts[1])
        && parts[2].eq_ignore_ascii_case("resourceGroups")
        && check_resource_group(parts[3]).is_ok()
        && parts[4].eq_ignore_ascii_case("providers")
        && parts[5].eq_ignore_ascii_case(namespace)
        && parts[6].eq_ignore_ascii_case(kind)
        && !parts[7].is_empty()
}

fn check_gateway(id: &str) -> Result<()> {
    if is_resource_id(id, "Microsoft.HybridCompute", "gateways") {
        return Ok(());
    }
    Err(AzcmError::invalid_argument(format!(
        "--gateway-id must be a resource id like /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.HybridCompute/gateways/<name>, not '{id}'"
    )))
}

/// A built-in best-practices profile or a custom configuration profile.
fn check_automanage_profile(id: &str) -> Result<()> {
    let builtin = ["AzureBestPracticesProduction", "AzureBestPracticesDevTest"]
        .iter()
        .any(|p| {
            id.eq_ignore_ascii_case(&format!(
                "/providers/Microsoft.Automanage/bestPractices/{p}"
            ))
        });
    if builtin || is_resource_id(id, "Microsoft.Automanage", "configurationProfiles") {
        return Ok(());
    }
    Err(AzcmError::invalid_argument(format!(
        "--automanage-profile must be /providers/Microsoft.Automanage/bestPractices/AzureBestPracticesProduction (or ...DevTest) or a configuration profile's resource id, not '{id}'"
    )))
}

fn check_private_link_scope(id: &str) -> Result<()> {
    let parts: Vec<&str> = id.trim_start_matches('/').split('/').collect();
    let ok = parts.len() == 8
        && parts[0].eq_ignore_ascii_case("subscriptions")
        && ids::is_guid(parts[1])
        && parts[2].eq_ignore_ascii_case("resourceGroups")
        && check_resource_group(parts[3]).is_ok()
        && parts[4].eq_ignore_ascii_case("providers")
        && parts[5].eq_ignore_ascii_case("Microsoft.HybridCompute")
        && parts[6].eq_ignore_ascii_case("privateLinkScopes")
        && !parts[7].is_empty()
        && id.starts_with('/');
    if ok {
        Ok(())
    } else {
        Err(AzcmError::invalid_argument(format!(
            "--private-link-scope must be a resource id like /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.HybridCompute/privateLinkScopes/<name>, not '{id}'"
        )))
    }
}

/// A secret from its flag (`-` = stdin), else from its environment variable. A secret typed on
/// the command line works, as with azcmagent, but warns: other processes can read it there.
fn secret(ctx: &Context<'_>, flag: &str, value: Option<&str>, env: &str) -> Result<Option<Secret>> {
    let text = match value {
        Some("-") => {
            let mut line = String::new();
            let max = crate::files::MAX_SECRET;
            std::io::Read::take(std::io::stdin().lock(), max + 1)
                .read_line(&mut line)
                .map_err(|e| {
                    AzcmError::invalid_argument(format!("cannot read --{flag} from stdin: {e}"))
                })?;
            if line.len() as u64 > max {
                return Err(AzcmError::invalid_argument(format!(
                    "--{flag} -: the line on stdin is longer than {}, more than any secret or token",
                    crate::files::size_text(max)
                )));
            }
            let line = line.trim_end_matches(['\r', '\n']).to_string();
            if line.is_empty() {
                return Err(AzcmError::new(
                    ErrorCode::MISSING_PARAMETER,
                    format!("--{flag} - read nothing from stdin"),
                ));
            }
            line
        }
        Some(v) => {
            if ctx.given_on_command_line(flag) {
                ctx.report.warning(&format!(
                    "--{flag} on the command line can be read by other processes and may be kept in shell history; pass - and the value on stdin, set {env}, or use --config"
                ));
            }
            v.to_string()
        }
        None => match std::env::var(env) {
            Ok(v) if !v.is_empty() => v,
            _ => return Ok(None),
        },
    };
    Ok(Some(Secret::new(text)))
}

/// The one authentication method the arguments name.
pub fn auth_method(ctx: &Context<'_>, args: &AuthArgs) -> Result<AuthMethod> {
    let sp_secret = secret(
        ctx,
        "service-principal-secret",
        args.service_principal_secret.as_deref(),
        SECRET_ENV,
    )?;
    let token = secret(ctx, "access-token", args.access_token.as_deref(), TOKEN_ENV)?;
    if let Some(tenant) = &args.tenant_id {
        check_guid("tenant-id", tenant)?;
    }
    if let Some(tenant) = &args.user_tenant_id {
        check_guid("user-tenant-id", tenant)?;
    }
    // A person signs in to their own tenant when it differs from the subscription's.
    let sign_in_tenant = args
        .user_tenant_id
        .clone()
        .or_else(|| args.tenant_id.clone());
    let tenant = || {
        args.tenant_id.clone().ok_or_else(|| {
            AzcmError::new(
                ErrorCode::MISSING_PARAMETER,
                "--tenant-id is required with a service principal",
            )
        })
    };
    let service_principal =
        args.service_principal_id.is_some() || sp_secret.is_some() || args.has_certificate();
    if args.use_azcli {
        if service_principal || token.is_some() || args.use_device_code {
            return Err(AzcmError::invalid_argument(
                "--use-azcli cannot be combined with another sign-in method",
            ));
        }
        return Ok(AuthMethod::AzureCli {
            tenant_id: sign_in_tenant,
        });
    }
    if args.use_device_code {
        if service_principal || token.is_some() {
            return Err(AzcmError::invalid_argument(
                "--use-device-code cannot be combined with a service principal or --access-token",
            ));
        }
        return Ok(AuthMethod::DeviceCode {
            tenant_id: sign_in_tenant,
        });
    }
    if !service_principal && token.is_none() && ctx.interactive() {
        ctx.report.verbose(
            "no credentials given: signing in with a device code, as azcmagent does interactively",
        );
        return Ok(AuthMethod::DeviceCode {
            tenant_id: sign_in_tenant,
        });
    }
    if args.user_tenant_id.is_some() {
        return Err(AzcmError::invalid_argument(
            "--user-tenant-id is for a person signing in (--use-device-code, --use-azcli); a service principal or token names its tenant with --tenant-id",
        ));
    }
    if args.service_principal_cert.is_some() && args.service_principal_cert_thumbprint.is_some() {
        return Err(AzcmError::invalid_argument(
            "use either --service-principal-cert or --service-principal-cert-thumbprint, not both",
        ));
    }
    let certificate = || -> Result<Box<ClientCertificate>> {
        let certificate = match &args.service_principal_cert {
            Some(path) => ClientCertificate::load(path)?,
            None => ClientCertificate::from_store(
                args.service_principal_cert_thumbprint
                    .as_deref()
                    .unwrap_or_default(),
            )?,
        };
        ctx.report.verbose(&format!(
            "using the certificate with thumbprint {}{}",
            certificate.thumbprint(),
            certificate
                .store()
                .map(|s| format!(" from {s}"))
                .unwrap_or_default()
        ));
        Ok(Box::new(certificate))
    };
    match (&args.service_principal_id, sp_secret, args.has_certificate(), token) {
        (Some(_), _, _, Some(_)) => Err(AzcmError::invalid_argument("use either a service principal or --access-token, not both")),
        (Some(_), Some(_), true, None) => Err(AzcmError::invalid_argument(
            "use either --service-principal-secret or a certificate (--service-principal-cert, --service-principal-cert-thumbprint), not both",
        )),
        (Some(id), Some(secret), false, None) => {
            if id.trim().is_empty() {
                return Err(AzcmError::invalid_argument("--service-principal-id is empty"));
            }
            Ok(AuthMethod::ServicePrincipalSecret { tenant_id: tenant()?, client_id: id.clone(), secret })
        }
        (Some(id), None, true, None) => {
            let tenant_id = tenant()?;
            Ok(AuthMethod::ServicePrincipalCertificate { tenant_id, client_id: id.clone(), certificate: certificate()? })
        }
        (Some(_), None, false, None) => Err(AzcmError::new(
            ErrorCode::MISSING_PARAMETER,
            format!("--service-principal-id needs --service-principal-secret (or {SECRET_ENV}), --service-principal-cert or --service-principal-cert-thumbprint"),
        )),
        (None, Some(_), _, _) | (None, None, true, _) => Err(AzcmError::new(
            ErrorCode::MISSING_PARAMETER,
            "--service-principal-secret, --service-principal-cert and --service-principal-cert-thumbprint need --service-principal-id",
        )),
        (None, None, false, Some(token)) => Ok(AuthMethod::AccessToken(token)),
        (None, None, false, None) => Err(AzcmError::new(
            ErrorCode::MISSING_PARAMETER,
            "no credentials: pass --service-principal-id with --service-principal-secret, --service-principal-cert or --service-principal-cert-thumbprint and --tenant-id, --access-token, or --use-device-code",
        )),
    }
}

/// The tenant of an access token, read from its (unverified) claims.
/// The connectivity check of `azcm check`, before anything is changed: AZCM0026 when a
/// required endpoint fails, unless --ignore-network-check (then a warning).
async fn network_check(
    args: &ConnectArgs,
    ctx: &Context<'_>,
    plan: &Plan,
    existing: Option<&AgentConfig>,
) -> Result<()> {
    let options = super::check::Options {
        extensions: Vec::new(),
        include_all: false,
        private_link_mode: args.private_link_scope.is_some(),
        resolver: crate::connectivity::dns::Resolver::System,
        stage_timeout: Duration::from_secs(10),
        // The Azure VM guard has just asked.
        detect_azure_vm: false,
    };
    let check_plan = super::check::plan(
        ctx,
        plan.cloud.clone(),
        plan.location.clone(),
        existing,
        options,
    )?;
    let report = crate::connectivity::run(&check_plan, ctx.report).await?;
    let s = &report.summary;
    ctx.report.verbose(&format!(
        "network check: {} of {} required endpoints reachable in {} ms",
        s.required_reachable, s.required_total, s.wall_ms
    ));
    let view = super::check::render(&report);
    match super::check::verdict(&report, view) {
        Ok(()) => Ok(()),
        Err(err) if args.ignore_network_check => {
            ctx.report.warning(&format!(
                "--ignore-network-check: continuing although {}",
                err.message
            ));
            Ok(())
        }
        Err(err) => Err(err.with_remediation(
            "Fix what the check names (run `azcm check` to repeat it), or connect with --ignore-network-check to continue anyway.",
        )),
    }
}

fn token_tenant(token: &str) -> Option<String> {
    use base64::Engine;
    let claims = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value["tid"].as_str().map(str::to_string)
}

// ---------- shared with disconnect ----------

/// The machine is not an Azure VM (IMDS, or the Azure guest agent's services), unless
/// `MSFT_ARC_TEST` says this is an evaluation on one.
pub async fn azure_vm_guard(ctx: &Context<'_>) -> Result<()> {
    if std::env::var_os("MSFT_ARC_TEST").is_some_and(|v| !v.is_empty()) {
        ctx.report
            .verbose("MSFT_ARC_TEST is set: skipping the Azure VM check");
        return Ok(());
    }
    let evidence = imds::azure_vm_evidence().await;
    if evidence.is_empty() {
        return Ok(());
    }
    Err(AzcmError::new(
        ErrorCode::CONNECT_FAILED,
        format!("this machine is an Azure VM ({}); Azure Arc-enabled servers is for machines outside Azure", evidence.join("; ")),
    )
    .with_detail("evidence", evidence)
    .with_remediation("Manage Azure VMs natively in Azure. To evaluate Azure Arc on an Azure VM, follow Microsoft's evaluation guidance and set MSFT_ARC_TEST=true."))
}

/// The HTTP client for a cloud, with the local proxy settings applied. One request may take up
/// to a minute, and at most a third of the retry budget, so a hung request leaves time to retry.
pub fn http_client(ctx: &Context<'_>, cloud: &Cloud, budget: Duration) -> Result<reqwest::Client> {
    let local = LocalConfig::load(&ctx.paths()?.local_config())?;
    let value = |name: &str| local.effective(name);
    let host = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default()
    };
    let options = HttpOptions {
        proxy_url: value("proxy.url").as_str().unwrap_or("").to_string(),
        bypass: serde_json::from_value(value("proxy.bypass")).unwrap_or_default(),
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
    let tokens = Tokens::login(method, cloud, &http, ctx.report).await?;
    Arm::new(
        http,
        &cloud.resource_manager,
        tokens,
        budget,
        correlation_id,
        ctx.report,
    )
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            AzcmError::new(
                ErrorCode::UNKNOWN,
                format!("cannot start the async runtime: {e}"),
            )
        })
}

/// Restarts the agent services that are installed; absent ones are reported, not an error.
pub fn restart_services(ctx: &Context<'_>) -> Vec<ServiceOutcome> {
    AgentService::ALL
        .iter()
        .map(|service| {
            let name = service.service_name();
            let result = match platform::query_service(name) {
                Ok(None) => "notInstalled".to_string(),
                Ok(Some(_)) => match platform::restart_service(name, SERVICE_TIMEOUT) {
                    Ok(_) => "restarted".to_string(),
                    Err(e) => {
                        ctx.report
                            .warning(&format!("could not restart {name}: {e}"));
                        format!("failed: {e}")
                    }
                },
                Err(e) => {
                    ctx.report.warning(&format!("could not query {name}: {e}"));
                    format!("failed: {e}")
                }
            };
            ServiceOutcome {
                name: name.to_string(),
                result,
            }
        })
        .collect()
}

pub fn machine_path(subscription: &str, group: &str, name: &str, api_version: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.HybridCompute/machines/{name}?api-version={api_version}")
}

// ---------- connect ----------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ConnectResult {
    resource_id: String,
    resource_name: String,
    subscription_id: String,
    resource_group: String,
    location: String,
    tenant_id: String,
    cloud: String,
    vm_id: String,
    principal_id: String,
    correlation_id: String,
    portal_link: String,
    already_connected: bool,
    what_if: bool,
    actions: Vec<Action>,
    services: Vec<ServiceOutcome>,
    steps: Vec<StepTiming>,
    os_facts: platform::OsFacts,
}

struct Plan {
    cloud: Cloud,
    location: String,
    name: String,
    tags: BTreeMap<String, String>,
    correlation_id: String,
    api_version: String,
}

pub fn run(args: &ConnectArgs, ctx: &Context<'_>) -> Result<Outcome> {
    // Everything that can be checked without the network, first.
    let cloud = cloud::find(&args.cloud)?;
    let location = cloud.region(&args.location)?;
    check_resource_group(&args.resource_group)?;
    if args.subscription_id.trim().is_empty() {
        return Err(AzcmError::invalid_argument("--subscription-id is empty"));
    }
    let name = resource_name(args)?;
    let tags = args
        .tags
        .as_deref()
        .map(parse_tags)
        .transpose()?
        .unwrap_or_default();
    if let Some(id) = &args.correlation_id {
        check_guid("correlation-id", id)?;
    }
    if let Some(scope) = &args.private_link_scope {
        check_private_link_scope(scope)?;
    }
    if let Some(gateway) = &args.gateway_id {
        check_gateway(gateway)?;
    }
    if let Some(profile) = &args.automanage_profile {
        check_automanage_profile(profile)?;
    }
    let method = auth_method(ctx, &args.auth)?;
    if !args.what_if {
        ctx.require_admin_to_change_state("connect")?;
    }
    let plan = Plan {
        cloud,
        location,
        name,
        tags,
        correlation_id: args.correlation_id.clone().unwrap_or_else(ids::new_guid),
        api_version: crate::arm::hybridcompute_api_version()?,
    };
    runtime()?.block_on(onboard(args, ctx, plan, method))
}

async fn onboard(
    args: &ConnectArgs,
    ctx: &Context<'_>,
    plan: Plan,
    method: AuthMethod,
) -> Result<Outcome> {
    let what_if = args.what_if;
    let paths = ctx.paths()?;
    let mut steps = Steps::new(
        ctx,
        if what_if {
            "Connect (what-if)"
        } else {
            "Connect"
        },
        10,
    );
    let mut actions: Vec<Action> = Vec::new();
    let act = |actions: &mut Vec<Action>, action: &str, target: &str| {
        actions.push(Action {
            action: action.to_string(),
            target: target.to_string(),
            done: !what_if,
        });
    };

    steps.begin("localState", "checking the local agent state");
    let existing = AgentConfig::load(&paths.agent_config())?;
    if let Some(config) = &existing {
        // The subscription may be given by name; it is compared again once resolved.
        let same_place = config
            .resource_group
            .eq_ignore_ascii_case(&args.resource_group)
            && config.resource_name.eq_ignore_ascii_case(&plan.name)
            && (!ids::is_guid(&args.subscription_id)
                || config
                    .subscription_id
                    .eq_ignore_ascii_case(&args.subscription_id));
        if !same_place {
            return Err(already_connected_error(config));
        }
    }

    steps.begin("azureVm", "checking this is not an Azure VM");
    azure_vm_guard(ctx).await?;

    steps.begin(
        "networkCheck",
        "checking this machine reaches Azure Arc's endpoints",
    );
    network_check(args, ctx, &plan, existing.as_ref()).await?;

    steps.begin("token", "signing in to Entra ID");
    let method_tenant = match &method {
        AuthMethod::ServicePrincipalSecret { tenant_id, .. }
        | AuthMethod::ServicePrincipalCertificate { tenant_id, .. } => Some(tenant_id.clone()),
        AuthMethod::AccessToken(token) => args
            .auth
            .tenant_id
            .clone()
            .or_else(|| token_tenant(token.secret())),
        AuthMethod::DeviceCode { tenant_id } | AuthMethod::AzureCli { tenant_id } => {
            tenant_id.clone()
        }
    };
    ctx.report
        .verbose(&format!("authenticating with {}", method.name()));
    let arm = sign_in(
        ctx,
        &plan.cloud,
        method,
        Duration::from_secs(args.auth.retry_timeout),
        plan.correlation_id.clone(),
    )
    .await?;

    steps.begin("subscription", "resolving the subscription");
    let subscription = resolve_subscription(&arm, &args.subscription_id).await?;
    let subscription_id = subscription["subscriptionId"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let tenant_id = subscription["tenantId"]
        .as_str()
        .map(str::to_string)
        .or(method_tenant)
        .unwrap_or_default();
    if let Some(config) = &existing {
        if !config.is_resource(&subscription_id, &args.resource_group, &plan.name) {
            return Err(already_connected_error(config));
        }
    }

    steps.begin(
        "resourceProviders",
        "checking resource provider registration",
    );
    for namespace in RESOURCE_PROVIDERS {
        let path = format!("/subscriptions/{subscription_id}/providers/{namespace}?api-version={RESOURCES_API_VERSION}");
        let state = registration_state(&arm, &path).await?;
        if state == "Registered" {
            continue;
        }
        act(&mut actions, "registerResourceProvider", namespace);
        if what_if {
            continue;
        }
        let register = format!("/subscriptions/{subscription_id}/providers/{namespace}/register?api-version={RESOURCES_API_VERSION}");
        arm.call(
            "resource provider registration",
            ErrorCode::CONNECT_FAILED,
            Method::POST,
            &register,
            None,
        )
        .await?;
        wait_registered(
            &arm,
            &path,
            namespace,
            Duration::from_secs(args.auth.retry_timeout),
        )
        .await?;
    }

    steps.begin("resourceGroup", "checking the resource group");
    let group_path = format!(
        "/subscriptions/{subscription_id}/resourcegroups/{}?api-version={RESOURCES_API_VERSION}",
        args.resource_group
    );
    let group_exists = arm
        .get_if_exists(
            "resource group lookup",
            ErrorCode::RESOURCE_CREATION,
            &group_path,
        )
        .await?
        .is_some();
    if !group_exists {
        act(&mut actions, "createResourceGroup", &args.resource_group);
        if !what_if {
            arm.call(
                "resource group creation",
                ErrorCode::RESOURCE_CREATION,
                Method::PUT,
                &group_path,
                Some(&json!({"location": plan.location})),
            )
            .await?;
        }
    }

    let mut gateway_url = String::new();
    if let Some(gateway) = &args.gateway_id {
        steps.begin("gateway", "checking the Azure Arc gateway");
        let path = format!("{gateway}?api-version={GATEWAY_API_VERSION}");
        let reply = arm
            .call(
                "gateway lookup",
                ErrorCode::CONNECT_FAILED,
                Method::GET,
                &path,
                None,
            )
            .await?;
        gateway_url = reply.body["properties"]["gatewayEndpoint"]
            .as_str()
            .unwrap_or("")
            .to_string();
    }

    steps.begin("machine", "checking the machine resource");
    let path = machine_path(
        &subscription_id,
        &args.resource_group,
        &plan.name,
        &plan.api_version,
    );
    let current = if group_exists {
        arm.get_if_exists("machine lookup", ErrorCode::RESOURCE_CREATION, &path)
            .await?
            .map(|reply| reply.body)
    } else {
        None
    };

    steps.begin("keyPair", "preparing the machine's key pair");
    let key_path = paths.onboarding_key();
    let key = if key_path.exists() {
        Some(keys::load_private(&key_path)?)
    } else {
        None
    };
    let public_key = key.as_ref().map(keys::client_public_key).transpose()?;
    if let Some(machine) = &current {
        let theirs = machine["properties"]["clientPublicKey"]
            .as_str()
            .unwrap_or("");
        if public_key.as_deref() != Some(theirs) {
            return Err(AzcmError::new(
                ErrorCode::RESOURCE_EXISTS,
                format!("a machine resource named {} already exists in {} and belongs to another machine", plan.name, args.resource_group),
            )
            .with_detail("resourceId", machine["id"].clone()));
        }
    }
    let already_connected = existing.is_some() && current.is_some();

    let facts = os_facts(ctx);
    let mut machine = current.clone().unwrap_or(Value::Null);
    if !already_connected {
        act(
            &mut actions,
            if current.is_some() {
                "updateMachine"
            } else {
                "createMachine"
            },
            &plan.name,
        );
    }
    if !what_if && !already_connected {
        let public_key = match public_key {
            Some(k) => k,
            None => {
                ctx.report.verbose("generating the machine's RSA key pair");
                let key = keys::generate()?;
                // Kept before the PUT, so an interrupted connect finds its key again.
                keys::save_private(&key_path, &key)?;
                keys::client_public_key(&key)?
            }
        };
        steps.begin("machinePut", "creating the machine resource");
        let body = machine_body(&plan, args, &public_key, &facts);
        machine = arm
            .call(
                "machine creation",
                ErrorCode::RESOURCE_CREATION,
                Method::PUT,
                &path,
                Some(&body),
            )
            .await?
            .body;
    }

    let resource_id = machine["id"].as_str().map(str::to_string).unwrap_or_else(|| {
        format!(
            "/subscriptions/{subscription_id}/resourceGroups/{}/providers/Microsoft.HybridCompute/machines/{}",
            args.resource_group, plan.name
        )
    });
    let change = !what_if && !already_connected;
    if let Some(gateway) = &args.gateway_id {
        act(&mut actions, "associateGateway", gateway);
        if change {
            steps.begin(
                "gatewayAssociation",
                "associating the machine with the gateway",
            );
            let path = format!("{resource_id}/providers/Microsoft.HybridCompute/settings/default?api-version={GATEWAY_API_VERSION}");
            let body = json!({"properties": {"gatewayProperties": {"gatewayResourceId": gateway}}});
            arm.call(
                "gateway association",
                ErrorCode::RESOURCE_CREATION,
                Method::PUT,
                &path,
                Some(&body),
            )
            .await?;
        }
    }
    if let Some(profile) = &args.automanage_profile {
        act(&mut actions, "assignAutomanageProfile", profile);
        if change {
            steps.begin(
                "automanage",
                "assigning the Automanage configuration profile",
            );
            let path = format!(
                "{resource_id}/providers/Microsoft.Automanage/configurationProfileAssignments/default?api-version={AUTOMANAGE_API_VERSION}"
            );
            let body = json!({"properties": {"configurationProfile": profile}});
            arm.call(
                "Automanage profile assignment",
                ErrorCode::RESOURCE_CREATION,
                Method::PUT,
                &path,
                Some(&body),
            )
            .await?;
        }
    }

    let vm_id = machine["properties"]["vmId"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let principal_id = machine["identity"]["principalId"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let mut services = Vec::new();
    if !what_if && !already_connected {
        steps.begin("agentConfig", "writing the agent configuration");
        let config = AgentConfig {
            resource_id: machine["id"].as_str().unwrap_or("").to_string(),
            resource_name: plan.name.clone(),
            subscription_id: subscription_id.clone(),
            resource_group: args.resource_group.clone(),
            location: plan.location.clone(),
            tenant_id: tenant_id.clone(),
            cloud: plan.cloud.name.clone(),
            vm_id: vm_id.clone(),
            principal_id: principal_id.clone(),
            correlation_id: plan.correlation_id.clone(),
            private_link_scope: args.private_link_scope.clone().unwrap_or_default(),
            gateway_id: args.gateway_id.clone().unwrap_or_default(),
            gateway_url: gateway_url.clone(),
            api_version: plan.api_version.clone(),
            connected_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        };
        config.save(&paths.agent_config())?;
        if args.gateway_id.is_some() {
            // The agent now reaches Azure through the gateway.
            let mut txn = LocalConfigTxn::begin(paths)?;
            let applied = settings::apply(
                &txn.config.settings,
                settings::find("connection.type")?,
                settings::Change::Set("gateway"),
            )?;
            txn.config.settings = applied.stored;
            txn.commit()?;
        }
        steps.begin("services", "restarting the agent services");
        services = restart_services(ctx);
    }
    steps.finish();

    let result = ConnectResult {
        portal_link: plan.cloud.portal_link(&resource_id),
        resource_id,
        resource_name: plan.name.clone(),
        subscription_id,
        resource_group: args.resource_group.clone(),
        location: plan.location.clone(),
        tenant_id,
        cloud: plan.cloud.name.clone(),
        vm_id,
        principal_id,
        correlation_id: plan.correlation_id.clone(),
        already_connected,
        what_if,
        actions,
        services,
        steps: steps.timings,
        os_facts: facts,
    };
    let mut section = Section::untitled()
        .row("Resource Id", result.resource_id.clone())
        .row("Location", result.location.clone())
        .row("VM Id", result.vm_id.clone())
        .row("Portal Page", result.portal_link.clone());
    if what_if {
        section =
            Section::new("What if: connect would").row("Resource Id", result.resource_id.clone());
        if result.actions.is_empty() {
            section = section.row("Changes", "none: already connected");
        }
        for a in &result.actions {
            section = section.row(a.action.clone(), a.target.clone());
        }
    } else if already_connected {
        section = Section::new("Already connected; nothing changed")
            .row("Resource Id", result.resource_id.clone());
    }
    Ok(Outcome::new(result, Human::Sections(vec![section])))
}

fn already_connected_error(config: &AgentConfig) -> AzcmError {
    AzcmError::new(
        ErrorCode::ALREADY_CONNECTED,
        format!(
            "this machine is already connected as {}",
            config.resource_id
        ),
    )
    .with_detail("resourceId", config.resource_id.clone())
}

async fn resolve_subscription(arm: &Arm<'_>, given: &str) -> Result<Value> {
    if ids::is_guid(given) {
        let path = format!("/subscriptions/{given}?api-version={SUBSCRIPTIONS_API_VERSION}");
        return arm
            .call(
                "subscription lookup",
                ErrorCode::CONNECT_FAILED,
                Method::GET,
                &path,
                None,
            )
            .await
            .map(|r| r.body);
    }
    let path = format!("/subscriptions?api-version={SUBSCRIPTIONS_API_VERSION}");
    let list = arm
        .call(
            "subscription lookup",
            ErrorCode::SUBSCRIPTION_LOOKUP,
            Method::GET,
            &path,
            None,
        )
        .await?
        .body;
    let matches: Vec<&Value> = list["value"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter(|s| {
                    s["displayName"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(given))
                })
                .collect()
        })
        .unwrap_or_default();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(AzcmError::new(
            ErrorCode::SUBSCRIPTION_LOOKUP,
            format!("no subscription named '{given}' is visible to these credentials"),
        )),
        _ => Err(AzcmError::new(
            ErrorCode::SUBSCRIPTION_LOOKUP,
            format!("several subscriptions are named '{given}'"),
        )),
    }
}

/// A resource provider's registration state in the subscription.
async fn registration_state(arm: &Arm<'_>, path: &str) -> Result<String> {
    let reply = arm
        .call(
            "resource provider lookup",
            ErrorCode::CONNECT_FAILED,
            Method::GET,
            path,
            None,
        )
        .await?;
    Ok(reply.body["registrationState"]
        .as_str()
        .unwrap_or("")
        .to_string())
}

/// Registration takes seconds to minutes: poll with a growing pause, within the retry budget.
async fn wait_registered(
    arm: &Arm<'_>,
    path: &str,
    namespace: &str,
    budget: Duration,
) -> Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(200);
    loop {
        let state = registration_state(arm, path).await?;
        if state == "Registered" {
            return Ok(());
        }
        if started.elapsed() + pause > budget {
            return Err(AzcmError::new(ErrorCode::CONNECT_FAILED, format!("{namespace} did not finish registering within {}s", budget.as_secs()))
                .with_remediation(format!("Register {namespace} in the subscription (Azure portal or `az provider register`), then run connect again.")));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

/// The machine's facts for the resource, warning about each one that cannot be read.
fn os_facts(ctx: &Context<'_>) -> platform::OsFacts {
    let facts = platform::os_facts();
    for (fact, value) in [
        ("OS version", &facts.os_version),
        ("OS product name", &facts.os_sku),
        ("DNS fully qualified domain name", &facts.fqdn),
    ] {
        if value.is_none() {
            ctx.report.warning(&format!(
                "could not read this machine's {fact}; it is left out of the machine resource"
            ));
        }
    }
    facts
}

/// The resource to PUT. ARM keeps what the spec lets a client write (clientPublicKey, osType,
/// ...); the OS facts it marks read-only are sent as azcmagent reports them and ARM drops them.
fn machine_body(
    plan: &Plan,
    args: &ConnectArgs,
    public_key: &str,
    facts: &platform::OsFacts,
) -> Value {
    let mut properties = Map::new();
    properties.insert("clientPublicKey".into(), json!(public_key));
    properties.insert("osType".into(), json!(facts.os_type));
    properties.insert("osName".into(), json!(facts.os_type));
    properties.insert("agentVersion".into(), json!(env!("CARGO_PKG_VERSION")));
    for (key, value) in [
        ("osVersion", &facts.os_version),
        ("osSku", &facts.os_sku),
        ("dnsFqdn", &facts.fqdn),
        ("domainName", &facts.domain),
    ] {
        if let Some(value) = value {
            properties.insert(key.into(), json!(value));
        }
    }
    if let Some(provider) = &facts.cloud_provider {
        properties.insert("cloudMetadata".into(), json!({ "provider": provider }));
    }
    if let Some(scope) = &args.private_link_scope {
        properties.insert("privateLinkScopeResourceId".into(), json!(scope));
    }
    if args.enable_automatic_upgrade {
        properties.insert(
            "agentUpgrade".into(),
            json!({"enableAutomaticUpgrade": true}),
        );
    }
    json!({
        "location": plan.location,
        "identity": {"type": "SystemAssigned"},
        "tags": plan.tags,
        "properties": properties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_azcmagent_syntax() {
        let tags = parse_tags(
            "Datacenter=NY3,Application=SharePoint,Owner='Shared Infrastructure Services'",
        )
        .unwrap();
        assert_eq!(tags["Owner"], "Shared Infrastructure Services");
        assert_eq!(tags["Datacenter"], "NY3");
        assert_eq!(
            parse_tags("'Cost Center'='It''s, here'").unwrap()["Cost Center"],
            "It's, here"
        );
        assert_eq!(parse_tags("Empty=").unwrap()["Empty"], "");
        for bad in [
            "NoValue", "=x", "a='open", "a=b'c", "a=1,A=2", "a/b=1", "a='x'y",
        ] {
            assert!(parse_tags(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_ids_are_checked() {
        assert!(machine_name_error("web-01").is_none());
        assert!(machine_name_error("web_").is_some());
        assert!(machine_name_error("web 01").is_some());
        assert!(machine_name_error(&"a".repeat(55)).is_some());
        assert!(check_resource_group("rg-(prod).1").is_ok());
        assert!(check_resource_group("rg.").is_err());
        assert!(check_private_link_scope("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.HybridCompute/privateLinkScopes/s").is_ok());
        assert!(check_private_link_scope("/subscriptions/x/resourceGroups/rg/providers/Microsoft.HybridCompute/privateLinkScopes/s").is_err());
    }
}
