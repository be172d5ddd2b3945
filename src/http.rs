//! The one HTTP client azcm builds for Entra ID and ARM (arm::session applies the agent's proxy
//! settings to it), and the plain client for the machine's own metadata services: the agent's
//! proxy with its bypass categories, extra trusted roots, TLS 1.2 or newer, timeouts, bounded
//! bodies and azcm's user agent. TLS verification is always on. The network check probes with
//! its own connections (src/network_check), over the same TLS configuration.

use crate::error::{AzcmError, ErrorCode, Result};
use crate::report::Reporter;
use std::time::Duration;

pub use crate::tls::EXTRA_CA_ENV;

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

/// The client; `report` hears about a fallback in how certificates are verified.
pub fn client(options: &HttpOptions, report: &dyn Reporter) -> Result<reqwest::Client> {
    let tls = crate::tls::client_config(&[b"http/1.1"])?;
    if let Some(why) = &tls.fallback {
        report.warning(why);
    }
    let builder = reqwest::Client::builder()
        .user_agent(user_agent())
        .redirect(no_redirects())
        .tls_backend_preconfigured(tls.config)
        .connect_timeout(Duration::from_secs(15))
        .timeout(options.request_timeout.unwrap_or(Duration::from_secs(60)));
    apply_proxy(builder, options)?.build().map_err(|e| {
        AzcmError::new(
            ErrorCode::NETWORK,
            format!("cannot set up HTTPS: {}", error_chain(&e)),
        )
    })
}

/// No redirect is followed, by any client: Entra ID never redirects a token or device-code
/// request (a redirect there would re-send the client secret to wherever it points), and ARM,
/// IMDS and HIMDS answer where they are asked. A 3xx is an answer like any other failure.
fn no_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::none()
}

/// The sentence for a 3xx answer that azcm did not follow.
pub fn redirect_refused(status: u16, location: Option<&str>) -> String {
    format!(
        "the server answered HTTP {status} (a redirect{}); azcm follows no redirects, so the request was not sent on",
        location
            .map(|l| format!(" to {}", crate::error::excerpt(l)))
            .unwrap_or_default()
    )
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

/// A client for the machine's own plain-HTTP metadata services (IMDS, the agent's HIMDS): never
/// through a proxy, short timeout. `None` when TLS cannot be set up (reqwest wants it anyway).
pub fn local_client(timeout: Duration) -> Option<reqwest::Client> {
    let tls = crate::tls::client_config(&[]).ok()?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls.config)
        .user_agent(user_agent())
        .redirect(no_redirects())
        .no_proxy()
        .timeout(timeout)
        .build()
        .ok()
}

/// The most azcm reads of one answer, per kind of service: ARM's largest (a subscription list)
/// is far below its cap, Entra ID and the machine's metadata services answer a few KiB.
pub const MAX_ARM_BODY: usize = 16 << 20;
pub const MAX_ENTRA_BODY: usize = 1 << 20;
pub const MAX_METADATA_BODY: usize = 1 << 20;

fn too_large(max: usize) -> String {
    format!(
        "the answer is larger than {}, more than azcm reads from this service",
        crate::files::size_text(max as u64)
    )
}

/// An answer's body, at most `max` bytes: a larger one is an error, never a growing buffer.
pub async fn read_body(
    mut response: reqwest::Response,
    max: usize,
) -> std::result::Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e))? {
        if body.len() + chunk.len() > max {
            return Err(too_large(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An answer's body as JSON, at most `max` bytes.
pub async fn read_json(
    response: reqwest::Response,
    max: usize,
) -> std::result::Result<serde_json::Value, String> {
    let body = read_body(response, max).await?;
    serde_json::from_slice(&body).map_err(|e| format!("the answer is not JSON: {e}"))
}

/// azcm's HTTP client as azure_identity's transport, with every answer's body capped.
#[derive(Debug, Clone)]
pub struct BoundedTransport {
    pub client: reqwest::Client,
    pub max: usize,
}

#[async_trait::async_trait]
impl azure_core::http::HttpClient for BoundedTransport {
    async fn execute_request(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        let (status, headers, body) = self.client.execute_request(request).await?.deconstruct();
        if u16::from(status) / 100 == 3 {
            // A token endpoint that redirects: said plainly, and not retried (the redirect was
            // not followed, so the form with its secret went nowhere else).
            let location = headers.get_optional_str(
                &azure_core::http::headers::HeaderName::from_static("location"),
            );
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::DataConversion,
                redirect_refused(u16::from(status), location),
            ));
        }
        let mut buffer = vec![0u8; self.max];
        let n = body.collect_into(&mut buffer).await.map_err(|e| {
            if e.to_string().contains("too small") {
                // Not an I/O error: the answer would be as large again, so it is not retried.
                azure_core::Error::with_message(
                    azure_core::error::ErrorKind::DataConversion,
                    too_large(self.max),
                )
            } else {
                e
            }
        })?;
        buffer.truncate(n);
        Ok(azure_core::http::AsyncRawResponse::from_bytes(
            status, headers, buffer,
        ))
    }
}
