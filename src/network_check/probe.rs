//! One endpoint, stage by stage: DNS, private-link rule, TCP (or the proxy / gateway hop), TLS,
//! HTTP. Each stage is timed, bounded by the stage timeout, and its failure named.

use super::dns::{is_private, Resolver};
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// An endpoint to check, with its URL resolved.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub use_case: String,
    pub url: String,
    pub host: String,
    pub port: u16,
    /// Path and query the HTTP request asks for.
    pub path: String,
    pub category: String,
    pub required: bool,
    pub private_link: bool,
    pub gateway_routed: bool,
}

impl Target {
    pub fn new(spec: &crate::cloud::EndpointSpec, url: &str) -> Result<Self, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| format!("'{url}' has no host"))?
            .to_string();
        let mut path = parsed.path().to_string();
        if let Some(q) = parsed.query() {
            path.push('?');
            path.push_str(q);
        }
        Ok(Self {
            id: spec.id.clone(),
            use_case: spec.use_case.clone(),
            url: url.to_string(),
            host: host.trim_matches(['[', ']']).to_string(),
            port: parsed.port_or_known_default().unwrap_or(443),
            path,
            category: spec.category.clone(),
            required: spec.required,
            private_link: spec.private_link,
            gateway_routed: spec.gateway,
        })
    }
}

/// How a target is reached: directly, or through a forward proxy (proxy.url or the Arc
/// gateway), which is asked to CONNECT.
#[derive(Debug, Clone)]
pub enum Route {
    Direct,
    Proxy(Forwarder),
    Gateway(Forwarder),
}

#[derive(Debug, Clone)]
pub struct Forwarder {
    pub url: url::Url,
}

impl Forwarder {
    /// The URL with any password replaced, for output.
    pub fn display(&self) -> String {
        let mut shown = self.url.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        shown.to_string().trim_end_matches('/').to_string()
    }
}

impl Route {
    pub fn name(&self) -> &'static str {
        match self {
            Route::Direct => "direct",
            Route::Proxy(_) => "proxy",
            Route::Gateway(_) => "gateway",
        }
    }
}

pub struct Settings {
    pub resolver: Resolver,
    pub stage_timeout: Duration,
    pub tls: Arc<rustls::ClientConfig>,
    /// The private-link rule: private-link-capable endpoints must resolve privately.
    pub private_link_mode: bool,
    pub user_agent: String,
}

#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Stages {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsStage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_link: Option<PrivateLinkStage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpStage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyStage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsStage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpStage>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub address: String,
    pub private: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsStage {
    pub ok: bool,
    pub ms: u64,
    pub server: String,
    pub addresses: Vec<Address>,
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivateLinkStage {
    pub ok: bool,
    /// What the rule expects: "private" or "public".
    pub expected: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpStage {
    pub ok: bool,
    pub ms: u64,
    /// Where the connection went (the endpoint, or the proxy / gateway).
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyStage {
    pub ok: bool,
    pub ms: u64,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsStage {
    pub ok: bool,
    pub ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpStage {
    pub ok: bool,
    pub ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The server's `Date` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The first failure of an endpoint: the stage, a stable kind, what happened and what to do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub stage: &'static str,
    pub kind: &'static str,
    pub message: String,
    pub remediation: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointResult {
    pub id: String,
    pub use_case: String,
    pub url: String,
    pub category: String,
    pub required: bool,
    pub private_link_capable: bool,
    pub gateway_routed: bool,
    pub route: &'static str,
    pub reachable: bool,
    /// Reachable, and no rule (private link) broken.
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    pub stages: Stages,
    pub total_ms: u64,
    /// Seconds the server's clock is ahead of this machine's (from the Date header).
    #[serde(skip)]
    pub clock_skew_secs: Option<i64>,
    /// The response body (read for HIS discovery only).
    #[serde(skip)]
    pub body: Option<Vec<u8>>,
}

fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type Stream = Box<dyn Io>;

async fn bounded<T, E: std::fmt::Display>(
    limit: Duration,
    what: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, what).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer within {} s (timeout)",
            limit.as_secs_f32()
        )),
    }
}

fn is_timeout(message: &str) -> bool {
    message.contains("(timeout)")
}

fn fail(stage: &'static str, kind: &'static str, message: String, remediation: &str) -> Failure {
    Failure {
        stage,
        kind,
        message,
        remediation: remediation.to_string(),
    }
}

/// Checks one endpoint. `read_body` keeps up to 64 KiB of the answer (HIS discovery).
pub async fn check(
    target: &Target,
    route: &Route,
    settings: &Settings,
    read_body: bool,
) -> EndpointResult {
    let started = Instant::now();
    let mut result = EndpointResult {
        id: target.id.clone(),
        use_case: target.use_case.clone(),
        url: target.url.clone(),
        category: target.category.clone(),
        required: target.required,
        private_link_capable: target.private_link,
        gateway_routed: target.gateway_routed,
        route: route.name(),
        reachable: false,
        ok: false,
        failure: None,
        stages: Stages::default(),
        total_ms: 0,
        clock_skew_secs: None,
        body: None,
    };
    let transport = run_stages(target, route, settings, read_body, &mut result).await;
    result.reachable = transport.is_ok();
    // A broken private-link rule is the root cause even when a later stage fails too.
    if result.failure.is_none() {
        result.failure = transport.err();
    }
    result.ok = result.reachable && result.failure.is_none();
    result.total_ms = ms(started);
    result
}

async fn run_stages(
    target: &Target,
    route: &Route,
    settings: &Settings,
    read_body: bool,
    result: &mut EndpointResult,
) -> Result<(), Failure> {
    let limit = settings.stage_timeout;
    // DNS, always from this machine: the private-link rule is about what it resolves.
    let at = Instant::now();
    let resolved = settings.resolver.resolve(&target.host, limit).await;
    let dns_failure = match &resolved {
        Ok(r) => {
            result.stages.dns = Some(DnsStage {
                ok: true,
                ms: ms(at),
                server: settings.resolver.describe(),
                addresses: r
                    .addresses
                    .iter()
                    .map(|a| Address {
                        address: a.to_string(),
                        private: is_private(a),
                    })
                    .collect(),
                aliases: r.aliases.clone(),
                error: None,
            });
            None
        }
        Err(e) => {
            result.stages.dns = Some(DnsStage {
                ok: false,
                ms: ms(at),
                server: settings.resolver.describe(),
                addresses: Vec::new(),
                aliases: Vec::new(),
                error: Some(e.to_string()),
            });
            Some(fail(
                "dns",
                "dnsFailure",
                format!("{} cannot be resolved by {} DNS: {e}", target.host, settings.resolver.describe()),
                "Check the DNS servers this machine uses (and conditional forwarders for private link zones); `--dns-server` tests another server.",
            ))
        }
    };
    // A rule broken here is reported, but the stages below still run for the full picture.
    if let Ok(r) = &resolved {
        if let Some((stage, failure)) =
            private_link_rule(target, &r.addresses, settings.private_link_mode)
        {
            result.stages.private_link = Some(stage);
            result.failure = failure;
        }
    }
    let stream = match route {
        Route::Direct => {
            let Ok(resolution) = resolved else {
                return Err(dns_failure.expect("a DNS failure"));
            };
            connect_tcp(target, &resolution.addresses, limit, result).await?
        }
        Route::Proxy(forwarder) | Route::Gateway(forwarder) => {
            via_forwarder(target, route, forwarder, settings, result).await?
        }
    };
    let tls = handshake(target, stream, settings, result).await?;
    http_exchange(target, tls, settings, read_body, result).await
}

fn private_link_rule(
    target: &Target,
    addresses: &[IpAddr],
    mode: bool,
) -> Option<(PrivateLinkStage, Option<Failure>)> {
    let list = |pick: fn(&IpAddr) -> bool| {
        addresses
            .iter()
            .filter(|a| pick(a))
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let public = list(|a| !is_private(a));
    let private = list(is_private);
    let host = &target.host;
    let (expected, broken) = match (mode, target.private_link) {
        (true, true) => ("private", (!public.is_empty()).then(|| format!("{host} resolves to {public} (public) but this machine uses a private link scope: it must resolve to the private endpoint's address"))),
        (true, false) => ("public", (public.is_empty()).then(|| format!("{host} resolves to {private} (private) but it cannot be reached through a private endpoint: it must resolve to its public address"))),
        (false, true) => ("public", (!private.is_empty()).then(|| format!("{host} resolves to {private} (private) but no private link scope is configured"))),
        (false, false) => return None,
    };
    let remediation = match (mode, target.private_link) {
        (true, true) => "Create the privatelink DNS records for the private endpoint (or a conditional forwarder to Azure DNS) so this name resolves privately.",
        (true, false) => "Remove the private DNS override for this name; it must be reached over the internet, a proxy or the Arc gateway.",
        _ => "Connect with --private-link-scope (or check with --enable-pls-check) if this machine should use private link; otherwise remove the private DNS records for this name.",
    };
    let stage = PrivateLinkStage {
        ok: broken.is_none(),
        expected,
        message: broken.clone().unwrap_or_else(|| {
            format!(
                "{host} resolves to {} as expected",
                if expected == "private" {
                    &private
                } else {
                    &public
                }
            )
        }),
    };
    let failure = broken.map(|m| fail("privateLink", "privateLinkMismatch", m, remediation));
    Some((stage, failure))
}

async fn connect_tcp(
    target: &Target,
    addresses: &[IpAddr],
    limit: Duration,
    result: &mut EndpointResult,
) -> Result<Stream, Failure> {
    let at = Instant::now();
    let mut last = String::new();
    for ip in addresses {
        let addr = SocketAddr::new(*ip, target.port);
        match bounded(limit, TcpStream::connect(addr)).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                result.stages.tcp = Some(TcpStage {
                    ok: true,
                    ms: ms(at),
                    address: addr.to_string(),
                    error: None,
                });
                return Ok(Box::new(stream));
            }
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    result.stages.tcp = Some(TcpStage {
        ok: false,
        ms: ms(at),
        address: addresses
            .first()
            .map(|ip| SocketAddr::new(*ip, target.port).to_string())
            .unwrap_or_default(),
        error: Some(last.clone()),
    });
    let kind = if is_timeout(&last) {
        "tcpTimeout"
    } else {
        "tcpFailure"
    };
    Err(fail(
        "tcp",
        kind,
        format!("cannot open a TCP connection to {} port {}: {last}", target.host, target.port),
        "Allow outbound TCP 443 to this endpoint in the firewall (service tags AzureArcInfrastructure, AzureActiveDirectory, AzureResourceManager, Storage), or configure proxy.url.",
    ))
}

/// The proxy stage of a hop that failed before the forwarder answered the CONNECT.
fn hop_failed(at: Instant, url: &str, error: String) -> ProxyStage {
    ProxyStage {
        ok: false,
        ms: ms(at),
        url: url.to_string(),
        status: None,
        error: Some(error),
    }
}

/// TCP to the forwarder, TLS to it when it is https (the Arc gateway), then CONNECT.
async fn via_forwarder(
    target: &Target,
    route: &Route,
    forwarder: &Forwarder,
    settings: &Settings,
    result: &mut EndpointResult,
) -> Result<Stream, Failure> {
    let limit = settings.stage_timeout;
    let what = if matches!(route, Route::Gateway(_)) {
        "Arc gateway"
    } else {
        "proxy"
    };
    let shown = forwarder.display();
    let host = forwarder
        .url
        .host_str()
        .unwrap_or("")
        .trim_matches(['[', ']'])
        .to_string();
    let port = forwarder.url.port_or_known_default().unwrap_or(80);
    let at = Instant::now();
    let addresses = match settings.resolver.resolve(&host, limit).await {
        Ok(r) => r.addresses,
        Err(e) => {
            result.stages.proxy = Some(hop_failed(at, &shown, e.to_string()));
            return Err(fail(
                "proxy",
                "proxyUnreachable",
                format!("the {what} {shown} cannot be resolved: {e}"),
                "Check the proxy.url setting (azcm config get proxy.url) and DNS.",
            ));
        }
    };
    let mut tcp = None;
    let mut last = String::new();
    for ip in &addresses {
        match bounded(limit, TcpStream::connect(SocketAddr::new(*ip, port))).await {
            Ok(s) => {
                tcp = Some((s, SocketAddr::new(*ip, port)));
                break;
            }
            Err(e) => last = e,
        }
    }
    let Some((tcp, addr)) = tcp else {
        result.stages.proxy = Some(hop_failed(at, &shown, last.clone()));
        return Err(fail(
            "proxy",
            "proxyUnreachable",
            format!("cannot open a TCP connection to the {what} {shown}: {last}"),
            "Check that the proxy is running and proxy.url is right (azcm config get proxy.url).",
        ));
    };
    result.stages.tcp = Some(TcpStage {
        ok: true,
        ms: ms(at),
        address: addr.to_string(),
        error: None,
    });
    let mut stream: Stream = Box::new(tcp);
    if forwarder.url.scheme() == "https" {
        let connector = tokio_rustls::TlsConnector::from(settings.tls.clone());
        let name = match server_name(&host) {
            Ok(n) => n,
            Err(e) => return Err(fail("proxy", "proxyTls", e, "Fix the proxy URL.")),
        };
        match bounded(limit, connector.connect(name, stream)).await {
            Ok(s) => stream = Box::new(s),
            Err(e) => {
                result.stages.proxy = Some(hop_failed(at, &shown, e.clone()));
                return Err(fail(
                    "proxy",
                    "proxyTls",
                    format!("TLS to the {what} {shown} failed: {e}"),
                    "Check the gateway URL and that this machine trusts its certificate.",
                ));
            }
        }
    }
    let mut request = format!(
        "CONNECT {h}:{p} HTTP/1.1\r\nHost: {h}:{p}\r\nUser-Agent: {ua}\r\n",
        h = bracket(&target.host),
        p = target.port,
        ua = settings.user_agent
    );
    if !forwarder.url.username().is_empty() {
        use base64::Engine;
        let user = percent_decode(forwarder.url.username());
        let pass = percent_decode(forwarder.url.password().unwrap_or(""));
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    let exchange = async {
        stream.write_all(request.as_bytes()).await?;
        let head = read_head(&mut stream).await?;
        Ok::<_, std::io::Error>((head, stream))
    };
    let (head, stream) = match bounded(limit, exchange).await {
        Ok(v) => v,
        Err(e) => {
            result.stages.proxy = Some(hop_failed(at, &shown, e.clone()));
            return Err(fail(
                "proxy",
                "proxyFailure",
                format!(
                    "the {what} {shown} did not answer the CONNECT for {}: {e}",
                    target.host
                ),
                "Check the proxy's logs and that it allows CONNECT to port 443.",
            ));
        }
    };
    let status = head.status;
    let ok = status / 100 == 2;
    result.stages.proxy = Some(ProxyStage {
        ok,
        ms: ms(at),
        url: shown.clone(),
        status: Some(status),
        error: (!ok).then(|| head.reason.clone()),
    });
    match status {
        200..=299 => Ok(stream),
        407 => Err(fail(
            "proxy",
            "proxyAuthentication",
            format!("the {what} {shown} refused the credentials (407 {}) for {}", head.reason, target.host),
            if forwarder.url.username().is_empty() {
                "The proxy demands authentication, which the Connected Machine agent cannot give: let this machine (or the Arc endpoints) through the proxy without authentication."
            } else {
                "The proxy rejected the user name or password in its URL: correct them."
            },
        )),
        _ => Err(fail(
            "proxy",
            "proxyRefused",
            format!("the {what} {shown} refused to connect to {}: {} {}", target.host, status, head.reason),
            "Allow this endpoint on the proxy (its allow list / categories), or add its category to proxy.bypass.",
        )),
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>, String> {
    rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("'{host}' is not a valid TLS server name: {e}"))
}

/// Names a TLS failure: (kind, sentence, remediation).
fn classify_tls(err: &std::io::Error, host: &str) -> (&'static str, String, &'static str) {
    use rustls::{CertificateError as C, Error as E};
    let inner = err.get_ref().and_then(|e| e.downcast_ref::<E>());
    match inner {
        Some(E::InvalidCertificate(c)) => match c {
            C::UnknownIssuer => ("untrustedRoot", format!("the certificate of {host} chains to a root this machine does not trust (a TLS-inspecting proxy or firewall?)"), "Exempt the Arc endpoints from TLS inspection, or trust the inspecting device's root CA on this machine."),
            C::NotValidForName | C::NotValidForNameContext { .. } => ("hostnameMismatch", format!("the certificate presented for {host} is not valid for that name ({c:?})"), "Something in the path answers for this name with another certificate: check DNS overrides, the proxy and TLS inspection."),
            C::Expired | C::ExpiredContext { .. } => ("certificateExpired", format!("the certificate of {host} has expired ({c:?})"), "Check this machine's clock; if it is right, the device answering for this name presents an expired certificate."),
            C::NotValidYet | C::NotValidYetContext { .. } => ("certificateNotYetValid", format!("the certificate of {host} is not valid yet ({c:?})"), "Check this machine's clock and time zone."),
            C::Revoked => ("certificateRevoked", format!("the certificate of {host} is revoked"), "The device answering for this name presents a revoked certificate."),
            other => ("certificateInvalid", format!("the certificate of {host} is not acceptable: {other:?}"), "Check the certificate the endpoint (or a TLS-inspecting proxy) presents."),
        },
        Some(E::PeerIncompatible(why)) => ("tlsVersion", format!("{host} does not offer TLS 1.2 or newer ({why:?})"), "Azure requires TLS 1.2 or newer: something in the path (a proxy or firewall) only speaks an older version."),
        Some(E::AlertReceived(alert)) if matches!(alert, rustls::AlertDescription::ProtocolVersion | rustls::AlertDescription::HandshakeFailure | rustls::AlertDescription::InsufficientSecurity) => ("tlsVersion", format!("{host} refused the TLS 1.2/1.3 handshake ({alert:?})"), "Azure requires TLS 1.2 or newer with modern cipher suites: check the proxy or firewall in the path."),
        Some(other) => ("tlsFailure", format!("TLS with {host} failed: {other}"), "Check TLS inspection and the proxy in the path."),
        None => ("tlsFailure", format!("TLS with {host} failed: {err}"), "Check TLS inspection and the proxy in the path."),
    }
}

async fn handshake(
    target: &Target,
    stream: Stream,
    settings: &Settings,
    result: &mut EndpointResult,
) -> Result<tokio_rustls::client::TlsStream<Stream>, Failure> {
    let at = Instant::now();
    let connector = tokio_rustls::TlsConnector::from(settings.tls.clone());
    let name = server_name(&target.host)
        .map_err(|e| fail("tls", "tlsFailure", e, "Fix the endpoint URL."))?;
    match tokio::time::timeout(settings.stage_timeout, connector.connect(name, stream)).await {
        Ok(Ok(tls)) => {
            let (_, conn) = tls.get_ref();
            result.stages.tls = Some(TlsStage {
                ok: true,
                ms: ms(at),
                version: conn.protocol_version().map(|v| match v {
                    rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3".to_string(),
                    rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2".to_string(),
                    other => format!("{other:?}"),
                }),
                cipher_suite: conn
                    .negotiated_cipher_suite()
                    .map(|s| format!("{:?}", s.suite())),
                error: None,
            });
            Ok(tls)
        }
        Ok(Err(e)) => {
            let (kind, message, remediation) = classify_tls(&e, &target.host);
            result.stages.tls = Some(TlsStage {
                ok: false,
                ms: ms(at),
                version: None,
                cipher_suite: None,
                error: Some(message.clone()),
            });
            Err(fail("tls", kind, message, remediation))
        }
        Err(_) => {
            let message = format!(
                "{} did not complete the TLS handshake within {} s (timeout)",
                target.host,
                settings.stage_timeout.as_secs_f32()
            );
            result.stages.tls = Some(TlsStage {
                ok: false,
                ms: ms(at),
                version: None,
                cipher_suite: None,
                error: Some(message.clone()),
            });
            Err(fail("tls", "tlsTimeout", message, "Something in the path accepts the connection but never answers: check the firewall (blackholing) and the proxy."))
        }
    }
}

struct Head {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    /// Bytes read past the head.
    rest: Vec<u8>,
}

async fn read_head<S: AsyncRead + Unpin + ?Sized>(stream: &mut S) -> std::io::Result<Head> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return Err(std::io::Error::other("the HTTP head is larger than 64 KiB"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                if buf.is_empty() {
                    "the connection was closed without an HTTP answer"
                } else {
                    "the connection was closed in the middle of the HTTP answer"
                },
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let status = parts.next().and_then(|s| s.parse::<u16>().ok());
    let (true, Some(status)) = (version.starts_with("HTTP/"), status) else {
        return Err(std::io::Error::other(format!(
            "not an HTTP answer: '{}'",
            status_line.chars().take(60).collect::<String>()
        )));
    };
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Head {
        status,
        reason: parts.next().unwrap_or("").to_string(),
        headers,
        rest: buf[end + 4..].to_vec(),
    })
}

async fn http_exchange(
    target: &Target,
    mut tls: tokio_rustls::client::TlsStream<Stream>,
    settings: &Settings,
    read_body: bool,
    result: &mut EndpointResult,
) -> Result<(), Failure> {
    let at = Instant::now();
    let sent = SystemTime::now();
    let host_header = if target.port == 443 {
        bracket(&target.host)
    } else {
        format!("{}:{}", bracket(&target.host), target.port)
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        if target.path.is_empty() { "/" } else { &target.path },
        settings.user_agent
    );
    let exchange = async {
        tls.write_all(request.as_bytes()).await?;
        let mut head = read_head(&mut tls).await?;
        if read_body {
            let mut body = std::mem::take(&mut head.rest);
            let mut chunk = [0u8; 4096];
            while body.len() < 64 * 1024 {
                match tls.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => body.extend_from_slice(&chunk[..n]),
                }
            }
            head.rest = body;
        }
        Ok::<_, std::io::Error>(head)
    };
    match bounded(settings.stage_timeout, exchange).await {
        Ok(head) => {
            let received = SystemTime::now();
            let date = head
                .headers
                .iter()
                .find(|(k, _)| k == "date")
                .map(|(_, v)| v.clone());
            if let Some(server) = date
                .as_deref()
                .and_then(|d| httpdate::parse_http_date(d).ok())
            {
                let half = received.duration_since(sent).unwrap_or_default() / 2;
                let local = sent + half;
                let skew = match server.duration_since(local) {
                    Ok(ahead) => ahead.as_secs() as i64,
                    Err(behind) => -(behind.duration().as_secs() as i64),
                };
                result.clock_skew_secs = Some(skew);
            }
            if read_body {
                result.body = Some(head.rest.clone());
            }
            result.stages.http = Some(HttpStage {
                ok: true,
                ms: ms(at),
                status: Some(head.status),
                date,
                error: None,
            });
            Ok(())
        }
        Err(e) => {
            result.stages.http = Some(HttpStage {
                ok: false,
                ms: ms(at),
                status: None,
                date: None,
                error: Some(e.clone()),
            });
            let kind = if is_timeout(&e) {
                "httpTimeout"
            } else {
                "httpFailure"
            };
            Err(fail("http", kind, format!("{} completed TLS but gave no HTTP answer: {e}", target.host), "Something in the path accepts TLS but does not answer HTTP: check the proxy or firewall."))
        }
    }
}
