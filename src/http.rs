//! The one HTTP client azcm builds, shared by Entra ID authentication, ARM and (later) the
//! connectivity checks: the agent's proxy with its bypass categories, extra trusted roots,
//! TLS 1.2 or newer, timeouts and azcm's user agent. TLS verification is always on.

use crate::error::{AzcmError, ErrorCode, Result};
use crate::report::Reporter;
use std::path::PathBuf;
use std::time::Duration;

/// Environment variable naming a PEM file of extra root certificates to trust (besides the
/// platform's), e.g. a TLS-inspecting proxy's CA or a test cloud's CA.
pub const EXTRA_CA_ENV: &str = "AZCM_EXTRA_CA_CERTS";

/// Which proxy-bypass category (proxy.bypass) a host belongs to.
#[derive(Debug, Clone)]
pub struct HostCategory {
    pub host: String,
    pub category: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// `proxy.url` of the local configuration; empty means no proxy.
    pub proxy_url: String,
    /// `proxy.bypass` categories (AAD, ARM, Arc, ArcData, AMA).
    pub bypass: Vec<String>,
    /// Hosts by category, to apply the bypass list; other hosts count as `Arc`.
    pub hosts: Vec<HostCategory>,
    pub request_timeout: Option<Duration>,
}

pub fn user_agent() -> String {
    format!(
        "azcm/{} ({}; {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn extra_roots() -> Result<Vec<reqwest::Certificate>> {
    let Some(path) = std::env::var_os(EXTRA_CA_ENV)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
    else {
        return Ok(Vec::new());
    };
    let bad = |why: String| {
        AzcmError::new(
            ErrorCode::CONFIG_FILE,
            format!(
                "cannot use the extra trusted roots in {} ({EXTRA_CA_ENV}): {why}",
                path.display()
            ),
        )
        .with_detail("path", path.display().to_string())
    };
    let pem = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("the file holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// The client; `report` hears about a fallback in how certificates are verified.
pub fn client(options: &HttpOptions, report: &dyn Reporter) -> Result<reqwest::Client> {
    let roots = extra_roots()?;
    let build = |only_extra_roots: bool| -> Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .user_agent(user_agent())
            .tls_version_min(reqwest::tls::Version::TLS_1_2)
            .connect_timeout(Duration::from_secs(15))
            .timeout(options.request_timeout.unwrap_or(Duration::from_secs(60)));
        if only_extra_roots {
            builder = builder.tls_certs_only(roots.clone());
        } else if !roots.is_empty() {
            builder = builder.tls_certs_merge(roots.clone());
        }
        builder = apply_proxy(builder, options)?;
        builder.build().map_err(|e| {
            AzcmError::new(
                ErrorCode::NETWORK,
                format!("cannot set up HTTPS: {}", error_chain(&e)),
            )
        })
    };
    match build(false) {
        // A platform verifier that cannot take extra roots (seen with Wine's crypt32): verify
        // against the extra roots alone. Stricter, never weaker: TLS verification stays on.
        Err(err) if !roots.is_empty() => {
            let client = build(true).map_err(|_| err.clone())?;
            report.warning(&format!(
                "the platform's certificate verifier cannot take the roots in {EXTRA_CA_ENV} ({}); verifying servers against those roots only",
                err.message
            ));
            Ok(client)
        }
        other => other,
    }
}

fn apply_proxy(
    builder: reqwest::ClientBuilder,
    options: &HttpOptions,
) -> Result<reqwest::ClientBuilder> {
    if options.proxy_url.is_empty() {
        return Ok(builder.no_proxy());
    }
    let proxy_url = url::Url::parse(&options.proxy_url).map_err(|e| {
        AzcmError::invalid_argument(format!(
            "proxy.url '{}' is not a URL: {e}",
            options.proxy_url
        ))
    })?;
    let bypass: Vec<String> = options
        .bypass
        .iter()
        .map(|b| b.to_ascii_lowercase())
        .collect();
    let hosts = options.hosts.clone();
    Ok(builder.proxy(reqwest::Proxy::custom(move |url| {
        let host = url.host_str().unwrap_or("");
        let category = hosts
            .iter()
            .find(|h| h.host.eq_ignore_ascii_case(host))
            .map(|h| h.category)
            .unwrap_or("Arc");
        if bypass.iter().any(|b| b.eq_ignore_ascii_case(category)) {
            None
        } else {
            Some(proxy_url.clone())
        }
    })))
}

/// An error with its causes, `a: b: c`, for messages admins can act on.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}
