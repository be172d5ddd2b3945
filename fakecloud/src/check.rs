//! What `azcm check` probes in the fake: the check endpoints (HIS discovery, plain answers,
//! chosen statuses), a DNS server on a loopback UDP port, forward proxies (CONNECT, optional
//! Basic auth; the Arc gateway is one over TLS), and misbehaving TLS servers (an untrusted CA,
//! an expired certificate, a TLS 1.1-only server, a blackhole).

use crate::server::{json_response, Req, Resp, Shared};
use hyper::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// The test domain: every name under it resolves to 127.0.0.1 unless a record says otherwise.
pub const TEST_DOMAIN: &str = "azcmfake.test";

/// The regional HIS prefix the fake's discovery endpoint names for each of its regions.
pub fn his_code(region: &str) -> Option<&'static str> {
    Some(match region {
        "eastus" => "eus",
        "eastus2" => "eus2",
        "westus" => "wus",
        "westus2" => "wus2",
        "westus3" => "wus3",
        "centralus" => "cus",
        "northeurope" => "ne",
        "westeurope" => "weu",
        "uksouth" => "uks",
        "francecentral" => "fc",
        "germanywestcentral" => "gwc",
        "swedencentral" => "sdc",
        "southeastasia" => "sea",
        "eastasia" => "ea",
        "japaneast" => "jpe",
        "australiaeast" => "ae",
        "canadacentral" => "cnc",
        "brazilsouth" => "brs",
        "centralindia" => "inc",
        _ => return None,
    })
}

/// A DNS answer the fake gives for one name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DnsRecord {
    pub addresses: Vec<IpAddr>,
    /// Answer with this alias first (a privatelink zone's CNAME).
    pub cname: Option<String>,
    /// Answer NXDOMAIN.
    pub nxdomain: bool,
    /// Never answer (the client times out).
    pub drop: bool,
}

/// The HTTPS check endpoints: `/discovery?location=`, `/_status/<code>`, anything else 200.
pub fn handle(shared: &Shared, req: &Req) -> Resp {
    match req.seg(0) {
        "discovery" => {
            let location = req.query("location").unwrap_or("").to_ascii_lowercase();
            let override_code = shared.world().settings.his_region_code.clone();
            match override_code.as_deref().or_else(|| his_code(&location)) {
                Some(code) => json_response(
                    StatusCode::OK,
                    &json!({"location": location, "regionCode": code, "dataplaneEndpoint": format!("{}/his/{code}", shared.base_url)}),
                ),
                None => json_response(
                    StatusCode::NOT_FOUND,
                    &json!({"error": {"code": "LocationNotFound", "message": format!("no HIS region for '{location}'")}}),
                ),
            }
        }
        "_status" => {
            let status = req
                .seg(1)
                .parse::<u16>()
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            json_response(status, &json!({"status": status.as_u16()}))
        }
        _ => json_response(
            StatusCode::OK,
            &json!({"service": "azcm-fakecloud", "path": req.path}),
        ),
    }
}

fn record_for(shared: &Shared, name: &str) -> DnsRecord {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(r) = shared.world().dns.get(&name) {
        return r.clone();
    }
    if name == TEST_DOMAIN || name.ends_with(&format!(".{TEST_DOMAIN}")) {
        return DnsRecord {
            addresses: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            ..Default::default()
        };
    }
    DnsRecord {
        nxdomain: true,
        ..Default::default()
    }
}

fn encode_name(out: &mut Vec<u8>, name: &str) {
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

/// Answers one query; `None` to stay silent.
fn answer(shared: &Shared, query: &[u8]) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *query.get(at)? as usize;
        if len == 0 {
            at += 1;
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at + 1..at + 1 + len)?).into_owned());
        at += 1 + len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question = query.get(12..at + 4)?;
    let name = labels.join(".");
    let record = record_for(shared, &name);
    shared.world().dns_log.push(name.clone());
    if record.drop {
        return None;
    }
    let mut answers: Vec<Vec<u8>> = Vec::new();
    let mut owner = name.clone();
    if let Some(alias) = &record.cname {
        let mut rr = Vec::new();
        encode_name(&mut rr, &owner);
        let mut rdata = Vec::new();
        encode_name(&mut rdata, alias);
        rr.extend_from_slice(&[0, 5, 0, 1, 0, 0, 0, 60]);
        rr.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        rr.extend_from_slice(&rdata);
        answers.push(rr);
        owner = alias.clone();
    }
    for ip in &record.addresses {
        let (kind, data): (u16, Vec<u8>) = match ip {
            IpAddr::V4(v4) => (1, v4.octets().to_vec()),
            IpAddr::V6(v6) => (28, v6.octets().to_vec()),
        };
        if kind != qtype {
            continue;
        }
        let mut rr = Vec::new();
        encode_name(&mut rr, &owner);
        rr.extend_from_slice(&kind.to_be_bytes());
        rr.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        rr.extend_from_slice(&(data.len() as u16).to_be_bytes());
        rr.extend_from_slice(&data);
        answers.push(rr);
    }
    let rcode: u8 = if record.nxdomain { 3 } else { 0 };
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&query[0..2]);
    out.extend_from_slice(&[0x81, 0x80 | rcode, 0, 1]);
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(question);
    for rr in answers {
        out.extend_from_slice(&rr);
    }
    Some(out)
}

pub async fn serve_dns(socket: UdpSocket, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 1500];
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        if let Some(reply) = answer(&shared, &buf[..n]) {
            let _ = socket.send_to(&reply, peer).await;
        }
    }
}

/// Where the proxy sends a CONNECT: loopback targets as they are; names the fake DNS maps to a
/// private address reach the fake's HTTPS listener (the private endpoint behind the proxy).
fn proxy_destination(shared: &Shared, host: &str, port: u16) -> Option<(IpAddr, u16)> {
    if host.eq_ignore_ascii_case("localhost") {
        return Some((IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return ip.is_loopback().then_some((ip, port));
    }
    let record = record_for(shared, host);
    if let Some(ip) = record.addresses.iter().find(|a| a.is_loopback()) {
        return Some((*ip, port));
    }
    if !record.addresses.is_empty() {
        let https_port = url::Url::parse(&shared.base_url).ok()?.port()?;
        return Some((IpAddr::V4(Ipv4Addr::LOCALHOST), https_port));
    }
    None
}

/// Basic credentials a proxy demands (`None`: open).
#[derive(Debug, Clone)]
pub struct ProxyAuth {
    pub user: String,
    pub password: String,
}

async fn read_head<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 16 * 1024 || s.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

async fn proxy_connection<S>(mut client: S, auth: Option<ProxyAuth>, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Some(head) = read_head(&mut client).await else {
        return;
    };
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut parts = request.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return;
    };
    let reply = |status: &str| {
        format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    };
    if method != "CONNECT" {
        let _ = client
            .write_all(reply("405 Method Not Allowed").as_bytes())
            .await;
        return;
    }
    if let Some(auth) = &auth {
        use base64::Engine;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", auth.user, auth.password))
        );
        let given = headers
            .iter()
            .find(|(k, _)| k == "proxy-authorization")
            .map(|(_, v)| v.as_str());
        if given != Some(expected.as_str()) {
            let _ = client
                .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"azcm-fakecloud\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await;
            return;
        }
    }
    let (host, port) = match target.rsplit_once(':') {
        Some((h, p)) => (
            h.trim_matches(['[', ']']).to_string(),
            p.parse::<u16>().unwrap_or(443),
        ),
        None => (target.to_string(), 443),
    };
    shared.world().proxy_log.push(format!("{host}:{port}"));
    let Some(destination) = proxy_destination(&shared, &host, port) else {
        let _ = client.write_all(reply("502 Bad Gateway").as_bytes()).await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(destination).await else {
        let _ = client.write_all(reply("502 Bad Gateway").as_bytes()).await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// A forward proxy; over TLS when `tls` is given (the Arc gateway).
pub async fn serve_proxy(
    listener: TcpListener,
    auth: Option<ProxyAuth>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (auth, tls, shared) = (auth.clone(), tls.clone(), shared.clone());
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    if let Ok(s) = acceptor.accept(stream).await {
                        proxy_connection(s, auth, shared).await;
                    }
                }
                None => proxy_connection(stream, auth, shared).await,
            }
        });
    }
}

/// Misbehaving servers for the check's failure scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// TLS with a certificate from a CA nobody trusts (a TLS-inspecting proxy).
    UntrustedCa,
    /// TLS with an expired certificate from the fake's CA.
    ExpiredCertificate,
    /// Answers every ClientHello with a TLS 1.1 ServerHello.
    Tls11Only,
    /// Accepts connections and never says anything.
    Blackhole,
}

/// A TLS 1.1 ServerHello (TLS_RSA_WITH_AES_128_CBC_SHA, no extensions): what a server that
/// knows nothing newer answers to any ClientHello.
fn tls11_server_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x02];
    body.extend_from_slice(&[0x5a; 32]);
    body.extend_from_slice(&[0x00, 0x00, 0x2f, 0x00]);
    let mut handshake = vec![0x02, 0x00, 0x00, body.len() as u8];
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x02, 0x00, handshake.len() as u8];
    record.extend_from_slice(&handshake);
    record
}

pub async fn serve_misbehaving(
    listener: TcpListener,
    kind: Misbehaviour,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let (tls, shared) = (tls.clone(), shared.clone());
        tokio::spawn(async move {
            match kind {
                Misbehaviour::Blackhole => {
                    let _keep = stream;
                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                }
                Misbehaviour::Tls11Only => {
                    let mut hello = [0u8; 4096];
                    if stream.read(&mut hello).await.unwrap_or(0) > 0 {
                        let _ = stream.write_all(&tls11_server_hello()).await;
                        let _ = stream.flush().await;
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    }
                }
                Misbehaviour::UntrustedCa | Misbehaviour::ExpiredCertificate => {
                    if let Some(acceptor) = tls {
                        crate::server::serve_one_tls(stream, acceptor, shared).await;
                    }
                }
            }
        });
    }
}
